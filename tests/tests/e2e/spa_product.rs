//! The SPA as a product, end to end in headless Chromium against the real stack: deep link restored after the
//! sign-in, the flow view with every ID token check, restore on reload, the API console, error kinds with a way
//! to retry, and no token anywhere JS can read. Saves screenshots to `target/screenshots/`.

use hybrid_e2e::browser::Browser;
use hybrid_e2e::stack::{Stack, StackOptions};

/// Everything JS can read: both web storages and `document.cookie`.
async fn readable_by_js(browser: &Browser) -> String {
    browser
        .eval(
            "return JSON.stringify(sessionStorage) + JSON.stringify(localStorage) + document.cookie;",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// An upstream nobody listens on, that allows only GET: for the 405 and 502 explanations.
const DOWN_API: &str = r#"
[apis.down]
url = "http://127.0.0.1:9"
methods = ["GET"]
token = false
timeout_secs = 2
"#;

#[tokio::test]
async fn deep_link_flow_view_restore_console_and_session_gone() {
    let (stack, browser) = tokio::join!(
        Stack::start(StackOptions {
            serve_spa: true,
            bff_toml: DOWN_API.into(),
            ..Default::default()
        }),
        Browser::start()
    );
    // Tall enough for the flow view and the console in one screenshot.
    browser.client.set_window_size(1280, 1900).await.unwrap();
    browser
        .client
        .goto(&format!("{}/somewhere?x=1", stack.origin))
        .await
        .expect("SPA loads on a deep link");
    browser.wait_session_state("none").await;
    // The page runs under its own strict CSP (no inline script at all): the wasm started, so the CSP held.
    let csp = browser
        .eval(
            "return [document.querySelector('meta[http-equiv=Content-Security-Policy]').content,\
             document.querySelectorAll('script:not([src])').length];",
        )
        .await;
    assert!(
        csp[0]
            .as_str()
            .unwrap()
            .contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert_eq!(csp[1], 0, "no inline script");
    browser.screenshot("signed-out").await;
    browser.sign_in().await;
    assert_eq!(browser.text_of("user-name").await, "Alice Example");

    // The deep link is back, without any fragment.
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/somewhere", "deep link restored: {url}");
    assert_eq!(url.query(), Some("x=1"));
    assert_eq!(url.fragment(), None);

    // Marks for benchmarks, in flow order.
    let marks = browser
        .eval(
            "return ['fragment-parsed','id-token-verified','identity-shown','session-established',\
             'hybrid:user-shown','hybrid:session-up']\
             .map(n => (performance.getEntriesByName(n)[0] || {}).startTime ?? null);",
        )
        .await;
    let marks: Vec<f64> = marks
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m.as_f64()
                .unwrap_or_else(|| panic!("every mark set: {marks:?}"))
        })
        .collect();
    assert!(
        marks[0] <= marks[1] && marks[1] <= marks[2] && marks[2] <= marks[3],
        "marks in order: {marks:?}"
    );
    // The identity comes first: on the way back from the OP the page starts as "checking the sign-in", so the API
    // console (and its request for the API list) is not drawn and torn down before the user is shown; it is
    // drawn once, when the session is up, and asks for the list once.
    browser.wait_for_css("#console-api option").await;
    let lists = browser
        .eval(
            "return performance.getEntriesByType('resource')\
             .filter(e => e.name.endsWith('/bff/apis')).map(e => Math.round(e.startTime));",
        )
        .await;
    assert_eq!(
        lists.as_array().map(Vec::len),
        Some(1),
        "GET /bff/apis on the callback page, start times in ms: {lists}"
    );

    // The flow view: every check passed, with values; the token's claims as a table; no raw token.
    let checks = browser.text_of("id-token-checks").await;
    for name in [
        "state",
        "signature",
        "iss",
        "aud",
        "exp",
        "iat",
        "nonce",
        "c_hash",
    ] {
        assert!(checks.contains(name), "check {name} shown: {checks}");
    }
    assert!(
        checks.contains("RS256") || checks.contains("ES256") || checks.contains("PS256"),
        "alg shown: {checks}"
    );
    assert!(!checks.contains("failed"), "nothing failed: {checks}");
    let claims = browser.text_of("id-token-claims").await;
    assert!(claims.contains("alice"), "claims table: {claims}");
    let flow = browser.text_of("flow-view").await;
    for step in [
        "Authorization request",
        "Fragment received",
        "OP keys",
        "Code sent to the BFF",
        "BFF exchange",
        "Session established",
    ] {
        assert!(flow.contains(step), "step {step} shown: {flow}");
    }
    assert!(
        flow.contains("cached when the sign-in started"),
        "the ID token was checked with the key set fetched at login: {flow}"
    );
    assert!(!flow.contains("eyJ"), "no raw token in the flow view");
    browser.screenshot("signed-in-flow").await;

    // Nothing token-like is readable by JS.
    let readable = readable_by_js(&browser).await;
    assert!(
        !readable.contains("eyJ"),
        "no JWT readable by JS: {readable}"
    );
    assert_eq!(stack.token_requests().await, 1);

    // Reload: still signed in (the BFF's session), same page.
    browser.client.refresh().await.unwrap();
    browser.wait_session_state("active").await;
    assert_eq!(browser.text_of("user-name").await, "Alice Example");
    assert!(browser
        .text_of("flow-view")
        .await
        .contains("Session restored"));

    // API console: the configured upstream, a GET, status, time, headers and JSON.
    let api = browser
        .wait_for_css("[data-testid='console-api'] option")
        .await;
    assert_eq!(api.attr("value").await.unwrap().as_deref(), Some("demo"));
    browser.click("console-send").await;
    assert_eq!(browser.text_of("console-status").await, "200");
    let body = browser.text_of("console-body-out").await;
    let json: serde_json::Value = serde_json::from_str(&body).expect("pretty JSON shown");
    assert_eq!(json["sub"], "alice");
    assert!(browser.text_of("console-time").await.ends_with("ms"));
    browser.screenshot("api-console").await;

    // The BFF's method allowlist (405) and an unreachable upstream (502), each explained.
    browser.choose("console-api", "down").await;
    browser.choose("console-method", "POST").await;
    browser.click("console-send").await;
    let error = browser.wait_for_css("[data-testid='console-error']").await;
    assert_eq!(
        error.attr("data-error").await.unwrap().as_deref(),
        Some("method_not_allowed")
    );
    assert!(error.text().await.unwrap().contains("allowlist"));
    browser.choose("console-method", "GET").await;
    browser.click("console-send").await;
    let error = browser
        .wait_for_css("[data-testid='console-error'][data-error='upstream_unavailable']")
        .await;
    assert!(error.text().await.unwrap().contains("502"));
    assert_eq!(browser.text_of("console-status").await, "502");
    browser.choose("console-api", "demo").await;

    // The session disappears (cookie gone): the console explains the 401 and offers to sign in again.
    browser.client.delete_all_cookies().await.unwrap();
    browser.click("console-send").await;
    let error = browser.wait_for_css("[data-testid='console-error']").await;
    let code = error.attr("data-error").await.unwrap().unwrap_or_default();
    assert!(
        code == "unauthenticated" || code == "session_expired",
        "401 explained: {code}"
    );
    assert!(error.text().await.unwrap().contains("Sign in again"));
    browser.wait_session_state("none").await;
    browser.click("retry").await;
    // "Sign in again" starts a new sign-in, which comes back to the same page.
    browser.wait_session_state("active").await;
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/somewhere");
    browser.close().await;
}

#[tokio::test]
async fn unmatched_response_is_explained_with_a_retry_and_the_fragment_is_wiped() {
    let (stack, browser) = tokio::join!(
        Stack::start(StackOptions {
            serve_spa: true,
            ..Default::default()
        }),
        Browser::start()
    );
    // A response this browser never asked for (no pending sign-in).
    browser
        .client
        .goto(&format!(
            "{}/callback#code=abcdefghijkl&state=zzzzzzzz",
            stack.origin
        ))
        .await
        .unwrap();
    browser.wait_session_state("error").await;
    let alert = browser.wait_for_css("[role='alert']").await;
    assert_eq!(
        alert.attr("data-error").await.unwrap().as_deref(),
        Some("no_pending_login")
    );
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.fragment(), None, "fragment wiped");
    let flow = browser.text_of("flow-view").await;
    assert!(flow.contains("code=abcdef…"), "values shortened: {flow}");
    assert!(
        !flow.contains("abcdefghijkl"),
        "never the whole code: {flow}"
    );
    browser.screenshot("error-state").await;
    assert_eq!(stack.token_requests().await, 0);

    // Retry starts a clean sign-in that succeeds.
    browser.click("retry").await;
    browser.wait_session_state("active").await;
    browser.close().await;
}

