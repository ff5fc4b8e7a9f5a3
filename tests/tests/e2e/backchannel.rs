//! OpenID Connect Back-Channel Logout 1.0 at `POST /bff/backchannel`.
//!
//! With the real dev OP: ending a user's OP session (RP-initiated logout at the OP) makes the OP post a logout
//! token to the BFF, which ends that browser's BFF session and no other. With the scripted test OP's keys: the
//! certification plan's negative cases (each `400` JSON naming its rule, the session untouched) and the valid
//! ones (`200`, `Cache-Control: no-store`).

use async_trait::async_trait;
use bff::session::model::Session;
use bff::session::storage::{SessionStore, StoreError};
use hybrid_e2e::authorize::{authorize_at_op, BffClient};
use hybrid_e2e::op_session::OpBrowser;
use hybrid_e2e::redis_server::RedisServer;
use hybrid_e2e::stack::{start_bff, start_bff_with_store, BffHandle, Stack, StackOptions};
use hybrid_e2e::test_op::{LogoutSigning, TestOp};
use hybrid_e2e::{free_port, sqlite_path, wait_for};
use jsonwebtoken::Algorithm;
use reqwest::header::CACHE_CONTROL;
use serde_json::{json, Value};
use shared::fragment::parse_fragment;
use shared::ResponseType;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

const CLIENT_ID: &str = "hybrid-spa";
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

async fn user_status(bff: &BffClient) -> u16 {
    bff.get("/bff/user").await.status().as_u16()
}

/// Posts the fragment's response to `/bff/session` and checks a session was created for `sub`.
async fn create_session(bff: &BffClient, fragment: &str, sub: &str) -> String {
    let id_token = parse_fragment(fragment)
        .expect("the OP's response parses")
        .id_token;
    let body = bff.create_session(fragment).await;
    assert_eq!(body["user"]["sub"], sub);
    id_token.unwrap_or_default()
}

/// Logs in through the BFF at the dev OP as `user` (`login_hint`), in a fresh browser (BFF and OP cookie
/// jars); answers the browser and the front-channel ID token (the `id_token_hint` for logout at the OP).
async fn login_at_dev_op(stack: &Stack, user: &str) -> (BffClient, OpBrowser, String) {
    let bff = BffClient::new(&stack.origin);
    let started = bff.start_login().await;
    let mut url = Url::parse(&started.authorization_url).expect("authorization URL");
    url.query_pairs_mut().append_pair("login_hint", user);
    let op = OpBrowser::new();
    let fragment = op.authorize(url.as_str(), &stack.redirect_uri).await;
    let id_token = create_session(&bff, &fragment, user).await;
    (bff, op, id_token)
}

#[tokio::test]
async fn the_op_ending_its_session_ends_that_browser_session_only() {
    let stack = Stack::start(StackOptions::default()).await;
    let (alice, alice_at_op, alice_id_token) = login_at_dev_op(&stack, "alice").await;
    let (bob, _bob_at_op, _) = login_at_dev_op(&stack, "bob").await;
    assert_eq!(user_status(&alice).await, 200);
    assert_eq!(user_status(&bob).await, 200);

    // Alice signs out at the OP (not at the BFF): the OP posts a logout token to /bff/backchannel.
    let status = alice_at_op
        .end_session(
            &stack.issuer,
            &alice_id_token,
            &format!("{}/", stack.origin),
        )
        .await;
    assert!(
        (300..400).contains(&status),
        "the OP confirms the logout with a redirect, got {status}"
    );
    wait_for(
        "the back-channel logout to end alice's BFF session",
        Duration::from_secs(15),
        || async { (user_status(&alice).await == 401).then_some(()) },
    )
    .await;
    assert_eq!(
        user_status(&bob).await,
        200,
        "another user's session is untouched"
    );
}

struct Setup {
    op: TestOp,
    bff: BffHandle,
}

async fn setup() -> Setup {
    let op = TestOp::start().await;
    let bff = start_bff(&op.issuer, ResponseType::CodeIdToken, "").await;
    Setup { op, bff }
}

/// A browser signed in at the BFF through the test OP (as `alice`; its ID tokens carry no `sid`).
async fn signed_in(s: &Setup) -> BffClient {
    let bff = BffClient::new(&s.bff.origin);
    let started = bff.start_login().await;
    let fragment = authorize_at_op(&started.authorization_url, &s.bff.redirect_uri).await;
    create_session(&bff, &fragment, "alice").await;
    assert_eq!(user_status(&bff).await, 200);
    bff
}

