//! The BFF's HTTP server: its own accept loop instead of `axum::serve`, which sets no timer and so lets a client
//! hold a connection forever by sending a request head one byte at a time, or not at all (slowloris). Here every
//! connection gets hyper's header-read timeout (`server.header_read_timeout_secs`); `/bff` requests also get a
//! whole-request deadline ([`bff_deadline`]). SIGINT/SIGTERM (or the caller's `shutdown`) stops accepting,
//! closes idle connections and lets in-flight requests finish, as `axum::serve`'s graceful shutdown does.
//!
//! HTTP/1.1 only: browsers speak HTTP/2 only over TLS, which a reverse proxy or load balancer terminates, and
//! those speak HTTP/1.1 to their upstream. Cleartext HTTP/2 would reach no user, and hyper-util's HTTP/1-or-2
//! detection reads the first bytes without any time limit, which would reopen the hole this module closes.

use crate::config::Config;
use crate::error::AppError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// The bound sockets: `listen`, and `metrics_listen` when configured.
pub struct Listeners {
    pub main: TcpListener,
    pub metrics: Option<TcpListener>,
}

/// A listen address that could not be bound, named by its setting.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} (`{field}`): {source}")]
pub struct BindError {
    pub field: &'static str,
    pub addr: SocketAddr,
    pub source: io::Error,
}

impl Listeners {
    /// Binds `listen` and `metrics_listen` (if set), so a port in use fails the start rather than a request.
    pub async fn bind(config: &Config) -> Result<Listeners, BindError> {
        let bind = |field, addr| async move {
            TcpListener::bind(addr).await.map_err(|source| BindError {
                field,
                addr,
                source,
            })
        };
        let main = first_listener(config.listen).map_err(|source| BindError {
            field: "listen",
            addr: config.listen,
            source,
        })?;
        let metrics = match config.metrics_listen {
            Some(addr) => Some(bind("metrics_listen", addr).await?),
            None => None,
        };
        Ok(Listeners { main, metrics })
    }
}

/// The first socket on `addr`. The port must be free: `SO_REUSEPORT` alone would let this BFF share a port that
/// another BFF (of the same user) still serves, so the port is first bound once without it, which fails while
/// anything listens there. Port 0 is an unused port by definition.
fn first_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    if addr.port() != 0 {
        drop(std::net::TcpListener::bind(addr)?);
    }
    reuse_port_listener(addr)
}

/// A listener on `addr` with `SO_REUSEPORT`, so that [`run_on_threads`] can give each serving thread a socket
/// of its own on the same port: the kernel then spreads new connections over the threads by their addresses'
/// hash. With one shared socket, the thread that wakes first accepts a whole burst of connections, and as
/// keep-alive connections (from a proxy's upstream pool, say) stay where they were accepted, one core could serve
/// them all while the others idle. Linux lets only sockets of the same user share the port.
fn reuse_port_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    // The backlog `TcpListener::bind` uses.
    socket.listen(1024)
}

/// Serves the BFF ([`crate::app::router`]) on `listeners.main` and the operational endpoints
/// ([`crate::app::ops_router`]) on `listeners.metrics`, until `shutdown` resolves; then finishes in-flight
/// requests on both and returns. Everything runs on the caller's runtime (the in-process test servers); the
/// binary uses [`run_on_threads`].
pub async fn run(
    state: AppState,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let header_read_timeout = header_read_timeout(&state);
    let stop = Stop::on(shutdown);
    let main = serve(
        listeners.main,
        crate::app::router(state.clone()),
        header_read_timeout,
        stop.clone().wait(),
    );
    let (main, ops) = tokio::join!(main, serve_ops(state, listeners.metrics, stop));
    main.and(ops)
}

