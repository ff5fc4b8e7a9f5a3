//! End to end in headless Chromium: the real SPA (built by Trunk, served by the BFF), the real BFF and the real
//! dev OP, for each hybrid response type. What a person sees: the user at once (when the front channel carries an
//! ID token), then the session, the API answer, and logout.

use hybrid_e2e::browser::Browser;
use hybrid_e2e::free_port;
use hybrid_e2e::stack::{Stack, StackOptions};
use shared::ResponseType;
use std::sync::{Arc, OnceLock};

#[tokio::test]
async fn code_id_token_login_shows_user_before_session_then_calls_api_and_logs_out() {
    login_calls_api_and_logs_out(ResponseType::CodeIdToken).await;
}

#[tokio::test]
async fn code_token_login_shows_user_with_session_then_calls_api_and_logs_out() {
    login_calls_api_and_logs_out(ResponseType::CodeToken).await;
}

#[tokio::test]
async fn code_id_token_token_login_shows_user_before_session_then_calls_api_and_logs_out() {
    login_calls_api_and_logs_out(ResponseType::CodeIdTokenToken).await;
}

/// The whole journey in the browser with `response_type`.
async fn login_calls_api_and_logs_out(response_type: ResponseType) {
    let (stack, browser) = tokio::join!(
        Stack::start(StackOptions {
            response_type,
            serve_spa: true,
            ..Default::default()
        }),
        Browser::start()
    );
    browser.open_spa(&stack.origin).await;
    browser.click("login").await;

    // Back from the OP: the user is shown, the session comes up, the fragment is gone.
    browser.wait_session_state("active").await;
    assert_eq!(browser.text_of("user-name").await, "Alice Example");
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(
        url.fragment(),
        None,
        "the fragment is wiped from the address bar"
    );
    assert_eq!(url.path(), "/");
    // With an ID token in the front channel, the user was on screen before the BFF answered: the SPA marks
    // both moments. Without one (`code token`), the user comes with the session, so there is no early mark.
    let marks = browser
        .eval(
            "const t = n => (performance.getEntriesByName(n)[0] || {}).startTime;\
             return [t('hybrid:user-shown'), t('hybrid:session-up')];",
        )
        .await;
    let up = marks[1].as_f64().expect("session-up mark");
    if response_type.has_id_token() {
        let shown = marks[0].as_f64().expect("user-shown mark");
        assert!(
            shown < up,
            "user shown at {shown} ms, session up at {up} ms"
        );
    } else {
        assert!(
            marks[0].is_null(),
            "no ID token in the front channel, so no early user: {marks}"
        );
    }
    // Nothing token-like stays in the browser's storage.
    let storage = browser
        .eval("return JSON.stringify(sessionStorage) + JSON.stringify(localStorage);")
        .await;
    assert!(
        !storage.as_str().unwrap().contains("eyJ"),
        "no JWT in web storage: {storage}"
    );
    assert_eq!(stack.token_requests().await, 1);

    browser.click("call-api").await;
    let result = browser.text_of("api-result").await;
    let json: serde_json::Value =
        serde_json::from_str(&result).expect("the API result is shown as JSON");
    assert_eq!(json["sub"], "alice");

    browser.click("logout").await;
    // RP-initiated logout goes to the OP (which confirms by itself in test mode) and back to the SPA.
    browser.wait_session_state("signed-out").await;
    assert_eq!(browser.bff_user_status().await, 401);
    browser.close().await;
}

/// A page that stands between the OP and the SPA and alters the ID token's signature before handing the
/// fragment on: the SPA must refuse it, show why, and never send the code.
#[tokio::test]
async fn tampered_id_token_in_the_fragment_is_refused_and_the_code_never_sent() {
    let tamper_port = free_port();
    let spa_origin: Arc<OnceLock<String>> = Arc::default();
    let origin_for_page = spa_origin.clone();
    let page = axum::Router::new().route(
        "/callback",
        axum::routing::get(move || {
            let origin = origin_for_page.get().cloned().unwrap_or_default();
            async move {
                axum::response::Html(format!(
                    r#"<script>
                    const p = new URLSearchParams(location.hash.slice(1));
                    const [h, b, s] = p.get('id_token').split('.');
                    p.set('id_token', [h, b, (s[0] === 'A' ? 'B' : 'A') + s.slice(1)].join('.'));
                    location.replace('{origin}/callback#' + p.toString());
                    </script>"#
                ))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", tamper_port))
        .await
        .unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, page).await });
    let (stack, browser) = tokio::join!(
        Stack::start(StackOptions {
            serve_spa: true,
            redirect_uri: Some(format!("http://localhost:{tamper_port}/callback")),
            ..Default::default()
        }),
        Browser::start()
    );
    spa_origin.set(stack.origin.clone()).unwrap();

    browser.open_spa(&stack.origin).await;
    browser.click("login").await;
    let alert = browser.alert_text().await;
    assert!(alert.contains("signature"), "the alert says why: {alert}");
    browser.wait_session_state("error").await;
    assert_eq!(
        stack.token_requests().await,
        0,
        "the code was never sent to the token endpoint"
    );
    assert_eq!(browser.bff_user_status().await, 401);
    browser.close().await;
    server.abort();
}
