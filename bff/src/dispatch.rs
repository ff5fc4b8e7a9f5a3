//! The front door of every request: `/api/<name>/<path>` goes straight to the proxy, everything else to the
//! axum router under its layers ([`crate::app::router`]).
//!
//! Nearly all of a BFF's traffic is API calls, and the proxy needs nothing of the router or of tower's layers:
//! one route, its two parameters and one rule before it (CSRF). Through them a call cost a route match, two
//! `String`s for the parameters, a boxed future, a clone of the whole layer stack per request, and a wrapper
//! per layer around the answer's body, each polled for every frame. Here the same cross-cutting rules are plain
//! calls around the proxy ([`api`]): the request id, the request span, a panic answered as 500, the headers of
//! every answer; the path is a prefix test, a split at the next `/`, and a percent-decoding that borrows unless
//! it has escapes. [`ApiPath`] matches exactly the paths the route `/api/{name}/{*path}` matched and decodes
//! them as axum's `Path` did, so no answer changes (`app::tests` holds the two together).

use crate::error::AppError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either};
use futures_util::FutureExt;
use std::borrow::Cow;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::util::{BoxCloneSyncService, Oneshot};
use tower::ServiceExt;
use tracing::Instrument;

/// The router under its layers: everything that is not an `/api` call.
pub type Routes = BoxCloneSyncService<Request, Response, Infallible>;

/// The whole HTTP surface of the BFF (see the module doc): a tower service for tests and embedders, a hyper
/// service for the server. Cloned per connection, so it is one reference count.
#[derive(Clone)]
pub struct Front(Arc<Inner>);

struct Inner {
    state: AppState,
    routes: Routes,
}

/// What [`Front`] answers with: the `/api` call's boxed future, or the router's.
pub type FrontFuture =
    Either<BoxFuture<'static, Result<Response, Infallible>>, Oneshot<Routes, Request>>;

/// The request header that carries the request id, set by the BFF when the request has none.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl Front {
    /// `/api` calls to the proxy with `state`, everything else to `routes`.
    pub fn new(state: AppState, routes: Routes) -> Front {
        Front(Arc::new(Inner { state, routes }))
    }

    fn dispatch(&self, request: Request) -> FrontFuture {
        if ApiPath::split(request.uri().path()).is_none() {
            return Either::Right(self.0.routes.clone().oneshot(request));
        }
        Either::Left(Box::pin(api(self.0.clone(), request)))
    }
}

impl tower::Service<Request> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = FrontFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> FrontFuture {
        self.dispatch(request)
    }
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = FrontFuture;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> FrontFuture {
        // hyper's body as axum's, as axum's `Router` converts it.
        self.dispatch(request.map(Body::new))
    }
}

/// One `/api` call with what the router's layers do for the other requests: a request id (the browser's, or a
/// new one) on the request, which the upstream gets, and on the answer; the request span, so that every log
/// line of the call names it; a panic answered as the panic layer does ([`crate::panic`]); the answer's
/// every-answer headers; a 5xx logged as tower-http's trace layer logs it.
async fn api(front: Arc<Inner>, mut request: Request) -> Result<Response, Infallible> {
    let id = match request.headers().get(&REQUEST_ID) {
        Some(id) => Some(id.clone()),
        None => new_request_id().inspect(|id| {
            request.headers_mut().insert(REQUEST_ID.clone(), id.clone());
        }),
    };
    let span = request_span(&request);
    let started = std::time::Instant::now();
    let call = async {
        let answered = AssertUnwindSafe(api_call(&front.state, request))
            .catch_unwind()
            .await;
        let response = match answered {
            Ok(answer) => answer.unwrap_or_else(IntoResponse::into_response),
            Err(payload) => crate::panic::answer(payload),
        };
        if response.status().is_server_error() {
            tracing::error!(
                status = response.status().as_u16(),
                latency_ms = started.elapsed().as_millis() as u64,
                "response failed"
            );
        }
        response
    };
    let mut response = call.instrument(span).await;
    if let Some(id) = id {
        response.headers_mut().entry(&REQUEST_ID).or_insert(id);
    }
    // Single-binary mode: the SPA's headers on every answer, as the router's layer adds them to the others.
    if front.state.config.static_dir.is_some() {
        response = crate::security_headers::every_answer(response);
    }
    Ok(response)
}

