//! Requests to the OP on the user's behalf: the authorization URL, the code exchange, and token revocation.
//! Client authentication is [`super::client_auth`]'s, applied per attempt by [`authenticated_post`].

use super::discovery::Metadata;
use super::dpop::Dpop;
use crate::config::{ApiConfig, Config};
use crate::error::AppError;
use shared::dpop::nonce_demanded;
use shared::token_response::{TokenEndpointError, TokenResponse, MAX_TOKEN_RESPONSE_BYTES};
use shared::{ResponseType, ValidationError};
use url::Url;

/// What the authorization request carries besides the configuration.
pub struct AuthorizationRequest<'a> {
    pub response_type: ResponseType,
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_challenge: &'a str,
    /// The thumbprint of the login's DPoP key (RFC 9449 10), binding the code to it.
    pub dpop_jkt: Option<&'a str>,
}

/// The URL the browser is sent to, carrying the whole request (without PAR; see [`super::par`]).
pub fn authorization_url(
    metadata: &Metadata,
    config: &Config,
    request: &AuthorizationRequest<'_>,
) -> Url {
    let mut url = metadata.authorization_endpoint.clone();
    url.query_pairs_mut()
        .extend_pairs(authorization_params(config, request));
    url
}

/// The authorization request's parameters, for the URL or for a push. `response_mode=fragment` is explicit
/// because some OPs (glewlwyd) default hybrid responses to the query, which would send the tokens to the server
/// in the request line.
pub fn authorization_params<'a>(
    config: &'a Config,
    request: &'a AuthorizationRequest<'_>,
) -> Vec<(&'a str, String)> {
    let oidc = &config.oidc;
    let mut params = vec![
        ("response_type", request.response_type.as_str().to_owned()),
        ("response_mode", "fragment".to_owned()),
        ("client_id", oidc.client_id.clone()),
        ("redirect_uri", oidc.redirect_uri.to_string()),
        ("scope", oidc.scopes.join(" ")),
        ("state", request.state.to_owned()),
        ("nonce", request.nonce.to_owned()),
        ("code_challenge", request.code_challenge.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
    ];
    if let Some(resource) = &oidc.resource {
        params.push(("resource", resource.clone()));
    }
    if let Some(jkt) = request.dpop_jkt {
        params.push(("dpop_jkt", jkt.to_owned()));
    }
    // Upstreams with a resource of their own (RFC 8707 2): the refresh-token grant for their tokens may only
    // name resources granted here.
    for resource in config.upstream_resources() {
        if oidc.resource.as_deref() != Some(resource) {
            params.push(("resource", resource.to_owned()));
        }
    }
    // Validated at load: none of these replaces a parameter set above.
    for (key, value) in &oidc.extra_authorize_params {
        params.push((key, value.clone()));
    }
    params
}

/// Exchanges the code at the token endpoint with the client secret and the PKCE verifier.
pub async fn exchange_code(
    http: &reqwest::Client,
    metadata: &Metadata,
    config: &Config,
    code: &str,
    code_verifier: &str,
    dpop: Option<Dpop<'_>>,
) -> Result<TokenResponse, AppError> {
    let form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", config.oidc.redirect_uri.as_str()),
        ("code_verifier", code_verifier),
    ];
    token_request(
        http,
        metadata,
        config,
        form,
        config.oidc.resource.as_deref(),
        dpop,
    )
    .await
}

/// Redeems a refresh token for fresh tokens (RFC 6749 6): for the same resource as the sign-in, or, with
/// `upstream`, for that upstream's own resource (RFC 8707 3; else the sign-in's) and scopes (else all granted).
pub async fn refresh(
    http: &reqwest::Client,
    metadata: &Metadata,
    config: &Config,
    refresh_token: &str,
    upstream: Option<&ApiConfig>,
    dpop: Option<Dpop<'_>>,
) -> Result<TokenResponse, AppError> {
    let scope = upstream
        .and_then(|api| api.scopes.as_ref())
        .map(|scopes| scopes.join(" "));
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(scope) = &scope {
        form.push(("scope", scope));
    }
    let resource = upstream
        .and_then(|api| api.resource.as_deref())
        .or(config.oidc.resource.as_deref());
    token_request(http, metadata, config, form, resource, dpop).await
}

