//! ID token claims (Core 2), read with explicit type checks so a wrong JSON type names the claim at fault.

use crate::error::ValidationError;
use crate::json::{self, Object, Value};
use serde::{Deserialize, Serialize};

/// The claims of an ID token whose signature has been verified. Presence rules (which claim is required when)
/// live in [`super::id_token`], not here, so each rule has one typed error.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    /// `aud` as a list; a single string is normalised to one element.
    pub aud: Vec<String>,
    pub azp: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nonce: Option<String>,
    pub c_hash: Option<String>,
    pub at_hash: Option<String>,
    /// The OP session id, which back-channel logout refers to.
    pub sid: Option<String>,
    pub auth_time: Option<i64>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub preferred_username: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
}

impl IdTokenClaims {
    /// Reads a JWS payload as claims.
    pub fn from_json(payload: &[u8]) -> Result<IdTokenClaims, ValidationError> {
        let obj = json_object(payload)?;
        let r = Reader(&obj);
        Ok(IdTokenClaims {
            iss: r.string("iss")?,
            sub: r.string("sub")?,
            aud: r.audience()?,
            azp: r.string("azp")?,
            exp: r.time("exp")?,
            iat: r.time("iat")?,
            nonce: r.string("nonce")?,
            c_hash: r.string("c_hash")?,
            at_hash: r.string("at_hash")?,
            sid: r.string("sid")?,
            auth_time: r.time("auth_time")?,
            name: r.string("name")?,
            given_name: r.string("given_name")?,
            family_name: r.string("family_name")?,
            preferred_username: r.string("preferred_username")?,
            email: r.string("email")?,
            email_verified: r.boolean("email_verified")?,
        })
    }
}

/// A JWT payload as a JSON object; anything else is `malformed_claims`.
pub(crate) fn json_object(payload: &[u8]) -> Result<Object, ValidationError> {
    match json::parse(payload) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(ValidationError::MalformedClaims {
            reason: "the payload is not a JSON object".into(),
        }),
    }
}

/// Typed reads of claims, each naming the claim when its JSON type is wrong. Shared by every token type.
pub(crate) struct Reader<'a>(pub(crate) &'a Object);

impl Reader<'_> {
    pub(crate) fn wrong(name: &str, expected: &str) -> ValidationError {
        ValidationError::MalformedClaims {
            reason: ["`", name, "` is not ", expected].concat(),
        }
    }

    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, ValidationError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Self::wrong(name, "a string")),
        }
    }

    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, ValidationError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            // Some OPs send "true"/"false"; accepting them costs nothing and nothing depends on it.
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(Self::wrong(name, "a boolean")),
        }
    }

    /// NumericDate (RFC 7519 2): seconds, possibly fractional; truncated to whole seconds.
    pub(crate) fn time(&self, name: &str) -> Result<Option<i64>, ValidationError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)) {
                Some(t) => Ok(Some(t)),
                None => Err(Self::wrong(name, "a time")),
            },
            Some(_) => Err(Self::wrong(name, "a number")),
        }
    }

    pub(crate) fn audience(&self) -> Result<Vec<String>, ValidationError> {
        match self.0.get("aud") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| Self::wrong("aud", "a list of strings"))
                })
                .collect(),
            Some(_) => Err(Self::wrong("aud", "a string or a list of strings")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_claims_and_normalises_aud() {
        let c = IdTokenClaims::from_json(
            br#"{"iss":"i","sub":"s","aud":"a","exp":10,"iat":1.5,"name":"N"}"#,
        )
        .unwrap();
        assert_eq!(c.aud, vec!["a"]);
        assert_eq!(c.iat, Some(1));
        assert_eq!(c.user().name.as_deref(), Some("N"));
    }

    #[test]
    fn wrong_types_name_the_claim() {
        let e = IdTokenClaims::from_json(br#"{"sub":5}"#).unwrap_err();
        assert!(e.to_string().contains("`sub`"), "{e}");
        assert!(IdTokenClaims::from_json(br#"{"aud":[1]}"#).is_err());
        assert!(IdTokenClaims::from_json(br#"{"exp":"tomorrow"}"#).is_err());
        assert!(IdTokenClaims::from_json(b"[]").is_err());
    }
}
