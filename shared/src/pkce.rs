//! PKCE S256 (RFC 7636 4.2); `plain` is never used (RFC 9700 2.1.1).

use crate::jose::b64url_encode;
use sha2::{Digest, Sha256};

/// The `code_challenge` for a verifier: base64url(SHA-256(ASCII verifier)).
pub fn s256_challenge(verifier: &str) -> String {
    b64url_encode(&Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    /// RFC 7636 Appendix B.
    #[test]
    fn rfc_vector() {
        assert_eq!(
            super::s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
