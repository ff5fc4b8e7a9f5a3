//! Whether this configuration can work with the OP its discovery document describes, decided once at start: a
//! mismatch (PAR turned off at an OP that requires it, a signing key the OP cannot verify) would otherwise
//! refuse every sign-in, so it stops the start instead, naming the setting.

use super::client_auth::assertion_alg;
use super::discovery::Metadata;
use crate::config::Config;

/// `Err` with the operator's words when the configuration and the OP cannot work together.
pub fn check(metadata: &Metadata, config: &Config) -> Result<(), String> {
    uses_par(metadata, config).map_err(str::to_owned)?;
    if let Some(Err(e)) = assertion_alg(config, metadata) {
        return Err(format!("oidc.client_keys: {e}"));
    }
    Ok(())
}

/// Whether a login pushes its authorization request (`oidc.par` with what discovery says).
pub fn uses_par(metadata: &Metadata, config: &Config) -> Result<bool, &'static str> {
    config.oidc.par.decide(
        metadata.pushed_authorization_request_endpoint.is_some(),
        metadata.require_pushed_authorization_requests,
    )
}
