//! Sessions: the tokens and the user, kept on the server, behind one interface with three implementations:
//! [`MemoryStore`] (default, one process), [`super::sqlite::SqliteStore`] (one machine, survives a restart) and
//! [`super::redis_store::RedisStore`] (shared by replicas).
//!
//! The persistent stores keep each session sealed ([`super::seal`]) under a hash of its id, so neither a copy
//! of the database nor of Redis yields a token or a usable session cookie.

use super::now;
use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::api::User;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// A signed-in browser's server-side state. Tokens stay here; the browser has only the session id.
/// Serialised (and sealed) as a whole by the persistent stores.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    pub user: User,
    pub issuer: String,
    /// The OP session id (`sid`), which back-channel logout refers to.
    pub sid: Option<String>,
    /// For `id_token_hint` at RP-initiated logout.
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub access_token_expires_at: Option<i64>,
    pub created_at: i64,
    pub last_seen: i64,
}

// Tokens must never reach a log through `{:?}`.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("sub", &self.user.sub)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Whether the session is still valid under the idle and absolute timeouts.
    pub fn is_live(&self, idle_secs: i64, absolute_secs: i64, at: i64) -> bool {
        at < self.expires_at(idle_secs, absolute_secs)
    }

    /// When the session ends unless it is used again: the earlier of the idle and absolute timeouts.
    pub fn expires_at(&self, idle_secs: i64, absolute_secs: i64) -> i64 {
        (self.last_seen + idle_secs).min(self.created_at + absolute_secs)
    }
}

/// The store cannot be reached or failed (the request gets 503, the session is kept).
#[derive(Debug, thiserror::Error)]
#[error("session store: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    pub fn new(e: impl std::fmt::Display) -> StoreError {
        StoreError(e.to_string())
    }
}

