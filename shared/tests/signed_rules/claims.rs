//! Rejected: the claims.

use super::*;

#[test]
fn wrong_iss_is_rejected() {
    expect(&ID_TOKEN_TYPES, "iss_mismatch", |c| {
        c.claim("iss", json!("https://evil.example.com"))
    });
    // Exact comparison: a trailing slash is another issuer.
    expect(&ID_TOKEN_TYPES, "iss_mismatch", |c| {
        c.claim("iss", json!(format!("{ISSUER}/")))
    });
    expect(&ID_TOKEN_TYPES, "iss_mismatch", |c| c.without("iss"));
}

#[test]
fn wrong_or_missing_aud_is_rejected() {
    expect(&ID_TOKEN_TYPES, "aud_mismatch", |c| {
        c.claim("aud", json!("other-client"))
    });
    expect(&ID_TOKEN_TYPES, "aud_mismatch", |c| c.without("aud"));
    expect(&ID_TOKEN_TYPES, "aud_mismatch", |c| {
        c.claim("aud", json!([]))
    });
}

#[test]
fn extra_untrusted_aud_is_rejected() {
    expect(&ID_TOKEN_TYPES, "aud_untrusted", |c| {
        c.claim("aud", json!([CLIENT, "evil-client"]))
    });
}

#[test]
fn azp_of_another_client_is_rejected() {
    expect(&ID_TOKEN_TYPES, "azp_mismatch", |c| {
        c.claim("azp", json!("other-client"))
    });
}

#[test]
fn expired_beyond_the_leeway_is_rejected() {
    expect(&ID_TOKEN_TYPES, "expired", |c| {
        c.claim("exp", json!(NOW - 61))
    });
    expect(&ID_TOKEN_TYPES, "expired", |c| {
        c.claim("exp", json!(NOW - 3600))
    });
    expect(&ID_TOKEN_TYPES, "exp_missing", |c| c.without("exp"));
}

#[test]
fn iat_in_the_future_is_rejected() {
    expect(&ID_TOKEN_TYPES, "iat_in_future", |c| {
        c.claim("iat", json!(NOW + 61))
    });
}

#[test]
fn missing_iat_is_rejected() {
    expect(&ID_TOKEN_TYPES, "iat_missing", |c| c.without("iat"));
}

#[test]
fn missing_sub_is_rejected() {
    expect(&ID_TOKEN_TYPES, "sub_missing", |c| c.without("sub"));
    expect(&ID_TOKEN_TYPES, "sub_missing", |c| {
        c.claim("sub", json!(""))
    });
}

#[test]
fn wrong_nonce_is_rejected() {
    expect(&ID_TOKEN_TYPES, "nonce_mismatch", |c| {
        c.claim("nonce", json!("n-from-another-sign-in"))
    });
}

#[test]
fn missing_nonce_is_rejected() {
    expect(&ID_TOKEN_TYPES, "nonce_missing", |c| c.without("nonce"));
}

#[test]
fn wrongly_typed_claims_are_rejected() {
    expect(&ID_TOKEN_TYPES, "malformed_claims", |c| {
        c.claim("exp", json!("tomorrow"))
    });
    expect(&ID_TOKEN_TYPES, "malformed_claims", |c| {
        c.claim("sub", json!(5))
    });
}
