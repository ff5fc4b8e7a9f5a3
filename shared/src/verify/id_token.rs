//! The ID token claim rules (Core 3.1.3.7 as referenced by 3.3.2.12 and 3.3.3.7), each a small function with
//! its own error, composed by [`IdTokenRules::check`].

use super::claims::IdTokenClaims;
use super::hashes::constant_time_eq;
use crate::error::ValidationError;
use crate::json::{self, Fields, FromJson, Object, ToJson, Value};
use serde::{Deserialize, Serialize};

/// Default allowance for clock skew between the OP, the BFF and the user's device.
pub const DEFAULT_LEEWAY_SECS: i64 = 60;

/// What an ID token must say to be accepted for one sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenRules {
    /// The issuer, exactly as in discovery (no trailing-slash normalisation: Core 3.1.3.7 says exact).
    pub issuer: String,
    pub client_id: String,
    /// Audiences besides the client id that may appear in `aud` (empty by default: any other is refused).
    #[serde(default)]
    pub trusted_audiences: Vec<String>,
    /// The nonce sent in the authorization request. Always sent by this product, so always required.
    pub nonce: String,
    /// Seconds of clock skew tolerated on `exp` and `iat`.
    #[serde(default = "default_leeway")]
    pub leeway_secs: i64,
}

impl FromJson for IdTokenRules {
    fn from_json(value: &Value) -> Result<IdTokenRules, json::Error> {
        let f = Fields::of(value)?;
        Ok(IdTokenRules {
            issuer: f.required("issuer")?,
            client_id: f.required("client_id")?,
            trusted_audiences: f.or_default("trusted_audiences")?,
            nonce: f.required("nonce")?,
            leeway_secs: f.or("leeway_secs", DEFAULT_LEEWAY_SECS)?,
        })
    }
}

impl ToJson for IdTokenRules {
    fn to_json(&self) -> Value {
        let mut o = Object::new();
        o.push("issuer", self.issuer.as_str());
        o.push("client_id", self.client_id.as_str());
        o.push("trusted_audiences", self.trusted_audiences.to_json());
        o.push("nonce", self.nonce.as_str());
        o.push("leeway_secs", self.leeway_secs);
        o.into()
    }
}

fn default_leeway() -> i64 {
    DEFAULT_LEEWAY_SECS
}

impl IdTokenRules {
    /// Runs every claim rule, in the order that gives the most useful first error.
    pub fn check(&self, claims: &IdTokenClaims, now: i64) -> Result<(), ValidationError> {
        check_iss(claims, &self.issuer)?;
        check_sub(claims)?;
        check_aud(claims, &self.client_id, &self.trusted_audiences)?;
        check_azp(claims, &self.client_id)?;
        check_exp(claims, now, self.leeway_secs)?;
        check_iat(claims, now, self.leeway_secs)?;
        check_nonce(claims, &self.nonce)
    }
}

/// `iss` equals the configured issuer exactly.
pub fn check_iss(claims: &IdTokenClaims, issuer: &str) -> Result<(), ValidationError> {
    (claims.iss.as_deref() == Some(issuer))
        .then_some(())
        .ok_or(ValidationError::IssuerMismatch)
}

/// `sub` is present and non-empty.
pub fn check_sub(claims: &IdTokenClaims) -> Result<(), ValidationError> {
    claims
        .sub
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|_| ())
        .ok_or(ValidationError::SubMissing)
}

/// `aud` contains the client id, and nothing the client does not trust.
pub fn check_aud(
    claims: &IdTokenClaims,
    client_id: &str,
    trusted: &[String],
) -> Result<(), ValidationError> {
    if !claims.aud.iter().any(|a| a == client_id) {
        return Err(ValidationError::AudienceMismatch);
    }
    if claims
        .aud
        .iter()
        .any(|a| a != client_id && !trusted.contains(a))
    {
        return Err(ValidationError::UntrustedAudience);
    }
    Ok(())
}

/// `azp`, when present, is the client id.
pub fn check_azp(claims: &IdTokenClaims, client_id: &str) -> Result<(), ValidationError> {
    match claims.azp.as_deref() {
        Some(azp) if azp != client_id => Err(ValidationError::AzpMismatch),
        _ => Ok(()),
    }
}

/// `exp` is present and not passed (beyond the leeway).
pub fn check_exp(claims: &IdTokenClaims, now: i64, leeway: i64) -> Result<(), ValidationError> {
    let exp = claims.exp.ok_or(ValidationError::ExpMissing)?;
    if now > exp.saturating_add(leeway) {
        return Err(ValidationError::Expired);
    }
    Ok(())
}

