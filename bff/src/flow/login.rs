//! `POST /bff/login`: start a login transaction and hand the SPA the authorization URL.

use crate::error::AppError;
use crate::oidc::token::{authorization_url, AuthorizationRequest};
use crate::session::cookie::Kind;
use crate::session::transaction::Transaction;
use crate::session::{now, random_token};
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use shared::api::{LoginStarted, PendingLogin};
use shared::pkce::s256_challenge;
use shared::verify::id_token::IdTokenRules;

/// Creates state, nonce and a PKCE verifier, keeps them server-side under a fresh HttpOnly cookie, and answers
/// what the SPA needs to go to the OP and to check the response when it comes back.
pub async fn start(
    State(state): State<AppState>,
) -> Result<(HeaderMap, Json<LoginStarted>), AppError> {
    let provider = state.provider.get()?;
    let config = &state.config;
    let (tx_id, state_value, nonce, code_verifier) = (
        random_token(),
        random_token(),
        random_token(),
        random_token(),
    );
    let lifetime = config.session.login_timeout_secs;
    let pending = PendingLogin {
        state: state_value,
        response_type: config.oidc.response_type,
        rules: IdTokenRules {
            issuer: config.oidc.issuer.clone(),
            client_id: config.oidc.client_id.clone(),
            trusted_audiences: Vec::new(),
            nonce,
            leeway_secs: config.oidc.leeway_secs,
        },
        jwks_uri: provider.metadata.jwks_uri.to_string(),
        allowed_algs: provider.policy.allowed().to_vec(),
        expires_at: now() + lifetime,
    };
    let url = authorization_url(
        &provider.metadata,
        config,
        &AuthorizationRequest {
            state: &pending.state,
            nonce: &pending.rules.nonce,
            code_challenge: &s256_challenge(&code_verifier),
        },
    );
    if !state
        .sessions
        .put_transaction(
            &tx_id,
            Transaction {
                pending: pending.clone(),
                code_verifier,
            },
        )
        .await?
    {
        return Err(AppError::OpUnavailable);
    }
    let mut headers = HeaderMap::new();
    state
        .cookies
        .set(&mut headers, Kind::Login, &tx_id, lifetime);
    tracing::info!(response_type = %config.oidc.response_type, "login started");
    Ok((
        headers,
        Json(LoginStarted {
            authorization_url: url.to_string(),
            pending,
        }),
    ))
}
