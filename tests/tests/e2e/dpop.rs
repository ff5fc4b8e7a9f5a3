//! DPoP (RFC 9449) against the real dev OP (node-oidc-provider, which binds tokens to a proof's key) and the
//! demo API (which checks proofs like a resource server): the login announces the key (`dpop_jkt`), the code
//! exchange, the refresh-token grant, userinfo and every proxied call to a marked API carry a fresh proof, nonces
//! demanded by the OP or the API are supplied, and the same holds on a second replica sharing a Redis store,
//! also with PAR and private_key_jwt on.
//! Negative: a proof replayed and a bound token presented as Bearer are refused by the demo API; an OP answering
//! Bearer under `dpop = "required"` refuses the login, and the refresh token of such a refused grant is revoked.

use hybrid_e2e::authorize::{authorize_at_op, expect_error, BffClient};
use hybrid_e2e::bff_process::BffProcess;
use hybrid_e2e::client_keys::{p256_pem, private_key_jwt_toml};
use hybrid_e2e::fault_proxy::{Answer, FaultProxy};
use hybrid_e2e::raw_http;
use hybrid_e2e::redis_server::RedisServer;
use hybrid_e2e::stack::{Process, Stack, StackOptions};
use hybrid_e2e::upstream::EchoUpstream;
use hybrid_e2e::{free_port, repo_root, wait_for};
use serde_json::Value;
use std::time::Duration;

/// The BFF configuration of these tests: DPoP on; the demo API marked for it; `op` proxies to the OP's
/// userinfo with the session's token as DPoP, `op_bearer` the same token as Bearer.
fn dpop_toml(op_port: u16, mode: &str) -> String {
    format!(
        r#"
        [oidc]
        dpop = "{mode}"
        [apis.demo]
        dpop = true
        [apis.op]
        url = "http://127.0.0.1:{op_port}"
        path_prefix = "/me"
        methods = ["GET"]
        dpop = true
        [apis.op_bearer]
        url = "http://127.0.0.1:{op_port}"
        path_prefix = "/me"
        methods = ["GET"]
        "#
    )
}

/// A stack with the dev token layout (the session's token is the OP's own, the demo API's JWT comes from a
/// refresh-token grant), the OP behind a forwarding proxy so its address is known before the BFF's
/// configuration is written.
async fn dpop_stack(mode: &str, more: StackOptions) -> (FaultProxy, Stack) {
    let proxy = FaultProxy::start(free_port()).await;
    let stack = Stack::start(StackOptions {
        main_token_for_op: true,
        op_behind: Some(proxy.op_behind()),
        bff_toml: format!("{}\n{}", dpop_toml(proxy.port, mode), more.bff_toml),
        ..more
    })
    .await;
    (proxy, stack)
}

/// [`dpop_stack`] at an OP that advertises DPoP but answers Bearer (`OP_DPOP_IGNORED`: `1` for every grant,
/// `refresh` for every grant after the login's code exchange).
async fn at_an_op_ignoring_dpop(mode: &str, ignored: &str) -> (FaultProxy, Stack) {
    dpop_stack(
        mode,
        StackOptions {
            op_env: vec![("OP_DPOP_IGNORED", ignored.into())],
            ..Default::default()
        },
    )
    .await
}

