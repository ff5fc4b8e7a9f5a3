//! The JOSE pieces an RP needs, and nothing more: compact JWS parsing ([`jws`]), key sets and key choice
//! ([`jwks`]) and the algorithm allowlist ([`alg`]). Signature maths is not here: each tier plugs in its own
//! verifier (WebCrypto in the browser, jsonwebtoken on the server) through [`crate::verify::SignatureVerifier`].

pub mod alg;
pub mod jwks;
pub mod jws;
pub mod public_jwk;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Decodes unpadded base64url, the only encoding JOSE uses; padded or standard base64 is refused.
pub fn b64url_decode(input: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(input).ok()
}

/// Encodes as unpadded base64url.
pub fn b64url_encode(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(input)
}
