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
pub struct Transactions {
    map: Mutex<Pending>,
    max: usize,
}

impl Default for Transactions {
    fn default() -> Self {
        Transactions::with_limit(super::store::DEFAULT_MAX_PENDING_LOGINS)
    }
}

#[derive(Default)]
struct Pending {
    map: HashMap<String, Transaction>,
    /// When expired transactions were last dropped (seconds since the epoch).
    last_sweep: i64,
}

/// Expired transactions are dropped at most this often (and whenever the bound is reached): a sweep visits every
/// pending login, which on each `/bff/login` would make logins O(pending). `take` ignores expired ones anyway.
const SWEEP_EVERY_SECS: i64 = 30;

impl Transactions {
    /// At most `max` unexpired pending logins.
    pub fn with_limit(max: usize) -> Transactions {
        Transactions {
            map: Mutex::default(),
            max,
        }
    }

    /// Stores a transaction; `false` when the bound of unexpired logins is already pending.
    pub fn insert(&self, id: String, tx: Transaction) -> bool {
        let mut pending = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let t = now();
        if pending.map.len() >= self.max || t - pending.last_sweep >= SWEEP_EVERY_SECS {
            pending.map.retain(|_, tx| tx.pending.expires_at > t);
            pending.last_sweep = t;
        }
        if pending.map.len() >= self.max {
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
