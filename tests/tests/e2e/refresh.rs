//! Access-token refresh against the real dev OP: single-flight under a storm of parallel API calls, refresh-token
//! rotation handled, a refused refresh ending the session with 401 JSON, and a logout landing while a refresh
//! waits for the OP's answer staying a logout (every store).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hybrid_e2e::authorize::{parallel_gets, BffClient};
use hybrid_e2e::fault_proxy::{Answer, FaultProxy};
use hybrid_e2e::op_session::OpBrowser;
use hybrid_e2e::redis_server::RedisServer;
use hybrid_e2e::stack::{start_bff, Stack, StackOptions};
use hybrid_e2e::test_op::{Scenario, TestOp, TokenAnswer};
use hybrid_e2e::{free_port, sqlite_path, wait_for};
use serde_json::Value;
use shared::fragment::parse_fragment;
use shared::ResponseType;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The dev OP's access tokens live 3600 s; with this margin they fall due `DUE_AFTER` after issue.
const DUE_AFTER: Duration = Duration::from_secs(3);

/// How many API calls find the token due at once: the storm of a busy SPA (several views polling) after a laptop
/// wakes up.
const STORM: usize = 200;

async fn logged_in_stack() -> (Stack, BffClient, Instant) {
    let margin = 3600 - DUE_AFTER.as_secs();
    let stack = Stack::start(StackOptions {
        bff_toml: format!("[session]\nrefresh_margin_secs = {margin}"),
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;
    // Tokens fall due DUE_AFTER after the exchange (expires_in is counted from there), so the clock starts then.
    let issued = Instant::now();
    (stack, bff, issued)
}

/// Waits until the session's access token is due (a bounded wait on the clock, the condition itself).
async fn until_due(since: Instant) {
    wait_for("the access token to fall due", DUE_AFTER * 3, || async {
        (since.elapsed() > DUE_AFTER + Duration::from_secs(1)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn parallel_calls_share_one_refresh_and_rotation_is_handled() {
    let (stack, bff, issued) = logged_in_stack().await;
    assert_eq!(stack.token_requests().await, 1);
    let bff = std::sync::Arc::new(bff);

    for round in 1..=2u64 {
        let since = if round == 1 { issued } else { Instant::now() };
        until_due(since).await;
        let answers = parallel_gets(std::slice::from_ref(&bff), STORM, "/api/demo/hello").await;
        for (status, body) in answers {
            assert_eq!(status, 200, "round {round}: {body}");
            assert_eq!(body["sub"], "alice");
        }
        // One code exchange plus exactly one refresh per round, although 200 calls found the token due; the
        // second round uses the rotated refresh token (the OP refuses the first one by then).
        assert_eq!(stack.token_requests().await, 1 + round, "round {round}");
    }
}

/// Against the scripted OP: after a valid login, the OP refuses the refresh (or answers with an ID token about
/// another user); the next API call gets 401 `session_expired` and the session is gone.
#[tokio::test]
async fn a_refused_or_foreign_refresh_ends_the_session_with_401_json() {
    for answer in [TokenAnswer::InvalidGrant, TokenAnswer::OtherSub] {
        let op = TestOp::start().await;
        // The scripted OP's tokens live 300 s; nothing listens on the API (the call never gets that far).
        let toml = format!(
            "[session]\nrefresh_margin_secs = {}\n[apis.demo]\nurl = \"http://127.0.0.1:9\"",
            300 - DUE_AFTER.as_secs()
        );
        let bff_handle = start_bff(&op.issuer, ResponseType::CodeIdToken, &toml).await;
        let bff = BffClient::new(&bff_handle.origin);
        bff.log_in_at_op(&bff_handle.redirect_uri).await;
        let issued = Instant::now();

        op.set_scenario(Scenario::token(answer));
        until_due(issued).await;
        let r = bff.get("/api/demo/hello").await;
        assert_eq!(r.status(), 401);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "session_expired", "{body}");
        assert!(body["message"].as_str().unwrap().contains("sign in again"));
        assert_eq!(bff.get("/bff/user").await.status(), 401);
        assert_eq!(op.token_requests(), 2, "one exchange, one refused refresh");
    }
}

/// How the session ends while its refresh waits for the OP's answer.
#[derive(Debug, Clone, Copy)]
enum Logout {
    /// `POST /bff/logout` by the browser.
    AtBff,
    /// The user signs out at the OP, which posts a logout token to `/bff/backchannel`.
    BackChannel,
}

/// The `[session]` lines of a store (memory: none).
fn store_lines(kind: &str, redis: Option<&RedisServer>) -> String {
    let key = STANDARD.encode([7u8; 32]);
    match (kind, redis) {
        ("memory", _) => String::new(),
        ("sqlite", _) => {
            let path = sqlite_path("refresh-race");
            format!(
                "store = \"sqlite\"\nsqlite_path = {:?}\nkeys = [\"{key}\"]\n",
                path.display().to_string()
            )
        }
        ("redis", Some(redis)) => format!(
            "store = \"redis\"\nredis_url = \"{}\"\nredis_prefix = \"race:\"\nkeys = [\"{key}\"]\n",
            redis.url
        ),
        _ => panic!("no store {kind}"),
    }
}

/// A refresh-token grant of the dev client's with `refresh_token` is refused by the OP (`invalid_grant`): the
/// token is revoked (or otherwise dead) at the OP itself, not just forgotten by the BFF.
pub(crate) async fn assert_op_refuses_refresh_token(
    stack: &Stack,
    refresh_token: &str,
    what: &str,
) {
    let r = reqwest::Client::new()
        .post(format!("{}/token", stack.issuer))
        .basic_auth("hybrid-spa", Some("dev-only-hybrid-secret-0123456789"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .expect("the OP answers");
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("the OP answers JSON");
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{what}: {body}"
    );
}

/// The `token` parameter of each revocation request the proxy saw.
pub(crate) fn revoked_tokens(proxy: &FaultProxy, path: &str) -> Vec<String> {
    proxy
        .request_bodies(path)
        .iter()
        .filter_map(|body| {
            url::form_urlencoded::parse(body)
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

/// A refresh that has reached the OP (which has rotated the refresh token) but whose answer is held; meanwhile
/// the session is ended by `logout`; then the answer arrives. The session must stay ended (no store's write of
/// the renewed session may create it again), the API call gets 401, and the refresh token the refresh obtained
/// is revoked at the OP, which then refuses it.
async fn a_logout_during_a_refresh_stays_a_logout(kind: &str) {
    let redis = match kind {
        "redis" => Some(RedisServer::start().await),
        _ => None,
    };
    let proxy = FaultProxy::start(free_port()).await;
    // Long enough for the held answer (the test releases it as soon as the logout has landed); the /bff deadline
    // must exceed four OP calls of that length (checked at start).
    let toml = format!(
        "[session]\nrefresh_margin_secs = {}\n{}[oidc]\nhttp_timeout_secs = 30\n[server]\nrequest_timeout_secs = 125\n",
        3600 - DUE_AFTER.as_secs(),
        store_lines(kind, redis.as_ref())
    );
    let stack = Stack::start(StackOptions {
        bff_toml: toml,
        op_behind: Some(proxy.op_behind()),
        ..Default::default()
    })
    .await;
    let discovery: Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", stack.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let revocation = url::Url::parse(discovery["revocation_endpoint"].as_str().unwrap()).unwrap();
    let revocation = revocation.path().to_owned();

    for logout in [Logout::AtBff, Logout::BackChannel] {
        let bff = Arc::new(BffClient::new(&stack.origin));
        let op = OpBrowser::new();
        let started = bff.start_login().await;
        let fragment = op
            .authorize(&started.authorization_url, &stack.redirect_uri)
            .await;
        let response = parse_fragment(&fragment).unwrap();
        let id_token = response.id_token.clone().unwrap();
        let created = bff
            .post(
                "/bff/session",
                Some(&serde_json::to_value(&response).unwrap()),
            )
            .await;
        assert_eq!(created.status(), 200, "session creation");
        let issued = Instant::now();
        // The session cookie as another tab of this browser still holds it after a logout in this one: what
        // the store has, not what one cookie jar forgot, decides whether the session is gone.
        let cookie = created
            .cookies()
            .find(|c| c.name().ends_with("bff-session"))
            .map(|c| format!("{}={}", c.name(), c.value()))
            .expect("a session cookie");
        let other_tab = |path: &str| {
            reqwest::Client::new()
                .get(format!("{}{path}", stack.origin))
                .header("cookie", cookie.clone())
                .header("x-csrf", "1")
                .send()
        };
        assert_eq!(other_tab("/bff/user").await.unwrap().status(), 200);
        until_due(issued).await;

        proxy.answer("/token", Answer::HoldAnswer);
        let held_before = proxy.held_answers("/token").len();
        let call = tokio::spawn({
            let bff = bff.clone();
            async move {
                let r = bff.get("/api/demo/hello").await;
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        });
        let answer = wait_for(
            "the refresh to reach the OP and its answer to be held",
            Duration::from_secs(15),
            || async { proxy.held_answers("/token").get(held_before).cloned() },
        )
        .await;
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        let new_refresh_token = answer["refresh_token"]
            .as_str()
            .expect("the OP rotated the refresh token")
            .to_owned();

        match logout {
            Logout::AtBff => assert_eq!(bff.post("/bff/logout", None).await.status(), 200),
            Logout::BackChannel => {
                let status = op
                    .end_session(&stack.issuer, &id_token, &format!("{}/", stack.origin))
                    .await;
                assert!((300..400).contains(&status), "OP logout: {status}");
            }
        }
        wait_for(
            "the logout to end the session",
            Duration::from_secs(15),
            || async { (other_tab("/bff/user").await.ok()?.status() == 401).then_some(()) },
        )
        .await;

        proxy.release();
        proxy.answer("/token", Answer::Forward);
        let (status, body) = call.await.unwrap();
        assert_eq!(
            status, 401,
            "{kind} {logout:?}: the refresh finds the session gone: {body}"
        );
        assert_eq!(
            body["error"], "unauthenticated",
            "{kind} {logout:?}: {body}"
        );
        assert_eq!(
            other_tab("/bff/user").await.unwrap().status(),
            401,
            "{kind} {logout:?}: the session stays gone"
        );
        assert_eq!(
            other_tab("/api/demo/hello").await.unwrap().status(),
            401,
            "{kind} {logout:?}"
        );

        // The refresh token that refresh obtained is revoked (off the request path), and the OP refuses it.
        wait_for(
            "the obtained refresh token to be revoked",
            Duration::from_secs(15),
            || async {
                revoked_tokens(&proxy, &revocation)
                    .contains(&new_refresh_token)
                    .then_some(())
            },
        )
        .await;
        wait_for(
            "the OP to answer every revocation",
            Duration::from_secs(15),
            || async {
                let sent = proxy.request_bodies(&revocation).len() as u64;
                (proxy.answered(&revocation) >= sent).then_some(())
            },
        )
        .await;
        assert_op_refuses_refresh_token(
            &stack,
            &new_refresh_token,
            &format!("{kind} {logout:?}: the OP refuses the revoked refresh token"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_logout_during_a_refresh_stays_a_logout_with_memory() {
    a_logout_during_a_refresh_stays_a_logout("memory").await;
}

#[tokio::test]
async fn a_logout_during_a_refresh_stays_a_logout_with_sqlite() {
    a_logout_during_a_refresh_stays_a_logout("sqlite").await;
}

#[tokio::test]
async fn a_logout_during_a_refresh_stays_a_logout_with_redis() {
    a_logout_during_a_refresh_stays_a_logout("redis").await;
}
