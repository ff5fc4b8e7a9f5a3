//! The userinfo step end to end in headless Chromium, against node-oidc-provider (the dev configuration's token
//! layout, its consent page approved as a person does it) and glewlwyd, for every hybrid response type: the BFF
//! reads userinfo with the session's access token, `/bff/user` merges its claims with the ID token's (each
//! claim naming its source), and the SPA shows both, with the userinfo step in the flow view. Each OP releases
//! a claim at userinfo only (`zoneinfo`: the dev OP's account, glewlwyd's on-demand claim asked for with the
//! `claims` parameter), so the merge shows.

use super::interop_glewlwyd;
use hybrid_e2e::browser::Browser;
use hybrid_e2e::stack::StackOptions;
use serde_json::Value;
use shared::ResponseType;

/// `GET /bff/user` from the page, as the SPA sends it (same origin, `X-CSRF: 1`): the JSON answer.
async fn bff_user(browser: &Browser) -> Value {
    let script = "const done = arguments[arguments.length - 1];\
                  fetch('/bff/user', {headers: {'X-CSRF': '1'}, credentials: 'same-origin'})\
                  .then(r => r.json()).then(done, e => done({error: String(e)}));";
    browser
        .client
        .execute_async(script, vec![])
        .await
        .expect("fetch('/bff/user') runs")
}

/// What every OP's run shows once signed in: userinfo read, its own claim marked as from userinfo in the answer
/// and on the user card, and the flow view's userinfo step.
async fn assert_userinfo_shown(browser: &Browser, response_type: ResponseType, zoneinfo: &str) {
    let user = bff_user(browser).await;
    assert_eq!(
        user["userinfo"]["status"], "ok",
        "{response_type}: userinfo was read: {user}"
    );
    let claims = user["claims"].as_array().expect("claims in /bff/user");
    assert!(
        claims.iter().any(|c| c["source"] == "userinfo"),
        "{response_type}: a claim from userinfo: {user}"
    );
    let zone = claims
        .iter()
        .find(|c| c["name"] == "zoneinfo")
        .unwrap_or_else(|| panic!("{response_type}: zoneinfo among the claims: {user}"));
    assert_eq!(zone["source"], "userinfo", "{response_type}: {zone}");
    assert_eq!(zone["value"], zoneinfo, "{response_type}: {zone}");
    assert!(
        claims.iter().any(|c| c["source"] == "id_token"),
        "{response_type}: the ID token's claims are there too: {user}"
    );

    let card = browser
        .wait_for_css("[data-claim='zoneinfo'][data-source='userinfo']")
        .await;
    assert!(
        card.text().await.unwrap().contains(zoneinfo),
        "{response_type}: the user card shows the userinfo claim"
    );
    browser.wait_for_css("[data-source='id_token']").await;
    browser
        .wait_for_css("[data-step='userinfo'][data-status='ok']")
        .await;
}

async fn dev_op(response_type: ResponseType) {
    // The first sign-in shows the OP's consent page; the wait presses Allow on it.
    let (_stack, browser) = Browser::signed_in_on_new_stack(StackOptions {
        response_type,
        main_token_for_op: true,
        ..Default::default()
    })
    .await;
    assert_eq!(browser.text_of("user-name").await, "Alice Example");
    assert_userinfo_shown(&browser, response_type, "Europe/Paris").await;
    browser
        .screenshot(&format!(
            "userinfo-dev-op-{}",
            response_type.as_str().replace(' ', "-")
        ))
        .await;
    // The demo API still gets its JWT (its own upstream token in this layout).
    browser.click("call-api").await;
    let result = browser.text_of("api-result").await;
    let json: Value = serde_json::from_str(&result).expect("the API result is JSON");
    assert_eq!(json["sub"], "alice", "{response_type}: {json}");
    browser.close().await;
}

#[tokio::test]
async fn dev_op_code_id_token_shows_userinfo_claims() {
    dev_op(ResponseType::CodeIdToken).await;
}

#[tokio::test]
async fn dev_op_code_token_shows_userinfo_claims() {
    dev_op(ResponseType::CodeToken).await;
}

#[tokio::test]
async fn dev_op_code_id_token_token_shows_userinfo_claims() {
    dev_op(ResponseType::CodeIdTokenToken).await;
}

/// glewlwyd's sign-in in the browser, as `interop_glewlwyd.rs` does it (through the API its login page uses:
/// username and password, then the scope grant, glewlwyd's consent), then the SPA.
async fn glewlwyd(response_type: ResponseType) {
    let (s, browser) = tokio::join!(
        interop_glewlwyd::setup(
            response_type,
            true,
            // g_continue: glewlwyd's login page has nothing left to do; claims: its on-demand `zoneinfo`, at
            // userinfo.
            r#"extra_authorize_params = { g_continue = "", claims = '{"userinfo":{"zoneinfo":null}}' }"#,
        ),
        Browser::start()
    );
    interop_glewlwyd::sign_in_at_glewlwyd(&browser, &s.op).await;

    browser.open_spa(&s.bff.origin).await;
    browser.sign_in().await;
    assert_eq!(browser.text_of("user-name").await, "Alice Liddell");
    assert_userinfo_shown(&browser, response_type, "Europe/London").await;
    browser
        .screenshot(&format!(
            "userinfo-glewlwyd-{}",
            response_type.as_str().replace(' ', "-")
        ))
        .await;
    browser.click("call-api").await;
    let result = browser.text_of("api-result").await;
    let json: Value = serde_json::from_str(&result).expect("the API result is JSON");
    assert!(
        json["sub"].as_str().is_some_and(|s| !s.is_empty()),
        "{json}"
    );
    browser.close().await;
}

#[tokio::test]
async fn glewlwyd_code_id_token_shows_userinfo_claims() {
    glewlwyd(ResponseType::CodeIdToken).await;
}

#[tokio::test]
async fn glewlwyd_code_token_shows_userinfo_claims() {
    glewlwyd(ResponseType::CodeToken).await;
}

#[tokio::test]
async fn glewlwyd_code_id_token_token_shows_userinfo_claims() {
    glewlwyd(ResponseType::CodeIdTokenToken).await;
}
