//! `oidc.par`: whether a login pushes its authorization request to the OP first (RFC 9126).

use serde::Deserialize;

/// Whether logins use pushed authorization requests.
///
/// Pushed, the request's parameters go from the BFF to the OP over an authenticated back channel, and the
/// browser carries only `client_id` and an opaque, short-lived `request_uri`: the parameters cannot be read or
/// altered in the address bar, history or logs, and the OP knows the request came from this client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ParMode {
    /// Push when the OP's discovery lists a `pushed_authorization_request_endpoint` (and always when it says
    /// `require_pushed_authorization_requests`).
    #[default]
    Auto,
    /// Always push; an OP without a PAR endpoint is refused at start.
    Required,
    /// Never push; an OP that requires PAR is refused at start.
    Off,
}

impl ParMode {
    /// Whether to push, given what discovery says; `Err` with the reason when the two cannot work together.
    pub fn decide(self, has_endpoint: bool, op_requires: bool) -> Result<bool, &'static str> {
        match self {
            ParMode::Off if op_requires => Err(
                "oidc.par = \"off\", but the OP requires pushed authorization requests (require_pushed_authorization_requests); set oidc.par = \"auto\"",
            ),
            ParMode::Off => Ok(false),
            _ if has_endpoint => Ok(true),
            ParMode::Required => Err(
                "oidc.par = \"required\", but the OP's discovery document lists no pushed_authorization_request_endpoint",
            ),
            ParMode::Auto if op_requires => Err(
                "the OP requires pushed authorization requests, but its discovery document lists no pushed_authorization_request_endpoint",
            ),
            ParMode::Auto => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ParMode::*;

    #[test]
    fn the_mode_and_discovery_decide_together() {
        assert_eq!(Auto.decide(true, false), Ok(true));
        assert_eq!(Auto.decide(false, false), Ok(false));
        assert_eq!(Auto.decide(true, true), Ok(true));
        assert!(Auto.decide(false, true).is_err());
        assert_eq!(Required.decide(true, false), Ok(true));
        assert!(Required.decide(false, false).is_err());
        assert_eq!(Off.decide(true, false), Ok(false));
        assert_eq!(Off.decide(false, false), Ok(false));
        let refusal = Off.decide(true, true).unwrap_err();
        assert!(refusal.contains("oidc.par"), "{refusal}");
    }
}
