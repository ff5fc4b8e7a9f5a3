//! Userinfo (Core 5.3) through the real BFF against the scripted OP ([`hybrid_e2e::test_op`]): every answer its
//! userinfo endpoint can give, for each of the three response types where the shape differs, and what the
//! sign-in, `/bff/user` and `/metrics` then say.
//!
//! The rule under test: a userinfo about another user, or one that fails its signature or audience check, or an
//! encrypted one, refuses the sign-in and leaves no session, always; one that cannot be read (500, not JSON, too
//! large, too slow) leaves the ID token's claims, marked `unavailable`, unless `oidc.userinfo = "required"`.

use hybrid_e2e::authorize::{authorize_at_op, BffClient};
use hybrid_e2e::stack::{start_bff, BffHandle};
use hybrid_e2e::test_op::{Options, Scenario, TestOp, UserinfoAnswer};
use serde_json::Value;
use shared::ResponseType;

/// The BFF gives up on the OP after this (the hanging userinfo takes longer); the userinfo step gets the same.
const HTTP_TIMEOUT: &str = "[oidc]\nhttp_timeout_secs = 1\n";

const ALL_TYPES: [ResponseType; 3] = [
    ResponseType::CodeIdToken,
    ResponseType::CodeToken,
    ResponseType::CodeIdTokenToken,
];

struct Setup {
    op: TestOp,
    bff: BffHandle,
}

/// A scripted OP shaped by `options` and a BFF for it with `oidc_lines` added to its `[oidc]` table.
async fn setup(response_type: ResponseType, options: Options, oidc_lines: &str) -> Setup {
    let op = TestOp::start_with(options).await;
    let bff = start_bff(
        &op.issuer,
        response_type,
        &format!("{HTTP_TIMEOUT}{oidc_lines}"),
    )
    .await;
    Setup { op, bff }
}

/// Logs in as the SPA does; answers the browser and the status and body of `POST /bff/session`.
async fn log_in(s: &Setup) -> (BffClient, u16, Value) {
    let client = BffClient::new(&s.bff.origin);
    let started = client.start_login().await;
    let fragment = authorize_at_op(&started.authorization_url, &s.bff.redirect_uri).await;
    let response = shared::fragment::parse_fragment(&fragment).expect("the OP's response parses");
    let r = client
        .post(
            "/bff/session",
            Some(&serde_json::to_value(&response).expect("serialisable")),
        )
        .await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("the BFF answers JSON");
    (client, status, body)
}

