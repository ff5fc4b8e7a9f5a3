//! `[session]`: session and login lifetimes, and where sessions are stored.

use super::error::{bad, ConfigError};
use super::secret::Secret;
use serde::Deserialize;
use std::path::PathBuf;
use url::Url;

/// Session and login-transaction lifetimes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    #[serde(default = "default_idle")]
    pub idle_timeout_secs: i64,
    #[serde(default = "default_absolute")]
    pub absolute_timeout_secs: i64,
    /// How long a started login may take at the OP.
    #[serde(default = "default_login_timeout")]
    pub login_timeout_secs: i64,
    /// Refresh the access token when it has less than this many seconds left, so no API call carries a token
    /// that expires in flight.
    #[serde(default = "default_refresh_margin")]
    pub refresh_margin_secs: i64,
    /// Where sessions live: `memory` (default, one process), `sqlite` (one machine, survives a restart) or
    /// `redis` (shared by replicas).
    #[serde(default)]
    pub store: StoreKind,
    /// The SQLite database file (`store = "sqlite"`).
    #[serde(default)]
    pub sqlite_path: Option<PathBuf>,
    /// `redis://host:port/db` (`store = "redis"`, one server).
    #[serde(default)]
    pub redis_url: Option<Secret>,
    /// Seed nodes of a Redis Cluster, `["redis://host:port", ...]` (`store = "redis"`, instead of
    /// `redis_url`): any reachable one finds the rest, so list more than one. Every key then shares one hash
    /// tag made from `redis_prefix`, so the store's transactions stay on one slot.
    #[serde(default)]
    pub redis_cluster: Vec<Secret>,
    /// PEM file of the CA that signed the Redis server's certificate, for `rediss://` with a private CA (without it
    /// the system's trusted roots decide).
    #[serde(default)]
    pub redis_ca_file: Option<PathBuf>,
    /// Prefix of every Redis key, so deployments can share a Redis database.
    #[serde(default = "default_redis_prefix")]
    pub redis_prefix: String,
    /// Keep sessions read from Redis in the process while every replica's writes are heard invalidating them
    /// (`store = "redis"`): most API calls then skip a Redis round trip, and a logout on any replica still
    /// ends the session on all before it answers (see `session::redis_cache`). On by default; give every
    /// replica the same setting (one without it publishes invalidations but does not wait for them).
    #[serde(default = "super::default_true")]
    pub redis_cache: bool,
    /// Base64 32-byte keys sealing sessions at rest (SQLite, Redis): the first seals, all open (rotation).
    /// Set them from the environment: `BFF_SESSION__KEYS='["..."]'`.
    #[serde(default)]
    pub keys: Vec<Secret>,
    /// Deprecated and ignored (any value): it bounded the pending logins the store kept, and a login start
    /// stores nothing now. Still accepted, with a warning at start, so an existing configuration keeps working
    /// (unknown fields are refused).
    #[serde(default)]
    pub max_pending_logins: Option<serde::de::IgnoredAny>,
}

/// The session store implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    #[default]
    Memory,
    Sqlite,
    Redis,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_timeout_secs: default_idle(),
            absolute_timeout_secs: default_absolute(),
            login_timeout_secs: default_login_timeout(),
            refresh_margin_secs: default_refresh_margin(),
            store: StoreKind::default(),
            sqlite_path: None,
            redis_url: None,
            redis_cluster: Vec::new(),
            redis_ca_file: None,
            redis_prefix: default_redis_prefix(),
            redis_cache: true,
            keys: Vec::new(),
            max_pending_logins: None,
        }
    }
}

