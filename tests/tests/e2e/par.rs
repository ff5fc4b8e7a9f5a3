//! Pushed authorization requests (RFC 9126) against the real dev OP: in headless Chromium with each hybrid
//! response type the browser carries only `client_id` and `request_uri` to the OP, and the fragment comes back
//! as without PAR; with `private_key_jwt` the push is client-authenticated with an assertion too. The
//! `request_uri`'s lifetime bounds the pending login; the OP's refusal of a push reaches the SPA in plain words;
//! `par = "off"` at an OP that requires PAR stops the BFF at start, naming the setting. Each response type also
//! completes a pushed login across two replicas sharing the Redis store.

use hybrid_e2e::authorize::{expect_error, BffClient};
use hybrid_e2e::bff_process::run_until_refused;
use hybrid_e2e::browser::Browser;
use hybrid_e2e::client_keys::{p256_pem, private_key_jwt_toml};
use hybrid_e2e::free_port;
use hybrid_e2e::stack::{Stack, StackOptions};
use serde_json::Value;
use shared::ResponseType;

#[tokio::test]
async fn code_id_token_signs_in_through_a_pushed_request() {
    pushed_sign_in(ResponseType::CodeIdToken, false).await;
}

#[tokio::test]
async fn code_token_signs_in_through_a_pushed_request() {
    pushed_sign_in(ResponseType::CodeToken, false).await;
}

#[tokio::test]
async fn code_id_token_token_signs_in_through_a_pushed_request() {
    pushed_sign_in(ResponseType::CodeIdTokenToken, false).await;
}

/// All three of issue 17 in the browser: the push authenticated by an assertion, the tokens bound to the
/// login's DPoP key (the flow view shows the method and the binding), the API called with proofs.
#[tokio::test]
async fn a_pushed_request_with_private_key_jwt_and_dpop_bound_tokens() {
    pushed_sign_in(ResponseType::CodeIdToken, true).await;
}

/// The OP's record of the requests to `path`.
fn requests_to<'a>(stats: &'a Value, method: &str, path: &str) -> Vec<&'a Value> {
    stats["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["method"] == method && r["path"] == path)
        .collect()
}

/// Signs in in the browser with `par = "required"` (with `private_key_jwt`, also `dpop = "required"` for the
/// demo API) and checks what travelled where, and what the flow view says of it.
async fn pushed_sign_in(response_type: ResponseType, private_key_jwt: bool) {
    let oidc = if private_key_jwt {
        private_key_jwt_toml(&[p256_pem()]) + "dpop = \"required\"\n"
    } else {
        "[oidc]\n".to_owned()
    };
    let apis = if private_key_jwt {
        "[apis.demo]\ndpop = true\n"
    } else {
        ""
    };
    let (stack, browser) = Browser::signed_in_on_new_stack(StackOptions {
        response_type,
        bff_toml: format!("{oidc}par = \"required\"\n{apis}"),
        ..Default::default()
    })
    .await;
    assert_eq!(browser.text_of("user-name").await, "Alice Example");
    let flow = browser
        .wait_for_css("[data-testid='flow-view']")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        flow.contains("pushed by the BFF (PAR): only client_id and request_uri in the URL, valid"),
        "the flow view shows the push: {flow}"
    );
    if private_key_jwt {
        assert!(
            flow.contains("client authentication: private_key_jwt"),
            "{flow}"
        );
        assert!(flow.contains("DPoP, key thumbprint"), "{flow}");
        assert!(
            flow.contains("names the same key"),
            "the access token's cnf.jkt is the login's key: {flow}"
        );
    } else {
        assert!(
            flow.contains("client authentication: client_secret_basic"),
            "{flow}"
        );
        assert!(flow.contains("no: Bearer"), "{flow}");
    }
    browser.click("call-api").await;
    browser.wait_for_css("[data-testid='api-result']").await;

    let stats = stack.op_stats().await;
    assert_eq!(
        requests_to(&stats, "POST", "/request").len(),
        1,
        "one push: {stats}"
    );
    let authorize = requests_to(&stats, "GET", "/auth");
    assert!(!authorize.is_empty(), "{stats}");
    assert_eq!(
        authorize[0]["query_params"],
        serde_json::json!(["client_id", "request_uri"]),
        "the browser carries the reference only"
    );
    if private_key_jwt {
        let pushes: Vec<&Value> = stats["client_assertions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["path"] == "/request")
            .collect();
        assert_eq!(pushes.len(), 1, "{stats}");
        assert_eq!(pushes[0]["aud"], Value::String(stack.issuer.clone()));
        assert_eq!(pushes[0]["alg"], "ES256");
    }
    browser.close().await;
}

