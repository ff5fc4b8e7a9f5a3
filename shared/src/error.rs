//! One typed error per validation rule.
//!
//! Each variant names the rule it enforces (`rule()`, stable, for logs, metrics and tests), the [`Stage`] of the
//! verification it belongs to (`stage()`, so a view can group and order failures without a list of rule names),
//! and explains it in plain words (`Display`, shown to the user). No variant ever carries token contents, so an
//! error can be logged as is.

use serde::{Deserialize, Serialize};

/// The check of the verification a rule belongs to.
///
/// Declared in the order the front-channel response is verified ([`crate::verify::authorization`]), then the
/// later exchanges: the SPA's flow view lists its checks in this order and its alert picks a hint by stage, so
/// neither keeps a list of rule names that could drift from the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// The OP answered with an OAuth error instead of a code.
    OpError,
    /// The redirect itself could not be read (malformed, ambiguous, too large).
    Fragment,
    /// Matching the response to the sign-in started in this browser (`state`, the pending sign-in).
    State,
    /// The RFC 9207 `iss` parameter (mix-up defence).
    IssParameter,
    /// The authorization code is present.
    Code,
    /// The front-channel access token and its `token_type`.
    AccessToken,
    /// The ID token is present.
    IdToken,
    /// The JWS, its algorithm, the key set and the signature (and a payload that reads as claims).
    Signature,
    /// `iss` is the issuer.
    Iss,
    /// `sub` is present.
    Sub,
    /// `aud` is this client, and no untrusted audience.
    Aud,
    /// `azp`, when present, is this client.
    Azp,
    /// `exp` is present and not passed.
    Exp,
    /// `iat` is present and not in the future.
    Iat,
    /// `nonce` is the one this sign-in sent.
    Nonce,
    /// `c_hash` vouches for the code.
    CHash,
    /// `at_hash` vouches for the access token.
    AtHash,
    /// The token endpoint's answer: readable, same issuer and subject as the front channel (or the sign-in).
    TokenEndpoint,
    /// The userinfo answer.
    Userinfo,
    /// The back-channel logout token's own rules.
    LogoutToken,
    /// The return from RP-initiated logout.
    LogoutReturn,
}

