//! The OP's JSON Web Key Set (RFC 7517) and the choice of key for a JWS header.
//!
//! Key choice, documented because the certification plan allows two answers: with a `kid`, only keys with that
//! kid are tried; **without a `kid`, every key whose type, curve, `alg` and `use` fit the token's algorithm is
//! tried** (Core 10.1 lets the OP omit kid when unambiguous; trying each fitting key accepts that case and is
//! as safe as rejecting, because a signature still has to verify).

use super::alg::Alg;
use super::jws::JwsHeader;
use crate::error::ValidationError;
use crate::json::{self, Object, Value};
use serde::{Deserialize, Serialize};

/// Upper bound for a key set document. Real ones are 1-10 KiB.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Upper bound for the number of keys considered.
const MAX_KEYS: usize = 64;

/// One public key, with only the members a verifier needs. Members are kept as the base64url strings the OP
/// sent, which is what both WebCrypto (`importKey("jwk")`) and jsonwebtoken take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

impl Jwk {
    /// Whether this key can check a signature made with `alg`: right key type and curve, has its public
    /// members, is meant for signatures, and names no other algorithm.
    pub fn fits(&self, alg: Alg) -> bool {
        let for_signing = self.use_.as_deref().is_none_or(|u| u == "sig")
            && self
                .key_ops
                .as_ref()
                .is_none_or(|ops| ops.iter().any(|o| o == "verify"));
        let alg_matches = self.alg.as_deref().is_none_or(|a| a == alg.name());
        let shape = match alg {
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
                self.kty == "RSA" && self.n.is_some() && self.e.is_some()
            }
            Alg::ES256 => self.is_ec("P-256"),
            Alg::ES384 => self.is_ec("P-384"),
            Alg::EdDSA => {
                self.kty == "OKP" && self.crv.as_deref() == Some("Ed25519") && self.x.is_some()
            }
        };
        for_signing && alg_matches && shape
    }

    /// A key from one member of the set's `keys`, read as its derived `Deserialize` would (absent or `null`
    /// members are `None`, unknown ones ignored, a member of the wrong type makes the key unreadable), but from
    /// the already parsed object: no second, `Value`-driven deserialiser in the SPA's wasm.
    fn from_object(object: &Object) -> Option<Jwk> {
        let text = |name: &str| match object.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => None,
        };
        let key_ops = match object.get("key_ops") {
            None | Some(Value::Null) => None,
            Some(Value::Array(ops)) => Some(
                ops.iter()
                    .map(|op| op.as_str().map(str::to_owned))
                    .collect::<Option<Vec<String>>>()?,
            ),
            Some(_) => return None,
        };
        Some(Jwk {
            kty: text("kty")??,
            kid: text("kid")?,
            use_: text("use")?,
            alg: text("alg")?,
            key_ops,
            n: text("n")?,
            e: text("e")?,
            crv: text("crv")?,
            x: text("x")?,
            y: text("y")?,
        })
    }

    fn is_ec(&self, curve: &str) -> bool {
        self.kty == "EC"
            && self.crv.as_deref() == Some(curve)
            && self.x.is_some()
            && self.y.is_some()
    }
}

