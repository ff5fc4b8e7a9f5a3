//! Configuration: a TOML file, then `BFF_*` environment overrides ([`source`]), then validation that names the
//! bad field.
//!
//! A file per section of the TOML, each section's struct with the rules for its own fields beside them; lists
//! of names are read into their types as the file is read ([`parse`]). This file holds the whole and the rules
//! that span sections.

mod apis;
mod dev;
mod error;
#[cfg(test)]
pub(crate) mod fixture;
mod log_format;
mod oidc;
mod parse;
mod secret;
mod server;
mod session;
mod source;
mod url_rules;

pub use apis::ApiConfig;
pub use dev::DEV_CONFIG_PATH;
pub use error::ConfigError;
pub use log_format::LogFormat;
pub use oidc::{
    AuthMethod, ClientKeys, DpopMode, OidcConfig, ParMode, SigningKey, UserinfoMode,
    RESERVED_AUTHORIZE_PARAMS,
};
pub use secret::Secret;
pub use server::{ServerConfig, OP_CALLS_PER_BFF_REQUEST};
pub use session::{SessionConfig, StoreKind};
pub use url_rules::is_loopback;

use error::bad;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use url::Url;

/// The whole BFF configuration, validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the BFF listens.
    #[serde(default = "server::default_listen")]
    pub listen: SocketAddr,
    /// The origin browsers use to reach the SPA and the BFF (same origin). Decides whether cookies are
    /// `Secure` with the `__Host-` prefix (https) or plain (http, allowed for localhost development only).
    pub public_origin: Url,
    /// Serve the built SPA (`trunk build` output) from here, for single-binary deployments and tests.
    #[serde(default)]
    pub static_dir: Option<PathBuf>,
    pub oidc: OidcConfig,
    #[serde(default)]
    pub session: SessionConfig,
    /// Upstream APIs reachable at `/api/<name>/...`.
    #[serde(default)]
    pub apis: BTreeMap<String, ApiConfig>,
    /// How log lines are written: `text` (default, for people) or `json` (one object per line, for collectors).
    #[serde(default)]
    pub log_format: LogFormat,
    /// A second listen address for `/metrics`, `/healthz` and `/readyz` (e.g. `127.0.0.1:9100`), so scrapes
    /// never share the port browsers reach. When set, `/metrics` is 404 on `listen`; when not, see
    /// [`Config::metrics_on_main_listener`].
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// Connection and request time limits of the BFF's own HTTP server.
    #[serde(default)]
    pub server: ServerConfig,
}

impl Config {
    /// Each section's rules, then the rules between sections. The order decides which of several problems is
    /// reported, so it stays the order operators have seen.
    fn validate(&self) -> Result<(), ConfigError> {
        self.oidc.validate()?;
        url_rules::require_https_or_loopback("public_origin", &self.public_origin)?;
        dev::refuse_development_secrets(self)?;
        self.server.validate(self.oidc.http_timeout_secs)?;
        server::check_metrics_listen(self.listen, self.metrics_listen)?;
        self.session.validate()?;
        for (name, api) in &self.apis {
            api.validate(name)?;
        }
        oidc::check_dpop_apis(self.oidc.dpop, &self.apis)?;
        self.check_login_resource()
    }

