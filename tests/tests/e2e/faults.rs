//! Faults against the real stack: the dev OP down or hanging during a login and during a refresh (behind a
//! [`FaultProxy`]), its key set down while the BFF holds one, Redis restarted under load, the BFF killed with
//! SIGKILL (the `hybrid-bff` binary as its own process), upstreams that hang up or talk nonsense, oversized and
//! malformed input.
//!
//! What each must show: a JSON error whose status says what happened (503/504 for the OP, 503 for the store,
//! 502 for an upstream, 4xx for bad input), never a 500, a panic or a hang, and no session lost that the fault
//! itself did not end.

use hybrid_e2e::authorize::{authorize_at_op, expect_error, parallel_gets, BffClient};
use hybrid_e2e::bff_process::BffProcess;
use hybrid_e2e::fault_proxy::{Answer, FaultProxy};
use hybrid_e2e::redis_server::RedisServer;
use hybrid_e2e::stack::{start_bff_on, Stack, StackOptions};
use hybrid_e2e::{free_port, raw_http, sqlite_path, wait_for};
use reqwest::header::{HeaderValue, COOKIE};
use serde_json::{json, Value};
use shared::fragment::parse_fragment;
use shared::ResponseType;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The dev OP's access tokens live 3600 s; with [`due_soon`] they fall due this long after issue.
const DUE_AFTER: Duration = Duration::from_secs(3);

/// `[session]` settings under which access tokens fall due [`DUE_AFTER`] after issue.
fn due_soon() -> String {
    format!(
        "[session]\nrefresh_margin_secs = {}\n",
        3600 - DUE_AFTER.as_secs()
    )
}

/// Waits until a token issued at `issued` is due (a bounded wait on the condition, the clock).
async fn until_due(issued: Instant) {
    wait_for("the access token to fall due", DUE_AFTER * 3, || async {
        (issued.elapsed() > DUE_AFTER + Duration::from_secs(1)).then_some(())
    })
    .await;
}

/// A stack whose OP sits behind a fault proxy (every URL of the OP is the proxy's).
async fn stack_behind_proxy(bff_toml: &str) -> (FaultProxy, Stack) {
    let proxy = FaultProxy::start(free_port()).await;
    let stack = Stack::start(StackOptions {
        bff_toml: bff_toml.to_owned(),
        op_behind: Some(proxy.op_behind()),
        ..Default::default()
    })
    .await;
    (proxy, stack)
}

/// The BFF's port, from its origin.
fn bff_port(stack: &Stack) -> u16 {
    stack.origin.rsplit(':').next().unwrap().parse().unwrap()
}

/// A storm of 20 parallel API calls of one browser, all answered `status` with the JSON error `code`.
async fn storm_answers(bff: &Arc<BffClient>, status: u16, code: &str) {
    for (got, body) in parallel_gets(std::slice::from_ref(bff), 20, "/api/demo/hello").await {
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
}

/// One API call through `bff`, answered by the demo API for alice.
async fn assert_api_answers(bff: &BffClient) {
    let r = bff.get("/api/demo/hello").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["sub"], "alice");
}

#[tokio::test]
async fn the_op_down_at_the_code_exchange_or_at_start_is_503_json_until_it_is_back() {
    let (mut op, stack) = stack_behind_proxy("").await;
    let bff = BffClient::new(&stack.origin);
    let response = bff.authorization_response(&stack.redirect_uri).await;
    op.go_down().await;
    let body = expect_error(
        bff.post("/bff/session", Some(&response)).await,
        503,
        "op_unavailable",
    )
    .await;
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("identity provider"));
    assert_eq!(bff.get("/bff/user").await.status(), 401);

    // A BFF that starts while the OP is down listens at once: not ready, logins 503 JSON; ready once it is back.
    let port = free_port();
    let issuer = stack.issuer.clone();
    let late =
        tokio::spawn(
            async move { start_bff_on(port, &issuer, ResponseType::CodeIdToken, "").await },
        );
    let http = reqwest::Client::new();
    let ready = format!("http://127.0.0.1:{port}/readyz");
    let r = wait_for(
        "the late BFF to listen",
        Duration::from_secs(20),
        || async { http.get(&ready).send().await.ok() },
    )
    .await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.unwrap()["op"], false);
    let late_browser = BffClient::new(&format!("http://localhost:{port}"));
    expect_error(
        late_browser.post("/bff/login", None).await,
        503,
        "op_unavailable",
    )
    .await;

    op.come_up().await;
    let _late = late.await.expect("the late BFF became ready");
    late_browser.start_login().await;
    // The failed exchange never reached the OP; the next login works.
    bff.log_in_at_op(&stack.redirect_uri).await;
    assert_eq!(stack.token_requests().await, 1);
    assert_api_answers(&bff).await;
}

