//! Every `/bff` answer is `Cache-Control: no-store`: they carry login state, the user's data and end-session
//! URLs, which no browser or shared cache may keep. Errors too: every route's failure answers, the CSRF layer's
//! refusals, axum's own 405 and the fallback.

use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::stack::{Stack, StackOptions};
use reqwest::Response;
use serde_json::json;

fn assert_no_store(what: &str, expected_status: u16, r: &Response) {
    assert_eq!(r.status(), expected_status, "{what}");
    assert_eq!(
        r.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "{what}: {:?}",
        r.headers()
    );
}

#[tokio::test]
async fn every_bff_answer_is_no_store() {
    let stack = Stack::start(StackOptions::default()).await;
    let bff = BffClient::new(&stack.origin);
    let raw = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", stack.origin);

    assert_no_store("GET /bff/login", 200, &bff.get("/bff/login").await);
    assert_no_store(
        "GET /bff/user, signed out",
        401,
        &bff.get("/bff/user").await,
    );
    assert_no_store("GET /bff/apis", 200, &bff.get("/bff/apis").await);
    let no_csrf = raw.post(url("/bff/login")).send().await.unwrap();
    assert_no_store("POST /bff/login without X-CSRF", 403, &no_csrf);
    let bad_type = bff
        .post("/bff/login", Some(&json!({"response_type": "token"})))
        .await;
    assert_no_store("POST /bff/login, refused response type", 400, &bad_type);
    let junk = bff
        .post("/bff/session", Some(&json!({"code": "x", "state": "y"})))
        .await;
    assert!(junk.status().is_client_error(), "{}", junk.status());
    let status = junk.status().as_u16();
    assert_no_store("POST /bff/session, unknown state", status, &junk);
    let not_json = raw
        .post(url("/bff/session"))
        .header("x-csrf", "1")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    let status = not_json.status().as_u16();
    assert!((400..500).contains(&status), "{status}");
    assert_no_store("POST /bff/session, not JSON", status, &not_json);
    let wrong_method = raw.get(url("/bff/session")).send().await.unwrap();
    assert_no_store("GET /bff/session", 405, &wrong_method);
    let unknown = raw.get(url("/bff/nothing-here")).send().await.unwrap();
    assert_no_store("GET /bff/nothing-here", 400, &unknown);
    let backchannel = raw
        .post(url("/bff/backchannel"))
        .form(&[("logout_token", "not-a-jwt")])
        .send()
        .await
        .unwrap();
    assert_no_store("POST /bff/backchannel, bad token", 400, &backchannel);

    // Signed in: the login start (state and nonce), the session (the user), the user, the end-session URL.
    assert_no_store("POST /bff/login", 200, &bff.post("/bff/login", None).await);
    let response = bff.authorization_response(&stack.redirect_uri).await;
    let created = bff.post("/bff/session", Some(&response)).await;
    assert_no_store("POST /bff/session", 200, &created);
    assert_no_store("GET /bff/user", 200, &bff.get("/bff/user").await);
    assert_no_store(
        "POST /bff/logout",
        200,
        &bff.post("/bff/logout", None).await,
    );
}
