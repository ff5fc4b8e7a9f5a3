//! The OP's key set, cached: honours `Cache-Control: max-age`, fetches again on an unknown kid, and keeps the last
//! good set when a fetch fails.
//!
//! Unknown-kid refetches are throttled so forged kids cannot make the BFF hammer the OP, without refusing the
//! first login after a key rotation: a budget of [`Limits::refetch_burst`] refetches, refilled one per
//! [`Limits::min_refetch_interval`] (a token bucket), spent only when a refetch could help, i.e. when the token
//! claims to be issued after the cached set was fetched (an older token's key would already be in the set). A
//! forged token can claim any `iat`, so that test alone would let a flood through; the budget bounds it: at most
//! `refetch_burst + elapsed / min_refetch_interval` refetches, whatever the tokens say.

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
/// Once the burst is spent, unknown-kid refetches happen at most this often.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Unknown-kid refetches allowed back to back (e.g. a rotation right after a fetch, then a retry).
pub const REFETCH_BURST: u32 = 3;
/// Clock difference tolerated between the OP (`iat`) and this host (when the set was fetched).
const CLOCK_SKEW_SECS: i64 = 60;

/// How long a key set is trusted and how often it may be fetched again.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Lower bound on the OP's `max-age`.
    pub min_ttl: Duration,
    /// One unknown-kid refetch is added to the budget per this interval (zero: no limit).
    pub min_refetch_interval: Duration,
    /// The budget's size: how many unknown-kid refetches may happen back to back.
    pub refetch_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            min_ttl: MIN_TTL,
            min_refetch_interval: MIN_REFETCH_INTERVAL,
            refetch_burst: REFETCH_BURST,
        }
    }
}

struct Cached {
    set: Arc<JwkSet>,
    fresh_until: Instant,
    /// When this set was fetched (seconds since the epoch), to compare with a token's `iat`.
    fetched_at_unix: i64,
}

/// The unknown-kid refetch budget (a token bucket).
struct Budget {
    available: u32,
    refilled_at: Instant,
}

struct State {
    cached: Option<Cached>,
    budget: Budget,
}

/// A cached, self-refreshing key set.
pub struct JwksCache {
    http: reqwest::Client,
    uri: Url,
    limits: Limits,
    // One lock for reading and fetching: concurrent misses wait for one fetch instead of each making one.
    state: Mutex<State>,
}

impl JwksCache {
    /// A cache for `uri`; nothing is fetched until first use.
    pub fn new(http: reqwest::Client, uri: Url) -> JwksCache {
        Self::with_limits(http, uri, Limits::default())
    }

    /// A cache with other limits (tests use short ones to watch expiry and refetching happen).
    pub fn with_limits(http: reqwest::Client, uri: Url, limits: Limits) -> JwksCache {
        JwksCache {
            http,
            uri,
            limits,
            state: Mutex::new(State {
                cached: None,
                budget: Budget {
                    available: limits.refetch_burst,
                    refilled_at: Instant::now(),
                },
            }),
        }
    }

    /// The current set: cached while fresh, fetched when stale, the stale one if the fetch fails.
    pub async fn current(&self) -> Result<Arc<JwkSet>, AppError> {
        let mut state = self.state.lock().await;
        if let Some(c) = state
            .cached
            .as_ref()
            .filter(|c| Instant::now() < c.fresh_until)
        {
            return Ok(c.set.clone());
        }
        self.fetch_into(&mut state.cached).await
    }

    /// Fetches again because a token named a kid the set lacks; `iat` is the token's (unverified) issue time.
    /// Answers the cached set instead when a refetch cannot help (the token is older than the set) or the
    /// budget is spent.
    pub async fn refetch_for_unknown_kid(&self, iat: Option<i64>) -> Result<Arc<JwkSet>, AppError> {
        let mut guard = self.state.lock().await;
        let state = &mut *guard;
        if let Some(c) = &state.cached {
            let older_than_the_set =
                iat.is_some_and(|iat| iat.saturating_add(CLOCK_SKEW_SECS) < c.fetched_at_unix);
            if older_than_the_set {
                return Ok(c.set.clone());
            }
            if !self.spend(&mut state.budget) {
                tracing::info!("unknown kid: key set refetch budget spent, using the cached set");
                return Ok(c.set.clone());
            }
        }
        self.fetch_into(&mut state.cached).await
    }

    /// Takes one refetch from the budget after adding what the elapsed time earned; false when none is left.
    fn spend(&self, budget: &mut Budget) -> bool {
        let (interval, burst) = (self.limits.min_refetch_interval, self.limits.refetch_burst);
        if interval.is_zero() {
            return true;
        }
        let now = Instant::now();
        let earned =
            now.saturating_duration_since(budget.refilled_at).as_nanos() / interval.as_nanos();
        let missing = burst.saturating_sub(budget.available);
        if earned >= u128::from(missing) {
            // Full: the next refill is counted from now, so idle time does not bank more than the burst.
            budget.available = burst;
            budget.refilled_at = now;
        } else {
            // `earned < missing <= u32::MAX`, so the conversions hold.
            let earned = earned as u32;
            budget.available += earned;
            budget.refilled_at += interval * earned;
        }
        if budget.available == 0 {
            return false;
        }
        budget.available -= 1;
        true
    }

    async fn fetch_into(&self, cached: &mut Option<Cached>) -> Result<Arc<JwkSet>, AppError> {
        match self.fetch().await {
            Ok((set, ttl)) => {
                let set = Arc::new(set);
                *cached = Some(Cached {
                    set: set.clone(),
                    fresh_until: Instant::now() + ttl,
                    fetched_at_unix: crate::session::now(),
                });
                Ok(set)
            }
            Err(e) => match cached.as_mut() {
                Some(c) => {
                    tracing::warn!(error = %e, "key set fetch failed; keeping the last good set");
                    // Do not retry on every request while the OP is down.
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
