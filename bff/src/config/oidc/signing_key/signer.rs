//! The client signing key in ring's form, parsed once when the configuration is read: each `private_key_jwt`
//! assertion is then one signature, with the library rustls already links (the BFF's DPoP proofs and signature
//! checks use it too). ring's RSA signing costs a fraction of the pure-Rust `rsa` crate's, and reading a key
//! (ring checks its halves against each other) is paid once, not per request.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaEncoding, RsaKeyPair};
use shared::jose::alg::Alg;
use std::sync::Arc;

/// A private key ready to sign. Cloning shares it.
#[derive(Clone)]
pub struct Signer(Arc<Pair>);

enum Pair {
    Rsa(RsaKeyPair),
    P256(EcdsaKeyPair),
}

/// Why a signature was not made. Never carries key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The algorithm is not one this kind of key signs with (the choice is made per OP, so a bug).
    #[error("{0:?} is not an algorithm this key signs with")]
    WrongAlg(Alg),
    /// ring refused to sign.
    #[error("the signature failed")]
    Failed,
}

impl Signer {
    /// An RSA key from its PKCS#1 `RSAPrivateKey` DER. ring refuses what it would not sign with (2048 to 4096
    /// bits, a public exponent of at least 65537, consistent CRT parts): the reason is ring's word for it, never
    /// key material.
    pub fn rsa(pkcs1_der: &[u8]) -> Result<Signer, String> {
        RsaKeyPair::from_der(pkcs1_der)
            .map(|pair| Signer(Arc::new(Pair::Rsa(pair))))
            .map_err(|e| e.to_string())
    }

    /// A P-256 key from its scalar (32 bytes) and uncompressed public point (65 bytes), which ring checks
    /// against each other.
    pub fn p256(private: &[u8], public: &[u8]) -> Result<Signer, String> {
        EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            private,
            public,
            &SystemRandom::new(),
        )
        .map(|pair| Signer(Arc::new(Pair::P256(pair))))
        .map_err(|e| e.to_string())
    }

    /// The JWS signature of `message` with `alg` (RFC 7518 3: ECDSA as the fixed-width `r || s`).
    pub fn sign(&self, alg: Alg, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let rng = SystemRandom::new();
        match &*self.0 {
            Pair::Rsa(pair) => {
                let padding = rsa_padding(alg).ok_or(SignError::WrongAlg(alg))?;
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(padding, &rng, message, &mut out)
                    .map_err(|_| SignError::Failed)?;
                Ok(out)
            }
            Pair::P256(pair) if alg == Alg::ES256 => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignError::Failed),
            Pair::P256(_) => Err(SignError::WrongAlg(alg)),
        }
    }
}

/// ring's padding for an RSA algorithm; `None` for the others.
fn rsa_padding(alg: Alg) -> Option<&'static dyn RsaEncoding> {
    Some(match alg {
        Alg::RS256 => &signature::RSA_PKCS1_SHA256,
        Alg::RS384 => &signature::RSA_PKCS1_SHA384,
        Alg::RS512 => &signature::RSA_PKCS1_SHA512,
        Alg::PS256 => &signature::RSA_PSS_SHA256,
        Alg::PS384 => &signature::RSA_PSS_SHA384,
        Alg::PS512 => &signature::RSA_PSS_SHA512,
        Alg::ES256 | Alg::ES384 | Alg::EdDSA => return None,
    })
}
