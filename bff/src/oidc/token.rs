//! Requests to the OP on the user's behalf: the authorization URL, the code exchange, and token revocation.
//! Client authentication is [`super::client_auth`]'s, applied per attempt by [`authenticated_post`].

use super::body::BodyError;
use super::discovery::Metadata;
use super::dpop::{bound_key, Dpop, DpopKey};
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

/// A token endpoint's answer and the DPoP key its access token is bound to (none when it is a Bearer token).
/// Every grant returns one, so the `oidc.dpop` rule on `token_type` ([`bound_key`]) holds for each of them: a
/// token the BFF asked to be bound and relies on being bound is never used as a Bearer token by a path that
/// forgot to check.
pub struct Granted {
    pub tokens: TokenResponse,
    pub dpop_key: Option<DpopKey>,
}

/// Exchanges the code at the token endpoint with the client secret and the PKCE verifier.
pub async fn exchange_code(
    http: &reqwest::Client,
    metadata: &Metadata,
    config: &Config,
    code: &str,
    code_verifier: &str,
    dpop: Option<Dpop<'_>>,
) -> Result<Granted, AppError> {
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
) -> Result<Granted, AppError> {
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
/// The answer's `token_type` is held to `oidc.dpop` here, once for every grant.
async fn token_request(
    http: &reqwest::Client,
    metadata: &Metadata,
    config: &Config,
    mut form: Vec<(&str, &str)>,
    resource: Option<&str>,
    dpop: Option<Dpop<'_>>,
) -> Result<Granted, AppError> {
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
            answer => {
                let tokens = answer?;
                let key = dpop.map(|d| d.key.clone());
                return match bound_key(config.oidc.dpop, key, tokens.token_type) {
                    Ok(dpop_key) => Ok(Granted { tokens, dpop_key }),
                    Err(refused) => {
                        revoke_issued(http, metadata, config, &form, &tokens).await;
                        Err(refused)
                    }
                };
            }
        }
    }
}