/// Why a response, a token or a key set was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum ValidationError {
    // --- the authorization response (fragment) ---
    /// The OP answered with an OAuth error instead of a code (Core 3.3.2.6).
    OpError {
        error: String,
        description: Option<String>,
    },
    /// The redirect carried nothing this app can read.
    MalformedResponse {
        reason: String,
    },
    /// A parameter appeared twice; which one counts is ambiguous, so neither does (RFC 6749 3.1).
    DuplicateParameter {
        param: String,
    },
    /// The response is larger than any honest response.
    TooLarge,
    StateMissing,
    /// CSRF defence: the response belongs to another sign-in (RFC 9700 2.1).
    StateMismatch,
    /// No sign-in was started in this browser, or it was already used or expired.
    NoPendingLogin,
    /// Mix-up defence: the RFC 9207 `iss` parameter names another OP.
    IssParameterMismatch,
    /// Mix-up defence: the OP advertises the RFC 9207 `iss` parameter, yet the response neither has one nor an
    /// ID token naming the issuer.
    IssParameterMissing,
    CodeMissing,
    IdTokenMissing,
    AccessTokenMissing,
    TokenTypeInvalid,

    // --- the JWS itself ---
    /// Not a compact JWS: wrong number of parts, bad base64url, bad JSON.
    MalformedToken {
        reason: String,
    },
    /// `alg: none`: an unsigned token is never accepted.
    AlgNone,
    /// HMAC algorithms would let anyone holding the OP's *public* key forge tokens.
    HmacRejected {
        alg: String,
    },
    AlgNotAllowed {
        alg: String,
    },
    /// A critical header extension this implementation does not understand (RFC 7515 4.1.11).
    CritUnsupported,
    /// No key in the OP's key set has this kid (even after fetching the set again).
    UnknownKid,
    NoUsableKey,
    BadSignature,
    /// The key set itself could not be used.
    BadJwks {
        reason: String,
    },

    // --- the claims (Core 3.1.3.7) ---
    MalformedClaims {
        reason: String,
    },
    IssuerMismatch,
    SubMissing,
    AudienceMismatch,
    UntrustedAudience,
    AzpMismatch,
    ExpMissing,
    Expired,
    IatMissing,
    IatInFuture,
    NonceMissing,
    /// Replay defence: the token was minted for another sign-in.
    NonceMismatch,
    CHashMissing,
    CHashMismatch,
    AtHashMissing,
    AtHashMismatch,

    // --- the token endpoint and later tokens (Core 3.3.3.6, 12.2, 5.3.2) ---
    /// The token-endpoint ID token names another OP than the front-channel one.
    IssuerChanged,
    /// The token-endpoint (or refreshed) ID token is about another user.
    SubjectChanged,
    UserinfoSubMismatch,
    /// A userinfo answer that cannot be trusted: a bad signature, another issuer or audience, an encrypted
    /// answer (JWE, which this app does not decrypt), an unsigned one. Unlike an unavailable userinfo, this
    /// always refuses the sign-in: it is what tampering looks like.
    UserinfoInvalid {
        reason: String,
    },
    MalformedTokenResponse {
        reason: String,
    },

    // --- the back-channel logout token (Back-Channel Logout 1.0, 2.4 and 2.6) ---
    /// The `typ` header names another kind of token than a logout token (RFC 8725 3.11).
    LogoutTypInvalid,
    /// Replay defence needs a token identifier.
    JtiMissing,
    /// This very logout token was already received.
    JtiReplayed,
    /// Without the back-channel logout event, the token is not a logout token (it could be an ID token).
    LogoutEventMissing,
    LogoutEventInvalid,
    /// A nonce is forbidden so that an ID token can never pass as a logout token.
    LogoutNoncePresent,
    LogoutSidSubMissing,
    /// Older than the accepted age: a stale (possibly captured) token.
    LogoutIatTooOld,
    /// Back-Channel Logout 1.0 (final) requires `exp`; an OP that omits it needs the operator's explicit consent.
    LogoutExpMissing,

    // --- the return from RP-initiated logout ---
    /// No logout was started in this browser (or it expired): nothing to confirm.
    LogoutStateMissing,
    /// The `state` on the way back is not the one this browser's logout sent.
    LogoutStateMismatch,
}

/// The plain-words text of each rule, the one place it is written (the SPA's alert and the BFF's JSON `message`
/// both show it).
impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ValidationError {}

impl ValidationError {
    /// The same text as `Display`, built without the formatting machinery (`to_string` goes through
    /// `core::fmt::write` and a `dyn Write`), for the SPA, which keeps it in its problem.
    pub fn message(&self) -> String {
        let (text, detail, end) = self.explanation();
        let mut message = String::from(text);
        if let Some(detail) = detail {
            message.push_str(detail);
            message.push_str(end);
        }
        message
    }