async fn get_json(bff: &BffClient, path: &str) -> (u16, Value) {
    let r = bff.get(path).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// Logs in; answers the `dpop_jkt` the authorization request carried.
async fn log_in(bff: &BffClient, stack: &Stack) -> String {
    let started = bff.start_login().await;
    let url = url::Url::parse(&started.authorization_url).expect("an authorization URL");
    let jkt = url
        .query_pairs()
        .find(|(k, _)| k == "dpop_jkt")
        .map(|(_, v)| v.into_owned())
        .expect("the authorization request names the login's DPoP key");
    let fragment = authorize_at_op(&started.authorization_url, &stack.redirect_uri).await;
    let session = bff.create_session(&fragment).await;
    assert_eq!(
        session["userinfo"]["status"], "ok",
        "userinfo read with the DPoP-bound token: {session}"
    );
    jkt
}

/// The session's token is bound at the exchange (the OP refuses it as Bearer at userinfo, takes it as DPoP),
/// the demo API's JWT from the refresh-token grant is bound to the same key (`cnf.jkt`), and each call carries
/// a fresh proof (the demo API refuses a replayed `jti`).
async fn assert_bound_everywhere(bff: &BffClient, jkt: &str) {
    let (status, me) = get_json(bff, "/api/op/me").await;
    assert_eq!(status, 200, "userinfo through the proxy, as DPoP: {me}");
    assert_eq!(me["sub"], "alice");
    let (status, refused) = get_json(bff, "/api/op_bearer/me").await;
    assert_eq!(
        status, 401,
        "the same token as Bearer: the OP knows it is bound: {refused}"
    );
    for _ in 0..3 {
        let (status, body) = get_json(bff, "/api/demo/hello?x=1").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scheme"], "DPoP", "{body}");
        assert_eq!(body["jkt"], jkt, "bound to the login's key: {body}");
    }
}

#[tokio::test]
async fn exchange_refresh_userinfo_and_proxied_calls_carry_proofs_of_the_logins_key() {
    let (_proxy, stack) = dpop_stack("auto", StackOptions::default()).await;
    let bff = BffClient::new(&stack.origin);
    let jkt = log_in(&bff, &stack).await;
    assert_eq!(stack.token_requests().await, 1, "the exchange");
    assert_bound_everywhere(&bff, &jkt).await;
    assert_eq!(
        stack.token_requests().await,
        2,
        "one refresh-token grant for the demo API's token"
    );
}

#[tokio::test]
async fn a_replica_sharing_redis_signs_with_the_sessions_key() {
    let redis = RedisServer::start().await;
    let (_proxy, stack) = dpop_stack(
        "required",
        StackOptions {
            bff_toml: redis.session_toml("dpop:", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="),
            ..Default::default()
        },
    )
    .await;
    let replica = stack.start_replica().await;
    let a = BffClient::new(&stack.origin);
    let jkt = log_in(&a, &stack).await;
    // The same browser (cookies are not separated by port) at the other replica.
    let b = a.at(&replica.origin);
    assert_bound_everywhere(&b, &jkt).await;
    assert_bound_everywhere(&a, &jkt).await;
}

#[tokio::test]
async fn nonces_demanded_by_the_op_and_by_the_api_are_supplied() {
    let (_proxy, stack) = dpop_stack(
        "auto",
        StackOptions {
            op_env: vec![("OP_DPOP_NONCE", "1".into())],
            api_env: vec![("DEMO_API_DPOP_NONCE", "1".into())],
            ..Default::default()
        },
    )
    .await;
    let bff = BffClient::new(&stack.origin);
    let jkt = log_in(&bff, &stack).await;
    assert_eq!(
        stack.token_requests().await,
        2,
        "the exchange, refused for want of a nonce, then again with it"
    );
    assert_bound_everywhere(&bff, &jkt).await;
}

#[tokio::test]
async fn the_demo_api_refuses_a_replayed_proof_and_a_bound_token_presented_as_bearer() {
    let echo = EchoUpstream::start().await;
    let (_proxy, stack) = dpop_stack(
        "auto",
        StackOptions {
            bff_toml: format!(
                "[apis.echo]\nurl = \"{}\"\nresource = \"urn:demo-api\"\ndpop = true\n",
                echo.url()
            ),
            ..Default::default()
        },
    )
    .await;
    // A demo API of the test's own, whose port is known.
    let api_port = free_port();
    let _api = Process::spawn(
        &format!("demo-api-{api_port}"),
        "node",
        &["dev/demo-api/server.mjs"],
        &[
            ("DEMO_API_PORT", api_port.to_string()),
            ("OP_ISSUER", stack.issuer.clone()),
        ],
    );
    let http = reqwest::Client::new();
    wait_for("the demo API", Duration::from_secs(30), || async {
        http.get(format!("http://127.0.0.1:{api_port}/"))
            .send()
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    log_in(&bff, &stack).await;

    // What the BFF sent to the echo upstream: a demo-API token as DPoP, and a proof for the echo's URL.
    let (status, seen) = get_json(&bff, "/api/echo/x").await;
    assert_eq!(status, 200, "{seen}");
    let authorization = seen["authorization"][0].as_str().expect("authorization");
    let proof = seen["dpop"][0].as_str().expect("a DPoP proof");
    let token = authorization
        .strip_prefix("DPoP ")
        .expect("the DPoP scheme");
    // Replayed at the demo API as if it were the echo's host (so `htu` matches): the first use passes, the
    // second is a replay.
    let send = |authorization: String, proof: Option<&str>| {
        let head = format!(
            "GET /x HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: {authorization}\r\n{}",
            echo.port,
            proof.map_or(String::new(), |p| format!("DPoP: {p}\r\n"))
        );
        async move { raw_http::send(api_port, &head, b"").await }
    };
    let first = send(authorization.to_owned(), Some(proof)).await;
    assert_eq!(first.status, 200, "{}", first.json());
    let again = send(authorization.to_owned(), Some(proof)).await;
    assert_eq!(again.status, 401, "{}", again.json());
    assert_eq!(again.json()["error"], "invalid_dpop_proof");
    assert!(
        again.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("replayed")),
        "{}",
        again.json()
    );
    let bearer = send(format!("Bearer {token}"), None).await;
    assert_eq!(bearer.status, 401, "{}", bearer.json());
    assert!(
        bearer
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("DPoP")),
        "{:?}",
        bearer.headers
    );
    let bearer_with_proof = send(format!("Bearer {token}"), Some(proof)).await;
    assert_eq!(bearer_with_proof.status, 401);
}

#[tokio::test]
async fn a_bearer_answer_under_dpop_required_refuses_the_login() {
    let (_proxy, stack) = at_an_op_ignoring_dpop("required", "1").await;
    let bff = BffClient::new(&stack.origin);
    let response = bff.authorization_response(&stack.redirect_uri).await;
    let r = bff.post("/bff/session", Some(&response)).await;
    let body = expect_error(r, 502, "dpop_not_bound").await;
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("oidc.dpop")),
        "{body}"
    );
    let (status, _) = get_json(&bff, "/bff/user").await;
    assert_eq!(status, 401, "no session");
}

