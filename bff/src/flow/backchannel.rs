//! `POST /bff/backchannel`: OpenID Connect Back-Channel Logout 1.0. The OP calls it server to server with a
//! signed logout token when a user's OP session ends; every session here that the token names is ended.
//!
//! Answers (Back-Channel Logout 2.8): `200` with `Cache-Control: no-store` and an empty body when the token is
//! valid, also when no session matched (the OP cannot do anything about that, and retrying would not help);
//! `400` JSON `{error, message}` with the rule's name for any invalid token or request. The token itself is
//! never logged, only the rule that refused it.
//!
//! Its POST is exempt from the `X-CSRF` header (see [`crate::csrf`]): the caller is the OP, not a browser, and
//! the request carries no cookie and acts on no browser's session. What authenticates it is the token's
//! signature by the OP's key, checked with the same rules as ID tokens, plus its audience, issuer, age and the
//! one-time `jti` below. A cross-site form post could only deliver a token the attacker already holds, which
//! the store's one-time record refuses once it has been used.

use crate::error::AppError;
use crate::oidc::verifier;
use crate::session::now;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::verify::logout_token::{verify_logout_token, LogoutTokenRules, DEFAULT_MAX_AGE_SECS};
use shared::verify::Context;
use shared::ValidationError;
use std::time::Duration;

/// Where the OP posts logout tokens (registered at the OP as `backchannel_logout_uri`).
pub const PATH: &str = "/bff/backchannel";

/// Upper bound for the request body: a logout token is 1-2 KiB, a compact JWS here at most 16 KiB.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// `POST` [`PATH`]. The `jti` replay record lives in the session store, so it holds across replicas sharing it.
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let mut response = match logout(&state, &headers, body).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Reads the form, verifies the token, refuses a spent `jti`, ends the sessions it names, then spends the `jti`.
async fn logout(state: &AppState, headers: &HeaderMap, body: Body) -> Result<(), AppError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(AppError::BadRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| AppError::BadRequest("the body is larger than 16 KiB".into()))?;
    let raw = logout_token_param(&body)?;

    let provider = state.provider.get()?;
    let rules = LogoutTokenRules {
        issuer: provider.metadata.issuer.clone(),
        client_id: state.config.oidc.client_id.clone(),
        leeway_secs: state.config.oidc.leeway_secs,
        max_age_secs: DEFAULT_MAX_AGE_SECS,
        exp_optional: state.config.oidc.logout_token_exp_optional,
    };
    let set = provider.keys_for(Some(&raw)).await?;
    let t = now();
    let verifier = verifier();
    let ctx = Context::new(provider.keys(&set), t, &verifier);
    let claims = verify_logout_token(&raw, &rules, ctx).await?;

    // Kept for as long as the token could still pass the iat rule (iat may be up to a leeway in the future).
    let ttl = rules.max_age_secs + 2 * rules.leeway_secs;
    let jti = claims.jti.as_deref().unwrap_or_default();
    let ttl = Duration::from_secs(u64::try_from(ttl).unwrap_or(0));
    let once_key = format!("jti:{}\n{jti}", rules.issuer);
    // A replay is refused before it can act; the jti is spent only once the sessions are gone, so a removal
    // that fails (503) leaves the OP's retry of the same token acceptable instead of refused as a replay.
    if state.sessions.is_remembered(&once_key).await? {
        return Err(ValidationError::JtiReplayed.into());
    }

    let ended = state
        .sessions
        .remove_matching(&rules.issuer, claims.sid.as_deref(), claims.sub.as_deref())
        .await?;
    // `false` only for a delivery of the same token that passed the check above meanwhile: it ended the same
    // sessions, so both are answered 200.
    state.sessions.remember_once(&once_key, ttl).await?;
    tracing::info!(
        ended,
        by_sid = claims.sid.is_some(),
        by_sub = claims.sub.is_some(),
        "back-channel logout"
    );
    Ok(())
}

/// The one `logout_token` form parameter (a repeated one is ambiguous and refused).
fn logout_token_param(body: &[u8]) -> Result<String, AppError> {
    let mut tokens = url::form_urlencoded::parse(body)
        .filter(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned());
    match (tokens.next(), tokens.next()) {
        (Some(t), None) if !t.is_empty() => Ok(t),
        (Some(_), Some(_)) => Err(AppError::BadRequest(
            "the parameter `logout_token` appears more than once".into(),
        )),
        _ => Err(AppError::BadRequest(
            "the parameter `logout_token` is missing".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_has_exactly_one_token() {
        assert_eq!(logout_token_param(b"logout_token=a.b.c").unwrap(), "a.b.c");
        assert!(logout_token_param(b"logout_token=a&logout_token=b").is_err());
        assert!(logout_token_param(b"token=a").is_err());
        assert!(logout_token_param(b"logout_token=").is_err());
    }
}