/// A grant refused for `oidc.dpop` has still issued tokens, which nothing will use: its refresh token is
/// revoked (RFC 7009) rather than left valid at the OP until it expires, where a stolen copy would mint unbound
/// tokens. Not when it is the very token the grant presented (an OP that does not rotate): that one is still
/// the session's, whose fate is not this grant's to decide.
async fn revoke_issued(
    http: &reqwest::Client,
    metadata: &Metadata,
    config: &Config,
    form: &[(&str, &str)],
    tokens: &TokenResponse,
) {
    let Some(issued) = tokens.refresh_token.as_deref() else {
        return;
    };
    if form.contains(&("refresh_token", issued)) {
        return;
    }
    tracing::info!("revoking the refresh token of a grant refused under oidc.dpop");
    revoke(http, metadata, config, issued).await;
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
        Ok(r) => {
            let status = r.status();
            // Read through (the answer says nothing more), so the connection goes back to the pool.
            let _ = read_capped(r).await;
            if status.is_success() {
                tracing::info!("refresh token revoked");
            } else {
                tracing::warn!(status = status.as_u16(), "refresh token revocation refused");
            }
        }
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
pub(crate) async fn read_capped(response: reqwest::Response) -> Result<Vec<u8>, AppError> {
    super::body::read_capped(response, MAX_TOKEN_RESPONSE_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => ValidationError::MalformedTokenResponse {
                reason: "it is too large".into(),
            }
            .into(),
            BodyError::Failed(e) => AppError::from_op_request(&e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DpopMode;
    use crate::oidc::dpop::DpopNonces;

    /// An OP at `base` with only the endpoints these tests reach.
    fn metadata(base: &str) -> Metadata {
        let url = |path: &str| Url::parse(&format!("{base}{path}")).unwrap();
        Metadata {
            issuer: base.into(),
            authorization_endpoint: url("/auth"),
            token_endpoint: url("/token"),
            jwks_uri: url("/jwks"),
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
        }
    }

    /// The revocation requests an OP of these tests received: `Authorization` header, body.
    type Revocations = std::sync::Arc<std::sync::Mutex<Vec<(Option<String>, String)>>>;

    /// A token endpoint that ignores DPoP (every grant is answered with a Bearer token and the refresh token
    /// `RT2`), and a revocation endpoint that records what it is sent.
    async fn bearer_only_op_recording() -> (String, Revocations) {
        let revocations = Revocations::default();
        let recorded = revocations.clone();
        let app = axum::Router::new()
            .route(
                "/token",
                axum::routing::post(|| async {
                    axum::Json(serde_json::json!({
                        "access_token": "AT",
                        "token_type": "Bearer",
                        "expires_in": 60,
                        "refresh_token": "RT2",
                    }))
                }),
            )
            .route(
                "/revoke",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap, body: String| async move {
                        let authorization = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        recorded.lock().unwrap().push((authorization, body));
                    },
                ),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, revocations)
    }

    async fn bearer_only_op() -> String {
        bearer_only_op_recording().await.0
    }

    #[tokio::test]
    async fn under_dpop_required_every_grant_refuses_a_bearer_answer() {
        let config = crate::config::fixture::config(
            r#"
            dpop = "required"
            [apis.b]
            url = "http://127.0.0.1:4002"
            resource = "urn:b"
            scopes = ["b:read"]
            "#,
        );
        let metadata = metadata(&bearer_only_op().await);
        let http = reqwest::Client::new();
        let (key, nonces) = (DpopKey::generate(), DpopNonces::default());
        let dpop = Some(Dpop {
            key: &key,
            nonces: &nonces,
        });
        let upstream = Some(&config.apis["b"]);
        let refused = |r: Result<Granted, AppError>| matches!(r, Err(AppError::DpopNotBound));
        let exchange = exchange_code(&http, &metadata, &config, "c", "v", dpop).await;
        assert!(refused(exchange), "the code exchange");
        let main = refresh(&http, &metadata, &config, "RT", None, dpop).await;
        assert!(refused(main), "the refresh of the session's token");
        let own = refresh(&http, &metadata, &config, "RT", upstream, dpop).await;
        assert!(refused(own), "the grant of an upstream's own token");
    }

    /// The refused grants' refresh token `RT2` is revoked, with the client's authentication; a refused refresh
    /// that answered the token it presented (no rotation) leaves that token to the session.
    #[tokio::test]
    async fn a_grant_refused_under_dpop_required_has_its_new_refresh_token_revoked() {
        let config = crate::config::fixture::config("dpop = \"required\"\n");
        let (base, revocations) = bearer_only_op_recording().await;
        let mut metadata = metadata(&base);
        metadata.revocation_endpoint = Some(Url::parse(&format!("{base}/revoke")).unwrap());
        let http = reqwest::Client::new();
        let (key, nonces) = (DpopKey::generate(), DpopNonces::default());
        let dpop = Some(Dpop {
            key: &key,
            nonces: &nonces,
        });
        let refused = |r: Result<Granted, AppError>| matches!(r, Err(AppError::DpopNotBound));
        assert!(refused(
            exchange_code(&http, &metadata, &config, "c", "v", dpop).await
        ));
        assert!(refused(
            refresh(&http, &metadata, &config, "RT", None, dpop).await
        ));
        assert!(refused(
            refresh(&http, &metadata, &config, "RT2", None, dpop).await
        ));
        let seen = revocations.lock().unwrap().clone();
        assert_eq!(
            seen.len(),
            2,
            "the exchange's and the rotating refresh's: {seen:?}"
        );
        for (authorization, body) in &seen {
            assert!(
                authorization
                    .as_deref()
                    .is_some_and(|a| a.starts_with("Basic ")),
                "{authorization:?}"
            );
            let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            assert!(form.contains(&("token".into(), "RT2".into())), "{body}");
            assert!(
                form.contains(&("token_type_hint".into(), "refresh_token".into())),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn under_dpop_auto_a_bearer_answer_is_used_unbound() {
        let config = crate::config::fixture::config("dpop = \"auto\"\n");
        assert_eq!(config.oidc.dpop, DpopMode::Auto);
        let metadata = metadata(&bearer_only_op().await);
        let http = reqwest::Client::new();
        let (key, nonces) = (DpopKey::generate(), DpopNonces::default());
        let dpop = Some(Dpop {
            key: &key,
            nonces: &nonces,
        });
        let granted = refresh(&http, &metadata, &config, "RT", None, dpop)
            .await
            .unwrap();
        assert_eq!(granted.tokens.access_token, "AT");
        assert!(
            granted.dpop_key.is_none(),
            "a Bearer token is sent as Bearer"
        );
    }

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
        let metadata = metadata("http://127.0.0.1:9090");
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
