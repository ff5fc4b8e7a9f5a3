//! The OpenID RP certification cases (Hybrid RP plan, run per response type) at the rules level, with real
//! signatures: RSA 2048 and P-256 keys generated once, tokens signed with jsonwebtoken, and a test
//! `SignatureVerifier` built on jsonwebtoken's verifier, as the BFF does.
//!
//! Every case asserts the exact `rule()` of the error, and that no error (Display or Debug) carries the ID
//! token, its signature, the code or the access token.

use futures_executor::block_on;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{json, Map, Value};
use shared::fragment::AuthorizationResponse;
use shared::jose::alg::{Alg, AlgPolicy};
use shared::jose::b64url_encode;
use shared::jose::jwks::{Jwk, JwkSet};
use shared::verify::authorization::{validate_response, Expected, ValidatedResponse};
use shared::verify::claims::IdTokenClaims;
use shared::verify::hashes::left_half_hash;
use shared::verify::id_token::IdTokenRules;
use shared::verify::token_endpoint::{validate_token_id_token, Exchange};
use shared::verify::{Keys, SignatureVerifier, VerifiedIdToken};
use shared::{ResponseType, ValidationError};
use std::cell::Cell;
use std::sync::OnceLock;

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
    fn outcome(self) -> (Result<ValidatedResponse, ValidationError>, usize) {
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
        let result = block_on(validate_response(
            &response, &expected, keys, self.now, &verifier,
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

// ---------------------------------------------------------------------------------------------------------
// Accepted
// ---------------------------------------------------------------------------------------------------------

#[test]
fn valid_rs256_is_accepted_for_every_response_type() {
    expect(&ResponseType::ALL, "ok", |c| c);
}

#[test]
fn valid_rs256_yields_the_verified_claims() {
    let (result, calls) = Case::new(ResponseType::CodeIdToken).outcome();
    let VerifiedIdToken { alg, claims } = result.unwrap().id_token.unwrap();
    assert_eq!(alg, Alg::RS256);
    assert_eq!(claims.sub.as_deref(), Some("alice"));
    assert_eq!(claims.user().display_name(), "Alice");
    assert_eq!(calls, 1);
}

#[test]
fn valid_es256_is_accepted() {
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.signed(Signer::Es256, Some("ec-1"))
    });
}

#[test]
fn valid_ps256_with_the_rsa_key_is_accepted() {
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.signed(Signer::Ps256, Some("rsa-1"))
    });
}

#[test]
fn lowercase_bearer_is_accepted() {
    expect(&ACCESS_TOKEN_TYPES, "ok", |c| {
        c.response(|r| r.token_type = Some("bearer".into()))
    });
}

#[test]
fn absent_rfc9207_iss_parameter_is_accepted() {
    expect(&ResponseType::ALL, "ok", |c| c.response(|r| r.iss = None));
}

#[test]
fn advertised_rfc9207_iss_parameter_present_is_accepted() {
    expect(&ResponseType::ALL, "ok", Case::iss_parameter_advertised);
}

/// node-oidc-provider advertises the parameter but leaves it out when an ID token is in the response: the ID
/// token's `iss` identifies the OP then (RFC 9207 2.4).
#[test]
fn advertised_rfc9207_iss_parameter_may_be_absent_beside_an_id_token() {
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.iss_parameter_advertised().response(|r| r.iss = None)
    });
    // The fallback is the ID token's own issuer rule, which still holds.
    expect(&ID_TOKEN_TYPES, "iss_mismatch", |c| {
        c.iss_parameter_advertised()
            .claim("iss", json!("https://evil.example.com"))
            .response(|r| r.iss = None)
    });
}

/// `code token` has no ID token to fall back on: when the OP advertises the parameter, its absence is refused.
#[test]
fn advertised_rfc9207_iss_parameter_absent_without_an_id_token_is_rejected() {
    expect(&[ResponseType::CodeToken], "iss_parameter_missing", |c| {
        c.iss_parameter_advertised().response(|r| r.iss = None)
    });
}

