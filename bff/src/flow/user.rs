//! `GET /bff/user`: who is signed in, for the SPA to restore its view after a reload.

use super::current_session;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use shared::api::SessionInfo;

/// The session's user (the merged claims, each with its source, and what became of userinfo), or 401 JSON.
pub async fn current_user(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SessionInfo>, AppError> {
    let (_, session) = current_session(&state, &headers).await?;
    let expires_at = session.created_at + state.config.session.absolute_timeout_secs;
    Ok(Json(SessionInfo {
        claims: session.shown_claims(),
        user: session.user,
        expires_at,
        userinfo: session.userinfo,
    }))
}
