//! The pending sign-in (`shared::api::PendingLogin`: state, nonce and the other ID-token rules, never a token)
//! kept in `sessionStorage` across the trip to the OP. It is read *and removed* in one step, so a response can
//! be checked against it only once.

use shared::api::PendingLogin;
use web_sys::Storage;

pub const STORAGE_KEY: &str = "hybrid-flow.pending";

fn storage() -> Option<Storage> {
    crate::browser::window().session_storage().ok().flatten()
}

/// Remembers the sign-in just started. Fails when `sessionStorage` is unavailable (then the sign-in could not
/// be completed, so it must not be started).
pub fn save(pending: &PendingLogin) -> Result<(), ()> {
    let json = serde_json::to_string(pending).map_err(|_| ())?;
    storage()
        .ok_or(())?
        .set_item(STORAGE_KEY, &json)
        .map_err(|_| ())
}

/// Takes the pending sign-in out of storage. `None` when there is none, it is unreadable, or it has expired
/// (the BFF has forgotten it by then).
pub fn take(now: i64) -> Option<PendingLogin> {
    let storage = storage()?;
    let json = storage.get_item(STORAGE_KEY).ok().flatten();
    let _ = storage.remove_item(STORAGE_KEY);
    let pending: PendingLogin = serde_json::from_str(&json?).ok()?;
    (pending.expires_at > now).then_some(pending)
}
