//! Load: a thousand signed-in browsers calling an API through the BFF at once, for a bounded time, with no
//! error at all. Each browser is a real login at the dev OP (through the BFF's login path, several at a time)
//! with its own cookie jar and connections; the upstream is the demo API, which checks every token.
//!
//! The figures (logins per second, calls per second) are printed, never asserted: speed belongs to
//! scripts/bench. CI runs the quick version (1,000 sessions, 10 s of calls). Set `RELIABILITY_LONG=1` for the
//! long one (1,000 sessions, 120 s of calls).
//!
//! The access tokens stay valid through the run: refreshes under this load would be refused by the dev OP, not
//! the BFF, because its in-memory store (node-oidc-provider's default adapter) keeps only the last 1,000
//! entries, a few per login, so the grants of all but the last ~150 logins are gone by then. (Refresh storms
//! are in refresh.rs and session_stores.rs.)

use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::stack::{Stack, StackOptions};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Logins in flight while the sessions are created.
const LOGINS_AT_ONCE: usize = 16;

struct Plan {
    sessions: usize,
    calls_for: Duration,
}

fn plan() -> Plan {
    let long = std::env::var("RELIABILITY_LONG").is_ok_and(|v| v == "1");
    if long {
        Plan {
            sessions: 1000,
            calls_for: Duration::from_secs(120),
        }
    } else {
        Plan {
            sessions: 1000,
            calls_for: Duration::from_secs(10),
        }
    }
}

/// A value from the BFF's Prometheus text, 0 when absent.
fn metric(text: &str, line_start: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .map_or(0, |v| v.trim().parse::<f64>().expect("a number") as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sessions_call_apis_at_once_without_errors() {
    let plan = plan();
    let stack = Stack::start(StackOptions::default()).await;

    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let browsers: Arc<Mutex<Vec<Arc<BffClient>>>> = Arc::default();
    let loggers: Vec<_> = (0..LOGINS_AT_ONCE)
        .map(|_| {
            let (next, browsers) = (next.clone(), browsers.clone());
            let (origin, redirect_uri) = (stack.origin.clone(), stack.redirect_uri.clone());
            let total = plan.sessions as u64;
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let browser = BffClient::new(&origin);
                    browser.log_in_at_op(&redirect_uri).await;
                    browsers.lock().unwrap().push(Arc::new(browser));
                }
            })
        })
        .collect();
    for l in loggers {
        l.await.expect("every login succeeded");
    }
    let browsers = browsers.lock().unwrap().clone();
    let logins_took = started.elapsed();
    println!(
        "{} logins at the dev OP through the BFF, {LOGINS_AT_ONCE} at a time: {:.1} s, {:.0} logins/s",
        browsers.len(),
        logins_took.as_secs_f64(),
        browsers.len() as f64 / logins_took.as_secs_f64()
    );
    assert_eq!(browsers.len(), plan.sessions);

    let deadline = tokio::time::Instant::now() + plan.calls_for;
    let calls = Arc::new(AtomicU64::new(0));
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let load_started = Instant::now();
    let tasks: Vec<_> = browsers
        .iter()
        .map(|b| {
            let (b, calls, errors) = (b.clone(), calls.clone(), errors.clone());
            tokio::spawn(async move {
                while tokio::time::Instant::now() < deadline {
                    let r = tokio::time::timeout(Duration::from_secs(30), b.get("/api/demo/hello"))
                        .await
                        .expect("a call hung for 30 s");
                    let status = r.status().as_u16();
                    let body: Value = r.json().await.unwrap_or_default();
                    if status != 200 || body["sub"] != "alice" {
                        errors.lock().unwrap().push(format!("{status} {body}"));
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("no calling task panicked");
    }
    let elapsed = load_started.elapsed().as_secs_f64();
    let calls = calls.load(Ordering::Relaxed);
    let metrics = reqwest::get(format!("{}/metrics", stack.origin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    println!(
        "{} sessions calling /api/demo/hello for {elapsed:.1} s: {calls} calls, {:.0} calls/s",
        browsers.len(),
        calls as f64 / elapsed
    );
    let errors = errors.lock().unwrap().clone();
    assert!(
        errors.is_empty(),
        "{} of {calls} calls failed, e.g. {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    assert_eq!(
        metric(&metrics, "bff_active_sessions "),
        plan.sessions as u64,
        "{metrics}"
    );
    assert_eq!(
        stack.token_requests().await,
        plan.sessions as u64,
        "one code exchange per session, nothing else at the OP"
    );
}