/// Conformance mode: the Advanced setting offers what the BFF accepts (asked only when opened), marks a
/// non-default choice, and the sign-in then runs with that response type end to end.
#[tokio::test]
async fn conformance_mode_signs_in_with_the_chosen_response_type() {
    let (stack, browser) = tokio::join!(
        Stack::start(StackOptions {
            serve_spa: true,
            bff_toml: "[oidc]\nresponse_types_allowed = [\"code id_token token\"]\n".into(),
            ..Default::default()
        }),
        Browser::start()
    );
    browser.client.goto(&stack.origin).await.unwrap();
    browser.wait_session_state("none").await;
    let asked = "return performance.getEntriesByType('resource')\
                 .filter(e => new URL(e.name).pathname === '/bff/login').length;";
    assert_eq!(browser.eval(asked).await, 0, "nothing asked before opening");

    browser
        .wait_for_css("[data-testid='advanced'] summary")
        .await
        .click()
        .await
        .unwrap();
    browser.choose("response-type", "code id_token token").await;
    let marker = browser.text_of("conformance-mode").await;
    assert!(marker.contains("code id_token token"), "{marker}");
    let offered = browser
        .eval("return [...document.querySelectorAll('#response-type option')].map(o => o.value);")
        .await;
    assert_eq!(
        offered,
        serde_json::json!(["code id_token", "code id_token token"]),
        "only what the BFF accepts"
    );
    browser.screenshot("conformance-mode").await;

    browser.sign_in().await;
    assert_eq!(browser.text_of("user-name").await, "Alice Example");
    let flow = browser.text_of("flow-view").await;
    assert!(
        flow.contains("response_type=code id_token token"),
        "the flow ran with the chosen type: {flow}"
    );
    assert!(flow.contains("at_hash"), "{flow}");
    assert!(!flow.contains("eyJ"), "no raw token shown: {flow}");
    let readable = readable_by_js(&browser).await;
    assert!(
        !readable.contains("eyJ"),
        "the front-channel access token is nowhere JS can read: {readable}"
    );
    assert_eq!(stack.token_requests().await, 1);
    browser.close().await;
}
