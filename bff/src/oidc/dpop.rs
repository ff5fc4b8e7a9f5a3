//! DPoP (RFC 9449) on the BFF's side: the session's proof key, the proofs it signs, and the nonces servers hand
//! out. What a proof contains is decided in [`shared::dpop`]; this module adds the randomness, the clock and the
//! signature.
//!
//! One key per session, made when the login starts (its thumbprint goes into the authorization request as
//! `dpop_jkt`), carried sealed in the login cookie and then in the session, so every replica sharing the store
//! signs with it. The private half never leaves the BFF: it is neither logged nor sent to the browser.

use crate::config::DpopMode;
use crate::error::AppError;
use crate::session::{now, random_token};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use shared::dpop::{
    access_token_hash, htu, nonce_demanded, EcPublicJwk, HtuError, ProofClaims, ProofHeader,
};
use shared::token_response::TokenType;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// A session's ES256 proof key: the PKCS#8 private key (what signs) and its public JWK (what each proof's
/// header carries, kept so a session read from the store needs no point multiplication per request).
#[derive(Clone, PartialEq, Eq)]
pub struct DpopKey {
    pkcs8: Vec<u8>,
    jwk: EcPublicJwk,
}

/// Why a proof could not be made. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    /// The request's URL cannot be a proof's `htu`.
    #[error(transparent)]
    Url(#[from] HtuError),
    /// The signature failed (a key that does not parse: a bug or a damaged store).
    #[error("the DPoP proof could not be signed")]
    Signing,
}

impl DpopKey {
    /// A fresh P-256 key from the operating system's randomness.
    pub fn generate() -> DpopKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("the system's randomness makes a P-256 key")
            .as_ref()
            .to_vec();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng)
            .expect("a key ring made is one ring reads");
        // The uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        let (mut x, mut y) = ([0; 32], [0; 32]);
        x.copy_from_slice(&point[1..33]);
        y.copy_from_slice(&point[33..65]);
        DpopKey {
            jwk: EcPublicJwk::p256(&x, &y),
            pkcs8,
        }
    }

    /// The public key's RFC 7638 thumbprint: `dpop_jkt` in the authorization request, `cnf.jkt` in the tokens.
    pub fn thumbprint(&self) -> String {
        self.jwk
            .thumbprint()
            .expect("a generated P-256 key has a thumbprint")
    }

    /// A signed proof for one request: `method` on `url` (query and fragment dropped), with `access_token`'s
    /// hash when one goes with it and `nonce` when the server asked for one. A fresh `jti` and `iat` each call.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<String>,
    ) -> Result<String, DpopError> {
        let header = ProofHeader::es256(self.jwk.clone());
        let claims = ProofClaims {
            jti: random_token(),
            htm: method.to_owned(),
            htu: htu(url)?,
            iat: now(),
            ath: access_token.map(access_token_hash),
            nonce,
        };
        let input = super::jws::signing_input(&header, &claims);
        // ring: one proof per proxied call to a DPoP API, so the signature is on the hot path, and ring's
        // P-256 (the same library as TLS) costs a fraction of pure-Rust arithmetic.
        let pair = PAIRS.get_or_parse(&self.pkcs8)?;
        let signature = pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| DpopError::Signing)?;
        Ok(super::jws::compact(&input, signature.as_ref()))
    }
}

/// The key pairs recent proofs were signed with, parsed. A session's key comes out of the store as PKCS#8 bytes
/// on every request, and ring's reading of them checks the public half against the private one (a scalar
/// multiplication, about as much CPU as the signature itself), so a damaged key fails there rather than
/// signing nonsense; the check's answer does not change, so it is made once per key while the key is in use.
///
/// Process-wide, because the same session is served by whichever request comes, and bounded
/// ([`PAIR_CACHE_CAPACITY`] keys, whatever the number of sessions). Keyed by the SHA-256 of the PKCS#8
/// document, so the map holds no second copy of a private key and a different key never finds another's pair.
/// The pairs are private keys: nothing here is logged, and the map is never exposed.
static PAIRS: LazyLock<PairCache> = LazyLock::new(PairCache::default);

