//! What the configuration adds to the authorization request, and what it may not touch.

use super::super::error::{bad, ConfigError};
use std::collections::BTreeMap;

/// The authorization request parameters the BFF sets itself, which `oidc.extra_authorize_params` may not carry.
pub const RESERVED_AUTHORIZE_PARAMS: [&str; 10] = [
    "response_type",
    "response_mode",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "resource",
];

/// `oidc.extra_authorize_params` adds to the request and never replaces what the BFF sets.
pub(super) fn check_extra_params(params: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    if let Some(key) = params
        .keys()
        .find(|k| RESERVED_AUTHORIZE_PARAMS.contains(&k.as_str()))
    {
        return Err(bad(
            "oidc.extra_authorize_params",
            format!("`{key}` is set by the BFF itself (use the dedicated setting)"),
        ));
    }
    Ok(())
}
