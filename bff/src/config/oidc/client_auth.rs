//! How this client authenticates at the OP's token endpoint, and the credentials that takes. A new method adds
//! its variant here and its credential rule beside [`check`].

use super::super::error::{bad, ConfigError};
use super::super::secret::Secret;
use super::client_keys::ClientKeys;
use serde::Deserialize;

/// How the client authenticates at the token endpoint (`oidc.auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
    /// A JWT signed with one of `oidc.client_keys` (RFC 7523 2.2): no shared secret crosses the wire, and a
    /// captured assertion expires within a minute and cannot be replayed (the OP refuses a reused `jti`).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The method's registered name (RFC 8414 `token_endpoint_auth_methods_supported`), as the setting spells it.
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// The client's identifier, and the credential its method takes: the secret for both secret methods, a
/// signing key for `private_key_jwt`.
pub(super) fn check(
    client_id: &str,
    method: AuthMethod,
    client_secret: &Secret,
    client_keys: &ClientKeys,
) -> Result<(), ConfigError> {
    if client_id.trim().is_empty() {
        return Err(bad("oidc.client_id", "must not be empty"));
    }
    if method == AuthMethod::PrivateKeyJwt {
        if client_keys.is_empty() {
            return Err(bad(
                "oidc.client_keys",
                "must hold a private key (PEM or JWK) when oidc.auth_method = \"private_key_jwt\" (set BFF_OIDC__CLIENT_KEYS)",
            ));
        }
        return Ok(());
    }
    if client_secret.expose().is_empty() {
        return Err(bad(
            "oidc.client_secret",
            "must not be empty (set BFF_OIDC__CLIENT_SECRET)",
        ));
    }
    Ok(())
}
