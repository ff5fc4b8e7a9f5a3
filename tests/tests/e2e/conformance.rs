//! Conformance: the real BFF against a scripted, tampering OP ([`hybrid_e2e::test_op`]). Every case starts its own
//! OP and BFF, logs in the way the SPA does (start the login, follow the OP's redirect, read the fragment, post
//! it to `/bff/session`), and checks the answer: a session for the valid cases; for the others the HTTP status,
//! the rule in the JSON `error`, no session, and, when the front channel is at fault, no token request.

use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::stack::{start_bff, BffHandle};
use hybrid_e2e::test_op::{Front, Options, Scenario, TestOp, TokenAnswer};
use reqwest::header::LOCATION;
use serde_json::Value;
use shared::fragment::{parse_fragment, AuthorizationResponse};
use shared::{ResponseType, ValidationError};
use std::time::Duration;
use url::Url;

/// The BFF gives up on the OP after this; the slow token endpoint takes longer.
const HTTP_TIMEOUT: &str = "[oidc]\nhttp_timeout_secs = 1";

struct Setup {
    op: TestOp,
    bff: BffHandle,
}

async fn setup(response_type: ResponseType) -> Setup {
    setup_with(response_type, Options::default()).await
}

async fn setup_with(response_type: ResponseType, options: Options) -> Setup {
    let op = TestOp::start_with(options).await;
    let bff = start_bff(&op.issuer, response_type, HTTP_TIMEOUT).await;
    Setup { op, bff }
}

/// An OP whose discovery advertises the RFC 9207 `iss` parameter.
fn iss_advertised() -> Options {
    Options {
        iss_parameter: true,
        ..Options::default()
    }
}

/// Starts a login at the BFF and goes to the OP's authorization endpoint; answers the browser (cookie jar) and
/// the parsed fragment the OP redirected to.
async fn authorize(s: &Setup) -> (BffClient, Result<AuthorizationResponse, ValidationError>) {
    let client = BffClient::new(&s.bff.origin);
    let started = client.start_login().await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = no_redirect
        .get(&started.authorization_url)
        .send()
        .await
        .expect("test OP reachable");
    assert_eq!(r.status(), 302, "the OP redirects back");
    let location = r
        .headers()
        .get(LOCATION)
        .expect("a Location")
        .to_str()
        .expect("ASCII Location");
    assert!(
        location.starts_with(&format!("{}#", s.bff.redirect_uri)),
        "{location}"
    );
    let url = Url::parse(location).expect("Location is a URL");
    let fragment = url.fragment().expect("a fragment").to_owned();
    (client, parse_fragment(&fragment))
}

/// Posts the response to `/bff/session`; answers the status and the JSON body.
async fn post_session(client: &BffClient, response: &AuthorizationResponse) -> (u16, Value) {
    let r = client
        .post(
            "/bff/session",
            Some(&serde_json::to_value(response).expect("serialisable")),
        )
        .await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("the BFF answers JSON");
    (status, body)
}

/// A login that must succeed with a session.
async fn expect_session(s: &Setup) {
    let before = s.op.token_requests();
    let (client, response) = authorize(s).await;
    let response = response.expect("the fragment parses");
    let (status, body) = post_session(&client, &response).await;
    assert_eq!(status, 200, "session creation: {body}");
    assert_eq!(body["user"]["sub"], "alice", "{body}");
    assert_eq!(body["user"]["name"], "Alice Test", "{body}");
    assert_eq!(s.op.token_requests(), before + 1, "one token request");
    let user = client.get("/bff/user").await;
    assert_eq!(user.status(), 200, "a session exists");
    let user: Value = user.json().await.expect("JSON");
    assert_eq!(user["user"]["sub"], "alice");
}

/// Where the case fails: in the front channel (the token endpoint must never be called) or at the token
/// endpoint (called exactly once).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum At {
    FrontChannel,
    TokenEndpoint,
}

