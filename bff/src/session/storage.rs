//! Where sessions live: the interface every store implements ([`SessionStore`]), its one error, and the key a
//! persistent store files a session under. Apart from the model and from each store, so that a store, the
//! pending-login cookie and the handlers depend on this interface and never on each other.

use super::model::Session;
use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::time::Duration;

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
