//! `GET /bff/user`: who is signed in, for the SPA to restore its view after a reload.

use crate::current_session::CurrentSession;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use shared::api::SessionInfo;

/// The session's user (the merged claims, each with its source, and what became of userinfo), or 401 JSON.
pub async fn current_user(
    State(state): State<AppState>,
    CurrentSession { session, .. }: CurrentSession,
) -> Json<SessionInfo> {
    let expires_at = session.created_at + state.config.session.absolute_timeout_secs;
    Json(SessionInfo {
        token_client: session.token_client(state.config.oidc.auth_method),
        claims: session.shown_claims(),
        user: session.user,
        expires_at,
        userinfo: session.userinfo,
    })
}
