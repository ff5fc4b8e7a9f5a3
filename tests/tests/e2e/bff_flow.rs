//! The BFF against the real dev OP (node-oidc-provider), without a browser: every hybrid response type end to
//! end, conformance mode (a login asking for another response type the operator allowed), and the BFF's refusals (CSRF, no session, unknown API, tampered responses never reaching the token
//! endpoint).

use hybrid_e2e::authorize::{authorize_at_op, BffClient};
use hybrid_e2e::stack::{Stack, StackOptions};
use serde_json::{json, Value};
use shared::fragment::parse_fragment;
use shared::ResponseType;

async fn full_flow(response_type: ResponseType) {
    let stack = Stack::start(StackOptions {
        response_type,
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    assert_eq!(bff.get("/bff/user").await.status(), 401);

    let session = bff.log_in_at_op(&stack.redirect_uri).await;
    assert_eq!(session["user"]["sub"], "alice", "{response_type}");
    assert_eq!(session["user"]["name"], "Alice Example");
    assert_eq!(stack.token_requests().await, 1);

    let user: Value = bff.get("/bff/user").await.json().await.unwrap();
    assert_eq!(user["user"]["sub"], "alice");

    let api = bff.get("/api/demo/hello?x=1").await;
    assert_eq!(api.status(), 200);
    let api: Value = api.json().await.unwrap();
    assert_eq!(
        api["sub"], "alice",
        "the demo API saw the BFF's access token"
    );
    assert_eq!(api["path"], "/hello");

    let out = bff.post("/bff/logout", None).await;
    let logout_cookie = out
        .cookies()
        .find(|c| c.name() == "bff-logout")
        .expect("the logout state cookie");
    assert!(logout_cookie.http_only() && logout_cookie.max_age().is_some());
    let out: Value = out.json().await.unwrap();
    let end = &out["end_session"];
    // A form to POST: the ID token hint in its fields, the endpoint as it is, no token in any URL.
    assert_eq!(end["method"], "post", "{out}");
    assert_eq!(end["action"], format!("{}/session/end", stack.issuer));
    let field = |name: &str| {
        end["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f[0] == name)
            .map(|f| f[1].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{name} in {out}"))
    };
    assert!(field("id_token_hint").starts_with("eyJ"));
    assert_eq!(field("client_id"), "hybrid-spa");
    assert_eq!(
        field("post_logout_redirect_uri"),
        format!("{}/", stack.origin)
    );
    assert_eq!(bff.get("/bff/user").await.status(), 401);
    assert_eq!(bff.get("/api/demo/hello").await.status(), 401);

    // Back from the OP: the state this browser's logout sent is recognised once; any other is not.
    let state = field("state");
    let back = |s: &str| json!({ "state": s });
    let r = bff.post("/bff/logout/return", Some(&back("forged"))).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "logout_state_mismatch"
    );
    let r = bff.post("/bff/logout/return", Some(&back(&state))).await;
    assert_eq!(r.status(), 400, "the cookie was spent by the first return");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "logout_state_missing"
    );
}

/// The happy return: the state the logout sent, presented by the same browser, confirms the sign-out once.
#[tokio::test]
async fn the_logout_state_is_confirmed_once_for_the_browser_that_sent_it() {
    let stack = Stack::start(StackOptions::default()).await;
    let bff = BffClient::new(&stack.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;
    let out: Value = bff.post("/bff/logout", None).await.json().await.unwrap();
    let state = out["end_session"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f[0] == "state")
        .map(|f| f[1].as_str().unwrap().to_owned())
        .expect("a state");
    // Another browser (no logout cookie) with the right state: not recognised.
    let other = BffClient::new(&stack.origin);
    let r = other
        .post("/bff/logout/return", Some(&json!({ "state": state })))
        .await;
    assert_eq!(r.status(), 400);
    let r = bff
        .post("/bff/logout/return", Some(&json!({ "state": state })))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["signed_out"], true);
    let r = bff
        .post("/bff/logout/return", Some(&json!({ "state": state })))
        .await;
    assert_eq!(r.status(), 400, "once only");
}

#[tokio::test]
async fn code_id_token_end_to_end() {
    full_flow(ResponseType::CodeIdToken).await;
}

#[tokio::test]
async fn code_token_end_to_end() {
    full_flow(ResponseType::CodeToken).await;
}

#[tokio::test]
async fn code_id_token_token_end_to_end() {
    full_flow(ResponseType::CodeIdTokenToken).await;
}

#[tokio::test]
async fn refusals_are_json_with_the_right_status() {
    let stack = Stack::start(StackOptions::default()).await;
    let bff = BffClient::new(&stack.origin);
    let plain = reqwest::Client::new();

    // CSRF header missing on a state-changing call and on /api.
    for (method, path) in [
        ("POST", "/bff/login"),
        ("GET", "/api/demo/hello"),
        ("POST", "/bff/logout"),
    ] {
        let r = plain
            .request(method.parse().unwrap(), format!("{}{path}", stack.origin))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{method} {path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "csrf_header_missing");
        assert!(body["message"].as_str().unwrap().contains("X-CSRF"));
    }
    // No session: 401 JSON, never a redirect.
    let r = bff.get("/api/demo/hello").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unauthenticated");
    // Unknown API.
    let r = bff.get("/api/nope/x").await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unknown_api");
    // A session request with no login started in this browser.
    let r = bff
        .post(
            "/bff/session",
            Some(&json!({"code": "c", "state": "s", "id_token": "a.b.c"})),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "no_pending_login"
    );
    // Not JSON at all.
    let r = bff
        .http
        .post(format!("{}/bff/session", stack.origin))
        .header("x-csrf", "1")
        .body("{{{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "bad_request");
    assert_eq!(stack.token_requests().await, 0);
}

/// The conformance rule: a front-channel response that fails a check never reaches the token endpoint, and the
/// browser's pending login is spent: the refusal clears its cookie, so a second try with the genuine response
/// is refused too.
#[tokio::test]
async fn tampered_responses_never_reach_the_token_endpoint() {
    let stack = Stack::start(StackOptions::default()).await;
    type Tamper = fn(&mut Value);
    let cases: [(&str, Tamper); 4] = [
        ("c_hash_mismatch", |r| {
            r["code"] = json!(format!("{}x", r["code"].as_str().unwrap()))
        }),
        ("state_mismatch", |r| r["state"] = json!("forged")),
        ("bad_signature", |r| {
            let t = r["id_token"].as_str().unwrap();
            let (rest, sig) = t.rsplit_once('.').unwrap();
            let flipped = if sig.starts_with('A') { "B" } else { "A" };
            r["id_token"] = json!(format!("{rest}.{flipped}{}", &sig[1..]));
        }),
        ("id_token_missing", |r| r["id_token"] = Value::Null),
    ];
    for (rule, tamper) in cases {
        let bff = BffClient::new(&stack.origin);
        let started = bff.start_login().await;
        let fragment = authorize_at_op(&started.authorization_url, &stack.redirect_uri).await;
        let genuine = serde_json::to_value(parse_fragment(&fragment).unwrap()).unwrap();
        let mut forged = genuine.clone();
        tamper(&mut forged);
        let r = bff.post("/bff/session", Some(&forged)).await;
        assert_eq!(r.status(), 400, "{rule}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], rule);
        let again = bff.post("/bff/session", Some(&genuine)).await;
        assert_eq!(
            again.json::<Value>().await.unwrap()["error"],
            "no_pending_login",
            "state is one-time"
        );
        assert_eq!(bff.get("/bff/user").await.status(), 401);
    }
    assert_eq!(
        stack.token_requests().await,
        0,
        "no tampered response reached the token endpoint"
    );
}

/// Conformance mode: with `code id_token` as the default and `code id_token token` allowed besides, a login may
/// ask for the other type and completes with it at the real OP; a type not allowed, or a malformed body, is
/// refused as JSON before any login starts.
#[tokio::test]
async fn a_login_may_ask_for_an_allowed_response_type_only() {
    let stack = Stack::start(StackOptions {
        bff_toml: "[oidc]\nresponse_types_allowed = [\"code id_token token\"]\n".into(),
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);

    let options: Value = bff.get("/bff/login").await.json().await.unwrap();
    assert_eq!(
        options,
        json!({
            "default_response_type": "code id_token",
            "response_types": ["code id_token", "code id_token token"],
        })
    );

    let refused = bff
        .post("/bff/login", Some(&json!({"response_type": "code token"})))
        .await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "response_type_not_allowed");
    assert!(body["message"].as_str().unwrap().contains("code token"));
    for garbage in [
        json!({"response_type": "token"}),
        json!({"other": 1}),
        json!([1]),
    ] {
        let r = bff.post("/bff/login", Some(&garbage)).await;
        assert_eq!(r.status(), 400, "{garbage}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "bad_request");
    }

    let started: Value = bff
        .post(
            "/bff/login",
            Some(&json!({"response_type": "code id_token token"})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(started["pending"]["response_type"], "code id_token token");
    let url = started["authorization_url"].as_str().unwrap();
    let query: std::collections::HashMap<String, String> = url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(query["response_type"], "code id_token token");
    let fragment = authorize_at_op(url, &stack.redirect_uri).await;
    let params = parse_fragment(&fragment).unwrap();
    assert!(params.access_token.is_some() && params.id_token.is_some());
    let session = bff.create_session(&fragment).await;
    assert_eq!(session["user"]["sub"], "alice");

    // No body, or an empty object, is the default type.
    for body in [None, Some(json!({}))] {
        let started: Value = bff
            .post("/bff/login", body.as_ref())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(started["pending"]["response_type"], "code id_token");
    }
}
