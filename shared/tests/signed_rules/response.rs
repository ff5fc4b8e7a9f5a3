//! Rejected: the response around the ID token.

use super::*;

#[test]
fn state_mismatch_or_missing_is_rejected() {
    expect(&ResponseType::ALL, "state_mismatch", |c| {
        c.response(|r| r.state = Some("another-sign-in".into()))
    });
    expect(&ResponseType::ALL, "state_mismatch", |c| {
        c.response(|r| r.state = Some(format!("{STATE}x")))
    });
    expect(&ResponseType::ALL, "state_missing", |c| {
        c.response(|r| r.state = None)
    });
    // State is checked before anything else, even before a bad ID token.
    expect(&ID_TOKEN_TYPES, "state_mismatch", |c| {
        c.signed(Signer::None, None)
            .response(|r| r.state = Some("x".into()))
    });
}

#[test]
fn rfc9207_iss_parameter_of_another_op_is_rejected() {
    expect(&ResponseType::ALL, "iss_parameter_mismatch", |c| {
        c.response(|r| r.iss = Some("https://evil.example.com".into()))
    });
    expect(&ResponseType::ALL, "iss_parameter_mismatch", |c| {
        c.response(|r| r.iss = Some(format!("{ISSUER}/")))
    });
    // Advertised or not, a present parameter must be the issuer exactly.
    expect(&ResponseType::ALL, "iss_parameter_mismatch", |c| {
        c.iss_parameter_advertised()
            .response(|r| r.iss = Some(String::new()))
    });
}

#[test]
fn missing_code_is_rejected() {
    expect(&ResponseType::ALL, "code_missing", |c| {
        c.response(|r| r.code = None)
    });
}

#[test]
fn missing_id_token_is_rejected() {
    expect(&ID_TOKEN_TYPES, "id_token_missing", |c| {
        c.response(|r| r.id_token = None)
    });
}

#[test]
fn missing_access_token_is_rejected() {
    expect(&ACCESS_TOKEN_TYPES, "access_token_missing", |c| {
        c.response(|r| r.access_token = None)
    });
}

#[test]
fn token_type_other_than_bearer_is_rejected() {
    expect(&ACCESS_TOKEN_TYPES, "token_type_invalid", |c| {
        c.response(|r| r.token_type = Some("mac".into()))
    });
    expect(&ACCESS_TOKEN_TYPES, "token_type_invalid", |c| {
        c.response(|r| r.token_type = Some("DPoP".into()))
    });
    expect(&ACCESS_TOKEN_TYPES, "token_type_invalid", |c| {
        c.response(|r| r.token_type = None)
    });
}

#[test]
fn code_token_ignores_id_token_rules() {
    // `code token` has no front-channel ID token: whatever the OP puts there is not read.
    expect(&[ResponseType::CodeToken], "ok", |c| {
        c.response(|r| r.id_token = Some("garbage".into()))
    });
}
