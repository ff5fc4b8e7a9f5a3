//! `POST /bff/session`: the code exchange. The BFF trusts nothing the browser posts: it validates the
//! front-channel response again with the same rules the SPA ran, and only then spends the code.

use crate::error::AppError;
use crate::oidc::dpop::Dpop;
use crate::oidc::{token, userinfo, verifier};
use crate::session::cookie::Kind;
use crate::session::model::Session;
use crate::session::transaction::seen_state_key;
use crate::session::{now, random_token};
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use shared::api::SessionInfo;
use shared::fragment::AuthorizationResponse;
use shared::verify::authorization::{verify_response, Expected};
use shared::verify::token_endpoint::{verify_token_endpoint_id_token, Exchange};
use shared::verify::userinfo::user_of;
use shared::verify::Context;
use shared::ValidationError;
use std::time::Duration;

/// How much longer than its login the seen-state record lives: replicas' clocks may differ by this much.
const SEEN_STATE_MARGIN_SECS: i64 = 60;

/// Validates the posted response against this browser's pending login (its sealed cookie), records the login
/// as used, exchanges the code, validates the token-endpoint ID token, reads userinfo, and starts a session
/// under a new id.
pub async fn create_session(
    State(state): State<AppState>,
    request_headers: HeaderMap,
    crate::error::JsonBody(response): crate::error::JsonBody<AuthorizationResponse>,
) -> Result<(HeaderMap, Json<SessionInfo>), (HeaderMap, AppError)> {
    let mut headers = HeaderMap::new();
    // The browser drops its pending login whatever the answer, refusals included: state and nonce are one-time,
    // and a response refused before the seen-state record is written must not be retried with it.
    state.cookies.clear(&mut headers, Kind::Login);
    match exchange(&state, &request_headers, &response).await {
        Ok((session_id, info)) => {
            state.cookies.set(
                &mut headers,
                Kind::Session,
                &session_id,
                state.config.session.absolute_timeout_secs,
            );
            state.metrics.login("ok", "ok");
            Ok((headers, Json(info)))
        }
        Err(e) => {
            // Logged where it becomes the answer.
            state.metrics.login("refused", e.code());
            Err((headers, e))
        }
    }
}

async fn exchange(
    state: &AppState,
    request_headers: &HeaderMap,
    response: &AuthorizationResponse,
) -> Result<(String, SessionInfo), AppError> {
    let cookie = state
        .cookies
        .read(request_headers, Kind::Login)
        .ok_or(ValidationError::NoPendingLogin)?;
    let tx = state.logins.open(&cookie, now())?;
    let provider = state.provider.get()?;
    let rules = &tx.pending.rules;
    let verifier = verifier();

    // 1. The front channel, again. Any failure here means no request reaches the token endpoint.
    let set = provider.keys_for(response.id_token.as_deref()).await?;
    let expected = Expected {
        state: &tx.pending.state,
        response_type: tx.pending.response_type,
        rules,
        iss_parameter_supported: tx.pending.iss_parameter_supported,
    };
    let ctx = Context::new(provider.keys(&set), now(), &verifier);
    let front = verify_response(response, &expected, ctx).await?;

    // One exchange per login, on every replica sharing the store: recorded only now, once the response passed
    // the front-channel checks, so neither a login start nor a forged response writes anything; and before the
    // code is spent, so a replayed cookie and response never reach the token endpoint (where a second use of a
    // code may revoke what the first obtained). The record outlives the login by the clock margin, so a
    // replica whose clock is behind still finds it.
    let ttl = tx.pending.expires_at.saturating_sub(now()).max(0) + SEEN_STATE_MARGIN_SECS;
    if !state
        .sessions
        .remember_once(
            &seen_state_key(&tx.pending.state),
            Duration::from_secs(ttl.unsigned_abs()),
        )
        .await?
    {
        return Err(AppError::LoginAlreadyUsed);
    }

    // 2. The code exchange.
    let token::Granted { tokens, dpop_key } = token::exchange_code(
        state.op_http.here(),
        &provider.metadata,
        &state.config,
        &front.code,
        &tx.code_verifier,
        tx.dpop_key.as_ref().map(|key| Dpop {
            key,
            nonces: &state.dpop_nonces,
        }),
    )
    .await?;

    // 3. The token-endpoint ID token; no token is used before it passes (RFC 9700 4.5.3.2).
    let raw_id_token =
        tokens
            .id_token
            .as_deref()
            .ok_or_else(|| ValidationError::MalformedTokenResponse {
                reason: "it has no ID token".into(),
            })?;
    let set = provider.keys_for(Some(raw_id_token)).await?;
    let exchange = Exchange {
        rules,
        front_channel: front.id_token.as_ref().map(|t| &t.claims),
        code: &front.code,
        access_token: &tokens.access_token,
    };
    let ctx = Context::new(provider.keys(&set), now(), &verifier);
    let verified = verify_token_endpoint_id_token(raw_id_token, exchange, ctx).await?;

    // 4. Userinfo (Core 5.3), with the new access token: its `sub` must be the ID token's, or there is no
    //    session; whether an unreadable answer refuses the sign-in is the configuration's call.
    let sub = verified.claims.sub.as_deref().unwrap_or_default();
    let merged = userinfo::read_and_merge(
        state,
        provider,
        &tokens.access_token,
        sub,
        raw_id_token,
        dpop_key.as_ref(),
    )
    .await?;

    let t = now();
    let user = user_of(&merged.claims);
    let session = Session {
        user: user.clone(),
        claims: merged.claims.clone(),
        userinfo: merged.report.clone(),
        issuer: verified.claims.iss.clone().unwrap_or_default(),
        sid: verified.claims.sid.clone(),
        id_token: raw_id_token.to_owned(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        access_token_expires_at: tokens.expires_in.map(|e| t + e),
        created_at: t,
        last_seen: t,
        upstream_tokens: Default::default(),
        dpop_key,
    };
    // A new id at every login (session fixation defence); any older session of this browser is ended.
    if let Some(old) = state.cookies.read(request_headers, Kind::Session) {
        state.sessions.remove(&old).await?;
    }
    let id = random_token();
    let token_client = session.token_client(state.config.oidc.auth_method);
    state.sessions.insert(&id, session).await?;
    tracing::info!(response_type = %tx.pending.response_type, "login completed");
    Ok((
        id,
        SessionInfo {
            user,
            expires_at: t + state.config.session.absolute_timeout_secs,
            claims: merged.claims,
            userinfo: merged.report,
            token_client,
        },
    ))
}
