//! `oidc.userinfo` and `oidc.userinfo_refresh`: whether the sign-in (and each refresh) reads the OP's userinfo.

use super::super::error::{bad, ConfigError};
use serde::Deserialize;

/// `oidc.userinfo`: whether and how strictly the sign-in reads userinfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserinfoMode {
    /// Read it when the OP offers it; go on without it when it cannot be read.
    #[default]
    Auto,
    /// Read it, and refuse the sign-in when it cannot be (or the OP offers none).
    Required,
    /// Never read it.
    Off,
}

/// Reading userinfo again at refresh needs userinfo read at all.
pub(super) fn check(mode: UserinfoMode, refresh: bool) -> Result<(), ConfigError> {
    if refresh && mode == UserinfoMode::Off {
        return Err(bad(
            "oidc.userinfo_refresh",
            "needs oidc.userinfo = \"auto\" or \"required\" (userinfo is off)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::UserinfoMode;
    use crate::config::fixture::{with, API};

    #[test]
    fn userinfo_defaults_to_auto_and_its_step_fits_in_the_request_deadline() {
        let c = with(API, &[]).unwrap();
        assert_eq!(c.oidc.userinfo, UserinfoMode::Auto);
        assert!(!c.oidc.userinfo_refresh);
        // 45 s for the request, 4 × 10 s before the step: 5 s left for it.
        assert_eq!(c.userinfo_timeout(), std::time::Duration::from_secs(5));
        let c = with(API, &[("BFF_OIDC__HTTP_TIMEOUT_SECS", "1")]).unwrap();
        assert_eq!(c.userinfo_timeout(), std::time::Duration::from_secs(1));
        let c = with(API, &[("BFF_OIDC__USERINFO", "required")]).unwrap();
        assert_eq!(c.oidc.userinfo, UserinfoMode::Required);
        let e = with(API, &[("BFF_OIDC__USERINFO", "sometimes")]).unwrap_err();
        assert_eq!(e.field, "oidc.userinfo", "{e}");
        let e = with(
            API,
            &[
                ("BFF_OIDC__USERINFO", "off"),
                ("BFF_OIDC__USERINFO_REFRESH", "true"),
            ],
        )
        .unwrap_err();
        assert_eq!(e.field, "oidc.userinfo_refresh", "{e}");
    }
}
