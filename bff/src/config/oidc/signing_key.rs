//! One client signing key for `private_key_jwt`, read from the configuration as a PEM block (PKCS#8, PKCS#1 or
//! SEC1) or a private JWK, into what signs (ring's key pair, [`Signer`]) and what is published (its public JWK).
//!
//! Every refusal says what the text is, never what it contains: the text is a private key.

use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::DecodePrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey};
use serde::Deserialize;
use shared::client_assertion::KeyFamily;
use shared::jose::b64url_decode;
use shared::jose::public_jwk::PublicJwk;
use std::fmt;

mod signer;
pub use signer::Signer;

/// The smallest RSA modulus accepted (NIST SP 800-131A; the signer refuses shorter keys too).
const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus ring signs with.
const MAX_RSA_BITS: usize = 4096;
/// The smallest public exponent ring signs with (the usual one; 3 and other small ones are refused).
const MIN_RSA_EXPONENT: u64 = 65537;

/// A parsed signing key.
#[derive(Clone)]
pub struct SigningKey {
    pub family: KeyFamily,
    pub signer: Signer,
    pub public: PublicJwk,
    /// The JWK's own `kid` when it has one, else the key's RFC 7638 thumbprint.
    pub kid: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?}, kid {})", self.family, self.kid)
    }
}

/// Why a configured key cannot sign a client assertion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "is a symmetric key (a shared secret); private_key_jwt needs an RSA or P-256 private key"
    )]
    Symmetric,
    #[error("is a public key or certificate; the private key is needed to sign")]
    PublicOnly,
    #[error(
        "is an encrypted PEM key; give it unencrypted (from a secret store or the environment)"
    )]
    Encrypted,
    #[error("is neither a PEM block nor a JWK")]
    NotAKey,
    #[error("does not parse as {0}")]
    Malformed(&'static str),
    #[error("is of a kind that cannot sign here ({0}); use RSA (2048 to 4096 bits, public exponent 65537) or P-256")]
    Unsupported(String),
}

impl SigningKey {
    /// Reads one key from its configuration text: a JWK object (`{...}`) or a PEM block.
    pub fn parse(text: &str) -> Result<SigningKey, KeyError> {
        let text = text.trim();
        if text.starts_with('{') {
            from_jwk(text)
        } else if text.starts_with("-----BEGIN ") {
            let (label, der) = pem(text)?;
            from_pem(&label, &der)
        } else {
            Err(KeyError::NotAKey)
        }
    }

    fn rsa(key: RsaPrivateKey, kid: Option<String>) -> Result<SigningKey, KeyError> {
        let bits = key.size() * 8;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyError::Unsupported(format!("RSA of {bits} bits")));
        }
        if key.e() < &BigUint::from(MIN_RSA_EXPONENT) {
            return Err(KeyError::Unsupported(
                "RSA with a public exponent below 65537".into(),
            ));
        }
        let der = key
            .to_pkcs1_der()
            .map_err(|_| KeyError::Malformed("an RSA key"))?;
        let signer = Signer::rsa(der.as_bytes()).map_err(|_| KeyError::Malformed("an RSA key"))?;
        let public = PublicJwk::rsa(&key.n().to_bytes_be(), &key.e().to_bytes_be());
        Ok(SigningKey {
            family: KeyFamily::Rsa,
            signer,
            kid: kid.unwrap_or_else(|| public.thumbprint()),
            public,
        })
    }

    fn p256(key: p256::SecretKey, kid: Option<String>) -> Result<SigningKey, KeyError> {
        let point = key.public_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(KeyError::Malformed("a P-256 key"));
        };
        let signer = Signer::p256(&key.to_bytes(), point.as_bytes())
            .map_err(|_| KeyError::Malformed("a P-256 key"))?;
        let public = PublicJwk::p256(x, y);
        Ok(SigningKey {
            family: KeyFamily::P256,
            signer,
            kid: kid.unwrap_or_else(|| public.thumbprint()),
            public,
        })
    }
}

