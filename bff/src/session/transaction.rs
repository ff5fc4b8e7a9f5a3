//! Login transactions: what `/bff/login` promised, kept until `/bff/session` consumes it exactly once.

use super::now;
use serde::{Deserialize, Serialize};
use shared::api::PendingLogin;
use std::collections::HashMap;
use std::sync::Mutex;

/// A started login. The PKCE verifier never leaves the BFF; the rest is also given to the SPA. Kept by the
/// session store ([`super::store::SessionStore::put_transaction`]), so a login started on one replica can be
/// finished on another (sealed like sessions in the persistent stores).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transaction {
    pub pending: PendingLogin,
    pub code_verifier: String,
}

/// In-memory transactions, keyed by the login cookie's random value.
#[derive(Default)]
pub struct Transactions {
    map: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    map: HashMap<String, Transaction>,
    /// When expired transactions were last dropped (seconds since the epoch).
    last_sweep: i64,
}

/// Upper bound on concurrently pending logins, so unauthenticated `/bff/login` calls cannot exhaust memory.
const MAX_PENDING: usize = 100_000;

/// Expired transactions are dropped at most this often (and whenever the bound is reached): a sweep visits every
/// pending login, which on each `/bff/login` would make logins O(pending). `take` ignores expired ones anyway.
const SWEEP_EVERY_SECS: i64 = 30;

impl Transactions {
    /// Stores a transaction; `false` when [`MAX_PENDING`] unexpired logins are already pending.
    pub fn insert(&self, id: String, tx: Transaction) -> bool {
        let mut pending = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let t = now();
        if pending.map.len() >= MAX_PENDING || t - pending.last_sweep >= SWEEP_EVERY_SECS {
            pending.map.retain(|_, tx| tx.pending.expires_at > t);
            pending.last_sweep = t;
        }
        if pending.map.len() >= MAX_PENDING {
            return false;
        }
        pending.map.insert(id, tx);
        true
    }

    /// Removes and returns the transaction: state is one-time, whatever the outcome of the check.
    pub fn take(&self, id: &str) -> Option<Transaction> {
        let mut pending = self.map.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .map
            .remove(id)
            .filter(|tx| tx.pending.expires_at > now())
    }
}
