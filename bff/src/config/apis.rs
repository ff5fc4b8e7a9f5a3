//! `[apis.<name>]`: the upstream APIs reachable at `/api/<name>/...`, each an explicit allowlist entry (BFF
//! pattern: never an open proxy).

use super::error::{bad, ConfigError};
use super::url_rules::is_loopback;
use super::{parse, Config};
use axum::http::Method;
use serde::{Deserialize, Deserializer};
use url::Url;

/// One upstream API: an explicit allowlist entry (BFF pattern: never an open proxy).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub url: Url,
    /// Whole-request timeout for the upstream (the connect timeout is 5 s).
    #[serde(default = "default_api_timeout")]
    pub timeout_secs: u64,
    /// Methods the browser may use on this API, upper-cased as read (`get` allows `GET`).
    #[serde(default = "default_methods", deserialize_with = "methods")]
    pub methods: Vec<Method>,
    /// Only paths under this prefix (after `/api/<name>`) are forwarded.
    #[serde(default = "default_prefix")]
    pub path_prefix: String,
    /// Whether calls need a session and carry its access token; `false` for public upstreams.
    #[serde(default = "super::default_true")]
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
    /// Send this upstream the session's DPoP-bound token as `Authorization: DPoP` with a fresh proof per call
    /// (RFC 9449 7), for a resource server that checks proofs. Needs `oidc.dpop` on (refused at start otherwise);
    /// sessions without a key (`auto` against an OP that answered Bearer) still send Bearer.
    #[serde(default)]
    pub dpop: bool,
}

impl ApiConfig {
    /// Whether calls use a token of their own rather than the session's main access token.
    pub fn own_token(&self) -> bool {
        self.resource.is_some() || self.scopes.is_some()
    }

    /// Whether the browser may call this API with `method` (compared as HTTP compares method names, but
    /// also accepting a lower-case spelling, as the BFF always has).
    pub fn allows(&self, method: &Method) -> bool {
        self.methods
            .iter()
            .any(|m| m.as_str().eq_ignore_ascii_case(method.as_str()))
    }

    /// The rules of one `[apis.<name>]` entry, its name included.
    pub(super) fn validate(&self, name: &str) -> Result<(), ConfigError> {
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
        if !matches!(self.url.scheme(), "http" | "https") {
            return Err(bad(&format!("{field}.url"), "must be an http(s) URL"));
        }
        if !self.path_prefix.starts_with('/') {
            return Err(bad(&format!("{field}.path_prefix"), "must start with `/`"));
        }
        if self.timeout_secs == 0 {
            return Err(bad(&format!("{field}.timeout_secs"), "must be at least 1"));
        }
        self.check_own_token(&field)?;
        self.check_cleartext(&field)?;
        self.check_forward_headers(&field)
    }

