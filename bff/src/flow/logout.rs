//! `POST /bff/logout`: end the session here, revoke its refresh token, and answer the end-session request the
//! browser sends to the OP to end the OP session too (RP-initiated logout), as a form to POST so the ID token
//! hint is never in a URL. `POST /bff/logout/return`: the SPA, back at `post_logout_redirect_uri`, asks whether
//! the `state` the OP sent back is the one this browser's logout sent.

use crate::error::{AppError, JsonBody};
use crate::oidc::token;
use crate::session::cookie::Kind;
use crate::session::random_token;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::api::{EndSessionMethod, EndSessionRequest, LoggedOut, LogoutConfirmed, LogoutReturn};
use shared::verify::end_session::check_logout_state;
use url::Url;

/// How long the browser may take at the OP's end-session page before its return is no longer recognised.
pub const LOGOUT_RETURN_SECS: i64 = 600;

/// Ends the session (if any) and answers what the browser should send to the OP next.
pub async fn logout(
    State(state): State<AppState>,
    request_headers: HeaderMap,
) -> Result<(HeaderMap, Json<LoggedOut>), AppError> {
    let mut headers = HeaderMap::new();
    state.cookies.clear(&mut headers, Kind::Session);
    let nothing_more = || Json(LoggedOut { end_session: None });
    let Some(id) = state.cookies.read(&request_headers, Kind::Session) else {
        return Ok((headers, nothing_more()));
    };
    let Some(session) = state.sessions.remove(&id).await? else {
        return Ok((headers, nothing_more()));
    };
    let provider = state.provider.get().ok();
    if let (Some(provider), Some(refresh)) = (provider, session.refresh_token.clone()) {
        let (http, config, metadata) = (
            state.op_http.here().clone(),
            state.config.clone(),
            provider.metadata.clone(),
        );
        // Off the request path: the user is logged out here whatever the OP says.
        tokio::spawn(async move { token::revoke(&http, &metadata, &config, &refresh).await });
    }
    let oidc = &state.config.oidc;
    let end_session = provider
        .and_then(|p| p.metadata.end_session_endpoint.clone())
        .map(|endpoint| {
            let mut fields = vec![
                ("id_token_hint".to_owned(), session.id_token.clone()),
                ("client_id".to_owned(), oidc.client_id.clone()),
            ];
            if let Some(back) = &oidc.post_logout_redirect_uri {
                // The state comes back in the URL; the cookie ties it to this browser.
                let logout_state = random_token();
                state.cookies.set(
                    &mut headers,
                    Kind::Logout,
                    &logout_state,
                    LOGOUT_RETURN_SECS,
                );
                fields.push(("post_logout_redirect_uri".to_owned(), back.to_string()));
                fields.push(("state".to_owned(), logout_state));
            }
            end_session_request(endpoint, oidc.end_session_method, fields)
        });
    tracing::info!(rp_initiated = end_session.is_some(), "logout");
    Ok((headers, Json(LoggedOut { end_session })))
}

/// The form for `endpoint`. A GET form replaces the action's query with its fields, so for GET the endpoint's
/// own query parameters (some OPs have them, e.g. a policy name) become fields first.
fn end_session_request(
    mut endpoint: Url,
    method: EndSessionMethod,
    fields: Vec<(String, String)>,
) -> EndSessionRequest {
    let fields = match method {
        EndSessionMethod::Post => fields,
        EndSessionMethod::Get => {
            let mut all: Vec<(String, String)> = endpoint.query_pairs().into_owned().collect();
            endpoint.set_query(None);
            all.extend(fields);
            all
        }
    };
    EndSessionRequest {
        action: endpoint.to_string(),
        method,
        fields,
    }
}

/// Confirms the sign-out when the returned `state` is the one this browser's logout sent; the logout cookie is
/// spent either way, so a return is recognised once.
pub async fn returned(
    State(state): State<AppState>,
    request_headers: HeaderMap,
    JsonBody(body): JsonBody<LogoutReturn>,
) -> Response {
    let mut headers = HeaderMap::new();
    state.cookies.clear(&mut headers, Kind::Logout);
    let sent = state.cookies.read(&request_headers, Kind::Logout);
    match check_logout_state(sent.as_deref(), &body.state) {
        Ok(()) => (headers, Json(LogoutConfirmed { signed_out: true })).into_response(),
        Err(e) => (headers, AppError::from(e)).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<(String, String)> {
        vec![("id_token_hint".into(), "t".into())]
    }

    #[test]
    fn post_keeps_the_endpoint_and_get_moves_its_query_into_the_fields() {
        let endpoint = Url::parse("https://op.example/logout?p=policy").unwrap();
        let post = end_session_request(endpoint.clone(), EndSessionMethod::Post, fields());
        assert_eq!(post.action, "https://op.example/logout?p=policy");
        assert_eq!(post.fields, fields());
        let get = end_session_request(endpoint, EndSessionMethod::Get, fields());
        assert_eq!(get.action, "https://op.example/logout");
        assert_eq!(
            get.fields,
            vec![
                ("p".to_owned(), "policy".to_owned()),
                ("id_token_hint".to_owned(), "t".to_owned())
            ]
        );
    }
}
