//! The backend-for-frontend: it holds the tokens so the browser never does.
//!
//! Module map, in the order a login flows through them: [`config`] → [`oidc`] (discovery, keys, token
//! endpoint) → [`flow`] (login → exchange → user → logout) → [`session`] (cookies, transactions, store) →
//! [`proxy`] (API calls with the access token). [`csrf`] (route layers), [`current_session`] (an extractor)
//! and [`error`] are cross-cutting.

pub mod app;
pub mod config;
pub mod csrf;
pub mod current_session;
pub mod dispatch;
pub mod error;
pub mod flow;
pub mod forward_headers;
pub mod logs;
pub mod metrics;
pub mod oidc;
pub mod panic;
pub mod per_thread;
pub mod proxy;
pub mod refresh_locks;
pub mod seal;
pub mod security_headers;
pub mod serve;
pub mod session;
pub mod spa;
pub mod state;

use config::Config;
use oidc::discovery::{discover_with_retry, policy};
use oidc::jwks::JwksCache;
use oidc::{Provider, ProviderSlot};
use session::cookie::Cookies;
use session::memory::MemoryStore;
use session::redis_conn::RedisTarget;
use session::redis_store::RedisStore;
use session::storage::{SessionStore, StoreError};
use state::AppState;
use std::sync::Arc;
use std::time::Duration;

/// Builds the state and starts discovery in the background (requests needing the OP get 503 until it loads).
/// Returns the state and a handle that fails if the OP's discovery document is unacceptable; fails itself if the
/// session store cannot be opened (a SQLite file that cannot be created; Redis connects on first use).
pub fn start(
    config: Config,
) -> Result<
    (
        AppState,
        tokio::task::JoinHandle<Result<(), oidc::discovery::DiscoveryError>>,
    ),
    StoreError,
> {
    let sessions = open_store(&config.session)?;
    start_with_store(config, sessions)
}

/// [`start`] with a session store of the caller's making instead of the configured one: the seam through which
/// a test puts a store that fails on cue in front of a real one (see [`open_store`]).
pub fn start_with_store(
    config: Config,
    sessions: Arc<dyn SessionStore>,
) -> Result<
    (
        AppState,
        tokio::task::JoinHandle<Result<(), oidc::discovery::DiscoveryError>>,
    ),
    StoreError,
> {
    let timeout = Duration::from_secs(config.oidc.http_timeout_secs);
    let op_client = || {
        reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(proxy::upstream::POOL_IDLE)
            .build()
            .expect("reqwest client builds with static settings")
    };
    let op_http = Arc::new(per_thread::PerThread::new(op_client));
    let api_http = Arc::new(per_thread::PerThread::new(
        proxy::upstream::Upstreams::default,
    ));
    if !config.secure_cookies() {
        tracing::warn!(origin = %config.public_origin, "plain http: cookies are not Secure (development only)");
    }
    if config.session.max_pending_logins.is_some() {
        tracing::warn!(
            "session.max_pending_logins is deprecated and ignored: starting a login stores nothing"
        );
    }
    let metrics = Arc::new(metrics::Metrics::new(
        config.apis.keys().map(String::as_str),
    ));
    let state = AppState::new(state::Shared {
        cookies: Cookies::new(config.secure_cookies()),
        logins: Arc::new(login_sealer(&config.session)?),
        config: Arc::new(config),
        provider: Arc::new(ProviderSlot::default()),
        op_http,
        api_http,
        sessions,
        refresh_locks: Arc::default(),
        metrics,
        dpop_nonces: Default::default(),
    });
    // Discovery and the key set's refreshes run on this (the caller's) runtime: a client of their own, so their
    // connections' tasks stay here and no serving thread's pool holds one of them.
    let (slot, http, config) = (state.provider.clone(), op_client(), state.config.clone());
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
    Ok((state, discovery))
}

/// The configured session store (config validation has checked its settings and keys).
pub fn open_store(config: &config::SessionConfig) -> Result<Arc<dyn SessionStore>, StoreError> {
    use config::{Secret, StoreKind};
    let (idle, absolute) = (config.idle_timeout_secs, config.absolute_timeout_secs);
    let keys = || {
        let keys: Vec<&str> = config.keys.iter().map(Secret::expose).collect();
        seal::Keyring::new(&keys).map(Arc::new).map_err(StoreError)
    };
    Ok(match config.store {
        StoreKind::Memory => Arc::new(MemoryStore::new(idle, absolute)),
        StoreKind::Sqlite => {
            let path = config.sqlite_path.clone().unwrap_or_default();
            tracing::info!(path = %path.display(), "sessions in SQLite");
            Arc::new(session::sqlite::SqliteStore::open(
                &path,
                keys()?,
                idle,
                absolute,
            )?)
        }
        StoreKind::Redis => {
            let url = config
                .redis_url
                .as_ref()
                .map(Secret::expose)
                .unwrap_or_default();
            let mut target = if config.redis_cluster.is_empty() {
                tracing::info!("sessions in Redis");
                RedisTarget::single(url)
            } else {
                tracing::info!(
                    nodes = config.redis_cluster.len(),
                    "sessions in a Redis Cluster"
                );
                let nodes: Vec<&str> = config.redis_cluster.iter().map(Secret::expose).collect();
                RedisTarget::cluster(&nodes)
            }
            .map_err(StoreError::new)?;
            if let Some(ca) = &config.redis_ca_file {
                let pem = std::fs::read(ca).map_err(|e| {
                    StoreError(format!(
                        "session.redis_ca_file: cannot read {}: {e}",
                        ca.display()
                    ))
                })?;
                target = target.trust_root_ca(pem).map_err(StoreError::new)?;
            }
            let mut store = RedisStore::new(target, &config.redis_prefix, keys()?, idle, absolute);
            if config.redis_cache {
                store = store.with_cache();
            }
            Arc::new(store)
        }
    })
}

/// The sealer of login cookies: the configured `session.keys` (required by the SQLite and Redis stores, so
/// every replica sharing a store opens a login another started), else one random key for this process (the
/// memory store, where a restart drops pending logins as it drops sessions).
pub fn login_sealer(
    config: &config::SessionConfig,
) -> Result<session::transaction::LoginSealer, StoreError> {
    let keys = if config.keys.is_empty() {
        seal::Keyring::random()
    } else {
        let keys: Vec<&str> = config.keys.iter().map(config::Secret::expose).collect();
        seal::Keyring::new(&keys).map_err(StoreError)?
    };
    Ok(session::transaction::LoginSealer::new(Arc::new(keys)))
}
