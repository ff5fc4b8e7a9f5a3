//! Verification: the signature (through a tier-specific [`SignatureVerifier`]), the claim rules, and their
//! composition for the front-channel response ([`authorization`]), the token endpoint ([`token_endpoint`]), a
//! refresh, userinfo and the back-channel logout token.
//!
//! One vocabulary: a `check_*` function is one rule with one error in [`crate::error::ValidationError`]; a
//! `verify_*` function composes rules for one message and is what the tiers call, so the SPA and the BFF cannot
//! drift apart. Every `verify_*` of a signed token takes the same [`Context`] (keys, clock, signature checker).

pub mod authorization;
pub mod claims;
pub mod end_session;
pub mod hashes;
pub mod id_token;
pub mod logout_token;
pub mod refresh;
pub mod token_endpoint;
pub mod userinfo;

use crate::error::ValidationError;
use crate::jose::alg::{Alg, AlgPolicy, HashAlg};
use crate::jose::jwks::{Jwk, JwkSet};
use crate::jose::jws::CompactJws;
use claims::IdTokenClaims;
use id_token::IdTokenRules;

/// Checks one signature with one public key. The browser implements it with WebCrypto (small and native), the
/// BFF with jsonwebtoken. Returns `false` for a wrong signature *and* for a key the platform cannot import, so
/// that the next candidate key is tried.
// `async fn` in a public trait is deliberate: WebCrypto futures are not `Send`, and no caller needs `Send`.
#[allow(async_fn_in_trait)]
pub trait SignatureVerifier {
    async fn verify(&self, alg: Alg, key: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool;

    /// The `hash` digest of `data`, for `c_hash`/`at_hash` ([`hashes::hash_matches_with`]); empty when the
    /// platform cannot hash. The default is the sha2 crate (the BFF); the browser uses WebCrypto's `digest`, so
    /// its wasm carries no SHA-2 code.
    async fn digest(&self, hash: HashAlg, data: &[u8]) -> Vec<u8> {
        hashes::sha2_digest(hash, data)
    }
}

/// Where the OP's keys come from and which algorithms are acceptable.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    pub jwks: &'a JwkSet,
    pub policy: &'a AlgPolicy,
}

/// What verifying a signed token needs besides the token and the rules it is held to: the OP's keys and
/// algorithm policy, the current time, and the tier's signature checker. One value, passed as is from the
/// tier's call site down to every rule, so no function takes these three apart or in another order.
pub struct Context<'a, V> {
    pub keys: Keys<'a>,
    /// Seconds since the epoch, by the tier's clock.
    pub now: i64,
    pub verifier: &'a V,
}

impl<'a, V> Context<'a, V> {
    /// Gathers what a tier has at its call site (its keys, its clock, its verifier) into one value.
    pub fn new(keys: Keys<'a>, now: i64, verifier: &'a V) -> Context<'a, V> {
        Context {
            keys,
            now,
            verifier,
        }
    }
}

// By hand: a derive would require `V: Copy`, but only the reference is copied.
impl<V> Clone for Context<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Context<'_, V> {}

/// An ID token whose signature and claims passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdToken {
    /// The signing algorithm, which fixes the hash for c_hash/at_hash.
    pub alg: Alg,
    pub claims: IdTokenClaims,
}

/// Verifies the JWS signature against the key set and returns the now-trusted payload bytes.
pub async fn verify_signature<V: SignatureVerifier>(
    jws: &CompactJws,
    ctx: Context<'_, V>,
) -> Result<Vec<u8>, ValidationError> {
    let alg = ctx.keys.policy.check(jws.header().alg)?;
    for key in ctx.keys.jwks.candidates(jws.header())? {
        if ctx
            .verifier
            .verify(alg, key, jws.signing_input(), jws.signature())
            .await
        {
            return Ok(jws.payload_unverified().to_vec());
        }
    }
    Err(ValidationError::BadSignature)
}

/// Parses and verifies an ID token: signature first (nothing in an unsigned payload is worth reading), then
/// every claim rule.
pub async fn verify_id_token<V: SignatureVerifier>(
    raw: &str,
    rules: &IdTokenRules,
    ctx: Context<'_, V>,
) -> Result<VerifiedIdToken, ValidationError> {
    let jws = CompactJws::parse(raw)?;
    let payload = verify_signature(&jws, ctx).await?;
    let claims = IdTokenClaims::from_json(&payload)?;
    rules.check(&claims, ctx.now)?;
    Ok(VerifiedIdToken {
        alg: jws.header().alg,
        claims,
    })
}
