//! Upstream APIs that misbehave on purpose, for the proxy's failure answers (the demo API is the well-behaved
//! one).

use axum::routing::any;
use std::time::Duration;

/// An upstream on 127.0.0.1 that answers every request only after `delay`: longer than an API's
/// `timeout_secs`, it shows the BFF's 504. Stops when dropped.
pub struct SlowUpstream {
    pub port: u16,
    server: tokio::task::JoinHandle<()>,
}

impl SlowUpstream {
    pub async fn start(delay: Duration) -> SlowUpstream {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", crate::free_port()))
            .await
            .expect("slow upstream port");
        let port = listener.local_addr().expect("local address").port();
        let app = axum::Router::new().route(
            "/{*rest}",
            any(move || async move {
                tokio::time::sleep(delay).await;
                "late"
            }),
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SlowUpstream { port, server }
    }

    /// The base URL to configure as an API's `url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for SlowUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// An upstream on 127.0.0.1 that answers every request with the request headers it received, as a JSON object
/// of lower-case name → values (in order), and adds response headers for this hop only (`Connection: x-hop`,
/// `x-hop`, `keep-alive`) next to an end-to-end one (`x-end-to-end`): what reaches it, and what comes back,
/// shows the proxy's header rules. Stops when dropped.
pub struct EchoUpstream {
    pub port: u16,
    server: tokio::task::JoinHandle<()>,
}

impl EchoUpstream {
    pub async fn start() -> EchoUpstream {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", crate::free_port()))
            .await
            .expect("echo upstream port");
        let port = listener.local_addr().expect("local address").port();
        let echo = |headers: axum::http::HeaderMap| async move {
            let mut seen = serde_json::Map::new();
            for (name, value) in &headers {
                let values = seen
                    .entry(name.as_str().to_owned())
                    .or_insert_with(|| serde_json::Value::Array(Vec::new()));
                if let serde_json::Value::Array(values) = values {
                    values.push(String::from_utf8_lossy(value.as_bytes()).into());
                }
            }
            (
                [
                    ("connection", "x-hop"),
                    ("x-hop", "for the BFF only"),
                    ("keep-alive", "timeout=5"),
                    ("x-end-to-end", "for the browser"),
                ],
                axum::Json(serde_json::Value::Object(seen)),
            )
        };
        let app = axum::Router::new()
            .route("/", any(echo))
            .route("/{*rest}", any(echo));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        EchoUpstream { port, server }
    }

    /// The base URL to configure as an API's `url` (or as the BFF behind nginx).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for EchoUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// An upstream on 127.0.0.1 that answers the first request on each connection (keeping it alive) and closes
/// the connection when a second request arrives on it, without an answer: the race of a keep-alive timeout
/// that fires as the client reuses the connection, made certain. Counts what it received by method. Stops when
/// dropped.
pub struct ClosingUpstream {
    pub port: u16,
    received: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

impl ClosingUpstream {
    pub async fn start() -> ClosingUpstream {
        use tokio::io::AsyncWriteExt;
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = received.clone();
        let (port, server) = accept_numbered("closing upstream", move |mut stream, connection| {
            let log = log.clone();
            async move {
                let mut buf = Vec::new();
                for request in 1.. {
                    let Some((method, _, _)) = read_request(&mut stream, &mut buf).await else {
                        return;
                    };
                    log.lock().unwrap().push(method);
                    if request > 1 {
                        return;
                    }
                    let body = format!("{{\"connection\":{connection}}}");
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            }
        })
        .await;
        ClosingUpstream {
            port,
            received,
            server,
        }
    }

    /// The base URL to configure as an API's `url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The methods of the requests received so far, in order.
    pub fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for ClosingUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// What [`WireUpstream`] received: the connection it came on (numbered from 1), the method, the path and the
/// body (de-chunked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub connection: u32,
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

/// An upstream on 127.0.0.1 that speaks HTTP/1.1 byte by byte as scripted per path, for the proxy's reading of
/// every framing an upstream may use: `/chunked` (two chunks 50 ms apart, an extension and a trailer),
/// `/until-close` (no length: the body ends when the connection does), `/interim` (100 and 103 before the
/// answer), `/no-content` (204), `/head` (a HEAD answer with a length and no body), `/two-lengths` (conflicting
/// `Content-Length`s), `/short` (closes 3 bytes into a 10-byte body), `/bad-chunk` (a chunk size that is not
/// hex), `/early` (413 as soon as the head is read; the body is never read and the connection is held open,
/// as a server may answer early: RFC 9112 9.6), and any other path: 200 with the request's body echoed. Keeps each connection alive unless the script
/// says otherwise. Stops when dropped.
pub struct WireUpstream {
    pub port: u16,
    received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    server: tokio::task::JoinHandle<()>,
}

impl WireUpstream {
    pub async fn start() -> WireUpstream {
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = received.clone();
        let (port, server) = accept_numbered("wire upstream", move |stream, connection| {
            wire_connection(stream, connection, log.clone())
        })
        .await;
        WireUpstream {
            port,
            received,
            server,
        }
    }

    /// The base URL to configure as an API's `url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for WireUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Listens on a free port of 127.0.0.1 and runs `serve` on each accepted connection, numbered from 1, in a task
/// of its own; the port and the accepting task (abort it to stop listening).
async fn accept_numbered<F, Fut>(what: &str, serve: F) -> (u16, tokio::task::JoinHandle<()>)
where
    F: Fn(tokio::net::TcpStream, u32) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", crate::free_port()))
        .await
        .unwrap_or_else(|e| panic!("{what} port: {e}"));
    let port = listener.local_addr().expect("local address").port();
    let server = tokio::spawn(async move {
        let mut connections = 0u32;
        while let Ok((stream, _)) = listener.accept().await {
            connections += 1;
            tokio::spawn(serve(stream, connections));
        }
    });
    (port, server)
}

async fn wire_connection(
    mut stream: tokio::net::TcpStream,
    connection: u32,
    log: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
) {
    use tokio::io::AsyncWriteExt;
    let mut buf = Vec::new();
    loop {
        let Some((method, path, body)) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        log.lock().unwrap().push(Received {
            connection,
            method: method.clone(),
            path: path.clone(),
            body: body.clone(),
        });
        let (parts, keep): (Vec<Vec<u8>>, bool) = match path.as_str() {
            "/chunked" => (
                vec![
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5;note=x\r\nhello\r\n".to_vec(),
                    b"7\r\n, world\r\n0\r\nx-trailer: t\r\n\r\n".to_vec(),
                ],
                true,
            ),
            "/until-close" => (vec![b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil ".to_vec(), b"close".to_vec()], false),
            "/interim" => (
                vec![b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok".to_vec()],
                true,
            ),
            "/no-content" => (vec![b"HTTP/1.1 204 No Content\r\nx-seen: 1\r\n\r\n".to_vec()], true),
            "/head" => (vec![b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n".to_vec()], true),
            "/two-lengths" => (
                vec![b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc".to_vec()],
                false,
            ),
            "/short" => (vec![b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc".to_vec()], false),
            "/early" => {
                let answer = b"HTTP/1.1 413 Content Too Large\r\ncontent-length: 8\r\n\r\ntoo big!";
                if stream.write_all(answer).await.is_ok() {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                return;
            }
            "/bad-chunk" => (
                vec![b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n".to_vec()],
                false,
            ),
            _ => {
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                (vec![head.into_bytes(), body], true)
            }
        };
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if stream.write_all(part).await.is_err() {
                return;
            }
        }
        if !keep {
            return;
        }
    }
}

/// One request from `stream` (method, path, body: by `Content-Length` or de-chunked); `None` at the end.
async fn read_request(
    stream: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> Option<(String, String, Vec<u8>)> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        fill(stream, buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    buf.drain(..head_end);
    let mut words = head.split(' ');
    let (method, path) = (words.next()?.to_owned(), words.next()?.to_owned());
    if path == "/early" {
        return Some((method, path, Vec::new()));
    }
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let line_end = loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                fill(stream, buf).await?;
            };
            let size =
                usize::from_str_radix(std::str::from_utf8(&buf[..line_end]).ok()?, 16).ok()?;
            buf.drain(..line_end + 2);
            while buf.len() < size + 2 {
                fill(stream, buf).await?;
            }
            body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
            if size == 0 {
                return Some((method, path, body));
            }
        }
    }
    let length = header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < length {
        fill(stream, buf).await?;
    }
    body.extend(buf.drain(..length));
    Some((method, path, body))
}

async fn fill(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    use tokio::io::AsyncReadExt;
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}
