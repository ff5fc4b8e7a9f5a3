//! `oidc.dpop`: whether tokens are sender-constrained with DPoP (RFC 9449).

use super::super::error::{bad, ConfigError};
use super::super::ApiConfig;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `oidc.dpop`: whether the session's tokens are bound to a key of the session's own, so a copied access or
/// refresh token is useless without that key (which never leaves the BFF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DpopMode {
    /// Bearer tokens, as the product's design describes: the default, since DPoP is opt-in.
    #[default]
    Off,
    /// DPoP when the OP's discovery lists `dpop_signing_alg_values_supported` with ES256; an OP that still
    /// answers a Bearer token gets a session without a key.
    Auto,
    /// DPoP always: an OP whose discovery does not list ES256 in `dpop_signing_alg_values_supported` is
    /// refused at start, and a token endpoint that answers `token_type: Bearer` refuses the sign-in.
    Required,
}

impl DpopMode {
    /// Whether sessions get a DPoP key, given what the OP's discovery lists (`None`: nothing).
    pub fn applies(self, advertised: Option<&[String]>) -> bool {
        match self {
            DpopMode::Off => false,
            DpopMode::Auto => advertised.is_some_and(|algs| algs.iter().any(|a| a == "ES256")),
            DpopMode::Required => true,
        }
    }
}

/// An API marked `dpop = true` needs sessions with a key: with `oidc.dpop = "off"` it would silently get Bearer
/// tokens, which is not what its operator asked for.
pub fn check_dpop_apis(
    mode: DpopMode,
    apis: &BTreeMap<String, ApiConfig>,
) -> Result<(), ConfigError> {
    let misfit = apis
        .iter()
        .find(|(_, api)| api.dpop && (mode == DpopMode::Off || !api.token));
    match misfit {
        Some((name, _)) => Err(bad(
            &format!("apis.{name}.dpop"),
            "needs oidc.dpop = \"auto\" or \"required\" and token = true",
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::DpopMode;
    use crate::config::fixture::{with, API};

    #[test]
    fn dpop_is_off_by_default_and_auto_follows_discovery() {
        let c = with(API, &[]).unwrap();
        assert_eq!(c.oidc.dpop, DpopMode::Off);
        let c = with(API, &[("BFF_OIDC__DPOP", "auto")]).unwrap();
        assert_eq!(c.oidc.dpop, DpopMode::Auto);
        let e = with(API, &[("BFF_OIDC__DPOP", "sometimes")]).unwrap_err();
        assert_eq!(e.field, "oidc.dpop", "{e}");
        let es256 = vec!["ES256".to_owned()];
        let rs256 = vec!["RS256".to_owned()];
        assert!(DpopMode::Auto.applies(Some(&es256)));
        assert!(!DpopMode::Auto.applies(Some(&rs256)));
        assert!(!DpopMode::Auto.applies(None));
        assert!(DpopMode::Required.applies(None));
        assert!(!DpopMode::Off.applies(Some(&es256)));
    }

    #[test]
    fn an_api_marked_for_dpop_needs_dpop_on() {
        let marked = ("BFF_APIS__DEMO__DPOP", "true");
        let e = with(API, &[marked]).unwrap_err();
        assert_eq!(e.field, "apis.demo.dpop", "{e}");
        assert!(with(API, &[marked, ("BFF_OIDC__DPOP", "auto")]).is_ok());
    }
}
