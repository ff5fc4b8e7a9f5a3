//! Serving the built SPA (`static_dir`) from the BFF itself, for single-binary deployments: the same cache rules
//! as the shipped nginx config, so a browser never runs a stale `index.html` and never asks twice for an asset
//! whose name changes with its content.

use axum::extract::Request;
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::path::Path;
use tower_http::services::{ServeDir, ServeFile};

/// Hashed assets: their name changes whenever their content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else (index.html, the SPA's routes, unhashed scripts): revalidated on every load, so a deploy is
/// picked up at once.
const REVALIDATE: &str = "no-cache";

/// The files of `dir`, with `index.html` for every other path (the SPA's own routes such as `/callback`).
pub fn router<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let files = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_policy))
}

async fn cache_policy(request: Request, next: Next) -> Response {
    let policy = if is_hashed_asset(request.uri().path()) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}

/// Whether a path names a file Trunk fingerprinted: `<name>-<16 hex digits>[_bg].<ext>`.
fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or_default();
    // No extension: one of the SPA's routes, answered with index.html.
    let Some((stem, _extension)) = file.split_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn only_fingerprinted_names_are_immutable() {
        for hashed in [
            "/hybrid-frontend-2b868320d3efb567.js",
            "/hybrid-frontend-2b868320d3efb567_bg.wasm",
            "/assets/style-0123456789abcdef.css",
        ] {
            assert!(is_hashed_asset(hashed), "{hashed}");
        }
        for plain in [
            "/",
            "/index.html",
            "/boot.js",
            "/callback",
            "/somewhere-0123456789abcdef",
            "/x-0123456789abcdeg.js",
            "/x-0123456789abcde.js",
        ] {
            assert!(!is_hashed_asset(plain), "{plain}");
        }
    }
}
