//! Sessions: the tokens and the user, kept on the server. The model only; where it is kept is
//! [`super::storage::SessionStore`], with three implementations: [`super::memory::MemoryStore`] (default, one
//! process), [`super::sqlite::SqliteStore`] (one machine, survives a restart) and
//! [`super::redis_store::RedisStore`] (shared by replicas).
//!
//! The persistent stores keep each session sealed ([`crate::seal`]) under a hash of its id, so neither a copy
//! of the database nor of Redis yields a token or a usable session cookie.

use crate::oidc::dpop::DpopKey;
use serde::{Deserialize, Serialize};
use shared::api::{Claim, TokenClientReport, User, UserinfoReport};
use std::collections::BTreeMap;

/// A signed-in browser's server-side state. Tokens stay here; the browser has only the session id.
/// Serialised (and sealed) as a whole by the persistent stores.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    pub user: User,
    pub issuer: String,
    /// The OP session id (`sid`), which back-channel logout refers to.
    pub sid: Option<String>,
    /// For `id_token_hint` at RP-initiated logout.
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub access_token_expires_at: Option<i64>,
    pub created_at: i64,
    pub last_seen: i64,
    /// Tokens of upstreams with a resource or scopes of their own, by API name. Defaulted, so sessions sealed
    /// before this field existed still open.
    #[serde(default)]
    pub upstream_tokens: BTreeMap<String, UpstreamToken>,
    /// The claims shown (the ID token's merged with userinfo's), with their sources. Empty in a session sealed
    /// before userinfo was read: [`Session::shown_claims`] then derives them from `user`.
    #[serde(default)]
    pub claims: Vec<Claim>,
    /// What became of the userinfo request at the sign-in or the last refresh that read it.
    #[serde(default)]
    pub userinfo: UserinfoReport,
    /// The key the session's tokens are bound to (DPoP, RFC 9449), when they are: every request with them
    /// carries a proof signed with it. Defaulted, so sessions sealed before DPoP still open (as Bearer ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<DpopKey>,
}

/// An access token obtained for one upstream (see [`crate::config::ApiConfig::own_token`]).
#[derive(Clone, Serialize, Deserialize)]
pub struct UpstreamToken {
    pub access_token: String,
    pub expires_at: Option<i64>,
    /// The OP answered this upstream's grant with a Bearer token although the session's tokens are DPoP-bound
    /// (`oidc.dpop = "auto"`): sent as DPoP, it would be refused, so it goes out as Bearer. Defaulted, so
    /// sessions sealed before it still open with the session's binding.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bearer: bool,
}

impl std::fmt::Debug for UpstreamToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamToken")
            .field("expires_at", &self.expires_at)
            .field("bearer", &self.bearer)
            .finish_non_exhaustive()
    }
}

// Tokens must never reach a log through `{:?}`.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("sub", &self.user.sub)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// What protects this session's tokens at the token endpoint and beyond, for the flow view: the client
    /// authentication `method` in use and, with DPoP, the key's thumbprint and the access token's `cnf.jkt`.
    pub fn token_client(&self, method: crate::config::AuthMethod) -> TokenClientReport {
        TokenClientReport {
            auth_method: method.name().to_owned(),
            dpop_jkt: self.dpop_key.as_ref().map(DpopKey::thumbprint),
            cnf_jkt: shared::dpop::confirmation_jkt(&self.access_token),
        }
    }

    /// The claims to show: the merged ones, or for a session from before they were kept, the ID token's
    /// display claims from `user`.
    pub fn shown_claims(&self) -> Vec<Claim> {
        if self.claims.is_empty() {
            return self.user.id_token_claims();
        }
        self.claims.clone()
    }

    /// Whether the session is still valid under the idle and absolute timeouts.
    pub fn is_live(&self, idle_secs: i64, absolute_secs: i64, at: i64) -> bool {
        at < self.expires_at(idle_secs, absolute_secs)
    }

    /// When the session ends unless it is used again: the earlier of the idle and absolute timeouts.
    pub fn expires_at(&self, idle_secs: i64, absolute_secs: i64) -> i64 {
        expires_at(self.created_at, self.last_seen, idle_secs, absolute_secs)
    }
}

/// [`Session::expires_at`] from the two times alone, for a store that keeps them apart from the session.
pub fn expires_at(created_at: i64, last_seen: i64, idle_secs: i64, absolute_secs: i64) -> i64 {
    (last_seen + idle_secs).min(created_at + absolute_secs)
}

impl Session {
    /// Whether a logout token with this `iss`, `sid` and `sub` names this session (see
    /// [`SessionStore::remove_matching`]). A session without a recorded sid is never matched by a sid.
    pub fn matches_logout(&self, issuer: &str, sid: Option<&str>, sub: Option<&str>) -> bool {
        logout_matches(
            (
                self.issuer.as_str(),
                self.sid.as_deref(),
                self.user.sub.as_str(),
            ),
            issuer,
            sid,
            sub,
        )
    }
}

/// [`Session::matches_logout`] from the session's `(issuer, sid, sub)` alone, for a store that reads them
/// without opening the whole session.
pub fn logout_matches(
    (own_issuer, own_sid, own_sub): (&str, Option<&str>, &str),
    issuer: &str,
    sid: Option<&str>,
    sub: Option<&str>,
) -> bool {
    if own_issuer != issuer || (sid.is_none() && sub.is_none()) {
        return false;
    }
    let sid_ok = sid.is_none_or(|sid| own_sid == Some(sid));
    let sub_ok = sub.is_none_or(|sub| own_sub == sub);
    sid_ok && sub_ok
}

#[cfg(test)]
impl Session {
    /// The session the unit tests start from: `alice` at the OP `op`, created and last seen at `created_at`, no
    /// tokens. Each test sets what it is about; a new field of [`Session`] is added here once.
    pub(crate) fn for_tests(created_at: i64) -> Session {
        Session {
            user: User {
                sub: "alice".into(),
                name: None,
                preferred_username: None,
                email: None,
                email_verified: None,
            },
            issuer: "op".into(),
            sid: None,
            id_token: String::new(),
            access_token: String::new(),
            refresh_token: None,
            access_token_expires_at: None,
            created_at,
            last_seen: created_at,
            upstream_tokens: BTreeMap::new(),
            claims: Vec::new(),
            userinfo: Default::default(),
            dpop_key: None,
        }
    }
}
