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
    map: Mutex<HashMap<String, Transaction>>,
}

/// Upper bound on concurrently pending logins, so unauthenticated `/bff/login` calls cannot exhaust memory.
const MAX_PENDING: usize = 100_000;

impl Transactions {
    /// Stores a transaction, dropping expired ones first.
    pub fn insert(&self, id: String, tx: Transaction) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let t = now();
        map.retain(|_, tx| tx.pending.expires_at > t);
        if map.len() >= MAX_PENDING {
            return false;
        }
        map.insert(id, tx);
        true
    }

    /// Removes and returns the transaction: state is one-time, whatever the outcome of the check.
    pub fn take(&self, id: &str) -> Option<Transaction> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id).filter(|tx| tx.pending.expires_at > now())
    }
}
