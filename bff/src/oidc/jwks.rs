//! The OP's key set, cached: honours `Cache-Control: max-age`, fetches again on an unknown kid (at most once per
//! [`MIN_REFETCH_INTERVAL`], so forged kids cannot make the BFF hammer the OP), and keeps the last good set when a
//! fetch fails.

use crate::error::AppError;
use reqwest::header::CACHE_CONTROL;
use shared::jose::jwks::{JwkSet, MAX_JWKS_BYTES};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

/// Lifetime of a key set whose response has no usable `max-age`.
const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// Bounds on what the OP's `max-age` may ask for.
const MIN_TTL: Duration = Duration::from_secs(30);
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// Unknown-kid refetches happen at most this often.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// How long a key set is trusted and how often it may be fetched again.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Lower bound on the OP's `max-age`.
    pub min_ttl: Duration,
    /// Unknown-kid refetches happen at most this often.
    pub min_refetch_interval: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            min_ttl: MIN_TTL,
            min_refetch_interval: MIN_REFETCH_INTERVAL,
        }
    }
}

struct Cached {
    set: Arc<JwkSet>,
    fresh_until: Instant,
    fetched_at: Instant,
}

/// A cached, self-refreshing key set.
pub struct JwksCache {
    http: reqwest::Client,
    uri: Url,
    limits: Limits,
    // One lock for reading and fetching: concurrent misses wait for one fetch instead of each making one.
    state: Mutex<Option<Cached>>,
}

impl JwksCache {
    /// A cache for `uri`; nothing is fetched until first use.
    pub fn new(http: reqwest::Client, uri: Url) -> JwksCache {
        Self::with_limits(http, uri, Limits::default())
    }

    /// A cache with other time limits (tests use short ones to watch expiry and refetching happen).
    pub fn with_limits(http: reqwest::Client, uri: Url, limits: Limits) -> JwksCache {
        JwksCache {
            http,
            uri,
            limits,
            state: Mutex::new(None),
        }
    }

    /// The current set: cached while fresh, fetched when stale, the stale one if the fetch fails.
    pub async fn current(&self) -> Result<Arc<JwkSet>, AppError> {
        let mut state = self.state.lock().await;
        if let Some(c) = state.as_ref().filter(|c| Instant::now() < c.fresh_until) {
            return Ok(c.set.clone());
        }
        self.fetch_into(&mut state).await
    }

    /// Fetches again because a token named a kid the set lacks, unless a fetch happened very recently.
    pub async fn refetch_for_unknown_kid(&self) -> Result<Arc<JwkSet>, AppError> {
        let mut state = self.state.lock().await;
        if let Some(c) = state
            .as_ref()
            .filter(|c| c.fetched_at.elapsed() < self.limits.min_refetch_interval)
        {
            return Ok(c.set.clone());
        }
        self.fetch_into(&mut state).await
    }

    async fn fetch_into(&self, state: &mut Option<Cached>) -> Result<Arc<JwkSet>, AppError> {
        match self.fetch().await {
            Ok((set, ttl)) => {
                let now = Instant::now();
                let set = Arc::new(set);
                *state = Some(Cached {
                    set: set.clone(),
                    fresh_until: now + ttl,
                    fetched_at: now,
                });
                Ok(set)
            }
            Err(e) => match state.as_mut() {
                Some(c) => {
                    tracing::warn!(error = %e, "key set fetch failed; keeping the last good set");
                    // Do not retry on every request while the OP is down.
                    c.fetched_at = Instant::now();
                    c.fresh_until = Instant::now() + self.limits.min_refetch_interval;
                    Ok(c.set.clone())
                }
                None => {
                    tracing::warn!(error = %e, "key set fetch failed and no set is cached");
                    Err(e)
                }
            },
        }
    }

    async fn fetch(&self) -> Result<(JwkSet, Duration), AppError> {
        let response = self
            .http
            .get(self.uri.clone())
            .send()
            .await
            .map_err(|e| AppError::from_op_request(&e))?;
        if !response.status().is_success() {
            return Err(AppError::OpUnavailable);
        }
        let ttl = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .map_or(DEFAULT_TTL, |t| t.clamp(self.limits.min_ttl, MAX_TTL));
        if response
            .content_length()
            .is_some_and(|l| l > MAX_JWKS_BYTES as u64)
        {
            return Err(shared::ValidationError::BadJwks {
                reason: "it is too large".into(),
            }
            .into());
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| AppError::from_op_request(&e))?;
        Ok((JwkSet::parse(&body)?, ttl))
    }
}

/// `max-age` from a Cache-Control value; `no-store`/`no-cache` mean "as short as allowed".
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|directive| {
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache")
        {
            return Some(Duration::ZERO);
        }
        let (name, secs) = directive.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| secs.trim().parse().ok().map(Duration::from_secs))?
    })
}

#[cfg(test)]
mod tests {
    use super::max_age;
    use std::time::Duration;

    #[test]
    fn reads_max_age() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }
}