/// How many parsed keys [`PAIRS`] keeps: the sessions active at the same moment on a busy replica, at about
/// 0.3 KiB each (ring's P-256 pair is about 240 bytes, plus its `Arc` and the map entry). With more, each key
/// parsed evicts another and a proof costs what it did without the cache.
pub const PAIR_CACHE_CAPACITY: usize = 1024;

/// A bounded map from a PKCS#8 document's digest to its parsed key pair.
#[derive(Default)]
struct PairCache {
    pairs: Mutex<HashMap<[u8; 32], Arc<EcdsaKeyPair>>>,
}

impl PairCache {
    /// The pair for `pkcs8`, parsed (and checked) unless a recent proof already did. At capacity, an arbitrary
    /// key makes room: no order to keep up on the hot path, and a key evicted while in use is parsed again.
    fn get_or_parse(&self, pkcs8: &[u8]) -> Result<Arc<EcdsaKeyPair>, DpopError> {
        let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, pkcs8)
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes");
        if let Some(pair) = self.lock().get(&digest) {
            return Ok(pair.clone());
        }
        // Parsed outside the lock: other proofs go on meanwhile.
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8,
            &SystemRandom::new(),
        )
        .map(Arc::new)
        .map_err(|_| DpopError::Signing)?;
        let mut pairs = self.lock();
        if pairs.len() >= PAIR_CACHE_CAPACITY && !pairs.contains_key(&digest) {
            if let Some(evicted) = pairs.keys().next().copied() {
                pairs.remove(&evicted);
            }
        }
        pairs.insert(digest, pair.clone());
        Ok(pair)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<EcdsaKeyPair>>> {
        self.pairs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many pairs are kept (for the bound's test).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

// The private key must never reach a log through `{:?}`.
impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("jwk", &self.jwk)
            .finish_non_exhaustive()
    }
}

/// How a key is kept in a sealed session or login cookie.
#[derive(Serialize, Deserialize)]
struct Stored {
    pkcs8: String,
    jwk: EcPublicJwk,
}

impl Serialize for DpopKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Stored {
            pkcs8: URL_SAFE_NO_PAD.encode(&self.pkcs8),
            jwk: self.jwk.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for DpopKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DpopKey, D::Error> {
        use serde::de::Error;
        let stored = Stored::deserialize(d)?;
        let pkcs8 = URL_SAFE_NO_PAD
            .decode(&stored.pkcs8)
            .map_err(|_| D::Error::custom("a DPoP key that is not base64url"))?;
        if !is_p256_pkcs8(&pkcs8) {
            return Err(D::Error::custom(
                "a DPoP key that is not a P-256 PKCS#8 key",
            ));
        }
        Ok(DpopKey {
            pkcs8,
            jwk: stored.jwk,
        })
    }
}

/// Whether `pkcs8` is a PKCS#8 document for a P-256 key, so that a key of the wrong kind is a store error rather
/// than a failed signature later. Read without `SecretKey::from_pkcs8_der`, whose check of the embedded public
/// key is a pure-Rust point multiplication: the key is read with the session on every proxied call, where that
/// check cost more CPU than the proof itself (BENCHMARKS.md, section 7). The scalar is checked by the signer at
/// the key's first proof ([`DpopError::Signing`]; see [`PAIRS`]).
fn is_p256_pkcs8(pkcs8: &[u8]) -> bool {
    use p256::pkcs8::{AssociatedOid, PrivateKeyInfo};
    PrivateKeyInfo::try_from(pkcs8).is_ok_and(|info| {
        info.algorithm
            .assert_oids(p256::elliptic_curve::ALGORITHM_OID, p256::NistP256::OID)
            .is_ok()
    })
}

/// The latest nonce each server handed out (RFC 9449 8, 9), by origin: the OP and every DPoP API keep their own.
/// A server's nonce is good for all its clients' proofs, so one per server, shared by every session, is enough;
/// the map holds at most one entry per configured server (an origin appears only after a request to it).
#[derive(Default)]
pub struct DpopNonces {
    by_origin: Mutex<HashMap<String, String>>,
}

/// The longest nonce kept: servers use short opaque strings; a longer one is not a nonce this BFF will echo.
const MAX_NONCE_LEN: usize = 512;

