//! `/api/<name>/<path>`: forwards to the configured upstream with the session's access token. The browser
//! never sees the token; the upstream never sees the browser's cookies.

mod auth;
pub mod catalog;
mod path;
pub mod refresh;
mod retry;
pub mod upstream;

use crate::current_session::CurrentSession;
use crate::error::AppError;
use crate::forward_headers::DEFAULT_FORWARD_HEADERS;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use http_body::Body as _;
use http_body_util::BodyExt;
use refresh::{token_for, Which};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Forwards one request to the API `name`, at `rest` under its URL (both percent-decoded; see
/// [`crate::dispatch`]). 401 JSON without a session (never a redirect), 404 JSON for an unknown API.
pub async fn forward(
    state: &AppState,
    name: &str,
    rest: &str,
    request: Request,
) -> Result<Response, AppError> {
    let api = state
        .config
        .apis
        .get(name)
        .ok_or_else(|| AppError::UnknownApi(printable(name)))?;
    if !api.allows(request.method()) {
        return Err(AppError::MethodNotAllowed);
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|len| len > api.max_body_bytes) {
        return Err(AppError::PayloadTooLarge);
    }
    let target = path::join(&api.url, &api.path_prefix, rest, request.uri().query())?;
    let target = axum::http::Uri::try_from(target)
        .map_err(|_| AppError::BadRequest("the API path is not allowed".into()))?;
    let credentials = if api.token {
        // Not an extractor: a public API needs no session, and the allowlist's answers come first.
        let CurrentSession { id, session } = CurrentSession::load(state, request.headers()).await?;
        // An upstream with a resource or scopes of its own gets its own token, obtained once and cached.
        let which = if api.own_token() {
            Which::Upstream(name, api)
        } else {
            Which::Main
        };
        let (token, dpop_key) = token_for(state, &id, session, which).await?;
        Some(auth::Credentials::new(api, token, dpop_key))
    } else {
        None
    };

    let (parts, body) = request.into_parts();
    let (body, body_too_large) = upstream_body(body, api.max_body_bytes);
    // Only an idempotent call without a body can be sent again (RFC 9110 9.2.2): nothing is replayed that the
    // browser streamed, and nothing is done twice that the upstream may already have done once.
    let bodyless = body_too_large.is_none();
    let replayable = bodyless && parts.method.is_idempotent();
    // Each attempt is built afresh: a DPoP proof is good for one request only.
    let outgoing = |body: Body| {
        upstream_request(
            state,
            &parts,
            target.clone(),
            body,
            &api.forward_headers,
            credentials.as_ref(),
        )
    };

    // One timer per call: the response head and then the whole body must arrive within the API's timeout.
    let mut deadline = Box::pin(tokio::time::sleep(Duration::from_secs(api.timeout_secs)));
    let started = std::time::Instant::now();
    let mut sent = within(&mut deadline, state.api_http.here().send(outgoing(body)?)).await;
    if replayable && matches!(&sent, Some(Err(e)) if retry::on_a_new_connection(e)) {
        let again = state.api_http.here().send(outgoing(Body::empty())?);
        sent = within(&mut deadline, again).await;
    }
    // A DPoP API that demands a nonce has not acted on the call: it is asked once more with the nonce, when
    // there is no body to resend.
    let nonce_demanded = |answer: &Response<upstream::UpstreamBody>| {
        credentials
            .as_ref()
            .is_some_and(|c| c.nonce_retry(state, &target, answer))
    };
    if bodyless && matches!(&sent, Some(Ok(answer)) if nonce_demanded(answer)) {
        let again = state.api_http.here().send(outgoing(Body::empty())?);
        sent = within(&mut deadline, again).await;
    }
    let class = match &sent {
        Some(Ok(r)) if r.status().is_success() => "2xx",
        Some(Ok(r)) if r.status().is_redirection() => "3xx",
        Some(Ok(r)) if r.status().is_client_error() => "4xx",
        Some(Ok(_)) => "5xx",
        Some(Err(_)) | None => "error",
    };
    state.metrics.proxied(name, class, started.elapsed());
    let upstream = match sent {
        Some(Ok(upstream)) => upstream,
        _ if body_too_large.is_some_and(|flag| flag.load(Ordering::Relaxed)) => {
            return Err(AppError::PayloadTooLarge)
        }
        None => return Err(AppError::UpstreamTimeout),
        Some(Err(e)) => {
            tracing::debug!(api = %printable(name), error = %retry::Chain(&e), "upstream call failed");
            return Err(AppError::UpstreamUnavailable);
        }
    };

    // The upstream's head without its cookies: the browser's cookies are the BFF's. What was for one hop only,
    // and the length (the body's own length goes on, checked by hyper on both sides), the client has left out.
    let (mut head, body) = upstream.into_parts();
    head.headers.remove(header::SET_COOKIE);
    // Nothing of the upstream's connection (hyper's reason phrase and the like) reaches the browser's.
    head.extensions.clear();
    Ok(Response::from_parts(
        head,
        Body::new(upstream::Deadline {
            body,
            sleep: deadline,
        }),
    ))
}

/// `sending`'s answer, or `None` when the call's one deadline passes first: every attempt of a call shares it.
async fn within<T>(
    deadline: &mut Pin<Box<tokio::time::Sleep>>,
    sending: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        biased;
        sent = sending => Some(sent),
        () = deadline.as_mut() => None,
    }
}