/// The span every request runs in, `/api` calls and the router's alike, so that each log line of a request
/// names it. Method, path and request id only: queries and headers may carry secrets.
pub fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok());
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id.unwrap_or("-"),
    )
}

/// A request id: a UUID v4 from the thread-local CSPRNG (tower-http's `MakeRequestUuid` asks the kernel for 16
/// random bytes, a `getrandom` system call, per request). An id needs to be unique, not secret.
pub fn new_request_id() -> Option<HeaderValue> {
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    let mut buf = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf)).ok()
}

/// One `/api` call: the CSRF rule first (as the route's layer ran before its handler), then the proxy.
async fn api_call(state: &AppState, request: Request) -> Result<Response, AppError> {
    crate::csrf::check(state, &request)?;
    // The path is borrowed from a copy of the URI (a reference count), as the proxy consumes the request.
    let uri = request.uri().clone();
    // `Front` sends only paths of this shape here; `NotFound` is for a caller that does not.
    let raw = ApiPath::split(uri.path()).ok_or(AppError::NotFound)?;
    let name = decoded(raw.name)
        .ok_or_else(|| AppError::BadRequest("the API name is not valid UTF-8".into()))?;
    let rest = decoded(raw.rest)
        .ok_or_else(|| AppError::BadRequest("the API path is not valid UTF-8".into()))?;
    crate::proxy::forward(state, &name, &rest, request).await
}

/// The two parts of an `/api/<name>/<path>` request path, still percent-encoded, in the route's shape: the
/// name is everything up to the next `/` (it may be empty), the path everything after it (at least one byte).
#[derive(Debug, PartialEq, Eq)]
pub struct ApiPath<'a> {
    /// The API's name, as configured under `[apis]` once decoded.
    pub name: &'a str,
    /// The path under the API's URL.
    pub rest: &'a str,
}

impl<'a> ApiPath<'a> {
    /// The parts of `path`, or `None` when the route would not have matched it.
    pub fn split(path: &'a str) -> Option<ApiPath<'a>> {
        let (name, rest) = path.strip_prefix("/api/")?.split_once('/')?;
        (!rest.is_empty()).then_some(ApiPath { name, rest })
    }
}

/// `part` percent-decoded once, as axum decodes a route's parameters; `None` when that is not UTF-8. A `%`
/// without two hex digits after it stays as it is.
fn decoded(part: &str) -> Option<Cow<'_, str>> {
    percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_in_the_routes_shape() {
        let split = |path| ApiPath::split(path).map(|p| (p.name, p.rest));
        assert_eq!(split("/api/demo/a/b"), Some(("demo", "a/b")));
        assert_eq!(split("/api/demo//a"), Some(("demo", "/a")));
        assert_eq!(split("/api//a"), Some(("", "a")));
        assert_eq!(split("/api/de%2Fmo/a%2Fb"), Some(("de%2Fmo", "a%2Fb")));
        for no in [
            "/api/demo/",
            "/api/demo",
            "/api//",
            "/api/",
            "/api",
            "/apix/demo/a",
            "/API/demo/a",
        ] {
            assert_eq!(split(no), None, "{no}");
        }
    }

    #[test]
    fn decodes_once_and_refuses_what_is_not_utf8() {
        assert_eq!(decoded("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(decoded("a%252e").as_deref(), Some("a%2e"));
        assert_eq!(decoded("caf%C3%A9").as_deref(), Some("café"));
        assert_eq!(decoded("%zz%").as_deref(), Some("%zz%"));
        assert!(matches!(decoded("plain"), Some(Cow::Borrowed("plain"))));
        assert_eq!(decoded("%FF"), None);
        assert_eq!(decoded("%E2%82"), None);
    }
}
