//! The OpenID RP certification cases (Hybrid RP plan, run per response type) at the rules level, with real
//! signatures: RSA 2048 and P-256 keys generated once, tokens signed with jsonwebtoken, and a test
//! `SignatureVerifier` built on jsonwebtoken's verifier, as the BFF does.
//!
//! Every case asserts the exact `rule()` of the error, and that no error (Display or Debug) carries the ID
//! token, its signature, the code or the access token.
//!
//! One test binary: the keys, the signer and the case builder are here; each section of cases is a module.

use futures_executor::block_on;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{json, Map, Value};
use shared::fragment::AuthorizationResponse;
use shared::jose::alg::{Alg, AlgPolicy};
use shared::jose::b64url_encode;
use shared::jose::jwks::{Jwk, JwkSet};
use shared::verify::authorization::{verify_response, Expected, VerifiedResponse};
use shared::verify::claims::IdTokenClaims;
use shared::verify::hashes::left_half_hash;
use shared::verify::id_token::IdTokenRules;
use shared::verify::token_endpoint::{verify_token_endpoint_id_token, Exchange};
use shared::verify::{Context, Keys, SignatureVerifier, VerifiedIdToken};
use shared::{ResponseType, ValidationError};
use std::cell::Cell;
use std::sync::OnceLock;

mod accepted;
mod claims;
mod hashes;
mod response;
mod signature;
mod token_endpoint;
mod userinfo;

const ISSUER: &str = "https://op.example.com";
const CLIENT: &str = "hybrid-client";
const NONCE: &str = "n-0S6_WzA2Mj";
const STATE: &str = "af0ifjsldkj";
/// Core 1.0 Appendix A.4's code.
const CODE: &str = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
const FRONT_ACCESS_TOKEN: &str = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
const BACK_ACCESS_TOKEN: &str = "SlAV32hkKG-token-endpoint-access-token";
const NOW: i64 = 1_700_000_000;

const ID_TOKEN_TYPES: [ResponseType; 2] =
    [ResponseType::CodeIdToken, ResponseType::CodeIdTokenToken];
const ACCESS_TOKEN_TYPES: [ResponseType; 2] =
    [ResponseType::CodeToken, ResponseType::CodeIdTokenToken];

// ---------------------------------------------------------------------------------------------------------
// Keys (generated once: RSA key generation is slow in debug builds)
// ---------------------------------------------------------------------------------------------------------

struct EcKey {
    pkcs8_der: Vec<u8>,
    x: String,
    y: String,
}

struct TestKeys {
    rsa_pkcs1_der: Vec<u8>,
    rsa_public_pem: String,
    rsa_n: String,
    rsa_e: String,
    ec1: EcKey,
    ec2: EcKey,
}

fn ec_key() -> EcKey {
    use p256::pkcs8::EncodePrivateKey;
    let sk = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let point = sk.verifying_key().to_encoded_point(false);
    EcKey {
        pkcs8_der: sk.to_pkcs8_der().unwrap().as_bytes().to_vec(),
        x: b64url_encode(point.x().unwrap()),
        y: b64url_encode(point.y().unwrap()),
    }
}

fn keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        use rsa::traits::PublicKeyParts;
        let rsa = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let public = rsa.to_public_key();
        TestKeys {
            rsa_pkcs1_der: rsa.to_pkcs1_der().unwrap().as_bytes().to_vec(),
            rsa_public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
            rsa_n: b64url_encode(&public.n().to_bytes_be()),
            rsa_e: b64url_encode(&public.e().to_bytes_be()),
            ec1: ec_key(),
            ec2: ec_key(),
        }
    })
}

fn rsa_jwk(kid: Option<&str>) -> Value {
    let k = keys();
    let mut jwk = json!({"kty": "RSA", "use": "sig", "n": k.rsa_n, "e": k.rsa_e});
    if let Some(kid) = kid {
        jwk["kid"] = json!(kid);
    }
    jwk
}

/// An RSA key that fits RS256/PS256 but is not the signer's: the real modulus with a middle byte changed.
fn decoy_rsa_jwk(kid: Option<&str>) -> Value {
    let k = keys();
    let mut n = shared::jose::b64url_decode(&k.rsa_n).unwrap();
    n[100] ^= 0xff;
    let mut jwk = json!({"kty": "RSA", "n": b64url_encode(&n), "e": k.rsa_e});
    if let Some(kid) = kid {
        jwk["kid"] = json!(kid);
    }
    jwk
}

fn ec_jwk(key: &EcKey, kid: Option<&str>) -> Value {
    let mut jwk = json!({"kty": "EC", "crv": "P-256", "x": key.x, "y": key.y});
    if let Some(kid) = kid {
        jwk["kid"] = json!(kid);
    }
    jwk
}

fn jwks(keys: Vec<Value>) -> JwkSet {
    JwkSet::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
}

