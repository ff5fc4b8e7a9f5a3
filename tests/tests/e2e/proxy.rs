//! The API proxy's allowlist and failure answers, through the real BFF and demo API (dev OP session).

use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::stack::{Stack, StackOptions};
use hybrid_e2e::upstream::{ClosingUpstream, EchoUpstream, SlowUpstream, WireUpstream};
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
    bff.log_in_at_op(&stack.redirect_uri).await;

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

/// The proxy's own HTTP/1.1 client (bff/src/proxy/upstream/) reads every framing an upstream may answer with
/// (RFC 9112 6.3) and streams it to the browser, sends bodies of known and unknown length, and uses a connection
/// again only after an answer that ended cleanly. An answer whose end is in doubt is a 502 before it starts, and a
/// body cut off upstream cuts the browser's answer off too: never passed on as if it were whole.
#[tokio::test]
async fn every_upstream_framing_reaches_the_browser_and_doubt_is_never_passed_on() {
    let wire = WireUpstream::start().await;
    let stack = Stack::start(StackOptions {
        bff_toml: format!(
            "[apis.wire]\nurl = \"{}\"\ntoken = false\nmethods = [\"GET\", \"HEAD\", \"POST\", \"PUT\"]\n",
            wire.url()
        ),
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}/api/wire{path}", stack.origin);
    let call =
        |method: reqwest::Method, path: &str| http.request(method, url(path)).header("x-csrf", "1");
    let get = |path: &str| call(reqwest::Method::GET, path).send();

    let chunked = get("/chunked").await.unwrap();
    assert_eq!(chunked.status(), 200);
    assert_eq!(chunked.text().await.unwrap(), "hello, world");
    let interim = get("/interim").await.unwrap();
    assert_eq!(
        interim.status(),
        201,
        "the 100 and 103 before it are skipped"
    );
    assert_eq!(interim.text().await.unwrap(), "ok");
    let empty = get("/no-content").await.unwrap();
    assert_eq!(empty.status(), 204);
    assert_eq!(empty.headers()["x-seen"], "1");
    let head = call(reqwest::Method::HEAD, "/head").send().await.unwrap();
    assert_eq!(
        head.status(),
        200,
        "a HEAD answer's length announces no body"
    );
    let sized = call(reqwest::Method::POST, "/echo")
        .body("with a length")
        .send()
        .await
        .unwrap();
    assert_eq!(sized.text().await.unwrap(), "with a length");
    let pieces = futures_util::stream::iter([Ok::<_, std::io::Error>("str"), Ok("eamed")]);
    let streamed = call(reqwest::Method::PUT, "/echo")
        .body(reqwest::Body::wrap_stream(pieces))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.text().await.unwrap(), "streamed");
    let received = wire.received();
    let paths: Vec<_> = received
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("GET", "/chunked"),
            ("GET", "/interim"),
            ("GET", "/no-content"),
            ("HEAD", "/head"),
            ("POST", "/echo"),
            ("PUT", "/echo")
        ]
    );
    assert_eq!(received[5].body, b"streamed");
    // Every one of those answers had a clean end: one connection carried them all, one after the other.
    assert!(received.iter().all(|r| r.connection == 1), "{received:?}");

    let until_close = get("/until-close").await.unwrap();
    assert_eq!(until_close.text().await.unwrap(), "until close");
    let doubtful = get("/two-lengths").await.unwrap();
    assert_eq!(doubtful.status(), 502);
    assert_eq!(
        doubtful.json::<Value>().await.unwrap()["error"],
        "upstream_unavailable"
    );
    // The browser's connection is cut: before the head reaches it (hyper may still hold the head with the first
    // bytes when the body fails) or after, but never with an answer that looks whole.
    for cut in ["/short", "/bad-chunk"] {
        if let Ok(answer) = get(cut).await {
            assert!(
                answer.bytes().await.is_err(),
                "{cut}: the body must not end cleanly"
            );
        }
    }
    // The body that ran until close was still on the first connection; none of those is used again.
    let after = get("/echo").await.unwrap();
    assert_eq!(after.status(), 200);
    let connections: Vec<u32> = wire
        .received()
        .iter()
        .skip(6)
        .map(|r| r.connection)
        .collect();
    assert_eq!(
        connections,
        [1, 2, 3, 4, 5],
        "each answer without a clean end closed its connection"
    );
}

/// An upstream may answer before it has read the request's body, and then neither read the rest nor close
/// (RFC 9112 9.6). A body larger than the sockets' buffers then fills them, and a proxy that only reads the
/// answer after sending the whole body waits for the API's timeout (504); the BFF watches for the answer while
/// it sends, and passes the upstream's 413 on at once (a 504 here is the stall).
#[tokio::test]
async fn an_upstream_answering_before_it_reads_the_body_is_answered_at_once() {
    let wire = WireUpstream::start().await;
    let stack = Stack::start(StackOptions {
        bff_toml: format!(
            "[apis.wire]\nurl = \"{}\"\ntoken = false\nmethods = [\"POST\"]\n\
             timeout_secs = 20\nmax_body_bytes = 67108864\n",
            wire.url()
        ),
        ..Default::default()
    })
    .await;
    // Larger than the loopback sockets' buffers on both sides of the BFF's upstream connection together.
    let body = vec![b'x'; 32 << 20];
    let answer = reqwest::Client::new()
        .post(format!("{}/api/wire/early", stack.origin))
        .header("x-csrf", "1")
        .body(body)
        .send()
        .await
        .expect("an answer, not a connection error");
    assert_eq!(answer.status(), 413, "the upstream's own answer");
    assert_eq!(answer.text().await.unwrap(), "too big!");
    assert_eq!(wire.received().len(), 1);
}