/// Where sessions live.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// The session, if present, unexpired and (persistent stores) openable with a configured key.
    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError>;
    /// Stores the session until it expires (idle or absolute timeout, whichever comes first).
    async fn put(&self, id: &str, session: Session) -> Result<(), StoreError>;
    async fn remove(&self, id: &str) -> Result<Option<Session>, StoreError>;
    /// Back-channel logout: removes every session of `issuer` that the logout token names, and answers how
    /// many were removed. With a `sid`, the sessions of that OP session (and, when `sub` is given too, of that
    /// user only: both must match); with only a `sub`, every session of that user. With neither, nothing.
    async fn remove_matching(
        &self,
        issuer: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<usize, StoreError>;
    /// How many unexpired sessions the store holds (the `bff_active_sessions` gauge).
    async fn count(&self) -> Result<usize, StoreError>;
    /// Whether the store is reachable (`/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Takes the cross-replica refresh lock of session `id` for `lease` as `owner`; `false` if another owner
    /// holds it. Stores used by one process only need no such lock (the in-process one suffices).
    async fn lock_refresh(
        &self,
        _id: &str,
        _owner: &str,
        _lease: Duration,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }
    /// Releases the lock if `owner` still holds it (an expired lease may have passed to someone else).
    async fn unlock_refresh(&self, _id: &str, _owner: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The key a persistent store files a session under: a hash of its id, so store contents are no cookies.
pub fn storage_key(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(id.as_bytes()))
}

impl Session {
    /// Whether a logout token with this `iss`, `sid` and `sub` names this session (see
    /// [`SessionStore::remove_matching`]). A session without a recorded sid is never matched by a sid.
    pub fn matches_logout(&self, issuer: &str, sid: Option<&str>, sub: Option<&str>) -> bool {
        if self.issuer != issuer || (sid.is_none() && sub.is_none()) {
            return false;
        }
        let sid_ok = sid.is_none_or(|sid| self.sid.as_deref() == Some(sid));
        let sub_ok = sub.is_none_or(|sub| self.user.sub == sub);
        sid_ok && sub_ok
    }
}

/// The default store: a map in this process. Sessions end when the process does.
///
/// Not encrypted: the map lives in this process's memory, next to the keys that would seal it, so sealing
/// would protect against nothing that could read it.
pub struct MemoryStore {
    map: Mutex<HashMap<String, Session>>,
    idle_secs: i64,
    absolute_secs: i64,
}

impl MemoryStore {
    /// A store that drops sessions past these timeouts whenever it is written to.
    pub fn new(idle_secs: i64, absolute_secs: i64) -> MemoryStore {
        MemoryStore {
            map: Mutex::default(),
            idle_secs,
            absolute_secs,
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let t = now();
        Ok(self
            .map()
            .get(id)
            .filter(|s| s.is_live(self.idle_secs, self.absolute_secs, t))
            .cloned())
    }

    async fn put(&self, id: &str, session: Session) -> Result<(), StoreError> {
        let mut map = self.map();
        // Opportunistic clean-up: expired sessions can never be used again.
        let t = now();
        map.retain(|_, s| s.is_live(self.idle_secs, self.absolute_secs, t));
        map.insert(id.to_owned(), session);
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<Option<Session>, StoreError> {
        Ok(self.map().remove(id))
    }

    /// A scan of every session, not a secondary index: back-channel logouts are rare (one per OP logout) and
    /// the in-memory map holds one process's sessions, so O(n) under the lock costs microseconds and keeps the
    /// store free of indexes that `put`/`remove`/the timeout clean-up would all have to keep in step. The
    /// shared stores (SQLite, Redis) index `(issuer, sid)` and `(issuer, sub)` instead.
    async fn remove_matching(
        &self,
        issuer: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<usize, StoreError> {
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, s| !s.matches_logout(issuer, sid, sub));
        Ok(before - map.len())
    }

    async fn count(&self) -> Result<usize, StoreError> {
        let t = now();
        Ok(self
            .map()
            .values()
            .filter(|s| s.is_live(self.idle_secs, self.absolute_secs, t))
            .count())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(sub: &str, sid: Option<&str>, issuer: &str) -> Session {
        let t = now();
        Session {
            user: User {
                sub: sub.into(),
                name: None,
                preferred_username: None,
                email: None,
                email_verified: None,
            },
            issuer: issuer.into(),
            sid: sid.map(str::to_owned),
            id_token: String::new(),
            access_token: String::new(),
            refresh_token: None,
            access_token_expires_at: None,
            created_at: t,
            last_seen: t,
        }
    }

    async fn store() -> MemoryStore {
        let store = MemoryStore::new(3600, 36000);
        store
            .put("a1", session("alice", Some("s1"), "op"))
            .await
            .unwrap();
        store
            .put("a2", session("alice", Some("s2"), "op"))
            .await
            .unwrap();
        store.put("a3", session("alice", None, "op")).await.unwrap();
        store
            .put("b1", session("bob", Some("s3"), "op"))
            .await
            .unwrap();
        store
            .put("x1", session("alice", Some("s1"), "other-op"))
            .await
            .unwrap();
        store
    }

    async fn left(store: &MemoryStore) -> Vec<&'static str> {
        let mut ids = Vec::new();
        for id in ["a1", "a2", "a3", "b1", "x1"] {
            if store.get(id).await.unwrap().is_some() {
                ids.push(id);
            }
        }
        ids
    }

    #[tokio::test]
    async fn sid_only_ends_that_op_session() {
        let s = store().await;
        assert_eq!(s.remove_matching("op", Some("s1"), None).await.unwrap(), 1);
        assert_eq!(left(&s).await, ["a2", "a3", "b1", "x1"]);
    }

    #[tokio::test]
    async fn sub_only_ends_every_session_of_the_user_at_that_issuer() {
        let s = store().await;
        assert_eq!(
            s.remove_matching("op", None, Some("alice")).await.unwrap(),
            3
        );
        assert_eq!(left(&s).await, ["b1", "x1"]);
    }

    #[tokio::test]
    async fn sid_and_sub_must_both_match() {
        let s = store().await;
        assert_eq!(
            s.remove_matching("op", Some("s1"), Some("bob"))
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            s.remove_matching("op", Some("s3"), Some("bob"))
                .await
                .unwrap(),
            1
        );
        assert_eq!(left(&s).await, ["a1", "a2", "a3", "x1"]);
    }

    #[tokio::test]
    async fn nothing_named_nothing_removed() {
        let s = store().await;
        assert_eq!(s.remove_matching("op", None, None).await.unwrap(), 0);
        assert_eq!(
            s.remove_matching("nope", Some("s1"), None).await.unwrap(),
            0
        );
        assert_eq!(left(&s).await.len(), 5);
    }
}