    /// The text as its fixed start, the variable part (a reason, a parameter or algorithm name, the OP's own
    /// words) and the fixed end: three plain writes instead of a `format_args!` per variant, which in the SPA's
    /// wasm cost code at every site (BENCHMARKS.md section 1).
    fn explanation(&self) -> (&'static str, Option<&str>, &'static str) {
        use ValidationError::*;
        match self {
            OpError { error, description } => ("The sign-in was not completed: ", Some(description.as_deref().unwrap_or(error)), ""),
            MalformedResponse { reason } => ("The sign-in response could not be read (", Some(reason), ")."),
            DuplicateParameter { param } => ("The sign-in response is ambiguous: the parameter `", Some(param), "` appears more than once."),
            TooLarge => ("The sign-in response is too large to be genuine.", None, ""),
            StateMissing => ("The sign-in response has no state, so it cannot be matched to a sign-in started here (state missing).", None, ""),
            StateMismatch => ("The sign-in response does not belong to the sign-in started in this browser (state mismatch).", None, ""),
            NoPendingLogin => ("No sign-in is waiting in this browser (it was already completed or has expired). Please sign in again.", None, ""),
            IssParameterMismatch => ("The sign-in response came from an unexpected identity provider (iss parameter mismatch).", None, ""),
            IssParameterMissing => ("The sign-in response does not say which identity provider sent it, although that provider always says so (iss parameter missing).", None, ""),
            CodeMissing => ("The sign-in response has no authorization code (code missing).", None, ""),
            IdTokenMissing => ("The sign-in response has no ID token (id_token missing).", None, ""),
            AccessTokenMissing => ("The sign-in response has no access token (access_token missing).", None, ""),
            TokenTypeInvalid => ("The sign-in response has an access token of an unexpected type (token_type must be Bearer).", None, ""),
            MalformedToken { reason } => ("The ID token is not a well-formed signed token (", Some(reason), ")."),
            AlgNone => ("The ID token is unsigned (alg none), so it cannot be trusted.", None, ""),
            HmacRejected { alg } => ("The ID token uses a shared-secret algorithm (", Some(alg), ") that is not accepted here."),
            AlgNotAllowed { alg } => ("The ID token is signed with an algorithm that is not allowed (", Some(alg), ")."),
            CritUnsupported => ("The ID token requires an extension this app does not understand (crit header).", None, ""),
            UnknownKid => ("The ID token is signed with a key the identity provider does not publish (unknown kid).", None, ""),
            NoUsableKey => ("The identity provider publishes no key that can check this ID token (no usable key).", None, ""),
            BadSignature => ("The ID token's signature is not valid: it was not issued by the identity provider or was altered (bad signature).", None, ""),
            BadJwks { reason } => ("The identity provider's key set could not be read (", Some(reason), ")."),
            MalformedClaims { reason } => ("The ID token's contents could not be read (", Some(reason), ")."),
            IssuerMismatch => ("The ID token was issued by another identity provider (iss mismatch).", None, ""),
            SubMissing => ("The ID token names no user (sub missing).", None, ""),
            AudienceMismatch => ("The ID token is not meant for this app (aud does not contain the client id).", None, ""),
            UntrustedAudience => ("The ID token is also meant for an audience this app does not trust (untrusted aud).", None, ""),
            AzpMismatch => ("The ID token was issued to another app (azp mismatch).", None, ""),
            ExpMissing => ("The ID token has no expiry (exp missing).", None, ""),
            Expired => ("The ID token has expired (exp). Check that this device's clock is right, then sign in again.", None, ""),
            IatMissing => ("The ID token has no issue time (iat missing).", None, ""),
            IatInFuture => ("The ID token claims to be issued in the future (iat in the future). Check this device's clock.", None, ""),
            NonceMissing => ("The ID token has no nonce, so it cannot be tied to this sign-in (nonce missing).", None, ""),
            NonceMismatch => ("The ID token belongs to another sign-in (nonce mismatch).", None, ""),
            CHashMissing => ("The ID token does not vouch for the authorization code (c_hash missing).", None, ""),
            CHashMismatch => ("The authorization code does not match the ID token: it may have been swapped (c_hash mismatch).", None, ""),
            AtHashMissing => ("The ID token does not vouch for the access token (at_hash missing).", None, ""),
            AtHashMismatch => ("The access token does not match the ID token: it may have been swapped (at_hash mismatch).", None, ""),
            IssuerChanged => ("The identity provider's token response names another issuer than the sign-in response (iss changed).", None, ""),
            SubjectChanged => ("The identity provider's token response is about another user than the sign-in response (sub changed).", None, ""),
            UserinfoSubMismatch => ("The user information is about another user than the ID token (userinfo sub mismatch).", None, ""),
            UserinfoInvalid { reason } => ("The user information from the identity provider cannot be trusted (", Some(reason), ")."),
            MalformedTokenResponse { reason } => ("The identity provider's token response could not be read (", Some(reason), ")."),
            LogoutTypInvalid => ("The logout token has the wrong type (typ must be logout+jwt or JWT).", None, ""),
            JtiMissing => ("The logout token has no identifier (jti missing).", None, ""),
            JtiReplayed => ("The logout token was already used (jti replayed).", None, ""),
            LogoutEventMissing => ("The token is not a logout token: it lacks the back-channel logout event (events).", None, ""),
            LogoutEventInvalid => ("The logout token's events claim is not well-formed (events must be an object whose back-channel logout member is an object).", None, ""),
            LogoutNoncePresent => ("The logout token carries a nonce, which logout tokens must not have (nonce present).", None, ""),
            LogoutSidSubMissing => ("The logout token names neither a session nor a user (sid and sub missing).", None, ""),
            LogoutIatTooOld => ("The logout token was issued too long ago (iat too old).", None, ""),
            LogoutExpMissing => ("The logout token has no expiry (exp missing).", None, ""),
            LogoutStateMissing => ("No sign-out is waiting in this browser (it was already completed or has expired).", None, ""),
            LogoutStateMismatch => ("The return from the identity provider does not belong to the sign-out started in this browser (state mismatch).", None, ""),
        }
    }
}

