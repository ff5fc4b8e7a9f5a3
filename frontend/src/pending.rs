//! The pending sign-in (`shared::api::PendingLogin`: state, nonce and the other ID-token rules, never a token)
//! kept in `sessionStorage` across the trip to the OP, together with public data fetched ahead of time: the OP's
//! key set (so the ID token is verified without a network round trip on the way back), the scopes asked for,
//! and the page to return to. It is read *and removed* in one step, so a response can be checked against it
//! only once.

use shared::api::PendingLogin;
use shared::json::{self, Fields, FromJson, Object, ToJson, Value};
use web_sys::Storage;

pub const STORAGE_KEY: &str = "hybrid-flow.pending";
/// A key set fetched longer ago than this is not used; it is fetched again instead.
pub const JWKS_TTL_SECS: i64 = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub pending: PendingLogin,
    /// The OP's public key set (JSON as served) and when it was fetched (seconds since the epoch).
    pub jwks: Option<String>,
    pub jwks_fetched_at: i64,
    /// The `scope` of the authorization request, for the flow view.
    pub scope: String,
    /// A same-origin relative path (path and query) to restore after the sign-in.
    pub return_to: String,
    /// When the sign-in started (milliseconds since the epoch).
    pub started_ms: i64,
}

/// Every member but `pending` may be absent (a sign-in started by an older SPA): it then takes its default.
impl FromJson for Stored {
    fn from_json(value: &Value) -> Result<Stored, json::Error> {
        let f = Fields::of(value)?;
        Ok(Stored {
            pending: f.required("pending")?,
            jwks: f.optional("jwks")?,
            jwks_fetched_at: f.or_default("jwks_fetched_at")?,
            scope: f.or_default("scope")?,
            return_to: f.or_default("return_to")?,
            started_ms: f.or_default("started_ms")?,
        })
    }
}

impl ToJson for Stored {
    fn to_json(&self) -> Value {
        let mut o = Object::new();
        o.push("pending", self.pending.to_json());
        o.push("jwks", self.jwks.to_json());
        o.push("jwks_fetched_at", self.jwks_fetched_at);
        o.push("scope", self.scope.as_str());
        o.push("return_to", self.return_to.as_str());
        o.push("started_ms", self.started_ms);
        o.into()
    }
}

impl Stored {
    /// The cached key set when it is still fresh.
    pub fn fresh_jwks(&self, now: i64) -> Option<&str> {
        let age = now - self.jwks_fetched_at;
        self.jwks
            .as_deref()
            .filter(|_| (0..JWKS_TTL_SECS).contains(&age))
    }
}

fn storage() -> Option<Storage> {
    crate::browser::window().session_storage().ok().flatten()
}

/// Remembers the sign-in just started. Fails when `sessionStorage` is unavailable (then the sign-in could not
/// be completed, so it must not be started).
pub fn save(stored: &Stored) -> Result<(), ()> {
    storage()
        .ok_or(())?
        .set_item(STORAGE_KEY, &json::to_string(stored))
        .map_err(|_| ())
}

/// Takes the pending sign-in out of storage. `None` when there is none, it is unreadable, or it has expired
/// (the BFF has forgotten it by then).
pub fn take(now: i64) -> Option<Stored> {
    let storage = storage()?;
    let json = storage.get_item(STORAGE_KEY).ok().flatten();
    let _ = storage.remove_item(STORAGE_KEY);
    let stored: Stored = json::from_slice(json?.as_bytes()).ok()?;
    (stored.pending.expires_at > now).then_some(stored)
}

/// Only a same-origin relative path is ever restored: it starts with one `/` (not `//`, not `/\`), has no
/// scheme, no fragment and no control characters, and is not the callback itself.
pub fn safe_return_path(path: &str) -> Option<String> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.contains('#')
        && !path.chars().any(|c| c.is_control() || c == '\\')
        && path.len() <= 512
        && path != "/"
        && !path.starts_with("/callback");
    ok.then(|| path.to_owned())
}

/// The `scope` parameter of an authorization URL, decoded.
pub fn scope_of(url: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("scope="))
        .map(|v| {
            js_sys::decode_uri_component(&v.replace('+', " "))
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default()
        })
        .unwrap_or_default()
}
