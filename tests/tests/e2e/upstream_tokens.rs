//! Per-upstream tokens against the real dev OP: an upstream with its own resource (RFC 8707) gets a token for
//! that audience, obtained once with a refresh-token grant, cached in the session and refreshed when due; the
//! refresh-token rotation it causes does not break the session's main token.

use hybrid_e2e::authorize::{parallel_gets, BffClient};
use hybrid_e2e::stack::{Process, Stack, StackOptions};
use hybrid_e2e::{free_port, wait_for};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The dev OP's access tokens live 3600 s; with this margin they fall due `DUE_AFTER` after issue.
const DUE_AFTER: Duration = Duration::from_secs(3);

async fn get(bff: &BffClient, path: &str) -> (u16, Value) {
    let r = bff.get(path).await;
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap_or_default())
}

#[tokio::test]
async fn each_upstream_gets_a_token_for_its_own_audience_cached_and_refreshed() {
    let api2_port = free_port();
    let margin = 3600 - DUE_AFTER.as_secs();
    let stack = Stack::start(StackOptions {
        bff_toml: format!(
            r#"
            [session]
            refresh_margin_secs = {margin}
            [apis.demo2]
            url = "http://127.0.0.1:{api2_port}"
            resource = "urn:demo-api-2"
            [apis.demo2_main_token]
            url = "http://127.0.0.1:{api2_port}"
            "#
        ),
        ..Default::default()
    })
    .await;
    // A second demo API that accepts only tokens for `urn:demo-api-2`.
    let _api2 = Process::spawn(
        &format!("demo-api-{api2_port}"),
        "node",
        &["dev/demo-api/server.mjs"],
        &[
            ("DEMO_API_PORT", api2_port.to_string()),
            ("OP_ISSUER", stack.issuer.clone()),
            ("DEMO_API_AUDIENCE", "urn:demo-api-2".into()),
        ],
    );
    let http = reqwest::Client::new();
    let api2 = format!("http://127.0.0.1:{api2_port}/");
    wait_for("the second demo API", Duration::from_secs(30), || async {
        http.get(&api2).send().await.ok().map(|_| ())
    })
    .await;

    let bff = BffClient::new(&stack.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;
    assert_eq!(stack.token_requests().await, 1, "the code exchange");

    let (status, body) = get(&bff, "/api/demo/hello").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sub"], "alice");
    // The main token is for `urn:demo-api`: the second API refuses it.
    let (status, body) = get(&bff, "/api/demo2_main_token/hello").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(stack.token_requests().await, 1);

    // The first call to the upstream with its own resource obtains its token, the others use the cached one.
    let obtained = Instant::now();
    for _ in 0..3 {
        let (status, body) = get(&bff, "/api/demo2/hello").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["sub"], "alice");
    }
    assert_eq!(
        stack.token_requests().await,
        2,
        "one grant for urn:demo-api-2"
    );
    let (status, body) = get(&bff, "/api/demo/hello").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        stack.token_requests().await,
        2,
        "the main token is untouched"
    );

    // Due: parallel calls share one refresh of the upstream token.
    wait_for("the tokens to fall due", DUE_AFTER * 3, || async {
        (obtained.elapsed() > DUE_AFTER + Duration::from_secs(1)).then_some(())
    })
    .await;
    let bff = Arc::new(bff);
    for (status, body) in parallel_gets(std::slice::from_ref(&bff), 10, "/api/demo2/hello").await {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["sub"], "alice");
    }
    assert_eq!(
        stack.token_requests().await,
        3,
        "one refresh for urn:demo-api-2"
    );
    // The main token refreshes with the refresh token the upstream grant rotated.
    let (status, body) = get(&bff, "/api/demo/hello").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        stack.token_requests().await,
        4,
        "one refresh of the main token"
    );
    let (status, body) = get(&bff, "/api/demo2/hello").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stack.token_requests().await, 4);
}
