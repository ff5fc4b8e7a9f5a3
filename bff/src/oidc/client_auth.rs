//! Client authentication for one request to the OP (token, PAR, revocation endpoints), made afresh for every
//! attempt: a signed assertion is single-use (the OP remembers its `jti`), so a retried request signs again.
//! The client secret and the signing key are read from exactly here.

use super::discovery::Metadata;
use crate::config::{AuthMethod, Config, SigningKey};
use crate::error::AppError;
use crate::session::{now, random_token};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::Algorithm;
use shared::client_assertion::{signing_alg, AssertionClaims, NoCommonAlg, ASSERTION_TYPE};
use shared::jose::alg::Alg;

/// What one request attempt carries to authenticate the client: an `Authorization` header or form parameters.
pub struct ClientAuth {
    pub authorization: Option<String>,
    pub params: Vec<(&'static str, String)>,
}

/// The client authentication of the configured method, for one attempt at one request.
pub fn for_attempt(config: &Config, metadata: &Metadata) -> Result<ClientAuth, AppError> {
    let oidc = &config.oidc;
    Ok(match oidc.auth_method {
        AuthMethod::ClientSecretBasic => {
            // RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
            let user = form_urlencode(&oidc.client_id);
            let pass = form_urlencode(oidc.client_secret.expose());
            ClientAuth {
                authorization: Some(format!(
                    "Basic {}",
                    STANDARD.encode(format!("{user}:{pass}"))
                )),
                params: Vec::new(),
            }
        }
        AuthMethod::ClientSecretPost => ClientAuth {
            authorization: None,
            params: vec![
                ("client_id", oidc.client_id.clone()),
                ("client_secret", oidc.client_secret.expose().to_owned()),
            ],
        },
        AuthMethod::PrivateKeyJwt => {
            let key = oidc
                .client_keys
                .signing()
                .ok_or(AppError::ClientAuthUnavailable)?;
            ClientAuth {
                authorization: None,
                params: vec![
                    ("client_id", oidc.client_id.clone()),
                    ("client_assertion_type", ASSERTION_TYPE.to_owned()),
                    ("client_assertion", assertion(config, metadata, key)?),
                ],
            }
        }
    })
}

/// The algorithm client assertions are signed with at this OP, checked once at discovery so a key the OP cannot
/// verify stops the start instead of every sign-in.
pub fn assertion_alg(
    config: &Config,
    metadata: &Metadata,
) -> Option<Result<shared::jose::alg::Alg, NoCommonAlg>> {
    let key = config.oidc.client_keys.signing()?;
    (config.oidc.auth_method == AuthMethod::PrivateKeyJwt).then(|| {
        signing_alg(
            key.family,
            &metadata.token_endpoint_auth_signing_alg_values_supported,
        )
    })
}

/// A fresh client assertion (RFC 7523 2.2): new `jti`, a minute to live, audience the OP's issuer.
fn assertion(config: &Config, metadata: &Metadata, key: &SigningKey) -> Result<String, AppError> {
    let alg = signing_alg(
        key.family,
        &metadata.token_endpoint_auth_signing_alg_values_supported,
    )
    .map_err(|_| AppError::ClientAuthUnavailable)?;
    let claims = AssertionClaims::new(
        &config.oidc.client_id,
        &metadata.issuer,
        random_token(),
        now(),
    );
    let mut header = jsonwebtoken::Header::new(algorithm(alg));
    header.kid = Some(key.kid.clone());
    header.typ = Some("JWT".into());
    jsonwebtoken::encode(&header, &claims, &key.encoding).map_err(|e| {
        tracing::error!(kind = ?e.kind(), "signing the client assertion failed");
        AppError::ClientAuthUnavailable
    })
}

fn form_urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// jsonwebtoken's name for `alg`, which signs the client assertions.
fn algorithm(alg: Alg) -> Algorithm {
    match alg {
        Alg::RS256 => Algorithm::RS256,
        Alg::RS384 => Algorithm::RS384,
        Alg::RS512 => Algorithm::RS512,
        Alg::PS256 => Algorithm::PS256,
        Alg::PS384 => Algorithm::PS384,
        Alg::PS512 => Algorithm::PS512,
        Alg::ES256 => Algorithm::ES256,
        Alg::ES384 => Algorithm::ES384,
        Alg::EdDSA => Algorithm::EdDSA,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::{EncodePrivateKey, LineEnding};

    fn claims(auth: &ClientAuth) -> serde_json::Value {
        let (_, assertion) = auth
            .params
            .iter()
            .find(|(k, _)| *k == "client_assertion")
            .expect("an assertion");
        let payload = assertion.split('.').nth(1).unwrap();
        serde_json::from_slice(&shared::jose::b64url_decode(payload).unwrap()).unwrap()
    }

    /// Each attempt signs anew (a retry must not reuse a `jti` the OP has seen), for the OP's issuer only.
    #[test]
    fn every_attempt_signs_a_new_assertion_for_the_issuer() {
        let key = p256::SecretKey::random(&mut rand::thread_rng())
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap();
        let config = crate::config::fixture::with(
            "auth_method = \"private_key_jwt\"",
            &[("BFF_OIDC__CLIENT_KEYS", key.as_str())],
        )
        .unwrap();
        let metadata: Metadata = serde_json::from_value(serde_json::json!({
            "issuer": "http://127.0.0.1:9",
            "authorization_endpoint": "http://127.0.0.1:9/auth",
            "token_endpoint": "http://127.0.0.1:9/token",
            "jwks_uri": "http://127.0.0.1:9/jwks",
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        }))
        .unwrap();
        let first = for_attempt(&config, &metadata).unwrap();
        let second = for_attempt(&config, &metadata).unwrap();
        assert!(first.authorization.is_none());
        let (a, b) = (claims(&first), claims(&second));
        assert_ne!(a["jti"], b["jti"]);
        assert_eq!(a["aud"], "http://127.0.0.1:9", "the issuer, one string");
        assert_eq!(a["iss"], "app");
        assert_eq!(a["sub"], "app");
        assert_eq!(a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(), 60);
        assert!(first
            .params
            .contains(&("client_assertion_type", ASSERTION_TYPE.to_owned())));
    }
}
