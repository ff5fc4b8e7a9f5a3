//! The SPA's failure kinds that need a broken part, in headless Chromium: the OP's keys unreachable during the
//! sign-in (the code is never sent), the BFF gone while signed in, and an API behind the BFF too slow (504).
//! Each is explained in plain words with a way to retry, and the retry works once the part is back; nothing
//! keeps spinning. (The OP's own `error` response and each failed ID token check are in
//! `conformance_browser.rs`; a session that ended and an unreachable upstream in `spa_product.rs`.)

use hybrid_e2e::browser::Browser;
use hybrid_e2e::stack::{serve_spa_toml, start_bff, Stack, StackOptions};
use hybrid_e2e::test_op::TestOp;
use hybrid_e2e::upstream::SlowUpstream;
use hybrid_e2e::{repo_root, wait_for};
use shared::ResponseType;
use std::time::Duration;

/// The alert's `data-error` and text, once an alert with that code is shown.
async fn alert(browser: &Browser, code: &str) -> String {
    let css = format!("[role='alert'][data-error='{code}']");
    browser
        .wait_for_css(&css)
        .await
        .text()
        .await
        .expect("alert text")
}

#[tokio::test]
async fn op_keys_unreachable_stop_the_sign_in_before_the_code_is_sent() {
    let op = TestOp::start().await;
    let spa = serve_spa_toml();
    let (bff, browser) = tokio::join!(
        start_bff(&op.issuer, ResponseType::CodeIdToken, &spa),
        Browser::start()
    );
    browser.open_spa(&bff.origin).await;

    // To a browser, an answer without CORS headers is a network error: the same as a key endpoint that is down.
    op.set_jwks_reachable(false);
    browser.click("login").await;
    let text = alert(&browser, "jwks_unreachable").await;
    assert!(text.contains("keys could not be fetched"), "{text}");
    assert!(text.contains("Sign in again"), "a way to retry: {text}");
    browser.wait_session_state("error").await;
    assert_eq!(op.token_requests(), 0, "the code was never sent on");
    assert_eq!(browser.bff_user_status().await, 401);
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.fragment(), None, "the fragment is wiped on failure too");
    browser.screenshot("error-jwks-unreachable").await;

    op.set_jwks_reachable(true);
    browser.click("retry").await;
    browser.wait_session_state("active").await;
    assert_eq!(browser.text_of("user-name").await, "Alice Test");
    assert_eq!(op.token_requests(), 1);
    browser.close().await;
}

#[tokio::test]
async fn bff_gone_and_slow_api_are_explained_and_retry_works() {
    let slow = SlowUpstream::start(Duration::from_secs(30)).await;
    // SQLite, so the session outlives the BFF's restart and "Try again" can succeed.
    let db = repo_root().join(format!(
        "target/test-sessions/spa-errors-{}.db",
        std::process::id()
    ));
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&db);
    let (mut stack, browser) = tokio::join!(
        Stack::start(StackOptions {
            serve_spa: true,
            bff_toml: format!(
                "[session]\nstore = \"sqlite\"\nsqlite_path = {:?}\n\
                 keys = [\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"]\n\
                 [apis.slow]\nurl = \"{}\"\ntimeout_secs = 1\n",
                db.display().to_string(),
                slow.url()
            ),
            ..Default::default()
        }),
        Browser::start()
    );
    browser.client.set_window_size(1280, 1900).await.unwrap();
    browser.open_spa(&stack.origin).await;
    browser.sign_in().await;

    // The API console on an upstream slower than its timeout: the BFF's 504, explained.
    browser.choose("console-api", "slow").await;
    browser.click("console-send").await;
    let error = browser
        .wait_for_css("[data-testid='console-error'][data-error='upstream_timeout']")
        .await;
    assert!(error.text().await.unwrap().contains("504"));
    assert_eq!(browser.text_of("console-status").await, "504");
    browser.screenshot("error-upstream-timeout").await;

    // The BFF goes away: the call fails at once with its own explanation and a retry, the user stays shown.
    // The call is started from the bottom of the page (a script click does not scroll): the alert, at the top,
    // must scroll itself into view.
    stack.stop_bff().await;
    browser.client.set_window_size(1280, 700).await.unwrap();
    browser
        .eval(
            "window.scrollTo(0, document.body.scrollHeight);\
             document.querySelector('[data-testid=call-api]').click(); return null;",
        )
        .await;
    let text = alert(&browser, "unreachable").await;
    assert!(text.contains("could not be reached"), "{text}");
    assert!(text.contains("Try again"), "{text}");
    wait_for(
        "the alert to scroll into view",
        Duration::from_secs(5),
        || async {
            // (Sub-pixel layout: a box scrolled exactly to the top may start at -0.1 px.)
            let in_view = browser
                .eval(
                    "const r = document.querySelector('[role=alert][data-error=unreachable]')\
                 .getBoundingClientRect(); return r.top > -1 && r.bottom < window.innerHeight + 1;",
                )
                .await;
            (in_view == true).then_some(())
        },
    )
    .await;
    assert_eq!(browser.text_of("user-name").await, "Alice Example");
    browser.screenshot("error-bff-unreachable").await;

    // Back again (the session kept in SQLite): the same button now succeeds.
    stack.start_bff_again().await;
    browser.click("retry").await;
    let result = browser.text_of("api-result").await;
    let json: serde_json::Value = serde_json::from_str(&result).expect("API result as JSON");
    assert_eq!(json["sub"], "alice");
    let alerts = browser
        .eval("return document.querySelectorAll('[role=alert][data-error=unreachable]').length;")
        .await;
    assert_eq!(alerts, 0, "the alert is gone after the retry");
    browser.close().await;
}