impl SessionConfig {
    /// The lifetimes, the keys, and the settings the chosen store needs.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.check_lifetimes()?;
        self.check_keys()?;
        match self.store {
            StoreKind::Memory => Ok(()),
            StoreKind::Sqlite => self.check_sqlite(),
            StoreKind::Redis if !self.redis_cluster.is_empty() => self.check_redis_cluster(),
            StoreKind::Redis => self.check_redis(),
        }
    }

    fn check_lifetimes(&self) -> Result<(), ConfigError> {
        if self.idle_timeout_secs <= 0 || self.absolute_timeout_secs < self.idle_timeout_secs {
            return Err(bad(
                "session",
                "idle_timeout_secs must be positive and at most absolute_timeout_secs",
            ));
        }
        if self.login_timeout_secs <= 0 {
            return Err(bad("session.login_timeout_secs", "must be positive"));
        }
        if self.refresh_margin_secs < 0 {
            return Err(bad("session.refresh_margin_secs", "must not be negative"));
        }
        Ok(())
    }

    /// Keys, when given or needed, must open a keyring (the same check the store makes at start, so a bad key
    /// is refused before anything is served). The message never quotes a key.
    fn check_keys(&self) -> Result<(), ConfigError> {
        if self.keys.is_empty() && self.store == StoreKind::Memory {
            return Ok(());
        }
        let keys: Vec<&str> = self.keys.iter().map(Secret::expose).collect();
        crate::seal::Keyring::new(&keys).map_err(|e| {
            bad(
                "session.keys",
                format!("{e} (needed by store = sqlite or redis; set BFF_SESSION__KEYS)"),
            )
        })?;
        Ok(())
    }

    fn check_sqlite(&self) -> Result<(), ConfigError> {
        if self
            .sqlite_path
            .as_ref()
            .is_none_or(|p| p.as_os_str().is_empty())
        {
            return Err(bad(
                "session.sqlite_path",
                "is required with store = sqlite",
            ));
        }
        Ok(())
    }

    fn check_redis(&self) -> Result<(), ConfigError> {
        let url = self
            .redis_url
            .as_ref()
            .map(Secret::expose)
            .unwrap_or_default();
        let ok = Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "redis" | "rediss" | "redis+unix" | "unix"));
        if !ok {
            return Err(bad(
                "session.redis_url",
                "is required with store = redis, e.g. redis://127.0.0.1:6379/0 \
                 (or session.redis_cluster for a Redis Cluster)",
            ));
        }
        if self.redis_prefix.is_empty() {
            return Err(bad("session.redis_prefix", "must not be empty"));
        }
        if self.redis_ca_file.is_some() && !url.starts_with("rediss://") {
            return Err(bad(
                "session.redis_ca_file",
                "only applies to a rediss:// (TLS) session.redis_url",
            ));
        }
        Ok(())
    }

    fn check_redis_cluster(&self) -> Result<(), ConfigError> {
        if self.redis_url.is_some() {
            return Err(bad(
                "session.redis_cluster",
                "replaces session.redis_url: set one of them",
            ));
        }
        let urls: Vec<&str> = self.redis_cluster.iter().map(Secret::expose).collect();
        let ok = |u: &&str| {
            Url::parse(u).is_ok_and(|u| {
                matches!(u.scheme(), "redis" | "rediss")
                    && u.host().is_some()
                    && matches!(u.path(), "" | "/" | "/0")
            })
        };
        if !urls.iter().all(ok) {
            return Err(bad(
                "session.redis_cluster",
                "takes redis:// or rediss:// node URLs without a database (a cluster has only \
                 database 0), e.g. [\"redis://10.0.0.1:6379\", \"redis://10.0.0.2:6379\"]",
            ));
        }
        if self.redis_prefix.is_empty() {
            return Err(bad("session.redis_prefix", "must not be empty"));
        }
        let tls = urls.iter().all(|u| u.starts_with("rediss://"));
        if !tls && urls.iter().any(|u| u.starts_with("rediss://")) {
            return Err(bad(
                "session.redis_cluster",
                "mixes rediss:// and redis:// nodes",
            ));
        }
        if self.redis_ca_file.is_some() && !tls {
            return Err(bad(
                "session.redis_ca_file",
                "only applies to rediss:// (TLS) session.redis_cluster nodes",
            ));
        }
        Ok(())
    }
}

fn default_idle() -> i64 {
    30 * 60
}
fn default_absolute() -> i64 {
    8 * 3600
}
fn default_login_timeout() -> i64 {
    10 * 60
}
fn default_refresh_margin() -> i64 {
    30
}
fn default_redis_prefix() -> String {
    "bff:".to_owned()
}

#[cfg(test)]
mod tests {
    use crate::config::fixture::{with, API};
    use std::path::Path;

    const KEY: (&str, &str) = (
        "BFF_SESSION__KEYS",
        "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]",
    );

    #[test]
    fn the_retired_max_pending_logins_is_still_accepted() {
        for value in ["100000", "0", "\"x\""] {
            let c = with(API, &[("BFF_SESSION__MAX_PENDING_LOGINS", value)]).unwrap();
            assert!(c.session.max_pending_logins.is_some(), "{value}");
        }
        assert!(with(API, &[]).unwrap().session.max_pending_logins.is_none());
    }

    #[test]
    fn redis_ca_file_is_for_rediss_only() {
        let store = ("BFF_SESSION__STORE", "redis");
        let ca = ("BFF_SESSION__REDIS_CA_FILE", "/etc/redis/ca.pem");
        let plain = ("BFF_SESSION__REDIS_URL", "redis://127.0.0.1:6379/0");
        let tls = ("BFF_SESSION__REDIS_URL", "rediss://redis.internal:6380/0");
        let e = with(API, &[KEY, store, ca, plain]).unwrap_err();
        assert_eq!(e.field, "session.redis_ca_file", "{e}");
        let c = with(API, &[KEY, store, ca, tls]).unwrap();
        assert_eq!(
            c.session.redis_ca_file.as_deref(),
            Some(Path::new("/etc/redis/ca.pem"))
        );
        with(API, &[KEY, store, tls]).unwrap();
    }

    #[test]
    fn redis_cluster_takes_node_urls_instead_of_redis_url() {
        let store = ("BFF_SESSION__STORE", "redis");
        let nodes = |v| ("BFF_SESSION__REDIS_CLUSTER", v);
        let c = with(
            API,
            &[
                KEY,
                store,
                nodes(r#"["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]"#),
            ],
        )
        .unwrap();
        assert_eq!(c.session.redis_cluster.len(), 2);
        for bad in [
            r#"["redis://10.0.0.1:6379/2"]"#,
            r#"["unix:///run/redis.sock"]"#,
            r#"["rediss://10.0.0.1:6379", "redis://10.0.0.2:6379"]"#,
        ] {
            let e = with(API, &[KEY, store, nodes(bad)]).unwrap_err();
            assert_eq!(e.field, "session.redis_cluster", "{bad}: {e}");
        }
        let both = ("BFF_SESSION__REDIS_URL", "redis://127.0.0.1:6379/0");
        let e = with(API, &[KEY, store, both, nodes(r#"["redis://a:1"]"#)]).unwrap_err();
        assert_eq!(e.field, "session.redis_cluster", "{e}");
        let ca = ("BFF_SESSION__REDIS_CA_FILE", "/etc/redis/ca.pem");
        let e = with(API, &[KEY, store, ca, nodes(r#"["redis://a:1"]"#)]).unwrap_err();
        assert_eq!(e.field, "session.redis_ca_file", "{e}");
        with(API, &[KEY, store, ca, nodes(r#"["rediss://a:1"]"#)]).unwrap();
    }
}
