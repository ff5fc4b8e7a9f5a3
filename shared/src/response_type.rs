//! The hybrid response types this product supports, compared as sets of words (OPs differ in word order:
//! glewlwyd says `code token id_token`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A hybrid `response_type`. Plain `code` and implicit types are deliberately absent: the product exists to
/// show the user from a front-channel response *and* keep the API tokens on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(try_from = "String", into = "String")]
pub enum ResponseType {
    /// `code id_token`: the default; no access token in the front channel (RFC 9700 2.1.2).
    #[default]
    CodeIdToken,
    /// `code token`: no front-channel ID token; the user is known only after the code exchange.
    CodeToken,
    /// `code id_token token`: the front-channel access token is checked (at_hash) and then discarded.
    CodeIdTokenToken,
}

impl ResponseType {
    /// All supported types, in the order they are documented.
    pub const ALL: [ResponseType; 3] = [Self::CodeIdToken, Self::CodeToken, Self::CodeIdTokenToken];

    /// The canonical spelling sent to the OP.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodeIdToken => "code id_token",
            Self::CodeToken => "code token",
            Self::CodeIdTokenToken => "code id_token token",
        }
    }

    /// Whether the front channel carries an ID token (so the user can be shown before the exchange).
    pub fn has_id_token(self) -> bool {
        !matches!(self, Self::CodeToken)
    }

    /// Whether the front channel carries an access token (which is only ever checked, never used).
    pub fn has_access_token(self) -> bool {
        !matches!(self, Self::CodeIdToken)
    }

    /// Whether this type appears in a discovery document's `response_types_supported` (compared as word sets).
    pub fn is_listed_in(self, supported: &[String]) -> bool {
        supported
            .iter()
            .any(|s| s.parse::<ResponseType>() == Ok(self))
    }
}

impl fmt::Display for ResponseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response type that is not one of the three hybrid types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("response type `{0}` is not supported: use `code id_token`, `code token` or `code id_token token`")]
pub struct UnsupportedResponseType(pub String);

impl FromStr for ResponseType {
    type Err = UnsupportedResponseType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Counted rather than sorted: order-free comparison as a set, without a sort routine in the SPA's wasm.
        let unsupported = || UnsupportedResponseType(s.to_owned());
        let (mut code, mut id_token, mut token) = (0u8, 0u8, 0u8);
        for word in s.split_whitespace() {
            let seen = match word {
                "code" => &mut code,
                "id_token" => &mut id_token,
                "token" => &mut token,
                _ => return Err(unsupported()),
            };
            *seen = seen.saturating_add(1);
        }
        match (code, id_token, token) {
            (1, 1, 0) => Ok(Self::CodeIdToken),
            (1, 0, 1) => Ok(Self::CodeToken),
            (1, 1, 1) => Ok(Self::CodeIdTokenToken),
            _ => Err(unsupported()),
        }
    }
}

/// Read from its words in any order, as the serde `try_from = "String"` reads it.
impl crate::json::FromJson for ResponseType {
    fn from_json(value: &crate::json::Value) -> Result<ResponseType, crate::json::Error> {
        value
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or(crate::json::Error("an unsupported response type"))
    }
}

impl TryFrom<String> for ResponseType {
    type Error = UnsupportedResponseType;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ResponseType> for String {
    fn from(r: ResponseType) -> String {
        r.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_order_does_not_matter() {
        assert_eq!(
            "token id_token code".parse(),
            Ok(ResponseType::CodeIdTokenToken)
        );
        assert_eq!("id_token  code".parse(), Ok(ResponseType::CodeIdToken));
    }

    #[test]
    fn non_hybrid_types_are_refused() {
        for bad in [
            "code",
            "id_token",
            "token",
            "",
            "code code id_token",
            "code token token",
            "code id_token none",
        ] {
            assert!(bad.parse::<ResponseType>().is_err(), "{bad}");
        }
    }

    #[test]
    fn listed_in_discovery_as_sets() {
        let listed = vec!["code".to_owned(), "code token id_token".to_owned()];
        assert!(ResponseType::CodeIdTokenToken.is_listed_in(&listed));
        assert!(!ResponseType::CodeToken.is_listed_in(&listed));
    }
}
