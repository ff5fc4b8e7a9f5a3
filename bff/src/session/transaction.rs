//! Pending logins, kept by the browser: what `/bff/login` promised travels sealed in the login cookie until
//! `/bff/session`, so starting a login stores nothing on the server and no number of unauthenticated login
//! starts can use up anything other browsers need (the state cookie of mod_auth_openidc and ASP.NET Core).
//!
//! The cookie is XChaCha20-Poly1305 under the BFF's [`Keyring`]: the browser can neither read the PKCE verifier
//! nor change a rule, and a value sealed for anything else (a stored session) does not open as a login. The
//! expiry is inside the sealed payload, so an old cookie replayed past its `Max-Age` is refused too. One-time
//! use is enforced at the exchange (see [`seen_state_key`]).

use super::storage::storage_key;
use crate::seal::{Keyring, OpenError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use shared::api::PendingLogin;
use std::sync::Arc;

/// A started login. The PKCE verifier never leaves the BFF in clear; the rest is also given to the SPA.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transaction {
    pub pending: PendingLogin,
    pub code_verifier: String,
    /// The DPoP key made for this login (its thumbprint went out as `dpop_jkt`), handed to the session.
    /// Defaulted, so a login started before an upgrade still finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<crate::oidc::dpop::DpopKey>,
}

/// The associated data of every login cookie, so a login cookie opens as nothing else and nothing else (a
/// session, sealed for its id) opens as a login. The `:` keeps it apart from every session id, which is
/// base64url. Public (it is no secret) so tests can seal arbitrary payloads as a login.
pub const LOGIN_COOKIE_AAD: &str = "hybrid-bff:login-cookie:v1";

/// The longest login cookie value [`LoginSealer::open`] looks at: a sealed login is well under 1 KB, and
/// browsers keep no cookie over 4 KB anyway.
pub const MAX_LOGIN_COOKIE_LEN: usize = 4096;

/// Why a login cookie was refused. Never carries the cookie's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginCookieError {
    /// Not base64, altered, sealed under a key this BFF does not have (a restart of a memory-store BFF, a
    /// rotated-out key), or not a login.
    #[error("the login cookie does not open")]
    Invalid,
    /// Opened, but the login's time is up.
    #[error("the login has expired")]
    Expired,
}

/// Seals pending logins into cookie values and opens them again.
pub struct LoginSealer {
    keys: Arc<Keyring>,
}

impl LoginSealer {
    /// Seals with the first key of `keys`; opens with any of them (rotation works as for sessions).
    pub fn new(keys: Arc<Keyring>) -> LoginSealer {
        LoginSealer { keys }
    }

    /// The cookie value for this login: base64url, cookie-safe without quoting.
    pub fn seal(&self, tx: &Transaction) -> String {
        let plain = serde_json::to_vec(tx).expect("a transaction serialises");
        URL_SAFE_NO_PAD.encode(self.keys.seal(LOGIN_COOKIE_AAD, &plain))
    }

    /// The login sealed in `value`, if it opens, parses and has not expired at `now`. Any input gives an
    /// answer, never a panic (bff/tests/login_cookie_never_panics.rs throws arbitrary values at it).
    pub fn open(&self, value: &str, now: i64) -> Result<Transaction, LoginCookieError> {
        if value.len() > MAX_LOGIN_COOKIE_LEN {
            return Err(LoginCookieError::Invalid);
        }
        let sealed = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| LoginCookieError::Invalid)?;
        let plain = self
            .keys
            .open(LOGIN_COOKIE_AAD, &sealed)
            .inspect_err(|e: &OpenError| {
                tracing::info!(reason = e.reason(), "login cookie does not open")
            })
            .map_err(|_| LoginCookieError::Invalid)?;
        let tx: Transaction =
            serde_json::from_slice(&plain).map_err(|_| LoginCookieError::Invalid)?;
        if tx.pending.expires_at <= now {
            return Err(LoginCookieError::Expired);
        }
        Ok(tx)
    }
}

/// The store key recording that the login with this `state` was exchanged
/// ([`super::storage::SessionStore::remember_once`]): a hash, so the store never holds a usable state value.
/// Recorded at the exchange only, after the front-channel checks pass, so neither a login start nor a
/// forged response writes anything.
pub fn seen_state_key(state: &str) -> String {
    format!("login-state:{}", storage_key(state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::verify::id_token::IdTokenRules;
    use shared::ResponseType;

    fn login(expires_at: i64) -> Transaction {
        Transaction {
            pending: PendingLogin {
                state: "st".into(),
                response_type: ResponseType::CodeIdToken,
                rules: IdTokenRules {
                    issuer: "https://op.example".into(),
                    client_id: "app".into(),
                    trusted_audiences: Vec::new(),
                    nonce: "n".into(),
                    leeway_secs: 0,
                },
                jwks_uri: "https://op.example/jwks".into(),
                allowed_algs: Vec::new(),
                expires_at,
                iss_parameter_supported: false,
            },
            code_verifier: "VERIFIER".into(),
            dpop_key: None,
        }
    }

    #[test]
    fn a_sealed_login_opens_until_it_expires_and_hides_the_verifier() {
        let sealer = LoginSealer::new(Arc::new(Keyring::random()));
        let value = sealer.seal(&login(1000));
        assert!(!value.contains("VERIFIER") && !value.contains('='));
        let tx = sealer.open(&value, 999).unwrap();
        assert_eq!(tx.code_verifier, "VERIFIER");
        assert_eq!(tx.pending.state, "st");
        assert_eq!(
            sealer.open(&value, 1000).err(),
            Some(LoginCookieError::Expired)
        );
    }

    #[test]
    fn altered_foreign_and_non_login_values_are_invalid() {
        let keys = Arc::new(Keyring::random());
        let sealer = LoginSealer::new(keys.clone());
        let value = sealer.seal(&login(1000));
        let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        let altered = URL_SAFE_NO_PAD.encode(&bytes);
        let other = LoginSealer::new(Arc::new(Keyring::random()));
        // A value sealed under the right key for something else (as a session is, for its id).
        let session_like = URL_SAFE_NO_PAD.encode(keys.seal("some-session-id", b"{}"));
        for bad in [
            altered.as_str(),
            &session_like,
            "",
            "x",
            "!!!",
            &"A".repeat(MAX_LOGIN_COOKIE_LEN + 1),
        ] {
            assert_eq!(sealer.open(bad, 0).err(), Some(LoginCookieError::Invalid));
        }
        assert_eq!(other.open(&value, 0).err(), Some(LoginCookieError::Invalid));
    }
}
