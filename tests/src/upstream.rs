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