impl DpopNonces {
    /// The nonce to put into a proof for `url`, if its server gave one.
    pub fn for_url(&self, url: &str) -> Option<String> {
        let origin = origin_of(url)?;
        self.lock().get(origin).cloned()
    }

    /// Remembers the `DPoP-Nonce` a server at `url` answered with, if any.
    pub fn learn(&self, url: &str, headers: &HeaderMap) {
        let Some(origin) = origin_of(url) else { return };
        let nonce = headers
            .get(shared::dpop::NONCE_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= MAX_NONCE_LEN);
        if let Some(nonce) = nonce {
            self.lock().insert(origin.to_owned(), nonce.to_owned());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.by_origin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The key a session keeps after a token-endpoint answer of `token_type` to a request made with `key`: the
/// key when the token is bound to it; none when the OP answered Bearer (`auto`: the OP ignored the proof, so
/// calls go out as Bearer), or a refusal under `required` (RFC 9449 5: the client must not use a token it
/// asked to be bound when it was not, if it relies on the binding).
pub fn bound_key(
    mode: DpopMode,
    key: Option<DpopKey>,
    token_type: TokenType,
) -> Result<Option<DpopKey>, AppError> {
    match (key, token_type) {
        (Some(key), TokenType::DPoP) => Ok(Some(key)),
        (_, TokenType::Bearer) if mode == DpopMode::Required => Err(AppError::DpopNotBound),
        (Some(_), TokenType::Bearer) => {
            tracing::warn!("the OP answered a Bearer token to a DPoP request; this session is not sender-bound");
            Ok(None)
        }
        (None, _) => Ok(None),
    }
}

/// `scheme://authority` of an absolute URL.
fn origin_of(url: &str) -> Option<&str> {
    let start = url.find("://")? + 3;
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    Some(&url[..end])
}

/// A session's key and the BFF's nonces: everything a request that carries a proof needs.
#[derive(Clone, Copy)]
pub struct Dpop<'a> {
    /// The session's (or the pending login's) key, which signs.
    pub key: &'a DpopKey,
    /// The BFF's nonces, read for each proof and updated from each answer.
    pub nonces: &'a DpopNonces,
}

impl Dpop<'_> {
    /// The two headers of a request that presents `access_token` (RFC 9449 7.1): `Authorization: DPoP <token>`
    /// and a fresh proof for `method` on `url` that names the token (`ath`). Both sensitive, so no debug output
    /// of the request shows them.
    pub fn token_headers(
        &self,
        method: &str,
        url: &str,
        access_token: &str,
    ) -> Result<[(HeaderName, HeaderValue); 2], DpopError> {
        let proof = self.proof(method, url, Some(access_token))?;
        let sensitive = |v: String| {
            HeaderValue::try_from(v)
                .map(|mut v| {
                    v.set_sensitive(true);
                    v
                })
                .map_err(|_| DpopError::Signing)
        };
        Ok([
            (
                AUTHORIZATION,
                sensitive(format!("{} {access_token}", shared::dpop::SCHEME))?,
            ),
            (HeaderName::from_static("dpop"), sensitive(proof)?),
        ])
    }

    /// Learns the nonce a resource server (or userinfo) answered with, and says whether it refused the request
    /// for want of one (RFC 9449 9: 401 with a `DPoP error="use_dpop_nonce"` challenge), so the request is
    /// worth sending once more with a fresh proof.
    pub fn nonce_retry(&self, url: &str, status: StatusCode, headers: &HeaderMap) -> bool {
        self.nonces.learn(url, headers);
        status == StatusCode::UNAUTHORIZED
            && nonce_demanded(
                headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()),
                None,
            )
    }

