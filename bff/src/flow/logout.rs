//! `POST /bff/logout`: end the session here, revoke its refresh token, and answer the OP's end-session URL so
//! the browser can end the OP session too (RP-initiated logout).

use crate::error::AppError;
use crate::oidc::token;
use crate::session::cookie::Kind;
use crate::session::random_token;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use shared::api::LoggedOut;

/// Ends the session (if any) and answers where the browser should go next.
pub async fn logout(
    State(state): State<AppState>,
    request_headers: HeaderMap,
) -> Result<(HeaderMap, Json<LoggedOut>), AppError> {
    let mut headers = HeaderMap::new();
    state.cookies.clear(&mut headers, Kind::Session);
    let Some(id) = state.cookies.read(&request_headers, Kind::Session) else {
        return Ok((
            headers,
            Json(LoggedOut {
                end_session_url: None,
            }),
        ));
    };
    let Some(session) = state.sessions.remove(&id).await? else {
        return Ok((
            headers,
            Json(LoggedOut {
                end_session_url: None,
            }),
        ));
    };
    let provider = state.provider.get().ok();
    if let (Some(provider), Some(refresh)) = (provider, session.refresh_token.clone()) {
        let (http, config, metadata) = (
            state.op_http.clone(),
            state.config.clone(),
            provider.metadata.clone(),
        );
        // Off the request path: the user is logged out here whatever the OP says.
        tokio::spawn(async move { token::revoke(&http, &metadata, &config, &refresh).await });
    }
    let end_session_url = provider
        .and_then(|p| p.metadata.end_session_endpoint.clone())
        .map(|mut url| {
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("id_token_hint", &session.id_token)
                    .append_pair("client_id", &state.config.oidc.client_id);
                if let Some(back) = &state.config.oidc.post_logout_redirect_uri {
                    q.append_pair("post_logout_redirect_uri", back.as_str())
                        .append_pair("state", &random_token());
                }
            }
            url.to_string()
        });
    tracing::info!("logout");
    Ok((headers, Json(LoggedOut { end_session_url })))
}
