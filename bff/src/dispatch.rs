//! The first stop of every request under the cross-cutting layers: `/api/<name>/<path>` goes straight to the
//! proxy, everything else to the axum router.
//!
//! Nearly all of a BFF's traffic is API calls, and the proxy needs nothing of the router: one route, its two
//! parameters and one rule before it (CSRF). Through axum that cost per call a route match, two `String`s for
//! the parameters, and a boxed future plus a clone of the inner service for each `from_fn` layer on the way;
//! here it is a prefix test, a split at the next `/`, and a percent-decoding that borrows unless the path has
//! escapes. [`ApiPath`] matches exactly the paths the route `/api/{name}/{*path}` matched and decodes them as
//! axum's `Path` did, so no answer changes (`app::tests` holds the two together).

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use axum::Router;
use futures_util::future::{BoxFuture, Either};
use std::borrow::Cow;
use std::convert::Infallible;
use std::task::{Context, Poll};

/// The service under the cross-cutting layers (see the module doc).
#[derive(Clone)]
pub struct Dispatch {
    state: AppState,
    routes: Router,
}

impl Dispatch {
    /// `/api` calls to the proxy with `state`, everything else to `routes`.
    pub fn new(state: AppState, routes: Router) -> Dispatch {
        Dispatch { state, routes }
    }
}

impl tower::Service<Request> for Dispatch {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<BoxFuture<'static, Result<Response, Infallible>>, RouteFuture<Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if ApiPath::split(request.uri().path()).is_none() {
            return Either::Right(self.routes.call(request));
        }
        let state = self.state.clone();
        Either::Left(Box::pin(async move {
            Ok(api_call(&state, request)
                .await
                .unwrap_or_else(IntoResponse::into_response))
        }))
    }
}

/// One `/api` call: the CSRF rule first (as the route's layer ran before its handler), then the proxy.
async fn api_call(state: &AppState, request: Request) -> Result<Response, AppError> {
    crate::csrf::check(state, &request)?;
    // The path is borrowed from a copy of the URI (a reference count), as the proxy consumes the request.
    let uri = request.uri().clone();
    // `Dispatch` sends only paths of this shape here; `NotFound` is for a caller that does not.
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