#[test]
fn kid_absent_with_one_key_is_accepted() {
    // Only one key in the set.
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.signed(Signer::Rs256, None)
            .jwks(jwks(vec![rsa_jwk(Some("rsa-1"))]))
    });
    // Only one key that fits the algorithm (the EC key does not fit RS256), and a key without kid.
    expect(&ID_TOKEN_TYPES, "ok", |c| c.signed(Signer::Rs256, None));
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.signed(Signer::Es256, None)
            .jwks(jwks(vec![ec_jwk(&keys().ec1, None), rsa_jwk(None)]))
    });
}

#[test]
fn kid_absent_with_several_fitting_keys_tries_each() {
    for rt in ID_TOKEN_TYPES {
        // Two real P-256 keys; the signer's is last.
        let (result, calls) = Case::new(rt)
            .signed(Signer::Es256, None)
            .jwks(jwks(vec![
                ec_jwk(&keys().ec2, Some("ec-2")),
                ec_jwk(&keys().ec1, Some("ec-1")),
                rsa_jwk(Some("rsa-1")),
            ]))
            .outcome();
        assert!(result.is_ok(), "{rt}: {result:?}");
        assert_eq!(calls, 2, "{rt}: both EC keys are tried, the RSA key is not");

        // A decoy RSA key first, the real one second; with RS256 and with PS256.
        for signer in [Signer::Rs256, Signer::Ps256] {
            let (result, calls) = Case::new(rt)
                .signed(signer, None)
                .jwks(jwks(vec![
                    decoy_rsa_jwk(Some("old")),
                    rsa_jwk(Some("rsa-1")),
                ]))
                .outcome();
            assert!(result.is_ok(), "{rt} {signer:?}: {result:?}");
            assert_eq!(calls, 2, "{rt} {signer:?}");
        }

        // Several fitting keys and none of them signed: bad signature after trying all.
        let (result, calls) = Case::new(rt)
            .signed(Signer::Es256Other, None)
            .jwks(jwks(vec![
                ec_jwk(&keys().ec1, Some("ec-1")),
                ec_jwk(&keys().ec1, Some("ec-1b")),
            ]))
            .outcome();
        assert_eq!(result.unwrap_err().rule(), "bad_signature", "{rt}");
        assert_eq!(calls, 2, "{rt}");
    }
}

#[test]
fn a_kid_selects_only_its_key() {
    for rt in ID_TOKEN_TYPES {
        let (result, calls) = Case::new(rt)
            .signed(Signer::Rs256, Some("rsa-1"))
            .jwks(jwks(vec![
                decoy_rsa_jwk(Some("old")),
                rsa_jwk(Some("rsa-1")),
            ]))
            .outcome();
        assert!(result.is_ok(), "{rt}: {result:?}");
        assert_eq!(calls, 1, "{rt}");
        // The kid names the decoy: it is the only key tried, and it fails.
        let (result, calls) = Case::new(rt)
            .signed(Signer::Rs256, Some("old"))
            .jwks(jwks(vec![
                decoy_rsa_jwk(Some("old")),
                rsa_jwk(Some("rsa-1")),
            ]))
            .outcome();
        assert_eq!(result.unwrap_err().rule(), "bad_signature", "{rt}");
        assert_eq!(calls, 1, "{rt}");
    }
}

#[test]
fn expiry_within_the_leeway_is_accepted() {
    expect(&ID_TOKEN_TYPES, "ok", |c| c.claim("exp", json!(NOW - 59)));
    expect(&ID_TOKEN_TYPES, "ok", |c| c.claim("exp", json!(NOW - 60)));
    expect(&ID_TOKEN_TYPES, "ok", |c| c.claim("iat", json!(NOW + 60)));
}

