//! The front-channel authorization response, verified as a whole (Core 3.3.2.8 and the presence rules of
//! 3.3.2.11, per response type). The SPA runs this before showing the user; the BFF runs it again before it
//! spends the code, because it cannot trust what the browser posts.

use super::hashes::{constant_time_eq, hash_matches_with};
use super::id_token::IdTokenRules;
use super::{verify_id_token, Context, SignatureVerifier, VerifiedIdToken};
use crate::error::{Stage, ValidationError};
use crate::fragment::AuthorizationResponse;
use crate::response_type::ResponseType;
use crate::token_response::check_token_type;

/// What the RP remembers about the sign-in it started, to hold the response against.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub state: &'a str,
    pub response_type: ResponseType,
    pub rules: &'a IdTokenRules,
    /// The OP's discovery says `authorization_response_iss_parameter_supported: true` (RFC 9207 2.4): then a
    /// response must name its issuer, or carry an ID token whose `iss` does.
    pub iss_parameter_supported: bool,
}

/// The checks [`verify_response`] runs, in its order: a failure at one stage means the earlier ones passed and
/// the later ones never ran (what the SPA's flow view shows after a refusal).
pub const STAGES: [Stage; 15] = [
    Stage::State,
    Stage::IssParameter,
    Stage::Code,
    Stage::AccessToken,
    Stage::IdToken,
    Stage::Signature,
    Stage::Iss,
    Stage::Sub,
    Stage::Aud,
    Stage::Azp,
    Stage::Exp,
    Stage::Iat,
    Stage::Nonce,
    Stage::CHash,
    Stage::AtHash,
];

/// A response that passed every rule. The front-channel access token is deliberately absent: it was checked
/// (at_hash) and is never used; the BFF's token from the token endpoint is what calls APIs (Core 3.3.3.8).
#[derive(Debug, Clone)]
pub struct VerifiedResponse {
    pub code: String,
    /// Present for the response types with an ID token.
    pub id_token: Option<VerifiedIdToken>,
}

/// Verifies a parsed authorization response, stage by stage in the order of [`STAGES`]. On any error the code
/// must not be sent anywhere.
pub async fn verify_response<V: SignatureVerifier>(
    response: &AuthorizationResponse,
    expected: &Expected<'_>,
    ctx: Context<'_, V>,
) -> Result<VerifiedResponse, ValidationError> {
    check_state(response.state.as_deref(), expected.state)?;
    check_iss_parameter(
        response.iss.as_deref(),
        &expected.rules.issuer,
        expected.iss_parameter_supported,
        expected.response_type,
    )?;
    let code = response.code.clone().ok_or(ValidationError::CodeMissing)?;
    let access_token = if expected.response_type.has_access_token() {
        let token = response
            .access_token
            .as_deref()
            .ok_or(ValidationError::AccessTokenMissing)?;
        check_token_type(response.token_type.as_deref())?;
        Some(token)
    } else {
        None
    };
    if !expected.response_type.has_id_token() {
        return Ok(VerifiedResponse {
            code,
            id_token: None,
        });
    }
    let raw = response
        .id_token
        .as_deref()
        .ok_or(ValidationError::IdTokenMissing)?;
    let id_token = verify_id_token(raw, expected.rules, ctx).await?;
    // c_hash is required whenever a code comes with an ID token (Core 3.3.2.11).
    let c_hash = id_token
        .claims
        .c_hash
        .as_deref()
        .ok_or(ValidationError::CHashMissing)?;
    if !hash_matches_with(ctx.verifier, id_token.alg, &code, c_hash).await {
        return Err(ValidationError::CHashMismatch);
    }
    if let Some(token) = access_token {
        let at_hash = id_token
            .claims
            .at_hash
            .as_deref()
            .ok_or(ValidationError::AtHashMissing)?;
        if !hash_matches_with(ctx.verifier, id_token.alg, token, at_hash).await {
            return Err(ValidationError::AtHashMismatch);
        }
    }
    Ok(VerifiedResponse {
        code,
        id_token: Some(id_token),
    })
}

/// `state` is present and equals the one this browser's sign-in sent (CSRF defence).
pub fn check_state(got: Option<&str>, expected: &str) -> Result<(), ValidationError> {
    let got = got.ok_or(ValidationError::StateMissing)?;
    constant_time_eq(got.as_bytes(), expected.as_bytes())
        .then_some(())
        .ok_or(ValidationError::StateMismatch)
}

/// RFC 9207 (mix-up defence): an `iss` parameter, whenever present, must name the OP this sign-in went to,
/// exactly. When the OP advertises the parameter, its absence is refused too, except in a response with an ID
/// token: node-oidc-provider then leaves it out, and the ID token's `iss` (checked exactly by the ID token rules)
/// identifies the OP as well (RFC 9207 2.4). `code token` has no ID token to fall back on.
pub fn check_iss_parameter(
    got: Option<&str>,
    issuer: &str,
    advertised: bool,
    response_type: ResponseType,
) -> Result<(), ValidationError> {
    match got {
        Some(iss) if iss == issuer => Ok(()),
        Some(_) => Err(ValidationError::IssParameterMismatch),
        None if advertised && !response_type.has_id_token() => {
            Err(ValidationError::IssParameterMissing)
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://op.example";

    fn rule(got: Option<&str>, advertised: bool, rt: ResponseType) -> &'static str {
        match check_iss_parameter(got, ISSUER, advertised, rt) {
            Ok(()) => "ok",
            Err(e) => e.rule(),
        }
    }

    /// The flow view reads a refusal's place among the checks from `STAGES`: it must list them in the order
    /// of `Stage`'s declaration, each once.
    #[test]
    fn stages_follow_the_verification_order() {
        assert!(
            STAGES.windows(2).all(|pair| pair[0] < pair[1]),
            "{STAGES:?}"
        );
        assert_eq!(ValidationError::StateMismatch.stage(), STAGES[0]);
        assert_eq!(ValidationError::AtHashMissing.stage(), STAGES[14]);
        assert_eq!(ValidationError::UnknownKid.stage(), Stage::Signature);
        assert!(!STAGES.contains(&ValidationError::IssuerChanged.stage()));
    }

    #[test]
    fn iss_parameter_per_response_type() {
        for rt in ResponseType::ALL {
            for advertised in [false, true] {
                assert_eq!(rule(Some(ISSUER), advertised, rt), "ok", "{rt}");
                for other in ["https://evil.example", "https://op.example/", ""] {
                    assert_eq!(
                        rule(Some(other), advertised, rt),
                        "iss_parameter_mismatch",
                        "{rt} {other:?}"
                    );
                }
            }
            assert_eq!(rule(None, false, rt), "ok", "{rt}: not advertised");
            let absent = if rt.has_id_token() {
                "ok"
            } else {
                "iss_parameter_missing"
            };
            assert_eq!(rule(None, true, rt), absent, "{rt}: advertised");
        }
    }
}
