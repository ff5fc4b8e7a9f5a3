//! Client authentication for one request to the OP (token, PAR, revocation endpoints), made afresh for every
//! attempt: a signed assertion is single-use (the OP remembers its `jti`), so a retried request signs again.
//! The client secret and the signing key are read from exactly here.

use super::discovery::Metadata;
use crate::config::{AuthMethod, Config, SigningKey};
use crate::error::AppError;
use crate::session::{now, random_token};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use shared::client_assertion::{signing_alg, AssertionClaims, NoCommonAlg, ASSERTION_TYPE};

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

/// A fresh client assertion (RFC 7523 2.2): new `jti`, a minute to live, audience the OP's issuer; signed with
/// the key ring parsed when the configuration was read.
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
    let header = AssertionHeader {
        alg: alg.name(),
        kid: &key.kid,
        typ: "JWT",
    };
    let input = super::jws::signing_input(&header, &claims);
    let signature = key.signer.sign(alg, input.as_bytes()).map_err(|e| {
        tracing::error!(error = %e, "signing the client assertion failed");
        AppError::ClientAuthUnavailable
    })?;
    Ok(super::jws::compact(&input, &signature))
}

/// A client assertion's JOSE header: the key's `kid`, so an OP holding several of the client's keys (during a
/// rotation) picks the right one.
#[derive(Serialize)]
struct AssertionHeader<'a> {
    alg: &'static str,
    kid: &'a str,
    typ: &'static str,
}

fn form_urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    use shared::jose::public_jwk::PublicJwk;

    fn assertion_of(auth: &ClientAuth) -> &str {
        let (_, assertion) = auth
            .params
            .iter()
            .find(|(k, _)| *k == "client_assertion")
            .expect("an assertion");
        assertion
    }

    fn claims(auth: &ClientAuth) -> serde_json::Value {
        let payload = assertion_of(auth).split('.').nth(1).unwrap();
        serde_json::from_slice(&shared::jose::b64url_decode(payload).unwrap()).unwrap()
    }

    fn p256_pem() -> String {
        p256::SecretKey::random(&mut rand::thread_rng())
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap()
            .to_string()
    }

    /// A `private_key_jwt` configuration signing with the key `pem`.
    fn config_signing_with(pem: &str) -> Config {
        crate::config::fixture::with(
            "auth_method = \"private_key_jwt\"",
            &[("BFF_OIDC__CLIENT_KEYS", pem)],
        )
        .unwrap()
    }

    /// An OP that accepts client assertions signed with `algs`.
    fn op_accepting(algs: &[&str]) -> Metadata {
        serde_json::from_value(serde_json::json!({
            "issuer": "http://127.0.0.1:9",
            "authorization_endpoint": "http://127.0.0.1:9/auth",
            "token_endpoint": "http://127.0.0.1:9/token",
            "jwks_uri": "http://127.0.0.1:9/jwks",
            "token_endpoint_auth_signing_alg_values_supported": algs,
        }))
        .unwrap()
    }

    /// Each attempt signs anew (a retry must not reuse a `jti` the OP has seen), for the OP's issuer only.
    #[test]
    fn every_attempt_signs_a_new_assertion_for_the_issuer() {
        let config = config_signing_with(&p256_pem());
        let metadata = op_accepting(&["RS256", "ES256"]);
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

    /// An OP verifies the assertion with the published key under the algorithm it accepts, and the header
    /// names the key (`kid`) and the token's type.
    fn verifies_at_op(pem: &str, alg: Algorithm) {
        let config = config_signing_with(pem);
        let key = config.oidc.client_keys.signing().unwrap();
        let auth = for_attempt(&config, &op_accepting(&[&format!("{alg:?}")])).unwrap();
        let assertion = assertion_of(&auth);
        let header = jsonwebtoken::decode_header(assertion).unwrap();
        assert_eq!(header.alg, alg);
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let decoding = match &key.public {
            PublicJwk::Rsa { n, e } => DecodingKey::from_rsa_components(n, e).unwrap(),
            PublicJwk::Ec { x, y, .. } => DecodingKey::from_ec_components(x, y).unwrap(),
        };
        let mut validation = Validation::new(alg);
        validation.set_audience(&["http://127.0.0.1:9"]);
        let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &decoding, &validation)
            .expect("the published key verifies the assertion")
            .claims;
        assert_eq!(claims.iss, "app");
    }

    #[test]
    fn a_p256_key_signs_es256_assertions_the_op_verifies() {
        verifies_at_op(&p256_pem(), Algorithm::ES256);
    }

    #[test]
    fn an_rsa_key_signs_rs256_and_ps256_assertions_the_op_verifies() {
        let pem = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
            .unwrap()
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap()
            .to_string();
        verifies_at_op(&pem, Algorithm::RS256);
        verifies_at_op(&pem, Algorithm::PS256);
    }
}