#[test]
fn trusted_extra_audience_and_own_azp_are_accepted() {
    expect(&ID_TOKEN_TYPES, "ok", |c| {
        c.claim("aud", json!([CLIENT, "api.example.com"]))
            .rules(|r| r.trusted_audiences = vec!["api.example.com".into()])
    });
    expect(&ID_TOKEN_TYPES, "ok", |c| c.claim("azp", json!(CLIENT)));
    expect(&ID_TOKEN_TYPES, "ok", |c| c.claim("aud", json!([CLIENT])));
}

// ---------------------------------------------------------------------------------------------------------
// Rejected: the signature and the key
// ---------------------------------------------------------------------------------------------------------

#[test]
fn unknown_kid_is_rejected() {
    expect(&ID_TOKEN_TYPES, "unknown_kid", |c| {
        c.signed(Signer::Rs256, Some("rotated-away"))
    });
}

#[test]
fn kid_of_a_key_that_does_not_fit_is_rejected() {
    // RS256 token naming the EC key.
    expect(&ID_TOKEN_TYPES, "no_usable_key", |c| {
        c.signed(Signer::Rs256, Some("ec-1"))
    });
    // No key at all for ES256.
    expect(&ID_TOKEN_TYPES, "no_usable_key", |c| {
        c.signed(Signer::Es256, None)
            .jwks(jwks(vec![rsa_jwk(Some("rsa-1"))]))
    });
}

#[test]
fn bad_signature_is_rejected() {
    let flip_signature = |token: String| {
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut sig = shared::jose::b64url_decode(sig).unwrap();
        sig[10] ^= 0x01;
        format!("{input}.{}", b64url_encode(&sig))
    };
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.token(flip_signature)
    });
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.signed(Signer::Es256, Some("ec-1")).token(flip_signature)
    });
    // The right key id, the wrong key.
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.signed(Signer::Es256Other, Some("ec-1"))
    });
    // A payload changed after signing (claims of another user).
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.token(|token| {
            let parts: Vec<&str> = token.split('.').collect();
            let mut claims: Value =
                serde_json::from_slice(&shared::jose::b64url_decode(parts[1]).unwrap()).unwrap();
            claims["sub"] = json!("mallory");
            format!(
                "{}.{}.{}",
                parts[0],
                b64url_encode(claims.to_string().as_bytes()),
                parts[2]
            )
        })
    });
    // An RS256 signature presented as PS256 (the header is changed, so the signing input differs too).
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.token(|token| {
            let (_, rest) = token.split_once('.').unwrap();
            let header = b64url_encode(br#"{"alg":"PS256","kid":"rsa-1"}"#);
            format!("{header}.{rest}")
        })
    });
    // An empty signature.
    expect(&ID_TOKEN_TYPES, "bad_signature", |c| {
        c.token(|token| {
            let (input, _) = token.rsplit_once('.').unwrap();
            format!("{input}.")
        })
    });
}

