//! The UserInfo response (Core 5.3.2) and how its claims join the ID token's for display.
//!
//! The BFF fetches userinfo (I/O is not here); these functions decide what the answer means:
//! [`read_body`] sorts it into plain JSON, a signed JWT, or a failure, [`verify_userinfo_jwt`] checks a signed
//! one with the ID token's key set and algorithm policy, [`check_userinfo_sub`] holds its `sub` to the ID
//! token's, and [`merge_claims`] is the one merge rule.
//!
//! Two kinds of failure, on purpose: an answer that is merely *unusable* (too large, not JSON, an odd content
//! type) says nothing about the sign-in and may be tolerated ([`UserinfoError::Unavailable`]); one that fails a
//! check (a bad signature, another issuer, another user, an encrypted answer) is what tampering or a
//! misconfiguration looks like and always refuses the sign-in ([`UserinfoError::Refused`]).

use super::claims::{json_object, IdTokenClaims};
use super::id_token::{check_aud, check_azp, check_exp, check_iss};
use super::{verify_signature, Context, SignatureVerifier};
use crate::api::{Claim, ClaimSource, User};
use crate::error::ValidationError;
use crate::jose::jws::CompactJws;
use crate::json::{self, Object, Value};
use std::collections::BTreeMap;

pub use super::id_token::check_userinfo_sub;

/// Upper bound for a userinfo answer. Honest ones are well under 4 KiB; this leaves room for pictures as URLs
/// and addresses while keeping a hostile OP from filling the session store.
pub const MAX_USERINFO_BYTES: usize = 32 * 1024;

/// Claims never listed for display: they describe the token or the authentication, not the user.
pub const PROTOCOL_CLAIMS: [&str; 13] = [
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "nonce",
    "at_hash",
    "c_hash",
    "s_hash",
    "auth_time",
    "sid",
    "azp",
];

/// A userinfo answer sorted by its content type.
#[derive(Debug, Clone)]
pub enum UserinfoBody {
    /// `application/json`: the claims, as the OP sent them over TLS.
    Json(Object),
    /// `application/jwt`: a signed JWT, not yet verified (see [`verify_userinfo_jwt`]).
    Jwt(Box<CompactJws>),
}

/// Why a userinfo answer is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserinfoError {
    /// Unusable, but no sign of tampering (plain words, never the body): the sign-in may go on with the ID
    /// token's claims.
    Unavailable(&'static str),
    /// Failed a check: the sign-in is refused with this rule.
    Refused(ValidationError),
}

impl From<ValidationError> for UserinfoError {
    fn from(e: ValidationError) -> Self {
        UserinfoError::Refused(e)
    }
}

fn invalid(reason: &str) -> UserinfoError {
    UserinfoError::Refused(ValidationError::UserinfoInvalid {
        reason: reason.to_owned(),
    })
}

/// Sorts a successful (2xx) userinfo answer by its `Content-Type`: plain JSON or a signed JWT (Core 5.3.2).
/// An encrypted answer (a JWE, five parts) is refused: this app registers for none and holds no key to
/// decrypt one, so the OP is misconfigured, and guessing would hide it.
pub fn read_body(content_type: Option<&str>, body: &[u8]) -> Result<UserinfoBody, UserinfoError> {
    if body.len() > MAX_USERINFO_BYTES {
        return Err(UserinfoError::Unavailable("the answer is too large"));
    }
    let media_type = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match media_type.as_str() {
        "application/json" => match json::parse(body) {
            Ok(Value::Object(claims)) => Ok(UserinfoBody::Json(claims)),
            _ => Err(UserinfoError::Unavailable(
                "the answer is not a JSON object",
            )),
        },
        "application/jwt" => {
            let text = std::str::from_utf8(body)
                .map_err(|_| UserinfoError::Unavailable("the answer is not a JWT"))?
                .trim();
            if text.split('.').count() == 5 {
                return Err(invalid(
                    "it is encrypted (JWE), which this app does not accept: configure the client for signed or plain user information",
                ));
            }
            match CompactJws::parse(text) {
                Ok(jws) => Ok(UserinfoBody::Jwt(Box::new(jws))),
                // Garbage labelled as a JWT is as unusable as garbage labelled as JSON.
                Err(ValidationError::MalformedToken { .. }) => {
                    Err(UserinfoError::Unavailable("the answer is not a JWT"))
                }
                // alg none, HMAC, crit, an empty signature: a token that could not be trusted if it verified.
                Err(e) => Err(invalid(&rule_words(&e))),
            }
        }
        _ => Err(UserinfoError::Unavailable(
            "the answer is neither application/json nor application/jwt",
        )),
    }
}

