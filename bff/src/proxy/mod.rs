//! `/api/<name>/<path>`: forwards to the configured upstream with the session's access token. The browser
//! never sees the token; the upstream never sees the browser's cookies.

pub mod catalog;
mod path;

use crate::error::AppError;
use crate::flow::current_session;
use crate::session::refresh::{token_for, Which};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName};
use axum::response::Response;
use futures_util::TryStreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Headers that describe one connection, not the message (RFC 9110 7.6.1), plus what the BFF owns.
const NOT_FORWARDED: [&str; 12] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "cookie",
    "authorization",
    "content-length",
];

/// Forwards one request. 401 JSON without a session (never a redirect), 404 JSON for an unknown API.
pub async fn forward(
    State(state): State<AppState>,
    Path((name, rest)): Path<(String, String)>,
    request: Request,
) -> Result<Response, AppError> {
    let api = state
        .config
        .apis
        .get(&name)
        .ok_or_else(|| AppError::UnknownApi(printable(&name)))?;
    if !api
        .methods
        .iter()
        .any(|m| m.eq_ignore_ascii_case(request.method().as_str()))
    {
        return Err(AppError::MethodNotAllowed);
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|len| len > api.max_body_bytes) {
        return Err(AppError::PayloadTooLarge);
    }
    let target = path::join(&api.url, &api.path_prefix, &rest, request.uri().query())?;
    let access_token = if api.token {
        let (id, session) = current_session(&state, request.headers()).await?;
        // An upstream with a resource or scopes of its own gets its own token, obtained once and cached.
        let which = if api.own_token() {
            Which::Upstream(&name, api)
        } else {
            Which::Main
        };
        Some(token_for(&state, &id, session, which).await?)
    } else {
        None
    };

    let (parts, body) = request.into_parts();
    // Bodies stream through; past the limit the stream errors and the upstream request is aborted. The flag tells
    // that failure (the browser's, 413) from the upstream's (502).
    let limited = http_body_util::Limited::new(body, api.max_body_bytes);
    let too_large = Arc::new(AtomicBool::new(false));
    let flag = too_large.clone();
    let stream = http_body_util::BodyDataStream::new(limited).inspect_err(move |e| {
        if e.is::<http_body_util::LengthLimitError>() {
            flag.store(true, Ordering::Relaxed);
        }
    });
    let mut outgoing = state
        .api_http
        .request(parts.method.clone(), target)
        .timeout(Duration::from_secs(api.timeout_secs))
        .body(reqwest::Body::wrap_stream(stream));
    if let Some(token) = access_token {
        outgoing = outgoing.bearer_auth(token);
    }
    for (name, value) in forwardable(&parts.headers) {
        outgoing = outgoing.header(name, value);
    }
    let started = std::time::Instant::now();
    let sent = outgoing.send().await;
    let class = match &sent {
        Ok(r) if r.status().is_success() => "2xx",
        Ok(r) if r.status().is_redirection() => "3xx",
        Ok(r) if r.status().is_client_error() => "4xx",
        Ok(_) => "5xx",
        Err(_) => "error",
    };
    state.metrics.proxied(&name, class, started.elapsed());
    let upstream = sent.map_err(|e| {
        if too_large.load(Ordering::Relaxed) {
            AppError::PayloadTooLarge
        } else if e.is_timeout() {
            AppError::UpstreamTimeout
        } else {
            AppError::UpstreamUnavailable
        }
    })?;

    let mut response = Response::builder().status(upstream.status());
    for (name, value) in upstream.headers() {
        if !NOT_FORWARDED.contains(&name.as_str()) && name != header::SET_COOKIE {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from_stream(upstream.bytes_stream()))
        .map_err(|_| AppError::UpstreamUnavailable)
}

fn forwardable(
    headers: &HeaderMap,
) -> impl Iterator<Item = (&HeaderName, &axum::http::HeaderValue)> {
    headers.iter().filter(|(name, _)| {
        !NOT_FORWARDED.contains(&name.as_str()) && name.as_str() != shared::api::CSRF_HEADER
    })
}

fn printable(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}
