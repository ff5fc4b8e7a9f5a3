//! The cases an honest OP produces: accepted, for every response type they apply to.

use super::*;

#[test]
fn valid_rs256_is_accepted_for_every_response_type() {
    expect(&ResponseType::ALL, "ok", |c| c);
}

#[test]
fn valid_rs256_yields_the_verified_claims() {
    let (result, calls) = Case::new(ResponseType::CodeIdToken).outcome();
    let VerifiedIdToken { alg, claims } = result.unwrap().id_token.unwrap();
    assert_eq!(alg, Alg::RS256);
    assert_eq!(claims.sub.as_deref(), Some("alice"));
    assert_eq!(claims.user().display_name(), "Alice");
    assert_eq!(calls, 1);
}

#[test]
fn valid_es256_is_accepted() {
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.signed(Signer::Es256, Some("ec-1"))
    });
}

#[test]
fn valid_ps256_with_the_rsa_key_is_accepted() {
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.signed(Signer::Ps256, Some("rsa-1"))
    });
}

#[test]
fn lowercase_bearer_is_accepted() {
    expect(&ACCESS_TOKEN_TYPES, "ok", |c| {
        c.response(|r| r.token_type = Some("bearer".into()))
    });
}

#[test]
fn absent_rfc9207_iss_parameter_is_accepted() {
    expect(&ResponseType::ALL, "ok", |c| c.response(|r| r.iss = None));
}

#[test]
fn advertised_rfc9207_iss_parameter_present_is_accepted() {
    expect(&ResponseType::ALL, "ok", Case::iss_parameter_advertised);
}

/// node-oidc-provider advertises the parameter but leaves it out when an ID token is in the response: the ID
/// token's `iss` identifies the OP then (RFC 9207 2.4).
#[test]
fn advertised_rfc9207_iss_parameter_may_be_absent_beside_an_id_token() {
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.iss_parameter_advertised().response(|r| r.iss = None)
    });
    // The fallback is the ID token's own issuer rule, which still holds.
    expect(&ID_TOKEN_TYPES, "iss_mismatch", |c| {
        c.iss_parameter_advertised()
            .claim("iss", json!("https://evil.example.com"))
            .response(|r| r.iss = None)
    });
}

/// `code token` has no ID token to fall back on: when the OP advertises the parameter, its absence is refused.
#[test]
fn advertised_rfc9207_iss_parameter_absent_without_an_id_token_is_rejected() {
    expect(&[ResponseType::CodeToken], "iss_parameter_missing", |c| {
        c.iss_parameter_advertised().response(|r| r.iss = None)
    });
}

#[test]
fn kid_absent_with_one_key_is_accepted() {
    // Only one key in the set.
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.signed(Signer::Rs256, None)
            .jwks(jwks(vec![rsa_jwk(Some("rsa-1"))]))
    });
    // Only one key that fits the algorithm (the EC key does not fit RS256), and a key without kid.
    expect(&ID_TOKEN_TYPES, "ok", |c| c.signed(Signer::Rs256, None));
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.signed(Signer::Es256, None)
            .jwks(jwks(vec![ec_jwk(&keys().ec1, None), rsa_jwk(None)]))
    });
}

#[test]
fn kid_absent_with_several_fitting_keys_tries_each() {
    for rt in ID_TOKEN_TYPES {
        // Two real P-256 keys; the signer's is last.
        let (result, calls) = Case::new(rt)
            .signed(Signer::Es256, None)
            .jwks(jwks(vec![
                ec_jwk(&keys().ec2, Some("ec-2")),
                ec_jwk(&keys().ec1, Some("ec-1")),
                rsa_jwk(Some("rsa-1")),
            ]))
            .outcome();
        assert!(result.is_ok(), "{rt}: {result:?}");
        assert_eq!(calls, 2, "{rt}: both EC keys are tried, the RSA key is not");

        // A decoy RSA key first, the real one second; with RS256 and with PS256.
        for signer in [Signer::Rs256, Signer::Ps256] {
            let (result, calls) = Case::new(rt)
                .signed(signer, None)
                .jwks(jwks(vec![
                    decoy_rsa_jwk(Some("old")),
                    rsa_jwk(Some("rsa-1")),
                ]))
                .outcome();
            assert!(result.is_ok(), "{rt} {signer:?}: {result:?}");
            assert_eq!(calls, 2, "{rt} {signer:?}");
        }

        // Several fitting keys and none of them signed: bad signature after trying all.
        let (result, calls) = Case::new(rt)
            .signed(Signer::Es256Other, None)
            .jwks(jwks(vec![
                ec_jwk(&keys().ec1, Some("ec-1")),
                ec_jwk(&keys().ec1, Some("ec-1b")),
            ]))
            .outcome();
        assert_eq!(result.unwrap_err().rule(), "bad_signature", "{rt}");
        assert_eq!(calls, 2, "{rt}");
    }
}

#[test]
fn a_kid_selects_only_its_key() {
    for rt in ID_TOKEN_TYPES {
        let (result, calls) = Case::new(rt)
            .signed(Signer::Rs256, Some("rsa-1"))
            .jwks(jwks(vec![
                decoy_rsa_jwk(Some("old")),
                rsa_jwk(Some("rsa-1")),
            ]))
            .outcome();
        assert!(result.is_ok(), "{rt}: {result:?}");
        assert_eq!(calls, 1, "{rt}");
        // The kid names the decoy: it is the only key tried, and it fails.
        let (result, calls) = Case::new(rt)
            .signed(Signer::Rs256, Some("old"))
            .jwks(jwks(vec![
                decoy_rsa_jwk(Some("old")),
                rsa_jwk(Some("rsa-1")),
            ]))
            .outcome();
        assert_eq!(result.unwrap_err().rule(), "bad_signature", "{rt}");
        assert_eq!(calls, 1, "{rt}");
    }
}

#[test]
fn expiry_within_the_leeway_is_accepted() {
    expect(&ID_TOKEN_TYPES, "ok", |c| c.claim("exp", json!(NOW - 59)));
    expect(&ID_TOKEN_TYPES, "ok", |c| c.claim("exp", json!(NOW - 60)));
    expect(&ID_TOKEN_TYPES, "ok", |c| c.claim("iat", json!(NOW + 60)));
}

#[test]
fn trusted_extra_audience_and_own_azp_are_accepted() {
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.claim("aud", json!([CLIENT, "api.example.com"]))
            .rules(|r| r.trusted_audiences = vec!["api.example.com".into()])
    });
    expect(&ID_TOKEN_TYPES, "ok", |c| c.claim("azp", json!(CLIENT)));
    expect(&ID_TOKEN_TYPES, "ok", |c| c.claim("aud", json!([CLIENT])));
}