/// `iat` is present and not in the future (beyond the leeway).
pub fn check_iat(claims: &IdTokenClaims, now: i64, leeway: i64) -> Result<(), ValidationError> {
    let iat = claims.iat.ok_or(ValidationError::IatMissing)?;
    if iat > now.saturating_add(leeway) {
        return Err(ValidationError::IatInFuture);
    }
    Ok(())
}

/// `nonce` is present and equal to the one sent (compared in constant time).
pub fn check_nonce(claims: &IdTokenClaims, nonce: &str) -> Result<(), ValidationError> {
    let got = claims
        .nonce
        .as_deref()
        .ok_or(ValidationError::NonceMissing)?;
    constant_time_eq(got.as_bytes(), nonce.as_bytes())
        .then_some(())
        .ok_or(ValidationError::NonceMismatch)
}

/// Core 3.3.3.6 and 12.2: a second ID token for the same sign-in (token endpoint, refresh) must keep the
/// issuer and the subject of the first.
pub fn check_same_subject(
    first: &IdTokenClaims,
    second: &IdTokenClaims,
) -> Result<(), ValidationError> {
    if first.iss != second.iss {
        return Err(ValidationError::IssuerChanged);
    }
    if first.sub != second.sub {
        return Err(ValidationError::SubjectChanged);
    }
    Ok(())
}

/// Core 5.3.2: the userinfo response's `sub` must be the ID token's.
pub fn check_userinfo_sub(
    id_token: &IdTokenClaims,
    userinfo_sub: Option<&str>,
) -> Result<(), ValidationError> {
    (userinfo_sub.is_some() && userinfo_sub == id_token.sub.as_deref())
        .then_some(())
        .ok_or(ValidationError::UserinfoSubMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn rules() -> IdTokenRules {
        IdTokenRules {
            issuer: "https://op".into(),
            client_id: "app".into(),
            trusted_audiences: vec![],
            nonce: "n-1".into(),
            leeway_secs: 60,
        }
    }

    fn good() -> IdTokenClaims {
        IdTokenClaims {
            iss: Some("https://op".into()),
            sub: Some("alice".into()),
            aud: vec!["app".into()],
            exp: Some(NOW + 300),
            iat: Some(NOW),
            nonce: Some("n-1".into()),
            ..Default::default()
        }
    }

    fn rule_of(change: impl FnOnce(&mut IdTokenClaims)) -> &'static str {
        let mut c = good();
        change(&mut c);
        match rules().check(&c, NOW) {
            Ok(()) => "ok",
            Err(e) => e.rule(),
        }
    }

    #[test]
    fn each_rule_has_its_error() {
        assert_eq!(rule_of(|_| {}), "ok");
        assert_eq!(
            rule_of(|c| c.iss = Some("https://op/".into())),
            "iss_mismatch"
        );
        assert_eq!(rule_of(|c| c.sub = None), "sub_missing");
        assert_eq!(rule_of(|c| c.sub = Some(String::new())), "sub_missing");
        assert_eq!(rule_of(|c| c.aud = vec!["other".into()]), "aud_mismatch");
        assert_eq!(rule_of(|c| c.aud.push("evil".into())), "aud_untrusted");
        assert_eq!(rule_of(|c| c.azp = Some("other".into())), "azp_mismatch");
        assert_eq!(rule_of(|c| c.azp = Some("app".into())), "ok");
        assert_eq!(rule_of(|c| c.exp = None), "exp_missing");
        assert_eq!(rule_of(|c| c.exp = Some(NOW - 61)), "expired");
        assert_eq!(rule_of(|c| c.exp = Some(NOW - 59)), "ok");
        assert_eq!(rule_of(|c| c.iat = None), "iat_missing");
        assert_eq!(rule_of(|c| c.iat = Some(NOW + 61)), "iat_in_future");
        assert_eq!(rule_of(|c| c.nonce = None), "nonce_missing");
        assert_eq!(rule_of(|c| c.nonce = Some("n-2".into())), "nonce_mismatch");
        assert_eq!(rule_of(|c| c.exp = Some(i64::MAX)), "ok");
    }

    #[test]
    fn second_token_keeps_iss_and_sub() {
        let mut other = good();
        other.sub = Some("mallory".into());
        assert_eq!(
            check_same_subject(&good(), &other),
            Err(ValidationError::SubjectChanged)
        );
        other = good();
        other.iss = Some("https://evil".into());
        assert_eq!(
            check_same_subject(&good(), &other),
            Err(ValidationError::IssuerChanged)
        );
        assert_eq!(
            check_userinfo_sub(&good(), Some("bob")),
            Err(ValidationError::UserinfoSubMismatch)
        );
        assert_eq!(check_userinfo_sub(&good(), Some("alice")), Ok(()));
    }
}
