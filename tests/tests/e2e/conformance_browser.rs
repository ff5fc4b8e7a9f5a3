//! Conformance in the browser: every case of `conformance.rs` through the real SPA (headless Chromium), the real
//! BFF serving it, and the scripted, tampering test OP ([`hybrid_e2e::test_op`]).
//!
//! What a person would see is checked: a valid sign-in shows the user (before the session is up, when the front
//! channel carries an ID token) and ends `active` after one token request; a bad front channel is refused by the
//! SPA itself, with the rule in `data-error` and plain words in the alert, and the code never reaches the token
//! endpoint; a bad token endpoint shows the user first, then the BFF's refusal.
//!
//! One Chromium for everything; one test OP and one BFF per response type, reused case after case (cookies are
//! deleted and the SPA reloaded between cases). Cases that change the OP's keys get their own OP and BFF; the key
//! rotation case signs in twice, back to back, around the rotation.
//!
//! Every case runs even when one fails; the test fails at the end with a table of all mismatches.

use hybrid_e2e::browser::Browser;
use hybrid_e2e::stack::{serve_spa_toml, start_bff, BffHandle};
use hybrid_e2e::test_op::{Front, Options, Scenario, TestOp, TokenAnswer};
use serde::Deserialize;
use shared::ResponseType;
use std::fmt::Write as _;
use std::future::Future;
use std::time::{Duration, Instant};

/// The name the test OP puts in its ID tokens.
const USER_NAME: &str = "Alice Test";
/// The BFF gives up on the OP after this; the slow token endpoint takes longer.
const HTTP_TIMEOUT_SECS: u64 = 1;
/// Bound for one sign-in (click → `active` or `error`) and for the SPA to be ready after a load.
const STEP_LIMIT: Duration = Duration::from_secs(20);

/// What a case must end with.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// A session; the user shown by name.
    Session,
    /// Refused by the SPA in the front channel with this rule; no token request.
    Front(&'static str),
    /// Refused by the BFF after the token request with this `error`; the user was shown first.
    Token(&'static str),
    /// The OP answered `error=access_denied`: its description is shown; no token request.
    OpError,
}

/// Which OP and BFF a case runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum On {
    CodeIdToken,
    CodeToken,
    CodeIdTokenToken,
    /// Its own OP publishing only `rsa-1`, and a BFF that never fetched a key set with two keys.
    OneKey,
    /// An OP advertising the RFC 9207 `iss` parameter, with `code token` ...
    IssCodeToken,
    /// ... and with `code id_token`.
    IssCodeIdToken,
}

impl On {
    /// Whether the front channel carries an ID token.
    fn front_id_token(self) -> bool {
        !matches!(self, On::CodeToken | On::IssCodeToken)
    }
}

struct Case {
    name: &'static str,
    on: On,
    scenario: Scenario,
    /// Signs with this key for this case only (then back to `rsa-1`).
    sign_with: Option<&'static str>,
    expect: Expect,
}

fn case(name: &'static str, on: On, scenario: Scenario, expect: Expect) -> Case {
    Case {
        name,
        on,
        scenario,
        sign_with: None,
        expect,
    }
}

fn front(name: &'static str, f: Front, rule: &'static str) -> Case {
    case(
        name,
        On::CodeIdToken,
        Scenario::front(f),
        Expect::Front(rule),
    )
}

fn token(name: &'static str, answer: TokenAnswer, rule: &'static str) -> Case {
    case(
        name,
        On::CodeIdToken,
        Scenario::token(answer),
        Expect::Token(rule),
    )
}