#[test]
fn alg_none_is_rejected() {
    expect(&ID_TOKEN_TYPES, "alg_none", |c| {
        c.signed(Signer::None, None)
    });
    expect(&ID_TOKEN_TYPES, "alg_none", |c| {
        c.signed(Signer::None, Some("rsa-1"))
    });
    // `none` with a (valid RS256) signature attached.
    expect(&ID_TOKEN_TYPES, "alg_none", |c| {
        c.token(|token| {
            let (_, rest) = token.split_once('.').unwrap();
            let header = b64url_encode(br#"{"alg":"none","kid":"rsa-1"}"#);
            format!("{header}.{rest}")
        })
    });
}

#[test]
fn hs256_keyed_with_the_rsa_public_key_is_rejected() {
    expect(&ID_TOKEN_TYPES, "alg_hmac_rejected", |c| {
        c.signed(Signer::Hs256WithRsaPublicKey, Some("rsa-1"))
    });
    expect(&ID_TOKEN_TYPES, "alg_hmac_rejected", |c| {
        c.signed(Signer::Hs256WithRsaPublicKey, None)
    });
}

#[test]
fn alg_outside_the_policy_is_rejected() {
    for rt in ID_TOKEN_TYPES {
        let mut case = Case::new(rt);
        case.policy = AlgPolicy::only(&[Alg::ES256]);
        assert_eq!(case.run(), "alg_not_allowed", "{rt}");
    }
}

#[test]
fn crit_header_is_rejected() {
    expect(&ID_TOKEN_TYPES, "crit_unsupported", |c| {
        c.token(|token| {
            let (_, rest) = token.split_once('.').unwrap();
            let header = b64url_encode(br#"{"alg":"RS256","kid":"rsa-1","crit":["exp"]}"#);
            format!("{header}.{rest}")
        })
    });
}

#[test]
fn malformed_id_token_is_rejected() {
    expect(&ID_TOKEN_TYPES, "malformed_token", |c| {
        c.response(|r| r.id_token = Some("not-a-jwt".into()))
    });
    expect(&ID_TOKEN_TYPES, "malformed_token", |c| {
        c.token(|token| format!("{token}.extra"))
    });
}

// ---------------------------------------------------------------------------------------------------------
// Rejected: the claims
// ---------------------------------------------------------------------------------------------------------

#[test]
fn wrong_iss_is_rejected() {
    expect(&ID_TOKEN_TYPES, "iss_mismatch", |c| {
        c.claim("iss", json!("https://evil.example.com"))
    });
    // Exact comparison: a trailing slash is another issuer.
    expect(&ID_TOKEN_TYPES, "iss_mismatch", |c| {
        c.claim("iss", json!(format!("{ISSUER}/")))
    });
    expect(&ID_TOKEN_TYPES, "iss_mismatch", |c| c.without("iss"));
}

#[test]
fn wrong_or_missing_aud_is_rejected() {
    expect(&ID_TOKEN_TYPES, "aud_mismatch", |c| {
        c.claim("aud", json!("other-client"))
    });
    expect(&ID_TOKEN_TYPES, "aud_mismatch", |c| c.without("aud"));
    expect(&ID_TOKEN_TYPES, "aud_mismatch", |c| {
        c.claim("aud", json!([]))
    });
}

#[test]
fn extra_untrusted_aud_is_rejected() {
    expect(&ID_TOKEN_TYPES, "aud_untrusted", |c| {
        c.claim("aud", json!([CLIENT, "evil-client"]))
    });
}

#[test]
fn azp_of_another_client_is_rejected() {
    expect(&ID_TOKEN_TYPES, "azp_mismatch", |c| {
        c.claim("azp", json!("other-client"))
    });
}

#[test]
fn expired_beyond_the_leeway_is_rejected() {
    expect(&ID_TOKEN_TYPES, "expired", |c| {
        c.claim("exp", json!(NOW - 61))
    });
    expect(&ID_TOKEN_TYPES, "expired", |c| {
        c.claim("exp", json!(NOW - 3600))
    });
    expect(&ID_TOKEN_TYPES, "exp_missing", |c| c.without("exp"));
}

#[test]
fn iat_in_the_future_is_rejected() {
    expect(&ID_TOKEN_TYPES, "iat_in_future", |c| {
        c.claim("iat", json!(NOW + 61))
    });
}

#[test]
fn missing_iat_is_rejected() {
    expect(&ID_TOKEN_TYPES, "iat_missing", |c| c.without("iat"));
}

#[test]
fn missing_sub_is_rejected() {
    expect(&ID_TOKEN_TYPES, "sub_missing", |c| c.without("sub"));
    expect(&ID_TOKEN_TYPES, "sub_missing", |c| {
        c.claim("sub", json!(""))
    });
}

#[test]
fn wrong_nonce_is_rejected() {
    expect(&ID_TOKEN_TYPES, "nonce_mismatch", |c| {
        c.claim("nonce", json!("n-from-another-sign-in"))
    });
}

#[test]
fn missing_nonce_is_rejected() {
    expect(&ID_TOKEN_TYPES, "nonce_missing", |c| c.without("nonce"));
}

#[test]
fn wrongly_typed_claims_are_rejected() {
    expect(&ID_TOKEN_TYPES, "malformed_claims", |c| {
        c.claim("exp", json!("tomorrow"))
    });
    expect(&ID_TOKEN_TYPES, "malformed_claims", |c| {
        c.claim("sub", json!(5))
    });
}

// ---------------------------------------------------------------------------------------------------------
// Rejected: c_hash and at_hash
// ---------------------------------------------------------------------------------------------------------

#[test]
fn bad_c_hash_is_rejected() {
    expect(&ID_TOKEN_TYPES, "c_hash_mismatch", |c| {
        c.claim("c_hash", json!(left_half_hash(Alg::RS256, "another-code")))
    });
    // The right code hashed with the wrong hash (SHA-512 for an RS256 token).
    expect(&ID_TOKEN_TYPES, "c_hash_mismatch", |c| {
        c.claim("c_hash", json!(left_half_hash(Alg::RS512, CODE)))
    });
    // The code swapped in the response: the ID token vouches for another code.
    expect(&ID_TOKEN_TYPES, "c_hash_mismatch", |c| {
        c.response(|r| r.code = Some("swapped-code-from-another-response".into()))
    });
}

#[test]
fn missing_c_hash_is_rejected() {
    expect(&ID_TOKEN_TYPES, "c_hash_missing", |c| c.without("c_hash"));
}

#[test]
fn bad_at_hash_is_rejected() {
    let types = [ResponseType::CodeIdTokenToken];
    expect(&types, "at_hash_mismatch", |c| {
        c.claim(
            "at_hash",
            json!(left_half_hash(Alg::RS256, "another-token")),
        )
    });
    expect(&types, "at_hash_mismatch", |c| {
        c.response(|r| r.access_token = Some("swapped-access-token".into()))
    });
    // at_hash in a `code id_token` token is not checked: there is no access token to hold it against.
    expect(&[ResponseType::CodeIdToken], "ok", |c| {
        c.claim("at_hash", json!("garbage"))
    });
}

#[test]
fn missing_at_hash_is_rejected() {
    expect(&[ResponseType::CodeIdTokenToken], "at_hash_missing", |c| {
        c.without("at_hash")
    });
}

#[test]
fn es256_and_ps256_hashes_are_checked_too() {
    for (signer, kid) in [(Signer::Es256, "ec-1"), (Signer::Ps256, "rsa-1")] {
        expect(&ID_TOKEN_TYPES, "c_hash_mismatch", |c| {
            c.signed(signer, Some(kid))
                .claim("c_hash", json!(left_half_hash(Alg::RS256, "x")))
        });
        expect(&[ResponseType::CodeIdTokenToken], "at_hash_mismatch", |c| {
            c.signed(signer, Some(kid))
                .claim("at_hash", json!(left_half_hash(Alg::RS256, "x")))
        });
    }
}

// ---------------------------------------------------------------------------------------------------------
// Rejected: the response around the ID token
// ---------------------------------------------------------------------------------------------------------

#[test]
fn state_mismatch_or_missing_is_rejected() {
    expect(&ResponseType::ALL, "state_mismatch", |c| {
        c.response(|r| r.state = Some("another-sign-in".into()))
    });
    expect(&ResponseType::ALL, "state_mismatch", |c| {
        c.response(|r| r.state = Some(format!("{STATE}x")))
    });
    expect(&ResponseType::ALL, "state_missing", |c| {
        c.response(|r| r.state = None)
    });
    // State is checked before anything else, even before a bad ID token.
    expect(&ID_TOKEN_TYPES, "state_mismatch", |c| {
        c.signed(Signer::None, None)
            .response(|r| r.state = Some("x".into()))
    });
}

#[test]
fn rfc9207_iss_parameter_of_another_op_is_rejected() {
    expect(&ResponseType::ALL, "iss_parameter_mismatch", |c| {
        c.response(|r| r.iss = Some("https://evil.example.com".into()))
    });
    expect(&ResponseType::ALL, "iss_parameter_mismatch", |c| {
        c.response(|r| r.iss = Some(format!("{ISSUER}/")))
    });
    // Advertised or not, a present parameter must be the issuer exactly.
    expect(&ResponseType::ALL, "iss_parameter_mismatch", |c| {
        c.iss_parameter_advertised()
            .response(|r| r.iss = Some(String::new()))
    });
}

#[test]
fn missing_code_is_rejected() {
    expect(&ResponseType::ALL, "code_missing", |c| {
        c.response(|r| r.code = None)
    });
}

#[test]
fn missing_id_token_is_rejected() {
    expect(&ID_TOKEN_TYPES, "id_token_missing", |c| {
        c.response(|r| r.id_token = None)
    });
}

#[test]
fn missing_access_token_is_rejected() {
    expect(&ACCESS_TOKEN_TYPES, "access_token_missing", |c| {
        c.response(|r| r.access_token = None)
    });
}

#[test]
fn token_type_other_than_bearer_is_rejected() {
    expect(&ACCESS_TOKEN_TYPES, "token_type_invalid", |c| {
        c.response(|r| r.token_type = Some("mac".into()))
    });
    expect(&ACCESS_TOKEN_TYPES, "token_type_invalid", |c| {
        c.response(|r| r.token_type = Some("DPoP".into()))
    });
    expect(&ACCESS_TOKEN_TYPES, "token_type_invalid", |c| {
        c.response(|r| r.token_type = None)
    });
}

#[test]
fn code_token_ignores_id_token_rules() {
    // `code token` has no front-channel ID token: whatever the OP puts there is not read.
    expect(&[ResponseType::CodeToken], "ok", |c| {
        c.response(|r| r.id_token = Some("garbage".into()))
    });
}

// ---------------------------------------------------------------------------------------------------------
// The token endpoint's ID token
// ---------------------------------------------------------------------------------------------------------

/// Claims an honest token endpoint returns: no c_hash/at_hash (optional there, Core 3.3.3.7).
fn back_claims() -> Map<String, Value> {
    let mut c = front_claims(ResponseType::CodeIdToken);
    c.remove("c_hash");
    c.remove("at_hash");
    c.insert("iat".into(), json!(NOW + 5));
    c
}

/// The front-channel claims as validated by `validate_response`.
fn validated_front_claims() -> IdTokenClaims {
    let (result, _) = Case::new(ResponseType::CodeIdToken).outcome();
    result.unwrap().id_token.unwrap().claims
}

fn exchange(
    claims: &Map<String, Value>,
    signer: Signer,
    front: Option<&IdTokenClaims>,
) -> &'static str {
    let kid = match signer {
        Signer::Es256 | Signer::Es256Other => Some("ec-1"),
        _ => Some("rsa-1"),
    };
    let token = sign(signer, kid, claims);
    let rules = rules();
    let set = default_jwks();
    let policy = AlgPolicy::default();
    let result = block_on(validate_token_id_token(
        &token,
        Exchange {
            rules: &rules,
            front_channel: front,
            code: CODE,
            access_token: BACK_ACCESS_TOKEN,
        },
        Keys {
            jwks: &set,
            policy: &policy,
        },
        NOW + 5,
        &JwtVerifier::default(),
    ));
    match result {
        Ok(token) => {
            assert_eq!(token.claims.sub, claims["sub"].as_str().map(str::to_owned));
            "ok"
        }
        Err(e) => {
            let secrets = secrets_of(&token);
            assert_carries_no_secrets(&e, &secrets.iter().map(String::as_str).collect::<Vec<_>>());
            e.rule()
        }
    }
}

fn back_with(edit: impl FnOnce(&mut Map<String, Value>)) -> Map<String, Value> {
    let mut c = back_claims();
    edit(&mut c);
    c
}

#[test]
fn token_endpoint_id_token_is_accepted() {
    let front = validated_front_claims();
    assert_eq!(exchange(&back_claims(), Signer::Rs256, Some(&front)), "ok");
    assert_eq!(exchange(&back_claims(), Signer::Es256, Some(&front)), "ok");
    assert_eq!(exchange(&back_claims(), Signer::Ps256, Some(&front)), "ok");
    // `code token`: no front-channel ID token to compare with.
    assert_eq!(exchange(&back_claims(), Signer::Rs256, None), "ok");
}

#[test]
fn token_endpoint_other_sub_is_rejected() {
    let front = validated_front_claims();
    let other = back_with(|c| {
        c.insert("sub".into(), json!("mallory"));
    });
    assert_eq!(exchange(&other, Signer::Rs256, Some(&front)), "sub_changed");
    // Without a front-channel token (`code token`), any valid sub is the user.
    assert_eq!(exchange(&other, Signer::Rs256, None), "ok");
}

#[test]
fn token_endpoint_other_iss_is_rejected() {
    let front = validated_front_claims();
    let other = back_with(|c| {
        c.insert("iss".into(), json!("https://evil.example.com"));
    });
    // The configured-issuer rule runs first, so this is iss_mismatch rather than iss_changed.
    assert_eq!(
        exchange(&other, Signer::Rs256, Some(&front)),
        "iss_mismatch"
    );
    assert_eq!(exchange(&other, Signer::Rs256, None), "iss_mismatch");
    // iss_changed is only reachable when the front-channel claims had another issuer.
    let mut odd_front = front.clone();
    odd_front.iss = Some("https://previous.example.com".into());
    assert_eq!(
        exchange(&back_claims(), Signer::Rs256, Some(&odd_front)),
        "iss_changed"
    );
}

#[test]
fn token_endpoint_nonce_is_checked_again() {
    let front = validated_front_claims();
    let other = back_with(|c| {
        c.insert("nonce".into(), json!("n-from-another-sign-in"));
    });
    assert_eq!(
        exchange(&other, Signer::Rs256, Some(&front)),
        "nonce_mismatch"
    );
    let missing = back_with(|c| {
        c.remove("nonce");
    });
    assert_eq!(
        exchange(&missing, Signer::Rs256, Some(&front)),
        "nonce_missing"
    );
}

#[test]
fn token_endpoint_at_hash_is_checked_when_present() {
    let front = validated_front_claims();
    // The hash of the front-channel access token, not of the one the token endpoint returned.
    let wrong = back_with(|c| {
        c.insert(
            "at_hash".into(),
            json!(left_half_hash(Alg::RS256, FRONT_ACCESS_TOKEN)),
        );
    });
    assert_eq!(
        exchange(&wrong, Signer::Rs256, Some(&front)),
        "at_hash_mismatch"
    );
    let right = back_with(|c| {
        c.insert(
            "at_hash".into(),
            json!(left_half_hash(Alg::RS256, BACK_ACCESS_TOKEN)),
        );
    });
    assert_eq!(exchange(&right, Signer::Rs256, Some(&front)), "ok");
    // Absent: fine at the token endpoint.
    assert_eq!(exchange(&back_claims(), Signer::Rs256, Some(&front)), "ok");
}

#[test]
fn token_endpoint_c_hash_is_checked_when_present() {
    let front = validated_front_claims();
    let wrong = back_with(|c| {
        c.insert("c_hash".into(), json!(left_half_hash(Alg::RS256, "other")));
    });
    assert_eq!(
        exchange(&wrong, Signer::Rs256, Some(&front)),
        "c_hash_mismatch"
    );
    let right = back_with(|c| {
        c.insert("c_hash".into(), json!(left_half_hash(Alg::RS256, CODE)));
    });
    assert_eq!(exchange(&right, Signer::Rs256, Some(&front)), "ok");
}

#[test]
fn token_endpoint_signature_rules_apply() {
    let front = validated_front_claims();
    assert_eq!(
        exchange(&back_claims(), Signer::None, Some(&front)),
        "alg_none"
    );
    assert_eq!(
        exchange(&back_claims(), Signer::Hs256WithRsaPublicKey, Some(&front)),
        "alg_hmac_rejected"
    );
    assert_eq!(
        exchange(&back_claims(), Signer::Es256Other, Some(&front)),
        "bad_signature"
    );
    let other_aud = back_with(|c| {
        c.insert("aud".into(), json!("other-client"));
    });
    assert_eq!(
        exchange(&other_aud, Signer::Rs256, Some(&front)),
        "aud_mismatch"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Signed userinfo (Core 5.3.2): the ID tokens' key set, algorithm policy, iss and aud rules
// ---------------------------------------------------------------------------------------------------------

/// The rule a signed userinfo answer breaks, or `ok`.
fn userinfo_rule(
    signer: Signer,
    kid: Option<&str>,
    edit: impl FnOnce(&mut Map<String, Value>),
) -> String {
    use shared::jose::jws::CompactJws;
    use shared::verify::userinfo::{verify_userinfo_jwt, UserinfoRules};
    let mut claims = json!({"iss": ISSUER, "aud": CLIENT, "sub": "alice", "name": "Alice"})
        .as_object()
        .cloned()
        .unwrap();
    edit(&mut claims);
    let raw = sign(signer, kid, &claims);
    let jws = match CompactJws::parse(&raw) {
        Ok(jws) => jws,
        Err(e) => return e.rule().to_owned(),
    };
    let set = default_jwks();
    let policy = AlgPolicy::default();
    let keys = Keys {
        jwks: &set,
        policy: &policy,
    };
    let rules = UserinfoRules {
        issuer: ISSUER,
        client_id: CLIENT,
        trusted_audiences: &[],
        leeway_secs: 60,
    };
    match block_on(verify_userinfo_jwt(
        &jws,
        rules,
        keys,
        NOW,
        &JwtVerifier::default(),
    )) {
        Ok(c) => {
            assert_eq!(c["name"], "Alice");
            "ok".into()
        }
        Err(ValidationError::UserinfoInvalid { reason }) => reason,
        Err(other) => panic!("not a userinfo error: {other:?}"),
    }
}

#[test]
fn signed_userinfo_is_checked_like_an_id_token() {
    assert_eq!(userinfo_rule(Signer::Rs256, Some("rsa-1"), |_| {}), "ok");
    assert_eq!(userinfo_rule(Signer::Es256, None, |_| {}), "ok");
    assert_eq!(
        userinfo_rule(Signer::Es256Other, Some("ec-1"), |_| {}),
        "bad signature"
    );
    assert_eq!(
        userinfo_rule(Signer::Rs256, Some("rsa-1"), |c| {
            c.insert("iss".into(), json!("https://evil.example"));
        }),
        "iss mismatch"
    );
    assert_eq!(
        userinfo_rule(Signer::Rs256, Some("rsa-1"), |c| {
            c.remove("aud");
        }),
        "aud mismatch"
    );
    assert_eq!(
        userinfo_rule(Signer::Rs256, Some("rsa-1"), |c| {
            c.insert("aud".into(), json!([CLIENT, "other"]));
        }),
        "aud untrusted"
    );
    assert_eq!(
        userinfo_rule(Signer::Rs256, Some("rsa-1"), |c| {
            c.insert("exp".into(), json!(NOW - 3600));
        }),
        "expired"
    );
    // Refused before any verification, by the JWS parser.
    assert_eq!(userinfo_rule(Signer::None, None, |_| {}), "alg_none");
}