/// A parsed key set. Keys with unreadable members are skipped (an OP may publish key types this product does
/// not know); a document that is not a key set at all is an error.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// Parses a `jwks_uri` response body.
    pub fn parse(body: &[u8]) -> Result<JwkSet, ValidationError> {
        let bad = |reason: &str| ValidationError::BadJwks {
            reason: reason.to_owned(),
        };
        if body.len() > MAX_JWKS_BYTES {
            return Err(bad("it is too large"));
        }
        let doc = json::parse(body).map_err(|_| bad("it is not JSON"))?;
        let Some(Value::Array(raw_keys)) = doc.get("keys") else {
            return Err(bad("it has no `keys` array"));
        };
        let keys = raw_keys
            .iter()
            .take(MAX_KEYS)
            // A key is a JSON object (RFC 7517 4); serde would also read a struct from an array.
            .filter_map(|k| Jwk::from_object(k.as_object()?))
            .collect();
        Ok(JwkSet { keys })
    }

    /// Whether some key carries this kid: the BFF fetches the set again when it does not (Core 10.1.1).
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The keys to try for a token with this header (see the module doc for the rule).
    pub fn candidates(&self, header: &JwsHeader) -> Result<Vec<&Jwk>, ValidationError> {
        let fitting = self.keys.iter().filter(|k| k.fits(header.alg));
        let chosen: Vec<&Jwk> = match &header.kid {
            Some(kid) => {
                if !self.has_kid(kid) {
                    return Err(ValidationError::UnknownKid);
                }
                fitting
                    .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                    .collect()
            }
            None => fitting.collect(),
        };
        if chosen.is_empty() {
            return Err(ValidationError::NoUsableKey);
        }
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_read_as_its_derived_deserialize_reads_it() {
        let cases = [
            r#"{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","n":"AQAB","e":"AQAB","extra":[1]}"#,
            r#"{"kty":"EC","crv":"P-256","x":"eA","y":"eQ","key_ops":["verify","sign"]}"#,
            r#"{"kty":"OKP","crv":"Ed25519","x":"eA","kid":null,"key_ops":null}"#,
            r#"{"kid":"no-kty"}"#,
            r#"{"kty":null}"#,
            r#"{"kty":"RSA","n":5}"#,
            r#"{"kty":"RSA","key_ops":"verify"}"#,
            r#"{"kty":"RSA","key_ops":["verify",1]}"#,
            r#"{"kty":"RSA","kid":{"a":1}}"#,
            r#"{"kty":7}"#,
        ];
        for case in cases {
            let value = json::parse(case.as_bytes()).unwrap();
            let derived = serde_json::from_str::<Jwk>(case).ok();
            assert_eq!(
                Jwk::from_object(value.as_object().unwrap()),
                derived,
                "{case}"
            );
        }
    }

    fn header(alg: Alg, kid: Option<&str>) -> JwsHeader {
        JwsHeader {
            alg,
            kid: kid.map(str::to_owned),
            typ: None,
        }
    }

    const SET: &str = r#"{"keys":[
        {"kty":"RSA","kid":"r1","use":"sig","n":"AQAB","e":"AQAB"},
        {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
        {"kty":"EC","kid":"e1","crv":"P-256","x":"AA","y":"AA"},
        {"kty":"weird","kid":5},
        {"kty":"RSA","kid":"r2","alg":"PS256","n":"AQAB","e":"AQAB"}
    ]}"#;

    #[test]
    fn kid_selects_exactly() {
        let set = JwkSet::parse(SET.as_bytes()).unwrap();
        let c = set.candidates(&header(Alg::RS256, Some("r1"))).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(
            set.candidates(&header(Alg::RS256, Some("nope"))),
            Err(ValidationError::UnknownKid)
        );
        assert_eq!(
            set.candidates(&header(Alg::RS256, Some("e1"))),
            Err(ValidationError::NoUsableKey)
        );
        assert_eq!(
            set.candidates(&header(Alg::RS256, Some("enc"))),
            Err(ValidationError::NoUsableKey)
        );
    }

    #[test]
    fn no_kid_tries_every_fitting_key() {
        let set = JwkSet::parse(SET.as_bytes()).unwrap();
        let c = set.candidates(&header(Alg::RS256, None)).unwrap();
        assert_eq!(
            c.iter()
                .map(|k| k.kid.as_deref().unwrap())
                .collect::<Vec<_>>(),
            vec!["r1"]
        );
        let c = set.candidates(&header(Alg::PS256, None)).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            set.candidates(&header(Alg::EdDSA, None)),
            Err(ValidationError::NoUsableKey)
        );
    }

    #[test]
    fn refuses_non_key_sets() {
        for bad in ["", "[]", "{}", r#"{"keys":{}}"#, "null"] {
            assert_eq!(
                JwkSet::parse(bad.as_bytes()).unwrap_err().rule(),
                "bad_jwks",
                "{bad}"
            );
        }
        assert_eq!(
            JwkSet::parse(br#"{"keys":[1,"x",null]}"#)
                .unwrap()
                .keys
                .len(),
            0
        );
    }
}
