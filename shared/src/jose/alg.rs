//! Signature algorithms: which exist, which are allowed, and which hash each implies for c_hash/at_hash.

use crate::error::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The asymmetric JWS algorithms an ID token may be signed with. HMAC and `none` are not representable:
/// they are refused while parsing the header, so no code path can ever "verify" them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

impl crate::json::FromJson for Alg {
    fn from_json(value: &crate::json::Value) -> Result<Alg, crate::json::Error> {
        crate::json::by_name(value, &Alg::ALL, Alg::name)
    }
}

/// The hash a JWS algorithm implies, used for `c_hash` and `at_hash` (Core 3.3.2.9/3.3.2.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl Alg {
    /// Every algorithm this product can verify, strongest families first.
    pub const ALL: [Alg; 9] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::EdDSA,
    ];

    /// Reads the header's `alg`, turning `none` and HMAC into their own errors because they are attacks, not
    /// merely unsupported choices.
    pub fn from_header(name: &str) -> Result<Alg, ValidationError> {
        match name {
            "none" | "None" | "NONE" => Err(ValidationError::AlgNone),
            hs if hs.starts_with("HS") => Err(ValidationError::HmacRejected { alg: clip(hs) }),
            other => Alg::from_name(other)
                .ok_or_else(|| ValidationError::AlgNotAllowed { alg: clip(other) }),
        }
    }

    /// The registered name (RFC 7518), e.g. `RS256`.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// Looks an algorithm up by its registered name; `None` for anything unsupported.
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The hash for c_hash/at_hash. EdDSA here means Ed25519 (Ed448 keys are refused), hence SHA-512.
    pub fn hash(self) -> HashAlg {
        match self {
            Alg::RS256 | Alg::PS256 | Alg::ES256 => HashAlg::Sha256,
            Alg::RS384 | Alg::PS384 | Alg::ES384 => HashAlg::Sha384,
            Alg::RS512 | Alg::PS512 | Alg::EdDSA => HashAlg::Sha512,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn clip(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(20)
        .collect()
}

/// The algorithms accepted for ID tokens: the OP's `id_token_signing_alg_values_supported` intersected with
/// the operator's configuration, so neither side alone can widen the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlgPolicy {
    allowed: Vec<Alg>,
}

impl AlgPolicy {
    /// Intersects what the OP advertises (names; unknown ones ignored) with what the configuration allows.
    /// An empty advertisement means "RS256" (Discovery 1.0 3: RS256 MUST be supported).
    pub fn intersect(advertised: &[String], configured: &[Alg]) -> AlgPolicy {
        let advertised: Vec<Alg> = if advertised.is_empty() {
            vec![Alg::RS256]
        } else {
            advertised
                .iter()
                .filter_map(|n| Alg::from_name(n))
                .collect()
        };
        AlgPolicy {
            allowed: configured
                .iter()
                .copied()
                .filter(|a| advertised.contains(a))
                .collect(),
        }
    }

    /// A policy allowing exactly these algorithms (tests, or an operator's explicit list).
    pub fn only(allowed: &[Alg]) -> AlgPolicy {
        AlgPolicy {
            allowed: allowed.to_vec(),
        }
    }

    /// Whether `alg` may be used.
    pub fn allows(&self, alg: Alg) -> bool {
        self.allowed.contains(&alg)
    }

    /// The allowed algorithms, e.g. for a readiness report.
    pub fn allowed(&self) -> &[Alg] {
        &self.allowed
    }

    /// Checks the header's alg against the policy.
    pub fn check(&self, alg: Alg) -> Result<Alg, ValidationError> {
        if self.allows(alg) {
            Ok(alg)
        } else {
            Err(ValidationError::AlgNotAllowed {
                alg: alg.name().to_owned(),
            })
        }
    }
}

impl Default for AlgPolicy {
    fn default() -> Self {
        AlgPolicy {
            allowed: Alg::ALL.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_hmac_are_attacks() {
        assert_eq!(Alg::from_header("none"), Err(ValidationError::AlgNone));
        assert_eq!(
            Alg::from_header("HS256").unwrap_err().rule(),
            "alg_hmac_rejected"
        );
        assert_eq!(
            Alg::from_header("ES256K").unwrap_err().rule(),
            "alg_not_allowed"
        );
    }

    #[test]
    fn policy_is_an_intersection() {
        let p = AlgPolicy::intersect(
            &["RS256".into(), "ES256".into(), "HS256".into()],
            &[Alg::ES256, Alg::PS256],
        );
        assert_eq!(p.allowed(), &[Alg::ES256]);
        let p = AlgPolicy::intersect(&[], &Alg::ALL);
        assert_eq!(p.allowed(), &[Alg::RS256]);
    }
}
