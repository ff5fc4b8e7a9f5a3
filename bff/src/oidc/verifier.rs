//! Signature checking on the server with `ring`, the crypto library rustls already links for TLS, so verifying
//! adds no crypto stack and no C build of its own. RS256 with ring costs a small fraction of what pure-Rust
//! RSA costs, and it runs on every login, refresh, signed userinfo and back-channel logout.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{self, RsaParameters, RsaPublicKeyComponents, UnparsedPublicKey};
use shared::jose::alg::Alg;
use shared::jose::jwks::Jwk;
use shared::verify::SignatureVerifier;

/// [`SignatureVerifier`] backed by ring. Key choice and the algorithm allowlist happened before this is called
/// (in `shared`); this only does the maths.
pub struct RingVerifier;

impl SignatureVerifier for RingVerifier {
    async fn verify(&self, alg: Alg, key: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool {
        check(alg, key, signing_input, signature).is_some()
    }
}

/// `Some` only for a good signature; `None` for a bad one and for a key that cannot be read, so the caller
/// tries the next candidate either way.
fn check(alg: Alg, key: &Jwk, message: &[u8], sig: &[u8]) -> Option<()> {
    if let Some(params) = rsa_params(alg) {
        let n = decode(key.n.as_deref()?)?;
        let e = decode(key.e.as_deref()?)?;
        // ring wants both without leading zeros; a JWK should have none, but some encoders add one.
        let components = RsaPublicKeyComponents {
            n: strip_zeros(&n),
            e: strip_zeros(&e),
        };
        return components.verify(params, message, sig).ok();
    }
    match alg {
        Alg::ES256 | Alg::ES384 => {
            let (params, len): (&'static signature::EcdsaVerificationAlgorithm, usize) =
                if alg == Alg::ES256 {
                    (&signature::ECDSA_P256_SHA256_FIXED, 32)
                } else {
                    (&signature::ECDSA_P384_SHA384_FIXED, 48)
                };
            let x = decode(key.x.as_deref()?)?;
            let y = decode(key.y.as_deref()?)?;
            if x.len() != len || y.len() != len {
                return None;
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            UnparsedPublicKey::new(params, point)
                .verify(message, sig)
                .ok()
        }
        Alg::EdDSA => {
            let x = decode(key.x.as_deref()?)?;
            UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(message, sig)
                .ok()
        }
        Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => None,
    }
}

/// ring's parameters for an RSA algorithm (keys of 2048 to 8192 bits: RFC 7518 requires at least 2048), `None`
/// for the others.
fn rsa_params(alg: Alg) -> Option<&'static RsaParameters> {
    match alg {
        Alg::RS256 => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
        Alg::RS384 => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
        Alg::RS512 => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
        Alg::PS256 => Some(&signature::RSA_PSS_2048_8192_SHA256),
        Alg::PS384 => Some(&signature::RSA_PSS_2048_8192_SHA384),
        Alg::PS512 => Some(&signature::RSA_PSS_2048_8192_SHA512),
        Alg::ES256 | Alg::ES384 | Alg::EdDSA => None,
    }
}

fn decode(member: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(member).ok()
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
    use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
    use rsa::traits::PublicKeyParts;
    use rsa::RsaPrivateKey;
    use shared::jose::b64url_encode;

    const MESSAGE: &[u8] = b"header.payload";

    fn jwk(value: serde_json::Value) -> Jwk {
        serde_json::from_value(value).unwrap()
    }

    fn rsa_key(bits: usize) -> (RsaPrivateKey, Jwk) {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), bits).unwrap();
        let public = jwk(serde_json::json!({
            "kty": "RSA", "n": b64url_encode(&key.n().to_bytes_be()), "e": b64url_encode(&key.e().to_bytes_be()),
        }));
        (key, public)
    }

    fn verify(alg: Alg, key: &Jwk, signature: &[u8]) -> bool {
        futures_util::FutureExt::now_or_never(RingVerifier.verify(alg, key, MESSAGE, signature))
            .unwrap()
    }

    /// A good signature passes; the same with one byte changed, or checked as another algorithm, does not.
    fn accepts_only(alg: Alg, other: Alg, key: &Jwk, mut signature: Vec<u8>) {
        assert!(verify(alg, key, &signature), "{alg:?}");
        assert!(!verify(other, key, &signature), "{alg:?} as {other:?}");
        signature[5] ^= 1;
        assert!(!verify(alg, key, &signature), "{alg:?} tampered");
    }

    #[test]
    fn rsa_pkcs1_and_pss() {
        let (key, public) = rsa_key(2048);
        let pkcs1 = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
        accepts_only(
            Alg::RS256,
            Alg::RS384,
            &public,
            pkcs1.sign(MESSAGE).to_vec(),
        );
        let pss = rsa::pss::SigningKey::<sha2::Sha256>::new(key);
        let signature = pss.sign_with_rng(&mut rand::thread_rng(), MESSAGE).to_vec();
        accepts_only(Alg::PS256, Alg::RS256, &public, signature);
    }

    #[test]
    fn rsa_modulus_with_a_leading_zero_still_verifies() {
        let (key, _) = rsa_key(2048);
        let mut n = vec![0];
        n.extend(key.n().to_bytes_be());
        let public = jwk(serde_json::json!({
            "kty": "RSA", "n": b64url_encode(&n), "e": b64url_encode(&key.e().to_bytes_be()),
        }));
        let pkcs1 = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
        assert!(verify(Alg::RS256, &public, &pkcs1.sign(MESSAGE).to_vec()));
    }

    #[test]
    fn rsa_keys_under_2048_bits_are_refused() {
        let (key, public) = rsa_key(1024);
        let pkcs1 = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
        assert!(!verify(Alg::RS256, &public, &pkcs1.sign(MESSAGE).to_vec()));
    }

    #[test]
    fn ecdsa_p256_and_p384() {
        let rng = SystemRandom::new();
        for (alg, other, signing, len) in [
            (
                Alg::ES256,
                Alg::ES384,
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                32,
            ),
            (
                Alg::ES384,
                Alg::ES256,
                &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                48,
            ),
        ] {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &rng).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref(), &rng).unwrap();
            let point = pair.public_key().as_ref();
            let public = jwk(serde_json::json!({
                "kty": "EC", "crv": if len == 32 { "P-256" } else { "P-384" },
                "x": b64url_encode(&point[1..1 + len]), "y": b64url_encode(&point[1 + len..]),
            }));
            let signature = pair.sign(&rng, MESSAGE).unwrap().as_ref().to_vec();
            accepts_only(alg, other, &public, signature);
        }
    }

    #[test]
    fn ed25519() {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let public = jwk(serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": b64url_encode(pair.public_key().as_ref()),
        }));
        accepts_only(
            Alg::EdDSA,
            Alg::ES256,
            &public,
            pair.sign(MESSAGE).as_ref().to_vec(),
        );
    }

    #[test]
    fn a_key_missing_its_members_is_no_match() {
        let public = jwk(serde_json::json!({ "kty": "RSA" }));
        assert!(!verify(Alg::RS256, &public, &[0; 256]));
    }
}
