//! `POST /bff/login`: start a login and hand the SPA the authorization URL; `GET /bff/login`: what a login may
//! ask for.

use crate::error::AppError;
use crate::oidc::compatibility::uses_par;
use crate::oidc::dpop::DpopKey;
use crate::oidc::par;
use crate::oidc::token::{authorization_url, AuthorizationRequest};
use crate::session::cookie::Kind;
use crate::session::transaction::Transaction;
use crate::session::{now, random_token};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use shared::api::{LoginOptions, LoginRequest, LoginStarted, PendingLogin};
use shared::pkce::s256_challenge;
use shared::verify::id_token::IdTokenRules;
use shared::ResponseType;

/// Creates state, nonce and a PKCE verifier, seals them into a fresh HttpOnly cookie (nothing is stored: a
/// flood of unauthenticated starts uses up nothing shared), and answers what the SPA needs to go to the OP and
/// to check the response when it comes back. With PAR (`oidc.par`), the request is pushed first and the URL
/// carries only its `request_uri`, whose lifetime bounds the login's.
pub async fn start(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(HeaderMap, Json<LoginStarted>), AppError> {
    let config = &state.config;
    let response_type = chosen_response_type(&config.oidc, &body)?;
    let provider = state.provider.get()?;
    let (state_value, nonce, code_verifier) = (random_token(), random_token(), random_token());
    let dpop_key = config
        .oidc
        .dpop
        .applies(
            provider
                .metadata
                .dpop_signing_alg_values_supported
                .as_deref(),
        )
        .then(DpopKey::generate);
    let dpop_jkt = dpop_key.as_ref().map(DpopKey::thumbprint);
    let code_challenge = s256_challenge(&code_verifier);
    let request = AuthorizationRequest {
        response_type,
        state: &state_value,
        nonce: &nonce,
        code_challenge: &code_challenge,
        dpop_jkt: dpop_jkt.as_deref(),
    };
    let mut lifetime = config.session.login_timeout_secs;
    let url = if uses_par(&provider.metadata, config).unwrap_or(false) {
        let pushed = par::push(state.op_http.here(), &provider.metadata, config, &request).await?;
        // The OP forgets the request_uri then: a login kept longer could only fail at the OP.
        lifetime = lifetime.min(pushed.expires_in);
        par::authorization_url(&provider.metadata, config, &pushed)
    } else {
        authorization_url(&provider.metadata, config, &request)
    };
    let pending = PendingLogin {
        state: state_value.clone(),
        response_type,
        rules: IdTokenRules {
            issuer: config.oidc.issuer.clone(),
            client_id: config.oidc.client_id.clone(),
            trusted_audiences: Vec::new(),
            nonce: nonce.clone(),
            leeway_secs: config.oidc.leeway_secs,
        },
        jwks_uri: provider.metadata.jwks_uri.to_string(),
        allowed_algs: provider.policy.allowed().to_vec(),
        expires_at: now() + lifetime,
        iss_parameter_supported: provider
            .metadata
            .authorization_response_iss_parameter_supported,
    };
    let sealed = state.logins.seal(&Transaction {
        pending: pending.clone(),
        code_verifier,
        dpop_key,
    });
    let mut headers = HeaderMap::new();
    state
        .cookies
        .set(&mut headers, Kind::Login, &sealed, lifetime);
    tracing::info!(%response_type, "login started");
    Ok((
        headers,
        Json(LoginStarted {
            authorization_url: url.to_string(),
            pending,
        }),
    ))
}

/// The response types this deployment accepts, so the SPA offers nothing the BFF would refuse.
pub async fn options(State(state): State<AppState>) -> Json<LoginOptions> {
    Json(LoginOptions {
        default_response_type: state.config.oidc.response_type,
        response_types: state.config.oidc.response_types(),
    })
}

/// The response type of this login: the configured default, or one the operator allowed in addition. An empty
/// body is the default, so a plain `POST` (and every client written before conformance mode) keeps working.
fn chosen_response_type(
    oidc: &crate::config::OidcConfig,
    body: &[u8],
) -> Result<ResponseType, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(oidc.response_type);
    }
    let request: LoginRequest =
        serde_json::from_slice(body).map_err(|e| AppError::BadRequest(e.to_string()))?;
    match request.response_type {
        None => Ok(oidc.response_type),
        Some(t) if oidc.response_types().contains(&t) => Ok(t),
        Some(t) => Err(AppError::ResponseTypeNotAllowed(t)),
    }
}
