//! Pushed authorization requests (RFC 9126): the login's parameters go to the OP over the back channel, with
//! client authentication, and the browser is sent with only `client_id` and the `request_uri` the OP answers.

use super::discovery::Metadata;
use super::token::{authenticated_post, authorization_params, read_capped, AuthorizationRequest};
use crate::config::Config;
use crate::error::AppError;
use shared::par::PushedRequest;
use url::Url;

/// Pushes the authorization request; the OP's refusal becomes [`AppError::Par`] naming its `error`.
pub async fn push(
    http: &reqwest::Client,
    metadata: &Metadata,
    config: &Config,
    request: &AuthorizationRequest<'_>,
) -> Result<PushedRequest, AppError> {
    // Checked at start (`compatibility`): pushing is only decided when discovery lists the endpoint.
    let endpoint = metadata
        .pushed_authorization_request_endpoint
        .as_ref()
        .ok_or(AppError::OpUnavailable)?;
    let params = authorization_params(config, request);
    let form = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = authenticated_post(http, endpoint, config, metadata, form, None).await?;
    let ok = response.status().is_success();
    let body = read_capped(response).await?;
    Ok(PushedRequest::parse(ok, &body)?)
}

/// The URL the browser is sent to for a pushed request: `client_id` and `request_uri` only (RFC 9126 4).
pub fn authorization_url(metadata: &Metadata, config: &Config, pushed: &PushedRequest) -> Url {
    let mut url = metadata.authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("client_id", &config.oidc.client_id)
        .append_pair("request_uri", &pushed.request_uri);
    url
}
