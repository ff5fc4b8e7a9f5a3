//! The proof key's public half as a JWK, and its JWK thumbprint (RFC 7638).

use crate::jose::b64url_encode;
use crate::jose::jws::CompactJws;
use crate::jose::public_jwk::PublicJwk;
use crate::json;
use serde::{Deserialize, Serialize};

/// A P-256 public key as JWK (RFC 7518 6.2.1): the only key type this product signs proofs with (ES256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcPublicJwk {
    /// `EC`: checked before a thumbprint is taken, since the thumbprint's members depend on it.
    pub kty: String,
    /// `P-256`, the curve of ES256.
    pub crv: String,
    /// The point's coordinates, 32 bytes each, unpadded base64url (RFC 7518 6.2.1.2-3).
    pub x: String,
    pub y: String,
}

/// Why a JWK cannot be thumbprinted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    /// Not `kty: EC` with `crv: P-256`.
    #[error("the key is not an EC P-256 key")]
    NotP256,
    /// A coordinate that is not 32 bytes of unpadded base64url.
    #[error("the key's `{0}` coordinate is not 32 bytes of base64url")]
    BadCoordinate(&'static str),
}

impl EcPublicJwk {
    /// The JWK of the P-256 point with these 32-byte big-endian coordinates.
    pub fn p256(x: &[u8; 32], y: &[u8; 32]) -> EcPublicJwk {
        EcPublicJwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: b64url_encode(x),
            y: b64url_encode(y),
        }
    }

    /// The RFC 7638 thumbprint: base64url(SHA-256) of the required members in lexicographic order, with no
    /// whitespace. This is what the OP binds a token to (`cnf.jkt`), and what `dpop_jkt` announces.
    pub fn thumbprint(&self) -> Result<String, JwkError> {
        if self.kty != "EC" || self.crv != "P-256" {
            return Err(JwkError::NotP256);
        }
        check_coordinate("x", &self.x)?;
        check_coordinate("y", &self.y)?;
        let public = PublicJwk::Ec {
            crv: self.crv.clone(),
            x: self.x.clone(),
            y: self.y.clone(),
        };
        Ok(public.thumbprint())
    }
}

/// The `cnf.jkt` (RFC 9449 6.1) an access token names when it is a JWT, read without checking its signature:
/// for showing which key a token is bound to, never for trusting it (the resource server checks the token).
pub fn confirmation_jkt(access_token: &str) -> Option<String> {
    let jws = CompactJws::parse(access_token).ok()?;
    let payload = json::parse(jws.payload_unverified()).ok()?;
    // A missing, null or non-object `cnf`, or a `jkt` that is not a string, is no binding shown.
    payload.get("cnf")?.get("jkt")?.as_str().map(str::to_owned)
}

fn check_coordinate(name: &'static str, value: &str) -> Result<(), JwkError> {
    match crate::jose::b64url_decode(value) {
        Some(bytes) if bytes.len() == 32 => Ok(()),
        _ => Err(JwkError::BadCoordinate(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_of_a_jwt_access_token_is_read_and_an_opaque_token_has_none() {
        let jwt = |payload: &str| {
            let header = b64url_encode(br#"{"alg":"RS256"}"#);
            format!("{header}.{}.c2ln", b64url_encode(payload.as_bytes()))
        };
        assert_eq!(
            confirmation_jkt(&jwt(r#"{"cnf":{"jkt":"abc"},"sub":"alice"}"#)).as_deref(),
            Some("abc")
        );
        assert_eq!(confirmation_jkt(&jwt(r#"{"sub":"alice"}"#)), None);
        assert_eq!(confirmation_jkt(&jwt("not json")), None);
        assert_eq!(confirmation_jkt("an-opaque-token"), None);
        assert_eq!(confirmation_jkt("a.b.c.d"), None);
    }

    #[test]
    fn thumbprint_of_a_known_p256_key() {
        // The key of RFC 9449 4.1's example proof.
        let jwk = EcPublicJwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs".into(),
            y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA".into(),
        };
        // RFC 9449 10's `dpop_jkt` for this key (also what the jose npm package computes).
        assert_eq!(
            jwk.thumbprint().unwrap(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
        assert_eq!(jwk.thumbprint().unwrap().len(), 43);
    }

    #[test]
    fn a_key_of_another_type_or_a_bad_coordinate_has_no_thumbprint() {
        let good = EcPublicJwk::p256(&[1; 32], &[2; 32]);
        assert!(good.thumbprint().is_ok());
        let mut rsa = good.clone();
        rsa.kty = "RSA".into();
        assert_eq!(rsa.thumbprint(), Err(JwkError::NotP256));
        let mut short = good.clone();
        short.x = b64url_encode(&[1; 31]);
        assert_eq!(short.thumbprint(), Err(JwkError::BadCoordinate("x")));
        let mut quoted = good;
        quoted.y = "\"}".into();
        assert_eq!(quoted.thumbprint(), Err(JwkError::BadCoordinate("y")));
    }
}
