//! The backend-for-frontend: it holds the tokens so the browser never does.
//!
//! Module map, in the order a login flows through them: [`config`] → [`oidc`] (discovery, keys, token
//! endpoint) → [`flow`] (login → exchange → user → logout) → [`session`] (cookies, transactions, store) →
//! [`proxy`] (API calls with the access token). [`csrf`] and [`error`] are cross-cutting.

pub mod app;
pub mod config;
pub mod csrf;
pub mod error;
pub mod flow;
pub mod metrics;
pub mod oidc;
pub mod proxy;
pub mod session;
pub mod state;

use config::Config;
use oidc::discovery::{discover_with_retry, policy};
use oidc::jwks::JwksCache;
use oidc::{Provider, ProviderSlot};
use session::cookie::Cookies;
use session::store::MemoryStore;
use session::transaction::Transactions;
use state::AppState;
use std::sync::Arc;
use std::time::Duration;

/// Builds the state and starts discovery in the background (requests needing the OP get 503 until it loads).
/// Returns the state and a handle that fails if the OP's discovery document is unacceptable.
pub fn start(
    config: Config,
) -> (
    AppState,
    tokio::task::JoinHandle<Result<(), oidc::discovery::DiscoveryError>>,
) {
    let timeout = Duration::from_secs(config.oidc.http_timeout_secs);
    let op_http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client builds with static settings");
    let api_http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client builds with static settings");
    if !config.secure_cookies() {
        tracing::warn!(origin = %config.public_origin, "plain http: cookies are not Secure (development only)");
    }
    let sessions = MemoryStore::new(
        config.session.idle_timeout_secs,
        config.session.absolute_timeout_secs,
    );
    let state = AppState {
        cookies: Cookies::new(config.secure_cookies()),
        config: Arc::new(config),
        provider: Arc::new(ProviderSlot::default()),
        op_http,
        api_http,
        transactions: Arc::new(Transactions::default()),
        sessions: Arc::new(sessions),
        refresh_locks: Arc::default(),
        metrics: Arc::default(),
    };
    let (slot, http, config) = (
        state.provider.clone(),
        state.op_http.clone(),
        state.config.clone(),
    );
    let discovery = tokio::spawn(async move {
        let metadata = discover_with_retry(&http, &config).await?;
        let policy = policy(&metadata, &config);
        tracing::info!(issuer = %metadata.issuer, algs = ?policy.allowed(), "OP discovered");
        let jwks = JwksCache::new(http, metadata.jwks_uri.clone());
        slot.set(Provider {
            metadata,
            jwks,
            policy,
        });
        Ok(())
    });
    (state, discovery)
}
