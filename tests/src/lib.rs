//! Test harness: starts the real pieces on 127.0.0.1 (the dev OP and demo API under Node, the BFF in-process,
//! chromedriver + headless Chromium) and stops them by PID when dropped.
//!
//! [`stack`] runs the servers, [`authorize`] walks the dev OP's redirect chain without a browser (for BFF
//! integration tests), [`browser`] drives Chromium through WebDriver, [`test_op`] is a scripted, tampering OP
//! for conformance tests. For the fault tests: [`fault_proxy`] puts the dev OP behind a proxy that can take it
//! down or make it hang, [`bff_process`] runs the BFF binary as its own process (to kill it with SIGKILL), and
//! [`raw_http`] writes requests byte for byte.

pub mod authorize;
pub mod bff_process;
pub mod browser;
pub mod client_keys;
pub mod fault_proxy;
pub mod glewlwyd;
pub mod nginx;
pub mod op_session;
pub mod raw_http;
pub mod redis_cluster;
pub mod redis_server;
pub mod stack;
pub mod test_op;
pub mod upstream;

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

/// A SQLite session database of its own for one test, `target/test-sessions/<name>-<pid>-<now>.db`: the process
/// id and the clock keep runs and tests from sharing a store, and under `target/` it is never committed. The one
/// definition for every store test.
pub fn sqlite_path(name: &str) -> PathBuf {
    let dir = repo_root().join("target/test-sessions");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!(
        "{name}-{}-{}.db",
        std::process::id(),
        bff::session::now()
    ))
}

/// A free TCP port on 127.0.0.1, never the same one twice in this test process.
///
/// Asking the OS for port 0 is not enough: a test often picks several ports (nginx, OP, BFF) before any of them
/// is bound, and the kernel may hand back the same port twice, or give it to an outgoing connection meanwhile.
/// So ports come from a range below Linux's ephemeral range (32768+), walked once per process from an offset
/// derived from the process id (test binaries run one after another, each with its own offset).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7_919) % SPAN;
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (LOW + (start + n) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {LOW}..{}", LOW + SPAN)
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
