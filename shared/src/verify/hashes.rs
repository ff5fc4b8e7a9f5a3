//! `c_hash` and `at_hash` (Core 3.3.2.9/3.3.2.10): the ID token vouches for the code and access token that came
//! with it, which is what stops a code or token from another response being swapped in.

use crate::jose::alg::{Alg, HashAlg};
use crate::jose::b64url_encode;
use crate::verify::SignatureVerifier;
use sha2::{Digest, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

/// base64url(left half of hash(ASCII value)), with the hash of the ID token's `alg`.
pub fn left_half_hash(alg: Alg, value: &str) -> String {
    left_half(&sha2_digest(alg.hash(), value.as_bytes()))
}

/// The SHA-2 digest with the sha2 crate: the default of [`SignatureVerifier::digest`].
pub fn sha2_digest(hash: HashAlg, data: &[u8]) -> Vec<u8> {
    match hash {
        HashAlg::Sha256 => Sha256::digest(data).to_vec(),
        HashAlg::Sha384 => Sha384::digest(data).to_vec(),
        HashAlg::Sha512 => Sha512::digest(data).to_vec(),
    }
}

fn left_half(digest: &[u8]) -> String {
    b64url_encode(&digest[..digest.len() / 2])
}

/// Whether `claimed` is the left-half hash of `value`, compared in constant time so the comparison leaks
/// nothing about how much of a forged hash was right.
pub fn hash_matches(alg: Alg, value: &str, claimed: &str) -> bool {
    constant_time_eq(left_half_hash(alg, value).as_bytes(), claimed.as_bytes())
}

/// [`hash_matches`] with the tier's own digest ([`SignatureVerifier::digest`]): the browser hashes with WebCrypto,
/// so its wasm carries no SHA-2 code. The rule (left half, base64url, constant-time comparison) is the same.
pub async fn hash_matches_with<V: SignatureVerifier>(
    verifier: &V,
    alg: Alg,
    value: &str,
    claimed: &str,
) -> bool {
    let digest = verifier.digest(alg.hash(), value.as_bytes()).await;
    // A platform that could not hash gives no digest: never a match.
    !digest.is_empty() && constant_time_eq(left_half(&digest).as_bytes(), claimed.as_bytes())
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
mod platform_digest {
    use super::*;
    use crate::jose::jwks::Jwk;
    use futures_executor::block_on;

    /// A verifier whose platform hashes nothing (no WebCrypto): its digest is empty.
    struct NoDigest;

    impl SignatureVerifier for NoDigest {
        async fn verify(&self, _: Alg, _: &Jwk, _: &[u8], _: &[u8]) -> bool {
            true
        }
        async fn digest(&self, _: HashAlg, _: &[u8]) -> Vec<u8> {
            Vec::new()
        }
    }

    /// The default digest: only `verify` written, as the BFF's verifier.
    struct Sha2Default;

    impl SignatureVerifier for Sha2Default {
        async fn verify(&self, _: Alg, _: &Jwk, _: &[u8], _: &[u8]) -> bool {
            true
        }
    }

    #[test]
    fn the_platform_digest_gives_the_same_answer() {
        for alg in [Alg::RS256, Alg::ES384, Alg::PS512, Alg::EdDSA] {
            let good = left_half_hash(alg, "code");
            assert!(
                block_on(hash_matches_with(&Sha2Default, alg, "code", &good)),
                "{alg:?}"
            );
            assert!(
                !block_on(hash_matches_with(&Sha2Default, alg, "other", &good)),
                "{alg:?}"
            );
        }
        // No digest never matches, not even an empty claim.
        assert!(!block_on(hash_matches_with(
            &NoDigest,
            Alg::RS256,
            "code",
            ""
        )));
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
