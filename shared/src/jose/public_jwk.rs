//! The public half of a client signing key as a JWK (RFC 7517/7518), and its RFC 7638 thumbprint.
//!
//! Built from public components only, so the key set a client publishes at its `jwks_uri` cannot carry a
//! private member (`d`, `p`, `q`, `dp`, `dq`, `qi`) whatever key it was made from: there is no field to hold one.

use super::b64url_encode;
use crate::json::{Object, Value};
use sha2::{Digest, Sha256};

/// A public key as published: RSA (`n`, `e`) or elliptic curve (`crv`, `x`, `y`), values already base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicJwk {
    Rsa { n: String, e: String },
    Ec { crv: String, x: String, y: String },
}

impl PublicJwk {
    /// An RSA key from its big-endian modulus and exponent.
    pub fn rsa(modulus: &[u8], exponent: &[u8]) -> PublicJwk {
        PublicJwk::Rsa {
            n: b64url_encode(strip_leading_zeros(modulus)),
            e: b64url_encode(strip_leading_zeros(exponent)),
        }
    }

    /// A P-256 key from its affine coordinates (32 bytes each).
    pub fn p256(x: &[u8], y: &[u8]) -> PublicJwk {
        PublicJwk::Ec {
            crv: "P-256".into(),
            x: b64url_encode(x),
            y: b64url_encode(y),
        }
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url): the required members in lexicographic order without
    /// whitespace. Used as the `kid` when the configuration gives none, so it is stable across restarts.
    pub fn thumbprint(&self) -> String {
        let canonical = match self {
            PublicJwk::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            PublicJwk::Ec { crv, x, y } => {
                format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
        };
        b64url_encode(&Sha256::digest(canonical.as_bytes()))
    }

    /// The JWK as published: key members, `kid` and `use: sig`. No `alg`: which one signs follows the OP's
    /// discovery document, and an RSA key may sign with RS256 or PS256.
    pub fn to_json(&self, kid: &str) -> Value {
        let mut jwk = Object::new();
        match self {
            PublicJwk::Rsa { n, e } => {
                jwk.push("kty", "RSA");
                jwk.push("n", n.as_str());
                jwk.push("e", e.as_str());
            }
            PublicJwk::Ec { crv, x, y } => {
                jwk.push("kty", "EC");
                jwk.push("crv", crv.as_str());
                jwk.push("x", x.as_str());
                jwk.push("y", y.as_str());
            }
        }
        jwk.push("kid", kid);
        jwk.push("use", "sig");
        jwk.into()
    }
}

/// base64urlUInt (RFC 7518 2): the minimal big-endian octets.
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 3.1's example key and its published thumbprint.
    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk = PublicJwk::Rsa {
            n: n.into(),
            e: "AQAB".into(),
        };
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn the_published_jwk_has_only_public_members() {
        let keys = [
            PublicJwk::rsa(&[0, 0, 0xc3, 0x01], &[1, 0, 1]),
            PublicJwk::p256(&[1; 32], &[2; 32]),
        ];
        for key in keys {
            let json = key.to_json("k1");
            let members: Vec<&str> = json
                .as_object()
                .unwrap()
                .members()
                .map(|(name, _)| name)
                .collect();
            for member in members {
                assert!(
                    ["kty", "n", "e", "crv", "x", "y", "kid", "use"].contains(&member),
                    "{member} in {json:?}"
                );
            }
        }
        assert_eq!(
            PublicJwk::rsa(&[0, 0, 0xc3, 0x01], &[1, 0, 1]),
            PublicJwk::Rsa {
                n: "wwE".into(),
                e: "AQAB".into()
            }
        );
    }
}
