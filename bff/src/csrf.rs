//! The anti-CSRF layers: every state-changing `/bff` call and every `/api` call must carry `X-CSRF: 1`. A
//! cross-site page cannot add a custom header without a CORS preflight, which the BFF never answers.
//!
//! The same calls are refused when they name an `Origin` other than `public_origin`: browsers send `Origin` with
//! every cross-origin request (and every POST), so this holds even if something in front of the BFF (a reverse
//! proxy adding CORS headers) lets a foreign page through the preflight. Without `Origin` (a same-origin GET, a
//! non-browser client) the header rule alone decides.
//!
//! [`check`] is the rule; [`crate::dispatch`] applies it to every `/api` call before the proxy, and
//! [`crate::app::router`] attaches [`state_changes`] with `route_layer` to the browser's `/bff` routes. A path
//! no route matches reaches neither and gets the fallback's answer. The back-channel logout route
//! ([`crate::flow::backchannel`]) takes no such header for POST, which the OP sends server to server as a
//! plain form post. It is safe without the header because it uses no cookie and no browser session: the
//! request is authenticated by the logout token's signature (plus issuer, audience, age and a one-time `jti`),
//! so a forged cross-site post carries nothing the BFF would accept.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::api::{CSRF_HEADER, CSRF_VALUE};

/// The layer of the browser's `/bff` routes: reads (GET, HEAD) pass, every other method needs the header.
pub async fn state_changes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    match check(&state, &request) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// The rule: the header, then the origin when one is named. Every `/api` call needs it, reads included, as
/// each carries the session's access token to an upstream.
pub fn check(state: &AppState, request: &Request) -> Result<(), AppError> {
    let has_header = request
        .headers()
        .get(CSRF_HEADER)
        .is_some_and(|v| v.as_bytes() == CSRF_VALUE.as_bytes());
    if !has_header {
        return Err(AppError::CsrfHeaderMissing);
    }
    if names_another_origin(request, state) {
        return Err(AppError::CrossOrigin);
    }
    Ok(())
}

/// Whether the request carries an `Origin` that is not the application's (`public_origin`, serialised as
/// browsers do: scheme, host, port unless the default).
fn names_another_origin(request: &Request, state: &AppState) -> bool {
    request.headers().get(header::ORIGIN).is_some_and(|origin| {
        let own = state.config.public_origin.origin().ascii_serialization();
        origin.as_bytes() != own.as_bytes()
    })
}

