//! Sessions: the tokens and the user, kept on the server. One interface so that other stores (SQLite, Redis)
//! can stand in for the in-memory default.

use super::now;
use async_trait::async_trait;
use shared::api::User;
use std::collections::HashMap;
use std::sync::Mutex;

/// A signed-in browser's server-side state. Tokens stay here; the browser has only the session id.
#[derive(Clone)]
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
        at < self.last_seen + idle_secs && at < self.created_at + absolute_secs
    }
}

/// Where sessions live.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn get(&self, id: &str) -> Option<Session>;
    async fn put(&self, id: &str, session: Session);
    async fn remove(&self, id: &str) -> Option<Session>;
}

/// The default store: a map in this process. Sessions end when the process does.
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
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn get(&self, id: &str) -> Option<Session> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    async fn put(&self, id: &str, session: Session) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        // Opportunistic clean-up: expired sessions can never be used again.
        let t = now();
        map.retain(|_, s| s.is_live(self.idle_secs, self.absolute_secs, t));
        map.insert(id.to_owned(), session);
    }

    async fn remove(&self, id: &str) -> Option<Session> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id)
    }
}