/// The claim `name` in a session answer: its value and source.
fn claim<'a>(info: &'a Value, name: &str) -> Option<(&'a Value, &'a str)> {
    info["claims"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
        .map(|c| (&c["value"], c["source"].as_str().unwrap_or_default()))
}

/// A sign-in that succeeds; answers the browser and `/bff/user`, after checking that it says what
/// `POST /bff/session` said.
async fn expect_session(s: &Setup) -> (BffClient, Value) {
    let (client, status, body) = log_in(s).await;
    assert_eq!(status, 200, "session creation: {body}");
    let r = client.get("/bff/user").await;
    assert_eq!(r.status(), 200, "a session exists");
    let user: Value = r.json().await.expect("JSON");
    assert_eq!(user["claims"], body["claims"], "{user} / {body}");
    assert_eq!(user["userinfo"], body["userinfo"], "{user} / {body}");
    assert_eq!(user["user"], body["user"], "{user} / {body}");
    (client, user)
}

/// A sign-in refused with `status` and `rule` that leaves no session.
async fn expect_refusal(s: &Setup, status: u16, rule: &str) {
    let (client, got, body) = log_in(s).await;
    assert_eq!(
        (got, body["error"].as_str()),
        (status, Some(rule)),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(client.get("/bff/user").await.status(), 401, "no session");
}

/// The ID token's claims alone, with userinfo marked unavailable and a reason.
fn assert_id_token_only_and_unavailable(user: &Value) {
    assert_eq!(user["userinfo"]["status"], "unavailable", "{user}");
    assert!(
        user["userinfo"]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{user}"
    );
    assert_eq!(claim(user, "sub"), Some((&"alice".into(), "id_token")));
    assert_eq!(
        claim(user, "name"),
        Some((&"Alice Test".into(), "id_token"))
    );
    assert_eq!(claim(user, "email"), None, "userinfo's email is not there");
    assert_eq!(user["user"]["name"], "Alice Test");
}

async fn metric(s: &Setup, series: &str) -> u64 {
    let text = reqwest::get(format!("{}/metrics", s.bff.origin))
        .await
        .expect("metrics reachable")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {text}"))
}

/// JSON and signed JWT answers, every response type: the merged claims with their sources (userinfo wins for
/// `name`, `sub` stays the ID token's, userinfo adds `email`), the report `ok`, and `/bff/user` the same.
#[tokio::test]
async fn json_and_signed_userinfo_are_merged_for_every_response_type() {
    for response_type in ALL_TYPES {
        let s = setup(response_type, Options::default(), "").await;
        for (answer, signed) in [(UserinfoAnswer::Json, false), (UserinfoAnswer::Jwt, true)] {
            s.op.set_scenario(Scenario::userinfo(answer));
            s.op.set_profile_name("Alice Userinfo");
            let before = s.op.userinfo_requests();
            let (_, user) = expect_session(&s).await;
            let at = format!("{response_type} {answer:?}: {user}");
            assert_eq!(s.op.userinfo_requests(), before + 1, "{at}");
            assert_eq!(user["userinfo"]["status"], "ok", "{at}");
            assert_eq!(user["userinfo"]["reason"], Value::Null, "{at}");
            assert_eq!(user["userinfo"]["signed"], signed, "{at}");
            assert!(user["userinfo"]["elapsed_ms"].is_u64(), "{at}");
            assert_eq!(
                claim(&user, "sub"),
                Some((&"alice".into(), "id_token")),
                "{at}"
            );
            assert_eq!(
                claim(&user, "name"),
                Some((&"Alice Userinfo".into(), "userinfo")),
                "{at}"
            );
            assert_eq!(
                claim(&user, "email"),
                Some((&"alice@example.com".into(), "userinfo")),
                "{at}"
            );
            for protocol in ["iss", "aud", "exp", "iat", "nonce", "at_hash", "c_hash"] {
                assert_eq!(claim(&user, protocol), None, "{protocol} listed: {at}");
            }
            assert_eq!(user["user"]["name"], "Alice Userinfo", "{at}");
            assert_eq!(user["user"]["email"], "alice@example.com", "{at}");
        }
    }
}

/// Core 5.3.2: a userinfo `sub` other than the ID token's refuses the sign-in and leaves no session, with every
/// response type, whatever `oidc.userinfo` says.
#[tokio::test]
async fn a_userinfo_sub_mismatch_refuses_the_login_and_creates_no_session() {
    for response_type in ALL_TYPES {
        let s = setup(response_type, Options::default(), "").await;
        s.op.set_scenario(Scenario::userinfo(UserinfoAnswer::OtherSub));
        expect_refusal(&s, 400, "userinfo_sub_mismatch").await;
        assert_eq!(
            metric(&s, "bff_userinfo_total{outcome=\"refused\"}").await,
            1
        );
        assert_eq!(metric(&s, "bff_userinfo_total{outcome=\"ok\"}").await, 0);
    }
}

/// A signed userinfo whose signature does not verify, one for another audience, and an encrypted one (which
/// this app cannot read) refuse the sign-in, also when userinfo is not required.
#[tokio::test]
async fn a_bad_signature_wrong_audience_or_encrypted_userinfo_refuses_the_login() {
    let s = setup(ResponseType::CodeIdToken, Options::default(), "").await;
    for (answer, words) in [
        (UserinfoAnswer::BadSignature, "bad signature"),
        (UserinfoAnswer::JwtWrongAud, "aud mismatch"),
        (UserinfoAnswer::Encrypted, "encrypted"),
    ] {
        s.op.set_scenario(Scenario::userinfo(answer));
        let (client, status, body) = log_in(&s).await;
        assert_eq!(status, 400, "{answer:?}: {body}");
        assert_eq!(body["error"], "userinfo_invalid", "{answer:?}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{answer:?}: {message}");
        assert_eq!(client.get("/bff/user").await.status(), 401, "no session");
    }
    assert_eq!(
        metric(&s, "bff_userinfo_total{outcome=\"refused\"}").await,
        3
    );
}

/// A userinfo that cannot be read (500, not JSON, too large, no answer within the timeout): the sign-in succeeds
/// with the ID token's claims, `/bff/user` says userinfo was unavailable, and the metric counts each.
#[tokio::test]
async fn an_unreadable_userinfo_leaves_the_id_token_claims_marked_unavailable() {
    let s = setup(ResponseType::CodeIdToken, Options::default(), "").await;
    let unreadable = [
        UserinfoAnswer::ServerError,
        UserinfoAnswer::Garbage,
        UserinfoAnswer::Oversized,
        UserinfoAnswer::Hang,
    ];
    for (n, answer) in unreadable.into_iter().enumerate() {
        s.op.set_scenario(Scenario::userinfo(answer));
        let (_, user) = expect_session(&s).await;
        assert_id_token_only_and_unavailable(&user);
        assert_eq!(
            metric(&s, "bff_userinfo_total{outcome=\"unavailable\"}").await,
            n as u64 + 1,
            "{answer:?}"
        );
    }
    assert_eq!(metric(&s, "bff_userinfo_total{outcome=\"ok\"}").await, 0);
    // The logins themselves count as ok.
    assert_eq!(
        metric(&s, "bff_logins_total{outcome=\"ok\",reason=\"ok\"}").await,
        4
    );
}

/// With `oidc.userinfo = "required"`, the same unreadable answers refuse the sign-in (503
/// `userinfo_unavailable`) and leave no session; a good one still signs in.
#[tokio::test]
async fn an_unreadable_userinfo_refuses_the_login_when_required() {
    let s = setup(
        ResponseType::CodeIdToken,
        Options::default(),
        "userinfo = \"required\"\n",
    )
    .await;
    for answer in [
        UserinfoAnswer::ServerError,
        UserinfoAnswer::Garbage,
        UserinfoAnswer::Oversized,
        UserinfoAnswer::Hang,
    ] {
        s.op.set_scenario(Scenario::userinfo(answer));
        expect_refusal(&s, 503, "userinfo_unavailable").await;
    }
    s.op.set_scenario(Scenario::userinfo(UserinfoAnswer::Json));
    let (_, user) = expect_session(&s).await;
    assert_eq!(user["userinfo"]["status"], "ok", "{user}");
}

/// An OP without a userinfo endpoint (`not_offered`) and a BFF with userinfo off (`off`): the ID token's claims,
/// and no userinfo request made; with `required`, an OP without one refuses every sign-in.
#[tokio::test]
async fn userinfo_not_offered_or_off_is_said_and_not_requested() {
    let no_endpoint = Options {
        without_userinfo: true,
        ..Options::default()
    };
    for (options, toml, status) in [
        (no_endpoint, "", "not_offered"),
        (Options::default(), "userinfo = \"off\"\n", "off"),
    ] {
        let s = setup(ResponseType::CodeIdToken, options, toml).await;
        let (_, user) = expect_session(&s).await;
        assert_eq!(user["userinfo"]["status"], status, "{user}");
        assert_eq!(user["userinfo"]["reason"], Value::Null, "{user}");
        assert_eq!(
            claim(&user, "name"),
            Some((&"Alice Test".into(), "id_token"))
        );
        assert_eq!(s.op.userinfo_requests(), 0, "{status}");
    }
    let s = setup(
        ResponseType::CodeIdToken,
        no_endpoint,
        "userinfo = \"required\"\n",
    )
    .await;
    expect_refusal(&s, 503, "userinfo_unavailable").await;
}

/// `oidc.userinfo_refresh`: a refresh of the access token reads userinfo again, so a name changed at the OP
/// shows up in `/bff/user`; a refresh whose userinfo is about another user ends the session.
#[tokio::test]
async fn a_refresh_rereads_userinfo_when_configured() {
    // The scripted OP's tokens live 300 s: with this margin every API call finds the token due and refreshes.
    // The API is the OP's own key set (any upstream that answers will do).
    let op = TestOp::start().await;
    let toml = format!(
        "{HTTP_TIMEOUT}userinfo_refresh = true\n[session]\nrefresh_margin_secs = 300\n[apis.op]\nurl = \"{}\"\n",
        op.issuer
    );
    let bff = start_bff(&op.issuer, ResponseType::CodeIdToken, &toml).await;
    let s = Setup { op, bff };
    let (client, user) = expect_session(&s).await;
    assert_eq!(user["user"]["name"], "Alice Test", "{user}");

    s.op.set_profile_name("Alice Renamed");
    let before = s.op.userinfo_requests();
    let r = client.get("/api/op/jwks").await;
    assert_eq!(r.status(), 200, "the API call after the refresh");
    assert_eq!(
        s.op.userinfo_requests(),
        before + 1,
        "read again at the refresh"
    );
    let user: Value = client.get("/bff/user").await.json().await.expect("JSON");
    assert_eq!(user["user"]["name"], "Alice Renamed", "{user}");
    assert_eq!(
        claim(&user, "name"),
        Some((&"Alice Renamed".into(), "userinfo"))
    );
    assert_eq!(user["userinfo"]["status"], "ok", "{user}");

    // Unreadable at a refresh: the claims shown so far stay, the report says so.
    s.op.set_scenario(Scenario::userinfo(UserinfoAnswer::ServerError));
    assert_eq!(client.get("/api/op/jwks").await.status(), 200);
    let user: Value = client.get("/bff/user").await.json().await.expect("JSON");
    assert_eq!(user["user"]["name"], "Alice Renamed", "{user}");
    assert_eq!(user["userinfo"]["status"], "unavailable", "{user}");

    // About another user at a refresh: the session ends.
    s.op.set_scenario(Scenario::userinfo(UserinfoAnswer::OtherSub));
    let r = client.get("/api/op/jwks").await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["error"], "session_expired", "{body}");
    assert_eq!(client.get("/bff/user").await.status(), 401);
}
