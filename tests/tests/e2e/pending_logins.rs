//! Pending logins live in the browser (a sealed login cookie), not in the session store: a flood of login starts
//! from one client stores nothing and locks no one else out, on every store; a login started on one replica
//! finishes on another; a replayed exchange is refused on every replica sharing the store; a tampered, foreign
//! or expired login cookie is refused with its own error, before anything reaches the token endpoint.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hybrid_e2e::authorize::{authorize_at_op, expect_error, BffClient};
use hybrid_e2e::redis_server::RedisServer;
use hybrid_e2e::stack::{start_bff, Stack, StackOptions};
use hybrid_e2e::{sqlite_path, wait_for};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{json, Value};
use shared::api::{LoginStarted, CSRF_HEADER, CSRF_VALUE};
use shared::fragment::parse_fragment;
use shared::ResponseType;
use std::sync::Arc;
use std::time::Duration;

/// Login starts in the flood, from one client.
const FLOOD: usize = 3000;
/// The old per-store bound, set small: a configuration that still names it keeps starting (it is ignored), and
/// a flood far past it must not block anyone.
const OLD_BOUND: &str = "max_pending_logins = 50\n";

fn key(byte: u8) -> String {
    STANDARD.encode([byte; 32])
}

fn redis_toml(redis: &RedisServer) -> String {
    redis.session_toml("pl:", &key(9))
}

/// `POST /bff/login` `FLOOD` times from one cookie-less client (8 at a time), answering each status.
async fn flood(origin: &str) -> Vec<u16> {
    let http = reqwest::Client::new();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (http, url) = (http.clone(), format!("{origin}/bff/login"));
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..FLOOD / 8 {
                    let r = http
                        .post(&url)
                        .header(CSRF_HEADER, CSRF_VALUE)
                        .send()
                        .await
                        .expect("BFF reachable");
                    statuses.push(r.status().as_u16());
                }
                statuses
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all
}

/// The flood, then what every store must show: every start answered 200, nothing stored by it (checked by
/// `stored`, which counts what the backend holds), and another browser signs in as usual.
async fn flood_locks_no_one_out<F, Fut>(bff_toml: String, stored: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let stack = Stack::start(StackOptions {
        bff_toml,
        ..Default::default()
    })
    .await;
    let statuses = flood(&stack.origin).await;
    assert_eq!(statuses.len(), FLOOD);
    let refused = statuses.iter().filter(|s| **s != 200).count();
    assert_eq!(refused, 0, "login starts refused during the flood");
    assert_eq!(stored().await, 0, "the flood stored nothing");
    let other = BffClient::new(&stack.origin);
    let session = other.log_in_at_op(&stack.redirect_uri).await;
    assert_eq!(session["user"]["sub"], "alice");
    assert_eq!(other.get("/bff/user").await.status(), 200);
}

/// The memory store shows nothing of its contents from outside: here the lockout is what the test sees.
#[tokio::test]
async fn a_login_flood_locks_no_one_out_with_the_memory_store() {
    flood_locks_no_one_out(format!("[session]\n{OLD_BOUND}"), || async { 0 }).await;
}

#[tokio::test]
async fn a_login_flood_stores_nothing_and_locks_no_one_out_with_sqlite() {
    let path = sqlite_path("flood");
    let toml = format!(
        "[session]\nstore = \"sqlite\"\nsqlite_path = {:?}\nkeys = [\"{}\"]\n{OLD_BOUND}",
        path.display().to_string(),
        key(9)
    );
    let rows = || {
        let path = path.clone();
        async move {
            let c = rusqlite::Connection::open(&path).unwrap();
            let tables: Vec<String> = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(tables.iter().any(|t| t == "sessions"), "{tables:?}");
            tables
                .iter()
                .map(|t| {
                    c.query_row(&format!("SELECT COUNT(*) FROM \"{t}\""), [], |r| {
                        r.get::<_, i64>(0)
                    })
                    .unwrap() as usize
                })
                .sum()
        }
    };
    flood_locks_no_one_out(toml, rows).await;
}

#[tokio::test]
async fn a_login_flood_stores_nothing_and_locks_no_one_out_with_redis() {
    let redis = RedisServer::start().await;
    let url = redis.url.clone();
    let keys = || {
        let url = url.clone();
        async move {
            let client = redis::Client::open(url.as_str()).unwrap();
            let mut c = client.get_multiplexed_async_connection().await.unwrap();
            redis::cmd("DBSIZE")
                .query_async::<usize>(&mut c)
                .await
                .unwrap()
        }
    };
    flood_locks_no_one_out(format!("{}{OLD_BOUND}", redis_toml(&redis)), keys).await;
}

/// The login cookie's value in a `/bff/login` answer, checked to be small enough for every browser.
fn login_cookie(r: &reqwest::Response) -> String {
    let line = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|l| l.starts_with("bff-login="))
        .expect("a login cookie")
        .to_owned();
    assert!(line.len() < 2048, "{} bytes: {line}", line.len());
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(line.contains(attribute), "{line}");
    }
    let value = line["bff-login=".len()..].split(';').next().unwrap();
    value.to_owned()
}

/// `POST /bff/login` by hand: the login cookie's value and the answer.
async fn start(origin: &str) -> (String, LoginStarted) {
    let r = reqwest::Client::new()
        .post(format!("{origin}/bff/login"))
        .header(CSRF_HEADER, CSRF_VALUE)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = login_cookie(&r);
    (cookie, r.json().await.unwrap())
}

/// A login started by hand: its cookie value and the OP's genuine response to it.
async fn started_login(origin: &str, redirect_uri: &str) -> (String, Value) {
    let (cookie, started) = start(origin).await;
    let fragment = authorize_at_op(&started.authorization_url, redirect_uri).await;
    let response = serde_json::to_value(parse_fragment(&fragment).unwrap()).unwrap();
    (cookie, response)
}

