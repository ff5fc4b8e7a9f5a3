//! `[oidc]`: the OP and this client's registration at it.
//!
//! The fields sit in one struct (unknown fields are refused, which `#[serde(flatten)]` would not allow), and
//! each concern's types and rules in a file of its own: the client's credentials ([`client_auth`]), the
//! authorization request's extras ([`authorize`]), the userinfo step ([`userinfo`]). A new protocol option
//! gets its field here and its file beside them.

mod authorize;
mod client_auth;
mod client_keys;
mod dpop;
mod par;
mod signing_key;
mod userinfo;

pub use authorize::RESERVED_AUTHORIZE_PARAMS;
pub use client_auth::AuthMethod;
pub use client_keys::ClientKeys;
pub use dpop::{check_dpop_apis, DpopMode};
pub use par::ParMode;
pub use signing_key::SigningKey;
pub use userinfo::UserinfoMode;

use super::error::{bad, ConfigError};
use super::parse;
use super::secret::Secret;
use super::url_rules::require_https_or_loopback;
use serde::{Deserialize, Deserializer};
use shared::jose::alg::Alg;
use shared::ResponseType;
use std::collections::BTreeMap;
use url::Url;

/// The OP and this client's registration at it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Compared exactly with discovery's `issuer` and every token's `iss`, so kept as written (a parsed URL
    /// would gain a trailing `/`).
    pub issuer: String,
    pub client_id: String,
    /// Needed by the two secret methods only (`private_key_jwt` signs with `client_keys` instead).
    #[serde(default)]
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
    /// Private keys (PEM or JWK text) for `auth_method = "private_key_jwt"`; see [`client_keys`].
    #[serde(default)]
    pub client_keys: ClientKeys,
    /// Pushed authorization requests (RFC 9126); see [`par`].
    #[serde(default)]
    pub par: ParMode,
    /// RFC 8707 resource indicator sent with the authorization and token requests, so the access token is
    /// issued for the API it will be sent to.
    #[serde(default)]
    pub resource: Option<String>,
    /// Algorithms this deployment accepts; intersected with the OP's advertised ones.
    #[serde(default = "default_algs", deserialize_with = "algs")]
    pub allowed_algs: Vec<Alg>,
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
    /// DPoP-bound tokens (RFC 9449): `off` (default), `auto` or `required`; see [`DpopMode`].
    #[serde(default)]
    pub dpop: DpopMode,
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

    /// The section's own rules, in the order an operator meets the fields.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.check_issuer()?;
        client_auth::check(
            &self.client_id,
            self.auth_method,
            &self.client_secret,
            &self.client_keys,
        )?;
        require_https_or_loopback("oidc.redirect_uri", &self.redirect_uri)?;
        if self.redirect_uri.fragment().is_some() {
            return Err(bad("oidc.redirect_uri", "must not have a fragment"));
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err(bad("oidc.scopes", "must include `openid`"));
        }
        if !(0..=600).contains(&self.leeway_secs) {
            return Err(bad("oidc.leeway_secs", "must be between 0 and 600"));
        }
        if self.http_timeout_secs == 0 {
            return Err(bad("oidc.http_timeout_secs", "must be at least 1"));
        }
        userinfo::check(self.userinfo, self.userinfo_refresh)?;
        authorize::check_extra_params(&self.extra_authorize_params)
    }

    /// The issuer is an https (or loopback) URL without query or fragment (Discovery 1.0 §2).
    fn check_issuer(&self) -> Result<(), ConfigError> {
        let issuer =
            Url::parse(&self.issuer).map_err(|_| bad("oidc.issuer", "must be an absolute URL"))?;
        require_https_or_loopback("oidc.issuer", &issuer)?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(bad("oidc.issuer", "must not have a query or fragment"));
        }
        Ok(())
    }
}

/// `allowed_algs`, each read as one of the algorithms this product verifies.
fn algs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Alg>, D::Error> {
    parse::each(deserializer, Alg::from_name, |n| {
        format!("`{n}` is not a supported algorithm")
    })
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email", "offline_access"]
        .map(String::from)
        .to_vec()
}
fn default_algs() -> Vec<Alg> {
    Alg::ALL.to_vec()
}
fn default_leeway() -> i64 {
    shared::verify::id_token::DEFAULT_LEEWAY_SECS
}
fn default_http_timeout() -> u64 {
    10
}
