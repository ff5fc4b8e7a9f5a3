//! The back-channel logout token (OpenID Connect Back-Channel Logout 1.0, 2.4 and 2.6): a JWT the OP POSTs
//! to the RP, server to server, to end the sessions of one OP session (`sid`) or one user (`sub`).
//!
//! Verification is the ID token's (signature through [`verify_signature`]: alg allowlist, `none` and HMAC
//! refused; `iss` exact; `aud`) plus the logout-specific rules, each a function with its own error: the
//! `events` claim must carry the back-channel logout event, `jti` must be present (the caller keeps the
//! replay cache and answers [`ValidationError::JtiReplayed`]), `sid` and/or `sub` must be present, and `nonce`
//! must be absent (so that an ID token can never pass as a logout token). `exp` is required (Back-Channel
//! Logout 1.0 final, 2.4) unless [`LogoutTokenRules::exp_optional`] is set for an OP that omits it (glewlwyd
//! 2.7); when present it is always checked.

use super::claims::{json_object, Reader};
use super::{verify_signature, Context, SignatureVerifier};
use crate::error::ValidationError;
use crate::jose::jws::CompactJws;
use crate::json::Value;
use serde::{Deserialize, Serialize};

/// The member of `events` that makes a JWT a back-channel logout token.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A sensible default for [`LogoutTokenRules::max_age_secs`]: an OP sends the token right after the logout.
pub const DEFAULT_MAX_AGE_SECS: i64 = 300;

/// What a logout token must say to be accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutTokenRules {
    /// The issuer, exactly as in discovery.
    pub issuer: String,
    pub client_id: String,
    /// Seconds of clock skew tolerated on `iat` and `exp`.
    pub leeway_secs: i64,
    /// Tokens issued longer ago than this (plus the leeway) are refused; the replay cache must keep a `jti`
    /// at least this long.
    pub max_age_secs: i64,
    /// Accept tokens without `exp`. Off by default, as the final specification requires `exp`; an operator turns
    /// it on only for an OP that omits it (glewlwyd 2.7). The `iat` age limit bounds such a token's life anyway.
    #[serde(default)]
    pub exp_optional: bool,
}

/// The claims of a logout token that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogoutClaims {
    pub iss: Option<String>,
    pub aud: Vec<String>,
    pub iat: Option<i64>,
    pub exp: Option<i64>,
    pub jti: Option<String>,
    /// The OP session to end (empty strings are read as absent).
    pub sid: Option<String>,
    /// The user whose sessions to end (empty strings are read as absent).
    pub sub: Option<String>,
    /// Whether a `nonce` claim is present (its value is never kept).
    pub has_nonce: bool,
    /// The raw `events` claim, if any.
    pub events: Option<Value>,
}

impl LogoutClaims {
    /// Reads a verified JWS payload, with explicit type checks so a wrong type names the claim at fault.
    pub fn from_json(payload: &[u8]) -> Result<LogoutClaims, ValidationError> {
        let obj = json_object(payload)?;
        let r = Reader(&obj);
        let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
        Ok(LogoutClaims {
            iss: r.string("iss")?,
            aud: r.audience()?,
            iat: r.time("iat")?,
            exp: r.time("exp")?,
            jti: non_empty(r.string("jti")?),
            sid: non_empty(r.string("sid")?),
            sub: non_empty(r.string("sub")?),
            has_nonce: obj.get("nonce").is_some_and(|v| !v.is_null()),
            events: obj.get("events").filter(|v| !v.is_null()).cloned(),
        })
    }
}

impl LogoutTokenRules {
    /// Runs every claim rule, in the order that gives the most useful first error.
    pub fn check(&self, claims: &LogoutClaims, now: i64) -> Result<(), ValidationError> {
        check_iss(claims, &self.issuer)?;
        check_aud(claims, &self.client_id)?;
        check_iat(claims, now, self.leeway_secs, self.max_age_secs)?;
        check_exp(claims, now, self.leeway_secs, self.exp_optional)?;
        check_jti(claims)?;
        check_events(claims)?;
        check_sid_or_sub(claims)?;
        check_no_nonce(claims)
    }
}

/// Parses and verifies a logout token: signature first, then the `typ` header, then every claim rule. The
/// `jti` replay check is the caller's (it needs state); the returned claims always have a `jti`.
pub async fn verify_logout_token<V: SignatureVerifier>(
    raw: &str,
    rules: &LogoutTokenRules,
    ctx: Context<'_, V>,
) -> Result<LogoutClaims, ValidationError> {
    let jws = CompactJws::parse(raw)?;
    let payload = verify_signature(&jws, ctx).await?;
    check_typ(jws.header().typ.as_deref())?;
    let claims = LogoutClaims::from_json(&payload)?;
    rules.check(&claims, ctx.now)?;
    Ok(claims)
}