#[cfg(test)]
mod tests {
    use crate::app::App;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    /// Method, path, whether the BFF serves the SPA (`None`: either way), and the answers (status and JSON
    /// `error`, `-` for none) without the header, with it, with it and a foreign `Origin`, with it and the
    /// application's own `Origin`.
    type Case = (&'static str, &'static str, Option<bool>, [&'static str; 4]);

    const CASES: &[Case] = &[
        // Routes: the same answers whether or not the BFF serves the SPA.
        (
            "POST",
            "/bff/login",
            None,
            [
                "403 csrf_header_missing",
                "503 op_unavailable",
                "403 cross_origin_request",
                "503 op_unavailable",
            ],
        ),
        (
            "GET",
            "/bff/login",
            None,
            ["200 -", "200 -", "200 -", "200 -"],
        ),
        (
            "PUT",
            "/bff/login",
            None,
            [
                "403 csrf_header_missing",
                "405 -",
                "403 cross_origin_request",
                "405 -",
            ],
        ),
        (
            "GET",
            "/bff/user",
            None,
            [
                "401 unauthenticated",
                "401 unauthenticated",
                "401 unauthenticated",
                "401 unauthenticated",
            ],
        ),
        (
            "POST",
            "/bff/user",
            None,
            [
                "403 csrf_header_missing",
                "405 -",
                "403 cross_origin_request",
                "405 -",
            ],
        ),
        (
            "GET",
            "/bff/session",
            None,
            ["405 -", "405 -", "405 -", "405 -"],
        ),
        (
            "POST",
            "/bff/backchannel",
            None,
            [
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
            ],
        ),
        (
            "GET",
            "/bff/backchannel",
            None,
            ["405 -", "405 -", "405 -", "405 -"],
        ),
        (
            "DELETE",
            "/bff/backchannel",
            None,
            [
                "403 csrf_header_missing",
                "405 -",
                "403 cross_origin_request",
                "405 -",
            ],
        ),
        (
            "GET",
            "/bff/apis",
            None,
            ["200 -", "200 -", "200 -", "200 -"],
        ),
        (
            "GET",
            "/api/demo/x",
            None,
            [
                "403 csrf_header_missing",
                "401 unauthenticated",
                "403 cross_origin_request",
                "401 unauthenticated",
            ],
        ),
        (
            "POST",
            "/api/demo/x",
            None,
            [
                "403 csrf_header_missing",
                "401 unauthenticated",
                "403 cross_origin_request",
                "401 unauthenticated",
            ],
        ),
        (
            "GET",
            "/api/nope/x",
            None,
            [
                "403 csrf_header_missing",
                "404 unknown_api",
                "403 cross_origin_request",
                "404 unknown_api",
            ],
        ),
        (
            "GET",
            "/healthz",
            None,
            ["200 -", "200 -", "200 -", "200 -"],
        ),
        (
            "POST",
            "/healthz",
            None,
            ["405 -", "405 -", "405 -", "405 -"],
        ),
        // Answers that depend on whether the BFF serves the SPA (`Some(true)`): paths no route matches get the
        // fallback's answer (the SPA's, or 400 JSON), header and origin unread; `/metrics` leaves the public port.
        (
            "GET",
            "/api/demo",
            Some(false),
            [
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
            ],
        ),
        (
            "GET",
            "/api/demo",
            Some(true),
            ["200 -", "200 -", "200 -", "200 -"],
        ),
        (
            "POST",
            "/api/demo",
            Some(false),
            [
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
            ],
        ),
        (
            "POST",
            "/api/demo",
            Some(true),
            ["405 -", "405 -", "405 -", "405 -"],
        ),
        (
            "GET",
            "/api",
            Some(false),
            [
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
            ],
        ),
        (
            "GET",
            "/api",
            Some(true),
            ["200 -", "200 -", "200 -", "200 -"],
        ),
        (
            "POST",
            "/bff/nope",
            Some(false),
            [
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
            ],
        ),
        (
            "POST",
            "/bff/nope",
            Some(true),
            ["405 -", "405 -", "405 -", "405 -"],
        ),
        (
            "GET",
            "/bff/nope",
            Some(false),
            [
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
            ],
        ),
        (
            "GET",
            "/bff/nope",
            Some(true),
            ["200 -", "200 -", "200 -", "200 -"],
        ),
        (
            "POST",
            "/bff",
            Some(false),
            [
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
            ],
        ),
        (
            "POST",
            "/bff",
            Some(true),
            ["405 -", "405 -", "405 -", "405 -"],
        ),
        (
            "POST",
            "/elsewhere",
            Some(false),
            [
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
            ],
        ),
        (
            "POST",
            "/elsewhere",
            Some(true),
            ["405 -", "405 -", "405 -", "405 -"],
        ),
        (
            "GET",
            "/elsewhere",
            Some(false),
            [
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
                "400 bad_request",
            ],
        ),
        (
            "GET",
            "/elsewhere",
            Some(true),
            ["200 -", "200 -", "200 -", "200 -"],
        ),
        (
            "GET",
            "/metrics",
            Some(false),
            ["200 -", "200 -", "200 -", "200 -"],
        ),
        (
            "GET",
            "/metrics",
            Some(true),
            [
                "404 not_found",
                "404 not_found",
                "404 not_found",
                "404 not_found",
            ],
        ),
    ];

    async fn router(static_dir: Option<&std::path::Path>) -> App {
        let mut config = crate::config::fixture::config(crate::config::fixture::API);
        config.static_dir = static_dir.map(std::path::Path::to_path_buf);
        let (state, _discovery) = crate::start(config).expect("memory store");
        crate::app::router(state)
    }

    /// The status and JSON `error` code (or `-`) of one request.
    async fn answer(
        app: &App,
        method: &str,
        path: &str,
        header: bool,
        origin: Option<&str>,
    ) -> String {
        let mut request = Request::builder().method(method).uri(path);
        if header {
            request = request.header("x-csrf", "1");
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let code = serde_json::from_slice::<shared::api::ErrorBody>(&body)
            .map_or_else(|_| "-".to_owned(), |b| b.error);
        format!("{status} {code}")
    }

    /// Every state-changing `/bff` call and every `/api` call needs the header and a same-origin `Origin`;
    /// the OP's back-channel POST needs neither; wrong methods and unmatched paths answer as the layers'
    /// placement decides (a wrong method on a guarded route is refused for CSRF first).
    #[tokio::test]
    async fn the_header_and_origin_are_required_exactly_where_a_browser_changes_state() {
        let dist = std::env::temp_dir().join(format!("hybrid-csrf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<html></html>").unwrap();
        for serves_spa in [false, true] {
            let app = router(serves_spa.then_some(dist.as_path())).await;
            for (method, path, mode, expected) in CASES {
                if mode.is_some_and(|m| m != serves_spa) {
                    continue;
                }
                let got = [
                    answer(&app, method, path, false, None).await,
                    answer(&app, method, path, true, None).await,
                    answer(&app, method, path, true, Some("https://evil.example")).await,
                    answer(&app, method, path, true, Some("http://localhost:8080")).await,
                ];
                assert_eq!(got, *expected, "{method} {path}, SPA served: {serves_spa}");
            }
        }
        let _ = std::fs::remove_dir_all(&dist);
    }
}