/// How many threads serve `listen` in [`run_on_threads`]: one per core the process may use.
pub fn serving_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// As [`run`], but `listen` is served by [`serving_threads`] threads, each with its own single-threaded
/// runtime and its own socket on the port ([`reuse_port_listener`]; nginx's `listen … reuseport`): a request's
/// handler, its OP and upstream connections' tasks (see [`crate::per_thread::PerThread`]) and their I/O stay on
/// one thread, so a call wakes no other thread and no task moves between cores. The operational endpoints and
/// the background work (discovery, the store's connections) stay on the caller's runtime.
pub async fn run_on_threads(
    state: AppState,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let header_read_timeout = header_read_timeout(&state);
    let stop = Stop::on(shutdown);
    let addr = listeners.main.local_addr()?;
    let main = listeners.main.into_std()?;
    let app = crate::app::router(state.clone());
    let mut threads = Vec::new();
    for index in 0..serving_threads() {
        let listener = match index {
            0 => main.try_clone()?,
            _ => sibling_listener(addr, &main)?,
        };
        let (app, stop) = (app.clone(), stop.clone());
        let (done, finished) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("bff-serve-{index}"))
            .spawn(move || {
                crate::per_thread::enter_serving_thread(index);
                let served = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .and_then(|runtime| {
                        runtime.block_on(async move {
                            let listener = TcpListener::from_std(listener)?;
                            serve(listener, app, header_read_timeout, stop.wait()).await
                        })
                    });
                let _ = done.send(served);
            })?;
        threads.push(finished);
    }
    drop(main);
    let serving = async {
        for finished in threads {
            // A dropped sender is a thread that panicked outside any handler (handlers' panics are caught).
            finished
                .await
                .map_err(|_| io::Error::other("a serving thread ended without an answer"))??;
        }
        Ok(())
    };
    let (serving, ops) = tokio::join!(serving, serve_ops(state, listeners.metrics, stop));
    serving.and(ops)
}

/// Another socket on `addr` for one more serving thread; if the port cannot be shared (the listener was bound
/// without `SO_REUSEPORT`), the threads share `main` instead, which serves the same, only less evenly.
fn sibling_listener(
    addr: SocketAddr,
    main: &std::net::TcpListener,
) -> io::Result<std::net::TcpListener> {
    match reuse_port_listener(addr).and_then(TcpListener::into_std) {
        Ok(own) => Ok(own),
        Err(e) => {
            tracing::warn!(error = %e, %addr, "serving threads share one socket");
            main.try_clone()
        }
    }
}

/// `metrics_listen`'s server, when one is configured.
async fn serve_ops(state: AppState, listener: Option<TcpListener>, stop: Stop) -> io::Result<()> {
    let Some(listener) = listener else {
        return Ok(());
    };
    let header_read_timeout = header_read_timeout(&state);
    // hyper's body as axum's, as axum's `Router` converts it.
    let ops = TowerToHyperService::new(
        crate::app::ops_router(state)
            .map_request(|request: hyper::Request<Incoming>| request.map(Body::new)),
    );
    serve(listener, ops, header_read_timeout, stop.wait()).await
}

/// `server.header_read_timeout_secs`, for every listener alike.
fn header_read_timeout(state: &AppState) -> Duration {
    Duration::from_secs(state.config.server.header_read_timeout_secs)
}

/// The shutdown signal, shared by every accept loop (on any thread).
#[derive(Clone)]
struct Stop(tokio::sync::watch::Receiver<bool>);

impl Stop {
    /// Resolves its waiters once `shutdown` has.
    fn on(shutdown: impl Future<Output = ()> + Send + 'static) -> Stop {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        Stop(stopped)
    }

    async fn wait(mut self) {
        // An error means the sender is gone, which only happens after it sent.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Serves `app` on `listener` with the header-read timeout until `shutdown`, then waits for open connections
/// to finish their in-flight request (idle ones are closed at once).
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    S: hyper::service::Service<hyper::Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small JSON answers: sent at once rather than held back for more data to batch.
        let _ = stream.set_nodelay(true);
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), app.clone()));
        tokio::spawn(async move {
            // Client gone, header timeout, malformed request: the connection's own business, not the server's.
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A failed `accept`: a connection reset before it was accepted is skipped; anything else (out of file
/// descriptors) is logged and retried after a pause, so the loop does not spin while the condition lasts.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Middleware: a `/bff/...` request not answered within `server.request_timeout_secs` gets 504
/// `request_timeout` (and its handler is dropped). Everything else passes untouched: `/api` calls stream and
/// have their API's own timeout, the SPA's files are served from disk.
pub async fn bff_deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/bff/") {
        return next.run(request).await;
    }
    let limit = Duration::from_secs(state.config.server.request_timeout_secs);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::RequestTimeout.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_port_someone_listens_on_fails_the_start_even_with_reuseport() {
        let first = first_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let second = first_listener(addr).map(|_| ()).unwrap_err();
        assert_eq!(second.kind(), io::ErrorKind::AddrInUse);
    }

    #[tokio::test]
    async fn serving_threads_get_a_socket_on_the_port_or_share_the_first() {
        let first = first_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let sibling = sibling_listener(addr, &first.into_std().unwrap()).unwrap();
        assert_eq!(sibling.local_addr().unwrap(), addr);
        // A listener bound without SO_REUSEPORT (an embedder's) cannot get siblings: it is shared instead.
        let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let shared = sibling_listener(plain.local_addr().unwrap(), &plain).unwrap();
        assert_eq!(shared.local_addr().unwrap(), plain.local_addr().unwrap());
    }
}
