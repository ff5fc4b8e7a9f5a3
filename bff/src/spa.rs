//! Serving the built SPA (`static_dir`) from the BFF itself, for single-binary deployments: the same cache rules
//! as the shipped nginx config, so a browser never runs a stale `index.html` and never asks twice for an asset
//! whose name changes with its content. A release build carries `.br` and `.gz` copies of its files
//! (`dev/toolchain/compress.mjs`, run by Trunk): they are sent to browsers that accept them, so nothing is
//! compressed per request and the wasm travels at a third of its size.

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, VARY};
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
/// A file's precompressed copy (`<file>.br`, else `<file>.gz`) is sent when the request's `Accept-Encoding`
/// allows it, with the original's `Content-Type`; without copies the plain file is sent.
pub fn router<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let index = ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index);
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
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    // The body depends on Accept-Encoding (precompressed copies): a shared cache must not hand brotli to a
    // browser that did not ask for it.
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
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
    use super::{is_hashed_asset, router};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// A dist/ as a release build leaves it: plain files and their `.br`/`.gz` copies (bodies marked by kind).
    fn dist() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("hybrid-spa-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "index.html",
            "app-0123456789abcdef_bg.wasm",
            "app-0123456789abcdef.js",
        ] {
            std::fs::write(dir.join(name), format!("plain {name}")).unwrap();
            std::fs::write(dir.join(format!("{name}.br")), format!("br {name}")).unwrap();
            std::fs::write(dir.join(format!("{name}.gz")), format!("gz {name}")).unwrap();
        }
        std::fs::write(dir.join("boot.js"), "plain boot.js").unwrap();
        dir
    }

    /// Status, Content-Type, Content-Encoding, Vary and body of one GET.
    async fn get(
        dir: &std::path::Path,
        path: &str,
        accept: Option<&str>,
    ) -> (StatusCode, String, String, String, String) {
        let mut request = Request::get(path);
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        let response = router::<()>(dir)
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let head = (
            response.status(),
            header("content-type"),
            header("content-encoding"),
            header("vary"),
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (
            head.0,
            head.1,
            head.2,
            head.3,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[tokio::test]
    async fn precompressed_copies_follow_accept_encoding() {
        let dir = dist();
        let wasm = "/app-0123456789abcdef_bg.wasm";
        let (status, mime, encoding, vary, body) = get(&dir, wasm, Some("gzip, deflate, br")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(mime, "application/wasm", "streaming instantiation needs it");
        assert_eq!(encoding, "br");
        assert!(vary.contains("accept-encoding"), "{vary}");
        assert_eq!(body, "br app-0123456789abcdef_bg.wasm");

        let (_, mime, encoding, vary, body) = get(&dir, wasm, Some("gzip")).await;
        assert_eq!(
            (mime.as_str(), encoding.as_str()),
            ("application/wasm", "gzip")
        );
        assert!(vary.contains("accept-encoding"), "{vary}");
        assert_eq!(body, "gz app-0123456789abcdef_bg.wasm");

        let (_, mime, encoding, _, body) = get(&dir, wasm, None).await;
        assert_eq!((mime.as_str(), encoding.as_str()), ("application/wasm", ""));
        assert_eq!(body, "plain app-0123456789abcdef_bg.wasm");

        let (_, mime, encoding, _, _) = get(&dir, "/app-0123456789abcdef.js", Some("br")).await;
        assert!(mime.starts_with("text/javascript"), "{mime}");
        assert_eq!(encoding, "br");

        // The SPA's routes get index.html, compressed too.
        for path in ["/", "/callback"] {
            let (status, mime, encoding, vary, body) = get(&dir, path, Some("br, gzip")).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(mime.starts_with("text/html"), "{path}: {mime}");
            assert_eq!(encoding, "br", "{path}");
            assert!(vary.contains("accept-encoding"), "{path}: {vary}");
            assert_eq!(body, "br index.html", "{path}");
        }

        // A file without copies is sent as it is, whatever the browser accepts.
        let (_, _, encoding, _, body) = get(&dir, "/boot.js", Some("br, gzip")).await;
        assert_eq!((encoding.as_str(), body.as_str()), ("", "plain boot.js"));
        let _ = std::fs::remove_dir_all(&dir);
    }

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
