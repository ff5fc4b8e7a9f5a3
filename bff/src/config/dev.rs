//! The development configuration: what the BFF loads when given no file, and the rule that keeps its public
//! secrets off any deployment that is not this machine.

use super::error::{bad, ConfigError};
use super::url_rules::is_loopback;
use super::Config;

/// The development configuration, relative to the repository root: what `hybrid-bff` loads when given no file.
pub const DEV_CONFIG_PATH: &str = "bff/config/dev.toml";

/// The development configuration's text, built in so its public secrets are known from the file itself and never
/// copied.
const DEV_CONFIG: &str = include_str!("../../config/dev.toml");

/// The client secret and session keys of [`DEV_CONFIG`].
fn development_secrets() -> &'static (String, Vec<String>) {
    static SECRETS: std::sync::OnceLock<(String, Vec<String>)> = std::sync::OnceLock::new();
    SECRETS.get_or_init(|| {
        let table: toml::Table = DEV_CONFIG.parse().unwrap_or_default();
        let secret = table
            .get("oidc")
            .and_then(|o| o.get("client_secret"))
            .and_then(toml::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let keys = table
            .get("session")
            .and_then(|s| s.get("keys"))
            .and_then(toml::Value::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        (secret, keys)
    })
}

/// The development configuration's client secret and session key are public (they are in this repository):
/// accepted only while the BFF serves this machine (`public_origin` on loopback).
pub(super) fn refuse_development_secrets(config: &Config) -> Result<(), ConfigError> {
    if is_loopback(&config.public_origin) {
        return Ok(());
    }
    let (dev_secret, dev_keys) = development_secrets();
    if config.oidc.client_secret.expose() == dev_secret {
        return Err(bad(
            "oidc.client_secret",
            format!(
                "is the public development secret of {DEV_CONFIG_PATH}, refused with a public_origin other than \
                 localhost: set this client's own secret (BFF_OIDC__CLIENT_SECRET)"
            ),
        ));
    }
    if config
        .session
        .keys
        .iter()
        .any(|k| dev_keys.iter().any(|d| d == k.expose()))
    {
        return Err(bad(
            "session.keys",
            format!(
                "holds the public development key of {DEV_CONFIG_PATH}, refused with a public_origin other than \
                 localhost: set this deployment's own (BFF_SESSION__KEYS='[\"<head -c32 /dev/urandom | base64>\"]')"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{development_secrets, DEV_CONFIG_PATH};
    use crate::config::fixture::env;
    use crate::config::{Config, StoreKind};
    use std::path::{Path, PathBuf};

    fn dev_toml() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/dev.toml")
    }

    #[test]
    fn the_dev_config_is_valid_and_its_key_opens_a_keyring() {
        let c = Config::load(&dev_toml(), env(&[])).unwrap();
        assert_eq!(c.session.store, StoreKind::Memory);
        assert_eq!(c.session.keys.len(), 1);
    }

    #[test]
    fn development_secrets_are_refused_off_loopback() {
        let (secret, keys) = development_secrets();
        assert!(
            !secret.is_empty() && !keys.is_empty(),
            "read from {DEV_CONFIG_PATH}"
        );
        let path = dev_toml();
        let public = ("BFF_PUBLIC_ORIGIN", "https://app.example.com");
        let e = Config::load(&path, env(&[public])).unwrap_err();
        assert_eq!(e.field, "oidc.client_secret", "{e}");
        assert!(e.message.contains("BFF_OIDC__CLIENT_SECRET"), "{e}");
        assert!(!e.to_string().contains(secret.as_str()), "{e}");
        let own_secret = ("BFF_OIDC__CLIENT_SECRET", "this-deployments-own");
        let e = Config::load(&path, env(&[public, own_secret])).unwrap_err();
        assert_eq!(e.field, "session.keys", "{e}");
        assert!(!e.to_string().contains(keys[0].as_str()), "{e}");
        let own_key = (
            "BFF_SESSION__KEYS",
            "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]",
        );
        Config::load(&path, env(&[public, own_secret, own_key])).unwrap();
        // The dev key among rotated keys is refused too.
        let rotated = format!(
            "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", \"{}\"]",
            keys[0]
        );
        let pairs = env(&[public, own_secret, ("BFF_SESSION__KEYS", &rotated)]);
        assert_eq!(
            Config::load(&path, pairs).unwrap_err().field,
            "session.keys"
        );
        // On loopback (development, also over https) the dev file is fine.
        Config::load(&path, env(&[])).unwrap();
        Config::load(
            &path,
            env(&[("BFF_PUBLIC_ORIGIN", "https://localhost:8443")]),
        )
        .unwrap();
    }
}