#[tokio::test]
async fn the_op_down_at_a_refresh_is_503_json_and_the_session_survives_it() {
    let (mut op, stack) = stack_behind_proxy(&due_soon()).await;
    let bff = BffClient::new(&stack.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;
    // Tokens fall due DUE_AFTER after the exchange (expires_in is counted from there), so the clock starts then.
    let issued = Instant::now();
    until_due(issued).await;
    op.go_down().await;
    let bff = Arc::new(bff);
    storm_answers(&bff, 503, "op_unavailable").await;
    assert_eq!(
        bff.get("/bff/user").await.status(),
        200,
        "the session is kept"
    );

    op.come_up().await;
    assert_api_answers(&bff).await;
    assert_eq!(
        stack.token_requests().await,
        2,
        "one exchange and one refresh: no failed attempt reached the OP or spent the refresh token"
    );
}

/// A token endpoint that accepts requests and never answers: the BFF's `oidc.http_timeout_secs` ends each wait
/// with 504 JSON. Under a refresh storm the calls queued behind the one refresh share its outcome instead of each
/// waiting out a timeout of its own in turn (which would make the last one wait 20 timeouts).
#[tokio::test]
async fn a_hanging_op_is_504_json_after_its_timeout_and_a_storm_waits_for_one_attempt() {
    const TIMEOUT_SECS: u64 = 2;
    let toml = format!("{}[oidc]\nhttp_timeout_secs = {TIMEOUT_SECS}\n", due_soon());
    let (op, stack) = stack_behind_proxy(&toml).await;
    let one = BffClient::new(&stack.origin);
    one.log_in_at_op(&stack.redirect_uri).await;
    // Tokens fall due DUE_AFTER after the exchange (expires_in is counted from there), so the clock starts then.
    let issued = Instant::now();

    op.answer("/token", Answer::Hang);
    let two = BffClient::new(&stack.origin);
    let response = two.authorization_response(&stack.redirect_uri).await;
    let body = expect_error(
        two.post("/bff/session", Some(&response)).await,
        504,
        "op_timeout",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("in time"));
    assert_eq!(two.get("/bff/user").await.status(), 401);

    until_due(issued).await;
    let attempts = op.requests("/token");
    let one = Arc::new(one);
    storm_answers(&one, 504, "op_timeout").await;
    assert_eq!(
        op.requests("/token") - attempts,
        1,
        "the storm's calls shared one refresh attempt"
    );
    assert_eq!(
        one.get("/bff/user").await.status(),
        200,
        "the session is kept"
    );

    op.answer("/token", Answer::Forward);
    assert_api_answers(&one).await;
    assert_eq!(
        stack.token_requests().await,
        2,
        "one exchange and one refresh reached the OP; the hung requests never did"
    );
}

/// The OP's key set becomes unreachable while the BFF holds one: once the held set is past its lifetime, the
/// BFF tries to fetch it again, fails, and goes on with the last good set, so logins go on.
#[tokio::test]
async fn the_op_key_set_down_while_the_bff_holds_one_does_not_stop_logins() {
    let (op, stack) = stack_behind_proxy("").await;
    // Served `no-store`, the set is held for the BFF's minimum lifetime only.
    op.answer("/jwks", Answer::ForwardUncacheable);
    let one = BffClient::new(&stack.origin);
    one.log_in_at_op(&stack.redirect_uri).await;
    let fetched_before = Instant::now();
    // The demo API holds the keys too from now on.
    assert_api_answers(&one).await;

    op.answer("/jwks", Answer::Unavailable);
    let held_for = bff::oidc::jwks::Limits::default().min_ttl + Duration::from_secs(1);
    wait_for("the held key set to go stale", held_for * 2, || async {
        (fetched_before.elapsed() > held_for).then_some(())
    })
    .await;
    let fetches = op.requests("/jwks");
    let two = BffClient::new(&stack.origin);
    two.log_in_at_op(&stack.redirect_uri).await;
    assert!(
        op.requests("/jwks") > fetches,
        "the BFF tried to fetch the stale set again (and was answered 503)"
    );
    assert_api_answers(&two).await;
    assert_eq!(one.get("/bff/user").await.status(), 200);
}

/// Base64 of a fixed 32-byte key for the persistent stores (test-only).
const STORE_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

fn redis_store(redis: &RedisServer) -> String {
    redis.session_toml("faults:", STORE_KEY)
}

fn sqlite_store(name: &str) -> String {
    let path = sqlite_path(name);
    format!(
        "[session]\nstore = \"sqlite\"\nsqlite_path = {:?}\nkeys = [\"{STORE_KEY}\"]\n",
        path.display().to_string()
    )
}

/// One call of the load, reduced to what the test judges: status and JSON error code (`None` for a success).
type Outcome = (u16, Option<String>);

/// `GET path` through `bff`, bounded: a call that hangs fails the test.
async fn outcome(bff: &BffClient, path: &str) -> Outcome {
    let r = tokio::time::timeout(Duration::from_secs(20), bff.get(path))
        .await
        .unwrap_or_else(|_| panic!("GET {path} hung"));
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or_default();
    let code = body["error"].as_str().map(str::to_owned);
    (status, code)
}

/// Redis (no persistence) killed and started again under load: while it is down every call is 503
/// `session_store_unavailable` (the session is not declared gone), afterwards the sessions are gone and calls are
/// 401 `unauthenticated`; never a 500, a panic or a hang; readiness and logins come back by themselves.
#[tokio::test]
async fn redis_restarted_under_load_is_503_then_401_json_never_500() {
    let mut redis = RedisServer::start().await;
    let stack = Stack::start(StackOptions {
        bff_toml: redis_store(&redis),
        ..Default::default()
    })
    .await;
    let mut browsers = Vec::new();
    for _ in 0..8 {
        let b = BffClient::new(&stack.origin);
        b.log_in_at_op(&stack.redirect_uri).await;
        browsers.push(Arc::new(b));
    }
    let running = Arc::new(AtomicBool::new(true));
    let seen: Arc<Mutex<BTreeMap<Outcome, u64>>> = Arc::default();
    let load: Vec<_> = browsers
        .iter()
        .map(|b| {
            let (b, running, seen) = (b.clone(), running.clone(), seen.clone());
            tokio::spawn(async move {
                while running.load(Ordering::Relaxed) {
                    for path in ["/api/demo/hello", "/bff/user"] {
                        let o = outcome(&b, path).await;
                        *seen.lock().unwrap().entry(o).or_default() += 1;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.start_again().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.store(false, Ordering::Relaxed);
    for task in load {
        task.await.expect("no load task panicked");
    }
    let seen = seen.lock().unwrap().clone();
    println!("outcomes across the Redis restart: {seen:?}");
    let allowed = |(status, code): &Outcome| {
        matches!(
            (status, code.as_deref()),
            (200, None) | (401, Some("unauthenticated")) | (503, Some("session_store_unavailable"))
        )
    };
    assert!(seen.keys().all(allowed), "{seen:?}");

    // The sessions went with Redis's memory; the BFF is ready again and new logins work.
    for b in &browsers {
        wait_for(
            "the session to be gone",
            Duration::from_secs(10),
            || async {
                (outcome(b, "/bff/user").await == (401, Some("unauthenticated".into())))
                    .then_some(())
            },
        )
        .await;
    }
    let ready = reqwest::get(format!("{}/readyz", stack.origin))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let again = BffClient::new(&stack.origin);
    again.log_in_at_op(&stack.redirect_uri).await;
    assert_api_answers(&again).await;
}

/// The BFF binary killed with SIGKILL while logins are in flight, then started again on the same
/// configuration: the sessions the store kept are intact (no half-written state, the store opens), calls work.
async fn sessions_survive_sigkill(store_toml: String) {
    let mut stack = Stack::start(StackOptions {
        bff_toml: store_toml,
        ..Default::default()
    })
    .await;
    // Only the process serves this store.
    stack.stop_bff().await;
    let port = free_port();
    let mut process = BffProcess::start(port, &stack.bff_config(port)).await;
    let browser = BffClient::new(&process.origin);
    browser.log_in_at_op(&stack.redirect_uri).await;
    assert_api_answers(&browser).await;

    // Store writes in flight when it dies: other browsers' logins (those cut short fail, as they would).
    let origin = process.origin.clone();
    let redirect_uri = stack.redirect_uri.clone();
    let busy: Vec<_> = (0..6)
        .map(|_| {
            let (origin, redirect_uri) = (origin.clone(), redirect_uri.clone());
            tokio::spawn(async move {
                let other = BffClient::new(&origin);
                for _ in 0..20 {
                    let Ok(r) = other
                        .http
                        .post(format!("{origin}/bff/login"))
                        .header("x-csrf", "1")
                        .send()
                        .await
                    else {
                        return;
                    };
                    let Ok(started) = r.json::<shared::api::LoginStarted>().await else {
                        return;
                    };
                    let fragment = authorize_at_op(&started.authorization_url, &redirect_uri).await;
                    let response =
                        serde_json::to_value(parse_fragment(&fragment).unwrap()).unwrap();
                    let sent = other
                        .http
                        .post(format!("{origin}/bff/session"))
                        .header("x-csrf", "1")
                        .json(&response)
                        .send()
                        .await;
                    if sent.is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    process.kill();
    for task in busy {
        task.await.expect("the busy browsers' tasks ended");
    }

    process.start_again().await;
    let r = browser.get("/bff/user").await;
    assert_eq!(r.status(), 200, "the session survived SIGKILL");
    assert_eq!(r.json::<Value>().await.unwrap()["user"]["sub"], "alice");
    assert_api_answers(&browser).await;
    let again = BffClient::new(&process.origin);
    again.log_in_at_op(&stack.redirect_uri).await;
    assert_api_answers(&again).await;
}

#[tokio::test]
async fn sessions_survive_sigkill_with_sqlite() {
    sessions_survive_sigkill(sqlite_store("sigkill")).await;
}

#[tokio::test]
async fn sessions_survive_sigkill_with_redis() {
    let redis = RedisServer::start().await;
    sessions_survive_sigkill(redis_store(&redis)).await;
}

/// A TCP server on 127.0.0.1 that answers every connection with `reply` (maybe nothing) and closes it.
async fn misbehaving_upstream(reply: &'static [u8]) -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", free_port()))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(reply).await;
            });
        }
    });
    url
}

/// Beyond the proxy tests' refused connection (502) and late answer (504): upstreams that accept the request
/// and hang up, or answer with something that is not HTTP, are 502 JSON too.
#[tokio::test]
async fn upstreams_that_hang_up_or_talk_nonsense_are_502_json() {
    let hang_up = misbehaving_upstream(b"").await;
    let nonsense = misbehaving_upstream(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
    let truncated = misbehaving_upstream(b"HTTP/1.1 200 OK\r\nContent-Len").await;
    let stack = Stack::start(StackOptions {
        bff_toml: format!(
            "[apis.hangup]\nurl = \"{hang_up}\"\n[apis.nonsense]\nurl = \"{nonsense}\"\n\
             [apis.truncated]\nurl = \"{truncated}\"\n"
        ),
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;
    for api in ["hangup", "nonsense", "truncated"] {
        expect_error(
            bff.get(&format!("/api/{api}/x")).await,
            502,
            "upstream_unavailable",
        )
        .await;
    }
    assert_api_answers(&bff).await;
}

/// Sizes past every limit: a header block past the server's (refused before any handler: 431, no body to
/// speak of), JSON and API bodies past theirs (413 JSON, also when no length is declared), tokens past the JOSE
/// limit (400 JSON, no request to the OP), a cookie past the session id's size (401 JSON). The BFF serves on.
#[tokio::test]
async fn oversized_headers_bodies_tokens_and_cookies_are_4xx_and_the_bff_serves_on() {
    let stack = Stack::start(StackOptions {
        bff_toml: "[apis.demo]\nmax_body_bytes = 1024\nmethods = [\"GET\", \"POST\"]\n".into(),
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    let id = bff.log_in_for_cookie(&stack.redirect_uri).await;
    let plain = reqwest::Client::new();
    let user = format!("{}/bff/user", stack.origin);

    let r = plain
        .get(&user)
        .header("x-big", "a".repeat(1 << 20))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431, "one huge header");
    let mut many = plain.get(&user);
    for i in 0..200 {
        many = many.header(format!("x-h{i}"), "v");
    }
    assert_eq!(many.send().await.unwrap().status(), 431, "200 headers");

    // Bodies: the JSON endpoint's limit, and an API's, declared and streamed.
    let huge = json!({"code": "c".repeat(3 << 20), "state": "s"});
    expect_error(
        bff.post("/bff/session", Some(&huge)).await,
        413,
        "payload_too_large",
    )
    .await;
    let api = format!("{}/api/demo/hello", stack.origin);
    let declared = bff
        .http
        .post(&api)
        .header("x-csrf", "1")
        .body(vec![b'x'; 4096]);
    expect_error(declared.send().await.unwrap(), 413, "payload_too_large").await;
    // Streamed without a declared length: the limit is found on the way, the upstream request is abandoned.
    let chunk = format!("200\r\n{}\r\n", "x".repeat(0x200));
    let streamed = raw_http::send(
        bff_port(&stack),
        &format!(
            "POST /api/demo/hello HTTP/1.1\r\nHost: localhost\r\nX-CSRF: 1\r\nCookie: bff-session={id}\r\n\
             Transfer-Encoding: chunked\r\n"
        ),
        format!("{}0\r\n\r\n", chunk.repeat(8)).as_bytes(),
    )
    .await;
    assert_eq!(
        (streamed.status, streamed.json()["error"].as_str()),
        (413, Some("payload_too_large")),
        "{streamed:?}"
    );

    // A front-channel ID token past the JOSE size limit: refused before the code is spent.
    let other = BffClient::new(&stack.origin);
    let mut response = other.authorization_response(&stack.redirect_uri).await;
    response["id_token"] = json!(format!("{}.{}.{}", "e".repeat(10), "p".repeat(40_000), "s"));
    let r = other.post("/bff/session", Some(&response)).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
    assert_eq!(
        stack.token_requests().await,
        1,
        "only the first login's exchange"
    );

    let r = plain
        .get(&user)
        .header(COOKIE, format!("bff-session={}", "A".repeat(8192)))
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "unauthenticated").await;

    assert_eq!(bff.get("/bff/user").await.status(), 200);
    assert_api_answers(&bff).await;
}

/// Cookies a browser (or an attacker) may send that are not a session: every one is 401 `unauthenticated` JSON;
/// as a login cookie, one with no value is 400 `no_pending_login` and any other is 400 `login_cookie_invalid`
/// (nothing opens it); the real session among junk still works.
#[tokio::test]
async fn malformed_cookies_are_401_json_and_a_real_session_among_junk_works() {
    let stack = Stack::start(StackOptions::default()).await;
    let bff = BffClient::new(&stack.origin);
    let id = bff.log_in_for_cookie(&stack.redirect_uri).await;
    let mut flipped = id.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();

    let junk: Vec<HeaderValue> = [
        "bff-session=".to_owned(),
        "bff-session".to_owned(),
        "bff-session==".to_owned(),
        "=; ;;=;".to_owned(),
        format!("bff-session=\"{id}\""),
        format!("bff-session={id}x"),
        format!("bff-session={flipped}"),
        format!("BFF-SESSION={id}"),
        "bff-session=../../../../etc/passwd".to_owned(),
        "bff-session=%00%0d%0a".to_owned(),
        format!("bff-session={}", "A".repeat(129)),
        format!("{}bff-session=x", "a=b; ".repeat(500)),
    ]
    .into_iter()
    .map(|v| HeaderValue::from_str(&v).unwrap())
    .chain([HeaderValue::from_bytes(b"bff-session=\xff\xfe\xfd").unwrap()])
    .collect();
    let plain = reqwest::Client::new();
    for cookie in &junk {
        for (method, path) in [("GET", "/bff/user"), ("GET", "/api/demo/hello")] {
            let r = plain
                .request(method.parse().unwrap(), format!("{}{path}", stack.origin))
                .header("x-csrf", "1")
                .header(COOKIE, cookie.clone())
                .send()
                .await
                .unwrap();
            expect_error(r, 401, "unauthenticated").await;
        }
        let logout = plain
            .post(format!("{}/bff/logout", stack.origin))
            .header("x-csrf", "1")
            .header(COOKIE, cookie.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(logout.status(), 200, "{cookie:?}");
        let as_login = cookie
            .to_str()
            .unwrap_or("x")
            .replace("bff-session", "bff-login");
        let r = plain
            .post(format!("{}/bff/session", stack.origin))
            .header("x-csrf", "1")
            .header(COOKIE, &as_login)
            .json(&json!({"code": "c", "state": "s", "id_token": "a.b.c"}))
            .send()
            .await
            .unwrap();
        let has_value = as_login
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| name == "bff-login" && !value.is_empty());
        let expected = if has_value {
            "login_cookie_invalid"
        } else {
            "no_pending_login"
        };
        expect_error(r, 400, expected).await;
    }
    let r = plain
        .get(format!("{}/bff/user", stack.origin))
        .header(COOKIE, format!("a=1; x; ;bff-session={id}; b=\"2\""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the session among junk");
    assert_eq!(bff.get("/bff/user").await.status(), 200);
}
