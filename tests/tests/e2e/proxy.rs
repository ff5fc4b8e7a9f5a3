//! The API proxy's allowlist and failure answers, through the real BFF and demo API (dev OP session).

use hybrid_e2e::authorize::{authorize_at_op, BffClient};
use hybrid_e2e::stack::{Stack, StackOptions};
use hybrid_e2e::upstream::{ClosingUpstream, EchoUpstream, SlowUpstream};
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

/// Only an allowlist of end-to-end headers (plus an API's `forward_headers`) reaches an upstream: what a client
/// can forge to an upstream that trusts it (client address, original scheme or host, method overrides) and what
/// `Connection` names for this hop only (RFC 9110 7.6.1) stay at the BFF; the same hop-by-hop rules hold for the
/// upstream's answer.
#[tokio::test]
async fn only_allowlisted_headers_reach_the_upstream() {
    let echo = EchoUpstream::start().await;
    let stack = Stack::start(StackOptions {
        bff_toml: format!(
            r#"
            [apis.echo]
            url = "{}"
            token = false
            forward_headers = ["X-Tenant"]
            "#,
            echo.url()
        ),
        ..Default::default()
    })
    .await;
    let answer = reqwest::Client::new()
        .post(format!("{}/api/echo/anything?x=1", stack.origin))
        .header("x-csrf", "1")
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "for=203.0.113.7;proto=https")
        .header("x-real-ip", "203.0.113.7")
        .header("x-http-method-override", "DELETE")
        .header("x-method-override", "DELETE")
        .header("x-original-url", "/admin")
        .header("connection", "foo, Accept-Language")
        .header("foo", "bar")
        .header("cookie", "a=b")
        .header("authorization", "Bearer from-the-browser")
        .header("accept", "application/json")
        .header("accept-language", "de")
        .header("if-none-match", "\"v1\"")
        .header("content-type", "text/plain")
        .header("x-tenant", "acme")
        .header("x-other", "not configured")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let headers = answer.headers().clone();
    let got: Value = answer.json().await.unwrap();
    for forged in [
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "forwarded",
        "x-real-ip",
        "x-http-method-override",
        "x-method-override",
        "x-original-url",
        "foo",
        "accept-language",
        "cookie",
        "authorization",
        "x-csrf",
        "x-other",
    ] {
        assert!(
            got.get(forged).is_none(),
            "{forged} reached the upstream: {got}"
        );
    }
    for (name, value) in [
        ("accept", "application/json"),
        ("if-none-match", "\"v1\""),
        ("content-type", "text/plain"),
        ("x-tenant", "acme"),
    ] {
        assert_eq!(got[name], serde_json::json!([value]), "{name}: {got}");
    }
    // The BFF's own request id goes along, to correlate the two logs.
    assert_eq!(
        got["x-request-id"][0].as_str(),
        headers["x-request-id"].to_str().ok(),
        "{got}"
    );
    assert!(headers.get("x-hop").is_none(), "{headers:?}");
    assert!(headers.get("keep-alive").is_none(), "{headers:?}");
    assert_eq!(headers["x-end-to-end"], "for the browser");
}

/// A keep-alive connection that the upstream closes just as the BFF sends the next call on it (an idle timeout
/// firing at that moment) does not fail an idempotent call without a body: it goes again, once, on a new
/// connection. A call with a body, or one that is not idempotent, is never sent twice: it fails as
/// `upstream_unavailable`.
#[tokio::test]
async fn a_keep_alive_connection_closed_under_a_call_is_retried_only_when_safe() {
    let closing = ClosingUpstream::start().await;
    let stack = Stack::start(StackOptions {
        bff_toml: format!(
            "[apis.closing]\nurl = \"{}\"\ntoken = false\nmethods = [\"GET\", \"POST\", \"DELETE\"]\n",
            closing.url()
        ),
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let call = |method: &str, body: &'static str| {
        http.request(
            method.parse().unwrap(),
            format!("{}/api/closing/x", stack.origin),
        )
        .header("x-csrf", "1")
        .body(body)
        .send()
    };
    let first = call("GET", "").await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.json::<Value>().await.unwrap()["connection"], 1);
    // Sent on connection 1, which closes under it: answered on connection 2.
    let second = call("GET", "").await.unwrap();
    assert_eq!(second.status(), 200);
    assert_eq!(second.json::<Value>().await.unwrap()["connection"], 2);
    assert_eq!(closing.received(), ["GET", "GET", "GET"]);
    // A POST with a body on connection 2, which closes under it: not sent again.
    let post = call("POST", "{}").await.unwrap();
    assert_eq!(post.status(), 502);
    assert_eq!(
        post.json::<Value>().await.unwrap()["error"],
        "upstream_unavailable"
    );
    assert_eq!(closing.received(), ["GET", "GET", "GET", "POST"]);
    // DELETE is idempotent: on connection 3, closed under the next one, it goes again on connection 4.
    assert_eq!(call("DELETE", "").await.unwrap().status(), 200);
    let delete = call("DELETE", "").await.unwrap();
    assert_eq!(delete.status(), 200);
    assert_eq!(delete.json::<Value>().await.unwrap()["connection"], 4);
    assert_eq!(
        closing.received(),
        ["GET", "GET", "GET", "POST", "DELETE", "DELETE", "DELETE"]
    );
}
