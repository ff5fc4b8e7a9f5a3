//! OpenID Connect Discovery: the OP's metadata, fetched at start and checked before anything trusts it.

use crate::config::{is_loopback, Config, DpopMode, UserinfoMode};
use serde::Deserialize;
use shared::jose::alg::AlgPolicy;
use std::time::Duration;
use url::Url;

/// The metadata fields the BFF uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
    #[serde(default)]
    pub end_session_endpoint: Option<Url>,
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    /// Core 5.3: read after the code exchange (unless `oidc.userinfo = "off"`).
    #[serde(default)]
    pub userinfo_endpoint: Option<Url>,
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// RFC 8414: the algorithms the OP verifies `private_key_jwt` assertions with.
    #[serde(default)]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// RFC 9126 5: where authorization requests are pushed, and whether the OP takes only pushed ones.
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<Url>,
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 9207: the OP puts `iss` in every authorization response, so a response without it is refused.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 9449 5.1: the OP takes DPoP proofs with these algorithms (`oidc.dpop = "auto"` looks for ES256).
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
}

/// Why discovery failed: worth retrying (the OP is not up yet) or not (the OP is misconfigured or hostile).
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("the identity provider is not reachable yet: {0}")]
    Unreachable(String),
    #[error("the identity provider's discovery document is not acceptable: {0}")]
    Invalid(String),
}

/// Fetches and checks the discovery document: its `issuer` must equal the configured one exactly (a mismatch is
/// the signature of a mix-up or a misconfiguration), and every endpoint must be https (loopback excepted).
pub async fn discover(http: &reqwest::Client, config: &Config) -> Result<Metadata, DiscoveryError> {
    let issuer = &config.oidc.issuer;
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let response = http
        .get(&url)
        .send()
        .await
        .map_err(|e| DiscoveryError::Unreachable(e.without_url().to_string()))?;
    if response.status().is_server_error() {
        return Err(DiscoveryError::Unreachable(format!(
            "HTTP {}",
            response.status()
        )));
    }
    if !response.status().is_success() {
        return Err(DiscoveryError::Invalid(format!(
            "HTTP {} from {url}",
            response.status()
        )));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| DiscoveryError::Unreachable(e.without_url().to_string()))?;
    let metadata: Metadata = serde_json::from_slice(&body)
        .map_err(|e| DiscoveryError::Invalid(format!("not a discovery document ({e})")))?;
    if &metadata.issuer != issuer {
        return Err(DiscoveryError::Invalid(format!(
            "its issuer `{}` differs from the configured `{issuer}`",
            metadata.issuer
        )));
    }
    let endpoints = [
        Some(&metadata.authorization_endpoint),
        Some(&metadata.token_endpoint),
        Some(&metadata.jwks_uri),
        metadata.end_session_endpoint.as_ref(),
        metadata.revocation_endpoint.as_ref(),
        metadata.userinfo_endpoint.as_ref(),
        metadata.pushed_authorization_request_endpoint.as_ref(),
    ];
    for endpoint in endpoints.into_iter().flatten() {
        if endpoint.scheme() != "https" && !(endpoint.scheme() == "http" && is_loopback(endpoint)) {
            return Err(DiscoveryError::Invalid(format!(
                "endpoint {endpoint} is not https"
            )));
        }
    }
    if !metadata.response_types_supported.is_empty() {
        for response_type in config.oidc.response_types() {
            if !response_type.is_listed_in(&metadata.response_types_supported) {
                // Some OPs (glewlwyd) support more than they list, so this is a warning, not a refusal.
                tracing::warn!(%response_type, "the OP does not list this configured response type");
            }
        }
    }
    if config.oidc.dpop == DpopMode::Required
        && !DpopMode::Auto.applies(metadata.dpop_signing_alg_values_supported.as_deref())
    {
        return Err(DiscoveryError::Invalid(
            "oidc.dpop = \"required\", but its dpop_signing_alg_values_supported does not list ES256".into(),
        ));
    }
    if metadata.userinfo_endpoint.is_none() && config.oidc.userinfo == UserinfoMode::Required {
        // Not a refusal: the OP may add one; until then every sign-in is refused with `userinfo_unavailable`.
        tracing::warn!(
            "oidc.userinfo = \"required\", but the OP's discovery lists no userinfo_endpoint"
        );
    }
    super::compatibility::check(&metadata, config).map_err(DiscoveryError::Invalid)?;
    Ok(metadata)
}

/// The accepted algorithms: the OP's list intersected with the configuration.
pub fn policy(metadata: &Metadata, config: &Config) -> AlgPolicy {
    AlgPolicy::intersect(
        &metadata.id_token_signing_alg_values_supported,
        &config.oidc.allowed_algs,
    )
}

/// Retries discovery while the OP is unreachable, with capped exponential backoff. Gives up only on an
/// unacceptable document, which no retry would fix.
pub async fn discover_with_retry(
    http: &reqwest::Client,
    config: &Config,
) -> Result<Metadata, DiscoveryError> {
    let mut delay = Duration::from_millis(250);
    loop {
        match discover(http, config).await {
            Err(DiscoveryError::Unreachable(why)) => {
                tracing::info!(issuer = %config.oidc.issuer, %why, retry_in_ms = delay.as_millis() as u64, "waiting for the OP");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}