/// The OP keeps a `request_uri` for 60 s; a pending login is kept no longer, whatever
/// `session.login_timeout_secs` (600 s by default) allows.
#[tokio::test]
async fn the_request_uri_lifetime_bounds_the_pending_login() {
    let stack = Stack::start(StackOptions {
        bff_toml: "[oidc]\npar = \"auto\"\n".into(),
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    let started = bff.start_login().await;
    let url = url::Url::parse(&started.authorization_url).unwrap();
    assert!(
        url.query_pairs().any(|(k, _)| k == "request_uri"),
        "auto pushes when discovery lists PAR: {url}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let left = started.pending.expires_at - now;
    assert!((55..=61).contains(&left), "{left} s left");
}

/// The OP refuses the push (here an unsupported `prompt`): `POST /bff/login` answers 502 JSON naming the OP's
/// `error`, and the SPA shows those words.
#[tokio::test]
async fn a_refused_push_is_shown_in_plain_words() {
    let stack = Stack::start(StackOptions {
        serve_spa: true,
        bff_toml: "[oidc]\npar = \"required\"\nextra_authorize_params = { prompt = \"bogus\" }\n"
            .into(),
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    let body = expect_error(bff.post("/bff/login", None).await, 502, "par_refused").await;
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("invalid_request"), "{message}");

    let browser = Browser::start().await;
    browser.open_spa(&stack.origin).await;
    browser.click("login").await;
    let alert = browser
        .wait_for_css("[role='alert'][data-error='par_refused']")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        alert.contains("refused to start the sign-in") && alert.contains("invalid_request"),
        "{alert}"
    );
    browser.screenshot("error-par-refused").await;
    browser.close().await;
}

/// An OP that requires PAR: `auto` pushes; `off` is refused at start with the setting's name.
#[tokio::test]
async fn par_off_at_an_op_that_requires_it_stops_the_start() {
    let stack = Stack::start(StackOptions {
        op_requires_par: true,
        bff_toml: "[oidc]\npar = \"auto\"\n".into(),
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;

    let mut config: toml::Table = stack.bff_config(free_port()).parse().unwrap();
    config["oidc"]
        .as_table_mut()
        .unwrap()
        .insert("par".into(), "off".into());
    let (code, stderr) = run_until_refused("par-off", &toml::to_string(&config).unwrap()).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("oidc.par = \"off\""), "{stderr}");
    assert!(
        stderr.contains("requires pushed authorization requests"),
        "{stderr}"
    );
}

#[tokio::test]
async fn code_id_token_signs_in_through_a_pushed_request_across_replicas_on_redis() {
    pushed_sign_in_on_redis(ResponseType::CodeIdToken).await;
}

#[tokio::test]
async fn code_token_signs_in_through_a_pushed_request_across_replicas_on_redis() {
    pushed_sign_in_on_redis(ResponseType::CodeToken).await;
}

#[tokio::test]
async fn code_id_token_token_signs_in_through_a_pushed_request_across_replicas_on_redis() {
    pushed_sign_in_on_redis(ResponseType::CodeIdTokenToken).await;
}

/// With the Redis store and two replicas: replica A pushes the request (the browser's URL names only
/// `client_id` and `request_uri`), the OP answers the fragment of `response_type`, replica B completes the login
/// from the pending login A stored, and the session works on A.
async fn pushed_sign_in_on_redis(response_type: ResponseType) {
    let redis = hybrid_e2e::redis_server::RedisServer::start().await;
    let stack = Stack::start(StackOptions {
        response_type,
        bff_toml: format!(
            "[oidc]\npar = \"required\"\n{}",
            redis.session_toml("par:", "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=")
        ),
        ..Default::default()
    })
    .await;
    let (a, b) = (stack.start_replica().await, stack.start_replica().await);
    let at_a = BffClient::new(&a.origin);
    let at_b = at_a.at(&b.origin);
    let started = at_a.start_login().await;
    let url = url::Url::parse(&started.authorization_url).expect("an authorization URL");
    let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["client_id", "request_uri"], "{url}");
    let fragment =
        hybrid_e2e::authorize::authorize_at_op(&started.authorization_url, &stack.redirect_uri)
            .await;
    let response = shared::fragment::parse_fragment(&fragment).expect("the fragment parses");
    assert!(response.code.is_some(), "{response_type:?}");
    assert_eq!(
        response.id_token.is_some(),
        response_type.has_id_token(),
        "{response_type:?}"
    );
    assert_eq!(
        response.access_token.is_some(),
        response_type.has_access_token(),
        "{response_type:?}"
    );
    let session = at_b.create_session(&fragment).await;
    assert_eq!(session["user"]["sub"], "alice", "{session}");
    assert_eq!(at_a.get("/api/demo/hello").await.status(), 200);
    let stats = stack.op_stats().await;
    assert_eq!(
        requests_to(&stats, "POST", "/request").len(),
        1,
        "one push: {stats}"
    );
}

/// PAR and `private_key_jwt` together on two replicas sharing Redis: the login is pushed by replica A and
/// finished by replica B, the API call on A refreshes, the logout on B revokes; every step that authenticates
/// the client signs its own assertion (four distinct `jti`s), whichever replica makes it.
#[tokio::test]
async fn par_and_private_key_jwt_work_across_two_replicas_on_redis() {
    let redis = hybrid_e2e::redis_server::RedisServer::start().await;
    let key = "CAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg=";
    let stack = Stack::start(StackOptions {
        bff_toml: format!(
            "{}par = \"required\"\n{}",
            private_key_jwt_toml(&[p256_pem()]),
            redis.session_toml("par-pkjwt:", key)
        ),
        main_token_for_op: true,
        ..Default::default()
    })
    .await;
    let (a, b) = (stack.start_replica().await, stack.start_replica().await);
    let browser = BffClient::new(&a.origin);
    let at_b = browser.at(&b.origin);
    let started = browser.start_login().await;
    assert!(started.authorization_url.contains("request_uri="));
    let fragment =
        hybrid_e2e::authorize::authorize_at_op(&started.authorization_url, &stack.redirect_uri)
            .await;
    at_b.create_session(&fragment).await;
    assert_eq!(browser.get("/api/demo/hello").await.status(), 200);
    assert_eq!(at_b.post("/bff/logout", None).await.status(), 200);

    let stats = hybrid_e2e::wait_for(
        "the revocation",
        std::time::Duration::from_secs(10),
        || async {
            let stats = stack.op_stats().await;
            let all = stats["client_assertions"].as_array().unwrap();
            all.iter()
                .any(|a| a["path"] == "/token/revocation")
                .then_some(stats)
        },
    )
    .await;
    let all = stats["client_assertions"].as_array().unwrap();
    let paths: Vec<&str> = all.iter().map(|a| a["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        ["/request", "/token", "/token", "/token/revocation"],
        "{stats}"
    );
    let jtis: std::collections::HashSet<&str> =
        all.iter().map(|a| a["jti"].as_str().unwrap()).collect();
    assert_eq!(jtis.len(), 4, "{stats}");
}
