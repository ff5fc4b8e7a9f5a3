//! The PAR endpoint's answer (RFC 9126 2.2/2.3), read strictly: a `request_uri` and its lifetime, or the OP's
//! OAuth error.

use crate::json::{self, Fields, Number, Value};
use crate::token_response::Failure;

/// Upper bound for a PAR answer body: two short members, never more.
pub const MAX_PAR_RESPONSE_BYTES: usize = 16 * 1024;

/// Longest `request_uri` accepted: it travels in the browser's address bar.
const MAX_REQUEST_URI_CHARS: usize = 2048;

/// A pushed request the OP accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    /// The reference the browser carries to the authorization endpoint instead of the parameters.
    pub request_uri: String,
    /// Seconds the OP honours `request_uri`; the pending login lives no longer.
    pub expires_in: i64,
}

/// Why a push did not give a usable `request_uri`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParError {
    /// The OP refused the request with an OAuth error, e.g. `invalid_request` or `invalid_client`.
    #[error("The identity provider refused to start the sign-in ({error}{}). Please try again later.", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        error: String,
        description: Option<String>,
    },
    /// Anything else: an HTML page, a missing or empty `request_uri`, a lifetime that is not a positive integer.
    #[error("The identity provider's answer to the pushed sign-in request is not valid ({0}). Please try again later.")]
    Malformed(&'static str),
}

struct Success {
    request_uri: String,
    expires_in: Number,
}

impl Success {
    fn read(value: &Value) -> Result<Success, json::Error> {
        let f = Fields::of(value)?;
        Ok(Success {
            request_uri: f.required("request_uri")?,
            expires_in: f.required("expires_in")?,
        })
    }
}

impl PushedRequest {
    /// Reads a PAR answer from its status class and body.
    pub fn parse(success_status: bool, body: &[u8]) -> Result<PushedRequest, ParError> {
        if body.len() > MAX_PAR_RESPONSE_BYTES {
            return Err(ParError::Malformed("it is too large"));
        }
        let value = json::parse(body).unwrap_or_default();
        if value.as_object().is_none() {
            return Err(ParError::Malformed("it is not a JSON object"));
        }
        if !success_status {
            let failure = Failure::read(&value)
                .map_err(|_| ParError::Malformed("an error without an `error` code"))?;
            return Err(ParError::Refused {
                error: printable(&failure.error, 64),
                description: failure.error_description.map(|d| printable(&d, 300)),
            });
        }
        let ok = Success::read(&value)
            .map_err(|_| ParError::Malformed("request_uri or expires_in is missing"))?;
        let expires_in = ok
            .expires_in
            .as_i64()
            .filter(|e| *e > 0)
            .ok_or(ParError::Malformed("expires_in is not a positive integer"))?;
        let uri_ok = !ok.request_uri.is_empty()
            && ok.request_uri.len() <= MAX_REQUEST_URI_CHARS
            && ok.request_uri.chars().all(|c| c.is_ascii_graphic());
        if !uri_ok {
            return Err(ParError::Malformed(
                "request_uri is empty, too long or not a URI",
            ));
        }
        Ok(PushedRequest {
            request_uri: ok.request_uri,
            expires_in,
        })
    }
}

/// The OP's words as shown to a user: printable characters only, clipped.
fn printable(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_a_request_uri_and_its_lifetime() {
        let ok = PushedRequest::parse(
            true,
            br#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#,
        )
        .unwrap();
        assert_eq!(ok.request_uri, "urn:ietf:params:oauth:request_uri:abc");
        assert_eq!(ok.expires_in, 60);
    }

    #[test]
    fn an_error_answer_names_the_ops_code() {
        let e = PushedRequest::parse(
            false,
            br#"{"error":"invalid_request","error_description":"bad\nscope"}"#,
        )
        .unwrap_err();
        assert_eq!(
            e,
            ParError::Refused {
                error: "invalid_request".into(),
                description: Some("badscope".into())
            }
        );
        assert!(e.to_string().contains("invalid_request"), "{e}");
    }

    #[test]
    fn malformed_answers_are_refused_each_for_its_reason() {
        for body in [
            &b"<html>"[..],
            br#"[]"#,
            br#"{"request_uri":"u"}"#,
            br#"{"request_uri":"u","expires_in":0}"#,
            br#"{"request_uri":"u","expires_in":1.5}"#,
            br#"{"request_uri":"u","expires_in":"60"}"#,
            br#"{"request_uri":"","expires_in":60}"#,
            br#"{"request_uri":"a b","expires_in":60}"#,
            br#"{"request_uri":7,"expires_in":60}"#,
        ] {
            assert!(
                matches!(
                    PushedRequest::parse(true, body),
                    Err(ParError::Malformed(_))
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(matches!(
            PushedRequest::parse(false, br#"{"error_description":"x"}"#),
            Err(ParError::Malformed(_))
        ));
    }

    proptest! {
        /// Any body, with either status class, answers a pushed request or a typed error, never a panic; an
        /// accepted one always has a usable URI and lifetime.
        #[test]
        fn any_answer_parses_or_is_refused(ok in any::<bool>(), body in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(p) = PushedRequest::parse(ok, &body) {
                prop_assert!(ok && p.expires_in > 0 && !p.request_uri.is_empty());
            }
        }

        /// JSON-shaped answers with arbitrary member values.
        #[test]
        fn json_answers_parse_or_are_refused(uri in ".{0,40}", expires in any::<i64>(), error in ".{0,20}") {
            let body = serde_json::json!({"request_uri": uri, "expires_in": expires, "error": error}).to_string();
            for ok in [true, false] {
                if let Ok(p) = PushedRequest::parse(ok, body.as_bytes()) {
                    prop_assert!(p.expires_in > 0 && p.request_uri.chars().all(|c| c.is_ascii_graphic()));
                }
            }
        }
    }
}
