//! The login flow's endpoints, in the order a browser calls them: [`login`] (start) → [`exchange`] (code for
//! tokens, session) → [`user`] (who is signed in) → [`logout`].

pub mod backchannel;
pub mod exchange;
pub mod login;
pub mod logout;
pub mod user;

use crate::error::AppError;
use crate::session::cookie::Kind;
use crate::session::model::Session;
use crate::session::now;
use crate::state::AppState;
use axum::http::HeaderMap;

/// The live session of this request's browser, with its id; touches it (idle timeout) as a side effect.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(String, Session), AppError> {
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
    Ok((id, session))
}
