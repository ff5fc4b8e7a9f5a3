//! The fuzz targets' entry points, in a crate of their own so that `shared` stays free of I/O and of
//! test-only code: one function per fuzz target in `fuzz/fuzz_targets/` (the [`config`] one runs the BFF's
//! loader), and [`replay`], which runs the committed regression inputs through the same functions in
//! `cargo test` (`fuzz-glue/tests/replay.rs`). Keeping both here means the fuzzer and the tests can never drift
//! apart on what an input is fed to.
//!
//! Each entry takes raw bytes, runs the parser the way the product does, asserts what must hold for *any*
//! input (a failed assertion is a crash to the fuzzer, like any panic), and returns an [`Outcome`]: `Ok`, or the
//! name of the typed error, so a regression file can pin the expected answer in its name.

pub mod config;
pub mod json;
pub mod replay;

pub use config::config;
pub use json::json;
pub use replay::replay;

use shared::fragment::{looks_like_authorization_response, parse_fragment, AuthorizationResponse};
use shared::jose::alg::{Alg, AlgPolicy};
use shared::jose::b64url_encode;
use shared::jose::jwks::{Jwk, JwkSet};
use shared::jose::jws::{CompactJws, JwsHeader};
use shared::token_response::{TokenEndpointError, TokenResponse};
use shared::verify::id_token::IdTokenRules;
use shared::verify::logout_token::{verify_logout_token, LogoutTokenRules};
use shared::verify::token_endpoint::{verify_token_endpoint_id_token, Exchange};
use shared::verify::{Keys, SignatureVerifier};
use shared::ValidationError;
use std::borrow::Cow;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// What an entry answered: `Ok`, or the name of the typed error (a [`ValidationError::rule`], `oauth` for an
/// OAuth error answer, the field a configuration error names). Never a panic.
pub type Outcome = Result<(), String>;

/// A fuzz target's entry point.
pub type Entry = fn(&[u8]) -> Outcome;

/// The clock every time rule is checked against, so that regression files stay valid forever.
pub const NOW: i64 = 1_700_000_000;
/// The issuer the fixed rules expect; the seeds use it (and the values below) so the fuzzer starts from tokens
/// that pass.
pub const ISSUER: &str = "https://op.example";
/// The client id the fixed rules expect as the audience.
pub const CLIENT_ID: &str = "app";
/// The nonce the fixed ID token rules expect.
pub const NONCE: &str = "n-1";
/// The code the `jws` target's ID tokens vouch for with `c_hash`.
pub const CODE: &str = "code-1";
/// The access token the `jws` target's ID tokens vouch for with `at_hash`.
pub const ACCESS_TOKEN: &str = "access-1";
/// The kid of every key the signature step may choose.
pub const KID: &str = "k1";

/// Error messages reach logs and users; a run this long of base64url characters could only be token or key
/// material echoed back (the longest text an error copies from a token is a 20-character `alg`).
const LONGEST_ALLOWED_RUN: usize = 23;