/// Signed in under `dpop = mode` at an OP that binds the login's tokens and answers Bearer to every later grant
/// (`OP_DPOP_IGNORED=refresh`), such as the refresh-token grant for the demo API's own token (`resource`).
async fn signed_in_with_bearer_later_grants(mode: &str) -> (FaultProxy, Stack, BffClient) {
    let (proxy, stack) = at_an_op_ignoring_dpop(mode, "refresh").await;
    let bff = BffClient::new(&stack.origin);
    log_in(&bff, &stack).await;
    (proxy, stack, bff)
}

/// Under `required` the rule holds for every grant, not only the login's: here the OP binds the exchange's
/// tokens, then answers Bearer to the refresh-token grant for the demo API's own token (`resource`), which the
/// proxied call refuses rather than send an unbound token.
#[tokio::test]
async fn a_bearer_answer_to_an_upstreams_own_grant_under_dpop_required_is_refused() {
    let (_proxy, _stack, bff) = signed_in_with_bearer_later_grants("required").await;
    let (status, body) = get_json(&bff, "/api/demo/hello").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"], "dpop_not_bound", "{body}");
}

/// Under `auto` the same Bearer answer is used as what it is: the upstream's token goes out as Bearer (sent as
/// DPoP with the session's key, the demo API would refuse it), while the session's own token stays bound.
#[tokio::test]
async fn a_bearer_answer_to_an_upstreams_own_grant_under_dpop_auto_goes_out_as_bearer() {
    let (_proxy, _stack, bff) = signed_in_with_bearer_later_grants("auto").await;
    for _ in 0..2 {
        let (status, body) = get_json(&bff, "/api/demo/hello").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scheme"], "Bearer", "{body}");
    }
    let (status, me) = get_json(&bff, "/api/op/me").await;
    assert_eq!(
        status, 200,
        "the session's token, still DPoP at userinfo: {me}"
    );
}

#[tokio::test]
async fn every_refresh_of_the_sessions_token_is_bound_to_the_same_key() {
    // A margin longer than the OP's access tokens live: every call finds the token due and refreshes it first.
    let (_proxy, stack) = dpop_stack(
        "required",
        StackOptions {
            bff_toml: "[session]\nrefresh_margin_secs = 7200\n".into(),
            ..Default::default()
        },
    )
    .await;
    let bff = BffClient::new(&stack.origin);
    let jkt = log_in(&bff, &stack).await;
    for round in 1..=2u64 {
        let before = stack.token_requests().await;
        let (status, me) = get_json(&bff, "/api/op/me").await;
        assert_eq!(status, 200, "round {round}: refreshed token as DPoP: {me}");
        assert_eq!(
            stack.token_requests().await,
            before + 1,
            "round {round}: one refresh-token grant, with a proof"
        );
        let (status, body) = get_json(&bff, "/api/demo/hello").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["jkt"], jkt, "{body}");
    }
    let (status, refused) = get_json(&bff, "/api/op_bearer/me").await;
    assert_eq!(
        status, 401,
        "a refreshed token is bound too (refused as Bearer): {refused}"
    );
}

