//! `c_hash` and `at_hash` (Core 3.3.2.9/3.3.2.10): the ID token vouches for the code and access token that came
//! with it, which is what stops a code or token from another response being swapped in.

use crate::jose::alg::{Alg, HashAlg};
use crate::jose::b64url_encode;
use sha2::{Digest, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

/// base64url(left half of hash(ASCII value)), with the hash of the ID token's `alg`.
pub fn left_half_hash(alg: Alg, value: &str) -> String {
    let digest: Vec<u8> = match alg.hash() {
        HashAlg::Sha256 => Sha256::digest(value.as_bytes()).to_vec(),
        HashAlg::Sha384 => Sha384::digest(value.as_bytes()).to_vec(),
        HashAlg::Sha512 => Sha512::digest(value.as_bytes()).to_vec(),
    };
    b64url_encode(&digest[..digest.len() / 2])
}

/// Whether `claimed` is the left-half hash of `value`, compared in constant time so the comparison leaks
/// nothing about how much of a forged hash was right.
pub fn hash_matches(alg: Alg, value: &str, claimed: &str) -> bool {
    constant_time_eq(left_half_hash(alg, value).as_bytes(), claimed.as_bytes())
}

/// Constant-time equality for secrets and secret-derived values (state, nonce, hashes).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_size_follows_alg() {
        assert_eq!(left_half_hash(Alg::ES256, "x").len(), 22);
        assert_eq!(left_half_hash(Alg::PS384, "x").len(), 32);
        assert_eq!(left_half_hash(Alg::EdDSA, "x").len(), 43);
        assert!(hash_matches(
            Alg::RS512,
            "code",
            &left_half_hash(Alg::RS512, "code")
        ));
        assert!(!hash_matches(
            Alg::RS256,
            "code",
            &left_half_hash(Alg::RS512, "code")
        ));
    }
}

#[cfg(test)]
mod spec_vectors {
    use super::*;

    /// Core 1.0 Appendix A.4 (`code id_token`).
    #[test]
    fn c_hash_vector() {
        assert_eq!(
            left_half_hash(
                Alg::RS256,
                "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
            ),
            "LDktKdoQak3Pk0cnXxCltA"
        );
    }
}
