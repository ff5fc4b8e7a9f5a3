//! How this client authenticates at the OP's token endpoint, and the credentials that takes. A new method (a
//! signed client assertion, say) adds its variant here and its credential rule beside [`check`].

use super::super::error::{bad, ConfigError};
use super::super::secret::Secret;
use serde::Deserialize;

/// How the client authenticates at the token endpoint (`oidc.auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
}

/// The client's identifier and the secret both methods send.
pub(super) fn check(client_id: &str, client_secret: &Secret) -> Result<(), ConfigError> {
    if client_id.trim().is_empty() {
        return Err(bad("oidc.client_id", "must not be empty"));
    }
    if client_secret.expose().is_empty() {
        return Err(bad(
            "oidc.client_secret",
            "must not be empty (set BFF_OIDC__CLIENT_SECRET)",
        ));
    }
    Ok(())
}
