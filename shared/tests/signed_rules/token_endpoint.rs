//! The token endpoint's ID token.

use super::*;

/// Claims an honest token endpoint returns: no c_hash/at_hash (optional there, Core 3.3.3.7).
fn back_claims() -> Map<String, Value> {
    let mut c = front_claims(ResponseType::CodeIdToken);
    c.remove("c_hash");
    c.remove("at_hash");
    c.insert("iat".into(), json!(NOW + 5));
    c
}

/// The front-channel claims as verified by `verify_response`.
fn verified_front_claims() -> IdTokenClaims {
    let (result, _) = Case::new(ResponseType::CodeIdToken).outcome();
    result.unwrap().id_token.unwrap().claims
}

fn exchange(
    claims: &Map<String, Value>,
    signer: Signer,
    front: Option<&IdTokenClaims>,
) -> &'static str {
    let kid = match signer {
        Signer::Es256 | Signer::Es256Other => Some("ec-1"),
        _ => Some("rsa-1"),
    };
    let token = sign(signer, kid, claims);
    let rules = rules();
    let set = default_jwks();
    let policy = AlgPolicy::default();
    let verifier = JwtVerifier::default();
    let keys = Keys {
        jwks: &set,
        policy: &policy,
    };
    let result = block_on(verify_token_endpoint_id_token(
        &token,
        Exchange {
            rules: &rules,
            front_channel: front,
            code: CODE,
            access_token: BACK_ACCESS_TOKEN,
        },
        Context::new(keys, NOW + 5, &verifier),
    ));
    match result {
        Ok(token) => {
            assert_eq!(token.claims.sub, claims["sub"].as_str().map(str::to_owned));
            "ok"
        }
        Err(e) => {
            let secrets = secrets_of(&token);
            assert_carries_no_secrets(&e, &secrets.iter().map(String::as_str).collect::<Vec<_>>());
            e.rule()
        }
    }
}

fn back_with(edit: impl FnOnce(&mut Map<String, Value>)) -> Map<String, Value> {
    let mut c = back_claims();
    edit(&mut c);
    c
}

#[test]
fn token_endpoint_id_token_is_accepted() {
    let front = verified_front_claims();
    assert_eq!(exchange(&back_claims(), Signer::Rs256, Some(&front)), "ok");
    assert_eq!(exchange(&back_claims(), Signer::Es256, Some(&front)), "ok");
    assert_eq!(exchange(&back_claims(), Signer::Ps256, Some(&front)), "ok");
    // `code token`: no front-channel ID token to compare with.
    assert_eq!(exchange(&back_claims(), Signer::Rs256, None), "ok");
}

#[test]
fn token_endpoint_other_sub_is_rejected() {
    let front = verified_front_claims();
    let other = back_with(|c| {
        c.insert("sub".into(), json!("mallory"));
    });
    assert_eq!(exchange(&other, Signer::Rs256, Some(&front)), "sub_changed");
    // Without a front-channel token (`code token`), any valid sub is the user.
    assert_eq!(exchange(&other, Signer::Rs256, None), "ok");
}

#[test]
fn token_endpoint_other_iss_is_rejected() {
    let front = verified_front_claims();
    let other = back_with(|c| {
        c.insert("iss".into(), json!("https://evil.example.com"));
    });
    // The configured-issuer rule runs first, so this is iss_mismatch rather than iss_changed.
    assert_eq!(
        exchange(&other, Signer::Rs256, Some(&front)),
        "iss_mismatch"
    );
    assert_eq!(exchange(&other, Signer::Rs256, None), "iss_mismatch");
    // iss_changed is only reachable when the front-channel claims had another issuer.
    let mut odd_front = front.clone();
    odd_front.iss = Some("https://previous.example.com".into());
    assert_eq!(
        exchange(&back_claims(), Signer::Rs256, Some(&odd_front)),
        "iss_changed"
    );
}

#[test]
fn token_endpoint_nonce_is_checked_again() {
    let front = verified_front_claims();
    let other = back_with(|c| {
        c.insert("nonce".into(), json!("n-from-another-sign-in"));
    });
    assert_eq!(
        exchange(&other, Signer::Rs256, Some(&front)),
        "nonce_mismatch"
    );
    let missing = back_with(|c| {
        c.remove("nonce");
    });
    assert_eq!(
        exchange(&missing, Signer::Rs256, Some(&front)),
        "nonce_missing"
    );
}

#[test]
fn token_endpoint_at_hash_is_checked_when_present() {
    let front = verified_front_claims();
    // The hash of the front-channel access token, not of the one the token endpoint returned.
    let wrong = back_with(|c| {
        c.insert(
            "at_hash".into(),
            json!(left_half_hash(Alg::RS256, FRONT_ACCESS_TOKEN)),
        );
    });
    assert_eq!(
        exchange(&wrong, Signer::Rs256, Some(&front)),
        "at_hash_mismatch"
    );
    let right = back_with(|c| {
        c.insert(
            "at_hash".into(),
            json!(left_half_hash(Alg::RS256, BACK_ACCESS_TOKEN)),
        );
    });
    assert_eq!(exchange(&right, Signer::Rs256, Some(&front)), "ok");
    // Absent: fine at the token endpoint.
    assert_eq!(exchange(&back_claims(), Signer::Rs256, Some(&front)), "ok");
}

#[test]
fn token_endpoint_c_hash_is_checked_when_present() {
    let front = verified_front_claims();
    let wrong = back_with(|c| {
        c.insert("c_hash".into(), json!(left_half_hash(Alg::RS256, "other")));
    });
    assert_eq!(
        exchange(&wrong, Signer::Rs256, Some(&front)),
        "c_hash_mismatch"
    );
    let right = back_with(|c| {
        c.insert("c_hash".into(), json!(left_half_hash(Alg::RS256, CODE)));
    });
    assert_eq!(exchange(&right, Signer::Rs256, Some(&front)), "ok");
}

#[test]
fn token_endpoint_signature_rules_apply() {
    let front = verified_front_claims();
    assert_eq!(
        exchange(&back_claims(), Signer::None, Some(&front)),
        "alg_none"
    );
    assert_eq!(
        exchange(&back_claims(), Signer::Hs256WithRsaPublicKey, Some(&front)),
        "alg_hmac_rejected"
    );
    assert_eq!(
        exchange(&back_claims(), Signer::Es256Other, Some(&front)),
        "bad_signature"
    );
    let other_aud = back_with(|c| {
        c.insert("aud".into(), json!("other-client"));
    });
    assert_eq!(
        exchange(&other_aud, Signer::Rs256, Some(&front)),
        "aud_mismatch"
    );
}
