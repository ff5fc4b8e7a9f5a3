//! The HTTP client for upstream APIs: hyper-util's pooled client, without reqwest's per-call layers (request
//! builder, `Url` conversion, redirect policy, its own timeout service). The proxy needs none of them: it
//! follows no redirects, builds the upstream URI itself and keeps one deadline per call (see
//! [`Deadline`]), so what is left per call is the pool checkout and the HTTP/1 exchange.

use axum::body::Body;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The connect timeout for upstreams (each API's `timeout_secs` bounds the whole call).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an idle connection (to an upstream or to the OP) is kept for reuse: under the shortest keep-alive
/// timeout common among servers (Node's 5 s; node-oidc-provider and the demo API are Node). A server closes an
/// idle connection at its timeout, and a call sent on it at that moment fails though the server is well; a
/// POST (a refresh-token grant, an API's write) cannot be sent twice, so the BFF does not pick a connection
/// that old. A new connection costs a handshake only after a quiet spell.
pub const POOL_IDLE: Duration = Duration::from_secs(4);

/// Pooled client for every upstream: HTTP/1.1 over plain TCP (loopback upstreams) or TLS verified against the
/// Mozilla roots (webpki-roots, as reqwest's `rustls-tls` did), `TCP_NODELAY`, idle connections kept per host
/// without a cap, never a redirect followed.
pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, Body>;

/// Builds the [`UpstreamClient`].
pub fn upstream_client() -> UpstreamClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .expect("ring supports the default TLS versions")
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_timer(TokioTimer::new())
        .build(https)
}

/// Why a response body stopped early.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the upstream call's deadline passed")]
    Deadline,
    #[error("upstream body: {0}")]
    Upstream(#[from] hyper::Error),
}

/// The upstream's response body, cut off when the call's deadline passes: one timer per call covers the
/// response head and the whole body, as reqwest's request timeout did (a slow stream is not a way around an
/// API's `timeout_secs`).
pub struct Deadline {
    pub body: hyper::body::Incoming,
    pub sleep: Pin<Box<tokio::time::Sleep>>,
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(BodyError::from))),
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyError::Deadline))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
