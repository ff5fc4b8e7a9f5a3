//! Discovery against a live OP (the scripted one): the document's `issuer` must equal the configured issuer
//! exactly, and the BFF keeps retrying while the OP is not up yet.

use bff::config::Config;
use bff::oidc::discovery::{discover, DiscoveryError};
use hybrid_e2e::free_port;
use hybrid_e2e::test_op::TestOp;

fn config(issuer: &str) -> Config {
    let toml = format!(
        r#"
        public_origin = "http://localhost:1"
        [oidc]
        issuer = "{issuer}"
        client_id = "hybrid-spa"
        client_secret = "dev-only"
        redirect_uri = "http://localhost:1/callback"
        "#
    );
    Config::from_toml(&toml, std::iter::empty()).expect("valid config")
}

#[tokio::test]
async fn issuer_must_match_exactly_and_an_absent_op_is_retryable() {
    let op = TestOp::start().await;
    let http = reqwest::Client::new();

    let found = discover(&http, &config(&op.issuer))
        .await
        .expect("the same issuer is accepted");
    assert_eq!(found.issuer, op.issuer);

    // A trailing slash is another issuer (Discovery 4.3: exact match); the document is refused, not retried.
    match discover(&http, &config(&format!("{}/", op.issuer))).await {
        Err(DiscoveryError::Invalid(why)) => assert!(why.contains("differs"), "{why}"),
        other => panic!("expected an issuer mismatch, got {other:?}"),
    }

    // Nothing listening: worth retrying (the BFF waits for the OP at start).
    let absent = format!("http://127.0.0.1:{}", free_port());
    assert!(matches!(
        discover(&http, &config(&absent)).await,
        Err(DiscoveryError::Unreachable(_))
    ));
}
