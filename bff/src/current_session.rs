//! The signed-in browser's session, as an extractor: a handler that names [`CurrentSession`] among its
//! arguments runs only for a live session, and every other request gets the same 401 JSON.

use crate::error::AppError;
use crate::session::cookie::Kind;
use crate::session::model::Session;
use crate::session::now;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

/// The live session of this request's browser, with its id. Extracting it touches the session (idle
/// timeout) as a side effect.
pub struct CurrentSession {
    /// The session's id (its cookie's value), for writes back to the store.
    pub id: String,
    pub session: Session,
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        CurrentSession::load(state, &parts.headers).await
    }
}

impl CurrentSession {
    /// The session named by `headers`' cookie, if it is live: 401 `unauthenticated` when there is none, it has
    /// timed out (it is removed then), or a logout ended it while this request read it. For a handler that
    /// needs a session only on some paths, after checks that must answer first (the API proxy).
    pub async fn load(state: &AppState, headers: &HeaderMap) -> Result<CurrentSession, AppError> {
        let id = state
            .cookies
            .read(headers, Kind::Session)
            .ok_or(AppError::Unauthenticated)?;
        let mut session = state
            .sessions
            .get(&id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let s = &state.config.session;
        let t = now();
        if !session.is_live(s.idle_timeout_secs, s.absolute_timeout_secs, t) {
            state.sessions.remove(&id).await?;
            return Err(AppError::Unauthenticated);
        }
        // Write back at most once a minute: enough for an idle timeout measured in minutes.
        if t - session.last_seen >= 60 {
            session.last_seen = t;
            // Only if it is still there: a logout since our read has ended it, and this request with it.
            if !state.sessions.update(&id, session.clone()).await? {
                return Err(AppError::Unauthenticated);
            }
        }
        Ok(CurrentSession { id, session })
    }
}