/// The label and the DER body of one PEM block (RFC 7468), refusing anything after its end line.
fn pem(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let malformed = KeyError::Malformed("a PEM block");
    let mut lines = text.lines().map(str::trim);
    let label = lines
        .next()
        .and_then(|l| l.strip_prefix("-----BEGIN "))
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or(malformed.clone())?
        .to_owned();
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines.by_ref() {
        if line == end {
            ended = true;
            break;
        }
        body.push_str(line);
    }
    if !ended || lines.any(|l| !l.is_empty()) {
        return Err(malformed);
    }
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| malformed)?;
    Ok((label, der))
}

fn from_pem(label: &str, der: &[u8]) -> Result<SigningKey, KeyError> {
    match label {
        "PRIVATE KEY" => {
            if let Ok(key) = RsaPrivateKey::from_pkcs8_der(der) {
                SigningKey::rsa(key, None)
            } else if let Ok(key) = p256::SecretKey::from_pkcs8_der(der) {
                SigningKey::p256(key, None)
            } else {
                Err(KeyError::Unsupported(
                    "a PKCS#8 key that is neither RSA nor P-256".into(),
                ))
            }
        }
        "RSA PRIVATE KEY" => SigningKey::rsa(
            RsaPrivateKey::from_pkcs1_der(der).map_err(|_| KeyError::Malformed("an RSA key"))?,
            None,
        ),
        "EC PRIVATE KEY" => SigningKey::p256(
            p256::SecretKey::from_sec1_der(der).map_err(|_| {
                KeyError::Unsupported("an EC key not on P-256, or malformed".into())
            })?,
            None,
        ),
        "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
        "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => Err(KeyError::PublicOnly),
        _ => Err(KeyError::Unsupported(format!(
            "a PEM block labelled {:?}",
            label.chars().take(40).collect::<String>()
        ))),
    }
}

/// The members of a private JWK this reads; others (`use`, `alg`, `dp`, ...) are ignored.
#[derive(Deserialize)]
struct PrivateJwk {
    kty: String,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    d: Option<String>,
    p: Option<String>,
    q: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

fn from_jwk(text: &str) -> Result<SigningKey, KeyError> {
    let jwk: PrivateJwk = serde_json::from_str(text)
        .map_err(|_| KeyError::Malformed("a JWK (JSON object with `kty`)"))?;
    let member = |value: &Option<String>| value.as_deref().and_then(b64url_decode);
    match jwk.kty.as_str() {
        "oct" => Err(KeyError::Symmetric),
        "RSA" => {
            let d = member(&jwk.d).ok_or(KeyError::PublicOnly)?;
            let malformed = || KeyError::Malformed("an RSA JWK (n, e, d, p, q)");
            let [n, e, p, q] = [&jwk.n, &jwk.e, &jwk.p, &jwk.q].map(member);
            let (Some(n), Some(e), Some(p), Some(q)) = (n, e, p, q) else {
                return Err(malformed());
            };
            let key = RsaPrivateKey::from_components(
                BigUint::from_bytes_be(&n),
                BigUint::from_bytes_be(&e),
                BigUint::from_bytes_be(&d),
                vec![BigUint::from_bytes_be(&p), BigUint::from_bytes_be(&q)],
            )
            .map_err(|_| malformed())?;
            key.validate().map_err(|_| malformed())?;
            SigningKey::rsa(key, jwk.kid)
        }
        "EC" => {
            if jwk.crv.as_deref() != Some("P-256") {
                return Err(KeyError::Unsupported("an EC JWK not on P-256".into()));
            }
            let d = member(&jwk.d).ok_or(KeyError::PublicOnly)?;
            let malformed = || KeyError::Malformed("a P-256 JWK (x, y, d)");
            if d.len() != 32 {
                return Err(malformed());
            }
            let key = p256::SecretKey::from_slice(&d).map_err(|_| malformed())?;
            let key = SigningKey::p256(key, jwk.kid)?;
            let PublicJwk::Ec { x, y, .. } = &key.public else {
                return Err(malformed());
            };
            // The published half must be the one the JWK states, or an OP holding the stated key refuses us.
            if jwk.x.as_ref() != Some(x) || jwk.y.as_ref() != Some(y) {
                return Err(KeyError::Malformed("a P-256 JWK whose x, y match its d"));
            }
            Ok(key)
        }
        other => Err(KeyError::Unsupported(format!(
            "a JWK of kty {:?}",
            other.chars().take(10).collect::<String>()
        ))),
    }
}

#[cfg(test)]
mod tests;
