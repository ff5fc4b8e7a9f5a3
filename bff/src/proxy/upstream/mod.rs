//! The HTTP/1.1 client the proxy calls upstream APIs with: a pool of connections per serving thread, used from
//! the task that serves the browser's request.
//!
//! Why not hyper-util's pooled client, which this replaced: it drives every connection from a task of its own and
//! hands each request to it, and each response body back, over channels, with a wake-up each way. That hand-off
//! was most of the proxy's user-space time per call (BENCHMARKS.md §3: hyper's client cost about 8 µs of user
//! CPU per call in a minimal proxy on this machine, against 3.7 µs for the rest of that proxy). Here a call
//! writes its request head with one `write` on a connection it has taken from the pool, parses the answer's head
//! where it reads it, and the response body reads the same connection as the browser's answer is sent, so an
//! answer that arrives in one segment costs one read; the connection is back in the pool when its last byte is
//! read. The wire rules are in [`wire`], each with a test.
//!
//! HTTP/1.1 only (browsers' HTTP/2 ends at the BFF; upstream APIs are reached as a reverse proxy reaches them),
//! no redirects followed, no upgrades.

mod body;
mod conn;
pub mod wire;

pub use body::{BodyError, Deadline, UpstreamBody};

use axum::body::Body;
use axum::http::{Request, Response};
use body::Lease;
use bytes::BytesMut;
use conn::{Conn, Origin};
use http_body::Body as _;
use http_body_util::BodyExt;
use std::io::{self, ErrorKind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use wire::{RequestBody, ResponseHead};

/// The connect timeout for upstreams (each API's `timeout_secs` bounds the whole call).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an idle connection (to an upstream or to the OP) is kept for reuse: under the shortest keep-alive
/// timeout common among servers (Node's 5 s; node-oidc-provider and the demo API are Node). A server closes an
/// idle connection at its timeout, and a call sent on it at that moment fails though the server is well; a
/// POST (a refresh-token grant, an API's write) cannot be sent twice, so the BFF does not pick a connection
/// that old. A new connection costs a handshake only after a quiet spell.
pub const POOL_IDLE: Duration = Duration::from_secs(4);

/// The upstream client of one serving thread (see [`crate::per_thread`]): its connections are registered with
/// that thread's runtime and used only there.
pub struct Upstreams {
    pool: Arc<Pool>,
    tls: tokio_rustls::TlsConnector,
}

impl Default for Upstreams {
    fn default() -> Self {
        Upstreams {
            pool: Arc::new(Pool::default()),
            tls: conn::tls_connector(),
        }
    }
}

/// Why an upstream call failed before its answer's head arrived. The texts name no header, URL or token.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the upstream URL is not an absolute http or https URL")]
    Url,
    #[error("cannot connect: {0}")]
    Connect(#[source] io::Error),
    #[error("the connection closed before the answer began")]
    Closed {
        /// Whether the connection had carried a call before.
        reused: bool,
        #[source]
        cause: Option<io::Error>,
    },
    #[error("upstream I/O: {0}")]
    Io(#[source] io::Error),
    #[error(transparent)]
    Wire(#[from] wire::WireError),
    #[error("the request body failed: {0}")]
    Body(#[source] axum::BoxError),
}

impl Upstreams {
    /// Sends `request` (an absolute `http`/`https` URI; the body streamed, with `Content-Length` when its size is
    /// known, else chunked) and returns the answer once its head has arrived.
    pub async fn send(&self, request: Request<Body>) -> Result<Response<UpstreamBody>, SendError> {
        let (parts, body) = request.into_parts();
        let tls = match parts.uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(SendError::Url),
        };
        let authority = parts.uri.authority().ok_or(SendError::Url)?;
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        self.pool.sweep_every_second();
        let slot = self.pool.slot(tls, authority.host(), port);
        let (conn, buf, reused) = match self.pool.take(slot) {
            Some(idle) => (idle.conn, idle.buf, true),
            None => {
                let origin = Origin {
                    tls,
                    host: authority.host().to_owned(),
                    port,
                };
                let conn = conn::connect(&origin, &self.tls)
                    .await
                    .map_err(SendError::Connect)?;
                (conn, BytesMut::with_capacity(body::READ_AHEAD), false)
            }
        };
        let mut lease = Lease {
            conn,
            buf,
            pool: self.pool.clone(),
            slot,
        };

        let framing = if body.is_end_stream() {
            RequestBody::None
        } else {
            body.size_hint()
                .exact()
                .map_or(RequestBody::Chunked, RequestBody::Length)
        };
        let mut head = Vec::with_capacity(1024);
        wire::encode_request_head(
            &mut head,
            &parts.method,
            &parts.uri,
            &parts.headers,
            framing,
        );
        let (head, reusable) = if framing == RequestBody::None {
            write_request(&mut lease.conn, head, body, framing)
                .await
                .map_err(|e| match e {
                    Written::Body(e) => SendError::Body(e),
                    Written::Io(e) => closed_or_io(e, reused, false),
                })?;
            let (conn, buf) = (&mut lease.conn, &mut lease.buf);
            (read_head(conn, buf, &parts.method, reused).await?, true)
        } else {
            send_body(&mut lease, head, body, framing, &parts.method, reused).await?
        };
        let mut response = Response::new(UpstreamBody::new(
            head.framing,
            lease,
            reusable && head.reusable,
        ));
        *response.status_mut() = head.status;
        *response.headers_mut() = head.headers;
        Ok(response)
    }
}

/// How writing a request failed.
enum Written {
    /// The browser's body stream failed (too large, cut off).
    Body(axum::BoxError),
    Io(io::Error),
}

/// Sends a request with a body and reads the answer's head, watching for the answer while the body goes out:
/// an upstream may answer before it has read the whole body (413, 401, a redirect) and then neither read the
/// rest nor close, as RFC 9112 9.6 lets a server do. The answer then goes to the browser at once and the rest of
/// the body is not sent, instead of the call stalling until the API's timeout with both sides' buffers full. The
/// second value says whether the connection may be reused: not when the whole request did not go out.
async fn send_body(
    lease: &mut Lease,
    head: Vec<u8>,
    body: Body,
    framing: RequestBody,
    method: &axum::http::Method,
    reused: bool,
) -> Result<(ResponseHead, bool), SendError> {
    let (mut reader, mut writer) = tokio::io::split(&mut lease.conn);
    let buf = &mut lease.buf;
    let write = write_request(&mut writer, head, body, framing);
    let read = read_head(&mut reader, buf, method, reused);
    tokio::pin!(write, read);
    tokio::select! {
        biased;
        written = &mut write => match written {
            Ok(()) => Ok((read.await?, true)),
            Err(Written::Body(e)) => Err(SendError::Body(e)),
            // An upstream may answer (413, say) and close before it has read the whole body: its answer is
            // worth more to the browser than the write error.
            Err(Written::Io(e)) => {
                let answered = read.await.map_err(|_| closed_or_io(e, reused, false))?;
                Ok((answered, false))
            }
        },
        answered = &mut read => Ok((answered?, false)),
    }
}

/// Writes the request head, then the body as it arrives, framed as `framing` says.
async fn write_request(
    conn: &mut (impl AsyncWrite + Unpin),
    head: Vec<u8>,
    mut body: Body,
    framing: RequestBody,
) -> Result<(), Written> {
    if framing == RequestBody::None {
        conn.write_all(&head).await.map_err(Written::Io)?;
        return conn.flush().await.map_err(Written::Io);
    }
    let mut sent = 0u64;
    // The head goes out with the first piece of the body.
    let mut pending = head;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Written::Body(e.into()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers are not forwarded
        };
        if data.is_empty() {
            continue;
        }
        sent += data.len() as u64;
        if let RequestBody::Length(n) = framing {
            if sent > n {
                return Err(Written::Body(
                    "the body is longer than its Content-Length".into(),
                ));
            }
            pending.extend_from_slice(&data);
        } else {
            wire::encode_chunk_start(&mut pending, data.len());
            pending.extend_from_slice(&data);
            pending.extend_from_slice(b"\r\n");
        }
        conn.write_all(&pending).await.map_err(Written::Io)?;
        pending.clear();
    }
    match framing {
        RequestBody::Length(n) if sent != n => {
            return Err(Written::Body(
                "the body is shorter than its Content-Length".into(),
            ))
        }
        RequestBody::Chunked => pending.extend_from_slice(wire::LAST_CHUNK),
        _ => {}
    }
    conn.write_all(&pending).await.map_err(Written::Io)?;
    conn.flush().await.map_err(Written::Io)
}

/// Reads until the answer's head is complete and parses it; the body's first bytes stay in `buf`.
async fn read_head(
    conn: &mut (impl AsyncRead + Unpin),
    buf: &mut BytesMut,
    method: &axum::http::Method,
    reused: bool,
) -> Result<ResponseHead, SendError> {
    let mut began = !buf.is_empty();
    loop {
        if !buf.is_empty() {
            if let Some(head) = wire::parse_response_head(buf, method)? {
                return Ok(head);
            }
        }
        buf.reserve(body::READ_AHEAD);
        match conn.read_buf(buf).await {
            Ok(0) if began => {
                return Err(SendError::Io(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "the connection closed inside the answer's head",
                )))
            }
            Ok(0) => {
                return Err(SendError::Closed {
                    reused,
                    cause: None,
                })
            }
            Ok(_) => began = true,
            Err(e) => return Err(closed_or_io(e, reused, began)),
        }
    }
}

/// An I/O error as a [`SendError`]: a connection reset or closed before any answer is [`SendError::Closed`].
fn closed_or_io(e: io::Error, reused: bool, began: bool) -> SendError {
    let closed = matches!(
        e.kind(),
        ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
    );
    if closed && !began {
        SendError::Closed {
            reused,
            cause: Some(e),
        }
    } else {
        SendError::Io(e)
    }
}

/// The idle connections of one serving thread, by origin. Origins are few (the configured APIs), so they are
/// searched in a list; a slot, once made, keeps its index.
#[derive(Default)]
pub(crate) struct Pool {
    // Uncontended: each serving thread has its own pool (threads that are not serving threads share the first).
    slots: Mutex<Vec<(Origin, Vec<Idle>)>>,
    /// Whether [`Pool::sweep_every_second`] has started.
    sweeping: std::sync::atomic::AtomicBool,
}

/// A connection waiting for its next call.
struct Idle {
    conn: Conn,
    buf: BytesMut,
    since: Instant,
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Origin, Vec<Idle>)>> {
        // A panic while holding the lock leaves only a list of connections behind: still usable.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The index of the origin's slot, made on first use.
    fn slot(&self, tls: bool, host: &str, port: u16) -> usize {
        let mut slots = self.lock();
        if let Some(i) = slots.iter().position(|(o, _)| o.matches(tls, host, port)) {
            return i;
        }
        let origin = Origin {
            tls,
            host: host.to_owned(),
            port,
        };
        slots.push((origin, Vec::new()));
        slots.len() - 1
    }

    /// The most recently used idle connection of the slot that is still open and not too old to trust.
    fn take(&self, slot: usize) -> Option<Idle> {
        let mut slots = self.lock();
        let idle = &mut slots[slot].1;
        while let Some(mut candidate) = idle.pop() {
            if candidate.since.elapsed() >= POOL_IDLE {
                // The rest are older still.
                idle.clear();
                return None;
            }
            if !candidate.conn.is_closed() {
                return Some(candidate);
            }
        }
        None
    }

    /// Puts a connection whose exchange is complete back for the next call.
    fn put(&self, slot: usize, conn: Conn, buf: BytesMut) {
        self.lock()[slot].1.push(Idle {
            conn,
            buf,
            since: Instant::now(),
        });
    }

    /// Closes the connections, of every origin, idle too long to be used again.
    fn sweep(&self) {
        let now = Instant::now();
        for (_, idle) in self.lock().iter_mut() {
            // Oldest first: the expired ones are a prefix.
            let expired = idle
                .iter()
                .take_while(|i| now.duration_since(i.since) >= POOL_IDLE)
                .count();
            idle.drain(..expired);
        }
    }

    /// Starts [`Pool::sweep`] once a second on the calling runtime, the first time this is called; it ends with
    /// the pool. Without it, an origin no longer called would keep its idle connections (closed by the upstream at
    /// its own timeout, still open here) until the process ends. The tick also keeps the runtime's timer wheel
    /// from being empty between calls: with no timer left after a call's deadline, re-arming hyper's header-read
    /// timeout for the browser's next request made the timer driver wake its thread through the eventfd after
    /// every call (one `write` and one more `epoll_wait` per call, counted with `scripts/bench-proxy-ab -c`);
    /// hyper-util's pooled client, which this replaced, had an idle timer of its own too.
    fn sweep_every_second(self: &Arc<Pool>) {
        use std::sync::atomic::Ordering::Relaxed;
        if self.sweeping.load(Relaxed) || self.sweeping.swap(true, Relaxed) {
            return;
        }
        let pool = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match pool.upgrade() {
                    Some(pool) => pool.sweep(),
                    None => return,
                }
            }
        });
    }
}
