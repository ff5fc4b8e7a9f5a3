//! RP-initiated logout in headless Chromium against the real dev OP: the SPA ends the OP session with an
//! auto-submitted form POST (the ID token hint in the body, never in a URL), and says "signed out" only when the
//! OP's redirect back carries the `state` this browser's logout sent.

use hybrid_e2e::browser::Browser;
use hybrid_e2e::stack::{Stack, StackOptions};
use serde_json::Value;

/// The dev OP's token-free test log: its counters and every request it received.
async fn op_stats(stack: &Stack) -> Value {
    reqwest::get(format!("{}/__test/stats", stack.issuer))
        .await
        .expect("OP stats")
        .json()
        .await
        .expect("OP stats JSON")
}

/// Waits until the page has settled on `state`: the Log in button only shows once the first answer is known,
/// so a page still asking the BFF does not pass for one that decided.
async fn settled(browser: &Browser, state: &str) {
    browser.wait_session_state(state).await;
    browser
        .wait_for_css("[data-testid='login']:not([disabled])")
        .await;
    browser.wait_session_state(state).await;
}

/// Whether the browser holds the dev OP's session cookie (read on an OP page, then back to the SPA).
async fn op_session_cookie(browser: &Browser, stack: &Stack) -> bool {
    browser
        .client
        .goto(&format!(
            "{}/.well-known/openid-configuration",
            stack.issuer
        ))
        .await
        .expect("an OP page");
    let cookies = browser.client.get_all_cookies().await.expect("cookies");
    cookies.iter().any(|c| c.name() == "_session")
}

#[tokio::test]
async fn logout_posts_the_hint_ends_the_op_session_and_checks_the_state() {
    let (stack, browser) = Browser::signed_in_on_new_stack(StackOptions::default()).await;
    assert!(
        op_session_cookie(&browser, &stack).await,
        "the OP holds a session for this browser"
    );
    browser.client.goto(&stack.origin).await.expect("SPA loads");
    browser.wait_session_state("active").await;
    let backchannel_before = op_stats(&stack).await["backchannel_logouts"]
        .as_u64()
        .unwrap();

    browser.click("logout").await;
    // To the OP by form POST, its confirmation (automatic in test mode), and back with the state.
    browser.wait_session_state("signed-out").await;
    assert_eq!(browser.bff_user_status().await, 401);
    // Every URL this page loaded, the navigation from the OP included: no token anywhere.
    let visited = browser
        .eval("return performance.getEntries().map(e => e.name).join(' ');")
        .await;
    let visited = visited.as_str().unwrap();
    assert!(
        visited.contains("state=")
            && !visited.contains("eyJ")
            && !visited.contains("id_token_hint"),
        "the OP's redirect back carries the state and no token: {visited}"
    );
    let here = browser.client.current_url().await.unwrap();
    assert_eq!(here.query(), None, "the state left the address bar: {here}");

    let stats = op_stats(&stack).await;
    let requests = stats["requests"].as_array().unwrap();
    assert!(
        requests
            .iter()
            .any(|r| r["method"] == "POST" && r["path"] == "/session/end"),
        "the end-session request was a POST: {requests:?}"
    );
    for r in requests {
        assert_eq!(r["jwt_in_query"], false, "a JWT in a URL at the OP: {r}");
        assert!(
            !r["query_params"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == "id_token_hint"),
            "id_token_hint in a URL at the OP: {r}"
        );
    }
    // The OP found and ended the real session: it told the BFF (back-channel) and dropped its cookie.
    assert!(
        stats["backchannel_logouts"].as_u64().unwrap() > backchannel_before,
        "the OP ended the session it had for this browser"
    );
    assert!(
        !op_session_cookie(&browser, &stack).await,
        "the OP session cookie is gone"
    );

    // A crafted return (no logout in this browser): the neutral state, no "signed out", no error.
    browser
        .client
        .goto(&format!("{}/?state=forged", stack.origin))
        .await
        .unwrap();
    settled(&browser, "none").await;
    let alerts = browser
        .eval("return document.querySelectorAll(\"[role='alert']\").length;")
        .await;
    assert_eq!(alerts, 0, "no error shown for a return not recognised");
    browser.close().await;
}

/// A logout started in this browser (its state cookie set), then a return with another state: not reported as
/// a sign-out, and the cookie is spent, so even the right state afterwards is not.
#[tokio::test]
async fn a_bad_state_on_return_is_not_a_successful_sign_out() {
    let (stack, browser) = Browser::signed_in_on_new_stack(StackOptions::default()).await;
    // What the Log out button asks the BFF, without going to the OP.
    let out = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch('/bff/logout', {method: 'POST', headers: {'X-CSRF': '1'}, credentials: 'same-origin'})\
             .then(r => r.json()).then(done, e => done(String(e)));",
            vec![],
        )
        .await
        .expect("logout call");
    let state = out["end_session"]["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f[0] == "state"))
        .and_then(|f| f[1].as_str())
        .unwrap_or_else(|| panic!("a state: {out}"))
        .to_owned();
    browser
        .client
        .goto(&format!("{}/?state=not-{state}", stack.origin))
        .await
        .unwrap();
    settled(&browser, "none").await;
    browser
        .client
        .goto(&format!("{}/?state={state}", stack.origin))
        .await
        .unwrap();
    settled(&browser, "none").await;
    let status = browser
        .eval("return document.querySelector(\"[data-testid='session-status']\").getAttribute('data-state');")
        .await;
    assert_eq!(status, "none", "never reported as signed out");
    browser.close().await;
}
