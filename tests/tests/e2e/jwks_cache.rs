//! The BFF's key-set cache against a live HTTP server: Cache-Control honoured, the last good set kept when the
//! OP's jwks_uri fails, an unknown kid right after a fetch (a key rotation) fetched at once, and a flood of
//! unknown kids held to the refetch budget.

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use bff::oidc::jwks::{JwksCache, Limits};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const K1: &str = r#"{"keys":[{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB"}]}"#;
/// The set after a rotation: the new key only, the old one gone.
const K2: &str = r#"{"keys":[{"kty":"RSA","kid":"k2","n":"AQAB","e":"AQAB"}]}"#;

struct Server {
    fetches: AtomicU64,
    down: AtomicBool,
    body: Mutex<&'static str>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn serve(cache_control: &'static str) -> (Arc<Server>, url::Url) {
    let server = Arc::new(Server {
        fetches: AtomicU64::new(0),
        down: AtomicBool::new(false),
        body: Mutex::new(K1),
    });
    let s = server.clone();
    let app = axum::Router::new().route(
        "/jwks",
        get(move || {
            let s = s.clone();
            async move {
                s.fetches.fetch_add(1, Ordering::SeqCst);
                if s.down.load(Ordering::SeqCst) {
                    return StatusCode::SERVICE_UNAVAILABLE.into_response();
                }
                let body = *s.body.lock().unwrap();
                ([(header::CACHE_CONTROL, cache_control)], body).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, url)
}

#[tokio::test]
async fn max_age_is_honoured_and_the_last_good_set_survives_an_outage() {
    let (server, url) = serve("max-age=0").await;
    let limits = Limits {
        min_ttl: Duration::ZERO,
        min_refetch_interval: Duration::ZERO,
        ..Limits::default()
    };
    let cache = JwksCache::with_limits(reqwest::Client::new(), url, limits);
    assert!(cache.current().await.unwrap().has_kid("k1"));
    // max-age=0: every use fetches again.
    cache.current().await.unwrap();
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);

    server.down.store(true, Ordering::SeqCst);
    let kept = cache
        .current()
        .await
        .expect("the last good set is kept while the OP fails");
    assert!(kept.has_kid("k1"));
    assert_eq!(server.fetches.load(Ordering::SeqCst), 3, "it did try");
}

#[tokio::test]
async fn a_long_max_age_means_no_refetch() {
    let (server, url) = serve("public, max-age=3600").await;
    let cache = JwksCache::new(reqwest::Client::new(), url);
    for _ in 0..5 {
        cache.current().await.unwrap();
    }
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        1,
        "cached for max-age"
    );
}

/// The OP rotates its key (the old one gone) seconds after the BFF fetched the set: the first token with the
/// new kid makes the BFF fetch again at once, with the default limits.
#[tokio::test]
async fn an_unknown_kid_right_after_a_fetch_is_fetched_at_once() {
    let (server, url) = serve("public, max-age=3600").await;
    let cache = JwksCache::new(reqwest::Client::new(), url);
    assert!(cache.current().await.unwrap().has_kid("k1"));
    *server.body.lock().unwrap() = K2;
    let set = cache.refetch_for_unknown_kid(Some(now())).await.unwrap();
    assert!(set.has_kid("k2"), "the rotated key is found");
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
    assert!(cache.current().await.unwrap().has_kid("k2"), "and cached");
}

/// Forged kids, each claiming to be fresh: at most the burst of refetches, then none until the interval
/// passes; claiming an `iat` older than the set costs nothing at all.
#[tokio::test]
async fn a_flood_of_unknown_kids_makes_a_bounded_number_of_fetches() {
    let (server, url) = serve("public, max-age=3600").await;
    let limits = Limits::default();
    let cache = JwksCache::with_limits(reqwest::Client::new(), url, limits);
    let started = std::time::Instant::now();
    cache.current().await.unwrap();
    for _ in 0..20 {
        cache
            .refetch_for_unknown_kid(Some(now() - 3600))
            .await
            .unwrap();
    }
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        1,
        "tokens older than the set never make a fetch"
    );
    for _ in 0..100 {
        assert!(cache
            .refetch_for_unknown_kid(Some(now() + 3600))
            .await
            .unwrap()
            .has_kid("k1"));
    }
    for _ in 0..10 {
        cache.refetch_for_unknown_kid(None).await.unwrap();
    }
    let fetches = server.fetches.load(Ordering::SeqCst);
    // The guarantee: the first fetch, the burst, and one more per interval that passed meanwhile.
    let refills = started.elapsed().as_secs() / limits.min_refetch_interval.as_secs();
    assert!(
        fetches <= 1 + u64::from(limits.refetch_burst) + refills,
        "{fetches} fetches for 110 unknown kids"
    );
    assert!(fetches > 1, "the first unknown kids did refetch");
}
