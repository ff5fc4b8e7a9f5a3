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
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::api::{Claim, User, UserinfoReport};
use std::collections::{BTreeMap, HashMap};
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
    /// Tokens of upstreams with a resource or scopes of their own, by API name. Defaulted, so sessions sealed
    /// before this field existed still open.
    #[serde(default)]
    pub upstream_tokens: BTreeMap<String, UpstreamToken>,
    /// The claims shown (the ID token's merged with userinfo's), with their sources. Empty in a session sealed
    /// before userinfo was read: [`Session::shown_claims`] then derives them from `user`.
    #[serde(default)]
    pub claims: Vec<Claim>,
    /// What became of the userinfo request at the sign-in or the last refresh that read it.
    #[serde(default)]
    pub userinfo: UserinfoReport,
}

/// An access token obtained for one upstream (see [`crate::config::ApiConfig::own_token`]).
#[derive(Clone, Serialize, Deserialize)]
pub struct UpstreamToken {
    pub access_token: String,
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for UpstreamToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
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
    /// The claims to show: the merged ones, or for a session from before they were kept, the ID token's
    /// display claims from `user`.
    pub fn shown_claims(&self) -> Vec<Claim> {
        if self.claims.is_empty() {
            return self.user.id_token_claims();
        }
        self.claims.clone()
    }

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
    /// Stores a new session (at login, under a fresh random id) until it expires (idle or absolute timeout,
    /// whichever comes first).
    async fn insert(&self, id: &str, session: Session) -> Result<(), StoreError>;
    /// Writes `session` over the stored one, only if that one is still there and unexpired; `false` (nothing
    /// written) when it is gone. A write to an existing session (last use, refreshed tokens) must never create
    /// it: a logout or back-channel logout landing between the caller's read and this write would otherwise be
    /// undone, with tokens the logout never revoked.
    async fn update(&self, id: &str, session: Session) -> Result<bool, StoreError>;
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
    /// Records `key` for `ttl`: `true` the first time, `false` while it is still recorded. Every replica sharing
    /// the store sees the same answer (the back-channel logout `jti` replay check, and the one-time use of a
    /// login at the exchange).
    async fn remember_once(&self, key: &str, ttl: Duration) -> Result<bool, StoreError>;
    /// Whether `key` is recorded by [`SessionStore::remember_once`] and unexpired, without recording it: lets
    /// back-channel logout refuse a replay before acting, yet spend the `jti` only once the sessions are gone.
    async fn is_remembered(&self, key: &str) -> Result<bool, StoreError>;
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

/// How many entries each write to the memory store checks for expiry, going round the map: a write pays a
/// constant, never O(sessions), and the sweep laps the map every `len / SWEEP_PER_WRITE` writes. Since every
/// session is written at least once (its insert), expired entries can make up at most about a quarter of the
/// map (each lap removes what expired before it began; a lap takes `len / 4` writes, each adding at most one).
pub const SWEEP_PER_WRITE: usize = 4;

/// The default store: a map in this process. Sessions end when the process does.
///
/// Not encrypted: the map lives in this process's memory, next to the keys that would seal it, so sealing
/// would protect against nothing that could read it.
pub struct MemoryStore {
    sessions: Mutex<Sessions>,
    idle_secs: i64,
    absolute_secs: i64,
    once: OnceKeys,
}

/// The memory store's map and where its incremental sweep goes on.
#[derive(Default)]
struct Sessions {
    /// Keyed by the SHA-256 of the session id and boxed: an entry is 48 bytes (hash, key, pointer) instead of
    /// a `String` key's heap block plus the whole `Session` inline, which the table doubles on growth and leaves
    /// behind. An index map, so the sweep can resume at a position: a hash map has no cursor that survives
    /// the writes in between.
    map: IndexMap<[u8; 32], Box<Session>>,
    /// The position the next write's sweep starts at.
    cursor: usize,
}

impl Sessions {
    /// Checks up to [`SWEEP_PER_WRITE`] entries from the cursor and drops the expired ones (reads already
    /// ignore them; this only gives their memory back).
    fn sweep(&mut self, idle_secs: i64, absolute_secs: i64, t: i64) {
        for _ in 0..SWEEP_PER_WRITE {
            if self.map.is_empty() {
                return;
            }
            if self.cursor >= self.map.len() {
                self.cursor = 0;
            }
            let live = self.map[self.cursor].is_live(idle_secs, absolute_secs, t);
            if live {
                self.cursor += 1;
            } else {
                // The last entry moves into this place and is checked next.
                self.map.swap_remove_index(self.cursor);
            }
        }
    }
}

impl MemoryStore {
    /// A store that drops sessions past these timeouts (reads never return them; writes sweep them out a few
    /// at a time, see [`SWEEP_PER_WRITE`]).
    pub fn new(idle_secs: i64, absolute_secs: i64) -> MemoryStore {
        MemoryStore {
            sessions: Mutex::default(),
            idle_secs,
            absolute_secs,
            once: OnceKeys::new(MAX_REMEMBERED_KEYS),
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store's map after a write's share of the sweep.
    fn swept(&self, t: i64) -> std::sync::MutexGuard<'_, Sessions> {
        let mut sessions = self.sessions();
        sessions.sweep(self.idle_secs, self.absolute_secs, t);
        sessions
    }

    fn is_live(&self, session: &Session, t: i64) -> bool {
        session.is_live(self.idle_secs, self.absolute_secs, t)
    }
}

/// The memory store's key for a session id.
fn memory_key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let t = now();
        Ok(self
            .sessions()
            .map
            .get(&memory_key(id))
            .filter(|s| self.is_live(s, t))
            .map(|s| Session::clone(s)))
    }