/// What a signed userinfo answer must say (Core 5.3.2: `iss` the OP, `aud` this client).
#[derive(Debug, Clone, Copy)]
pub struct UserinfoRules<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub trusted_audiences: &'a [String],
    pub leeway_secs: i64,
}

/// Checks a signed userinfo JWT with the same key set, algorithm policy and `iss`/`aud`/`azp` rules as ID
/// tokens (and `exp` when present), and returns its claims. Every failure is `userinfo_invalid`, naming the
/// rule that failed, so the refusal says it was userinfo, not the ID token.
pub async fn verify_userinfo_jwt<V: SignatureVerifier>(
    jws: &CompactJws,
    rules: UserinfoRules<'_>,
    ctx: Context<'_, V>,
) -> Result<Object, ValidationError> {
    let check = async {
        let payload = verify_signature(jws, ctx).await?;
        let claims = IdTokenClaims::from_json(&payload)?;
        check_iss(&claims, rules.issuer)?;
        check_aud(&claims, rules.client_id, rules.trusted_audiences)?;
        check_azp(&claims, rules.client_id)?;
        if claims.exp.is_some() {
            check_exp(&claims, ctx.now, rules.leeway_secs)?;
        }
        json_object(&payload)
    };
    check.await.map_err(|e| ValidationError::UserinfoInvalid {
        reason: rule_words(&e),
    })
}

/// A rule name in words (`bad_signature` → `bad signature`), for the `userinfo_invalid` message.
fn rule_words(e: &ValidationError) -> String {
    e.rule().replace('_', " ")
}

/// The claims of the session's ID token, for display. Only for a token whose signature and claims were
/// verified (at the sign-in or a refresh): this reads the payload without checking it again.
pub fn verified_id_token_claims(raw: &str) -> Result<Object, ValidationError> {
    let jws = CompactJws::parse(raw)?;
    json_object(jws.payload_unverified())
}

/// The merge rule, one for both tiers: every non-protocol claim of the ID token, then userinfo's over them.
///
/// For the same claim, **userinfo wins** (except `sub`, which [`check_userinfo_sub`] has already held equal):
/// userinfo is read after the sign-in, from the OP's live profile (Core 5.3), while the ID token's claims are
/// a snapshot from the moment of authentication, so a changed name or email shows up there first. ID token
/// claims that userinfo lacks are kept, and a `null` in userinfo removes nothing (Core 5.3.2: absent claims
/// are omitted, not nulled). Answers `sub` first, then the others by name.
pub fn merge_claims(id_token: &Object, userinfo: Option<&Object>) -> Vec<Claim> {
    let mut merged: BTreeMap<&str, (&Value, ClaimSource)> = BTreeMap::new();
    let sources = [
        (Some(id_token), ClaimSource::IdToken),
        (userinfo, ClaimSource::Userinfo),
    ];
    for (claims, source) in sources {
        for (name, value) in claims.into_iter().flat_map(Object::members) {
            let shown = !value.is_null() && !PROTOCOL_CLAIMS.contains(&name);
            if shown && !(name == "sub" && merged.contains_key("sub")) {
                merged.insert(name, (value, source));
            }
        }
    }
    let sub = merged.remove("sub");
    sub.map(|s| ("sub", s))
        .into_iter()
        .chain(merged)
        .map(|(name, (value, source))| Claim {
            name: name.to_owned(),
            value: value.clone(),
            source,
        })
        .collect()
}

