//! The BFF's HTTP surface: routes in flow order, cross-cutting concerns (CSRF, tracing, request ids) as layers,
//! and `/api` calls past the router and its layers (see [`crate::dispatch`]).

use crate::dispatch::{Front, Routes};
use crate::state::AppState;
use crate::{csrf, flow, proxy};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use tower::util::MapResponseLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

/// The whole HTTP surface of the BFF as one service (see [`router`]), for the server and for tests.
pub type App = Front;

/// Builds the whole HTTP surface of the BFF: [`Front`] sends `/api` calls to the proxy and everything else to
/// the routes, under the cross-cutting layers (request id, the request span, the panic answer, and in
/// single-binary mode the headers of every answer), which `Front` applies to `/api` calls itself.
pub fn router(state: AppState) -> App {
    let state_changes = middleware::from_fn_with_state(state.clone(), csrf::state_changes);
    let browser = Router::new()
        .route(
            "/bff/login",
            post(flow::login::start).get(flow::login::options),
        )
        .route("/bff/session", post(flow::exchange::create_session))
        .route("/bff/user", get(flow::user::current_user))
        .route("/bff/logout", post(flow::logout::logout))
        .route("/bff/logout/return", post(flow::logout::returned))
        .route("/bff/apis", get(proxy::catalog::list))
        .route("/bff/jwks.json", get(flow::jwks::client_jwks))
        .route_layer(state_changes.clone());
    // The OP's POST carries no header (see `csrf`); another method is answered as on the browser's routes. The
    // layer goes on before the POST route, so it wraps the method fallback only.
    let back_channel = MethodRouter::new()
        .layer(state_changes)
        .post(flow::backchannel::receive);
    let mut app = browser
        .route(flow::backchannel::PATH, back_channel)
        .route("/healthz", get(healthz))
        .route("/readyz", get(ready))
        .route("/metrics", get(main_metrics))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::serve::bff_deadline,
        ));
    if let Some(dir) = &state.config.static_dir {
        let headers =
            crate::security_headers::SpaHeaders::new(&state.config, state.provider.clone(), dir);
        app = app.merge(
            crate::spa::router(dir).layer(middleware::from_fn_with_state(
                std::sync::Arc::new(headers),
                crate::security_headers::spa,
            )),
        );
    } else {
        app = app
            .fallback(|| async { crate::error::AppError::BadRequest("no such endpoint".into()) });
    }
    #[cfg(test)]
    {
        app = app.route(crate::panic::TEST_PANIC_PATH, get(crate::panic::test_panic));
    }
    let routes = app
        .layer(middleware::from_fn(no_store_on_bff))
        .with_state(state.clone());
    let every_answer = state.config.static_dir.is_some().then(|| {
        MapResponseLayer::new(crate::security_headers::every_answer as fn(Response) -> Response)
    });
    let request_id = crate::dispatch::REQUEST_ID.clone();
    let service = tower::ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        .layer(SetRequestIdLayer::new(request_id.clone(), FastRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(crate::dispatch::request_span))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(crate::panic::layer())
        .option_layer(every_answer)
        .service(routes);
    Front::new(state, Routes::new(service))
}

/// Every `/bff` answer is `Cache-Control: no-store`, errors included: they carry login state, the user's data
/// and end-session URLs, which no browser or shared cache may keep (RFC 9111 5.2.2.5).
async fn no_store_on_bff(request: Request, next: middleware::Next) -> axum::response::Response {
    let bff = request.uri().path().starts_with("/bff/") || request.uri().path() == "/bff";
    let mut response = next.run(request).await;
    if bff {
        response.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    response
}

/// The operational endpoints alone, for `metrics_listen`: no CSRF layer (nothing there changes state) and no
/// request span per scrape.
pub fn ops_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(ready))
        .fallback(|| async { crate::error::AppError::NotFound })
        .with_state(state)
}

/// Alive: the process answers (nothing else is checked; see [`ready`]).
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// `/metrics` on `listen`: only where [`crate::config::Config::metrics_on_main_listener`] says so, else 404
/// (JSON, not the SPA's page, so a scraper pointed at the wrong port sees why).
async fn main_metrics(State(state): State<AppState>) -> axum::response::Response {
    if !state.config.metrics_on_main_listener() {
        return crate::error::AppError::NotFound.into_response();
    }
    metrics(State(state)).await.into_response()
}

/// Request ids as [`crate::dispatch::new_request_id`] makes them, for the requests that are not `/api` calls.
#[derive(Clone, Copy)]
struct FastRequestUuid;

impl MakeRequestId for FastRequestUuid {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        crate::dispatch::new_request_id().map(RequestId::new)
    }
}

/// Ready when the OP's discovery is loaded and the session store answers.
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let store = state.sessions.ping().await;
    if let Err(e) = &store {
        tracing::warn!(error = %e, "readiness: session store unreachable");
    }
    let status = match (state.provider.is_loaded(), store.is_ok()) {
        (true, true) => return (StatusCode::OK, Json(serde_json::json!({"status": "ready"}))),
        (false, _) => "waiting for the OP",
        (true, false) => "session store unreachable",
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(
            serde_json::json!({"status": status, "op": state.provider.is_loaded(), "store": store.is_ok()}),
        ),
    )
}