/// The cases of `conformance.rs`, with the same rules, in the order they run here (the slow token endpoint
/// last, so its still-sleeping handler cannot disturb another case).
fn cases() -> Vec<Case> {
    vec![
        case(
            "valid_rs256",
            On::CodeIdToken,
            Scenario::default(),
            Expect::Session,
        ),
        Case {
            sign_with: Some("ec-1"),
            ..case(
                "valid_es256",
                On::CodeIdToken,
                Scenario::default(),
                Expect::Session,
            )
        },
        case(
            "valid_code_token",
            On::CodeToken,
            Scenario::default(),
            Expect::Session,
        ),
        case(
            "valid_code_id_token_token",
            On::CodeIdTokenToken,
            Scenario::default(),
            Expect::Session,
        ),
        case(
            "kid_absent_with_one_key",
            On::OneKey,
            Scenario::front(Front::NoKid),
            Expect::Session,
        ),
        front("bad_signature", Front::BadSignature, "bad_signature"),
        front("alg_none", Front::AlgNone, "alg_none"),
        front(
            "hs256_with_the_rsa_public_key",
            Front::HmacWithPublicKey,
            "alg_hmac_rejected",
        ),
        front("unknown_kid", Front::UnknownKid, "unknown_kid"),
        front("id_token_not_a_jwt", Front::NotAJwt, "malformed_token"),
        front("wrong_iss", Front::WrongIss, "iss_mismatch"),
        front("wrong_aud", Front::WrongAud, "aud_mismatch"),
        front("azp_of_another_client", Front::OtherAzp, "azp_mismatch"),
        front("expired", Front::Expired, "expired"),
        front("iat_in_the_future", Front::IatInFuture, "iat_in_future"),
        front("iat_missing", Front::NoIat, "iat_missing"),
        front("sub_missing", Front::NoSub, "sub_missing"),
        front("wrong_nonce", Front::WrongNonce, "nonce_mismatch"),
        front("nonce_missing", Front::NoNonce, "nonce_missing"),
        front("bad_c_hash", Front::BadCHash, "c_hash_mismatch"),
        front("c_hash_missing", Front::NoCHash, "c_hash_missing"),
        case(
            "bad_at_hash",
            On::CodeIdTokenToken,
            Scenario::front(Front::BadAtHash),
            Expect::Front("at_hash_mismatch"),
        ),
        case(
            "at_hash_missing",
            On::CodeIdTokenToken,
            Scenario::front(Front::NoAtHash),
            Expect::Front("at_hash_missing"),
        ),
        front("state_mismatch", Front::WrongState, "state_mismatch"),
        front(
            "wrong_rfc9207_iss_parameter",
            Front::WrongIssParameter,
            "iss_parameter_mismatch",
        ),
        case(
            "rfc9207_iss_parameter_present_when_advertised",
            On::IssCodeToken,
            Scenario::default(),
            Expect::Session,
        ),
        case(
            "rfc9207_iss_parameter_absent_beside_an_id_token_when_advertised",
            On::IssCodeIdToken,
            Scenario::front(Front::NoIssParameter),
            Expect::Session,
        ),
        case(
            "rfc9207_iss_parameter_missing_with_code_token_when_advertised",
            On::IssCodeToken,
            Scenario::front(Front::NoIssParameter),
            Expect::Front("iss_parameter_missing"),
        ),
        case(
            "error_response",
            On::CodeIdToken,
            Scenario::front(Front::Error),
            Expect::OpError,
        ),
        token(
            "token_endpoint_other_sub",
            TokenAnswer::OtherSub,
            "sub_changed",
        ),
        token(
            "token_endpoint_other_iss",
            TokenAnswer::OtherIss,
            "iss_mismatch",
        ),
        token(
            "token_endpoint_other_nonce",
            TokenAnswer::OtherNonce,
            "nonce_mismatch",
        ),
        token(
            "token_endpoint_bad_signature",
            TokenAnswer::BadSignature,
            "bad_signature",
        ),
        token(
            "token_endpoint_invalid_grant",
            TokenAnswer::InvalidGrant,
            "token_request_refused",
        ),
        token(
            "token_endpoint_500_html",
            TokenAnswer::ServerErrorHtml,
            "malformed_token_response",
        ),
        token(
            "token_endpoint_not_json",
            TokenAnswer::NotJson,
            "malformed_token_response",
        ),
        token(
            "token_endpoint_timeout",
            TokenAnswer::Slow(Duration::from_secs(HTTP_TIMEOUT_SECS + 2)),
            "op_timeout",
        ),
    ]
}

/// A BFF serving the SPA from `dist/` against `issuer`.
async fn spa_bff(issuer: &str, response_type: ResponseType) -> BffHandle {
    let extra = format!(
        "{}[oidc]\nhttp_timeout_secs = {HTTP_TIMEOUT_SECS}\n",
        serve_spa_toml()
    );
    start_bff(issuer, response_type, &extra).await
}

