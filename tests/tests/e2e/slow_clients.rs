//! Slow clients and long requests against the BFF's own server (`bff::serve`, which the harness runs as the
//! binary does): a request head that never completes is cut off after `server.header_read_timeout_secs`, a
//! `/bff` request not done within `server.request_timeout_secs` gets a JSON 504, and `/api` calls keep their
//! API's own, longer timeout.

use hybrid_e2e::raw_http::{self, answer_within, closed_within, send_partial};
use hybrid_e2e::stack::{Stack, StackOptions};
use hybrid_e2e::upstream::SlowUpstream;
use std::time::Duration;

fn port_of(origin: &str) -> u16 {
    origin.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_request_head_that_never_completes_is_cut_off_and_normal_requests_still_work() {
    let stack = Stack::start(StackOptions {
        bff_toml: "[server]\nheader_read_timeout_secs = 1\n".into(),
        ..Default::default()
    })
    .await;
    let port = port_of(&stack.origin);

    // Half a request head, then silence: the server closes the connection without answering.
    let mut half = send_partial(
        port,
        b"GET /bff/user HTTP/1.1\r\nHost: localhost\r\nX-Slow: ",
    )
    .await;
    // Nothing at all after connecting: the same.
    let mut silent = send_partial(port, b"").await;
    // A normal request meanwhile is answered at once.
    let r = raw_http::send(port, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n", b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");

    for (what, stream) in [("half a head", &mut half), ("no bytes", &mut silent)] {
        let sent = closed_within(stream, Duration::from_secs(15))
            .await
            .unwrap_or_else(|| panic!("{what}: the connection is still open after 15 s"));
        assert!(sent.is_empty(), "{what}: no answer, just closed: {sent:?}");
    }
    let r = raw_http::send(port, "GET /bff/user HTTP/1.1\r\nHost: localhost\r\n", b"").await;
    assert_eq!(r.status, 401, "the server still answers");
}

#[tokio::test]
async fn a_bff_request_over_the_request_timeout_gets_json_504_while_a_longer_api_call_succeeds() {
    // The API answers after 6 s: longer than the /bff timeout (5 s), within its own (20 s).
    let slow = SlowUpstream::start(Duration::from_secs(6)).await;
    let stack = Stack::start(StackOptions {
        bff_toml: format!(
            "[server]\nrequest_timeout_secs = 5\n[oidc]\nhttp_timeout_secs = 1\n\
             [apis.slow]\nurl = \"{}\"\ntoken = false\ntimeout_secs = 20\n",
            slow.url()
        ),
        ..Default::default()
    })
    .await;
    let port = port_of(&stack.origin);

    // A sign-in whose body comes too slowly (here: never completes) holds the exchange handler.
    let head = "POST /bff/session HTTP/1.1\r\nHost: localhost\r\nX-CSRF: 1\r\n\
                Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"code\":";
    let mut stalled = send_partial(port, head.as_bytes()).await;
    let api = tokio::spawn(async move {
        raw_http::send(
            port,
            "GET /api/slow/anything HTTP/1.1\r\nHost: localhost\r\nX-CSRF: 1\r\n",
            b"",
        )
        .await
    });

    let answer = answer_within(&mut stalled, Duration::from_secs(15))
        .await
        .expect("the stalled sign-in is answered within 15 s");
    assert_eq!(answer.status, 504, "{answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let body = answer.json();
    assert_eq!(body["error"], "request_timeout", "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );

    let api = api.await.unwrap();
    assert_eq!(api.status, 200, "{api:?}");
    assert_eq!(api.body, b"late");
}