    async fn insert(&self, id: &str, session: Session) -> Result<(), StoreError> {
        let mut sessions = self.swept(now());
        sessions.map.insert(memory_key(id), Box::new(session));
        Ok(())
    }

    async fn update(&self, id: &str, session: Session) -> Result<bool, StoreError> {
        let t = now();
        let key = memory_key(id);
        let mut sessions = self.swept(t);
        let Some(stored) = sessions.map.get_mut(&key) else {
            return Ok(false);
        };
        if self.is_live(stored, t) && self.is_live(&session, t) {
            // Into the existing box: no allocation on the hot path of last-use writes.
            **stored = session;
            return Ok(true);
        }
        sessions.map.swap_remove(&key);
        Ok(false)
    }

    async fn remove(&self, id: &str) -> Result<Option<Session>, StoreError> {
        Ok(self.sessions().map.swap_remove(&memory_key(id)).map(|s| *s))
    }

    /// A scan of every session, not a secondary index: back-channel logouts are rare (one per OP logout) and
    /// the in-memory map holds one process's sessions, so O(n) under the lock costs microseconds and keeps the
    /// store free of indexes that `insert`/`update`/`remove`/the timeout clean-up would all have to keep in
    /// step. The shared stores (SQLite, Redis) index `(issuer, sid)` and `(issuer, sub)` instead.
    async fn remove_matching(
        &self,
        issuer: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<usize, StoreError> {
        let mut sessions = self.sessions();
        let before = sessions.map.len();
        sessions
            .map
            .retain(|_, s| !s.matches_logout(issuer, sid, sub));
        Ok(before - sessions.map.len())
    }

    async fn count(&self) -> Result<usize, StoreError> {
        let t = now();
        Ok(self
            .sessions()
            .map
            .values()
            .filter(|s| self.is_live(s, t))
            .count())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn remember_once(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Ok(self.once.remember(key, now(), ttl))
    }

    async fn is_remembered(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.once.contains(key, now()))
    }
}

/// How many keys [`MemoryStore::remember_once`] holds at most (each lives a few minutes; see [`OnceKeys`]).
pub const MAX_REMEMBERED_KEYS: usize = 10_000;

/// The memory store's [`SessionStore::remember_once`] record: each key until its expiry.
///
/// Bounded: only back-channel logout tokens that passed every rule (so signed by the OP) are recorded, and
/// logins whose response passed the front-channel checks (signed by the OP too, except with `code token`).
/// Should more than the capacity come within one lifetime, expired entries are dropped first, then the entry
/// closest to expiry: a replay of that one logout token could at worst end again the sessions it already
/// ended, and a replayed login response would reach the token endpoint only to have its spent code refused.
pub struct OnceKeys {
    seen: Mutex<HashMap<String, i64>>,
    capacity: usize,
}

impl OnceKeys {
    pub fn new(capacity: usize) -> OnceKeys {
        OnceKeys {
            seen: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    /// Whether `key` is recorded and live.
    pub fn contains(&self, key: &str, now: i64) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(key).is_some_and(|&until| until > now)
    }

    /// Records `key` until `now + ttl`: `false` if it is already recorded and live.
    pub fn remember(&self, key: &str, now: i64, ttl: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.get(key).is_some_and(|&until| until > now) {
            return false;
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, &mut until| until > now);
        }
        if seen.len() >= self.capacity {
            if let Some(oldest) = seen
                .iter()
                .min_by_key(|(_, &until)| until)
                .map(|(k, _)| k.clone())
            {
                seen.remove(&oldest);
            }
        }
        seen.insert(key.to_owned(), now.saturating_add(ttl));
        true
    }
}

// `remove_matching` (sid, sub, both, neither, other issuer) is tested once for all three stores, the memory
// store included, by the store suite in tests/tests/e2e/session_stores.rs.
#[cfg(test)]
mod tests {
    use super::*;