/// What the page shows, read in one script.
#[derive(Debug, Deserialize)]
struct Page {
    state: Option<String>,
    alert_code: Option<String>,
    alert_text: Option<String>,
    user_name: Option<String>,
    /// `performance.mark` start times, ms.
    user_shown: Option<f64>,
    session_up: Option<f64>,
    login_enabled: bool,
    hash: String,
}

const READ_PAGE: &str = r#"
    const q = s => document.querySelector(s);
    const status = q("[data-testid='session-status']");
    const alert = q("[role='alert']");
    const user = q("[data-testid='user-name']");
    const login = q("[data-testid='login']");
    const mark = n => { const e = performance.getEntriesByName(n)[0]; return e ? e.startTime : null; };
    return {
        state: status ? status.getAttribute('data-state') : null,
        alert_code: alert ? alert.getAttribute('data-error') : null,
        alert_text: alert ? alert.textContent : null,
        user_name: user ? user.textContent : null,
        user_shown: mark('hybrid:user-shown'),
        session_up: mark('hybrid:session-up'),
        login_enabled: !!login && !login.disabled,
        hash: location.hash,
    };
"#;

/// The page now; `None` while there is none to read (e.g. during a navigation).
async fn read_page(browser: &Browser) -> Option<Page> {
    let value = browser.client.execute(READ_PAGE, vec![]).await.ok()?;
    serde_json::from_value(value).ok()
}

/// Polls `check` until it yields `Some` or `limit` passes (then `None`): a bounded wait that does not panic, so
/// one broken case does not stop the others.
async fn poll<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Plain words for a person: not empty, no markup, JSON or token material.
fn is_plain_words(text: &str) -> bool {
    let text = text.trim();
    text.contains(' ')
        && text.chars().any(char::is_alphabetic)
        && !text.contains(['<', '>', '{', '}'])
        && !text.contains("eyJ")
}

/// A fresh SPA on `origin` with no session, ready to log in.
async fn reset(browser: &Browser, origin: &str) -> Result<(), String> {
    // Cookies on `localhost` are shared by every port, so this clears every BFF's session at once.
    let _ = browser.client.delete_all_cookies().await;
    browser
        .client
        .goto(origin)
        .await
        .map_err(|e| format!("the SPA does not load: {e}"))?;
    let page = poll(STEP_LIMIT, || async {
        read_page(browser)
            .await
            .filter(|p| p.state.as_deref() == Some("none") && p.login_enabled)
    })
    .await;
    match page {
        Some(_) => Ok(()),
        None => Err(format!(
            "the SPA is not ready to log in (state none, Log in enabled): {:?}",
            read_page(browser).await
        )),
    }
}

/// Clicks Log in and waits until the sign-in ends (`active`, or `error` with an alert).
async fn log_in(browser: &Browser) -> Result<Page, String> {
    let button = browser
        .client
        .find(fantoccini::Locator::Css("[data-testid='login']"))
        .await
        .map_err(|e| format!("no Log in button: {e}"))?;
    button
        .click()
        .await
        .map_err(|e| format!("Log in does not click: {e}"))?;
    let ended = poll(STEP_LIMIT, || async {
        read_page(browser)
            .await
            .filter(|p| match p.state.as_deref() {
                Some("active") => true,
                Some("error") => p.alert_code.is_some(),
                _ => false,
            })
    })
    .await;
    ended.ok_or_else(|| {
        format!("the sign-in did not end (active, or error with an alert) within {STEP_LIMIT:?}")
    })
}

