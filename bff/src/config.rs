//! Configuration: a TOML file, then `BFF_*` environment overrides, then validation that names the bad field.
//!
//! Overrides use `__` between levels, e.g. `BFF_OIDC__CLIENT_SECRET` sets `oidc.client_secret`, so secrets
//! need never be in the file. Values are read as TOML when they parse (numbers, arrays), else as strings.

use serde::Deserialize;
use shared::jose::alg::Alg;
use shared::ResponseType;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use url::Url;

/// The whole BFF configuration, validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the BFF listens.
    #[serde(default = "default_listen")]
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

/// Time limits of the BFF's HTTP server (`[server]`), so a BFF reachable without a reverse proxy cannot be
/// held by slow clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// A connection must deliver a whole request head (request line and headers) within this many seconds of
    /// being opened or of its previous answer; otherwise it is closed (slowloris). It also ends idle keep-alive
    /// connections after that long.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Every `/bff/...` request must be answered within this many seconds, body upload included, or it gets
    /// 504 `request_timeout`. `/api/...` calls have their API's `timeout_secs` instead (their bodies stream).
    /// Must exceed [`OP_CALLS_PER_BFF_REQUEST`] × `oidc.http_timeout_secs`.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout_secs: default_header_read_timeout(),
            request_timeout_secs: default_request_timeout(),
        }
    }
}

/// The most requests to the OP one `/bff` request can make one after the other, each bounded by
/// `oidc.http_timeout_secs`: the code exchange may fetch the key set (stale cache), refetch it for an unknown
/// `kid` in the front-channel ID token, call the token endpoint, and refetch for the token-endpoint ID token's
/// `kid`. The whole-request timeout must leave room for all of them, or a slow but working OP would be cut off
/// by the BFF's own limit instead of answering.
pub const OP_CALLS_PER_BFF_REQUEST: u64 = 4;

/// The log line format (`log_format`, env `BFF_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The OP and this client's registration at it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Compared exactly with discovery's `issuer` and every token's `iss`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub redirect_uri: Url,
    #[serde(default)]
    pub post_logout_redirect_uri: Option<Url>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The response type of every login unless the SPA asks for another one in `response_types_allowed`.
    #[serde(default)]
    pub response_type: ResponseType,
    /// Other response types a login may ask for (the SPA's conformance mode). Empty by default: a production
    /// deployment uses one response type and refuses the rest.
    #[serde(default)]
    pub response_types_allowed: Vec<ResponseType>,
    #[serde(default)]
    pub auth_method: AuthMethod,
    /// RFC 8707 resource indicator sent with the authorization and token requests, so the access token is
    /// issued for the API it will be sent to.
    #[serde(default)]
    pub resource: Option<String>,
    /// Algorithms this deployment accepts; intersected with the OP's advertised ones.
    #[serde(default = "default_algs")]
    pub allowed_algs: Vec<String>,
    #[serde(default = "default_leeway")]
    pub leeway_secs: i64,
    /// Timeout for each request to the OP.
    #[serde(default = "default_http_timeout")]
    pub http_timeout_secs: u64,
    /// More authorization request parameters, appended after the BFF's own, e.g. `{ audience = "..." }` for
    /// Auth0, `organization`, `connection`, `prompt`. The parameters the BFF sets itself are refused.
    #[serde(default)]
    pub extra_authorize_params: BTreeMap<String, String>,
    /// Accept back-channel logout tokens without `exp`. Back-Channel Logout 1.0 (final) requires it, so this is
    /// off by default; turn it on only for an OP that omits it (glewlwyd 2.7). `iat` still bounds the token's age.
    #[serde(default)]
    pub logout_token_exp_optional: bool,
    /// How the browser sends RP-initiated logout to the OP: `post` (default: the ID token hint in a form body,
    /// never in a URL) or `get` for an OP that takes only GET at its end-session endpoint (glewlwyd 2.7).
    #[serde(default)]
    pub end_session_method: shared::api::EndSessionMethod,
    /// Whether the sign-in reads the OP's userinfo endpoint (Core 5.3) with the new access token: `auto`
    /// (default: when discovery lists one; an unreachable or unusable answer leaves the ID token's claims),
    /// `required` (such an answer refuses the sign-in with `userinfo_unavailable`) or `off`. A userinfo answer
    /// about another user or with a bad signature refuses the sign-in whatever this says.
    #[serde(default)]
    pub userinfo: UserinfoMode,
    /// Read userinfo again after each refresh of the session's access token, so a profile changed at the OP
    /// shows up without a new sign-in (one more OP request per refresh). Off by default.
    #[serde(default)]
    pub userinfo_refresh: bool,
}

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

