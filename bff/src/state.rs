//! The one typed state every handler shares.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::oidc::ProviderSlot;
use crate::per_thread::PerThread;
use crate::refresh_locks::RefreshLocks;
use crate::session::cookie::Cookies;
use crate::session::storage::SessionStore;
use crate::session::transaction::LoginSealer;
use std::sync::Arc;

/// Shared by all handlers; cheap to clone: one reference count. axum clones the state for every extractor and
/// layer that takes it, several times per request; a struct of nine reference counts costs nine atomic adds and
/// subtracts each time, on cache lines every core shares (its clone and drop were 4.4 % of the BFF's samples
/// under load, BENCHMARKS.md §3).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state every handler will share.
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub config: Arc<Config>,
    pub provider: Arc<ProviderSlot>,
    /// For the OP (short timeouts, no redirects), one per serving thread ([`PerThread`]). Behind an `Arc`
    /// because axum clones the state for every request.
    pub op_http: Arc<PerThread<reqwest::Client>>,
    /// For upstream APIs (no redirects, per-API timeouts kept by the proxy): the proxy's own HTTP/1.1 client
    /// ([`crate::proxy::upstream`]), a pool per serving thread.
    pub api_http: Arc<PerThread<crate::proxy::upstream::Upstreams>>,
    pub sessions: Arc<dyn SessionStore>,
    pub cookies: Cookies,
    /// Seals pending logins into their cookies: `session.keys` when configured (so replicas sharing a store
    /// open each other's), else a key made at process start (the memory store: one process).
    pub logins: Arc<LoginSealer>,
    pub refresh_locks: Arc<RefreshLocks>,
    pub metrics: Arc<Metrics>,
    /// The DPoP nonces the OP and the APIs handed out, by server (RFC 9449 8, 9).
    pub dpop_nonces: crate::oidc::dpop::DpopNonces,
}
