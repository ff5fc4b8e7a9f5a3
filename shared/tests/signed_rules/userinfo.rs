//! Signed userinfo (Core 5.3.2): the ID tokens' key set, algorithm policy, iss and aud rules.

use super::*;

/// The rule a signed userinfo answer breaks, or `ok`.
fn userinfo_rule(
    signer: Signer,
    kid: Option<&str>,
    edit: impl FnOnce(&mut Map<String, Value>),
) -> String {
    use shared::jose::jws::CompactJws;
    use shared::verify::userinfo::{verify_userinfo_jwt, UserinfoRules};
    let mut claims = json!({"iss": ISSUER, "aud": CLIENT, "sub": "alice", "name": "Alice"})
        .as_object()
        .cloned()
        .unwrap();
    edit(&mut claims);
    let raw = sign(signer, kid, &claims);
    let jws = match CompactJws::parse(&raw) {
        Ok(jws) => jws,
        Err(e) => return e.rule().to_owned(),
    };
    let set = default_jwks();
    let policy = AlgPolicy::default();
    let keys = Keys {
        jwks: &set,
        policy: &policy,
    };
    let rules = UserinfoRules {
        issuer: ISSUER,
        client_id: CLIENT,
        trusted_audiences: &[],
        leeway_secs: 60,
    };
    let verifier = JwtVerifier::default();
    match block_on(verify_userinfo_jwt(
        &jws,
        rules,
        Context::new(keys, NOW, &verifier),
    )) {
        Ok(c) => {
            assert_eq!(c.get("name").and_then(|v| v.as_str()), Some("Alice"));
            "ok".into()
        }
        Err(ValidationError::UserinfoInvalid { reason }) => reason,
        Err(other) => panic!("not a userinfo error: {other:?}"),
    }
}

#[test]
fn signed_userinfo_is_checked_like_an_id_token() {
    assert_eq!(userinfo_rule(Signer::Rs256, Some("rsa-1"), |_| {}), "ok");
    assert_eq!(userinfo_rule(Signer::Es256, None, |_| {}), "ok");
    assert_eq!(
        userinfo_rule(Signer::Es256Other, Some("ec-1"), |_| {}),
        "bad signature"
    );
    assert_eq!(
        userinfo_rule(Signer::Rs256, Some("rsa-1"), |c| {
            c.insert("iss".into(), json!("https://evil.example"));
        }),
        "iss mismatch"
    );
    assert_eq!(
        userinfo_rule(Signer::Rs256, Some("rsa-1"), |c| {
            c.remove("aud");
        }),
        "aud mismatch"
    );
    assert_eq!(
        userinfo_rule(Signer::Rs256, Some("rsa-1"), |c| {
            c.insert("aud".into(), json!([CLIENT, "other"]));
        }),
        "aud untrusted"
    );
    assert_eq!(
        userinfo_rule(Signer::Rs256, Some("rsa-1"), |c| {
            c.insert("exp".into(), json!(NOW - 3600));
        }),
        "expired"
    );
    // Refused before any verification, by the JWS parser.
    assert_eq!(userinfo_rule(Signer::None, None, |_| {}), "alg_none");
}