    fn session(created_at: i64) -> Session {
        Session {
            user: User {
                sub: "alice".into(),
                name: None,
                preferred_username: None,
                email: None,
                email_verified: None,
            },
            issuer: "op".into(),
            sid: None,
            id_token: String::new(),
            access_token: String::new(),
            refresh_token: None,
            access_token_expires_at: None,
            created_at,
            last_seen: created_at,
            claims: Vec::new(),
            userinfo: Default::default(),
            upstream_tokens: BTreeMap::new(),
        }
    }

    /// A write pays for a bounded share of the sweep, whatever the number of expired sessions, and the sweep
    /// still reaches all of them.
    #[tokio::test]
    async fn writes_sweep_expired_sessions_a_bounded_few_at_a_time() {
        let store = MemoryStore::new(60, 3600);
        let t = now();
        {
            let mut sessions = store.sessions();
            for i in 0..100u8 {
                let old = if i % 10 == 0 { t } else { t - 7200 };
                sessions.map.insert([i; 32], Box::new(session(old)));
            }
        }
        store.insert("new-0", session(t)).await.unwrap();
        let len = store.sessions().map.len();
        assert!(
            (100 - SWEEP_PER_WRITE + 1..101).contains(&len),
            "one write removed at least one and at most its share: {len}"
        );
        // Each step of a sweep passes an entry or removes one (moving the last into its place), so a lap over
        // the 100 entries and the up to 90 moved takes at most 190 steps.
        for i in 1..60 {
            store.insert(&format!("new-{i}"), session(t)).await.unwrap();
        }
        let sessions = store.sessions();
        assert_eq!(sessions.map.len(), 10 + 60, "every expired session is gone");
        assert!(sessions.map.values().all(|s| s.is_live(60, 3600, t)));
    }

    #[tokio::test]
    async fn update_writes_only_a_live_stored_session() {
        let store = MemoryStore::new(60, 3600);
        let t = now();
        assert!(!store.update("a", session(t)).await.unwrap());
        assert!(store.get("a").await.unwrap().is_none(), "not created");
        store.insert("a", session(t)).await.unwrap();
        let mut changed = session(t);
        changed.access_token = "new".into();
        assert!(store.update("a", changed).await.unwrap());
        assert_eq!(store.get("a").await.unwrap().unwrap().access_token, "new");
        store.remove("a").await.unwrap();
        assert!(!store.update("a", session(t)).await.unwrap());
        assert!(store.get("a").await.unwrap().is_none(), "not brought back");
    }

    #[test]
    fn a_key_is_remembered_once_until_it_expires() {
        let once = OnceKeys::new(10);
        assert!(once.remember("j1", 100, 60));
        assert!(!once.remember("j1", 159, 60));
        assert!(once.remember("j2", 159, 60));
        assert!(once.remember("j1", 160, 60), "expired entries free up");
        assert!(once.contains("j1", 219) && !once.contains("j1", 220));
        assert!(!once.contains("j3", 100), "contains records nothing");
        assert!(once.remember("j3", 100, 60));
    }

    #[test]
    fn the_once_record_is_bounded() {
        let once = OnceKeys::new(3);
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(once.remember(key, 100 + i as i64, 60));
        }
        let seen = once.seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert!(!seen.contains_key("a"), "the entry closest to expiry went");
    }
}
