//! Rejected: c_hash and at_hash.

use super::*;

#[test]
fn bad_c_hash_is_rejected() {
    expect(&ID_TOKEN_TYPES, "c_hash_mismatch", |c| {
        c.claim("c_hash", json!(left_half_hash(Alg::RS256, "another-code")))
    });
    // The right code hashed with the wrong hash (SHA-512 for an RS256 token).
    expect(&ID_TOKEN_TYPES, "c_hash_mismatch", |c| {
        c.claim("c_hash", json!(left_half_hash(Alg::RS512, CODE)))
    });
    // The code swapped in the response: the ID token vouches for another code.
    expect(&ID_TOKEN_TYPES, "c_hash_mismatch", |c| {
        c.response(|r| r.code = Some("swapped-code-from-another-response".into()))
    });
}

#[test]
fn missing_c_hash_is_rejected() {
    expect(&ID_TOKEN_TYPES, "c_hash_missing", |c| c.without("c_hash"));
}

#[test]
fn bad_at_hash_is_rejected() {
    let types = [ResponseType::CodeIdTokenToken];
    expect(&types, "at_hash_mismatch", |c| {
        c.claim(
            "at_hash",
            json!(left_half_hash(Alg::RS256, "another-token")),
        )
    });
    expect(&types, "at_hash_mismatch", |c| {
        c.response(|r| r.access_token = Some("swapped-access-token".into()))
    });
    // at_hash in a `code id_token` token is not checked: there is no access token to hold it against.
    expect(&[ResponseType::CodeIdToken], "ok", |c| {
        c.claim("at_hash", json!("garbage"))
    });
}

#[test]
fn missing_at_hash_is_rejected() {
    expect(&[ResponseType::CodeIdTokenToken], "at_hash_missing", |c| {
        c.without("at_hash")
    });
}

#[test]
fn es256_and_ps256_hashes_are_checked_too() {
    for (signer, kid) in [(Signer::Es256, "ec-1"), (Signer::Ps256, "rsa-1")] {
        expect(&ID_TOKEN_TYPES, "c_hash_mismatch", |c| {
            c.signed(signer, Some(kid))
                .claim("c_hash", json!(left_half_hash(Alg::RS256, "x")))
        });
        expect(&[ResponseType::CodeIdTokenToken], "at_hash_mismatch", |c| {
            c.signed(signer, Some(kid))
                .claim("at_hash", json!(left_half_hash(Alg::RS256, "x")))
        });
    }
}