    /// `resource` and `scopes` ask the OP for a token of this API's own, which only a token-carrying API uses.
    fn check_own_token(&self, field: &str) -> Result<(), ConfigError> {
        if self
            .resource
            .as_deref()
            .is_some_and(|r| r.trim().is_empty())
        {
            return Err(bad(&format!("{field}.resource"), "must not be empty"));
        }
        if let Some(scopes) = &self.scopes {
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
        if self.own_token() && !self.token {
            return Err(bad(
                &format!("{field}.token"),
                "must be true when `resource` or `scopes` is set",
            ));
        }
        Ok(())
    }

    /// RFC 6750 5.3: a bearer token crosses the network only over TLS, unless the operator says otherwise.
    fn check_cleartext(&self, field: &str) -> Result<(), ConfigError> {
        if self.token
            && self.url.scheme() == "http"
            && !is_loopback(&self.url)
            && !self.allow_cleartext
        {
            return Err(bad(
                &format!("{field}.url"),
                format!(
                    "would carry the session's bearer token over plain http to a host other than this machine \
                     (RFC 6750 5.3): use https, or set {field}.allow_cleartext = true for a network you trust"
                ),
            ));
        }
        Ok(())
    }

    fn check_forward_headers(&self, field: &str) -> Result<(), ConfigError> {
        if let Some(h) = self.forward_headers.iter().find(|h| {
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
        Ok(())
    }
}

impl Config {
    /// The resource indicators the APIs name for tokens of their own (RFC 8707), sorted and each once: the
    /// authorization request asks for all of them, and the login's own resource must be chosen among several.
    pub fn upstream_resources(&self) -> Vec<&str> {
        let mut resources: Vec<&str> = self
            .apis
            .values()
            .filter_map(|api| api.resource.as_deref())
            .collect();
        resources.sort_unstable();
        resources.dedup();
        resources
    }
}

/// `methods`, each read as an HTTP method.
fn methods<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Method>, D::Error> {
    parse::each(
        deserializer,
        |m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok(),
        |m| format!("`{m}` is not an HTTP method"),
    )
}

fn default_methods() -> Vec<Method> {
    vec![
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ]
}
fn default_prefix() -> String {
    "/".to_owned()
}
fn default_max_body() -> usize {
    1024 * 1024
}
fn default_api_timeout() -> u64 {
    30
}

#[cfg(test)]
mod tests {
    use crate::config::fixture::{config, with, API};
    use axum::http::Method;

    #[test]
    fn methods_are_read_as_http_methods() {
        let c = with(API, &[("BFF_APIS__DEMO__METHODS", "[\"get\", \"POST\"]")]).unwrap();
        assert_eq!(c.apis["demo"].methods, [Method::GET, Method::POST]);
        assert!(c.apis["demo"].allows(&Method::GET));
        assert!(!c.apis["demo"].allows(&Method::DELETE));
        let e = with(API, &[("BFF_APIS__DEMO__METHODS", "[\"GET\", \"NO WAY\"]")]).unwrap_err();
        assert_eq!(e.field, "apis.demo.methods", "{e}");
        assert_eq!(e.message, "`NO WAY` is not an HTTP method");
    }

    #[test]
    fn upstream_resources_are_sorted_and_named_once() {
        let c = config(
            "resource = \"urn:main\"\n\
             [apis.a]\nurl = \"http://127.0.0.1:4001\"\n\
             [apis.b]\nurl = \"http://127.0.0.1:4002\"\nresource = \"urn:z\"\n\
             [apis.c]\nurl = \"http://127.0.0.1:4003\"\nresource = \"urn:b\"\n\
             [apis.d]\nurl = \"http://127.0.0.1:4004\"\nresource = \"urn:z\"\n",
        );
        assert_eq!(c.upstream_resources(), ["urn:b", "urn:z"]);
    }

    #[test]
    fn cleartext_bearer_upstreams_need_an_explicit_opt_in() {
        let lan = ("BFF_APIS__DEMO__URL", "http://api.internal:8080");
        let e = with(API, &[lan]).unwrap_err();
        assert_eq!(e.field, "apis.demo.url", "{e}");
        assert!(e.message.contains("apis.demo.allow_cleartext"), "{e}");
        let c = with(API, &[lan, ("BFF_APIS__DEMO__ALLOW_CLEARTEXT", "true")]).unwrap();
        assert!(c.apis["demo"].allow_cleartext);
        // No token, nothing to leak; https and loopback are fine.
        with(API, &[lan, ("BFF_APIS__DEMO__TOKEN", "false")]).unwrap();
        with(API, &[("BFF_APIS__DEMO__URL", "https://api.internal")]).unwrap();
        with(API, &[("BFF_APIS__DEMO__URL", "http://localhost:4001")]).unwrap();
    }

    #[test]
    fn forward_headers_add_to_the_default_but_never_owned_or_hop_by_hop_ones() {
        let c = with(
            API,
            &[("BFF_APIS__DEMO__FORWARD_HEADERS", "[\"X-Tenant\"]")],
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
            let e = with(API, &[("BFF_APIS__DEMO__FORWARD_HEADERS", &value)]).unwrap_err();
            assert_eq!(e.field, "apis.demo.forward_headers", "{name}: {e}");
            assert!(e.message.contains(name), "{name}: {e}");
        }
    }
}
