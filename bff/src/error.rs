//! Every failure the BFF can answer with, mapped once to a status and a JSON `{error, message}` body.
//!
//! Handlers return `Result<_, AppError>`; nothing else builds error responses, so every error is JSON, has the
//! right status, and is logged once, where it becomes the answer, by rule name only (never with token
//! contents).

use crate::session::storage::StoreError;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::api::ErrorBody;
use shared::token_response::TokenEndpointError;
use shared::ValidationError;
use std::sync::Arc;

/// A request the BFF refuses or cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A sign-in response or token broke a validation rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The token endpoint refused the code or answered nonsense.
    #[error(transparent)]
    TokenEndpoint(#[from] TokenEndpointError),
    /// The OP could not be reached (discovery not loaded yet, connection refused, 5xx).
    #[error("The identity provider cannot be reached right now. Please try again in a moment.")]
    OpUnavailable,
    /// The OP did not answer in time.
    #[error("The identity provider did not answer in time. Please try again.")]
    OpTimeout,
    /// `oidc.userinfo = "required"` and the OP's userinfo could not be read (unreachable, 5xx, not JSON, too
    /// large, too slow, or not offered); the reason is plain words of the BFF's own, never the OP's body.
    #[error("Your user information could not be read from the identity provider ({0}), and this service needs it to sign you in. Please try again in a moment.")]
    UserinfoUnavailable(&'static str),
    /// The login cookie does not open: altered, not one this BFF sealed, or sealed under a key it no longer has
    /// (a restart of a BFF with the memory store, a key rotated out).
    #[error("This sign-in cannot be finished: its sign-in cookie is not valid here (it was altered, or the service restarted or changed keys since it began). Please sign in again.")]
    LoginCookieInvalid,
    /// The login cookie opened, but the login's time (`session.login_timeout_secs`) is up.
    #[error("This sign-in took too long and has expired. Please sign in again.")]
    LoginExpired,
    /// This login's response was already exchanged once (a replay), on this replica or another.
    #[error(
        "This sign-in has already been completed and cannot be used again. Please sign in again."
    )]
    LoginAlreadyUsed,
    /// The session store cannot be reached (the session, if any, is kept). The store's own words may name
    /// hosts or paths: they go to the log line, never into the answer.
    #[error("Sessions cannot be read right now. Please try again in a moment.")]
    StoreUnavailable(Arc<StoreError>),
    #[error("You are not signed in.")]
    Unauthenticated,
    /// The OP refused to renew the session's tokens (revoked, expired, or the user was logged out there).
    #[error(
        "Your session has ended: the identity provider would not renew it. Please sign in again."
    )]
    SessionExpired,
    #[error("This request lacks the anti-CSRF header `X-CSRF: 1`.")]
    CsrfHeaderMissing,
    /// A state-changing call (or an API call) from a page of another origin.
    #[error("This request comes from a page of another origin than this application's.")]
    CrossOrigin,
    #[error("There is no API named `{0}`.")]
    UnknownApi(String),
    #[error("This API does not allow that method.")]
    MethodNotAllowed,
    #[error("This API path is not allowed.")]
    PathNotAllowed,
    #[error("The request body is larger than this API accepts.")]
    PayloadTooLarge,
    #[error("The API could not be reached.")]
    UpstreamUnavailable,
    #[error("The API did not answer in time.")]
    UpstreamTimeout,
    #[error("The request is not valid: {0}")]
    BadRequest(String),
    /// The SPA asked for a response type this deployment does not accept.
    #[error("This sign-in service does not accept the response type `{0}`.")]
    ResponseTypeNotAllowed(shared::ResponseType),
    /// A path this listener does not serve (e.g. `/metrics` on the public port when it has its own).
    #[error("There is nothing at this address.")]
    NotFound,
    /// `private_key_jwt` cannot sign an assertion the OP accepts (checked at start, so only if the OP changed).
    #[error("This service cannot authenticate to the identity provider right now. Please try again later.")]
    ClientAuthUnavailable,
    /// The OP's PAR endpoint refused the pushed request (RFC 9126 2.3) or answered nonsense.
    #[error(transparent)]
    Par(#[from] shared::par::ParError),
    /// A `/bff` request was not answered within `server.request_timeout_secs` (a body sent too slowly, or a
    /// dependency that kept it waiting).
    #[error("The request took too long to complete. Please try again.")]
    RequestTimeout,
    /// `oidc.dpop = "required"`, and the token endpoint answered a Bearer token: the OP ignored the proof, and
    /// a session with unbound tokens is what the operator ruled out.
    #[error("The identity provider issued a bearer token where this service requires a DPoP-bound one (oidc.dpop = \"required\"). Please contact the administrator.")]
    DpopNotBound,
    /// A DPoP proof could not be made (a URL that cannot be a proof's `htu`, or a damaged key).
    #[error("The request could not be signed for the identity provider or the API.")]
    DpopProof(#[from] crate::oidc::dpop::DpopError),
}

impl AppError {
    /// The stable machine code of this error (the JSON `error` field).
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::Validation(e) => (StatusCode::BAD_REQUEST, e.rule()),
            AppError::TokenEndpoint(TokenEndpointError::OAuth { .. }) => {
                (StatusCode::BAD_REQUEST, "token_request_refused")
            }
            AppError::TokenEndpoint(TokenEndpointError::Invalid(e)) => {
                (StatusCode::BAD_GATEWAY, e.rule())
            }
            AppError::OpUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "op_unavailable"),
            AppError::OpTimeout => (StatusCode::GATEWAY_TIMEOUT, "op_timeout"),
            AppError::UserinfoUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "userinfo_unavailable")
            }
            AppError::LoginCookieInvalid => (StatusCode::BAD_REQUEST, "login_cookie_invalid"),
            AppError::LoginExpired => (StatusCode::BAD_REQUEST, "login_expired"),
            AppError::LoginAlreadyUsed => (StatusCode::BAD_REQUEST, "login_already_used"),
            AppError::StoreUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "session_store_unavailable")
            }
            AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            AppError::SessionExpired => (StatusCode::UNAUTHORIZED, "session_expired"),
            AppError::CsrfHeaderMissing => (StatusCode::FORBIDDEN, "csrf_header_missing"),
            AppError::CrossOrigin => (StatusCode::FORBIDDEN, "cross_origin_request"),
            AppError::UnknownApi(_) => (StatusCode::NOT_FOUND, "unknown_api"),
            AppError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            AppError::PathNotAllowed => (StatusCode::FORBIDDEN, "path_not_allowed"),
            AppError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::UpstreamUnavailable => (StatusCode::BAD_GATEWAY, "upstream_unavailable"),
            AppError::UpstreamTimeout => (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::ResponseTypeNotAllowed(_) => {
                (StatusCode::BAD_REQUEST, "response_type_not_allowed")
            }
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            AppError::ClientAuthUnavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "client_auth_unavailable")
            }
            AppError::Par(shared::par::ParError::Refused { .. }) => {
                (StatusCode::BAD_GATEWAY, "par_refused")
            }
            AppError::Par(shared::par::ParError::Malformed(_)) => {
                (StatusCode::BAD_GATEWAY, "par_answer_invalid")
            }
            // 504, not 408: browsers may silently resend a request answered 408, and a sign-in must not be
            // replayed behind the user's back.
            AppError::RequestTimeout => (StatusCode::GATEWAY_TIMEOUT, "request_timeout"),
            AppError::DpopNotBound => (StatusCode::BAD_GATEWAY, "dpop_not_bound"),
            AppError::DpopProof(_) => (StatusCode::INTERNAL_SERVER_ERROR, "dpop_proof_failed"),
        }
    }

    /// Classifies a failed request to the OP.
    pub fn from_op_request(e: &reqwest::Error) -> AppError {
        if e.is_timeout() {
            AppError::OpTimeout
        } else {
            AppError::OpUnavailable
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            AppError::StoreUnavailable(cause) => {
                tracing::warn!(error = code, %cause, "request failed");
            }
            _ if status.is_server_error() => tracing::warn!(error = code, "request failed"),
            // A broken protocol rule may be an attack (a forged token, a replayed logout): worth a warning.
            AppError::Validation(_) => tracing::warn!(error = code, "request refused"),
            _ => tracing::info!(error = code, "request refused"),
        }
        let body = ErrorBody {
            error: code.to_owned(),
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::StoreUnavailable(Arc::new(e))
    }
}

impl From<crate::session::transaction::LoginCookieError> for AppError {
    fn from(e: crate::session::transaction::LoginCookieError) -> Self {
        use crate::session::transaction::LoginCookieError;
        match e {
            LoginCookieError::Invalid => AppError::LoginCookieInvalid,
            LoginCookieError::Expired => AppError::LoginExpired,
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        // A body past the extractor's limit is not malformed, it is too large: 413, as for the API proxy.
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::PayloadTooLarge;
        }
        AppError::BadRequest(rejection.body_text())
    }
}

/// A JSON request body whose rejections are [`AppError`]s (so they are JSON too).
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(Json), rejection(AppError))]
pub struct JsonBody<T>(pub T);
