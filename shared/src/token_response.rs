//! The token endpoint's answer (RFC 6749 5.1/5.2, Core 3.1.3.3), read strictly.

use crate::error::ValidationError;
use crate::json::{self, Fields, Value};

/// Upper bound for a token response body: a few tokens, never more.
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// A successful token response. The ID token is required: every request this product makes has `openid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
    /// How the access token is presented: as a bearer token, or bound to the client's DPoP key (RFC 9449 5).
    pub token_type: TokenType,
}

/// The token endpoint's `token_type` (compared case-insensitively: glewlwyd says `bearer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// Usable by whoever holds it (RFC 6750).
    Bearer,
    /// Bound to the key of the DPoP proof that went with the request (RFC 9449 5).
    DPoP,
}

impl TokenType {
    /// The type named `name`, if it is one this product can use.
    pub fn from_name(name: &str) -> Option<TokenType> {
        if name.eq_ignore_ascii_case("bearer") {
            Some(TokenType::Bearer)
        } else if name.eq_ignore_ascii_case(crate::dpop::SCHEME) {
            Some(TokenType::DPoP)
        } else {
            None
        }
    }
}

/// What went wrong at the token endpoint, in the terms a user and an operator need.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenEndpointError {
    /// An OAuth error answer, e.g. `invalid_grant` for a used or expired code.
    #[error("The identity provider refused the sign-in ({error}{}).", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    OAuth {
        error: String,
        description: Option<String>,
    },
    /// Anything that is not a well-formed answer: HTML error pages, wrong JSON types.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

struct Success {
    access_token: String,
    token_type: String,
    id_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<f64>,
    scope: Option<String>,
}

impl Success {
    fn read(value: &Value) -> Result<Success, json::Error> {
        let f = Fields::of(value)?;
        Ok(Success {
            access_token: f.required("access_token")?,
            token_type: f.required("token_type")?,
            id_token: f.optional("id_token")?,
            refresh_token: f.optional("refresh_token")?,
            expires_in: f.optional("expires_in")?,
            scope: f.optional("scope")?,
        })
    }
}

/// An OAuth error answer's members (RFC 6749 5.2), shared with the PAR endpoint's (RFC 9126 2.3).
pub(crate) struct Failure {
    pub(crate) error: String,
    pub(crate) error_description: Option<String>,
}

impl Failure {
    pub(crate) fn read(value: &Value) -> Result<Failure, json::Error> {
        let f = Fields::of(value)?;
        Ok(Failure {
            error: f.required("error")?,
            error_description: f.optional("error_description")?,
        })
    }
}

impl TokenResponse {
    /// Reads a token endpoint answer from its status class and body.
    pub fn parse(success_status: bool, body: &[u8]) -> Result<TokenResponse, TokenEndpointError> {
        let malformed = |reason: &str| ValidationError::MalformedTokenResponse {
            reason: reason.to_owned(),
        };
        if body.len() > MAX_TOKEN_RESPONSE_BYTES {
            return Err(malformed("it is too large").into());
        }
        // Both answers are JSON objects (RFC 6749 5.1/5.2).
        let value = json::parse(body).unwrap_or_default();
        if value.as_object().is_none() {
            return Err(malformed(if success_status {
                "it is not the expected JSON"
            } else {
                "the identity provider answered with an error that is not JSON"
            })
            .into());
        }
        if !success_status {
            return match Failure::read(&value) {
                Ok(f) => Err(TokenEndpointError::OAuth {
                    error: f.error.chars().take(64).collect(),
                    description: f.error_description.map(|d| d.chars().take(300).collect()),
                }),
                Err(_) => Err(malformed(
                    "the identity provider answered with an error that is not JSON",
                )
                .into()),
            };
        }
        let ok = Success::read(&value).map_err(|_| malformed("it is not the expected JSON"))?;
        let token_type = TokenType::from_name(&ok.token_type)
            .ok_or_else(|| malformed("token_type is neither Bearer nor DPoP"))?;
        if ok.access_token.is_empty() {
            return Err(malformed("the access token is empty").into());
        }
        Ok(TokenResponse {
            access_token: ok.access_token,
            id_token: ok.id_token.filter(|t| !t.is_empty()),
            refresh_token: ok.refresh_token.filter(|t| !t.is_empty()),
            expires_in: ok
                .expires_in
                .filter(|e| e.is_finite() && *e >= 0.0)
                .map(|e| e as i64),
            scope: ok.scope,
            token_type,
        })
    }
}

/// An access token, from the token endpoint or the front channel, must be a Bearer token (RFC 6749 7.1; case-insensitive, glewlwyd says `bearer`).
pub fn check_token_type(token_type: Option<&str>) -> Result<(), ValidationError> {
    token_type
        .filter(|t| t.eq_ignore_ascii_case("bearer"))
        .map(|_| ())
        .ok_or(ValidationError::TokenTypeInvalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_success_and_errors() {
        let ok = TokenResponse::parse(
            true,
            br#"{"access_token":"a","token_type":"bearer","expires_in":60,"id_token":"x"}"#,
        )
        .unwrap();
        assert_eq!(ok.expires_in, Some(60));
        assert_eq!(ok.token_type, TokenType::Bearer);
        let dpop = TokenResponse::parse(true, br#"{"access_token":"a","token_type":"DPoP"}"#);
        assert_eq!(dpop.unwrap().token_type, TokenType::DPoP);
        let e = TokenResponse::parse(
            false,
            br#"{"error":"invalid_grant","error_description":"used"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(e, TokenEndpointError::OAuth { ref error, .. } if error == "invalid_grant")
        );
        assert!(TokenResponse::parse(false, b"<html>500</html>").is_err());
        assert!(TokenResponse::parse(true, b"<html>").is_err());
        assert!(
            TokenResponse::parse(true, br#"{"access_token":1,"token_type":"Bearer"}"#).is_err()
        );
        assert!(TokenResponse::parse(true, br#"{"access_token":"a","token_type":"mac"}"#).is_err());
    }
}