/// A token-endpoint request for `resource` (RFC 8707), its answer read capped and strictly. With `dpop`, each
/// attempt carries a fresh proof, and an OP that demands a nonce (RFC 9449 8) is asked once more with it: the
/// whole request is rebuilt, since an OP may refuse a proof's (or a client assertion's) `jti` seen before.
async fn token_request(
    http: &reqwest::Client,
    metadata: &Metadata,
    config: &Config,
    mut form: Vec<(&str, &str)>,
    resource: Option<&str>,
    dpop: Option<Dpop<'_>>,
) -> Result<TokenResponse, AppError> {
    if let Some(resource) = resource {
        form.push(("resource", resource));
    }
    let endpoint = &metadata.token_endpoint;
    let mut retried = false;
    loop {
        let proof = dpop
            .map(|d| d.proof("POST", endpoint.as_str(), None))
            .transpose()?;
        let response = authenticated_post(
            http,
            endpoint,
            config,
            metadata,
            form.clone(),
            proof.as_deref(),
        )
        .await?;
        if let Some(d) = dpop {
            d.nonces.learn(endpoint.as_str(), response.headers());
        }
        let ok = response.status().is_success();
        let body = read_capped(response).await?;
        match TokenResponse::parse(ok, &body) {
            Err(TokenEndpointError::OAuth { error, .. })
                if dpop.is_some() && !retried && nonce_demanded(None, Some(&error)) =>
            {
                tracing::info!("the OP asked for a DPoP nonce; asking again with it");
                retried = true;
            }
            answer => return Ok(answer?),
        }
    }
}

/// Revokes a refresh token (RFC 7009) so a stolen copy dies with the session. Best effort: a logout must not
/// fail because the OP is down.
pub async fn revoke(
    http: &reqwest::Client,
    metadata: &Metadata,
    config: &Config,
    refresh_token: &str,
) {
    let Some(endpoint) = &metadata.revocation_endpoint else {
        return;
    };
    let form = vec![
        ("token", refresh_token),
        ("token_type_hint", "refresh_token"),
    ];
    match authenticated_post(http, endpoint, config, metadata, form, None).await {
        Ok(r) if r.status().is_success() => tracing::info!("refresh token revoked"),
        Ok(r) => tracing::warn!(
            status = r.status().as_u16(),
            "refresh token revocation refused"
        ),
        Err(e) => tracing::warn!(error = %e, "refresh token revocation failed"),
    }
}

/// A form POST to an OP endpoint, with the client's authentication made for this attempt.
pub(crate) async fn authenticated_post(
    http: &reqwest::Client,
    endpoint: &Url,
    config: &Config,
    metadata: &Metadata,
    mut form: Vec<(&str, &str)>,
    dpop_proof: Option<&str>,
) -> Result<reqwest::Response, AppError> {
    let mut request = http.post(endpoint.clone());
    if let Some(proof) = dpop_proof {
        request = request.header(shared::dpop::PROOF_HEADER, proof);
    }
    let auth = super::client_auth::for_attempt(config, metadata)?;
    if let Some(authorization) = &auth.authorization {
        request = request.header("authorization", authorization);
    }
    // A pushed authorization request already names `client_id`; sent twice, some OPs refuse the request.
    for (key, value) in &auth.params {
        if !form.contains(&(*key, value.as_str())) {
            form.push((key, value));
        }
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    request
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| AppError::from_op_request(&e))
}

/// The answer's body, refused past `MAX_TOKEN_RESPONSE_BYTES` (an OP endpoint answers a few tokens at most).
pub(crate) async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, AppError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| AppError::from_op_request(&e))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_TOKEN_RESPONSE_BYTES {
            return Err(ValidationError::MalformedTokenResponse {
                reason: "it is too large".into(),
            }
            .into());
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_request_names_every_upstream_resource_once() {
        let config = crate::config::fixture::config(
            r#"
            resource = "urn:main"
            [apis.a]
            url = "http://127.0.0.1:4001"
            [apis.b]
            url = "http://127.0.0.1:4002"
            resource = "urn:b"
            [apis.c]
            url = "http://127.0.0.1:4003"
            resource = "urn:b"
            [apis.d]
            url = "http://127.0.0.1:4004"
            resource = "urn:main"
            scopes = ["api:read"]
            "#,
        );
        let url = |s: &str| Url::parse(s).unwrap();
        let metadata = Metadata {
            issuer: "http://127.0.0.1:9090".into(),
            authorization_endpoint: url("http://127.0.0.1:9090/auth"),
            token_endpoint: url("http://127.0.0.1:9090/token"),
            jwks_uri: url("http://127.0.0.1:9090/jwks"),
            end_session_endpoint: None,
            revocation_endpoint: None,
            userinfo_endpoint: None,
            response_types_supported: Vec::new(),
            id_token_signing_alg_values_supported: Vec::new(),
            authorization_response_iss_parameter_supported: false,
            dpop_signing_alg_values_supported: None,
            token_endpoint_auth_signing_alg_values_supported: Vec::new(),
            pushed_authorization_request_endpoint: None,
            require_pushed_authorization_requests: false,
        };
        let request = AuthorizationRequest {
            response_type: ResponseType::CodeIdToken,
            state: "st",
            nonce: "n",
            code_challenge: "c",
            dpop_jkt: None,
        };
        let url = authorization_url(&metadata, &config, &request);
        let resources: Vec<String> = url
            .query_pairs()
            .filter(|(k, _)| k == "resource")
            .map(|(_, v)| v.into_owned())
            .collect();
        assert_eq!(resources, ["urn:main", "urn:b"]);
    }
}
