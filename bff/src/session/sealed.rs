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
