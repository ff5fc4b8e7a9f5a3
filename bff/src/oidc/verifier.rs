//! Signature checking on the server, with jsonwebtoken's RustCrypto backend (`rsa`, `p256`, `p384`,
//! `ed25519-dalek`: the crates the BFF's own keys use already), so no C crypto library and its cmake build is in
//! the graph. Pure-Rust RSA is slower (~190 µs per RS256 ID token against ~22 µs with AWS-LC); it runs once per
//! login or refresh, beside a round trip to the OP.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use shared::jose::alg::Alg;
use shared::jose::jwks::Jwk;
use shared::verify::SignatureVerifier;

/// [`SignatureVerifier`] backed by jsonwebtoken. Key choice and the algorithm allowlist happened before this
/// is called (in `shared`); this only does the maths.
pub struct JwtVerifier;

impl SignatureVerifier for JwtVerifier {
    async fn verify(&self, alg: Alg, key: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool {
        let Some(decoding_key) = decoding_key(alg, key) else {
            return false;
        };
        let signature = URL_SAFE_NO_PAD.encode(signature);
        jsonwebtoken::crypto::verify(&signature, signing_input, &decoding_key, algorithm(alg))
            .unwrap_or(false)
    }
}

fn decoding_key(alg: Alg, key: &Jwk) -> Option<DecodingKey> {
    match alg {
        Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
            DecodingKey::from_rsa_components(key.n.as_deref()?, key.e.as_deref()?).ok()
        }
        Alg::ES256 | Alg::ES384 => {
            DecodingKey::from_ec_components(key.x.as_deref()?, key.y.as_deref()?).ok()
        }
        Alg::EdDSA => DecodingKey::from_ed_components(key.x.as_deref()?).ok(),
    }
}

/// jsonwebtoken's name for `alg`, for verifying here and for signing client assertions.
pub(crate) fn algorithm(alg: Alg) -> Algorithm {
    match alg {
        Alg::RS256 => Algorithm::RS256,
        Alg::RS384 => Algorithm::RS384,
        Alg::RS512 => Algorithm::RS512,
        Alg::PS256 => Algorithm::PS256,
        Alg::PS384 => Algorithm::PS384,
        Alg::PS512 => Algorithm::PS512,
        Alg::ES256 => Algorithm::ES256,
        Alg::ES384 => Algorithm::ES384,
        Alg::EdDSA => Algorithm::EdDSA,
    }
}