/// Runs one case on `op` and `bff`; answers the mismatches (empty when the case passed).
async fn run_case(browser: &Browser, op: &TestOp, bff: &BffHandle, case: &Case) -> Vec<String> {
    let mut bad = Vec::new();
    if let Err(e) = reset(browser, &bff.origin).await {
        return vec![e];
    }
    op.set_scenario(case.scenario);
    if let Some(kid) = case.sign_with {
        op.sign_with(kid);
    }
    let before = op.token_requests();
    let result = log_in(browser).await;
    if case.sign_with.is_some() {
        op.sign_with("rsa-1");
    }
    op.set_scenario(Scenario::default());
    let page = match result {
        Ok(page) => page,
        Err(e) => return vec![e],
    };
    let token_requests = op.token_requests() - before;
    let mut check = |ok: bool, what: String| {
        if !ok {
            bad.push(what);
        }
    };
    check(
        page.hash.is_empty(),
        format!("the fragment stays in the address bar: {}", page.hash),
    );
    let alert = || {
        format!(
            "[{}] {:?}",
            page.alert_code.as_deref().unwrap_or("-"),
            page.alert_text.as_deref().unwrap_or("-")
        )
    };
    match case.expect {
        Expect::Session => {
            check(
                page.state.as_deref() == Some("active"),
                format!("state {:?}, alert {}", page.state, alert()),
            );
            check(
                page.user_name.as_deref() == Some(USER_NAME),
                format!("user-name {:?}", page.user_name),
            );
            check(
                token_requests == 1,
                format!("{token_requests} token requests"),
            );
            let front_id_token = case.on.front_id_token();
            match (page.user_shown, page.session_up) {
                (Some(shown), Some(up)) if front_id_token => check(
                    shown < up,
                    format!("user shown at {shown} ms, not before the session ({up} ms)"),
                ),
                (None, Some(_)) if !front_id_token => {}
                (shown, up) => check(
                    false,
                    format!("marks: user-shown {shown:?}, session-up {up:?}"),
                ),
            }
            if page.alert_code.is_some() {
                check(false, format!("an alert on success: {}", alert()));
            }
        }
        Expect::Front(rule) | Expect::Token(rule) => {
            let at_token_endpoint = matches!(case.expect, Expect::Token(_));
            check(
                page.state.as_deref() == Some("error"),
                format!("state {:?}", page.state),
            );
            check(
                page.alert_code.as_deref() == Some(rule),
                format!("alert {}, expected [{rule}]", alert()),
            );
            check(
                page.alert_text.as_deref().is_some_and(is_plain_words),
                format!("alert text not plain words: {:?}", page.alert_text),
            );
            check(
                page.user_name.is_none(),
                format!("user still shown after the failure: {:?}", page.user_name),
            );
            check(
                page.session_up.is_none(),
                "session-up marked on a failure".into(),
            );
            if at_token_endpoint {
                check(
                    page.user_shown.is_some(),
                    "the user was not shown before the token endpoint failed".into(),
                );
                check(
                    token_requests == 1,
                    format!("{token_requests} token requests, expected 1"),
                );
            } else {
                check(
                    page.user_shown.is_none(),
                    "the user was shown from a refused front channel".into(),
                );
                check(
                    token_requests == 0,
                    format!("{token_requests} token requests, expected 0"),
                );
            }
        }
        Expect::OpError => {
            check(
                page.state.as_deref() == Some("error"),
                format!("state {:?}", page.state),
            );
            check(
                page.alert_code.as_deref() == Some("op_error"),
                format!("alert {}, expected [op_error]", alert()),
            );
            check(
                page.alert_text
                    .as_deref()
                    .is_some_and(|t| t.contains("The user said no.")),
                format!("alert {} lacks the OP's description", alert()),
            );
            check(
                token_requests == 0,
                format!("{token_requests} token requests, expected 0"),
            );
        }
    }
    if !matches!(case.expect, Expect::Session) {
        match browser.try_bff_user_status().await {
            Ok(401) => {}
            Ok(status) => bad.push(format!("/bff/user answered {status}, expected 401")),
            Err(e) => bad.push(e),
        }
    }
    bad
}

struct Row {
    name: &'static str,
    expect: String,
    took: Duration,
    mismatches: Vec<String>,
}

