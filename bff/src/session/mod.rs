//! State bound to the browser by HttpOnly cookies: a pending login (between `/bff/login` and `/bff/session`)
//! travels sealed in its cookie, so starting one stores nothing; a session (after) lives on the server, and
//! the browser holds only its random id.

pub mod cookie;
pub mod memory;
pub mod model;
pub mod packed;
pub mod redis_cache;
pub mod redis_conn;
pub mod redis_store;
pub mod sealed;
pub mod sqlite;
pub mod storage;
pub mod transaction;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// 256 random bits, base64url: identifiers, state, nonce and PKCE verifiers all use this.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the epoch; the one clock every rule is checked against.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