/// The user card's fields from the merged claims (wrongly typed values are left out, not guessed at).
pub fn user_of(claims: &[Claim]) -> User {
    let find = |name: &str| claims.iter().find(|c| c.name == name).map(|c| &c.value);
    let text = |name: &str| find(name).and_then(Value::as_str).map(str::to_owned);
    User {
        sub: text("sub").unwrap_or_default(),
        name: text("name"),
        preferred_username: text("preferred_username"),
        email: text("email"),
        email_verified: find("email_verified").and_then(|v| match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
            _ => None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A claims object written with `json!`, as the parser reads it.
    fn map(v: serde_json::Value) -> Object {
        match json::parse(v.to_string().as_bytes()) {
            Ok(Value::Object(m)) => m,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn userinfo_wins_except_sub_and_keeps_what_it_lacks() {
        let id = map(json!({
            "iss": "https://op", "aud": "app", "exp": 1, "nonce": "n", "sid": "s",
            "sub": "alice", "name": "Alice (old)", "email": "a@old.example",
        }));
        let ui = map(json!({
            "sub": "alice", "name": "Alice New", "given_name": "Alice", "email": null,
        }));
        let merged = merge_claims(&id, Some(&ui));
        let got: Vec<(&str, &Value, ClaimSource)> = merged
            .iter()
            .map(|c| (c.name.as_str(), &c.value, c.source))
            .collect();
        assert_eq!(
            got,
            [
                ("sub", &Value::from("alice"), ClaimSource::IdToken),
                ("email", &Value::from("a@old.example"), ClaimSource::IdToken),
                ("given_name", &Value::from("Alice"), ClaimSource::Userinfo),
                ("name", &Value::from("Alice New"), ClaimSource::Userinfo),
            ]
        );
        let user = user_of(&merged);
        assert_eq!(user.sub, "alice");
        assert_eq!(user.name.as_deref(), Some("Alice New"));
        assert_eq!(user.email.as_deref(), Some("a@old.example"));
    }

    #[test]
    fn without_userinfo_the_id_token_claims_are_shown() {
        let id = map(json!({"sub": "alice", "email_verified": "true", "at_hash": "x"}));
        let merged = merge_claims(&id, None);
        assert_eq!(merged.len(), 2);
        assert!(merged.iter().all(|c| c.source == ClaimSource::IdToken));
        assert_eq!(user_of(&merged).email_verified, Some(true));
    }

    #[test]
    fn bodies_are_sorted_by_content_type() {
        let json = read_body(Some("application/json; charset=utf-8"), br#"{"sub":"a"}"#);
        assert!(matches!(json, Ok(UserinfoBody::Json(_))));
        let unavailable = |ct: Option<&str>, body: &[u8]| {
            matches!(read_body(ct, body), Err(UserinfoError::Unavailable(_)))
        };
        assert!(unavailable(Some("application/json"), b"<html>oops</html>"));
        assert!(unavailable(Some("application/json"), b"[1,2]"));
        assert!(unavailable(Some("text/html"), br#"{"sub":"a"}"#));
        assert!(unavailable(None, br#"{"sub":"a"}"#));
        assert!(unavailable(Some("application/jwt"), b"not-a-jwt"));
        let big = vec![b' '; MAX_USERINFO_BYTES + 1];
        assert!(unavailable(Some("application/json"), &big));
        let refused = |body: &[u8]| match read_body(Some("application/jwt"), body) {
            Err(UserinfoError::Refused(e)) => e.rule(),
            _ => "accepted",
        };
        assert_eq!(
            refused(b"eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"),
            "userinfo_invalid"
        );
        // alg none is refused, not tolerated as unusable.
        assert_eq!(
            refused(b"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."),
            "userinfo_invalid"
        );
    }

    #[test]
    fn the_userinfo_sub_must_be_the_id_tokens() {
        let id = IdTokenClaims {
            sub: Some("alice".into()),
            ..Default::default()
        };
        assert_eq!(check_userinfo_sub(&id, Some("alice")), Ok(()));
        assert_eq!(
            check_userinfo_sub(&id, Some("mallory")).map_err(|e| e.rule()),
            Err("userinfo_sub_mismatch")
        );
        assert_eq!(
            check_userinfo_sub(&id, None).map_err(|e| e.rule()),
            Err("userinfo_sub_mismatch")
        );
    }
}
