//! The OP's userinfo endpoint (Core 5.3), read with the session's access token after the code exchange (and,
//! with `oidc.userinfo_refresh`, after each refresh). What the answer means is decided in
//! `shared::verify::userinfo`; this module does the request, bounded like every other OP call (the OP client's
//! timeouts and no redirects, a capped body, and one deadline for the whole step), and applies the
//! configuration's `oidc.userinfo` mode.
//!
//! The answer's body is never logged, only why it was not used.

use super::body::{read_capped, BodyError};
use super::dpop::{Dpop, DpopKey};
use super::{verifier, Provider};
use crate::config::UserinfoMode;
use crate::error::AppError;
use crate::session::now;
use crate::state::AppState;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use shared::api::{Claim, UserinfoReport, UserinfoStatus};
use shared::json::{Object, Value};
use shared::verify::claims::IdTokenClaims;
use shared::verify::userinfo::{
    check_userinfo_sub, merge_claims, read_body, verified_id_token_claims, verify_userinfo_jwt,
    UserinfoBody, UserinfoError, UserinfoRules, MAX_USERINFO_BYTES,
};
use shared::verify::Context;
use std::time::Instant;
use url::Url;

/// The claims to show (the ID token's merged with userinfo's) and what became of the userinfo request.
pub struct Merged {
    pub claims: Vec<Claim>,
    pub report: UserinfoReport,
}

/// Reads userinfo for the user `sub` with `access_token` and merges it over the claims of `raw_id_token` (an ID
/// token already verified for this session).
///
/// A refusal (a `sub` other than the ID token's, a bad signature, another issuer or audience, an encrypted
/// answer) is an error whatever the mode: the caller must not start or keep the session. An answer that cannot
/// be read is an error (`userinfo_unavailable`) only when the mode is `required`; otherwise the ID token's claims
/// come back alone, with a report that says userinfo was unavailable and why. Every request is counted in
/// `bff_userinfo_total` by outcome.
pub async fn read_and_merge(
    state: &AppState,
    provider: &Provider,
    access_token: &str,
    sub: &str,
    raw_id_token: &str,
    dpop_key: Option<&DpopKey>,
) -> Result<Merged, AppError> {
    let id_token = verified_id_token_claims(raw_id_token)?;
    let alone = |status: UserinfoStatus, reason: Option<&str>, elapsed_ms: Option<u64>| Merged {
        claims: merge_claims(&id_token, None),
        report: UserinfoReport {
            status,
            reason: reason.map(str::to_owned),
            elapsed_ms,
            signed: false,
        },
    };
    let mode = state.config.oidc.userinfo;
    if mode == UserinfoMode::Off {
        return Ok(alone(UserinfoStatus::Off, None, None));
    }
    let Some(endpoint) = &provider.metadata.userinfo_endpoint else {
        if mode == UserinfoMode::Required {
            state.metrics.userinfo("unavailable");
            return Err(AppError::UserinfoUnavailable(
                "the identity provider offers no userinfo endpoint",
            ));
        }
        return Ok(alone(UserinfoStatus::NotOffered, None, None));
    };
    let started = Instant::now();
    let result = tokio::time::timeout(
        state.config.userinfo_timeout(),
        fetch_and_check(state, provider, endpoint, access_token, sub, dpop_key),
    )
    .await
    .unwrap_or(Err(UserinfoError::Unavailable("it did not answer in time")));
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok((userinfo, signed)) => {
            state.metrics.userinfo("ok");
            Ok(Merged {
                claims: merge_claims(&id_token, Some(&userinfo)),
                report: UserinfoReport {
                    status: UserinfoStatus::Ok,
                    reason: None,
                    elapsed_ms: Some(elapsed_ms),
                    signed,
                },
            })
        }
        Err(UserinfoError::Unavailable(reason)) => {
            state.metrics.userinfo("unavailable");
            tracing::warn!(reason, ?mode, "userinfo unavailable");
            if mode == UserinfoMode::Required {
                return Err(AppError::UserinfoUnavailable(reason));
            }
            Ok(alone(
                UserinfoStatus::Unavailable,
                Some(reason),
                Some(elapsed_ms),
            ))
        }
        Err(UserinfoError::Refused(e)) => {
            state.metrics.userinfo("refused");
            tracing::warn!(rule = e.rule(), "userinfo refused");
            Err(e.into())
        }
    }
}

