//! What a DPoP proof says (RFC 9449 4.2): its header and claims as typed values, and the two derived claims,
//! `htu` and `ath`. The proof is signed by its maker; this module only decides its content.

use super::jwk::EcPublicJwk;
use crate::jose::b64url_encode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The proof's `typ` (RFC 9449 4.2): explicit typing, so no other JWT can pass for a proof.
pub const PROOF_TYP: &str = "dpop+jwt";

/// The proof's protected header: its type, algorithm, and the public key that verifies it (the one the token
/// is bound to; never a private member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofHeader {
    /// [`PROOF_TYP`].
    pub typ: String,
    /// The signature algorithm; this product signs ES256.
    pub alg: String,
    /// The public key the server checks the signature with and binds the token to (its thumbprint).
    pub jwk: EcPublicJwk,
}

impl ProofHeader {
    /// The header of an ES256 proof by `jwk`.
    pub fn es256(jwk: EcPublicJwk) -> ProofHeader {
        ProofHeader {
            typ: PROOF_TYP.into(),
            alg: "ES256".into(),
            jwk,
        }
    }
}

/// The proof's claims: one request (`htm`, `htu`), made once (`jti`) and now (`iat`), for one token (`ath`,
/// when a token goes with it) and, when the server asked for one, with its `nonce`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofClaims {
    /// Unique per proof, so a server can refuse a replay.
    pub jti: String,
    /// The request's method.
    pub htm: String,
    /// The request's URL, see [`htu`].
    pub htu: String,
    /// When the proof was made (seconds since the epoch); servers accept a short window around their clock.
    pub iat: i64,
    /// [`access_token_hash`] of the token sent with the proof (absent at the token endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ath: Option<String>,
    /// The server's latest `DPoP-Nonce`, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// `ath` (RFC 9449 4.2): base64url(SHA-256(ASCII access token)), binding the proof to the token it goes with,
/// so a proof captured with one token cannot be replayed with another.
pub fn access_token_hash(access_token: &str) -> String {
    b64url_encode(&Sha256::digest(access_token.as_bytes()))
}

/// Why a URL cannot be an `htu`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HtuError {
    /// Not an absolute http(s) URL with a host.
    #[error("`htu` must be an absolute http(s) URL")]
    NotHttp,
}

/// `htu` (RFC 9449 4.2): the request's URL without query and fragment. The scheme and host are lower-cased (RFC
/// 3986 6.2.2.1) because the server compares its own view of the URL with what the proof says, and a query kept in
/// the proof would leak into whatever logs proofs.
pub fn htu(url: &str) -> Result<String, HtuError> {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    let (scheme, rest) = url.split_once("://").ok_or(HtuError::NotHttp)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(HtuError::NotHttp);
    }
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if authority.is_empty() || authority.contains('@') {
        return Err(HtuError::NotHttp);
    }
    let path = if path.is_empty() { "/" } else { path };
    Ok(format!(
        "{scheme}://{}{path}",
        authority.to_ascii_lowercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ath_is_the_base64url_sha256_of_the_token() {
        // RFC 9449 7.1's example token and its `ath`.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn htu_drops_query_and_fragment_and_lowercases_scheme_and_host() {
        assert_eq!(
            htu("HTTPS://Server.Example.com/Token?x=1#f").unwrap(),
            "https://server.example.com/Token"
        );
        assert_eq!(
            htu("http://127.0.0.1:4001/api/a%20b?q").unwrap(),
            "http://127.0.0.1:4001/api/a%20b"
        );
        assert_eq!(
            htu("http://127.0.0.1:4001").unwrap(),
            "http://127.0.0.1:4001/"
        );
        for bad in ["/relative", "ftp://x/", "https:///path", "https://u@h/", ""] {
            assert_eq!(htu(bad), Err(HtuError::NotHttp), "{bad}");
        }
    }

    #[test]
    fn claims_leave_out_what_they_do_not_have() {
        let claims = ProofClaims {
            jti: "j".into(),
            htm: "POST".into(),
            htu: "https://op/token".into(),
            iat: 1,
            ath: None,
            nonce: None,
        };
        let json = serde_json::to_string(&claims).unwrap();
        assert_eq!(
            json,
            r#"{"jti":"j","htm":"POST","htu":"https://op/token","iat":1}"#
        );
        let header = ProofHeader::es256(EcPublicJwk::p256(&[0; 32], &[0; 32]));
        let json = serde_json::to_value(&header).unwrap();
        assert_eq!(json["typ"], "dpop+jwt");
        assert!(json["jwk"].get("d").is_none());
    }
}