/// Two sign-ins on their own OP and BFF with a key rotation between them, back to back: the OP publishes a new
/// key, retires the old one and signs with the new one; the second sign-in, at once, must succeed in both tiers
/// (the SPA fetches the new set itself; the BFF's refetch throttle lets the first unknown kid through).
async fn key_rotation(browser: &Browser) -> Row {
    const NAME: &str = "key_rotation_is_picked_up_by_refetching";
    let op = TestOp::start().await;
    let bff = spa_bff(&op.issuer, ResponseType::CodeIdToken).await;
    let started = Instant::now();
    let case = case(NAME, On::CodeIdToken, Scenario::default(), Expect::Session);
    let mut mismatches: Vec<String> = run_case(browser, &op, &bff, &case)
        .await
        .into_iter()
        .map(|m| format!("before the rotation: {m}"))
        .collect();
    // Generating the new RSA key is slow in debug builds and blocking.
    tokio::task::block_in_place(|| op.rotate());
    op.retire("rsa-1");
    let fetches = op.jwks_requests();
    mismatches.extend(
        run_case(browser, &op, &bff, &case)
            .await
            .into_iter()
            .map(|m| format!("after the rotation: {m}")),
    );
    // The SPA fetches the key set itself (one request); the BFF's refetch for the new kid is a second.
    let after = op.jwks_requests();
    if after < fetches + 2 {
        mismatches.push(format!(
            "{} key set fetches after the rotation, expected the SPA's and the BFF's",
            after - fetches
        ));
    }
    Row {
        name: NAME,
        expect: "session, rotate, session at once".into(),
        took: started.elapsed(),
        mismatches,
    }
}

/// The report: one line per case, header first.
fn table(rows: &[Row]) -> String {
    let mut out = format!("{:40}  {:38}  {:>6}  result\n", "case", "expected", "time");
    for r in rows {
        let result = if r.mismatches.is_empty() {
            "ok".to_owned()
        } else {
            format!("FAIL: {}", r.mismatches.join("; "))
        };
        let _ = writeln!(
            out,
            "{:40}  {:38}  {:>5.1}s  {result}",
            r.name,
            r.expect,
            r.took.as_secs_f64()
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conformance_case_through_the_spa() {
    let started = Instant::now();
    let browser = Browser::start().await;

    let op = TestOp::start().await;
    let one_key_op = TestOp::start().await;
    one_key_op.serve_only(&["rsa-1"]);
    let iss_op = TestOp::start_with(Options {
        iss_parameter: true,
        ..Options::default()
    })
    .await;
    let bffs = [
        (
            On::CodeIdToken,
            spa_bff(&op.issuer, ResponseType::CodeIdToken).await,
        ),
        (
            On::CodeToken,
            spa_bff(&op.issuer, ResponseType::CodeToken).await,
        ),
        (
            On::CodeIdTokenToken,
            spa_bff(&op.issuer, ResponseType::CodeIdTokenToken).await,
        ),
        (
            On::OneKey,
            spa_bff(&one_key_op.issuer, ResponseType::CodeIdToken).await,
        ),
        (
            On::IssCodeToken,
            spa_bff(&iss_op.issuer, ResponseType::CodeToken).await,
        ),
        (
            On::IssCodeIdToken,
            spa_bff(&iss_op.issuer, ResponseType::CodeIdToken).await,
        ),
    ];

    let mut rows = Vec::new();
    for case in cases() {
        let (_, bff) = bffs.iter().find(|(on, _)| *on == case.on).expect("a BFF");
        let case_op = match case.on {
            On::OneKey => &one_key_op,
            On::IssCodeToken | On::IssCodeIdToken => &iss_op,
            _ => &op,
        };
        let t = Instant::now();
        let mismatches = run_case(&browser, case_op, bff, &case).await;
        let row = Row {
            name: case.name,
            expect: match case.expect {
                Expect::Session => "session".into(),
                Expect::Front(rule) => format!("SPA refuses: {rule}"),
                Expect::Token(rule) => format!("BFF refuses: {rule}"),
                Expect::OpError => "OP error shown".into(),
            },
            took: t.elapsed(),
            mismatches,
        };
        eprintln!(
            "{}",
            table(std::slice::from_ref(&row))
                .lines()
                .nth(1)
                .unwrap_or_default()
        );
        rows.push(row);
    }

    rows.push(key_rotation(&browser).await);
    browser.close().await;

    let report = table(&rows);
    eprintln!(
        "\n{report}\n{} cases in {:.1}s",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    let failed = rows.iter().filter(|r| !r.mismatches.is_empty()).count();
    assert!(
        failed == 0,
        "{failed} of {} cases failed:\n{report}",
        rows.len()
    );
}
