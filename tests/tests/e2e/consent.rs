//! The dev OP's consent page in headless Chromium, approved and denied the way a person does it (the button found
//! and clicked): a user's first sign-in to the client lists the scopes asked for (and the API's), Allow signs in
//! and is remembered (the same user's next sign-in, from another browser, goes straight through), Deny comes back
//! to the SPA as the OP's `access_denied`, shown in plain words, with no session. Without a browser: the redirect
//! walker of `authorize.rs` approves it too, once per user.

use hybrid_e2e::authorize::{authorize_at_op, consent_approval, BffClient};
use hybrid_e2e::browser::{Browser, CONSENT_APPROVE, CONSENT_DENY};
use hybrid_e2e::stack::{Stack, StackOptions};
use reqwest::header::LOCATION;
use serde_json::Value;
use url::Url;

/// How many consent pages the dev OP has had approved (`POST /interaction/<uid>/confirm`) and denied, from its
/// test-mode request log.
async fn consent_answers(stack: &Stack) -> (usize, usize) {
    let stats: Value = reqwest::get(format!("{}/__test/stats", stack.issuer))
        .await
        .expect("OP stats")
        .json()
        .await
        .expect("OP stats JSON");
    let posts = |suffix: &str| {
        stats["requests"]
            .as_array()
            .expect("a request log")
            .iter()
            .filter(|r| {
                r["method"] == "POST"
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.starts_with("/interaction/") && p.ends_with(suffix))
            })
            .count()
    };
    (posts("/confirm"), posts("/abort"))
}

