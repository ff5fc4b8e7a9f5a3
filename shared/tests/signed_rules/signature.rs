//! Rejected: the signature and the key.

use super::*;

#[test]
fn unknown_kid_is_rejected() {
    expect(&ID_TOKEN_TYPES, "unknown_kid", |c| {
        c.signed(Signer::Rs256, Some("rotated-away"))
    });
}

#[test]
fn kid_of_a_key_that_does_not_fit_is_rejected() {
    // RS256 token naming the EC key.
    expect(&ID_TOKEN_TYPES, "no_usable_key", |c| {
        c.signed(Signer::Rs256, Some("ec-1"))
    });
    // No key at all for ES256.
    expect(&ID_TOKEN_TYPES, "no_usable_key", |c| {
        c.signed(Signer::Es256, None)
            .jwks(jwks(vec![rsa_jwk(Some("rsa-1"))]))
    });
}

#[test]
fn bad_signature_is_rejected() {
    let flip_signature = |token: String| {
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut sig = shared::jose::b64url_decode(sig).unwrap();
        sig[10] ^= 0x01;
        format!("{input}.{}", b64url_encode(&sig))
    };
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.token(flip_signature)
    });
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.signed(Signer::Es256, Some("ec-1")).token(flip_signature)
    });
    // The right key id, the wrong key.
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.signed(Signer::Es256Other, Some("ec-1"))
    });
    // A payload changed after signing (claims of another user).
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.token(|token| {
            let parts: Vec<&str> = token.split('.').collect();
            let mut claims: Value =
                serde_json::from_slice(&shared::jose::b64url_decode(parts[1]).unwrap()).unwrap();
            claims["sub"] = json!("mallory");
            format!(
                "{}.{}.{}",
                parts[0],
                b64url_encode(claims.to_string().as_bytes()),
                parts[2]
            )
        })
    });
    // An RS256 signature presented as PS256 (the header is changed, so the signing input differs too).
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.token(|token| {
            let (_, rest) = token.split_once('.').unwrap();
            let header = b64url_encode(br#"{"alg":"PS256","kid":"rsa-1"}"#);
            format!("{header}.{rest}")
        })
    });
    // An empty signature.
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.token(|token| {
            let (input, _) = token.rsplit_once('.').unwrap();
            format!("{input}.")
        })
    });
}

#[test]
fn alg_none_is_rejected() {
    expect(&ID_TOKEN_TYPES, "alg_none", |c| {
        c.signed(Signer::None, None)
    });
    expect(&ID_TOKEN_TYPES, "alg_none", |c| {
        c.signed(Signer::None, Some("rsa-1"))
    });
    // `none` with a (valid RS256) signature attached.
    expect(&ID_TOKEN_TYPES, "alg_none", |c| {
        c.token(|token| {
            let (_, rest) = token.split_once('.').unwrap();
            let header = b64url_encode(br#"{"alg":"none","kid":"rsa-1"}"#);
            format!("{header}.{rest}")
        })
    });
}

#[test]
fn hs256_keyed_with_the_rsa_public_key_is_rejected() {
    expect(&ID_TOKEN_TYPES, "alg_hmac_rejected", |c| {
        c.signed(Signer::Hs256WithRsaPublicKey, Some("rsa-1"))
    });
    expect(&ID_TOKEN_TYPES, "alg_hmac_rejected", |c| {
        c.signed(Signer::Hs256WithRsaPublicKey, None)
    });
}

#[test]
fn alg_outside_the_policy_is_rejected() {
    for rt in ID_TOKEN_TYPES {
        let mut case = Case::new(rt);
        case.policy = AlgPolicy::only(&[Alg::ES256]);
        assert_eq!(case.run(), "alg_not_allowed", "{rt}");
    }
}

#[test]
fn crit_header_is_rejected() {
    expect(&ID_TOKEN_TYPES, "crit_unsupported", |c| {
        c.token(|token| {
            let (_, rest) = token.split_once('.').unwrap();
            let header = b64url_encode(br#"{"alg":"RS256","kid":"rsa-1","crit":["exp"]}"#);
            format!("{header}.{rest}")
        })
    });
}

#[test]
fn malformed_id_token_is_rejected() {
    expect(&ID_TOKEN_TYPES, "malformed_token", |c| {
        c.response(|r| r.id_token = Some("not-a-jwt".into()))
    });
    expect(&ID_TOKEN_TYPES, "malformed_token", |c| {
        c.token(|token| format!("{token}.extra"))
    });
}
