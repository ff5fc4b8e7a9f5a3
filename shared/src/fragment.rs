//! Reading the authorization response the OP put in the redirect URL's fragment (Core 3.3.2.5).
//!
//! This is the first thing that touches attacker-controllable input in the browser, so it is strict: size
//! capped, every parameter at most once, and an OP `error` recognised before anything else.

use crate::error::ValidationError;
use serde::{Deserialize, Serialize};

/// Upper bound for a whole fragment. Honest hybrid responses are a few KiB (two JWTs and a code).
pub const MAX_FRAGMENT_BYTES: usize = 32 * 1024;
/// Upper bound for the number of parameters; an honest response has at most eight.
const MAX_PARAMS: usize = 32;
/// OP-supplied error text is shown to people; keep it to a readable length.
const MAX_ERROR_TEXT: usize = 300;

/// A successful authorization response, before any validation: every field is as the OP (or an attacker) sent it.
/// It is also the body of `POST /bff/session`: the SPA forwards the response as read, and the BFF validates it again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationResponse {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    /// RFC 9207 issuer identification, when the OP sends it.
    #[serde(default)]
    pub iss: Option<String>,
}

/// The body of `POST /bff/session` as serde writes it: every member, `null` when absent.
impl crate::json::ToJson for AuthorizationResponse {
    fn to_json(&self) -> crate::json::Value {
        let mut o = crate::json::Object::new();
        for (name, value) in [
            ("code", &self.code),
            ("id_token", &self.id_token),
            ("access_token", &self.access_token),
            ("token_type", &self.token_type),
            ("state", &self.state),
            ("iss", &self.iss),
        ] {
            o.push(name, crate::json::ToJson::to_json(value));
        }
        o.into()
    }
}

/// Parses the fragment (with or without the leading `#`) into a response, or the typed error that ends the flow.
///
/// An OP `error` is returned as [`ValidationError::OpError`] with the OP's description, so the user can be told
/// what the OP said.
pub fn parse_fragment(fragment: &str) -> Result<AuthorizationResponse, ValidationError> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    if fragment.len() > MAX_FRAGMENT_BYTES {
        return Err(ValidationError::TooLarge);
    }
    if fragment.is_empty() {
        return Err(ValidationError::MalformedResponse {
            reason: "the response is empty".into(),
        });
    }
    // A list, not a map: at most MAX_PARAMS entries, and no map code for this one use in the SPA's wasm.
    let mut params: Vec<(String, String)> = Vec::new();
    for (count, (key, value)) in form_urlencoded::parse(fragment.as_bytes()).enumerate() {
        if count >= MAX_PARAMS {
            return Err(ValidationError::TooLarge);
        }
        if params.iter().any(|(seen, _)| *seen == key) {
            return Err(ValidationError::DuplicateParameter {
                param: printable_name(&key),
            });
        }
        params.push((key.into_owned(), value.into_owned()));
    }
    if let Some(error) = remove(&mut params, "error") {
        return Err(ValidationError::OpError {
            error: clip(&error),
            description: remove(&mut params, "error_description").map(|d| clip(&d)),
        });
    }
    let mut take = |name: &str| remove(&mut params, name).filter(|v| !v.is_empty());
    let response = AuthorizationResponse {
        code: take("code"),
        id_token: take("id_token"),
        access_token: take("access_token"),
        token_type: take("token_type"),
        state: take("state"),
        iss: take("iss"),
    };
    if response.code.is_none() && response.id_token.is_none() && response.access_token.is_none() {
        return Err(ValidationError::MalformedResponse {
            reason: "it carries no code, ID token or access token".into(),
        });
    }
    Ok(response)
}

/// Whether a fragment looks like an authorization response at all, so the SPA can ignore ordinary `#anchors`.
pub fn looks_like_authorization_response(fragment: &str) -> bool {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    form_urlencoded::parse(fragment.as_bytes())
        .take(MAX_PARAMS)
        .any(|(k, _)| {
            matches!(
                k.as_ref(),
                "code" | "id_token" | "access_token" | "error" | "state"
            )
        })
}

/// The value of the parameter `name`, taken out of the list.
fn remove(params: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let at = params.iter().position(|(key, _)| key == name)?;
    Some(params.swap_remove(at).1)
}

fn clip(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ERROR_TEXT)
        .collect();
    cleaned
}

fn printable_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_hybrid_response() {
        let r = parse_fragment("#code=abc&id_token=x.y.z&state=s1&iss=https%3A%2F%2Fop").unwrap();
        assert_eq!(r.code.as_deref(), Some("abc"));
        assert_eq!(r.id_token.as_deref(), Some("x.y.z"));
        assert_eq!(r.state.as_deref(), Some("s1"));
        assert_eq!(r.iss.as_deref(), Some("https://op"));
    }

    #[test]
    fn op_error_carries_the_description() {
        let e = parse_fragment("error=access_denied&error_description=User+said+no&state=s")
            .unwrap_err();
        assert_eq!(
            e,
            ValidationError::OpError {
                error: "access_denied".into(),
                description: Some("User said no".into())
            }
        );
        assert!(e.to_string().contains("User said no"));
    }

    #[test]
    fn duplicates_are_refused() {
        let e = parse_fragment("code=a&code=b&state=s").unwrap_err();
        assert_eq!(e.rule(), "duplicate_parameter");
    }

    #[test]
    fn oversized_and_empty_are_refused() {
        assert_eq!(
            parse_fragment(&"a".repeat(MAX_FRAGMENT_BYTES + 1)),
            Err(ValidationError::TooLarge)
        );
        assert_eq!(
            parse_fragment("#").unwrap_err().rule(),
            "malformed_response"
        );
        assert_eq!(
            parse_fragment("foo=bar").unwrap_err().rule(),
            "malformed_response"
        );
    }

    #[test]
    fn anchors_are_not_responses() {
        assert!(!looks_like_authorization_response("#section-2"));
        assert!(looks_like_authorization_response("#error=login_required"));
    }
}
