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
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", crate::free_port()))
            .await
            .expect("closing upstream port");
        let port = listener.local_addr().expect("local address").port();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = received.clone();
        let server = tokio::spawn(async move {
            let mut connections = 0u32;
            while let Ok((mut stream, _)) = listener.accept().await {
                connections += 1;
                let connection = connections;
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    for request in 1.. {
                        // Reads one request head (and its Content-Length body) from `buf` and the socket.
                        let head_end = loop {
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                            match stream.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                        let length = head
                            .lines()
                            .filter_map(|l| l.split_once(':'))
                            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        while buf.len() < head_end + length {
                            match stream.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..head_end + length);
                        let method = head.split(' ').next().unwrap_or_default().to_owned();
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
                });
            }
        });
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