/// The request, the answer's checks, and the `sub` rule: the claims and whether they were signed.
async fn fetch_and_check(
    state: &AppState,
    provider: &Provider,
    endpoint: &Url,
    access_token: &str,
    sub: &str,
    dpop_key: Option<&DpopKey>,
) -> Result<(Object, bool), UserinfoError> {
    let dpop = dpop_key.map(|key| Dpop {
        key,
        nonces: &state.dpop_nonces,
    });
    let (content_type, body) = fetch(state.op_http.here(), endpoint, access_token, dpop).await?;
    let (claims, signed) = match read_body(content_type.as_deref(), &body)? {
        UserinfoBody::Json(claims) => (claims, false),
        UserinfoBody::Jwt(jws) => {
            // The same key cache as ID tokens, unknown-kid refetch budget included.
            let raw = std::str::from_utf8(&body).ok().map(str::trim);
            let set = provider.keys_for(raw).await.map_err(|_| {
                UserinfoError::Unavailable("the identity provider's key set could not be read")
            })?;
            let rules = UserinfoRules {
                issuer: &state.config.oidc.issuer,
                client_id: &state.config.oidc.client_id,
                trusted_audiences: &[],
                leeway_secs: state.config.oidc.leeway_secs,
            };
            let verifier = verifier();
            let ctx = Context::new(provider.keys(&set), now(), &verifier);
            let claims = verify_userinfo_jwt(&jws, rules, ctx).await?;
            (claims, true)
        }
    };
    let id_token = IdTokenClaims {
        sub: Some(sub.to_owned()),
        ..Default::default()
    };
    check_userinfo_sub(&id_token, claims.get("sub").and_then(Value::as_str))?;
    Ok((claims, signed))
}

/// `GET` with the access token (Core 5.3.1; never in the query), the answer read up to the cap: its content
/// type and body. A DPoP-bound token goes as `DPoP` with a proof (a bound token is refused as Bearer), asked
/// once more with a fresh proof if the OP demands a nonce.
async fn fetch(
    http: &reqwest::Client,
    endpoint: &Url,
    access_token: &str,
    dpop: Option<Dpop<'_>>,
) -> Result<(Option<String>, Vec<u8>), UserinfoError> {
    let failed = |e: reqwest::Error| {
        UserinfoError::Unavailable(if e.is_timeout() {
            "it did not answer in time"
        } else {
            "it could not be reached"
        })
    };
    let send = || async {
        let request = http
            .get(endpoint.clone())
            .header(ACCEPT, "application/json, application/jwt");
        let request = match dpop {
            None => request.bearer_auth(access_token),
            Some(dpop) => {
                let headers = dpop
                    .token_headers("GET", endpoint.as_str(), access_token)
                    .map_err(|_| UserinfoError::Unavailable("the request could not be signed"))?;
                headers
                    .into_iter()
                    .fold(request, |r, (name, value)| r.header(name, value))
            }
        };
        request.send().await.map_err(failed)
    };
    let mut response = send().await?;
    if dpop.is_some_and(|d| d.nonce_retry(endpoint.as_str(), response.status(), response.headers()))
    {
        // Read through, so the retry can go on the same connection.
        let _ = read_capped(response, MAX_USERINFO_BYTES).await;
        response = send().await?;
    }
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Read before the status is judged, so a refusal's connection goes back to the pool too.
    let body = read_capped(response, MAX_USERINFO_BYTES).await;
    if status.is_server_error() {
        return Err(UserinfoError::Unavailable(
            "it answered with a server error",
        ));
    }
    if !status.is_success() {
        return Err(UserinfoError::Unavailable(
            "it refused the request (not a success status)",
        ));
    }
    let body = body.map_err(|e| match e {
        BodyError::TooLarge => UserinfoError::Unavailable("the answer is too large"),
        BodyError::Failed(e) => failed(e),
    })?;
    Ok((content_type, body))
}
