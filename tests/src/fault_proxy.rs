//! A fault-injecting HTTP proxy in front of the dev OP, for the fault tests: the OP's issuer (every URL it hands
//! out, and what the BFF and the demo API call) is the proxy's address, so a test can take the OP "down" (the
//! port refuses connections), make one endpoint hang or fail, or make its answers uncacheable, while the OP
//! process itself keeps its state (grants, refresh tokens) and comes back unchanged. It can also hold the OP's
//! answer to a request it has already forwarded, so a test can act while the OP has acted but its caller waits.
//!
//! Start it before the stack, with the OP's own port, and pass [`FaultProxy::op_behind`] in
//! [`crate::stack::StackOptions::op_behind`].

use crate::free_port;
use crate::stack::OpBehind;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the proxy answers requests for one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Answer {
    /// Forward to the OP and pass its answer back.
    #[default]
    Forward,
    /// Forward, but mark the answer `Cache-Control: no-store` (so a cache of it goes stale as soon as allowed).
    ForwardUncacheable,
    /// Accept the request and never answer it (nor forward it): an OP that hangs.
    Hang,
    /// `503` without forwarding: the endpoint is down behind a load balancer.
    Unavailable,
    /// Forward at once, but hold the OP's answer until [`FaultProxy::release`]: the OP has acted (issued and
    /// rotated tokens) while its caller still waits, as when its answer is slow to arrive.
    HoldAnswer,
}

/// How long a hanging request is held: far longer than any client timeout in the tests.
const HANG: Duration = Duration::from_secs(120);

/// Headers about one connection, not the message (RFC 9110 7.6.1); `content-length` is set again by the server.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

struct Inner {
    op_port: u16,
    http: reqwest::Client,
    /// Answers by exact path; paths not listed are forwarded.
    answers: Mutex<HashMap<String, Answer>>,
    /// Requests seen, by path, whatever the answer.
    seen: Mutex<HashMap<String, u64>>,
    /// The body of every request, by path, in order (test tokens only; nothing here leaves the test).
    bodies: Mutex<HashMap<String, Vec<Vec<u8>>>>,
    /// Answers passed back to the caller, by path (after the OP answered and any hold ended).
    answered: Mutex<HashMap<String, u64>>,
    /// The OP's answers held by [`Answer::HoldAnswer`], by path, in order.
    held: Mutex<HashMap<String, Vec<Vec<u8>>>>,
    /// Counts [`FaultProxy::release`] calls: a held answer goes once the count passes its value at hold time.
    releases: tokio::sync::watch::Sender<u64>,
}

/// A running proxy on 127.0.0.1; stops when dropped.
pub struct FaultProxy {
    /// The port the OP's issuer names.
    pub port: u16,
    inner: Arc<Inner>,
    server: Option<Server>,
}

struct Server {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl FaultProxy {
    /// Listens on a free port and forwards to the OP on `op_port` (which need not be up yet).
    pub async fn start(op_port: u16) -> FaultProxy {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let mut proxy = FaultProxy {
            port: free_port(),
            inner: Arc::new(Inner {
                op_port,
                http,
                answers: Mutex::default(),
                seen: Mutex::default(),
                bodies: Mutex::default(),
                answered: Mutex::default(),
                held: Mutex::default(),
                releases: tokio::sync::watch::channel(0).0,
            }),
            server: None,
        };
        proxy.come_up().await;
        proxy
    }

    /// What the stack needs to put the OP behind this proxy.
    pub fn op_behind(&self) -> OpBehind {
        OpBehind {
            issuer_port: self.port,
            op_port: self.inner.op_port,
        }
    }

    /// Sets how requests for `path` (exact, e.g. `/token`, `/jwks`) are answered from now on.
    pub fn answer(&self, path: &str, answer: Answer) {
        self.inner
            .answers
            .lock()
            .unwrap()
            .insert(path.to_owned(), answer);
    }

