//! The redirect back from the OP: fragment → checks in the browser → user shown at once → code to the BFF.
//!
//! Order matters: the fragment leaves the address bar before anything else happens, the pending sign-in is
//! used up whatever the outcome, and the code is sent to the BFF only after every rule passed.

use crate::http::{self, Call, Failure};
use crate::problem::Problem;
use crate::webcrypto::WebCryptoVerifier;
use shared::api::User;
use shared::fragment::{looks_like_authorization_response, parse_fragment, AuthorizationResponse};
use shared::jose::alg::AlgPolicy;
use shared::jose::jwks::{JwkSet, MAX_JWKS_BYTES};
use shared::verify::authorization::{validate_response, Expected};
use shared::verify::Keys;
use shared::ValidationError;

/// A response that passed every rule in the browser, ready for the BFF.
pub struct Verified {
    /// Exactly as read from the fragment; the BFF validates it again (it cannot trust the browser).
    pub response: AuthorizationResponse,
    /// From the verified front-channel ID token; `None` for `code token`, which has none.
    pub user: Option<User>,
}

/// When the address bar holds an authorization response: removes it from the address bar and the history at
/// once, and returns it. Ordinary `#anchors` are left alone.
pub fn take_fragment() -> Option<String> {
    let hash = crate::browser::hash();
    if !looks_like_authorization_response(&hash) {
        return None;
    }
    crate::browser::clean_address_bar();
    Some(hash)
}

/// Runs every check of the front-channel response. On `Err` the code must not be sent anywhere.
pub async fn verify(fragment: &str) -> Result<Verified, Problem> {
    let now = crate::browser::now_secs();
    // Used up whatever happens next: a response can be matched against a sign-in only once.
    let pending = crate::pending::take(now);
    // An OP error (e.g. the user declined) says more than "no pending sign-in", so the fragment is read first.
    let response = parse_fragment(fragment)?;
    let pending = pending.ok_or(ValidationError::NoPendingLogin)?;
    let jwks = fetch_jwks(&pending.jwks_uri).await?;
    let policy = AlgPolicy::only(&pending.allowed_algs);
    let expected = Expected {
        state: &pending.state,
        response_type: pending.response_type,
        rules: &pending.rules,
    };
    let validated = validate_response(
        &response,
        &expected,
        Keys {
            jwks: &jwks,
            policy: &policy,
        },
        now,
        &WebCryptoVerifier,
    )
    .await?;
    let user = validated.id_token.map(|token| token.claims.user());
    Ok(Verified { response, user })
}

/// The OP's key set, fetched directly from its `jwks_uri` (the OP allows CORS; no cookies are sent).
async fn fetch_jwks(uri: &str) -> Result<JwkSet, Problem> {
    let reply = http::send(Call {
        method: "GET",
        url: uri,
        same_origin: false,
        csrf: false,
        json_body: None,
        max_bytes: MAX_JWKS_BYTES,
    })
    .await
    .map_err(|failure| match failure {
        Failure::TooLarge => ValidationError::BadJwks { reason: "it is too large".into() }.into(),
        Failure::Unreachable => Problem::new(
            "jwks_unreachable",
            "The identity provider's keys could not be fetched, so the sign-in cannot be checked. Please try again.",
        ),
    })?;
    if reply.status != 200 {
        return Err(ValidationError::BadJwks {
            reason: format!("the server answered HTTP {}", reply.status),
        }
        .into());
    }
    Ok(JwkSet::parse(&reply.body)?)
}