/// Prometheus metrics. Operators keep this path internal at their reverse proxy (it is read-only and holds no
/// personal data, only counts by rule name and upstream).
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(state.sessions.count().await.ok()),
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::App;

    /// An upstream that answers every request with the path and query it was asked for.
    async fn echo_upstream() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let echo = axum::Router::new().fallback(|request: axum::extract::Request| async move {
            request
                .uri()
                .path_and_query()
                .map_or_else(String::new, ToString::to_string)
        });
        tokio::spawn(async move { axum::serve(listener, echo).await });
        addr
    }

    /// The BFF with one public API, `echo`, under `/base/` of [`echo_upstream`], serving the SPA or not.
    fn app(upstream: std::net::SocketAddr, spa: Option<&std::path::Path>) -> App {
        let apis = format!(
            "[apis.echo]\nurl = \"http://{upstream}/base/\"\nmethods = [\"GET\"]\ntoken = false\n"
        );
        let mut config = crate::config::fixture::config(&apis);
        config.static_dir = spa.map(std::path::Path::to_path_buf);
        let (state, _discovery) = crate::start(config).expect("memory store");
        super::router(state)
    }

    /// `status what`: the JSON `error` code, else the body's text (the upstream's echo, the SPA's page).
    async fn answer(app: &App, method: &str, path: &str) -> (String, axum::http::HeaderMap) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("x-csrf", "1")
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let what = serde_json::from_slice::<shared::api::ErrorBody>(&body)
            .map_or_else(|_| String::from_utf8_lossy(&body).into_owned(), |b| b.error);
        (format!("{status} {what}"), headers)
    }

    /// Which `/api` paths reach the proxy, with what name and path (percent-decoded once, as a route's
    /// parameters are; an escape that is not UTF-8 is a JSON 400), and which fall through to what no route
    /// matches (`-`: the fallback's answer, 400 JSON without the SPA, the SPA's page or 405 with it).
    const SHAPES: &[(&str, &str, &str)] = &[
        ("GET", "/api/echo/a", "200 /base/a"),
        ("GET", "/api/echo/a/b?q=1&r=%20", "200 /base/a/b?q=1&r=%20"),
        ("GET", "/api/echo/a/", "200 /base/a"),
        ("GET", "/api/echo//a", "200 /base/a"),
        ("GET", "/api/echo/a%2Fb", "200 /base/a/b"),
        ("GET", "/api/echo/caf%C3%A9", "200 /base/caf%C3%A9"),
        ("GET", "/api/echo/a%20b", "200 /base/a%20b"),
        ("GET", "/api/ec%68o/a", "200 /base/a"),
        ("GET", "/api/echo/a%252e%252e", "400 bad_request"),
        ("GET", "/api/echo/%2e%2e/x", "400 bad_request"),
        ("GET", "/api/echo/a%00", "400 bad_request"),
        ("GET", "/api/echo/%FF", "400 bad_request"),
        ("GET", "/api/%FF/a", "400 bad_request"),
        ("GET", "/api/echo/%", "200 /base/%25"),
        ("GET", "/api/echo/%zz", "200 /base/%25zz"),
        ("GET", "/api/echo//", "200 /base"),
        ("GET", "/api/%E2%82/a", "400 bad_request"),
        ("GET", "/api/nope/a", "404 unknown_api"),
        ("GET", "/api//a", "404 unknown_api"),
        ("GET", "/api///a", "404 unknown_api"),
        ("GET", "/api/%2F/a", "404 unknown_api"),
        ("GET", "/api/x%2Fy/a", "404 unknown_api"),
        ("POST", "/api/echo/a", "405 method_not_allowed"),
        ("POST", "/api/nope/a", "404 unknown_api"),
        ("GET", "/api/echo/", "-"),
        ("GET", "/api/echo", "-"),
        ("GET", "/api/", "-"),
        ("GET", "/api", "-"),
        ("GET", "/apix/echo/a", "-"),
        ("GET", "/API/echo/a", "-"),
        ("POST", "/api/echo/", "-"),
        ("GET", "/api//", "-"),
    ];

    #[tokio::test]
    async fn api_paths_reach_the_proxy_exactly_in_the_routes_shape() {
        let upstream = echo_upstream().await;
        let dist = std::env::temp_dir().join(format!("hybrid-app-test-{}", std::process::id()));
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<html></html>").unwrap();
        let mut wrong = Vec::new();
        for spa in [false, true] {
            let app = app(upstream, spa.then_some(dist.as_path()));
            for (method, path, expected) in SHAPES {
                let (got, headers) = answer(&app, method, path).await;
                let expected = match (*expected, spa, *method) {
                    ("-", false, _) => "400 bad_request",
                    ("-", true, "GET") => "200 <html></html>",
                    ("-", true, _) => "405 ",
                    (expected, _, _) => expected,
                };
                let nosniff = headers.contains_key("x-content-type-options");
                if got != expected || !headers.contains_key("x-request-id") || nosniff != spa {
                    wrong.push(format!(
                        "{method} {path}, SPA served: {spa}: {got} (expected {expected}), \
                         request id: {}, nosniff: {nosniff}",
                        headers.contains_key("x-request-id")
                    ));
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dist);
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}