impl OidcConfig {
    /// Every response type a login may use: the default first, then the allowed others, without repeats.
    pub fn response_types(&self) -> Vec<ResponseType> {
        let mut all = vec![self.response_type];
        for t in &self.response_types_allowed {
            if !all.contains(t) {
                all.push(*t);
            }
        }
        all
    }
}

/// The development configuration, relative to the repository root: what `hybrid-bff` loads when given no file.
pub const DEV_CONFIG_PATH: &str = "bff/config/dev.toml";

/// The development configuration's text, built in so its public secrets are known from the file itself and never
/// copied.
const DEV_CONFIG: &str = include_str!("../config/dev.toml");

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

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
}

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
    /// `redis://host:port/db` (`store = "redis"`).
    #[serde(default)]
    pub redis_url: Option<Secret>,
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
    #[serde(default = "default_true")]
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
            redis_ca_file: None,
            redis_prefix: default_redis_prefix(),
            redis_cache: true,
            keys: Vec::new(),
            max_pending_logins: None,
        }
    }
}

/// One upstream API: an explicit allowlist entry (BFF pattern: never an open proxy).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub url: Url,
    /// Whole-request timeout for the upstream (the connect timeout is 5 s).
    #[serde(default = "default_api_timeout")]
    pub timeout_secs: u64,
    /// Methods the browser may use on this API.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// Only paths under this prefix (after `/api/<name>`) are forwarded.
    #[serde(default = "default_prefix")]
    pub path_prefix: String,
    /// Whether calls need a session and carry its access token; `false` for public upstreams.
    #[serde(default = "default_true")]
    pub token: bool,
    /// Largest request body forwarded.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// This upstream's own resource indicator (RFC 8707): its calls carry a token obtained for it with a
    /// refresh-token grant, cached in the session. The sign-in also asks for it, as the OP only narrows later.
    #[serde(default)]
    pub resource: Option<String>,
    /// This upstream's own scopes (RFC 6749 6: a subset of the sign-in's), requested the same way.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Request headers forwarded to this upstream on top of [`crate::forward_headers::DEFAULT_FORWARD_HEADERS`]; every
    /// other header the browser sends stays at the BFF. Hop-by-hop headers and the ones the BFF owns (host,
    /// cookie, authorization, ...) are refused at start.
    #[serde(default)]
    pub forward_headers: Vec<String>,
    /// Send the bearer token over plain http to a host other than loopback (RFC 6750 5.3 forbids it). Refused
    /// unless set: only for an upstream on a network the operator trusts (e.g. a sidecar reached by name).
    #[serde(default)]
    pub allow_cleartext: bool,
}

impl ApiConfig {
    /// Whether calls use a token of their own rather than the session's main access token.
    pub fn own_token(&self) -> bool {
        self.resource.is_some() || self.scopes.is_some()
    }
}

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 3000))
}
fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email", "offline_access"]
        .map(String::from)
        .to_vec()
}
fn default_algs() -> Vec<String> {
    Alg::ALL.iter().map(|a| a.name().to_owned()).collect()
}
fn default_leeway() -> i64 {
    shared::verify::id_token::DEFAULT_LEEWAY_SECS
}
fn default_http_timeout() -> u64 {
    10
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
fn default_methods() -> Vec<String> {
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
        .map(String::from)
        .to_vec()
}
fn default_prefix() -> String {
    "/".to_owned()
}
fn default_true() -> bool {
    true
}
fn default_max_body() -> usize {
    1024 * 1024
}
fn default_api_timeout() -> u64 {
    30
}
fn default_header_read_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    45
}

