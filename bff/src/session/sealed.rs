//! A session as the persistent stores keep it: sealed under the configured keys ([`crate::seal`]), with the
//! session id as associated data. Shared by SQLite and Redis, so that neither store borrows from the other.

use super::model::Session;
use crate::seal::Keyring;

/// Opens a stored value; one that does not open (unknown key, altered, not a session) is no session, logged
/// by reason only.
pub(crate) fn open_session(keys: &Keyring, id: &str, sealed: &[u8]) -> Option<Session> {
    match keys.open(id, sealed) {
        Ok(plain) => serde_json::from_slice(&plain)
            .inspect_err(|_| tracing::warn!("stored session does not parse; treated as none"))
            .ok(),
        Err(e) => {
            tracing::warn!(
                reason = e.reason(),
                "stored session cannot be opened; treated as none"
            );
            None
        }
    }
}

/// Seals a session for storage.
pub(crate) fn seal_session(keys: &Keyring, id: &str, session: &Session) -> Vec<u8> {
    let plain = serde_json::to_vec(session).expect("a session serialises");
    keys.seal(id, &plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::dpop::DpopKey;

    #[test]
    fn the_dpop_key_is_sealed_with_the_session_and_older_sessions_still_open() {
        let keys = Keyring::random();
        let key = DpopKey::generate();
        let mut session = Session::for_tests(7);
        session.dpop_key = Some(key.clone());
        let sealed = seal_session(&keys, "id-1", &session);
        let opened = open_session(&keys, "id-1", &sealed).expect("opens");
        assert!(opened.dpop_key == Some(key));
        // A session sealed before DPoP existed has no such field: it opens, without a key (Bearer).
        let mut older = serde_json::to_value(Session::for_tests(7)).unwrap();
        older.as_object_mut().unwrap().remove("dpop_key");
        let sealed = keys.seal("id-2", older.to_string().as_bytes());
        let opened = open_session(&keys, "id-2", &sealed).expect("an older session opens");
        assert!(opened.dpop_key.is_none());
    }
}