/// Posts a logout token as the OP does: a form, server to server, no cookie, no `X-CSRF` header. Answers the
/// status, whether `Cache-Control: no-store` was set, and the JSON body (`Null` when empty).
async fn post_logout_token(s: &Setup, token: &str) -> (u16, bool, Value) {
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/bff/backchannel", s.bff.port))
        .form(&[("logout_token", token)])
        .send()
        .await
        .expect("BFF reachable");
    let status = r.status().as_u16();
    let no_store = r
        .headers()
        .get(CACHE_CONTROL)
        .is_some_and(|v| v.as_bytes() == b"no-store");
    let body = r.bytes().await.unwrap();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).expect("a JSON body")
    };
    (status, no_store, body)
}

fn claims(s: &Setup, sid: Option<&str>, sub: Option<&str>) -> Value {
    s.op.logout_claims(CLIENT_ID, sid, sub)
}

#[tokio::test]
async fn the_eight_negative_cases_are_refused_and_end_nothing() {
    let s = setup().await;
    let browser = signed_in(&s).await;
    let valid = || claims(&s, None, Some("alice"));
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = valid();
        change(&mut c);
        c
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "alg_none",
            s.op.logout_token(&valid(), LogoutSigning::AlgNone),
        ),
        (
            "logout_event_missing",
            s.op.logout_token(
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("events");
                }),
                LogoutSigning::Valid,
            ),
        ),
        (
            "logout_nonce_present",
            s.op.logout_token(&with(&|c| c["nonce"] = json!("n-1")), LogoutSigning::Valid),
        ),
        (
            "alg_hmac_rejected",
            s.op.logout_token(&valid(), LogoutSigning::HmacWithPublicKey),
        ),
        (
            "alg_not_allowed",
            s.op.logout_token(&valid(), LogoutSigning::OtherAlg(Algorithm::PS256)),
        ),
        (
            "aud_mismatch",
            s.op.logout_token(
                &with(&|c| c["aud"] = json!("another-client")),
                LogoutSigning::Valid,
            ),
        ),
        (
            "logout_event_missing",
            s.op.logout_token(
                &with(&|c| {
                    c["events"] = json!({"http://schemas.openid.net/event/other": {}});
                }),
                LogoutSigning::Valid,
            ),
        ),
        (
            "logout_event_invalid",
            s.op.logout_token(
                &with(&|c| c["events"] = json!({ EVENT: "not an object" })),
                LogoutSigning::Valid,
            ),
        ),
        (
            "iss_mismatch",
            s.op.logout_token(
                &with(&|c| c["iss"] = json!("https://evil.example.com")),
                LogoutSigning::Valid,
            ),
        ),
        (
            "logout_sid_sub_missing",
            s.op.logout_token(&claims(&s, None, None), LogoutSigning::Valid),
        ),
        (
            "jti_missing",
            s.op.logout_token(
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("jti");
                }),
                LogoutSigning::Valid,
            ),
        ),
        (
            "iat_missing",
            s.op.logout_token(
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("iat");
                }),
                LogoutSigning::Valid,
            ),
        ),
        (
            "logout_exp_missing",
            s.op.logout_token(
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }),
                LogoutSigning::Valid,
            ),
        ),
        (
            "expired",
            s.op.logout_token(
                &with(&|c| c["exp"] = json!(c["iat"].as_i64().unwrap() - 120)),
                LogoutSigning::Valid,
            ),
        ),
    ];
    for (rule, token) in cases {
        let (status, no_store, body) = post_logout_token(&s, &token).await;
        assert_eq!(status, 400, "{rule}: {body}");
        assert_eq!(body["error"], rule, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(no_store, "{rule}: Cache-Control: no-store");
        assert_eq!(user_status(&browser).await, 200, "{rule}: session alive");
    }

    // Replay: a valid token naming nobody signed in is accepted once, then refused.
    let token =
        s.op.logout_token(&claims(&s, None, Some("nobody")), LogoutSigning::Valid);
    let (status, no_store, _) = post_logout_token(&s, &token).await;
    assert_eq!((status, no_store), (200, true), "the first delivery");
    let (status, _, body) = post_logout_token(&s, &token).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "jti_replayed");
    assert_eq!(user_status(&browser).await, 200, "session alive");

    // Not a form, or no token: 400 JSON too, and no X-CSRF header was ever needed.
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/bff/backchannel", s.bff.port))
        .json(&json!({"logout_token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "bad_request");
    let (status, _, body) = post_logout_token(&s, "").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
    assert_eq!(s.op.token_requests(), 1, "only the login reached the OP");
}

#[tokio::test]
async fn valid_tokens_end_the_sessions_they_name() {
    let s = setup().await;

    // sub only: every session of that user at this OP ends.
    let one = signed_in(&s).await;
    let two = signed_in(&s).await;
    let token =
        s.op.logout_token(&claims(&s, None, Some("alice")), LogoutSigning::Valid);
    let (status, no_store, body) = post_logout_token(&s, &token).await;
    assert_eq!((status, no_store, body), (200, true, Value::Null));
    assert_eq!(user_status(&one).await, 401);
    assert_eq!(user_status(&two).await, 401);

    // A token signed with the other published key (ES256) is as good.
    let three = signed_in(&s).await;
    s.op.sign_with("ec-1");
    let token =
        s.op.logout_token(&claims(&s, None, Some("alice")), LogoutSigning::Valid);
    assert_eq!(post_logout_token(&s, &token).await.0, 200);
    assert_eq!(user_status(&three).await, 401);
    s.op.sign_with("rsa-1");

    // sid only, and sid + sub: the test OP's ID tokens carry no sid, so no session here has one and a sid
    // names none of them (sid + sub must both match). Valid tokens all the same: 200, nothing ended. The
    // dev OP test above covers sid + sub matching a real session; the store's unit tests cover sid only.
    let four = signed_in(&s).await;
    for (sid, sub) in [
        (Some("op-session-1"), None),
        (Some("op-session-1"), Some("alice")),
    ] {
        let token =
            s.op.logout_token(&claims(&s, sid, sub), LogoutSigning::Valid);
        let (status, no_store, _) = post_logout_token(&s, &token).await;
        assert_eq!((status, no_store), (200, true), "{sid:?} {sub:?}");
        assert_eq!(user_status(&four).await, 200, "{sid:?} {sub:?}");
    }
    // Another user's sub ends nothing either.
    let token =
        s.op.logout_token(&claims(&s, None, Some("bob")), LogoutSigning::Valid);
    assert_eq!(post_logout_token(&s, &token).await.0, 200);
    assert_eq!(user_status(&four).await, 200);
}

/// An OP that omits `exp` (glewlwyd 2.7) is accepted only when the operator says so
/// (`oidc.logout_token_exp_optional`); a present `exp` is checked either way.
#[tokio::test]
async fn a_logout_token_without_exp_needs_the_operators_consent() {
    let op = TestOp::start().await;
    let lenient = Setup {
        bff: start_bff(
            &op.issuer,
            ResponseType::CodeIdToken,
            "[oidc]\nlogout_token_exp_optional = true\n",
        )
        .await,
        op,
    };
    let browser = signed_in(&lenient).await;
    let mut no_exp = claims(&lenient, None, Some("alice"));
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut expired = claims(&lenient, None, Some("alice"));
    expired["exp"] = json!(expired["iat"].as_i64().unwrap() - 120);
    let (status, _, body) = post_logout_token(
        &lenient,
        &lenient.op.logout_token(&expired, LogoutSigning::Valid),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("expired")));
    assert_eq!(user_status(&browser).await, 200, "session alive");
    let (status, _, body) = post_logout_token(
        &lenient,
        &lenient.op.logout_token(&no_exp, LogoutSigning::Valid),
    )
    .await;
    assert_eq!(status, 200, "accepted with the switch: {body}");
    assert_eq!(user_status(&browser).await, 401, "the session ended");
}

/// The `jti` replay check holds across replicas: two BFFs sharing a Redis store, a logout token accepted by
/// one is refused as `jti_replayed` by the other (the OP's retry or an attacker's replay may reach either).
#[tokio::test]
async fn a_jti_spent_at_one_replica_is_refused_by_the_other() {
    let redis = hybrid_e2e::redis_server::RedisServer::start().await;
    let store = redis.session_toml("bcl:", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=");
    let op = TestOp::start().await;
    let a = Setup {
        bff: start_bff(&op.issuer, ResponseType::CodeIdToken, &store).await,
        op,
    };
    let b_bff = start_bff(&a.op.issuer, ResponseType::CodeIdToken, &store).await;
    let browser = signed_in(&a).await;
    let token =
        a.op.logout_token(&claims(&a, None, Some("nobody")), LogoutSigning::Valid);
    assert_eq!(post_logout_token(&a, &token).await.0, 200, "replica A");
    let b = Setup {
        op: a.op,
        bff: b_bff,
    };
    let (status, no_store, body) = post_logout_token(&b, &token).await;
    assert_eq!((status, no_store), (400, true), "replica B: {body}");
    assert_eq!(body["error"], "jti_replayed");
    // A fresh token (new jti) is accepted by B and, naming alice, ends her session on both replicas.
    let token =
        b.op.logout_token(&claims(&b, None, Some("alice")), LogoutSigning::Valid);
    assert_eq!(post_logout_token(&b, &token).await.0, 200);
    assert_eq!(user_status(&browser).await, 401);
}

/// A session store in front of a real one that fails the next back-channel removal when armed, as a store
/// that is unreachable for a moment does; everything else goes through.
struct FailingRemoval {
    inner: Arc<dyn SessionStore>,
    armed: Arc<AtomicBool>,
}

#[async_trait]
impl SessionStore for FailingRemoval {
    async fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.inner.get(id).await
    }
    async fn insert(&self, id: &str, session: Session) -> Result<(), StoreError> {
        self.inner.insert(id, session).await
    }
    async fn update(&self, id: &str, session: Session) -> Result<bool, StoreError> {
        self.inner.update(id, session).await
    }
    async fn remove(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.inner.remove(id).await
    }
    async fn remove_matching(
        &self,
        issuer: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<usize, StoreError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            return Err(StoreError("unreachable for a moment (test)".into()));
        }
        self.inner.remove_matching(issuer, sid, sub).await
    }
    async fn count(&self) -> Result<usize, StoreError> {
        self.inner.count().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn lock_refresh(
        &self,
        id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        self.inner.lock_refresh(id, owner, lease).await
    }
    async fn unlock_refresh(&self, id: &str, owner: &str) -> Result<(), StoreError> {
        self.inner.unlock_refresh(id, owner).await
    }
    async fn remember_once(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.inner.remember_once(key, ttl).await
    }
    async fn is_remembered(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.is_remembered(key).await
    }
}

/// The store fails while a valid logout token is being acted on: the OP gets 503 and the sessions live on; the
/// OP's retry of the same token (same `jti`) is then accepted and ends them, and only after that is a replay
/// refused. With each store behind the failing wrapper.
async fn a_failed_removal_leaves_the_jti_unspent(kind: &str) {
    let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let redis = match kind {
        "redis" => Some(RedisServer::start().await),
        _ => None,
    };
    let store = match (kind, &redis) {
        ("memory", _) => String::new(),
        ("sqlite", _) => {
            let path = sqlite_path("bcl-retry");
            format!(
                "[session]\nstore = \"sqlite\"\nsqlite_path = {:?}\nkeys = [\"{key}\"]\n",
                path.display().to_string()
            )
        }
        ("redis", Some(redis)) => redis.session_toml("bclr:", key),
        _ => panic!("no store {kind}"),
    };
    let op = TestOp::start().await;
    let armed = Arc::new(AtomicBool::new(false));
    let bff = start_bff_with_store(
        free_port(),
        &op.issuer,
        ResponseType::CodeIdToken,
        &store,
        |inner| {
            Arc::new(FailingRemoval {
                inner,
                armed: armed.clone(),
            })
        },
    )
    .await;
    let s = Setup { op, bff };
    let one = signed_in(&s).await;
    let two = signed_in(&s).await;
    let token =
        s.op.logout_token(&claims(&s, None, Some("alice")), LogoutSigning::Valid);

    armed.store(true, Ordering::SeqCst);
    let (status, no_store, body) = post_logout_token(&s, &token).await;
    assert_eq!((status, no_store), (503, true), "{kind}: {body}");
    assert_eq!(body["error"], "session_store_unavailable", "{kind}: {body}");
    assert!(!armed.load(Ordering::SeqCst), "the removal was attempted");
    assert_eq!(
        user_status(&one).await,
        200,
        "{kind}: kept while the store failed"
    );
    assert_eq!(user_status(&two).await, 200, "{kind}");

    let (status, no_store, body) = post_logout_token(&s, &token).await;
    assert_eq!(
        (status, no_store, &body),
        (200, true, &Value::Null),
        "{kind}: the OP's retry of the same token is accepted"
    );
    assert_eq!(user_status(&one).await, 401, "{kind}: ended by the retry");
    assert_eq!(user_status(&two).await, 401, "{kind}");

    let (status, _, body) = post_logout_token(&s, &token).await;
    assert_eq!(status, 400, "{kind}: {body}");
    assert_eq!(body["error"], "jti_replayed", "{kind}: spent once it acted");
}

#[tokio::test]
async fn the_ops_retry_after_a_store_failure_ends_the_sessions_with_memory() {
    a_failed_removal_leaves_the_jti_unspent("memory").await;
}

#[tokio::test]
async fn the_ops_retry_after_a_store_failure_ends_the_sessions_with_sqlite() {
    a_failed_removal_leaves_the_jti_unspent("sqlite").await;
}

#[tokio::test]
async fn the_ops_retry_after_a_store_failure_ends_the_sessions_with_redis() {
    a_failed_removal_leaves_the_jti_unspent("redis").await;
}