/// One attempt's request for the upstream: the browser's method and allowed headers, and the session's
/// credentials (Bearer, or DPoP with a proof of this very request; see [`auth::Credentials`]).
fn upstream_request(
    state: &AppState,
    parts: &axum::http::request::Parts,
    target: axum::http::Uri,
    body: Body,
    forward_headers: &[String],
    credentials: Option<&auth::Credentials>,
) -> Result<axum::http::Request<Body>, AppError> {
    let mut outgoing = axum::http::Request::new(body);
    *outgoing.method_mut() = parts.method.clone();
    *outgoing.uri_mut() = target;
    let headers = outgoing.headers_mut();
    for (name, value) in forwardable(&parts.headers, forward_headers) {
        headers.append(name.clone(), value.clone());
    }
    // What reqwest added when the browser sent no `Accept`; upstreams have had it since the first release.
    headers
        .entry(header::ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
    if let Some(credentials) = credentials {
        credentials.apply(state, &mut outgoing)?;
    }
    Ok(outgoing)
}

/// The request body for the upstream, and the flag that says it went over `max` on the way. Bodies stream
/// through; past the limit the stream errors and the upstream request is aborted, and the flag tells that
/// failure (the browser's, 413) from the upstream's (502). An empty body (most calls) costs nothing.
fn upstream_body(body: Body, max: usize) -> (Body, Option<Arc<AtomicBool>>) {
    if body.is_end_stream() {
        return (Body::empty(), None);
    }
    let too_large = Arc::new(AtomicBool::new(false));
    let flag = too_large.clone();
    let limited = http_body_util::Limited::new(body, max).map_err(move |e| {
        if e.is::<http_body_util::LengthLimitError>() {
            flag.store(true, Ordering::Relaxed);
        }
        e
    });
    (Body::new(limited), Some(too_large))
}

/// The browser's request headers an upstream gets: the default allowlist plus the API's own `forward_headers`,
/// minus any header the request's `Connection` names (RFC 9110 7.6.1: those are for this hop only; the rule is
/// the one the upstream client applies to the answer, [`upstream::wire::connection_specific`]).
fn forwardable<'a>(
    headers: &'a HeaderMap,
    extra: &'a [String],
) -> impl Iterator<Item = (&'a HeaderName, &'a axum::http::HeaderValue)> {
    // `Connection` values that are not visible ASCII name nothing here, as before.
    let connection = || {
        headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::as_bytes)
    };
    headers.iter().filter(move |(name, _)| {
        let allowed = DEFAULT_FORWARD_HEADERS.contains(&name.as_str())
            || extra.iter().any(|e| e.eq_ignore_ascii_case(name.as_str()));
        allowed && !upstream::wire::connection_specific(name.as_str(), connection())
    })
}

fn printable(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}