/// `POST /bff/session` with this login cookie (sent by hand: a browser would have dropped it after any answer).
async fn exchange(origin: &str, cookie: &str, response: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{origin}/bff/session"))
        .header(CSRF_HEADER, CSRF_VALUE)
        .header(COOKIE, format!("bff-login={cookie}"))
        .json(response)
        .send()
        .await
        .unwrap()
}

/// Whether the answer tells the browser to drop its login cookie.
fn clears_the_login_cookie(r: &reqwest::Response) -> bool {
    r.headers().get_all(SET_COOKIE).iter().any(|v| {
        let line = v.to_str().unwrap();
        line.starts_with("bff-login=;") && line.contains("Max-Age=0")
    })
}

/// Two replicas sharing Redis: a login started on one finishes on the other; the same cookie and response
/// replayed, on either replica, is `login_already_used` and never reaches the token endpoint.
#[tokio::test]
async fn a_login_finishes_on_another_replica_and_a_replay_is_refused_on_every_replica() {
    let redis = RedisServer::start().await;
    let stack = Stack::start(StackOptions {
        bff_toml: redis_toml(&redis),
        ..Default::default()
    })
    .await;
    let replica = stack.start_replica().await;
    let (cookie, response) = started_login(&stack.origin, &stack.redirect_uri).await;
    let finished = exchange(&replica.origin, &cookie, &response).await;
    assert_eq!(
        finished.status(),
        200,
        "started on one, finished on the other"
    );
    assert!(clears_the_login_cookie(&finished));
    assert_eq!(stack.token_requests().await, 1);
    for origin in [&stack.origin, &replica.origin] {
        let replayed = exchange(origin, &cookie, &response).await;
        expect_error(replayed, 400, "login_already_used").await;
    }
    assert_eq!(
        stack.token_requests().await,
        1,
        "no replay reached the token endpoint"
    );
}

/// A cookie altered anywhere, or cut short, is `login_cookie_invalid`; so is one sealed by another BFF (its own
/// key); the genuine cookie then still works. Nothing refused reaches the token endpoint.
#[tokio::test]
async fn an_altered_or_foreign_login_cookie_is_refused_clearly() {
    let stack = Stack::start(StackOptions::default()).await;
    let (cookie, response) = started_login(&stack.origin, &stack.redirect_uri).await;
    let flip = |i: usize| {
        let mut b = cookie.clone().into_bytes();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    // Another BFF for the same OP and client, with its own memory-store key.
    let other = start_bff(&stack.issuer, ResponseType::CodeIdToken, "").await;
    let (foreign, _) = start(&other.origin).await;
    for bad in [
        flip(0),
        flip(cookie.len() / 2),
        flip(cookie.len() - 1),
        cookie[..cookie.len() - 4].to_owned(),
        format!("{cookie}AAAA"),
        foreign,
        "not-a-sealed-login".to_owned(),
    ] {
        let r = exchange(&stack.origin, &bad, &response).await;
        assert!(clears_the_login_cookie(&r), "a refusal clears it too");
        let body = expect_error(r, 400, "login_cookie_invalid").await;
        assert!(!body.to_string().contains(&cookie[..20]), "{body}");
    }
    assert_eq!(stack.token_requests().await, 0);
    assert_eq!(
        exchange(&stack.origin, &cookie, &response).await.status(),
        200
    );
}

/// Past `session.login_timeout_secs` the cookie is refused as `login_expired` even when a client keeps sending
/// it after its `Max-Age`: the expiry is inside the sealed value.
#[tokio::test]
async fn an_expired_login_cookie_is_refused_clearly() {
    let stack = Stack::start(StackOptions {
        bff_toml: "[session]\nlogin_timeout_secs = 2\n".into(),
        ..Default::default()
    })
    .await;
    let (cookie, started) = start(&stack.origin).await;
    let fragment = authorize_at_op(&started.authorization_url, &stack.redirect_uri).await;
    let genuine = serde_json::to_value(parse_fragment(&fragment).unwrap()).unwrap();
    // A response that fails a check writes nothing, so polling with it until the login expires is harmless.
    let forged = json!({"code": "c", "state": "forged", "id_token": "a.b.c"});
    wait_for("the login to expire", Duration::from_secs(15), || async {
        let r = exchange(&stack.origin, &cookie, &forged).await;
        let body: Value = r.json().await.unwrap();
        (body["error"] == "login_expired").then_some(())
    })
    .await;
    let r = exchange(&stack.origin, &cookie, &genuine).await;
    assert!(clears_the_login_cookie(&r));
    let body = expect_error(r, 400, "login_expired").await;
    assert!(body["message"].as_str().unwrap().contains("expired"));
    assert_eq!(stack.token_requests().await, 0);
}

/// The memory store's login key is made at process start: a restart drops pending logins as it drops
/// sessions, and the browser is told so (`login_cookie_invalid`), not left with a generic failure.
#[tokio::test]
async fn a_memory_bff_restart_drops_pending_logins_with_a_clear_error() {
    let mut stack = Stack::start(StackOptions::default()).await;
    let bff = Arc::new(BffClient::new(&stack.origin));
    let started = bff.start_login().await;
    let fragment = authorize_at_op(&started.authorization_url, &stack.redirect_uri).await;
    stack.restart_bff().await;
    let response = serde_json::to_value(parse_fragment(&fragment).unwrap()).unwrap();
    let r = bff.post("/bff/session", Some(&response)).await;
    expect_error(r, 400, "login_cookie_invalid").await;
    assert_eq!(stack.token_requests().await, 0);
}