/// `typ`, when present, is `logout+jwt` (optionally with the `application/` prefix, RFC 7515 4.1.9) or the
/// generic `JWT`; compared case-insensitively as media types are.
pub fn check_typ(typ: Option<&str>) -> Result<(), ValidationError> {
    let Some(typ) = typ else { return Ok(()) };
    let t = typ.to_ascii_lowercase();
    let t = t.strip_prefix("application/").unwrap_or(&t);
    matches!(t, "logout+jwt" | "jwt")
        .then_some(())
        .ok_or(ValidationError::LogoutTypInvalid)
}

/// `iss` equals the configured issuer exactly.
pub fn check_iss(claims: &LogoutClaims, issuer: &str) -> Result<(), ValidationError> {
    (claims.iss.as_deref() == Some(issuer))
        .then_some(())
        .ok_or(ValidationError::IssuerMismatch)
}

/// `aud` contains the client id, and no other audience (this client trusts none).
pub fn check_aud(claims: &LogoutClaims, client_id: &str) -> Result<(), ValidationError> {
    if !claims.aud.iter().any(|a| a == client_id) {
        return Err(ValidationError::AudienceMismatch);
    }
    if claims.aud.iter().any(|a| a != client_id) {
        return Err(ValidationError::UntrustedAudience);
    }
    Ok(())
}

/// `iat` is present, not in the future (beyond the leeway), and not older than the maximum age.
pub fn check_iat(
    claims: &LogoutClaims,
    now: i64,
    leeway: i64,
    max_age: i64,
) -> Result<(), ValidationError> {
    let iat = claims.iat.ok_or(ValidationError::IatMissing)?;
    if iat > now.saturating_add(leeway) {
        return Err(ValidationError::IatInFuture);
    }
    if iat < now.saturating_sub(max_age.saturating_add(leeway)) {
        return Err(ValidationError::LogoutIatTooOld);
    }
    Ok(())
}

/// `exp` is present (unless `exp_optional`) and has not passed (beyond the leeway).
pub fn check_exp(
    claims: &LogoutClaims,
    now: i64,
    leeway: i64,
    exp_optional: bool,
) -> Result<(), ValidationError> {
    match claims.exp {
        Some(exp) if now > exp.saturating_add(leeway) => Err(ValidationError::Expired),
        Some(_) => Ok(()),
        None if exp_optional => Ok(()),
        None => Err(ValidationError::LogoutExpMissing),
    }
}

/// `jti` is present and non-empty (the replay cache is keyed by it).
pub fn check_jti(claims: &LogoutClaims) -> Result<(), ValidationError> {
    claims
        .jti
        .is_some()
        .then_some(())
        .ok_or(ValidationError::JtiMissing)
}

/// `events` is a JSON object with the back-channel logout member, whose value is a JSON object.
pub fn check_events(claims: &LogoutClaims) -> Result<(), ValidationError> {
    let events = match &claims.events {
        None => return Err(ValidationError::LogoutEventMissing),
        Some(Value::Object(events)) => events,
        Some(_) => return Err(ValidationError::LogoutEventInvalid),
    };
    match events.get(BACKCHANNEL_LOGOUT_EVENT) {
        None => Err(ValidationError::LogoutEventMissing),
        Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(ValidationError::LogoutEventInvalid),
    }
}

/// `sid` or `sub` (or both) is present.
pub fn check_sid_or_sub(claims: &LogoutClaims) -> Result<(), ValidationError> {
    (claims.sid.is_some() || claims.sub.is_some())
        .then_some(())
        .ok_or(ValidationError::LogoutSidSubMissing)
}