impl ValidationError {
    /// The check this rule belongs to. Rules shared by several tokens (`iss`, `exp`...) name the claim, whichever
    /// token carried it.
    pub fn stage(&self) -> Stage {
        use ValidationError::*;
        match self {
            OpError { .. } => Stage::OpError,
            MalformedResponse { .. } | DuplicateParameter { .. } | TooLarge => Stage::Fragment,
            StateMissing | StateMismatch | NoPendingLogin => Stage::State,
            IssParameterMismatch | IssParameterMissing => Stage::IssParameter,
            CodeMissing => Stage::Code,
            AccessTokenMissing | TokenTypeInvalid => Stage::AccessToken,
            IdTokenMissing => Stage::IdToken,
            MalformedToken { .. }
            | AlgNone
            | HmacRejected { .. }
            | AlgNotAllowed { .. }
            | CritUnsupported
            | UnknownKid
            | NoUsableKey
            | BadSignature
            | BadJwks { .. }
            | MalformedClaims { .. } => Stage::Signature,
            IssuerMismatch => Stage::Iss,
            SubMissing => Stage::Sub,
            AudienceMismatch | UntrustedAudience => Stage::Aud,
            AzpMismatch => Stage::Azp,
            ExpMissing | Expired => Stage::Exp,
            IatMissing | IatInFuture => Stage::Iat,
            NonceMissing | NonceMismatch => Stage::Nonce,
            CHashMissing | CHashMismatch => Stage::CHash,
            AtHashMissing | AtHashMismatch => Stage::AtHash,
            IssuerChanged | SubjectChanged | MalformedTokenResponse { .. } => Stage::TokenEndpoint,
            UserinfoSubMismatch | UserinfoInvalid { .. } => Stage::Userinfo,
            LogoutTypInvalid | JtiMissing | JtiReplayed | LogoutEventMissing
            | LogoutEventInvalid | LogoutNoncePresent | LogoutSidSubMissing | LogoutIatTooOld
            | LogoutExpMissing => Stage::LogoutToken,
            LogoutStateMissing | LogoutStateMismatch => Stage::LogoutReturn,
        }
    }