    /// A proof for `method` on `url`, with the server's latest nonce.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<String, DpopError> {
        self.key
            .proof(method, url, access_token, self.nonces.for_url(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use shared::jose::b64url_decode;

    #[test]
    fn a_proof_verifies_with_the_key_in_its_header_and_says_what_the_request_is() {
        let key = DpopKey::generate();
        let nonces = DpopNonces::default();
        let mut headers = HeaderMap::new();
        headers.insert("dpop-nonce", "n-1".parse().unwrap());
        nonces.learn("http://127.0.0.1:4001/other?x", &headers);
        let dpop = Dpop {
            key: &key,
            nonces: &nonces,
        };
        let proof = dpop
            .proof("GET", "http://127.0.0.1:4001/api/x?q=1#f", Some("tok"))
            .unwrap();
        let parts: Vec<&str> = proof.split('.').collect();
        let header: ProofHeader =
            serde_json::from_slice(&b64url_decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header.typ, "dpop+jwt");
        assert_eq!(header.jwk.thumbprint().unwrap(), key.thumbprint());
        let x = b64url_decode(&header.jwk.x).unwrap();
        let y = b64url_decode(&header.jwk.y).unwrap();
        let decoding = DecodingKey::from_ec_components(&header.jwk.x, &header.jwk.y).unwrap();
        assert_eq!((x.len(), y.len()), (32, 32));
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<ProofClaims>(&proof, &decoding, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims.htm, "GET");
        assert_eq!(claims.htu, "http://127.0.0.1:4001/api/x");
        assert_eq!(
            claims.ath.as_deref(),
            Some(access_token_hash("tok").as_str())
        );
        assert_eq!(claims.nonce.as_deref(), Some("n-1"));
        let again = dpop
            .proof("GET", "http://127.0.0.1:4001/api/x", None)
            .unwrap();
        assert_ne!(again, proof, "a fresh jti every time");
        let other_server = dpop
            .proof("POST", "http://127.0.0.1:9090/token", None)
            .unwrap();
        let claims = jsonwebtoken::decode::<ProofClaims>(&other_server, &decoding, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims.nonce, None);
    }

    #[test]
    fn a_bearer_answer_unbinds_the_session_or_is_refused_under_required() {
        let key = DpopKey::generate();
        let bound = bound_key(DpopMode::Auto, Some(key.clone()), TokenType::DPoP).unwrap();
        assert!(bound == Some(key.clone()));
        assert!(
            bound_key(DpopMode::Auto, Some(key.clone()), TokenType::Bearer)
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            bound_key(DpopMode::Required, Some(key), TokenType::Bearer),
            Err(AppError::DpopNotBound)
        ));
        assert!(bound_key(DpopMode::Off, None, TokenType::Bearer)
            .unwrap()
            .is_none());
    }

    /// Sessions stored before proofs were signed with ring hold keys the `p256` crate encoded: they still sign.
    #[test]
    fn a_key_encoded_by_the_p256_crate_still_signs() {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let point = secret.public_key().to_encoded_point(false);
        let key = DpopKey {
            pkcs8: secret.to_pkcs8_der().unwrap().as_bytes().to_vec(),
            jwk: EcPublicJwk::p256(&(*point.x().unwrap()).into(), &(*point.y().unwrap()).into()),
        };
        let proof = key
            .proof("GET", "http://127.0.0.1:4001/x", None, None)
            .unwrap();
        let decoding = DecodingKey::from_ec_components(&key.jwk.x, &key.jwk.y).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        assert!(jsonwebtoken::decode::<ProofClaims>(&proof, &decoding, &validation).is_ok());
    }

    /// The key in a proof's header verifies it.
    fn verifies_with_its_own_key(key: &DpopKey, proof: &str) -> bool {
        let decoding = DecodingKey::from_ec_components(&key.jwk.x, &key.jwk.y).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        jsonwebtoken::decode::<ProofClaims>(proof, &decoding, &validation).is_ok()
    }

    /// The values an encoder that trims leading zero bytes gets wrong once in 256: a coordinate (RFC 7518
    /// 6.2.1.2-3) or a signature half (RFC 7518 3.4, R and S) whose first byte is zero keeps its full 32 bytes,
    /// and the proof verifies (jsonwebtoken's RustCrypto backend, not ring, which signed) with its header's key.
    /// Keys and proofs are made until each of the four has been seen with a leading zero.
    #[test]
    fn coordinates_and_signature_halves_with_a_leading_zero_keep_their_width() {
        const TRIES: usize = 20_000;
        let url = "http://127.0.0.1:4001/userinfo";
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let full_width = |b64: &str, what: &str| {
            let bytes = b64url_decode(b64).unwrap_or_else(|| panic!("{what}: {b64}"));
            assert_eq!((b64.len(), bytes.len()), (43, 32), "{what}: {b64}");
            bytes
        };
        // x, y, R, S.
        let mut leading_zero = [false; 4];
        let mut key = DpopKey::generate();
        for _ in 0..TRIES {
            let proof = key.proof("GET", url, Some("tok"), None).unwrap();
            let parts: Vec<&str> = proof.split('.').collect();
            let header: ProofHeader =
                serde_json::from_slice(&b64url_decode(parts[0]).unwrap()).unwrap();
            let x = full_width(&header.jwk.x, "x");
            let y = full_width(&header.jwk.y, "y");
            let signature = b64url_decode(parts[2]).unwrap();
            assert_eq!((parts[2].len(), signature.len()), (86, 64), "{proof}");
            let decoding = DecodingKey::from_ec_components(&header.jwk.x, &header.jwk.y).unwrap();
            jsonwebtoken::decode::<ProofClaims>(&proof, &decoding, &validation)
                .unwrap_or_else(|e| panic!("{e}: {proof}"));
            for (seen, first) in
                leading_zero
                    .iter_mut()
                    .zip([x[0], y[0], signature[0], signature[32]])
            {
                *seen |= first == 0;
            }
            if leading_zero.iter().all(|seen| *seen) {
                return;
            }
            if !(leading_zero[0] && leading_zero[1]) {
                key = DpopKey::generate();
            }
        }
        panic!("no leading zero in {TRIES} tries for x, y, R, S: {leading_zero:?}");
    }

    /// However many sessions sign, the parsed keys kept stay within the bound, and a key evicted or kept
    /// signs as itself: the cache never hands one session's key pair to another.
    #[test]
    fn parsed_keys_are_kept_within_the_bound_and_each_key_signs_as_itself() {
        let url = "http://127.0.0.1:4001/x";
        let keys: Vec<DpopKey> = (0..PAIR_CACHE_CAPACITY + 8)
            .map(|_| DpopKey::generate())
            .collect();
        for key in &keys {
            key.proof("GET", url, None, None).unwrap();
        }
        assert!(PAIRS.len() <= PAIR_CACHE_CAPACITY);
        for key in [&keys[0], &keys[1], &keys[keys.len() - 1]] {
            let proof = key.proof("GET", url, None, None).unwrap();
            assert!(verifies_with_its_own_key(key, &proof));
            assert!(!verifies_with_its_own_key(&keys[2], &proof));
        }
    }

    /// A key read back from the store signs from its cached pair exactly as the key that was stored.
    #[test]
    fn a_key_read_back_from_the_store_signs_as_the_stored_one() {
        let key = DpopKey::generate();
        let first = key
            .proof("GET", "http://127.0.0.1:4001/x", None, None)
            .unwrap();
        let back: DpopKey = serde_json::from_str(&serde_json::to_string(&key).unwrap()).unwrap();
        let again = back
            .proof("GET", "http://127.0.0.1:4001/x", None, None)
            .unwrap();
        assert!(verifies_with_its_own_key(&key, &first));
        assert!(verifies_with_its_own_key(&key, &again));
    }

    #[test]
    fn a_key_survives_the_store_and_its_debug_form_hides_the_private_half() {
        let key = DpopKey::generate();
        let json = serde_json::to_string(&key).unwrap();
        let back: DpopKey = serde_json::from_str(&json).unwrap();
        assert!(back == key);
        assert!(!format!("{key:?}").contains(&URL_SAFE_NO_PAD.encode(&key.pkcs8)));
        assert!(serde_json::from_str::<DpopKey>(
            r#"{"pkcs8":"AAAA","jwk":{"kty":"EC","crv":"P-256","x":"","y":""}}"#
        )
        .is_err());
        // A well-formed PKCS#8 key of another kind (the Ed25519 key of RFC 8410 10.3).
        let ed25519 = "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp-K06_nwoy_HU--CXqI9EdVhC";
        let stored = json.replace(&URL_SAFE_NO_PAD.encode(&key.pkcs8), ed25519);
        assert!(serde_json::from_str::<DpopKey>(&stored).is_err());
    }
}