/// `nonce` is absent (Back-Channel Logout 2.4: prohibited, so an ID token cannot be replayed as one).
pub fn check_no_nonce(claims: &LogoutClaims) -> Result<(), ValidationError> {
    (!claims.has_nonce)
        .then_some(())
        .ok_or(ValidationError::LogoutNoncePresent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::alg::{Alg, AlgPolicy};
    use crate::jose::b64url_encode;
    use crate::jose::jwks::{Jwk, JwkSet};
    use crate::verify::Keys;
    use serde_json::json;
    use serde_json::{Map, Value};

    const NOW: i64 = 1_700_000_000;

    /// Accepts exactly the signature `ok`: the rules, not the maths, are under test here.
    struct FakeVerifier;

    impl SignatureVerifier for FakeVerifier {
        async fn verify(&self, _: Alg, _: &Jwk, _: &[u8], signature: &[u8]) -> bool {
            signature == b"ok"
        }
    }

    fn rules() -> LogoutTokenRules {
        LogoutTokenRules {
            issuer: "https://op".into(),
            client_id: "app".into(),
            leeway_secs: 60,
            max_age_secs: 300,
            exp_optional: false,
        }
    }

    fn good() -> Value {
        json!({
            "iss": "https://op",
            "aud": "app",
            "iat": NOW,
            "exp": NOW + 120,
            "jti": "j-1",
            "sid": "s-1",
            "sub": "alice",
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        })
    }

    fn token(header: Value, claims: &Value, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64url_encode(header.to_string().as_bytes()),
            b64url_encode(claims.to_string().as_bytes()),
            b64url_encode(signature)
        )
    }

    fn verify(raw: &str) -> Result<LogoutClaims, ValidationError> {
        verify_with(raw, &rules())
    }

    fn verify_with(raw: &str, rules: &LogoutTokenRules) -> Result<LogoutClaims, ValidationError> {
        let jwks = JwkSet {
            keys: vec![Jwk {
                kty: "RSA".into(),
                kid: Some("k1".into()),
                n: Some("AQAB".into()),
                e: Some("AQAB".into()),
                ..Default::default()
            }],
        };
        let policy = AlgPolicy::only(&[Alg::RS256]);
        let keys = Keys {
            jwks: &jwks,
            policy: &policy,
        };
        futures_executor::block_on(verify_logout_token(
            raw,
            rules,
            Context::new(keys, NOW, &FakeVerifier),
        ))
    }

    fn rule_of(result: Result<LogoutClaims, ValidationError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(e) => e.rule(),
        }
    }

    /// The rule a token with these claims (RS256, kid k1, typ logout+jwt, good signature) breaks.
    fn claims_rule(change: impl FnOnce(&mut Map<String, Value>)) -> &'static str {
        let mut c = good();
        change(c.as_object_mut().unwrap());
        rule_of(verify(&token(
            json!({"alg": "RS256", "kid": "k1", "typ": "logout+jwt"}),
            &c,
            b"ok",
        )))
    }

    fn header_rule(header: Value, signature: &[u8]) -> &'static str {
        rule_of(verify(&token(header, &good(), signature)))
    }

    #[test]
    fn a_good_token_passes_and_its_claims_are_read() {
        let c = verify(&token(
            json!({"alg": "RS256", "kid": "k1", "typ": "logout+jwt"}),
            &good(),
            b"ok",
        ))
        .unwrap();
        assert_eq!(c.sid.as_deref(), Some("s-1"));
        assert_eq!(c.sub.as_deref(), Some("alice"));
        assert_eq!(c.jti.as_deref(), Some("j-1"));
        assert_eq!(c.aud, vec!["app"]);
    }

    #[test]
    fn signature_rules_come_first() {
        assert_eq!(header_rule(json!({"alg": "none"}), b"ok"), "alg_none");
        let unsigned = format!(
            "{}.{}.",
            b64url_encode(br#"{"alg":"none"}"#),
            b64url_encode(good().to_string().as_bytes())
        );
        assert_eq!(rule_of(verify(&unsigned)), "alg_none");
        assert_eq!(
            header_rule(json!({"alg": "HS256", "kid": "k1"}), b"ok"),
            "alg_hmac_rejected"
        );
        assert_eq!(
            header_rule(json!({"alg": "ES256", "kid": "k1"}), b"ok"),
            "alg_not_allowed"
        );
        assert_eq!(
            header_rule(json!({"alg": "RS256", "kid": "k1"}), b"forged"),
            "bad_signature"
        );
        assert_eq!(
            header_rule(json!({"alg": "RS256", "kid": "k9"}), b"ok"),
            "unknown_kid"
        );
    }

    #[test]
    fn typ_may_be_logout_jwt_jwt_or_absent() {
        for typ in [
            json!("logout+jwt"),
            json!("application/logout+jwt"),
            json!("JWT"),
        ] {
            assert_eq!(
                header_rule(json!({"alg": "RS256", "kid": "k1", "typ": typ}), b"ok"),
                "ok"
            );
        }
        assert_eq!(
            header_rule(json!({"alg": "RS256", "kid": "k1"}), b"ok"),
            "ok"
        );
        assert_eq!(
            header_rule(json!({"alg": "RS256", "kid": "k1", "typ": "at+jwt"}), b"ok"),
            "logout_typ_invalid"
        );
    }

    #[test]
    fn each_claim_rule_has_its_error() {
        assert_eq!(claims_rule(|_| {}), "ok");
        assert_eq!(
            claims_rule(|c| {
                c.insert("iss".into(), json!("https://op/"));
            }),
            "iss_mismatch"
        );
        assert_eq!(
            claims_rule(|c| {
                c.remove("iss");
            }),
            "iss_mismatch"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("aud".into(), json!("other"));
            }),
            "aud_mismatch"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("aud".into(), json!(["app", "evil"]));
            }),
            "aud_untrusted"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("aud".into(), json!(["app"]));
            }),
            "ok"
        );
        assert_eq!(
            claims_rule(|c| {
                c.remove("iat");
            }),
            "iat_missing"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("iat".into(), json!(NOW + 61));
            }),
            "iat_in_future"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("iat".into(), json!(NOW - 361));
            }),
            "logout_iat_too_old"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("iat".into(), json!(NOW - 359));
            }),
            "ok"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("exp".into(), json!(NOW - 61));
            }),
            "expired"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("exp".into(), json!(NOW + 120));
            }),
            "ok"
        );
        assert_eq!(
            claims_rule(|c| {
                c.remove("jti");
            }),
            "jti_missing"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("jti".into(), json!(""));
            }),
            "jti_missing"
        );
        assert_eq!(
            claims_rule(|c| {
                c.remove("events");
            }),
            "logout_event_missing"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert(
                    "events".into(),
                    json!({"http://schemas.openid.net/event/other": {}}),
                );
            }),
            "logout_event_missing"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("events".into(), json!([BACKCHANNEL_LOGOUT_EVENT]));
            }),
            "logout_event_invalid"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("events".into(), json!({ BACKCHANNEL_LOGOUT_EVENT: "yes" }));
            }),
            "logout_event_invalid"
        );
        assert_eq!(
            claims_rule(|c| {
                c.remove("sid");
                c.remove("sub");
            }),
            "logout_sid_sub_missing"
        );
        assert_eq!(
            claims_rule(|c| {
                c.remove("sid");
            }),
            "ok"
        );
        assert_eq!(
            claims_rule(|c| {
                c.remove("sub");
            }),
            "ok"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("sid".into(), json!(""));
                c.remove("sub");
            }),
            "logout_sid_sub_missing"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("nonce".into(), json!("n-1"));
            }),
            "logout_nonce_present"
        );
        assert_eq!(
            claims_rule(|c| {
                c.insert("sid".into(), json!(5));
            }),
            "malformed_claims"
        );
    }

    #[test]
    fn exp_is_required_unless_the_operator_lets_an_op_omit_it() {
        let without_exp = || {
            let mut c = good();
            c.as_object_mut().unwrap().remove("exp");
            c
        };
        let header = json!({"alg": "RS256", "kid": "k1", "typ": "logout+jwt"});
        assert_eq!(
            rule_of(verify(&token(header.clone(), &without_exp(), b"ok"))),
            "logout_exp_missing"
        );
        let lenient = LogoutTokenRules {
            exp_optional: true,
            ..rules()
        };
        assert_eq!(
            rule_of(verify_with(
                &token(header.clone(), &without_exp(), b"ok"),
                &lenient
            )),
            "ok"
        );
        // The switch only excuses an absent exp: a present one is checked as ever.
        let mut expired = good();
        expired["exp"] = json!(NOW - 61);
        assert_eq!(
            rule_of(verify_with(&token(header, &expired, b"ok"), &lenient)),
            "expired"
        );
    }

    #[test]
    fn an_id_token_is_not_a_logout_token() {
        let id_token = json!({
            "iss": "https://op", "aud": "app", "iat": NOW, "exp": NOW + 300,
            "sub": "alice", "nonce": "n-1", "jti": "j-2",
        });
        assert_eq!(
            rule_of(verify(&token(
                json!({"alg": "RS256", "kid": "k1"}),
                &id_token,
                b"ok"
            ))),
            "logout_event_missing"
        );
    }

    #[test]
    fn every_new_error_is_plain_words_and_named() {
        for e in [
            ValidationError::LogoutTypInvalid,
            ValidationError::JtiMissing,
            ValidationError::JtiReplayed,
            ValidationError::LogoutEventMissing,
            ValidationError::LogoutEventInvalid,
            ValidationError::LogoutNoncePresent,
            ValidationError::LogoutSidSubMissing,
            ValidationError::LogoutIatTooOld,
            ValidationError::LogoutExpMissing,
        ] {
            assert!(e.to_string().starts_with("The "), "{e}");
            assert!(!e.rule().is_empty());
        }
    }
}