    /// A stable, machine-readable name of the rule that failed (e.g. `c_hash_mismatch`), for logs, metrics,
    /// the BFF's JSON `error` field and tests. Never contains token material.
    pub fn rule(&self) -> &'static str {
        use ValidationError::*;
        match self {
            OpError { .. } => "op_error",
            MalformedResponse { .. } => "malformed_response",
            DuplicateParameter { .. } => "duplicate_parameter",
            TooLarge => "too_large",
            StateMissing => "state_missing",
            StateMismatch => "state_mismatch",
            NoPendingLogin => "no_pending_login",
            IssParameterMismatch => "iss_parameter_mismatch",
            IssParameterMissing => "iss_parameter_missing",
            CodeMissing => "code_missing",
            IdTokenMissing => "id_token_missing",
            AccessTokenMissing => "access_token_missing",
            TokenTypeInvalid => "token_type_invalid",
            MalformedToken { .. } => "malformed_token",
            AlgNone => "alg_none",
            HmacRejected { .. } => "alg_hmac_rejected",
            AlgNotAllowed { .. } => "alg_not_allowed",
            CritUnsupported => "crit_unsupported",
            UnknownKid => "unknown_kid",
            NoUsableKey => "no_usable_key",
            BadSignature => "bad_signature",
            BadJwks { .. } => "bad_jwks",
            MalformedClaims { .. } => "malformed_claims",
            IssuerMismatch => "iss_mismatch",
            SubMissing => "sub_missing",
            AudienceMismatch => "aud_mismatch",
            UntrustedAudience => "aud_untrusted",
            AzpMismatch => "azp_mismatch",
            ExpMissing => "exp_missing",
            Expired => "expired",
            IatMissing => "iat_missing",
            IatInFuture => "iat_in_future",
            NonceMissing => "nonce_missing",
            NonceMismatch => "nonce_mismatch",
            CHashMissing => "c_hash_missing",
            CHashMismatch => "c_hash_mismatch",
            AtHashMissing => "at_hash_missing",
            AtHashMismatch => "at_hash_mismatch",
            IssuerChanged => "iss_changed",
            SubjectChanged => "sub_changed",
            UserinfoSubMismatch => "userinfo_sub_mismatch",
            UserinfoInvalid { .. } => "userinfo_invalid",
            MalformedTokenResponse { .. } => "malformed_token_response",
            LogoutTypInvalid => "logout_typ_invalid",
            JtiMissing => "jti_missing",
            JtiReplayed => "jti_replayed",
            LogoutEventMissing => "logout_event_missing",
            LogoutEventInvalid => "logout_event_invalid",
            LogoutNoncePresent => "logout_nonce_present",
            LogoutSidSubMissing => "logout_sid_sub_missing",
            LogoutIatTooOld => "logout_iat_too_old",
            LogoutExpMissing => "logout_exp_missing",
            LogoutStateMissing => "logout_state_missing",
            LogoutStateMismatch => "logout_state_mismatch",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ValidationError;

    /// The SPA shows `message()`, the BFF `Display`: one text, whatever the variant's shape.
    #[test]
    fn message_is_the_display_text() {
        let reason = || "it does not have three parts".to_owned();
        for e in [
            ValidationError::OpError {
                error: "access_denied".into(),
                description: None,
            },
            ValidationError::OpError {
                error: "access_denied".into(),
                description: Some("The user said no".into()),
            },
            ValidationError::MalformedToken { reason: reason() },
            ValidationError::DuplicateParameter {
                param: "state".into(),
            },
            ValidationError::HmacRejected {
                alg: "HS256".into(),
            },
            ValidationError::TooLarge,
            ValidationError::LogoutStateMismatch,
        ] {
            assert_eq!(e.message(), e.to_string());
        }
        assert_eq!(
            ValidationError::OpError {
                error: "access_denied".into(),
                description: None
            }
            .message(),
            "The sign-in was not completed: access_denied"
        );
        assert_eq!(
            ValidationError::DuplicateParameter {
                param: "state".into()
            }
            .message(),
            "The sign-in response is ambiguous: the parameter `state` appears more than once."
        );
        assert_eq!(
            ValidationError::MalformedToken { reason: reason() }.to_string(),
            "The ID token is not a well-formed signed token (it does not have three parts)."
        );
    }
}