async fn spa_stack() -> Stack {
    Stack::start(StackOptions {
        serve_spa: true,
        main_token_for_op: true,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn the_first_sign_in_asks_consent_listing_the_scopes_and_the_next_one_does_not() {
    let (stack, browser) = tokio::join!(spa_stack(), Browser::start());
    browser.open_spa(&stack.origin).await;
    browser.click("login").await;

    // The OP's page: what the client asks for, scope by scope, and the demo API's scope under its resource.
    let consent = browser.wait_for_css("[data-testid='consent']").await;
    let here = browser.client.current_url().await.unwrap();
    assert_eq!(
        here.origin().ascii_serialization(),
        stack.issuer,
        "the consent page is the OP's: {here}"
    );
    let text = consent.text().await.unwrap();
    for scope in ["openid", "profile", "email"] {
        let item = browser
            .wait_for_css(&format!(
                "[data-testid='consent-scopes'] [data-scope='{scope}']"
            ))
            .await;
        assert!(
            item.text().await.unwrap().contains(scope),
            "{scope} listed: {text}"
        );
    }
    browser
        .wait_for_css("[data-testid='consent-resource'][data-resource='urn:demo-api'] [data-scope='api:read']")
        .await;
    assert!(text.contains("urn:demo-api"), "{text}");
    let page = browser.client.source().await.unwrap();
    assert!(page.contains("alice"), "the page names the user");
    browser.screenshot("op-consent").await;
    assert_eq!(stack.token_requests().await, 0, "nothing issued yet");

    // Allow, as a person does it.
    let allow = browser.wait_for_css(CONSENT_APPROVE).await;
    assert_eq!(allow.text().await.unwrap().trim(), "Allow");
    allow.click().await.expect("Allow clicked");
    browser.wait_session_state("active").await;
    assert_eq!(browser.text_of("user-name").await, "Alice Example");
    assert_eq!(consent_answers(&stack).await, (1, 0));
    browser.click("call-api").await;
    let result = browser.text_of("api-result").await;
    let json: Value = serde_json::from_str(&result).expect("the API result is JSON");
    assert_eq!(json["sub"], "alice", "{json}");
    assert_eq!(json["scope"], "api:read", "the consented API scope: {json}");
    browser.close().await;

    // The same user in another browser (no OP session, no cookies): straight back, no page.
    let other = Browser::signed_in(&stack.origin).await;
    assert_eq!(other.text_of("user-name").await, "Alice Example");
    assert_eq!(
        consent_answers(&stack).await,
        (1, 0),
        "the consent was remembered"
    );
    other.close().await;
}

#[tokio::test]
async fn denying_consent_comes_back_as_access_denied_with_no_session() {
    let (stack, browser) = tokio::join!(spa_stack(), Browser::start());
    browser.open_spa(&stack.origin).await;
    browser.click("login").await;

    let deny = browser.wait_for_css(CONSENT_DENY).await;
    assert_eq!(deny.text().await.unwrap().trim(), "Deny");
    deny.click().await.expect("Deny clicked");
    let alert = browser
        .wait_for_css("[role='alert'][data-error='op_error']")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        alert.contains("denied") && alert.contains("Nothing was signed in"),
        "the SPA says so in plain words: {alert}"
    );
    browser.wait_session_state("error").await;
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(
        url.origin().ascii_serialization(),
        stack.origin,
        "back at the SPA"
    );
    assert_eq!(
        url.fragment(),
        None,
        "the error response left the address bar"
    );
    assert_eq!(browser.bff_user_status().await, 401, "no session");
    assert_eq!(stack.token_requests().await, 0, "no code, no token request");
    assert_eq!(consent_answers(&stack).await, (0, 1));
    browser.screenshot("op-consent-denied").await;

    // A denial is not remembered: signing in again asks again.
    browser.click("retry").await;
    browser.wait_for_css("[data-testid='consent']").await;
    browser.close().await;
}

/// The OP's answer to a denial, without a browser: `error=access_denied` with the state, in the fragment.
#[tokio::test]
async fn a_denial_is_an_access_denied_authorization_response() {
    let stack = Stack::start(StackOptions::default()).await;
    let bff = BffClient::new(&stack.origin);
    let started = bff.start_login().await;
    let op = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url = Url::parse(&started.authorization_url).unwrap();
    let page = loop {
        let r = op.get(url.clone()).send().await.expect("OP reachable");
        match r.headers().get(LOCATION) {
            Some(location) => url = url.join(location.to_str().unwrap()).unwrap(),
            None => break r.text().await.unwrap(),
        }
    };
    assert!(consent_approval(&page).is_some(), "the consent page");
    let (action, fields) = hybrid_e2e::authorize::consent_denial(&page).expect("a Deny form");
    let r = op
        .post(url.join(&action).unwrap())
        .form(&fields)
        .send()
        .await
        .unwrap();
    let mut back = url.join(r.headers()[LOCATION].to_str().unwrap()).unwrap();
    while !back.as_str().starts_with(&stack.redirect_uri) {
        let r = op.get(back.clone()).send().await.unwrap();
        back = back.join(r.headers()[LOCATION].to_str().unwrap()).unwrap();
    }
    let fragment = back.fragment().expect("the answer is in the fragment");
    let params: Vec<(String, String)> = url::form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("error"), Some("access_denied"), "{fragment}");
    assert!(get("state").is_some_and(|s| !s.is_empty()), "{fragment}");
    assert_eq!(get("code"), None);
    // What the SPA and the BFF read: the OP's error, with its description, never a code to exchange.
    assert_eq!(
        shared::fragment::parse_fragment(fragment).unwrap_err(),
        shared::ValidationError::OpError {
            error: "access_denied".into(),
            description: Some("The user denied the requested access".into()),
        }
    );
    assert_eq!(stack.token_requests().await, 0);
}

/// The redirect walker of the non-browser tests approves the page once per user: alice twice, then bob.
#[tokio::test]
async fn the_redirect_walker_approves_once_per_user() {
    let stack = Stack::start(StackOptions::default()).await;
    let bff = BffClient::new(&stack.origin);
    let session = bff.log_in_at_op(&stack.redirect_uri).await;
    assert_eq!(session["user"]["sub"], "alice");
    assert_eq!(consent_answers(&stack).await, (1, 0));
    let again = BffClient::new(&stack.origin);
    again.log_in_at_op(&stack.redirect_uri).await;
    assert_eq!(
        consent_answers(&stack).await,
        (1, 0),
        "remembered for alice"
    );

    let bob = BffClient::new(&stack.origin);
    let started = bob.start_login().await;
    let mut url = Url::parse(&started.authorization_url).unwrap();
    url.query_pairs_mut().append_pair("login_hint", "bob");
    let fragment = authorize_at_op(url.as_str(), &stack.redirect_uri).await;
    let session = bob.create_session(&fragment).await;
    assert_eq!(session["user"]["sub"], "bob");
    assert_eq!(consent_answers(&stack).await, (2, 0), "bob is asked once");
}
