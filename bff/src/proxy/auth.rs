//! How a proxied call presents the session's token: `Authorization: Bearer`, or, for an API marked `dpop` and
//! a session whose tokens are DPoP-bound, `Authorization: DPoP` with a fresh proof of this request (RFC 9449 7).

use crate::config::ApiConfig;
use crate::error::AppError;
use crate::oidc::dpop::{Dpop, DpopKey};
use crate::state::AppState;
use axum::http::{header, HeaderValue, Request, Response, Uri};

/// The session's token for one call, and the key it is bound to when the call must prove possession of it.
pub struct Credentials {
    token: String,
    dpop_key: Option<DpopKey>,
}

impl Credentials {
    /// `token` for `api`: with `key` only when the API is marked for DPoP (others get it as Bearer, as they
    /// always have).
    pub fn new(api: &ApiConfig, token: String, key: Option<DpopKey>) -> Credentials {
        Credentials {
            token,
            dpop_key: key.filter(|_| api.dpop),
        }
    }

    /// Sets the request's `Authorization` (and, with DPoP, its `DPoP` proof for the request's method and URI),
    /// replacing any set before.
    pub fn apply<B>(&self, state: &AppState, request: &mut Request<B>) -> Result<(), AppError> {
        match &self.dpop_key {
            None => {
                let mut value = HeaderValue::try_from(format!("Bearer {}", self.token))
                    .map_err(|_| AppError::UpstreamUnavailable)?;
                value.set_sensitive(true);
                request.headers_mut().insert(header::AUTHORIZATION, value);
            }
            Some(key) => {
                let dpop = Dpop {
                    key,
                    nonces: &state.dpop_nonces,
                };
                let url = request.uri().to_string();
                let headers = dpop.token_headers(request.method().as_str(), &url, &self.token)?;
                for (name, value) in headers {
                    request.headers_mut().insert(name, value);
                }
            }
        }
        Ok(())
    }

    /// Whether the upstream's answer to a DPoP call demands a nonce (which it is now remembered): the call is
    /// then worth making once more with a fresh proof.
    pub fn nonce_retry<B>(&self, state: &AppState, uri: &Uri, answer: &Response<B>) -> bool {
        let Some(key) = &self.dpop_key else {
            return false;
        };
        let dpop = Dpop {
            key,
            nonces: &state.dpop_nonces,
        };
        dpop.nonce_retry(&uri.to_string(), answer.status(), answer.headers())
    }
}