    /// How many requests for `path` reached the proxy so far, whatever their answer.
    pub fn requests(&self, path: &str) -> u64 {
        self.inner
            .seen
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// The bodies of the requests for `path` so far, oldest first.
    pub fn request_bodies(&self, path: &str) -> Vec<Vec<u8>> {
        let bodies = self.inner.bodies.lock().unwrap();
        bodies.get(path).cloned().unwrap_or_default()
    }

    /// How many answers from the OP for `path` have been passed back to their callers so far.
    pub fn answered(&self, path: &str) -> u64 {
        let answered = self.inner.answered.lock().unwrap();
        answered.get(path).copied().unwrap_or(0)
    }

    /// The OP's answers for `path` held by [`Answer::HoldAnswer`] so far (released or not), oldest first.
    pub fn held_answers(&self, path: &str) -> Vec<Vec<u8>> {
        let held = self.inner.held.lock().unwrap();
        held.get(path).cloned().unwrap_or_default()
    }

    /// Lets every answer held so far go to its caller.
    pub fn release(&self) {
        self.inner.releases.send_modify(|n| *n += 1);
    }

    /// The OP goes down: the port stops listening (connections are refused) and idle connections are closed.
    /// Returns once a new connection is refused.
    pub async fn go_down(&mut self) {
        let server = self.server.take().expect("the proxy is up");
        let _ = server.stop.send(());
        // The connections' tasks end on their own; the accept loop is what must be gone.
        drop(server.task);
        let port = self.port;
        crate::wait_for(
            "the proxy to refuse connections",
            Duration::from_secs(10),
            || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_err()
                    .then_some(())
            },
        )
        .await;
    }

    /// The OP is reachable again, on the same port.
    pub async fn come_up(&mut self) {
        assert!(self.server.is_none(), "the proxy is already up");
        let port = self.port;
        let listener = crate::wait_for(
            "the proxy's port to be free again",
            Duration::from_secs(10),
            || async move {
                tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .ok()
            },
        )
        .await;
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(self.inner.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        self.server = Some(Server { task, stop });
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.task.abort();
        }
    }
}

async fn forward(State(proxy): State<Arc<Inner>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    *proxy.seen.lock().unwrap().entry(path.clone()).or_default() += 1;
    let answer = proxy
        .answers
        .lock()
        .unwrap()
        .get(&path)
        .copied()
        .unwrap_or_default();
    match answer {
        Answer::Hang => {
            tokio::time::sleep(HANG).await;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        Answer::Unavailable => return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response(),
        Answer::Forward | Answer::ForwardUncacheable | Answer::HoldAnswer => {}
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    proxy
        .bodies
        .lock()
        .unwrap()
        .entry(path.clone())
        .or_default()
        .push(body.to_vec());
    let target = format!(
        "http://127.0.0.1:{}{}",
        proxy.op_port,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    // The Host header goes along unchanged: the OP sees the issuer's address, as without the proxy.
    let mut outgoing = proxy.http.request(parts.method, target).body(body);
    for (name, value) in parts.headers.iter().filter(|(n, _)| end_to_end(n)) {
        outgoing = outgoing.header(name, value);
    }
    let Ok(upstream) = outgoing.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut response = Response::builder().status(upstream.status());
    for (name, value) in upstream.headers().iter().filter(|(n, _)| end_to_end(n)) {
        if answer == Answer::ForwardUncacheable && name == header::CACHE_CONTROL {
            continue;
        }
        response = response.header(name, value);
    }
    if answer == Answer::ForwardUncacheable {
        response = response.header(header::CACHE_CONTROL, "no-store");
    }
    let Ok(bytes) = upstream.bytes().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    if answer == Answer::HoldAnswer {
        // Subscribed before the answer is shown as held, so a release right after that is never missed.
        let mut releases = proxy.releases.subscribe();
        let at_hold = *releases.borrow_and_update();
        proxy
            .held
            .lock()
            .unwrap()
            .entry(path.clone())
            .or_default()
            .push(bytes.to_vec());
        let released = releases.wait_for(|n| *n > at_hold);
        if tokio::time::timeout(HANG, released).await.is_err() {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    *proxy.answered.lock().unwrap().entry(path).or_default() += 1;
    response
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

fn end_to_end(name: &HeaderName) -> bool {
    !HOP_BY_HOP.contains(&name.as_str())
}