/// A login that must be refused with `status` and `rule`, and leave no session.
async fn expect_refusal(s: &Setup, at: At, status: u16, rule: &str) {
    let before = s.op.token_requests();
    let (client, response) = authorize(s).await;
    let response = response.expect("the fragment parses");
    let (got_status, body) = post_session(&client, &response).await;
    assert_eq!(body["error"], rule, "{body}");
    assert_eq!(got_status, status, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(client.get("/bff/user").await.status(), 401, "no session");
    let expected = match at {
        At::FrontChannel => before,
        At::TokenEndpoint => before + 1,
    };
    assert_eq!(
        s.op.token_requests(),
        expected,
        "token requests for a failure in the {at:?}"
    );
}

/// One case on a fresh OP and BFF with `code id_token`.
async fn front(front: Front, rule: &str) {
    front_with(ResponseType::CodeIdToken, front, rule).await;
}

async fn front_with(response_type: ResponseType, front: Front, rule: &str) {
    let s = setup(response_type).await;
    s.op.set_scenario(Scenario::front(front));
    expect_refusal(&s, At::FrontChannel, 400, rule).await;
}

async fn token_endpoint(answer: TokenAnswer, status: u16, rule: &str) {
    let s = setup(ResponseType::CodeIdToken).await;
    s.op.set_scenario(Scenario::token(answer));
    expect_refusal(&s, At::TokenEndpoint, status, rule).await;
}

// --- valid responses ---

#[tokio::test]
async fn valid_rs256() {
    let s = setup(ResponseType::CodeIdToken).await;
    expect_session(&s).await;
}

#[tokio::test]
async fn valid_es256() {
    let s = setup(ResponseType::CodeIdToken).await;
    s.op.sign_with("ec-1");
    expect_session(&s).await;
}

#[tokio::test]
async fn valid_code_token() {
    let s = setup(ResponseType::CodeToken).await;
    expect_session(&s).await;
}

#[tokio::test]
async fn valid_code_id_token_token() {
    let s = setup(ResponseType::CodeIdTokenToken).await;
    expect_session(&s).await;
}

#[tokio::test]
async fn kid_absent_with_one_key() {
    let s = setup(ResponseType::CodeIdToken).await;
    s.op.serve_only(&["rsa-1"]);
    s.op.set_scenario(Scenario::front(Front::NoKid));
    expect_session(&s).await;
}

/// The OP rotates its key (the old one leaves the set) right after a login; the next login, at once, is
/// accepted: the BFF's refetch throttle does not refuse the first unknown kid after an ordinary fetch.
#[tokio::test]
async fn key_rotation_is_picked_up_by_refetching() {
    let s = setup(ResponseType::CodeIdToken).await;
    expect_session(&s).await;
    let fetches = s.op.jwks_requests();
    assert!(fetches >= 1, "the BFF has cached the key set");
    s.op.rotate();
    s.op.retire("rsa-1");
    expect_session(&s).await;
    assert!(
        s.op.jwks_requests() > fetches,
        "the new kid made the BFF fetch the key set again"
    );
}

/// Logins whose ID tokens name made-up kids, back to back: each is refused, and the BFF fetches the key set
/// at most its burst of times (plus one per interval that passed), not once per token.
#[tokio::test]
async fn a_flood_of_unknown_kids_makes_a_bounded_number_of_key_set_fetches() {
    let s = setup(ResponseType::CodeIdToken).await;
    expect_session(&s).await;
    let started = std::time::Instant::now();
    let fetches = s.op.jwks_requests();
    s.op.set_scenario(Scenario::front(Front::UnknownKid));
    for _ in 0..12 {
        expect_refusal(&s, At::FrontChannel, 400, "unknown_kid").await;
    }
    let limits = bff::oidc::jwks::Limits::default();
    let refills = started.elapsed().as_secs() / limits.min_refetch_interval.as_secs();
    let made = s.op.jwks_requests() - fetches;
    assert!(
        made >= 1 && made <= u64::from(limits.refetch_burst) + refills,
        "{made} key set fetches for 12 unknown kids"
    );
}

// --- the ID token's signature and header ---

#[tokio::test]
async fn bad_signature() {
    front(Front::BadSignature, "bad_signature").await;
}

#[tokio::test]
async fn alg_none() {
    front(Front::AlgNone, "alg_none").await;
}

#[tokio::test]
async fn hs256_with_the_rsa_public_key() {
    front(Front::HmacWithPublicKey, "alg_hmac_rejected").await;
}

#[tokio::test]
async fn unknown_kid_even_after_refetch() {
    let s = setup(ResponseType::CodeIdToken).await;
    expect_session(&s).await;
    let fetches = s.op.jwks_requests();
    s.op.set_scenario(Scenario::front(Front::UnknownKid));
    expect_refusal(&s, At::FrontChannel, 400, "unknown_kid").await;
    assert!(
        s.op.jwks_requests() > fetches,
        "the BFF fetched the key set again before refusing"
    );
}

#[tokio::test]
async fn id_token_not_a_jwt() {
    front(Front::NotAJwt, "malformed_token").await;
}

// --- the ID token's claims ---

#[tokio::test]
async fn wrong_iss() {
    front(Front::WrongIss, "iss_mismatch").await;
}

#[tokio::test]
async fn wrong_aud() {
    front(Front::WrongAud, "aud_mismatch").await;
}

#[tokio::test]
async fn azp_of_another_client() {
    front(Front::OtherAzp, "azp_mismatch").await;
}

#[tokio::test]
async fn expired() {
    front(Front::Expired, "expired").await;
}

#[tokio::test]
async fn iat_in_the_future() {
    front(Front::IatInFuture, "iat_in_future").await;
}

#[tokio::test]
async fn iat_missing() {
    front(Front::NoIat, "iat_missing").await;
}

#[tokio::test]
async fn sub_missing() {
    front(Front::NoSub, "sub_missing").await;
}

#[tokio::test]
async fn wrong_nonce() {
    front(Front::WrongNonce, "nonce_mismatch").await;
}

#[tokio::test]
async fn nonce_missing() {
    front(Front::NoNonce, "nonce_missing").await;
}

#[tokio::test]
async fn bad_c_hash() {
    front(Front::BadCHash, "c_hash_mismatch").await;
}

#[tokio::test]
async fn c_hash_missing() {
    front(Front::NoCHash, "c_hash_missing").await;
}

#[tokio::test]
async fn bad_at_hash() {
    front_with(
        ResponseType::CodeIdTokenToken,
        Front::BadAtHash,
        "at_hash_mismatch",
    )
    .await;
}

#[tokio::test]
async fn at_hash_missing() {
    front_with(
        ResponseType::CodeIdTokenToken,
        Front::NoAtHash,
        "at_hash_missing",
    )
    .await;
}

// --- the response around the ID token ---

#[tokio::test]
async fn state_mismatch() {
    front(Front::WrongState, "state_mismatch").await;
}

#[tokio::test]
async fn wrong_rfc9207_iss_parameter() {
    front(Front::WrongIssParameter, "iss_parameter_mismatch").await;
}

#[tokio::test]
async fn rfc9207_iss_parameter_present_when_advertised() {
    for rt in ResponseType::ALL {
        let s = setup_with(rt, iss_advertised()).await;
        expect_session(&s).await;
    }
}

/// node-oidc-provider's behaviour: advertised, yet absent beside an ID token, whose `iss` identifies the OP.
#[tokio::test]
async fn rfc9207_iss_parameter_absent_beside_an_id_token_when_advertised() {
    for rt in [ResponseType::CodeIdToken, ResponseType::CodeIdTokenToken] {
        let s = setup_with(rt, iss_advertised()).await;
        s.op.set_scenario(Scenario::front(Front::NoIssParameter));
        expect_session(&s).await;
    }
}

/// `code token` carries no ID token: an advertised `iss` that is absent is refused before the token endpoint.
#[tokio::test]
async fn rfc9207_iss_parameter_missing_with_code_token_when_advertised() {
    let s = setup_with(ResponseType::CodeToken, iss_advertised()).await;
    s.op.set_scenario(Scenario::front(Front::NoIssParameter));
    expect_refusal(&s, At::FrontChannel, 400, "iss_parameter_missing").await;
}

#[tokio::test]
async fn error_response() {
    let s = setup(ResponseType::CodeIdToken).await;
    s.op.set_scenario(Scenario::front(Front::Error));
    let (client, response) = authorize(&s).await;
    let error = response.expect_err("an error response is not a response to use");
    assert_eq!(error.rule(), "op_error");
    assert!(
        matches!(&error, ValidationError::OpError { error, .. } if error == "access_denied"),
        "{error:?}"
    );
    assert_eq!(client.get("/bff/user").await.status(), 401, "no session");
    assert_eq!(s.op.token_requests(), 0);
}

// --- the token endpoint's ID token ---

#[tokio::test]
async fn token_endpoint_other_sub() {
    token_endpoint(TokenAnswer::OtherSub, 400, "sub_changed").await;
}

/// Another `iss` at the token endpoint is caught by the issuer rule itself, before the same-issuer comparison
/// with the front-channel token could report `iss_changed`.
#[tokio::test]
async fn token_endpoint_other_iss() {
    token_endpoint(TokenAnswer::OtherIss, 400, "iss_mismatch").await;
}

#[tokio::test]
async fn token_endpoint_other_nonce() {
    token_endpoint(TokenAnswer::OtherNonce, 400, "nonce_mismatch").await;
}

#[tokio::test]
async fn token_endpoint_bad_signature() {
    token_endpoint(TokenAnswer::BadSignature, 400, "bad_signature").await;
}

// --- the token endpoint's failures ---

#[tokio::test]
async fn token_endpoint_invalid_grant() {
    token_endpoint(TokenAnswer::InvalidGrant, 400, "token_request_refused").await;
}

#[tokio::test]
async fn token_endpoint_500_html() {
    token_endpoint(
        TokenAnswer::ServerErrorHtml,
        502,
        "malformed_token_response",
    )
    .await;
}

#[tokio::test]
async fn token_endpoint_not_json() {
    token_endpoint(TokenAnswer::NotJson, 502, "malformed_token_response").await;
}

#[tokio::test]
async fn token_endpoint_timeout() {
    token_endpoint(TokenAnswer::Slow(Duration::from_secs(3)), 504, "op_timeout").await;
}