    /// The code exchange asks for one access token: with several upstream resources granted and none named
    /// for the login's own token, OPs such as node-oidc-provider refuse the exchange (which resource?), and
    /// every login would fail at the last step. Refuse the configuration instead.
    fn check_login_resource(&self) -> Result<(), ConfigError> {
        let upstream = self.upstream_resources();
        if self.oidc.resource.is_none() && upstream.len() > 1 {
            return Err(bad(
                "oidc.resource",
                format!(
                    "must be set when APIs name several resources ({}): it is the resource of the login's own access token",
                    upstream.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Whether `/metrics` is answered on `listen`. Not when `metrics_listen` is set (it is answered there), and
    /// not when the BFF serves the SPA itself (`static_dir`): then `listen` is the port browsers reach, with no
    /// reverse proxy in front to keep the path internal, so metrics need `metrics_listen`. Otherwise (the BFF
    /// behind a reverse proxy that routes only `/bff`, `/api` and the SPA) it stays on `listen`.
    pub fn metrics_on_main_listener(&self) -> bool {
        self.metrics_listen.is_none() && self.static_dir.is_none()
    }

    /// How long the sign-in's userinfo step (the request and, for a signed answer, a key-set refetch) may take:
    /// `oidc.http_timeout_secs`, but no more than what `server.request_timeout_secs` leaves after the
    /// [`OP_CALLS_PER_BFF_REQUEST`] calls before it (at least 1 s, as validation guarantees). So adding the step
    /// changed no existing timeout setting, and a slow userinfo cannot push a sign-in past its own deadline
    /// unless every earlier call used up its whole time too.
    pub fn userinfo_timeout(&self) -> std::time::Duration {
        let http = self.oidc.http_timeout_secs;
        let left = self
            .server
            .request_timeout_secs
            .saturating_sub(OP_CALLS_PER_BFF_REQUEST.saturating_mul(http));
        std::time::Duration::from_secs(http.min(left).max(1))
    }

    /// Whether cookies can be `Secure` + `__Host-` (the browser-facing origin is https).
    pub fn secure_cookies(&self) -> bool {
        self.public_origin.scheme() == "https"
    }
}

/// serde's `default` for the settings that are on unless turned off.
fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::fixture::{with, API};
    use super::StoreKind;

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("BFF_OIDC__ISSUER", "http://op.example.com", "oidc.issuer"),
            ("BFF_OIDC__RESPONSE_TYPE", "code", "oidc.response_type"),
            ("BFF_OIDC__ALLOWED_ALGS", "[\"HS256\"]", "oidc.allowed_algs"),
            ("BFF_OIDC__SCOPES", "[\"profile\"]", "oidc.scopes"),
            ("BFF_OIDC__LEEWAY_SECS", "\"soon\"", "oidc.leeway_secs"),
            ("BFF_APIS__DEMO__URL", "not a url", "apis.demo.url"),
            ("BFF_APIS__DEMO__RESOURCE", "\"\"", "apis.demo.resource"),
            ("BFF_APIS__DEMO__SCOPES", "[]", "apis.demo.scopes"),
            ("BFF_APIS__DEMO__SCOPES", "[\"\"]", "apis.demo.scopes"),
            ("BFF_APIS__DEMO__SCOPES", "[\"a b\"]", "apis.demo.scopes"),
            ("BFF_OIDC__CLIENT_SECRET", "\"\"", "oidc.client_secret"),
            (
                "BFF_OIDC__EXTRA_AUTHORIZE_PARAMS",
                "{ nonce = \"fixed\" }",
                "oidc.extra_authorize_params",
            ),
        ];
        for (key, value, field) in cases {
            let e = with(API, &[(key, value)]).unwrap_err();
            assert_eq!(e.field, field, "{key}={value}: {e}");
        }
        let e = with(API, &[("BFF_OIDC__ALLOWED_ALGS", "[\"RS256\", \"HS256\"]")]).unwrap_err();
        assert_eq!(e.message, "`HS256` is not a supported algorithm", "{e}");
        let two_resources = format!(
            "{API}resource = \"urn:a\"\n[apis.other]\nurl = \"http://127.0.0.1:4002\"\nresource = \"urn:b\"\n"
        );
        let e = with(&two_resources, &[]).unwrap_err();
        assert_eq!(e.field, "oidc.resource", "{e}");
        assert!(e.to_string().contains("urn:a, urn:b"), "{e}");
        with(&two_resources, &[("BFF_OIDC__RESOURCE", "urn:a")]).unwrap();
        let key = "BFF_SESSION__KEYS";
        let good = "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]";
        let session_cases: [&[(&str, &str)]; 5] = [
            &[("BFF_SESSION__STORE", "redis"), (key, good)],
            &[("BFF_SESSION__STORE", "sqlite"), (key, good)],
            &[
                ("BFF_SESSION__STORE", "sqlite"),
                ("BFF_SESSION__SQLITE_PATH", "x.db"),
            ],
            &[(key, "[\"c2hvcnQ=\"]")],
            &[("BFF_SESSION__STORE", "disk")],
        ];
        let fields = [
            "session.redis_url",
            "session.sqlite_path",
            "session.keys",
            "session.keys",
            "session.store",
        ];
        for (pairs, field) in session_cases.iter().zip(fields) {
            let e = with(API, pairs).unwrap_err();
            assert_eq!(e.field, field, "{pairs:?}: {e}");
            assert!(!e.to_string().contains("c2hvcnQ"), "{e}");
        }
        let c = with(
            API,
            &[
                ("BFF_SESSION__STORE", "redis"),
                ("BFF_SESSION__REDIS_URL", "redis://127.0.0.1:6379/0"),
                (key, good),
            ],
        )
        .unwrap();
        assert_eq!(c.session.store, StoreKind::Redis);
        assert_eq!(c.session.redis_prefix, "bff:");
        assert!(!format!("{c:?}").contains("AAAA"));
        let e =
            super::Config::from_toml("public_origin = 1", super::fixture::env(&[])).unwrap_err();
        assert_eq!(e.field, "public_origin");
    }
}
