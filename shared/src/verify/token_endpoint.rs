//! The token-endpoint ID token (Core 3.3.3.7): the same rules as the front channel, plus the nonce again
//! (RFC 9700 4.5.3.2) and the same iss and sub as the front-channel token (Core 3.3.3.6). No token from the
//! response may be used before this passes.

use super::hashes::hash_matches;
use super::id_token::{check_same_subject, IdTokenRules};
use super::{verify_id_token, Context, SignatureVerifier, VerifiedIdToken};
use crate::error::ValidationError;
use crate::verify::claims::IdTokenClaims;

/// What the token-endpoint ID token is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    pub rules: &'a IdTokenRules,
    /// The front-channel ID token's claims, when the response type had one.
    pub front_channel: Option<&'a IdTokenClaims>,
    pub code: &'a str,
    pub access_token: &'a str,
}

/// Verifies the token endpoint's ID token. c_hash and at_hash are optional here (Core 3.3.3.7) but checked
/// when present.
pub async fn verify_token_endpoint_id_token<V: SignatureVerifier>(
    raw: &str,
    exchange: Exchange<'_>,
    ctx: Context<'_, V>,
) -> Result<VerifiedIdToken, ValidationError> {
    let token = verify_id_token(raw, exchange.rules, ctx).await?;
    if let Some(front) = exchange.front_channel {
        check_same_subject(front, &token.claims)?;
    }
    if let Some(at_hash) = token.claims.at_hash.as_deref() {
        if !hash_matches(token.alg, exchange.access_token, at_hash) {
            return Err(ValidationError::AtHashMismatch);
        }
    }
    if let Some(c_hash) = token.claims.c_hash.as_deref() {
        if !hash_matches(token.alg, exchange.code, c_hash) {
            return Err(ValidationError::CHashMismatch);
        }
    }
    Ok(token)
}
