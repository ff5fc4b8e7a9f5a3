//! The router: routes in flow order, cross-cutting concerns (CSRF, tracing, request ids) as layers.

use crate::state::AppState;
use crate::{csrf, flow, proxy};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

/// Builds the whole HTTP surface of the BFF.
pub fn router(state: AppState) -> Router {
    let mut app = Router::new()
        .route(
            "/bff/login",
            post(flow::login::start).get(flow::login::options),
        )
        .route("/bff/session", post(flow::exchange::create_session))
        .route("/bff/user", get(flow::user::current_user))
        .route("/bff/logout", post(flow::logout::logout))
        .route(flow::backchannel::PATH, flow::backchannel::route())
        .route("/bff/apis", get(proxy::catalog::list))
        .route("/api/{name}/{*path}", any(proxy::forward))
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::require_header,
        ));
    if let Some(dir) = &state.config.static_dir {
        app = app.merge(crate::spa::router(dir));
    } else {
        app = app
            .fallback(|| async { crate::error::AppError::BadRequest("no such endpoint".into()) });
    }
    #[cfg(test)]
    {
        app = app.route(crate::panic::TEST_PANIC_PATH, get(crate::panic::test_panic));
    }
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    app.layer(
        tower::ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), FastRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                // Method, path and request id only: queries and headers may carry secrets.
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }))
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(crate::panic::layer()),
    )
    .with_state(state)
}

/// Request ids as UUID v4 strings from the thread-local CSPRNG: tower-http's `MakeRequestUuid` asks the kernel
/// for 16 random bytes (a `getrandom` system call) on every request. An id needs to be unique, not secret.
#[derive(Clone, Copy)]
struct FastRequestUuid;

impl MakeRequestId for FastRequestUuid {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut buf = uuid::Uuid::encode_buffer();
        axum::http::HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
            .ok()
            .map(RequestId::new)
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
