//! The one test configuration the BFF's unit tests build on, so a new required field is added in one place
//! and each test shows only what it varies.

use super::{Config, ConfigError};

/// A minimal valid configuration, ending inside its `[oidc]` table: `key = value` lines appended to it set
/// more `oidc` fields, and `[section]` headers add sections. The issuer's port is the discard port, so a
/// router built on it never reaches a real OP.
pub(crate) const MINIMAL: &str = r#"
public_origin = "http://localhost:8080"
[oidc]
issuer = "http://127.0.0.1:9"
client_id = "app"
client_secret = "from-file"
redirect_uri = "http://localhost:8080/callback"
"#;

/// One upstream, `demo`, which the configuration tests vary through `BFF_APIS__DEMO__*` overrides.
pub(crate) const API: &str = "[apis.demo]\nurl = \"http://127.0.0.1:4001\"\n";

/// [`MINIMAL`] followed by `more`.
pub(crate) fn text(more: &str) -> String {
    format!("{MINIMAL}{more}")
}

/// The configuration [`text`] gives for `more`, with `BFF_*` overrides.
pub(crate) fn with(more: &str, overrides: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_toml(&text(more), env(overrides))
}

/// The configuration [`text`] gives for `more`, which the test expects to be valid.
pub(crate) fn config(more: &str) -> Config {
    with(more, &[]).expect("the test configuration is valid")
}

/// Environment pairs as the loader takes them.
pub(crate) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
