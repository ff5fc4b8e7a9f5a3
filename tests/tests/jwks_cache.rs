//! The BFF's key-set cache against a live HTTP server: Cache-Control honoured, the last good set kept when the
//! OP's jwks_uri fails, and unknown-kid refetches rate-limited.

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use bff::oidc::jwks::{JwksCache, Limits};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
struct Server {
    fetches: AtomicU64,
    down: AtomicBool,
}

async fn serve(cache_control: &'static str) -> (Arc<Server>, url::Url) {
    let server = Arc::new(Server::default());
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
                let body = r#"{"keys":[{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB"}]}"#;
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
async fn a_long_max_age_means_no_refetch_and_unknown_kids_are_rate_limited() {
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
    // A flood of tokens with made-up kids: at most one refetch per interval.
    for _ in 0..5 {
        cache.refetch_for_unknown_kid().await.unwrap();
    }
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        1,
        "the set was fetched moments ago"
    );
}
