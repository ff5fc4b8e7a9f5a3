//! The default session store: a map in this process ([`MemoryStore`]), and the bounded one-time key record
//! ([`OnceKeys`]) it answers `remember_once` from. The model is in [`super::model`], the interface in
//! [`super::storage`].

use super::model::{expires_at, Session};
use super::now;
use super::packed::{Corrupt, Packed};
use super::storage::{SessionStore, StoreError};
use async_trait::async_trait;
use indexmap::IndexMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How many entries each write to the memory store checks for expiry, going round the map: a write pays a
/// constant, never O(sessions), and the sweep laps the map every `len / SWEEP_PER_WRITE` writes. Since every
/// session is written at least once (its insert), expired entries can make up at most about a quarter of the
/// map (each lap removes what expired before it began; a lap takes `len / 4` writes, each adding at most one).
pub const SWEEP_PER_WRITE: usize = 4;

/// The default store: a map in this process. Sessions end when the process does.
///
/// Not encrypted: the map lives in this process's memory, next to the keys that would seal it, so sealing
/// would protect against nothing that could read it. Its keys are SHA-256 digests of the session ids, so a
/// memory dump holds no usable cookie (the hash is one-way; a keyed fast hash would not be, with its key in the
/// same dump).
pub struct MemoryStore {
    sessions: Mutex<Sessions>,
    idle_secs: i64,
    absolute_secs: i64,
    once: OnceKeys,
}

/// The memory store's map and where its incremental sweep goes on.
#[derive(Default)]
struct Sessions {
    /// Keyed by the SHA-256 of the session id, each session packed into one allocation ([`Packed`]): an entry
    /// is 56 bytes (hash, key, pointer and length) instead of a `String` key's heap block plus the whole
    /// `Session` inline, which the table doubles on growth and leaves behind. An index map, so the sweep can
    /// resume at a position: a hash map has no cursor that survives the writes in between.
    map: IndexMap<[u8; 32], Packed>,
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
            // An entry that does not unpack could never be read either: it goes like an expired one.
            let live =
                is_live(&self.map[self.cursor], idle_secs, absolute_secs, t).unwrap_or(false);
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

    fn is_packed_live(&self, packed: &Packed, t: i64) -> Result<bool, Corrupt> {
        is_live(packed, self.idle_secs, self.absolute_secs, t)
    }
}

/// [`Session::is_live`] of a packed session, from its two times.
fn is_live(packed: &Packed, idle_secs: i64, absolute_secs: i64, t: i64) -> Result<bool, Corrupt> {
    let (created_at, last_seen) = packed.times()?;
    Ok(t < expires_at(created_at, last_seen, idle_secs, absolute_secs))
}

impl From<Corrupt> for StoreError {
    fn from(e: Corrupt) -> StoreError {
        StoreError::new(e)
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
        let key = memory_key(id);
        let sessions = self.sessions();
        let Some(packed) = sessions.map.get(&key) else {
            return Ok(None);
        };
        if !self.is_packed_live(packed, t)? {
            return Ok(None);
        }
        Ok(Some(packed.unpack()?))
    }

    async fn insert(&self, id: &str, session: Session) -> Result<(), StoreError> {
        // Packed before the lock is taken: the lock covers only the map's own work.
        let (key, packed) = (memory_key(id), Packed::new(&session));
        let mut sessions = self.swept(now());
        sessions.map.insert(key, packed);
        Ok(())
    }

    async fn update(&self, id: &str, session: Session) -> Result<bool, StoreError> {
        let t = now();
        let key = memory_key(id);
        let packed = Packed::new(&session);
        let mut sessions = self.swept(t);
        let Some(stored) = sessions.map.get_mut(&key) else {
            return Ok(false);
        };
        if self.is_packed_live(stored, t)? && self.is_live(&session, t) {
            *stored = packed;
            return Ok(true);
        }
        sessions.map.swap_remove(&key);
        Ok(false)
    }

    async fn remove(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let removed = self.sessions().map.swap_remove(&memory_key(id));
        Ok(removed.map(|packed| packed.unpack()).transpose()?)
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
        // One that does not unpack goes too: it names no session that could still be used.
        sessions
            .map
            .retain(|_, s| !s.matches_logout(issuer, sid, sub).unwrap_or(true));
        Ok(before - sessions.map.len())
    }

    async fn count(&self) -> Result<usize, StoreError> {
        let t = now();
        Ok(self
            .sessions()
            .map
            .values()
            .filter(|s| self.is_packed_live(s, t).unwrap_or(false))
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
        Session::for_tests(created_at)
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
                sessions.map.insert([i; 32], Packed::new(&session(old)));
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
        assert!(sessions
            .map
            .values()
            .all(|s| is_live(s, 60, 3600, t).unwrap()));
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
