//! DPoP (RFC 9449): the pure rules of sender-constrained tokens, shared by whoever makes or checks a proof.
//!
//! A DPoP-bound access token is useless without the private key it is bound to, so a copied token cannot be
//! replayed. The BFF holds one key per session and signs a fresh proof for every request that carries a token;
//! what goes into that proof, and how a server's demand for a nonce reads, is decided here, with no I/O, so the
//! rules are tested on their own and the signing (which needs randomness and a key) stays at the edge.
//!
//! - [`jwk`]: the public key as a JWK and its thumbprint (RFC 7638), which is what a token is bound to
//!   (`dpop_jkt`, `cnf.jkt`).
//! - [`proof`]: the proof's header and claims, `ath` and the normalised `htu`.
//! - [`nonce`]: reading `use_dpop_nonce` from a `WWW-Authenticate: DPoP` challenge or a token-endpoint error.

pub mod jwk;
pub mod nonce;
pub mod proof;

pub use jwk::{confirmation_jkt, EcPublicJwk, JwkError};
pub use nonce::{challenges, nonce_demanded, Challenge, ChallengeError, USE_DPOP_NONCE};
pub use proof::{access_token_hash, htu, HtuError, ProofClaims, ProofHeader, PROOF_TYP};

/// The `token_type` (RFC 9449 5) and `Authorization` scheme (7.1) of a DPoP-bound access token.
pub const SCHEME: &str = "DPoP";

/// The request header that carries a proof (RFC 9449 4.1).
pub const PROOF_HEADER: &str = "DPoP";

/// The response header in which a server hands out a nonce (RFC 9449 8, 9).
pub const NONCE_HEADER: &str = "DPoP-Nonce";
