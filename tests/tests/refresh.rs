//! Access-token refresh against the real dev OP: single-flight under a storm of parallel API calls, refresh-token
//! rotation handled, and a refused refresh ending the session with 401 JSON.

use hybrid_e2e::authorize::{authorize_at_op, parallel_gets, BffClient};
use hybrid_e2e::stack::{start_bff, Stack, StackOptions};
use hybrid_e2e::test_op::{Scenario, TestOp, TokenAnswer};
use hybrid_e2e::wait_for;
use serde_json::Value;
use shared::ResponseType;
use std::time::{Duration, Instant};

/// The dev OP's access tokens live 3600 s; with this margin they fall due `DUE_AFTER` after issue.
const DUE_AFTER: Duration = Duration::from_secs(3);

/// How many API calls find the token due at once: the storm of a busy SPA (several views polling) after a laptop
/// wakes up.
const STORM: usize = 200;

async fn logged_in_stack() -> (Stack, BffClient, Instant) {
    let margin = 3600 - DUE_AFTER.as_secs();
    let stack = Stack::start(StackOptions {
        bff_toml: format!("[session]\nrefresh_margin_secs = {margin}"),
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    let started = bff.start_login().await;
    let issued = Instant::now();
    let fragment = authorize_at_op(&started.authorization_url, &stack.redirect_uri).await;
    bff.create_session(&fragment).await;
    (stack, bff, issued)
}

/// Waits until the session's access token is due (a bounded wait on the clock, the condition itself).
async fn until_due(since: Instant) {
    wait_for("the access token to fall due", DUE_AFTER * 3, || async {
        (since.elapsed() > DUE_AFTER + Duration::from_secs(1)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn parallel_calls_share_one_refresh_and_rotation_is_handled() {
    let (stack, bff, issued) = logged_in_stack().await;
    assert_eq!(stack.token_requests().await, 1);
    let bff = std::sync::Arc::new(bff);

    for round in 1..=2u64 {
        let since = if round == 1 { issued } else { Instant::now() };
        until_due(since).await;
        let answers = parallel_gets(std::slice::from_ref(&bff), STORM, "/api/demo/hello").await;
        for (status, body) in answers {
            assert_eq!(status, 200, "round {round}: {body}");
            assert_eq!(body["sub"], "alice");
        }
        // One code exchange plus exactly one refresh per round, although 200 calls found the token due; the
        // second round uses the rotated refresh token (the OP refuses the first one by then).
        assert_eq!(stack.token_requests().await, 1 + round, "round {round}");
    }
}

/// Against the scripted OP: after a valid login, the OP refuses the refresh (or answers with an ID token about
/// another user); the next API call gets 401 `session_expired` and the session is gone.
#[tokio::test]
async fn a_refused_or_foreign_refresh_ends_the_session_with_401_json() {
    for answer in [TokenAnswer::InvalidGrant, TokenAnswer::OtherSub] {
        let op = TestOp::start().await;
        // The scripted OP's tokens live 300 s; nothing listens on the API (the call never gets that far).
        let toml = format!(
            "[session]\nrefresh_margin_secs = {}\n[apis.demo]\nurl = \"http://127.0.0.1:9\"",
            300 - DUE_AFTER.as_secs()
        );
        let bff_handle = start_bff(&op.issuer, ResponseType::CodeIdToken, &toml).await;
        let bff = BffClient::new(&bff_handle.origin);
        let started = bff.start_login().await;
        let issued = Instant::now();
        let fragment = authorize_at_op(&started.authorization_url, &bff_handle.redirect_uri).await;
        bff.create_session(&fragment).await;

        op.set_scenario(Scenario::token(answer));
        until_due(issued).await;
        let r = bff.get("/api/demo/hello").await;
        assert_eq!(r.status(), 401);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "session_expired", "{body}");
        assert!(body["message"].as_str().unwrap().contains("sign in again"));
        assert_eq!(bff.get("/bff/user").await.status(), 401);
        assert_eq!(op.token_requests(), 2, "one exchange, one refused refresh");
    }
}