/// The OP's published set: one RSA key and one EC key, each with a kid.
fn default_jwks() -> JwkSet {
    jwks(vec![
        rsa_jwk(Some("rsa-1")),
        ec_jwk(&keys().ec1, Some("ec-1")),
    ])
}

// ---------------------------------------------------------------------------------------------------------
// Signing and verifying
// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Signer {
    Rs256,
    Ps256,
    Es256,
    /// The second P-256 key (not the one published as `ec-1`).
    Es256Other,
    /// HS256 keyed with the OP's RSA public key (PEM): the classic key-confusion forgery.
    Hs256WithRsaPublicKey,
    /// `alg: none` with an empty signature.
    None,
}

fn sign(signer: Signer, kid: Option<&str>, claims: &Map<String, Value>) -> String {
    let k = keys();
    let (alg, key) = match signer {
        Signer::Rs256 => (
            Algorithm::RS256,
            EncodingKey::from_rsa_der(&k.rsa_pkcs1_der),
        ),
        Signer::Ps256 => (
            Algorithm::PS256,
            EncodingKey::from_rsa_der(&k.rsa_pkcs1_der),
        ),
        Signer::Es256 => (Algorithm::ES256, EncodingKey::from_ec_der(&k.ec1.pkcs8_der)),
        Signer::Es256Other => (Algorithm::ES256, EncodingKey::from_ec_der(&k.ec2.pkcs8_der)),
        Signer::Hs256WithRsaPublicKey => (
            Algorithm::HS256,
            EncodingKey::from_secret(k.rsa_public_pem.as_bytes()),
        ),
        Signer::None => {
            let mut header = json!({"alg": "none", "typ": "JWT"});
            if let Some(kid) = kid {
                header["kid"] = json!(kid);
            }
            return format!(
                "{}.{}.",
                b64url_encode(header.to_string().as_bytes()),
                b64url_encode(Value::Object(claims.clone()).to_string().as_bytes())
            );
        }
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// The BFF's way of checking a signature: jsonwebtoken with a key built from the JWK's members. Counts calls
/// so the "try each fitting key" rule can be observed.
#[derive(Default)]
struct JwtVerifier {
    calls: Cell<usize>,
}

impl SignatureVerifier for JwtVerifier {
    async fn verify(&self, alg: Alg, key: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool {
        self.calls.set(self.calls.get() + 1);
        let algorithm = match alg {
            Alg::RS256 => Algorithm::RS256,
            Alg::RS384 => Algorithm::RS384,
            Alg::RS512 => Algorithm::RS512,
            Alg::PS256 => Algorithm::PS256,
            Alg::PS384 => Algorithm::PS384,
            Alg::PS512 => Algorithm::PS512,
            Alg::ES256 => Algorithm::ES256,
            Alg::ES384 => Algorithm::ES384,
            Alg::EdDSA => Algorithm::EdDSA,
        };
        let decoding = match key.kty.as_str() {
            "RSA" => DecodingKey::from_rsa_components(
                key.n.as_deref().unwrap_or_default(),
                key.e.as_deref().unwrap_or_default(),
            ),
            "EC" => DecodingKey::from_ec_components(
                key.x.as_deref().unwrap_or_default(),
                key.y.as_deref().unwrap_or_default(),
            ),
            "OKP" => DecodingKey::from_ed_components(key.x.as_deref().unwrap_or_default()),
            _ => return false,
        };
        let Ok(decoding) = decoding else {
            return false;
        };
        jsonwebtoken::crypto::verify(
            &b64url_encode(signature),
            signing_input,
            &decoding,
            algorithm,
        )
        .unwrap_or(false)
    }
}

// ---------------------------------------------------------------------------------------------------------
// The sign-in this RP started, and a builder for the OP's (or an attacker's) answer
// ---------------------------------------------------------------------------------------------------------

fn rules() -> IdTokenRules {
    IdTokenRules {
        issuer: ISSUER.into(),
        client_id: CLIENT.into(),
        trusted_audiences: vec![],
        nonce: NONCE.into(),
        leeway_secs: 60,
    }
}

/// Claims an honest OP sends in the front channel for this response type (all signers here hash with SHA-256).
fn front_claims(rt: ResponseType) -> Map<String, Value> {
    let mut c = json!({
        "iss": ISSUER,
        "sub": "alice",
        "aud": CLIENT,
        "exp": NOW + 300,
        "iat": NOW,
        "nonce": NONCE,
        "c_hash": left_half_hash(Alg::RS256, CODE),
        "name": "Alice",
    });
    if rt.has_access_token() {
        c["at_hash"] = json!(left_half_hash(Alg::RS256, FRONT_ACCESS_TOKEN));
    }
    let Value::Object(map) = c else {
        unreachable!()
    };
    map
}

/// Secrets that must never appear in an error's Display or Debug text.
fn assert_carries_no_secrets(error: &ValidationError, secrets: &[&str]) {
    let shown = error.to_string();
    let debugged = format!("{error:?}");
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(
            !shown.contains(secret) && !debugged.contains(secret),
            "error `{}` carries token material: {shown} / {debugged}",
            error.rule()
        );
    }
}

fn secrets_of(token: &str) -> Vec<String> {
    let mut secrets = vec![
        token.to_owned(),
        CODE.to_owned(),
        FRONT_ACCESS_TOKEN.to_owned(),
        BACK_ACCESS_TOKEN.to_owned(),
    ];
    // Each part of the JWS (header, payload, signature) on its own, too.
    secrets.extend(token.split('.').map(str::to_owned));
    secrets
}

type TokenEdit = Box<dyn FnOnce(String) -> String>;
type ResponseEdit = Box<dyn FnOnce(&mut AuthorizationResponse)>;

struct Case {
    rt: ResponseType,
    claims: Map<String, Value>,
    signer: Signer,
    kid: Option<&'static str>,
    jwks: JwkSet,
    policy: AlgPolicy,
    rules: IdTokenRules,
    now: i64,
    edit_token: Option<TokenEdit>,
    edit_response: Option<ResponseEdit>,
    iss_parameter_supported: bool,
}

impl Case {
    fn new(rt: ResponseType) -> Case {
        Case {
            rt,
            claims: front_claims(rt),
            signer: Signer::Rs256,
            kid: Some("rsa-1"),
            jwks: default_jwks(),
            policy: AlgPolicy::default(),
            rules: rules(),
            now: NOW,
            edit_token: None,
            edit_response: None,
            iss_parameter_supported: false,
        }
    }

    /// The OP's discovery advertises the RFC 9207 `iss` parameter.
    fn iss_parameter_advertised(mut self) -> Case {
        self.iss_parameter_supported = true;
        self
    }

    fn claim(mut self, name: &str, value: Value) -> Case {
        self.claims.insert(name.to_owned(), value);
        self
    }

    fn without(mut self, name: &str) -> Case {
        self.claims.remove(name);
        self
    }

    fn signed(mut self, signer: Signer, kid: Option<&'static str>) -> Case {
        self.signer = signer;
        self.kid = kid;
        self
    }

    fn jwks(mut self, set: JwkSet) -> Case {
        self.jwks = set;
        self
    }

    fn rules(mut self, edit: impl FnOnce(&mut IdTokenRules)) -> Case {
        edit(&mut self.rules);
        self
    }

    fn token(mut self, edit: impl FnOnce(String) -> String + 'static) -> Case {
        self.edit_token = Some(Box::new(edit));
        self
    }

    fn response(mut self, edit: impl FnOnce(&mut AuthorizationResponse) + 'static) -> Case {
        self.edit_response = Some(Box::new(edit));
        self
    }

    /// Signs, builds the fragment's response and validates it: `Ok` or the error (already checked for
    /// secrets), with the number of signature checks made.
    fn outcome(self) -> (Result<VerifiedResponse, ValidationError>, usize) {
        let mut token = sign(self.signer, self.kid, &self.claims);
        if let Some(edit) = self.edit_token {
            token = edit(token);
        }
        let mut response = AuthorizationResponse {
            code: Some(CODE.into()),
            id_token: self.rt.has_id_token().then(|| token.clone()),
            access_token: self
                .rt
                .has_access_token()
                .then(|| FRONT_ACCESS_TOKEN.into()),
            token_type: self.rt.has_access_token().then(|| "Bearer".into()),
            state: Some(STATE.into()),
            iss: Some(ISSUER.into()),
        };
        if let Some(edit) = self.edit_response {
            edit(&mut response);
        }
        let expected = Expected {
            state: STATE,
            response_type: self.rt,
            rules: &self.rules,
            iss_parameter_supported: self.iss_parameter_supported,
        };
        let keys = Keys {
            jwks: &self.jwks,
            policy: &self.policy,
        };
        let verifier = JwtVerifier::default();
        let result = block_on(verify_response(
            &response,
            &expected,
            Context::new(keys, self.now, &verifier),
        ));
        if let Err(e) = &result {
            let secrets = secrets_of(&token);
            assert_carries_no_secrets(e, &secrets.iter().map(String::as_str).collect::<Vec<_>>());
        }
        (result, verifier.calls.get())
    }

    /// `"ok"` or the failed rule's name.
    fn run(self) -> &'static str {
        let rt = self.rt;
        match self.outcome().0 {
            Ok(v) => {
                assert_eq!(v.code, CODE, "{rt}");
                assert_eq!(v.id_token.is_some(), rt.has_id_token(), "{rt}");
                "ok"
            }
            Err(e) => e.rule(),
        }
    }
}

/// Runs `case` for each response type in `types` and expects `rule` every time.
fn expect(types: &[ResponseType], rule: &str, case: impl Fn(Case) -> Case) {
    for &rt in types {
        assert_eq!(case(Case::new(rt)).run(), rule, "response type `{rt}`");
    }
}
