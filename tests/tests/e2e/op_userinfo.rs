//! The OP side of the userinfo call: with the dev configuration's token layout (`bff/config/dev.toml`: no
//! `[oidc] resource`, the demo API with `resource = "urn:demo-api"`), the session's own access token is one the
//! OP's userinfo endpoint accepts, and the demo API still gets the `urn:demo-api` JWT it wants; the same for
//! glewlwyd. Proved from outside: the BFF proxies an extra API, `op`, to the OP's userinfo endpoint with the
//! session's access token, as it proxies any API without a resource of its own, so no token leaves the BFF.
//! For every hybrid response type.

use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::fault_proxy::FaultProxy;
use hybrid_e2e::glewlwyd::Glewlwyd;
use hybrid_e2e::stack::{start_bff_on, Process, Stack, StackOptions};
use hybrid_e2e::{free_port, wait_for};
use serde_json::Value;
use shared::ResponseType;
use std::time::Duration;

const TYPES: [ResponseType; 3] = [
    ResponseType::CodeIdToken,
    ResponseType::CodeToken,
    ResponseType::CodeIdTokenToken,
];

async fn get_json(bff: &BffClient, path: &str) -> (u16, Value) {
    let r = bff.get(path).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// The dev OP (behind a forwarding proxy, so its address is known before the BFF's configuration is written).
async fn dev_op_stack(response_type: ResponseType, main_token_for_op: bool) -> (FaultProxy, Stack) {
    let proxy = FaultProxy::start(free_port()).await;
    let stack = Stack::start(StackOptions {
        response_type,
        main_token_for_op,
        op_behind: Some(proxy.op_behind()),
        bff_toml: format!(
            "[apis.op]\nurl = \"http://127.0.0.1:{}\"\npath_prefix = \"/me\"\nmethods = [\"GET\"]\n",
            proxy.port
        ),
        ..Default::default()
    })
    .await;
    (proxy, stack)
}

#[tokio::test]
async fn with_the_dev_layout_the_session_token_is_accepted_at_the_dev_op_userinfo_and_the_demo_api_gets_its_jwt(
) {
    for response_type in TYPES {
        let (_proxy, stack) = dev_op_stack(response_type, true).await;
        let bff = BffClient::new(&stack.origin);
        bff.log_in_at_op(&stack.redirect_uri).await;
        assert_eq!(
            stack.token_requests().await,
            1,
            "{response_type}: the exchange"
        );

        let (status, me) = get_json(&bff, "/api/op/me").await;
        assert_eq!(status, 200, "{response_type}: userinfo: {me}");
        assert_eq!(me["sub"], "alice", "{response_type}: {me}");
        assert_eq!(me["name"], "Alice Example", "{response_type}: {me}");
        // Released at userinfo only: what a userinfo call adds to the ID token's claims.
        assert_eq!(me["zoneinfo"], "Europe/Paris", "{response_type}: {me}");
        assert_eq!(me["locale"], "en-GB", "{response_type}: {me}");

        let (status, api) = get_json(&bff, "/api/demo/hello").await;
        assert_eq!(status, 200, "{response_type}: demo API: {api}");
        assert_eq!(api["sub"], "alice");
        assert_eq!(
            api["scope"], "api:read",
            "{response_type}: the JWT for urn:demo-api: {api}"
        );
        assert_eq!(
            stack.token_requests().await,
            2,
            "{response_type}: the demo API's token, from the refresh token"
        );
        let (status, _) = get_json(&bff, "/api/demo/hello").await;
        assert_eq!(status, 200);
        assert_eq!(stack.token_requests().await, 2, "{response_type}: cached");
        let (status, _) = get_json(&bff, "/api/op/me").await;
        assert_eq!(
            status, 200,
            "{response_type}: the session's token unchanged"
        );
    }
}

/// Why the dev configuration changed: a session whose own token is the demo API's JWT (`[oidc] resource`, the
/// tests' default layout) cannot use it at userinfo; node-oidc-provider accepts only its own tokens there.
#[tokio::test]
async fn the_demo_api_jwt_as_session_token_is_refused_at_the_dev_op_userinfo() {
    let (_proxy, stack) = dev_op_stack(ResponseType::CodeIdToken, false).await;
    let bff = BffClient::new(&stack.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;
    let (status, body) = get_json(&bff, "/api/op/me").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token", "{body}");
    let (status, api) = get_json(&bff, "/api/demo/hello").await;
    assert_eq!(status, 200, "{api}");
}

#[tokio::test]
async fn the_session_token_is_accepted_at_glewlwyd_userinfo_and_the_demo_api_still_takes_it() {
    for response_type in TYPES {
        let (bff_port, api_port) = (free_port(), free_port());
        let origin = format!("http://localhost:{bff_port}");
        let op = Glewlwyd::start(
            &[&format!("{origin}/callback")],
            &format!("{origin}/"),
            None,
        )
        .await;
        let _api = Process::spawn(
            &format!("demo-api-glewlwyd-userinfo-{api_port}"),
            "node",
            &["dev/demo-api/server.mjs"],
            &[
                ("DEMO_API_PORT", api_port.to_string()),
                ("OP_ISSUER", op.issuer.clone()),
                ("DEMO_API_AUDIENCE", "openid profile email".into()),
            ],
        );
        let toml = format!(
            r#"
            [oidc]
            scopes = ["openid", "profile", "email"]
            logout_token_exp_optional = true
            end_session_method = "get"
            # glewlwyd's on-demand claim `zoneinfo`, asked for at userinfo only (Core 5.5).
            extra_authorize_params = {{ claims = '{{"userinfo":{{"zoneinfo":null}}}}' }}
            [apis.demo]
            url = "http://127.0.0.1:{api_port}"
            [apis.op]
            url = "{issuer}"
            path_prefix = "/userinfo"
            methods = ["GET"]
            "#,
            issuer = op.issuer
        );
        let handle = start_bff_on(bff_port, &op.issuer, response_type, &toml).await;
        let http = reqwest::Client::new();
        let demo = format!("http://127.0.0.1:{api_port}/");
        wait_for("the demo API", Duration::from_secs(30), || async {
            http.get(&demo).send().await.ok().map(|_| ())
        })
        .await;

        let bff = BffClient::new(&handle.origin);
        let started = bff.start_login().await;
        let back = op
            .authorize(&started.authorization_url, &handle.redirect_uri)
            .await;
        let session = bff
            .create_session(back.fragment().expect("a fragment"))
            .await;
        let sub = session["user"]["sub"].as_str().expect("a sub").to_owned();
        assert!(
            session["user"].get("zoneinfo").is_none_or(Value::is_null),
            "{response_type}: zoneinfo is in no ID token: {session}"
        );

        let (status, me) = get_json(&bff, "/api/op/userinfo").await;
        assert_eq!(status, 200, "{response_type}: glewlwyd userinfo: {me}");
        assert_eq!(me["sub"], sub.as_str(), "{response_type}: {me}");
        assert_eq!(me["name"], "Alice Liddell", "{response_type}: {me}");
        assert_eq!(me["zoneinfo"], "Europe/London", "{response_type}: {me}");

        let (status, api) = get_json(&bff, "/api/demo/hello").await;
        assert_eq!(status, 200, "{response_type}: demo API: {api}");
        assert_eq!(api["sub"], sub.as_str());
    }
}
