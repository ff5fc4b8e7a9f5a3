//! The scripted OP shaped like Auth0: its issuer ends with a slash (`https://TENANT.auth0.com/`), and the BFF
//! sends Auth0's extra authorization parameters (`audience` for a JWT access token, `organization`) through the
//! generic `oidc.extra_authorize_params`. The configuration the README gives for Auth0 logs in; the same
//! configuration without the trailing slash is refused at discovery (the issuer must match exactly).

use bff::config::Config;
use bff::oidc::discovery::{discover, DiscoveryError};
use hybrid_e2e::authorize::{authorize_at_op, BffClient};
use hybrid_e2e::stack::start_bff;
use hybrid_e2e::test_op::{Options, TestOp};
use shared::ResponseType;

const AUTH0_PARAMS: &str = r#"
[oidc.extra_authorize_params]
audience = "https://api.example.com"
organization = "org_123"
"#;

async fn auth0_shaped_op() -> TestOp {
    let op = TestOp::start_with(Options {
        trailing_slash_issuer: true,
        ..Options::default()
    })
    .await;
    assert!(op.issuer.ends_with('/'), "{}", op.issuer);
    op
}

#[tokio::test]
async fn trailing_slash_issuer_and_extra_authorize_params_log_in() {
    let op = auth0_shaped_op().await;
    let bff = start_bff(&op.issuer, ResponseType::CodeIdToken, AUTH0_PARAMS).await;
    let client = BffClient::new(&bff.origin);
    let started = client.start_login().await;
    let fragment = authorize_at_op(&started.authorization_url, &bff.redirect_uri).await;
    let session = client.create_session(&fragment).await;
    assert_eq!(session["user"]["sub"], "alice", "{session}");
    assert_eq!(op.token_requests(), 1);
    let user = client.get("/bff/user").await;
    assert_eq!(user.status(), 200, "a session exists");

    let queries = op.authorize_queries();
    assert_eq!(queries.len(), 1, "one authorization request: {queries:?}");
    let q = &queries[0];
    assert_eq!(
        q.get("audience").map(String::as_str),
        Some("https://api.example.com"),
        "{q:?}"
    );
    assert_eq!(
        q.get("organization").map(String::as_str),
        Some("org_123"),
        "{q:?}"
    );
    // The extra parameters come on top of the BFF's own, which they cannot replace.
    assert_eq!(
        q.get("response_type").map(String::as_str),
        Some("code id_token")
    );
    assert_eq!(q.get("client_id").map(String::as_str), Some("hybrid-spa"));
}

#[tokio::test]
async fn the_issuer_without_its_trailing_slash_is_refused_at_discovery() {
    let op = auth0_shaped_op().await;
    let without_slash = op.issuer.trim_end_matches('/');
    let toml = format!(
        r#"
        public_origin = "http://localhost:1"
        [oidc]
        issuer = "{without_slash}"
        client_id = "hybrid-spa"
        client_secret = "dev-only"
        redirect_uri = "http://localhost:1/callback"
        {AUTH0_PARAMS}
        "#
    );
    let config = Config::from_toml(&toml, std::iter::empty()).expect("valid config");
    let http = reqwest::Client::new();
    match discover(&http, &config).await {
        Err(DiscoveryError::Invalid(why)) => assert!(why.contains("differs"), "{why}"),
        other => panic!("expected an issuer mismatch, got {other:?}"),
    }
    // With the slash, as the OP publishes it, the same document is accepted.
    let with_slash = toml.replace(
        &format!("issuer = \"{without_slash}\""),
        &format!("issuer = \"{}\"", op.issuer),
    );
    let config = Config::from_toml(&with_slash, std::iter::empty()).expect("valid config");
    let found = discover(&http, &config)
        .await
        .expect("the exact issuer is accepted");
    assert_eq!(found.issuer, op.issuer);
}
