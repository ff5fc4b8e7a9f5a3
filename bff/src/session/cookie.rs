//! The two cookies, with the attributes the BFF pattern requires: HttpOnly, SameSite=Strict, Path=/, no Domain,
//! and `Secure` with the `__Host-` prefix whenever the public origin is https.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};

/// Cookie names and attributes for this deployment.
#[derive(Debug, Clone)]
pub struct Cookies {
    secure: bool,
}

/// Which cookie.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// The server-side session.
    Session,
    /// The pending login itself, sealed ([`super::transaction::LoginSealer`]), between `/bff/login` and
    /// `/bff/session`.
    Login,
    /// The `state` of an RP-initiated logout, between `/bff/logout` and `/bff/logout/return`.
    Logout,
}

impl Kind {
    /// The longest value read: a session cookie is a 43-character id; a login cookie is a sealed login.
    fn max_len(self) -> usize {
        match self {
            Kind::Session => 128,
            Kind::Login => super::transaction::MAX_LOGIN_COOKIE_LEN,
            Kind::Logout => 128,
        }
    }
}

impl Cookies {
    /// `secure`: the public origin is https.
    pub fn new(secure: bool) -> Cookies {
        Cookies { secure }
    }

    fn name(&self, kind: Kind) -> &'static str {
        match (kind, self.secure) {
            (Kind::Session, true) => "__Host-bff-session",
            (Kind::Session, false) => "bff-session",
            (Kind::Login, true) => "__Host-bff-login",
            (Kind::Login, false) => "bff-login",
            (Kind::Logout, true) => "__Host-bff-logout",
            (Kind::Logout, false) => "bff-logout",
        }
    }

    /// The cookie's value in a request, if present.
    pub fn read(&self, headers: &HeaderMap, kind: Kind) -> Option<String> {
        let name = self.name(kind);
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_owned())
            .filter(|v| !v.is_empty() && v.len() <= kind.max_len())
    }

    /// Adds a `Set-Cookie` that sets the cookie for `max_age_secs`.
    pub fn set(&self, headers: &mut HeaderMap, kind: Kind, value: &str, max_age_secs: i64) {
        self.append(headers, kind, value, max_age_secs);
    }

    /// Adds a `Set-Cookie` that deletes the cookie.
    pub fn clear(&self, headers: &mut HeaderMap, kind: Kind) {
        self.append(headers, kind, "", 0);
    }

    fn append(&self, headers: &mut HeaderMap, kind: Kind, value: &str, max_age: i64) {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
            self.name(kind)
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_cookies_are_host_prefixed_and_secure() {
        let mut h = HeaderMap::new();
        Cookies::new(true).set(&mut h, Kind::Session, "abc", 60);
        let v = h.get(SET_COOKIE).unwrap().to_str().unwrap();
        assert_eq!(
            v,
            "__Host-bff-session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
    }

    #[test]
    fn reads_among_other_cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; bff-session=xyz; bff-login=t"),
        );
        let c = Cookies::new(false);
        assert_eq!(c.read(&h, Kind::Session).as_deref(), Some("xyz"));
        assert_eq!(c.read(&h, Kind::Login).as_deref(), Some("t"));
        assert_eq!(Cookies::new(true).read(&h, Kind::Session), None);
    }
}
