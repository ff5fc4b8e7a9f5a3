//! Compact JWS parsing (RFC 7515 7.1): split, decode, and read the protected header, with every failure typed.

use super::alg::Alg;
use super::b64url_decode;
use crate::error::ValidationError;
use crate::json::{self, Object, Value};

/// Upper bound for one compact JWS. Honest ID tokens and JWT access tokens are 1-4 KiB.
pub const MAX_JWS_BYTES: usize = 16 * 1024;

/// The protected header fields this product acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwsHeader {
    pub alg: Alg,
    pub kid: Option<String>,
    pub typ: Option<String>,
}

/// A compact JWS split and decoded, **not yet verified**. The only way to its claims is through
/// [`crate::verify::verify_signature`], so unverified claims cannot be used by mistake.
#[derive(Debug, Clone)]
pub struct CompactJws {
    header: JwsHeader,
    signing_input: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl CompactJws {
    /// Parses `header.payload.signature`. Refuses `alg: none`, HMAC, unknown algs and any `crit` header
    /// (this product understands no JWS extension, so RFC 7515 4.1.11 says reject).
    pub fn parse(token: &str) -> Result<CompactJws, ValidationError> {
        let malformed = |reason: &str| ValidationError::MalformedToken {
            reason: reason.to_owned(),
        };
        if token.len() > MAX_JWS_BYTES {
            return Err(malformed("it is too large"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("it does not have three parts"));
        };
        let header_bytes =
            b64url_decode(h).ok_or_else(|| malformed("its header is not base64url"))?;
        let Ok(Value::Object(header)) = json::parse(&header_bytes) else {
            return Err(malformed("its header is not a JSON object"));
        };
        let header = read_header(&header)?;
        let payload = b64url_decode(p).ok_or_else(|| malformed("its payload is not base64url"))?;
        let signature =
            b64url_decode(s).ok_or_else(|| malformed("its signature is not base64url"))?;
        if signature.is_empty() {
            return Err(ValidationError::BadSignature);
        }
        Ok(CompactJws {
            header,
            signing_input: [h, ".", p].concat(),
            payload,
            signature,
        })
    }

    /// The protected header.
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// The bytes the signature covers (`base64url(header) || '.' || base64url(payload)`).
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The raw signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The payload, for the verifier module only: callers get claims through signature verification.
    pub(crate) fn payload_unverified(&self) -> &[u8] {
        &self.payload
    }

    /// The `iat` claim *before* any verification, so anyone could have written it. Only for decisions that an
    /// attacker may steer without harm, such as whether a key-set refetch for an unknown kid could help (a
    /// forged token can claim any `iat`, so the refetch budget must hold on its own).
    pub fn unverified_iat(&self) -> Option<i64> {
        let claims = json::parse(&self.payload).ok()?;
        claims.get("iat")?.as_i64()
    }
}

fn read_header(header: &Object) -> Result<JwsHeader, ValidationError> {
    let malformed = |reason: &str| ValidationError::MalformedToken {
        reason: reason.to_owned(),
    };
    if header.contains_key("crit") {
        return Err(ValidationError::CritUnsupported);
    }
    let alg = match header.get("alg") {
        Some(Value::String(a)) => Alg::from_header(a)?,
        Some(_) => return Err(malformed("its alg is not a string")),
        None => return Err(malformed("it has no alg")),
    };
    let optional_string = |name: &str| match header.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(v)) => Ok(Some(v.clone())),
        Some(_) => Err(malformed(&["its ", name, " is not a string"].concat())),
    };
    Ok(JwsHeader {
        alg,
        kid: optional_string("kid")?,
        typ: optional_string("typ")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::b64url_encode;

    fn token(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            b64url_encode(header.as_bytes()),
            b64url_encode(payload.as_bytes())
        )
    }

    #[test]
    fn parses_a_well_formed_token() {
        let jws = CompactJws::parse(&token(r#"{"alg":"RS256","kid":"k1"}"#, "{}")).unwrap();
        assert_eq!(jws.header().alg, Alg::RS256);
        assert_eq!(jws.header().kid.as_deref(), Some("k1"));
        assert_eq!(jws.signature(), b"sig");
    }

    #[test]
    fn refuses_bad_shapes() {
        for bad in ["", "a", "a.b", "a.b.c.d", "!!.e30.c2ln", "e30.e30.c2ln"] {
            assert!(CompactJws::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            CompactJws::parse(&token(r#"{"alg":5}"#, "{}"))
                .unwrap_err()
                .rule(),
            "malformed_token"
        );
        assert_eq!(
            CompactJws::parse(&token(r#"{"alg":"none"}"#, "{}"))
                .unwrap_err()
                .rule(),
            "alg_none"
        );
        assert_eq!(
            CompactJws::parse(&token(r#"{"alg":"RS256","crit":["exp"]}"#, "{}"))
                .unwrap_err()
                .rule(),
            "crit_unsupported"
        );
        assert_eq!(
            CompactJws::parse(&token(r#"{"alg":"RS256","kid":1}"#, "{}"))
                .unwrap_err()
                .rule(),
            "malformed_token"
        );
    }
}
