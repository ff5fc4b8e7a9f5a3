//! Test harness: starts the real pieces on 127.0.0.1 (the dev OP and demo API under Node, the BFF in-process,
//! chromedriver + headless Chromium) and stops them by PID when dropped.
//!
//! [`stack`] runs the servers, [`authorize`] walks the dev OP's redirect chain without a browser (for BFF
//! integration tests), [`browser`] drives Chromium through WebDriver, [`test_op`] is a scripted, tampering OP
//! for conformance tests.

pub mod authorize;
pub mod browser;
pub mod glewlwyd;
pub mod nginx;
pub mod op_session;
pub mod redis_server;
pub mod stack;
pub mod test_op;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// The workspace root, where `dev/`, `dist/` and `target/` are.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A free TCP port on 127.0.0.1 (the OS picks; the small race with other processes is acceptable in tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `check` until it yields `Some`, or panics with `what` after `limit`: a bounded wait on a condition,
/// never a blind sleep.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