/// A configuration problem, naming the field so an operator can fix it at once.
#[derive(Debug, thiserror::Error)]
#[error("configuration error in `{field}`: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

fn bad(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl Config {
    /// Reads the file, applies `BFF_*` overrides from `env`, and validates.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad("(file)", format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text, env)
    }

    /// Parses TOML text plus overrides; separate from [`Config::load`] so tests need no files.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| syntax_error(text, &e))?;
        for (key, value) in env {
            let Some(path) = key.strip_prefix("BFF_") else {
                continue;
            };
            if path == "CONFIG" {
                continue;
            }
            let parts: Vec<String> = path.split("__").map(|p| p.to_ascii_lowercase()).collect();
            set_path(&mut table, &parts, parse_env_value(&value));
        }
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let field = match e.path().to_string() {
                    // The document itself (a missing top-level field, an empty key), which the path writes as
                    // `.` or nothing: found by fuzzing, it read "configuration error in ``".
                    root if root.is_empty() || root == "." => "(file)".to_owned(),
                    path => path,
                };
                bad(&field, e.into_inner().message().to_owned())
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let issuer = Url::parse(&self.oidc.issuer)
            .map_err(|_| bad("oidc.issuer", "must be an absolute URL"))?;
        require_https_or_loopback("oidc.issuer", &issuer)?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(bad("oidc.issuer", "must not have a query or fragment"));
        }
        if self.oidc.client_id.trim().is_empty() {
            return Err(bad("oidc.client_id", "must not be empty"));
        }
        if self.oidc.client_secret.expose().is_empty() {
            return Err(bad(
                "oidc.client_secret",
                "must not be empty (set BFF_OIDC__CLIENT_SECRET)",
            ));
        }
        require_https_or_loopback("oidc.redirect_uri", &self.oidc.redirect_uri)?;
        if self.oidc.redirect_uri.fragment().is_some() {
            return Err(bad("oidc.redirect_uri", "must not have a fragment"));
        }
        if !self.oidc.scopes.iter().any(|s| s == "openid") {
            return Err(bad("oidc.scopes", "must include `openid`"));
        }
        self.allowed_algs()?;
        if !(0..=600).contains(&self.oidc.leeway_secs) {
            return Err(bad("oidc.leeway_secs", "must be between 0 and 600"));
        }
        if self.oidc.http_timeout_secs == 0 {
            return Err(bad("oidc.http_timeout_secs", "must be at least 1"));
        }
        if self.oidc.userinfo_refresh && self.oidc.userinfo == UserinfoMode::Off {
            return Err(bad(
                "oidc.userinfo_refresh",
                "needs oidc.userinfo = \"auto\" or \"required\" (userinfo is off)",
            ));
        }
        if let Some(key) = self
            .oidc
            .extra_authorize_params
            .keys()
            .find(|k| RESERVED_AUTHORIZE_PARAMS.contains(&k.as_str()))
        {
            return Err(bad(
                "oidc.extra_authorize_params",
                format!("`{key}` is set by the BFF itself (use the dedicated setting)"),
            ));
        }
        require_https_or_loopback("public_origin", &self.public_origin)?;
        self.refuse_development_secrets()?;
        self.validate_server()?;
        let s = &self.session;
        if s.idle_timeout_secs <= 0 || s.absolute_timeout_secs < s.idle_timeout_secs {
            return Err(bad(
                "session",
                "idle_timeout_secs must be positive and at most absolute_timeout_secs",
            ));
        }
        if s.login_timeout_secs <= 0 {
            return Err(bad("session.login_timeout_secs", "must be positive"));
        }
        if s.refresh_margin_secs < 0 {
            return Err(bad("session.refresh_margin_secs", "must not be negative"));
        }
        if !s.keys.is_empty() || s.store != StoreKind::Memory {
            let keys: Vec<&str> = s.keys.iter().map(Secret::expose).collect();
            crate::seal::Keyring::new(&keys).map_err(|e| {
                bad(
                    "session.keys",
                    format!("{e} (needed by store = sqlite or redis; set BFF_SESSION__KEYS)"),
                )
            })?;
        }
        match s.store {
            StoreKind::Memory => {}
            StoreKind::Sqlite => {
                if s.sqlite_path
                    .as_ref()
                    .is_none_or(|p| p.as_os_str().is_empty())
                {
                    return Err(bad(
                        "session.sqlite_path",
                        "is required with store = sqlite",
                    ));
                }
            }
            StoreKind::Redis => {
                let url = s.redis_url.as_ref().map(Secret::expose).unwrap_or_default();
                let ok = Url::parse(url).is_ok_and(|u| {
                    matches!(u.scheme(), "redis" | "rediss" | "redis+unix" | "unix")
                });
                if !ok {
                    return Err(bad(
                        "session.redis_url",
                        "is required with store = redis, e.g. redis://127.0.0.1:6379/0",
                    ));
                }
                if s.redis_prefix.is_empty() {
                    return Err(bad("session.redis_prefix", "must not be empty"));
                }
                if s.redis_ca_file.is_some() && !url.starts_with("rediss://") {
                    return Err(bad(
                        "session.redis_ca_file",
                        "only applies to a rediss:// (TLS) session.redis_url",
                    ));
                }
            }
        }
        for (name, api) in &self.apis {
            let field = format!("apis.{name}");
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(bad(
                    &field,
                    "API names may only use letters, digits, `-` and `_`",
                ));
            }
            if !matches!(api.url.scheme(), "http" | "https") {
                return Err(bad(&format!("{field}.url"), "must be an http(s) URL"));
            }
            if let Some(m) = api
                .methods
                .iter()
                .find(|m| axum::http::Method::from_bytes(m.as_bytes()).is_err())
            {
                return Err(bad(
                    &format!("{field}.methods"),
                    format!("`{m}` is not an HTTP method"),
                ));
            }
            if !api.path_prefix.starts_with('/') {
                return Err(bad(&format!("{field}.path_prefix"), "must start with `/`"));
            }
            if api.timeout_secs == 0 {
                return Err(bad(&format!("{field}.timeout_secs"), "must be at least 1"));
            }
            if api.resource.as_deref().is_some_and(|r| r.trim().is_empty()) {
                return Err(bad(&format!("{field}.resource"), "must not be empty"));
            }
            if let Some(scopes) = &api.scopes {
                if scopes.is_empty()
                    || scopes
                        .iter()
                        .any(|s| s.is_empty() || s.contains(char::is_whitespace))
                {
                    return Err(bad(
                        &format!("{field}.scopes"),
                        "must be a non-empty list of scopes without spaces",
                    ));
                }
            }
            if api.own_token() && !api.token {
                return Err(bad(
                    &format!("{field}.token"),
                    "must be true when `resource` or `scopes` is set",
                ));
            }
            if api.token
                && api.url.scheme() == "http"
                && !is_loopback(&api.url)
                && !api.allow_cleartext
            {
                return Err(bad(
                    &format!("{field}.url"),
                    format!(
                        "would carry the session's bearer token over plain http to a host other than this machine \
                         (RFC 6750 5.3): use https, or set {field}.allow_cleartext = true for a network you trust"
                    ),
                ));
            }
            if let Some(h) = api.forward_headers.iter().find(|h| {
                axum::http::HeaderName::from_bytes(h.as_bytes()).is_err()
                    || crate::forward_headers::never_forwarded(h)
            }) {
                return Err(bad(
                    &format!("{field}.forward_headers"),
                    format!(
                        "`{h}` cannot be forwarded (not a header name, hop-by-hop, or set by the BFF itself)"
                    ),
                ));
            }
        }
        // The code exchange asks for one access token: with several upstream resources granted and none named
        // for the login's own token, OPs such as node-oidc-provider refuse the exchange (which resource?), and
        // every login would fail at the last step. Refuse the configuration instead.
        let mut upstream: Vec<&str> = self
            .apis
            .values()
            .filter_map(|api| api.resource.as_deref())
            .collect();
        upstream.sort_unstable();
        upstream.dedup();
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

    fn validate_server(&self) -> Result<(), ConfigError> {
        let server = &self.server;
        if !(1..=300).contains(&server.header_read_timeout_secs) {
            return Err(bad(
                "server.header_read_timeout_secs",
                "must be between 1 and 300",
            ));
        }
        let op_calls = OP_CALLS_PER_BFF_REQUEST.saturating_mul(self.oidc.http_timeout_secs);
        if server.request_timeout_secs <= op_calls {
            return Err(bad(
                "server.request_timeout_secs",
                format!(
                    "must be more than {op_calls} s: a sign-in may make {OP_CALLS_PER_BFF_REQUEST} requests to the OP one after the other, each allowed oidc.http_timeout_secs = {} s",
                    self.oidc.http_timeout_secs
                ),
            ));
        }
        if self.metrics_listen == Some(self.listen) {
            return Err(bad(
                "metrics_listen",
                "must differ from `listen` (it keeps metrics off the public port)",
            ));
        }
        Ok(())
    }

    /// The configured algorithm allowlist, parsed.
    pub fn allowed_algs(&self) -> Result<Vec<Alg>, ConfigError> {
        self.oidc
            .allowed_algs
            .iter()
            .map(|n| {
                Alg::from_name(n).ok_or_else(|| {
                    bad(
                        "oidc.allowed_algs",
                        format!("`{n}` is not a supported algorithm"),
                    )
                })
            })
            .collect()
    }

    /// The development configuration's client secret and session key are public (they are in this repository):
    /// accepted only while the BFF serves this machine (`public_origin` on loopback).
    fn refuse_development_secrets(&self) -> Result<(), ConfigError> {
        if is_loopback(&self.public_origin) {
            return Ok(());
        }
        let (dev_secret, dev_keys) = development_secrets();
        if self.oidc.client_secret.expose() == dev_secret {
            return Err(bad(
                "oidc.client_secret",
                format!(
                    "is the public development secret of {DEV_CONFIG_PATH}, refused with a public_origin other than \
                     localhost: set this client's own secret (BFF_OIDC__CLIENT_SECRET)"
                ),
            ));
        }
        if self
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

/// https everywhere, except plain http on loopback names for development.
fn require_https_or_loopback(field: &str, url: &Url) -> Result<(), ConfigError> {
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

/// A TOML syntax error as the parser's words and where. Not its `Display`, which quotes the offending line (it
/// may hold a secret); and some errors have no words at all (`key =` with no value), so the position is always
/// given: without it the operator read "configuration error in `(file)`: " and nothing else.
fn syntax_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let what = e.message().lines().collect::<Vec<_>>().join("; ");
    let what = if what.trim().is_empty() {
        "invalid TOML".to_owned()
    } else {
        what
    };
    let at = e.span().map_or(0, |s| s.start).min(text.len());
    let before = &text.as_bytes()[..at];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    bad("(file)", format!("line {line}, column {column}: {what}"))
}

/// Whether a URL points at this machine (development setups).
pub fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

fn parse_env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        public_origin = "http://localhost:8080"
        [oidc]
        issuer = "http://127.0.0.1:9090"
        client_id = "app"
        client_secret = "from-file"
        redirect_uri = "http://localhost:8080/callback"
        [apis.demo]
        url = "http://127.0.0.1:4001"
    "#;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_overrides_the_file() {
        let c = Config::from_toml(
            BASE,
            env(&[
                ("BFF_OIDC__CLIENT_SECRET", "s3cret"),
                ("BFF_OIDC__LEEWAY_SECS", "5"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.oidc.client_secret.expose(), "s3cret");
        assert_eq!(c.oidc.leeway_secs, 5);
        assert_eq!(c.oidc.response_type, ResponseType::CodeIdToken);
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn log_format_defaults_to_text_and_is_set_by_file_or_env() {
        let c = Config::from_toml(BASE, env(&[])).unwrap();
        assert_eq!(c.log_format, LogFormat::Text);
        let c = Config::from_toml(&format!("log_format = \"json\"\n{BASE}"), env(&[])).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        let c = Config::from_toml(BASE, env(&[("BFF_LOG_FORMAT", "json")])).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        let e = Config::from_toml(BASE, env(&[("BFF_LOG_FORMAT", "xml")])).unwrap_err();
        assert!(e.to_string().contains("log_format"), "{e}");
    }

    #[test]
    fn the_retired_max_pending_logins_is_still_accepted() {
        for value in ["100000", "0", "\"x\""] {
            let c = Config::from_toml(BASE, env(&[("BFF_SESSION__MAX_PENDING_LOGINS", value)]))
                .unwrap();
            assert!(c.session.max_pending_logins.is_some(), "{value}");
        }
        assert!(Config::from_toml(BASE, env(&[]))
            .unwrap()
            .session
            .max_pending_logins
            .is_none());
    }

    #[test]
    fn the_dev_config_is_valid_and_its_key_opens_a_keyring() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/dev.toml");
        let c = Config::load(&path, env(&[])).unwrap();
        assert_eq!(c.session.store, StoreKind::Memory);
        assert_eq!(c.session.keys.len(), 1);
    }

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
            let e = Config::from_toml(BASE, env(&[(key, value)])).unwrap_err();
            assert_eq!(e.field, field, "{key}={value}: {e}");
        }
        let two_resources = format!(
            "{BASE}resource = \"urn:a\"\n[apis.other]\nurl = \"http://127.0.0.1:4002\"\nresource = \"urn:b\"\n"
        );
        let e = Config::from_toml(&two_resources, env(&[])).unwrap_err();
        assert_eq!(e.field, "oidc.resource", "{e}");
        assert!(e.to_string().contains("urn:a, urn:b"), "{e}");
        Config::from_toml(&two_resources, env(&[("BFF_OIDC__RESOURCE", "urn:a")])).unwrap();
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
            let e = Config::from_toml(BASE, env(pairs)).unwrap_err();
            assert_eq!(e.field, field, "{pairs:?}: {e}");
            assert!(!e.to_string().contains("c2hvcnQ"), "{e}");
        }
        let c = Config::from_toml(
            BASE,
            env(&[
                ("BFF_SESSION__STORE", "redis"),
                ("BFF_SESSION__REDIS_URL", "redis://127.0.0.1:6379/0"),
                (key, good),
            ]),
        )
        .unwrap();
        assert_eq!(c.session.store, StoreKind::Redis);
        assert_eq!(c.session.redis_prefix, "bff:");
        assert!(!format!("{c:?}").contains("AAAA"));
        let e = Config::from_toml("public_origin = 1", env(&[])).unwrap_err();
        assert_eq!(e.field, "public_origin");
    }

    /// Found by fuzzing (fuzz-glue/regressions/config): `key =` with no value made a parse error with
    /// no message at all.
    #[test]
    fn syntax_errors_say_what_and_where_without_quoting_the_file() {
        let e = Config::from_toml("listen = \"127.0.0.1:3000\"\npublic_origin =", env(&[]))
            .unwrap_err();
        assert_eq!(e.field, "(file)");
        assert_eq!(
            e.message,
            "line 2, column 16: string values must be quoted, expected literal string"
        );
        let e = Config::from_toml("[oidc\nclient_secret = \"s3cr3t\"", env(&[])).unwrap_err();
        assert_eq!(e.message, "line 1, column 6: unclosed table, expected `]`");
        let e = Config::from_toml("[oidc]\nclient_secret = \"s3cr3t", env(&[])).unwrap_err();
        assert!(e.message.starts_with("line 2, column 24: "), "{e}");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn userinfo_defaults_to_auto_and_its_step_fits_in_the_request_deadline() {
        let c = Config::from_toml(BASE, env(&[])).unwrap();
        assert_eq!(c.oidc.userinfo, UserinfoMode::Auto);
        assert!(!c.oidc.userinfo_refresh);
        // 45 s for the request, 4 × 10 s before the step: 5 s left for it.
        assert_eq!(c.userinfo_timeout(), std::time::Duration::from_secs(5));
        let c = Config::from_toml(BASE, env(&[("BFF_OIDC__HTTP_TIMEOUT_SECS", "1")])).unwrap();
        assert_eq!(c.userinfo_timeout(), std::time::Duration::from_secs(1));
        let c = Config::from_toml(BASE, env(&[("BFF_OIDC__USERINFO", "required")])).unwrap();
        assert_eq!(c.oidc.userinfo, UserinfoMode::Required);
        let e = Config::from_toml(BASE, env(&[("BFF_OIDC__USERINFO", "sometimes")])).unwrap_err();
        assert_eq!(e.field, "oidc.userinfo", "{e}");
        let e = Config::from_toml(
            BASE,
            env(&[
                ("BFF_OIDC__USERINFO", "off"),
                ("BFF_OIDC__USERINFO_REFRESH", "true"),
            ]),
        )
        .unwrap_err();
        assert_eq!(e.field, "oidc.userinfo_refresh", "{e}");
    }

    #[test]
    fn server_limits_leave_room_for_the_op_and_metrics_stay_off_a_public_port() {
        let c = Config::from_toml(BASE, env(&[])).unwrap();
        assert_eq!(c.server.header_read_timeout_secs, 10);
        assert!(
            c.server.request_timeout_secs > OP_CALLS_PER_BFF_REQUEST * c.oidc.http_timeout_secs
        );
        assert!(c.metrics_on_main_listener());
        let cases = [
            (
                "BFF_SERVER__HEADER_READ_TIMEOUT_SECS",
                "0",
                "server.header_read_timeout_secs",
            ),
            // 4 × the default 10 s of oidc.http_timeout_secs.
            (
                "BFF_SERVER__REQUEST_TIMEOUT_SECS",
                "40",
                "server.request_timeout_secs",
            ),
            ("BFF_METRICS_LISTEN", "\"127.0.0.1:3000\"", "metrics_listen"),
        ];
        for (key, value, field) in cases {
            let e = Config::from_toml(BASE, env(&[(key, value)])).unwrap_err();
            assert_eq!(e.field, field, "{key}={value}: {e}");
        }
        let c = Config::from_toml(
            BASE,
            env(&[
                ("BFF_SERVER__REQUEST_TIMEOUT_SECS", "5"),
                ("BFF_OIDC__HTTP_TIMEOUT_SECS", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.request_timeout_secs, 5);
        let c =
            Config::from_toml(BASE, env(&[("BFF_METRICS_LISTEN", "\"127.0.0.1:9100\"")])).unwrap();
        assert!(!c.metrics_on_main_listener());
        let c = Config::from_toml(BASE, env(&[("BFF_STATIC_DIR", "dist")])).unwrap();
        assert!(
            !c.metrics_on_main_listener(),
            "single-binary mode: not on the public port"
        );
    }

    /// Found by fuzzing: problems at the top level of the file named the field `` or `.`.
    #[test]
    fn top_level_problems_name_the_file() {
        for (text, message) in [
            ("'' = 1", "unknown field ``"),
            ("log_format = \"json\"", "missing field `public_origin`"),
        ] {
            let e = Config::from_toml(text, env(&[])).unwrap_err();
            assert_eq!(e.field, "(file)", "{text}: {e}");
            assert!(e.message.starts_with(message), "{text}: {e}");
        }
    }

    #[test]
    fn development_secrets_are_refused_off_loopback() {
        let (secret, keys) = development_secrets();
        assert!(
            !secret.is_empty() && !keys.is_empty(),
            "read from {DEV_CONFIG_PATH}"
        );
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/dev.toml");
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
        let rotated = (
            "BFF_SESSION__KEYS",
            format!(
                "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", \"{}\"]",
                keys[0]
            ),
        );
        let pairs = vec![
            (public.0.to_owned(), public.1.to_owned()),
            (own_secret.0.to_owned(), own_secret.1.to_owned()),
            (rotated.0.to_owned(), rotated.1),
        ];
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

    #[test]
    fn cleartext_bearer_upstreams_need_an_explicit_opt_in() {
        let lan = ("BFF_APIS__DEMO__URL", "http://api.internal:8080");
        let e = Config::from_toml(BASE, env(&[lan])).unwrap_err();
        assert_eq!(e.field, "apis.demo.url", "{e}");
        assert!(e.message.contains("apis.demo.allow_cleartext"), "{e}");
        let c = Config::from_toml(
            BASE,
            env(&[lan, ("BFF_APIS__DEMO__ALLOW_CLEARTEXT", "true")]),
        )
        .unwrap();
        assert!(c.apis["demo"].allow_cleartext);
        // No token, nothing to leak; https and loopback are fine.
        Config::from_toml(BASE, env(&[lan, ("BFF_APIS__DEMO__TOKEN", "false")])).unwrap();
        Config::from_toml(
            BASE,
            env(&[("BFF_APIS__DEMO__URL", "https://api.internal")]),
        )
        .unwrap();
        Config::from_toml(
            BASE,
            env(&[("BFF_APIS__DEMO__URL", "http://localhost:4001")]),
        )
        .unwrap();
    }

    #[test]
    fn forward_headers_add_to_the_default_but_never_owned_or_hop_by_hop_ones() {
        let c = Config::from_toml(
            BASE,
            env(&[("BFF_APIS__DEMO__FORWARD_HEADERS", "[\"X-Tenant\"]")]),
        )
        .unwrap();
        assert_eq!(c.apis["demo"].forward_headers, ["X-Tenant"]);
        for name in [
            "Cookie",
            "authorization",
            "Host",
            "connection",
            "Transfer-Encoding",
            "te",
            "upgrade",
            "content-length",
            "x-csrf",
            "not a header",
        ] {
            let value = format!("[\"{name}\"]");
            let e = Config::from_toml(BASE, env(&[("BFF_APIS__DEMO__FORWARD_HEADERS", &value)]))
                .unwrap_err();
            assert_eq!(e.field, "apis.demo.forward_headers", "{name}: {e}");
            assert!(e.message.contains(name), "{name}: {e}");
        }
    }

    #[test]
    fn redis_ca_file_is_for_rediss_only() {
        let key = (
            "BFF_SESSION__KEYS",
            "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]",
        );
        let store = ("BFF_SESSION__STORE", "redis");
        let ca = ("BFF_SESSION__REDIS_CA_FILE", "/etc/redis/ca.pem");
        let plain = ("BFF_SESSION__REDIS_URL", "redis://127.0.0.1:6379/0");
        let tls = ("BFF_SESSION__REDIS_URL", "rediss://redis.internal:6380/0");
        let e = Config::from_toml(BASE, env(&[key, store, ca, plain])).unwrap_err();
        assert_eq!(e.field, "session.redis_ca_file", "{e}");
        let c = Config::from_toml(BASE, env(&[key, store, ca, tls])).unwrap();
        assert_eq!(
            c.session.redis_ca_file.as_deref(),
            Some(Path::new("/etc/redis/ca.pem"))
        );
        Config::from_toml(BASE, env(&[key, store, tls])).unwrap();
    }
}
