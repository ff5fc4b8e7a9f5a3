//! Load: a thousand signed-in browsers calling an API through the BFF at once, for a bounded time, with no
//! error at all, while their access tokens fall due and are refreshed under that load. Each browser is a real
//! login at the dev OP (through the BFF's login path, several at a time) with its own cookie jar and
//! connections; the upstream is the demo API, which checks every token and says which one it got.
//!
//! The dev OP issues access tokens that live [`ACCESS_TOKEN_TTL`] seconds and keeps enough entries for every
//! session's grant (the harness's `OP_MEMORY_ENTRIES`), so each session refreshes while the others call. Exactly
//! one refresh per session per expiry: a token is replaced only once it is due, every refresh the BFF and the
//! OP count is a token some call used, and no call is forwarded with an expired token.
//!
//! The figures (logins per second, calls per second, refreshes) are printed, never asserted: speed belongs to
//! scripts/bench. CI runs the quick version (1,000 sessions, 10 s of calls). Set
//! `RELIABILITY_LONG=1` for the long one (1,000 sessions, 120 s of calls).

use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::stack::{Stack, StackOptions};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Logins in flight while the sessions are created.
const LOGINS_AT_ONCE: usize = 16;

/// How long the dev OP's access tokens live in this test.
const ACCESS_TOKEN_TTL: u64 = 15;

/// The BFF refreshes a token this long before it expires: tokens fall due 10 s after issue, within the quick
/// run's calls for every session.
const REFRESH_MARGIN: i64 = 5;

/// How long the callers take to join, one after the other, once every session is logged in.
const RAMP: Duration = Duration::from_secs(5);

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

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs() as i64
}

/// An access token as the demo API described it: its id and lifetime (never the token).
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    jti: String,
    iat: i64,
    exp: i64,
}

impl Seen {
    fn of(body: &Value) -> Option<Seen> {
        let token = &body["token"];
        Some(Seen {
            jti: token["jti"].as_str()?.to_owned(),
            iat: token["iat"].as_i64()?,
            exp: token["exp"].as_i64()?,
        })
    }
}

/// A signed-in browser and the token of one call right after its login: the token its later calls start from.
type SignedIn = (Arc<BffClient>, Seen);

/// One call through the BFF: the token it carried, or what went wrong.
async fn call(browser: &BffClient) -> Result<Seen, String> {
    let started = unix_now();
    let r = tokio::time::timeout(Duration::from_secs(30), browser.get("/api/demo/hello"))
        .await
        .expect("a call hung for 30 s");
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or_default();
    match Seen::of(&body) {
        Some(token) if status == 200 && body["sub"] == "alice" => {
            if token.exp <= started {
                return Err(format!(
                    "forwarded an expired token: {token:?} at {started}"
                ));
            }
            Ok(token)
        }
        _ => Err(format!("{status} {body}")),
    }
}

/// One browser's calls until the run ends for it: `ends` has passed and its token has been refreshed at least
/// once, or `bound` has passed. `seen` starts with the token of the call right after its login; returns every
/// access token its calls carried, in order, each once.
async fn call_until_done(
    browser: &BffClient,
    mut seen: Vec<Seen>,
    (ends, bound): (Instant, Instant),
    calls: &AtomicU64,
    errors: &Mutex<Vec<String>>,
) -> Vec<Seen> {
    loop {
        let now = Instant::now();
        if (now >= ends && seen.len() >= 2) || now >= bound {
            return seen;
        }
        let result = call(browser).await;
        calls.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(token) if seen.last() != Some(&token) => seen.push(token),
            Ok(_) => {}
            Err(e) => errors.lock().unwrap().push(e),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sessions_call_apis_and_refresh_at_once_without_errors() {
    let plan = plan();
    let stack = Stack::start(StackOptions {
        op_access_token_ttl: Some(ACCESS_TOKEN_TTL),
        // The logins' keep-alive connections stay open until the calls reuse them (the default closes them after
        // 10 s idle, and a close that crosses a reuse is a reset that a browser retries, no BFF error).
        bff_toml: format!(
            "[session]\nrefresh_margin_secs = {REFRESH_MARGIN}\n[server]\nheader_read_timeout_secs = 120"
        ),
        ..Default::default()
    })
    .await;

    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let browsers: Arc<Mutex<Vec<SignedIn>>> = Arc::default();
    let loggers: Vec<_> = (0..LOGINS_AT_ONCE)
        .map(|_| {
            let (next, browsers) = (next.clone(), browsers.clone());
            let (origin, redirect_uri) = (stack.origin.clone(), stack.redirect_uri.clone());
            let total = plan.sessions as u64;
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let browser = BffClient::new(&origin);
                    browser.log_in_at_op(&redirect_uri).await;
                    let first = call(&browser).await.expect("a call right after the login");
                    browsers.lock().unwrap().push((Arc::new(browser), first));
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

    // Every session calls for `calls_for`, and on until its token has been refreshed; the bound (two token
    // lifetimes more) only keeps a broken refresh from hanging the test. The callers join over `RAMP`, so
    // the sessions whose tokens fell due during the logins refresh as they join rather than all in one instant.
    let load_started = Instant::now();
    let ends = load_started + plan.calls_for;
    let bound = ends + Duration::from_secs(2 * ACCESS_TOKEN_TTL);
    let calls = Arc::new(AtomicU64::new(0));
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let tasks: Vec<_> = browsers
        .iter()
        .enumerate()
        .map(|(i, (b, first))| {
            let joins = load_started + RAMP.mul_f64(i as f64 / browsers.len() as f64);
            let (b, seen) = (b.clone(), vec![first.clone()]);
            let (calls, errors) = (calls.clone(), errors.clone());
            tokio::spawn(async move {
                tokio::time::sleep_until(joins.into()).await;
                call_until_done(&b, seen, (ends, bound), &calls, &errors).await
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.expect("no calling task panicked"));
    }
    let elapsed = load_started.elapsed().as_secs_f64();
    let calls = calls.load(Ordering::Relaxed);
    let metrics = reqwest::get(format!("{}/metrics", stack.origin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refreshes: usize = tokens.iter().map(|t| t.len().saturating_sub(1)).sum();
    println!(
        "{} sessions calling /api/demo/hello for {elapsed:.1} s: {calls} calls, {:.0} calls/s; {refreshes} refreshes",
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
    for (i, seen) in tokens.iter().enumerate() {
        assert!(
            seen.len() >= 2,
            "session {i}: its token fell due within the run and was never refreshed: {seen:?}"
        );
        for pair in seen.windows(2) {
            // Issued once the previous one was due (1 s for the clocks' whole-second rounding): a second
            // refresh for the same expiry would come right after the first, long before that.
            assert!(
                pair[1].iat + 1 >= pair[0].exp - REFRESH_MARGIN,
                "session {i}: a token replaced before it was due: {pair:?}"
            );
        }
    }
    assert_eq!(
        metric(&metrics, "bff_refreshes_total{outcome=\"ok\"} ") as usize,
        refreshes,
        "every refresh the BFF made gave a token that calls used: {metrics}"
    );
    for outcome in ["refused", "error", "ended"] {
        assert_eq!(
            metric(
                &metrics,
                &format!("bff_refreshes_total{{outcome=\"{outcome}\"}} ")
            ),
            0,
            "no refresh {outcome}: {metrics}"
        );
    }
    assert_eq!(
        metric(&metrics, "bff_active_sessions "),
        plan.sessions as u64,
        "{metrics}"
    );
    assert_eq!(
        stack.token_requests().await,
        (plan.sessions + refreshes) as u64,
        "one code exchange per session and the refreshes, nothing else at the OP"
    );
}
