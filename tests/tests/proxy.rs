//! The API proxy's allowlist and failure answers, through the real BFF and demo API (dev OP session).

use hybrid_e2e::authorize::{authorize_at_op, BffClient};
use hybrid_e2e::stack::{Stack, StackOptions};
use hybrid_e2e::upstream::SlowUpstream;
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn allowlist_limits_and_upstream_failures_are_json() {
    // An upstream that answers too late, to see the BFF's timeout.
    let slow = SlowUpstream::start(Duration::from_secs(5)).await;

    let stack = Stack::start(StackOptions {
        bff_toml: format!(
            r#"
            [apis.demo]
            methods = ["GET"]
            path_prefix = "/hello"
            max_body_bytes = 16
            [apis.down]
            url = "http://127.0.0.1:9"
            [apis.slow]
            url = "{}"
            timeout_secs = 1
            "#,
            slow.url()
        ),
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    let started = bff.start_login().await;
    let fragment = authorize_at_op(&started.authorization_url, &stack.redirect_uri).await;
    bff.create_session(&fragment).await;

    let ok = bff.get("/api/demo/hello/there").await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["path"], "/hello/there");

    let cases = [
        ("POST", "/api/demo/hello", 405, "method_not_allowed"),
        ("GET", "/api/demo/admin", 403, "path_not_allowed"),
        // (An encoded `%2e%2e` segment is normalised away by the client itself; an encoded slash is not.)
        ("GET", "/api/demo/hello%2F..%2Fadmin", 400, "bad_request"),
        ("GET", "/api/down/x", 502, "upstream_unavailable"),
        ("GET", "/api/slow/x", 504, "upstream_timeout"),
    ];
    for (method, path, status, error) in cases {
        let r = bff
            .http
            .request(method.parse().unwrap(), format!("{}{path}", stack.origin))
            .header("x-csrf", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{method} {path}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            error,
            "{method} {path}"
        );
    }
    let big = bff
        .http
        .get(format!("{}/api/demo/hello", stack.origin))
        .header("x-csrf", "1")
        .body("x".repeat(17))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    assert_eq!(
        big.json::<Value>().await.unwrap()["error"],
        "payload_too_large"
    );
}
