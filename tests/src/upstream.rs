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
