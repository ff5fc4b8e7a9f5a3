//! `private_key_jwt` (RFC 7523 2.2, Core 9) against the real dev OP, whose `hybrid-spa-jwt` client has no secret
//! and reads its keys from the BFF's `/bff/jwks.json`: the code exchange, a refresh and the revocation at logout
//! each carry a fresh assertion (iss = sub = client_id, aud = the issuer as one string, a new jti, at most 60 s),
//! which the OP verifies; the published keys and the BFF's log never show a private member.

use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::bff_process::{run_until_refused, BffProcess};
use hybrid_e2e::client_keys::{p256_pem, private_key_jwt_toml, rsa_pem};
use hybrid_e2e::stack::{Stack, StackOptions};
use hybrid_e2e::{free_port, repo_root, wait_for};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

const PRIVATE_MEMBERS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

/// A stack whose BFF authenticates with `keys`; the session's access token is the OP's own, so the first API
/// call redeems the refresh token for the demo API's (one refresh without waiting for an expiry).
async fn stack_with_keys(keys: &[String]) -> Stack {
    Stack::start(StackOptions {
        bff_toml: private_key_jwt_toml(keys),
        main_token_for_op: true,
        ..Default::default()
    })
    .await
}

/// The client assertions the OP received at `path`.
fn assertions_at<'a>(stats: &'a Value, path: &str) -> Vec<&'a Value> {
    stats["client_assertions"]
        .as_array()
        .expect("client_assertions")
        .iter()
        .filter(|a| a["path"] == path)
        .collect()
}

#[tokio::test]
async fn exchange_refresh_and_revocation_each_sign_a_fresh_assertion() {
    // Two keys: both are published (a rotation), the first (RSA) signs.
    let stack = stack_with_keys(&[rsa_pem(), p256_pem()]).await;
    let bff = BffClient::new(&stack.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;
    let api = bff.get("/api/demo/hello").await;
    assert_eq!(api.status(), 200, "the refreshed token reaches the API");
    let out = bff.post("/bff/logout", None).await;
    assert_eq!(out.status(), 200);

    // Revocation runs after the logout answer: wait for the OP to have seen it.
    let stats = wait_for("the revocation", Duration::from_secs(10), || async {
        let stats = stack.op_stats().await;
        (!assertions_at(&stats, "/token/revocation").is_empty()).then_some(stats)
    })
    .await;
    let token = assertions_at(&stats, "/token");
    assert_eq!(token.len(), 2, "the code exchange and one refresh: {stats}");
    let all: Vec<&Value> = stats["client_assertions"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(all.len(), 3, "{stats}");
    let jwks: Value = reqwest::get(format!("{}/bff/jwks.json", stack.origin))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signing_kid = &jwks["keys"][0]["kid"];
    let mut jtis = HashSet::new();
    for a in &all {
        assert_eq!(a["iss"], "hybrid-spa-jwt", "{a}");
        assert_eq!(a["sub"], "hybrid-spa-jwt", "{a}");
        assert_eq!(
            a["aud"],
            Value::String(stack.issuer.clone()),
            "one string: {a}"
        );
        assert!(a["lifetime"].as_i64().unwrap() <= 60, "{a}");
        assert_eq!(
            a["alg"], "PS256",
            "the RSA key's preferred alg the OP lists: {a}"
        );
        assert_eq!(&a["kid"], signing_kid, "the first key signs: {a}");
        assert!(
            jtis.insert(a["jti"].as_str().unwrap().to_owned()),
            "jti reused: {a}"
        );
    }
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "{jwks}");
    for key in jwks["keys"].as_array().unwrap() {
        for member in PRIVATE_MEMBERS {
            assert!(key.get(member).is_none(), "{member} published: {key}");
        }
    }
}

#[tokio::test]
async fn a_p256_key_signs_es256_and_no_private_member_reaches_the_log() {
    let key = p256_pem();
    let stack = stack_with_keys(std::slice::from_ref(&key)).await;
    // The same configuration (the stack's redirect URI included) in the BFF binary, whose log can be read; the
    // OP verifies with the keys the stack's BFF publishes, which are the same.
    let port = free_port();
    let process = BffProcess::start(port, &stack.bff_config(port)).await;
    let bff = BffClient::new(&process.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;
    assert_eq!(bff.get("/api/demo/hello").await.status(), 200);
    assert_eq!(bff.post("/bff/logout", None).await.status(), 200);
    let stats = wait_for("the revocation", Duration::from_secs(10), || async {
        let stats = stack.op_stats().await;
        (!assertions_at(&stats, "/token/revocation").is_empty()).then_some(stats)
    })
    .await;
    for a in stats["client_assertions"].as_array().unwrap() {
        assert_eq!(a["alg"], "ES256", "{a}");
    }
    drop(process);

    let log = std::fs::read_to_string(
        repo_root().join(format!("target/e2e-logs/bff-process-{port}-run1.log")),
    )
    .expect("the BFF's log");
    assert!(
        log.contains("login started"),
        "the log is the one of this run"
    );
    assert!(!log.contains("PRIVATE KEY"), "the PEM is in the log");
    let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    for chunk in body.as_bytes().chunks(24) {
        let chunk = std::str::from_utf8(chunk).unwrap();
        assert!(!log.contains(chunk), "key material in the log");
    }
    for member in PRIVATE_MEMBERS {
        assert!(
            !log.contains(&format!("\"{member}\":")),
            "a JWK member `{member}` in the log"
        );
    }
}

/// A key that does not parse, or a shared secret given as the key, stops the binary at start with the setting's
/// name (and never the key's text).
#[tokio::test]
async fn a_bad_key_stops_the_start_naming_the_setting() {
    let truncated: String =
        p256_pem().chars().take(120).collect::<String>() + "\n-----END PRIVATE KEY-----\n";
    let cases = [
        ("truncated", truncated.as_str(), "key 1"),
        (
            "symmetric",
            r#"{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ"}"#,
            "symmetric",
        ),
        (
            "secret",
            "a-shared-secret-instead-of-a-key",
            "neither a PEM block nor a JWK",
        ),
    ];
    for (name, key, words) in cases {
        let text = hybrid_e2e::stack::bff_config_toml(
            free_port(),
            "http://127.0.0.1:9",
            shared::ResponseType::CodeIdToken,
            &private_key_jwt_toml(&[key.to_owned()]),
        );
        let (code, stderr) = run_until_refused(name, &text).await;
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("`oidc.client_keys`"), "{stderr}");
        assert!(stderr.contains(words), "{stderr}");
        assert!(!stderr.contains(&key[20..]), "the key is quoted: {stderr}");
    }
}
