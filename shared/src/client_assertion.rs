//! `private_key_jwt` client authentication (RFC 7523 2.2, OpenID Connect Core 9): what the signed client
//! assertion says and which algorithm signs it. Signing itself needs a private key and a clock, so it is the
//! BFF's; these are the rules it follows.

use crate::jose::alg::Alg;
use serde::{Deserialize, Serialize};

/// The `client_assertion_type` that names a JWT bearer assertion (RFC 7523 2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is valid. Short, because a captured one could authenticate as the client until then;
/// the OP also refuses a reused `jti`, so each request attempt signs a new one anyway.
pub const ASSERTION_LIFETIME_SECS: i64 = 60;

/// The claims of one client assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    /// The OP's issuer identifier as one string, never an endpoint URL nor a list: an assertion for one OP
    /// then cannot be replayed at another that shares an endpoint-like audience (draft-ietf-oauth-rfc7523bis).
    pub aud: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

impl AssertionClaims {
    /// The assertion `client_id` makes for the OP `issuer` at `now`, unique by `jti`.
    pub fn new(client_id: &str, issuer: &str, jti: String, now: i64) -> AssertionClaims {
        AssertionClaims {
            iss: client_id.to_owned(),
            sub: client_id.to_owned(),
            aud: issuer.to_owned(),
            jti,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        }
    }
}

/// The kind of a client signing key, which decides the algorithms it can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    Rsa,
    P256,
}

impl KeyFamily {
    /// The algorithms this key can sign with, preferred first (PSS over PKCS#1 v1.5, as FAPI 2.0 asks).
    pub fn algs(self) -> &'static [Alg] {
        match self {
            KeyFamily::Rsa => &[Alg::PS256, Alg::RS256],
            KeyFamily::P256 => &[Alg::ES256],
        }
    }
}

/// No algorithm both the key can sign with and the OP accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the OP accepts client assertions signed with {advertised:?} only, and the signing key can use none of them ({usable:?})")]
pub struct NoCommonAlg {
    pub advertised: Vec<String>,
    pub usable: Vec<&'static str>,
}

/// The algorithm to sign with: the key's preferred one among the OP's
/// `token_endpoint_auth_signing_alg_values_supported`. An OP that lists none is assumed to take RS256 for RSA
/// keys (the one algorithm every OP implements) and ES256 for P-256 keys.
pub fn signing_alg(family: KeyFamily, advertised: &[String]) -> Result<Alg, NoCommonAlg> {
    if advertised.is_empty() {
        return Ok(match family {
            KeyFamily::Rsa => Alg::RS256,
            KeyFamily::P256 => Alg::ES256,
        });
    }
    family
        .algs()
        .iter()
        .copied()
        .find(|alg| advertised.iter().any(|a| a == alg.name()))
        .ok_or_else(|| NoCommonAlg {
            advertised: advertised.to_vec(),
            usable: family.algs().iter().map(|a| a.name()).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assertion_names_the_client_twice_and_the_issuer_once_for_a_minute() {
        let claims = AssertionClaims::new("app", "https://op.example", "j1".into(), 1000);
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["iss"], "app");
        assert_eq!(json["sub"], "app");
        assert_eq!(json["aud"], "https://op.example", "a single string");
        assert_eq!(
            json["exp"].as_i64().unwrap() - json["iat"].as_i64().unwrap(),
            60
        );
    }

    #[test]
    fn the_algorithm_follows_the_op_list_and_the_key() {
        let list = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(signing_alg(KeyFamily::Rsa, &[]), Ok(Alg::RS256));
        assert_eq!(signing_alg(KeyFamily::P256, &[]), Ok(Alg::ES256));
        assert_eq!(
            signing_alg(KeyFamily::Rsa, &list(&["RS256", "PS256", "ES256"])),
            Ok(Alg::PS256)
        );
        assert_eq!(
            signing_alg(KeyFamily::Rsa, &list(&["HS256", "RS256"])),
            Ok(Alg::RS256)
        );
        assert_eq!(
            signing_alg(KeyFamily::P256, &list(&["RS256", "ES256"])),
            Ok(Alg::ES256)
        );
        assert!(signing_alg(KeyFamily::P256, &list(&["RS256"])).is_err());
        assert!(signing_alg(KeyFamily::Rsa, &list(&["HS256", "ES256"])).is_err());
    }
}