/// PAR, private_key_jwt and DPoP together, on two replicas sharing Redis: the request is pushed with a client
/// assertion and announces the login's key, the browser's URL carries only `client_id` and `request_uri`, the
/// code is exchanged on the other replica with a fresh assertion and a proof, and every proxied call on either
/// replica presents the token as DPoP, bound to the one key of the login.
#[tokio::test]
async fn par_private_key_jwt_and_dpop_together_across_two_replicas_on_redis() {
    let redis = RedisServer::start().await;
    let stack = Stack::start(StackOptions {
        bff_toml: format!(
            "{}par = \"required\"\ndpop = \"required\"\n[apis.demo]\ndpop = true\n{}",
            private_key_jwt_toml(&[p256_pem()]),
            redis.session_toml("all3:", "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=")
        ),
        ..Default::default()
    })
    .await;
    let replica = stack.start_replica().await;
    let a = BffClient::new(&stack.origin);
    let b = a.at(&replica.origin);

    let started = a.start_login().await;
    let url = url::Url::parse(&started.authorization_url).expect("an authorization URL");
    let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["client_id", "request_uri"], "{url}");
    let fragment = authorize_at_op(&started.authorization_url, &stack.redirect_uri).await;
    let session = b.create_session(&fragment).await;
    assert_eq!(session["user"]["sub"], "alice", "{session}");

    let mut keys = std::collections::BTreeSet::new();
    for bff in [&a, &b, &a, &b] {
        let (status, body) = get_json(bff, "/api/demo/hello").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scheme"], "DPoP", "{body}");
        keys.insert(body["jkt"].as_str().expect("a bound token").to_owned());
    }
    assert_eq!(keys.len(), 1, "one key for the session on both replicas");

    let stats = stack.op_stats().await;
    let assertions = stats["client_assertions"].as_array().expect("assertions");
    let paths: Vec<&str> = assertions
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(&paths[..2], ["/request", "/token"], "{stats}");
    let jtis: std::collections::HashSet<&str> = assertions
        .iter()
        .map(|a| a["jti"].as_str().unwrap())
        .collect();
    assert_eq!(jtis.len(), assertions.len(), "a new jti each time: {stats}");
}

/// Runs `grant` (a BFF request that makes one token-endpoint request) with the OP's answer held at the proxy
/// until it is read; answers `grant`'s status and body, and the refresh token the OP issued.
async fn with_token_answer_read<F>(proxy: &FaultProxy, grant: F) -> (u16, Value, String)
where
    F: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    let held_before = proxy.held_answers("/token").len();
    proxy.answer("/token", Answer::HoldAnswer);
    let call = tokio::spawn(async move {
        let r = grant.await;
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap_or_default())
    });
    let answer = wait_for("the OP's answer, held", Duration::from_secs(15), || async {
        proxy.held_answers("/token").get(held_before).cloned()
    })
    .await;
    proxy.release();
    proxy.answer("/token", Answer::Forward);
    let answer: Value = serde_json::from_slice(&answer).expect("a token response");
    let refresh_token = answer["refresh_token"]
        .as_str()
        .expect("the OP issued a refresh token")
        .to_owned();
    let (status, body) = call.await.expect("the grant ran");
    (status, body, refresh_token)
}

/// The refresh token was sent to the OP's revocation endpoint (before the refusal was answered), and the OP no
/// longer honours it.
async fn assert_revoked(proxy: &FaultProxy, stack: &Stack, refresh_token: &str) {
    let revoked = crate::refresh::revoked_tokens(proxy, "/token/revocation");
    assert_eq!(revoked, [refresh_token], "revoked before the refusal");
    crate::refresh::assert_op_refuses_refresh_token(
        stack,
        refresh_token,
        "the OP refuses the revoked refresh token",
    )
    .await;
}

/// A login refused for `dpop_not_bound` leaves no usable refresh token behind: the one the refused exchange
/// issued is revoked at the OP (RFC 7009), with the client's authentication, and the BFF's log (the binary's,
/// on the stack's configuration) says so without the token.
#[tokio::test]
async fn the_refresh_token_of_a_login_refused_for_dpop_is_revoked() {
    let (proxy, stack) = at_an_op_ignoring_dpop("required", "1").await;
    let port = free_port();
    let process = BffProcess::start(port, &stack.bff_config(port)).await;
    let bff = BffClient::new(&process.origin);
    let response = bff.authorization_response(&stack.redirect_uri).await;
    let exchange = {
        let bff = bff.clone();
        async move { bff.post("/bff/session", Some(&response)).await }
    };
    let (status, body, refresh_token) = with_token_answer_read(&proxy, exchange).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("dpop_not_bound")),
        "{body}"
    );
    assert_revoked(&proxy, &stack, &refresh_token).await;
    drop(process);
    let log = std::fs::read_to_string(
        repo_root().join(format!("target/e2e-logs/bff-process-{port}-run1.log")),
    )
    .expect("the BFF's log");
    assert!(log.contains("refresh token revoked"), "{log}");
    assert!(
        !log.contains(&refresh_token),
        "the refresh token in the log"
    );
}

/// The same for a later grant refused under `required` (the upstream's own token, from a refresh-token grant
/// that the OP answers Bearer): the refresh token it rotated to is revoked.
#[tokio::test]
async fn the_refresh_token_of_a_refresh_refused_for_dpop_is_revoked() {
    let (proxy, stack, bff) = signed_in_with_bearer_later_grants("required").await;
    let call = {
        let bff = bff.clone();
        async move { bff.get("/api/demo/hello").await }
    };
    let (status, body, refresh_token) = with_token_answer_read(&proxy, call).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("dpop_not_bound")),
        "{body}"
    );
    assert_revoked(&proxy, &stack, &refresh_token).await;
}
