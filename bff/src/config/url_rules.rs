//! The transport rule every configured URL shares: https, or plain http to this machine for development.

use super::error::{bad, ConfigError};
use url::Url;

/// https everywhere, except plain http on loopback names for development.
pub(super) fn require_https_or_loopback(field: &str, url: &Url) -> Result<(), ConfigError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(bad(
            field,
            "must use https (plain http is only allowed for localhost and 127.0.0.1)",
        )),
        _ => Err(bad(field, "must be an http(s) URL")),
    }
}

/// Whether a URL points at this machine (development setups).
pub fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}
