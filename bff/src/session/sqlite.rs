//! The SQLite store: one machine, sessions survive a restart. One connection behind a mutex, used from
//! `spawn_blocking` (SQLite serialises writers anyway; a session lookup is a primary-key read).
//!
//! Each row holds the sealed session plus, in clear, only what the store must query: the issuer, `sid` and
//! `sub` (the back-channel logout indexes) and the expiry (clean-up). The id column is a hash of the session id.

use super::model::Session;
use super::now;
use super::sealed::{open_session, seal_session};
use super::storage::{storage_key, SessionStore, StoreError};
use crate::seal::Keyring;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Expired rows deleted per write at most, so a write never stalls on a large backlog.
const CLEANUP_BATCH: usize = 100;

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    keys: Arc<Keyring>,
    idle_secs: i64,
    absolute_secs: i64,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(
        path: &Path,
        keys: Arc<Keyring>,
        idle_secs: i64,
        absolute_secs: i64,
    ) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::new)?;
        }
        let conn = Connection::open(path).map_err(StoreError::new)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(StoreError::new)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS sessions (
                 id         TEXT PRIMARY KEY NOT NULL,
                 issuer     TEXT NOT NULL,
                 sid        TEXT,
                 sub        TEXT NOT NULL,
                 expires_at INTEGER NOT NULL,
                 sealed     BLOB NOT NULL
             );
             CREATE INDEX IF NOT EXISTS sessions_issuer_sid ON sessions (issuer, sid);
             CREATE INDEX IF NOT EXISTS sessions_issuer_sub ON sessions (issuer, sub);
             CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
             CREATE TABLE IF NOT EXISTS once_keys (
                 key        TEXT PRIMARY KEY NOT NULL,
                 expires_at INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS once_keys_expires_at ON once_keys (expires_at);
             DROP TABLE IF EXISTS login_transactions;",
        )
        .map_err(StoreError::new)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            keys,
            idle_secs,
            absolute_secs,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(StoreError::new)?
        .map_err(StoreError::new)
    }

    fn open_sealed(&self, id: &str, sealed: &[u8]) -> Option<Session> {
        open_session(&self.keys, id, sealed)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let key = storage_key(id);
        let t = now();
        let sealed: Option<Vec<u8>> = self
            .run(move |c| {
                c.query_row(
                    "SELECT sealed FROM sessions WHERE id = ?1 AND expires_at > ?2",
                    params![key, t],
                    |row| row.get(0),
                )
                .optional()
            })
            .await?;
        Ok(sealed.and_then(|s| self.open_sealed(id, &s)))
    }

    async fn insert(&self, id: &str, session: Session) -> Result<(), StoreError> {
        let key = storage_key(id);
        let sealed = seal_session(&self.keys, id, &session);
        let expires_at = session.expires_at(self.idle_secs, self.absolute_secs);
        let t = now();
        self.run(move |c| {
            let tx = c.transaction()?;
            // Bounded clean-up on write: expired sessions can never be used again.
            tx.execute(
                "DELETE FROM sessions WHERE id IN
                     (SELECT id FROM sessions WHERE expires_at <= ?1 LIMIT ?2)",
                params![t, CLEANUP_BATCH as i64],
            )?;
            tx.execute(
                "INSERT INTO sessions (id, issuer, sid, sub, expires_at, sealed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET issuer = excluded.issuer, sid = excluded.sid,
                     sub = excluded.sub, expires_at = excluded.expires_at, sealed = excluded.sealed",
                params![
                    key,
                    session.issuer,
                    session.sid,
                    session.user.sub,
                    expires_at,
                    sealed
                ],
            )?;
            tx.commit()
        })
        .await
    }

    /// One `UPDATE ... WHERE` the row is there and unexpired: atomic against a concurrent `DELETE` (logout),
    /// which SQLite serialises with it. Issuer, sid and sub are a session's for life, so their columns stay.
    async fn update(&self, id: &str, session: Session) -> Result<bool, StoreError> {
        let key = storage_key(id);
        let sealed = seal_session(&self.keys, id, &session);
        let expires_at = session.expires_at(self.idle_secs, self.absolute_secs);
        let t = now();
        self.run(move |c| {
            if expires_at <= t {
                // Past a timeout as written: it could never be used again.
                c.execute("DELETE FROM sessions WHERE id = ?1", params![key])?;
                return Ok(false);
            }
            let updated = c.execute(
                "UPDATE sessions SET expires_at = ?2, sealed = ?3 WHERE id = ?1 AND expires_at > ?4",
                params![key, expires_at, sealed, t],
            )?;
            Ok(updated == 1)
        })
        .await
    }

    async fn remove(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let key = storage_key(id);
        let t = now();
        let sealed: Option<(Vec<u8>, i64)> = self
            .run(move |c| {
                c.query_row(
                    "DELETE FROM sessions WHERE id = ?1 RETURNING sealed, expires_at",
                    params![key],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
            })
            .await?;
        Ok(sealed
            .filter(|(_, exp)| *exp > t)
            .and_then(|(s, _)| self.open_sealed(id, &s)))
    }

    async fn remove_matching(
        &self,
        issuer: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<usize, StoreError> {
        // One statement per shape, so each uses its index ((issuer, sid) or (issuer, sub)).
        let (sql, args): (&str, Vec<String>) = match (sid, sub) {
            (Some(sid), Some(sub)) => (
                "DELETE FROM sessions WHERE issuer = ?1 AND sid = ?2 AND sub = ?3",
                vec![issuer.into(), sid.into(), sub.into()],
            ),
            (Some(sid), None) => (
                "DELETE FROM sessions WHERE issuer = ?1 AND sid = ?2",
                vec![issuer.into(), sid.into()],
            ),
            (None, Some(sub)) => (
                "DELETE FROM sessions WHERE issuer = ?1 AND sub = ?2",
                vec![issuer.into(), sub.into()],
            ),
            (None, None) => return Ok(0),
        };
        self.run(move |c| c.execute(sql, rusqlite::params_from_iter(args)))
            .await
    }

    async fn count(&self) -> Result<usize, StoreError> {
        let t = now();
        self.run(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM sessions WHERE expires_at > ?1",
                params![t],
                |row| row.get::<_, i64>(0),
            )
        })
        .await
        .map(|n| n as usize)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }

    async fn remember_once(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let key = key.to_owned();
        let t = now();
        let expires_at = t.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
        self.run(move |c| {
            let tx = c.transaction()?;
            // Expired keys first (bounded), so an expired key can be recorded again.
            tx.execute(
                "DELETE FROM once_keys WHERE key IN
                     (SELECT key FROM once_keys WHERE expires_at <= ?1 LIMIT ?2)",
                params![t, CLEANUP_BATCH as i64],
            )?;
            tx.execute(
                "DELETE FROM once_keys WHERE key = ?1 AND expires_at <= ?2",
                params![key, t],
            )?;
            let added = tx.execute(
                "INSERT OR IGNORE INTO once_keys (key, expires_at) VALUES (?1, ?2)",
                params![key, expires_at],
            )?;
            tx.commit()?;
            Ok(added == 1)
        })
        .await
    }

    async fn is_remembered(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        let t = now();
        self.run(move |c| {
            c.query_row(
                "SELECT 1 FROM once_keys WHERE key = ?1 AND expires_at > ?2",
                params![key, t],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
        })
        .await
    }
}