/// Fuzzer input as text: the parsers take `&str`, and a lossy decode lets every input reach them.
pub fn text(data: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// `fragment`: the redirect fragment parser and the SPA's "is this a response at all" check.
pub fn fragment(data: &[u8]) -> Outcome {
    let input = text(data);
    let looks_like = looks_like_authorization_response(&input);
    match parse_fragment(&input) {
        Ok(response) => {
            assert!(looks_like, "a parsed response must look like one");
            assert!(
                response.code.is_some()
                    || response.id_token.is_some()
                    || response.access_token.is_some(),
                "a parsed response carries a code or a token"
            );
            // The parsed response is also the body of POST /bff/session: it must survive JSON unchanged.
            let json = serde_json::to_string(&response).expect("a response serialises");
            let back: AuthorizationResponse = serde_json::from_str(&json).expect("and parses back");
            assert_eq!(back, response);
            Ok(())
        }
        Err(e) => {
            let rule = e.rule();
            assert!(
                matches!(
                    rule,
                    "op_error" | "malformed_response" | "duplicate_parameter" | "too_large"
                ),
                "not a fragment error: {e:?}"
            );
            Err(rule.to_owned())
        }
    }
}

/// `jws`: the compact JWS parser on the input as a token, then the token-endpoint ID token validation on a
/// token assembled from the input as `header JSON \n claims JSON \n signature` (see [`assemble`]), with a
/// verifier that accepts every signature: the claims path is under test, not the maths. Returns the outcome
/// of the validation.
pub fn jws(data: &[u8]) -> Outcome {
    let raw = text(data);
    match CompactJws::parse(&raw) {
        Ok(jws) => {
            let mut parts = raw.split('.');
            let signed = format!("{}.{}", parts.next().unwrap(), parts.next().unwrap());
            assert_eq!(jws.signing_input(), signed.as_bytes());
            assert!(!jws.signature().is_empty());
        }
        Err(e) => check_jws_error(&e),
    }
    let token = assemble(data);
    let rules = id_token_rules();
    let exchange = Exchange {
        rules: &rules,
        front_channel: None,
        code: CODE,
        access_token: ACCESS_TOKEN,
    };
    let result = with_context(|ctx| ready(verify_token_endpoint_id_token(&token, exchange, ctx)));
    match result {
        Ok(verified) => {
            let c = &verified.claims;
            assert_eq!(c.iss.as_deref(), Some(ISSUER));
            assert!(c.aud.iter().all(|a| a == CLIENT_ID) && !c.aud.is_empty());
            assert!(c.sub.as_deref().is_some_and(|s| !s.is_empty()));
            assert_eq!(c.nonce.as_deref(), Some(NONCE));
            assert!(c
                .exp
                .is_some_and(|exp| exp.saturating_add(rules.leeway_secs) >= NOW));
            Ok(())
        }
        Err(e) => {
            check_message(&e);
            Err(e.rule().to_owned())
        }
    }
}

/// `jwks`: the key set parser, then the key choice for every algorithm, with no kid, the fixed kid and the
/// first key's kid.
pub fn jwks(data: &[u8]) -> Outcome {
    let set = match JwkSet::parse(data) {
        Ok(set) => set,
        Err(e) => {
            assert_eq!(e.rule(), "bad_jwks", "not a key set error: {e:?}");
            return Err(e.rule().to_owned());
        }
    };
    assert!(set.keys.len() <= 64);
    let first_kid = set.keys.iter().find_map(|k| k.kid.clone());
    for kid in [None, Some(KID.to_owned()), first_kid] {
        check_candidates(&set, kid);
    }
    Ok(())
}

/// The key choice for a token with `kid` and each algorithm: only fitting keys with that kid, never an empty
/// list, and `unknown_kid` only when no key has the kid. Also used by the property tests.
pub fn check_candidates(set: &JwkSet, kid: Option<String>) {
    for alg in Alg::ALL {
        let header = JwsHeader {
            alg,
            kid: kid.clone(),
            typ: None,
        };
        match set.candidates(&header) {
            Ok(chosen) => {
                assert!(!chosen.is_empty());
                for key in chosen {
                    assert!(key.fits(alg));
                    assert!(kid.is_none() || key.kid == kid);
                }
            }
            Err(ValidationError::UnknownKid) => {
                assert!(!set.has_kid(kid.as_deref().expect("unknown_kid needs a kid")));
            }
            Err(ValidationError::NoUsableKey) => {}
            Err(e) => panic!("not a key choice error: {e:?}"),
        }
    }
}

/// `logout_token`: back-channel logout token validation on a token assembled from the input (see
/// [`assemble`]) against fixed rules, with a verifier that accepts every signature.
pub fn logout_token(data: &[u8]) -> Outcome {
    let token = assemble(data);
    let rules = LogoutTokenRules {
        issuer: ISSUER.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        leeway_secs: 60,
        max_age_secs: 300,
        exp_optional: false,
    };
    match with_context(|ctx| ready(verify_logout_token(&token, &rules, ctx))) {
        Ok(claims) => {
            assert!(claims.jti.is_some());
            assert!(claims.exp.is_some(), "exp is required by default");
            assert!(claims.sid.is_some() || claims.sub.is_some());
            assert!(!claims.has_nonce);
            assert_eq!(claims.aud, [CLIENT_ID]);
            Ok(())
        }
        Err(e) => {
            check_message(&e);
            Err(e.rule().to_owned())
        }
    }
}

/// `token_response`: the token endpoint answer read as a success (the outcome returned) and as an error answer.
pub fn token_response(data: &[u8]) -> Outcome {
    let name = |e: &TokenEndpointError| match e {
        TokenEndpointError::OAuth { .. } => "oauth".to_owned(),
        TokenEndpointError::Invalid(e) => {
            assert_eq!(e.rule(), "malformed_token_response", "{e:?}");
            e.rule().to_owned()
        }
    };
    match TokenResponse::parse(false, data) {
        Ok(r) => panic!("an error status parsed as a success: {r:?}"),
        Err(TokenEndpointError::OAuth { error, description }) => {
            assert!(error.chars().count() <= 64);
            assert!(description.is_none_or(|d| d.chars().count() <= 300));
        }
        Err(e) => {
            name(&e);
        }
    }
    match TokenResponse::parse(true, data) {
        Ok(r) => {
            assert!(!r.access_token.is_empty());
            assert!(r.expires_in.is_none_or(|e| e >= 0));
            assert!(r.id_token.as_deref() != Some("") && r.refresh_token.as_deref() != Some(""));
            Ok(())
        }
        Err(e) => Err(name(&e)),
    }
}

/// Builds a compact JWS from `header JSON \n claims JSON \n signature`, each part base64url-encoded, so the
/// fuzzer mutates the JSON itself rather than its encoding (the `jws` target's first pass covers the encoding).
/// A missing signature becomes `sig`, as an empty one would end validation before the claims.
pub fn assemble(data: &[u8]) -> String {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let header = parts.next().unwrap_or_default();
    let claims = parts.next().unwrap_or_default();
    let signature = parts.next().filter(|s| !s.is_empty()).unwrap_or(b"sig");
    format!(
        "{}.{}.{}",
        b64url_encode(header),
        b64url_encode(claims),
        b64url_encode(signature)
    )
}

/// Accepts every signature: the fuzz targets exercise what comes after the maths.
struct AcceptAll;

impl SignatureVerifier for AcceptAll {
    async fn verify(&self, _: Alg, _: &Jwk, _: &[u8], _: &[u8]) -> bool {
        true
    }
}

/// A key set with one key of kid [`KID`] for every algorithm family, so any allowed `alg` finds a key.
fn key_set() -> JwkSet {
    let key = |kty: &str, crv: Option<&str>| Jwk {
        kty: kty.to_owned(),
        kid: Some(KID.to_owned()),
        n: (kty == "RSA").then(|| "AQAB".to_owned()),
        e: (kty == "RSA").then(|| "AQAB".to_owned()),
        crv: crv.map(str::to_owned),
        x: crv.map(|_| "AA".to_owned()),
        y: crv.filter(|c| c.starts_with("P-")).map(|_| "AA".to_owned()),
        ..Jwk::default()
    };
    JwkSet {
        keys: vec![
            key("RSA", None),
            key("EC", Some("P-256")),
            key("EC", Some("P-384")),
            key("OKP", Some("Ed25519")),
        ],
    }
}

/// Runs `f` with [`key_set`], every algorithm allowed, the clock at [`NOW`] and [`AcceptAll`].
fn with_context<R>(f: impl FnOnce(shared::verify::Context<'_, AcceptAll>) -> R) -> R {
    let jwks = key_set();
    let policy = AlgPolicy::only(&Alg::ALL);
    let keys = Keys {
        jwks: &jwks,
        policy: &policy,
    };
    f(shared::verify::Context::new(keys, NOW, &AcceptAll))
}

fn id_token_rules() -> IdTokenRules {
    IdTokenRules {
        issuer: ISSUER.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        trusted_audiences: Vec::new(),
        nonce: NONCE.to_owned(),
        leeway_secs: 60,
    }
}

fn check_jws_error(e: &ValidationError) {
    assert!(
        matches!(
            e.rule(),
            "malformed_token"
                | "alg_none"
                | "alg_hmac_rejected"
                | "alg_not_allowed"
                | "crit_unsupported"
                | "bad_signature"
        ),
        "not a JWS error: {e:?}"
    );
    check_message(e);
}

fn check_message(e: &ValidationError) {
    let message = e.to_string();
    let longest = message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(
        longest <= LONGEST_ALLOWED_RUN,
        "an error message echoes token material: {message}"
    );
}

/// Runs a future that never waits: the verifier here answers at once, so one poll finishes the validation
/// (and the fuzz targets need no executor).
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("no future here waits"),
    }
}
