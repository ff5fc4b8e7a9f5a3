//! Everything the BFF learns from and asks of the OP: discovery, the key set, signature checking and signing
//! with ring, and the token endpoint. Validation *rules* are not here: they are in `shared`.

pub mod body;
pub mod client_auth;
pub mod compatibility;
pub mod discovery;
pub mod dpop;
pub mod jwks;
pub mod jws;
pub mod par;
pub mod token;
pub mod userinfo;
pub mod verifier;

use crate::error::AppError;
use discovery::Metadata;
use jwks::JwksCache;
use shared::jose::alg::AlgPolicy;
use shared::jose::jwks::JwkSet;
use shared::jose::jws::CompactJws;
use shared::verify::Keys;
use std::sync::{Arc, OnceLock};

/// The OP as loaded at start: its metadata, its keys, and the algorithms accepted from it.
pub struct Provider {
    pub metadata: Metadata,
    pub jwks: JwksCache,
    pub policy: AlgPolicy,
}

impl Provider {
    /// The key set to check `token` with. When the token names a kid the cached set lacks, the set is fetched
    /// again first (throttled, Core 10.1.1; see [`jwks`]): this is how a key rotation at the OP is picked up
    /// without a restart. A token that does not parse gets the cached set; validation then reports what is wrong.
    pub async fn keys_for(&self, token: Option<&str>) -> Result<Arc<JwkSet>, AppError> {
        let set = self.jwks.current().await?;
        let Some(jws) = token.and_then(|t| CompactJws::parse(t).ok()) else {
            return Ok(set);
        };
        match &jws.header().kid {
            Some(kid) if !set.has_kid(kid) => {
                self.jwks
                    .refetch_for_unknown_kid(jws.unverified_iat())
                    .await
            }
            _ => Ok(set),
        }
    }

    /// Borrows a key set together with this provider's algorithm policy, as the shared rules take them.
    pub fn keys<'a>(&'a self, set: &'a JwkSet) -> Keys<'a> {
        Keys {
            jwks: set,
            policy: &self.policy,
        }
    }
}

/// The provider, once discovery has succeeded. Requests that need the OP before then get 503 JSON.
#[derive(Default)]
pub struct ProviderSlot(OnceLock<Provider>);

impl ProviderSlot {
    /// The loaded provider, or `OpUnavailable`.
    pub fn get(&self) -> Result<&Provider, AppError> {
        self.0.get().ok_or(AppError::OpUnavailable)
    }

    /// Whether discovery has loaded (readiness).
    pub fn is_loaded(&self) -> bool {
        self.0.get().is_some()
    }

    /// Installs the provider; later calls are ignored.
    pub fn set(&self, provider: Provider) {
        let _ = self.0.set(provider);
    }
}

/// The verifier both validations use on the BFF (concrete, so the handlers' futures are known to be `Send`).
pub fn verifier() -> verifier::RingVerifier {
    verifier::RingVerifier
}
