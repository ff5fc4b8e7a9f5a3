//! A panicking handler answers 500 and the process keeps serving.
//!
//! Handlers return `Result<_, AppError>` and must not panic; if one does anyway (a bug), the release build
//! unwinds (`panic = "unwind"` in the workspace profile) and [`layer`] turns the unwound request into a JSON
//! `{error, message}` 500, instead of the process ending and, with the memory store, every session with it.
//!
//! A panic's message may hold request data (a token in a formatted `expect`), so it is never logged:
//! [`install_hook`] replaces the default hook (which prints the message to stderr) with one log line naming
//! only where the code panicked. Inside a request, that line is within the request's span, so it also names the
//! method, path and request id (see the trace layer in [`crate::app`]).

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use shared::api::ErrorBody;
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;

/// The stable machine code of the 500 a panicking handler answers with.
pub const CODE: &str = "internal_error";

/// The layer that answers for a panicking handler (see the module doc).
pub fn layer() -> CatchPanicLayer<fn(Box<dyn Any + Send + 'static>) -> Response> {
    CatchPanicLayer::custom(answer as fn(Box<dyn Any + Send + 'static>) -> Response)
}

/// The 500 answer; the payload is dropped unread (the hook has logged where the panic happened). Also what
/// [`crate::dispatch`] answers for a panicking `/api` call.
pub(crate) fn answer(_payload: Box<dyn Any + Send + 'static>) -> Response {
    let body = ErrorBody {
        error: CODE.to_owned(),
        message: "Something went wrong on our side. Please try again.".to_owned(),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Logs every panic as one error line with its location and without its message (see the module doc). For the
/// binary: tests keep Rust's default hook, whose messages help when a test itself panics.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| match info.location() {
        Some(at) => {
            tracing::error!(at = %format_args!("{}:{}", at.file(), at.line()), "panic (message not logged)")
        }
        None => tracing::error!("panic (message not logged)"),
    }));
}

/// The route [`crate::app::router`] adds in unit tests only, so the real layer stack can be shown a panic.
#[cfg(test)]
pub(crate) const TEST_PANIC_PATH: &str = "/__test/panic";

#[cfg(test)]
pub(crate) async fn test_panic() -> &'static str {
    panic!("a handler bug (test)")
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn router() -> crate::app::App {
        let config = crate::config::fixture::config("");
        let (state, _discovery) = crate::start(config).expect("memory store");
        crate::app::router(state)
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_json_and_the_next_request_is_served() {
        let app = router().await;
        let request = Request::get(super::TEST_PANIC_PATH)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.expect("an answer");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let id = response.headers()["x-request-id"].to_str().unwrap();
        let id = uuid::Uuid::parse_str(id).expect("the 500 carries a request id like any answer");
        assert_eq!(id.get_version_num(), 4, "request ids are UUID v4");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "JSON like every other error"
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: shared::api::ErrorBody = serde_json::from_slice(&body).expect("{error, message}");
        assert_eq!(body.error, super::CODE);
        assert!(
            !body.message.contains("test"),
            "the panic message is not answered"
        );

        let next = Request::get("/healthz").body(Body::empty()).unwrap();
        let response = app.oneshot(next).await.expect("an answer");
        assert_eq!(response.status(), StatusCode::OK);
    }
}
