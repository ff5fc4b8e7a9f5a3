use super::*;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use p256::pkcs8::EncodePrivateKey;
use proptest::prelude::*;
use rsa::traits::PrivateKeyParts;
use shared::jose::alg::Alg;
use shared::jose::b64url_encode;
use std::sync::OnceLock;

/// One RSA key for every test (2048-bit generation is the slow part).
fn rsa_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap())
}

fn armor(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn rsa_jwk(key: &RsaPrivateKey) -> String {
    let b = |n: &BigUint| b64url_encode(&n.to_bytes_be());
    serde_json::json!({
        "kty": "RSA", "kid": "rsa-1", "n": b(key.n()), "e": b(key.e()), "d": b(key.d()),
        "p": b(&key.primes()[0]), "q": b(&key.primes()[1]),
    })
    .to_string()
}

fn ec_jwk(key: &p256::SecretKey) -> String {
    let point = key.public_key().to_encoded_point(false);
    serde_json::json!({
        "kty": "EC", "crv": "P-256", "d": b64url_encode(&key.to_bytes()),
        "x": b64url_encode(point.x().unwrap()), "y": b64url_encode(point.y().unwrap()),
    })
    .to_string()
}

/// The key signs, and its published half verifies what it signed.
fn signs_and_verifies(key: &SigningKey, alg: Algorithm) {
    let claims = shared::client_assertion::AssertionClaims::new(
        "app",
        "https://op",
        "j".into(),
        4_000_000_000,
    );
    let input = crate::oidc::jws::signing_input(&jsonwebtoken::Header::new(alg), &claims);
    let ours = Alg::from_name(&format!("{alg:?}")).unwrap();
    let signature = key.signer.sign(ours, input.as_bytes()).unwrap();
    let token = crate::oidc::jws::compact(&input, &signature);
    let decoding = match &key.public {
        PublicJwk::Rsa { n, e } => DecodingKey::from_rsa_components(n, e).unwrap(),
        PublicJwk::Ec { x, y, .. } => DecodingKey::from_ec_components(x, y).unwrap(),
    };
    let mut validation = Validation::new(alg);
    validation.set_audience(&["https://op"]);
    decode::<serde_json::Value>(&token, &decoding, &validation).expect("the public half verifies");
}

#[test]
fn rsa_keys_read_from_pkcs1_pkcs8_and_jwk_sign_rs256_and_ps256() {
    let key = rsa_key();
    let texts = [
        armor("RSA PRIVATE KEY", key.to_pkcs1_der().unwrap().as_bytes()),
        armor("PRIVATE KEY", key.to_pkcs8_der().unwrap().as_bytes()),
        rsa_jwk(key),
    ];
    let parsed: Vec<SigningKey> = texts
        .iter()
        .map(|t| SigningKey::parse(t).unwrap())
        .collect();
    for k in &parsed {
        assert_eq!(k.family, KeyFamily::Rsa);
        assert_eq!(k.public, parsed[0].public, "one key, three spellings");
        signs_and_verifies(k, Algorithm::RS256);
        signs_and_verifies(k, Algorithm::PS256);
    }
    assert_eq!(parsed[0].kid, parsed[0].public.thumbprint());
    assert_eq!(parsed[2].kid, "rsa-1", "a JWK's own kid is kept");
}

#[test]
fn p256_keys_read_from_pkcs8_sec1_and_jwk_sign_es256() {
    let key = p256::SecretKey::random(&mut rand::thread_rng());
    let texts = [
        armor("PRIVATE KEY", key.to_pkcs8_der().unwrap().as_bytes()),
        armor("EC PRIVATE KEY", &key.to_sec1_der().unwrap()),
        ec_jwk(&key),
    ];
    for text in texts {
        let parsed = SigningKey::parse(&text).unwrap();
        assert_eq!(parsed.family, KeyFamily::P256);
        signs_and_verifies(&parsed, Algorithm::ES256);
    }
}

#[test]
fn keys_that_cannot_sign_are_refused_by_kind() {
    let key = rsa_key();
    let public = armor("PUBLIC KEY", &[1, 2, 3]);
    assert_eq!(
        SigningKey::parse(&public).unwrap_err(),
        KeyError::PublicOnly
    );
    assert_eq!(
        SigningKey::parse(r#"{"kty":"oct","k":"c2VjcmV0"}"#).unwrap_err(),
        KeyError::Symmetric
    );
    assert_eq!(
        SigningKey::parse("just-a-shared-secret").unwrap_err(),
        KeyError::NotAKey
    );
    let mut jwk: serde_json::Value = serde_json::from_str(&rsa_jwk(key)).unwrap();
    jwk.as_object_mut().unwrap().remove("d");
    assert_eq!(
        SigningKey::parse(&jwk.to_string()).unwrap_err(),
        KeyError::PublicOnly
    );
    let small = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
    let small = armor("RSA PRIVATE KEY", small.to_pkcs1_der().unwrap().as_bytes());
    assert!(matches!(
        SigningKey::parse(&small),
        Err(KeyError::Unsupported(_))
    ));
    // ring, which signs, takes no public exponent below 65537: refused at start, not at the first sign-in.
    let exponent_3 =
        RsaPrivateKey::new_with_exp(&mut rand::thread_rng(), 2048, &BigUint::from(3u32)).unwrap();
    let exponent_3 = armor(
        "RSA PRIVATE KEY",
        exponent_3.to_pkcs1_der().unwrap().as_bytes(),
    );
    assert!(matches!(
        SigningKey::parse(&exponent_3),
        Err(KeyError::Unsupported(_))
    ));
    let truncated = armor(
        "PRIVATE KEY",
        &key.to_pkcs8_der().unwrap().as_bytes()[..100],
    );
    assert!(SigningKey::parse(&truncated).is_err());
    let other = p256::SecretKey::random(&mut rand::thread_rng());
    let mut mismatched: serde_json::Value = serde_json::from_str(&ec_jwk(&other)).unwrap();
    let third = p256::SecretKey::random(&mut rand::thread_rng());
    mismatched["d"] = b64url_encode(&third.to_bytes()).into();
    assert!(SigningKey::parse(&mismatched.to_string()).is_err());
}

#[test]
fn a_refusal_names_the_setting_and_never_quotes_the_key() {
    let key = rsa_key();
    let mut jwk: serde_json::Value = serde_json::from_str(&rsa_jwk(key)).unwrap();
    jwk["p"] = "AQAB".into();
    let d = jwk["d"].as_str().unwrap().to_owned();
    let text = format!(
        "auth_method = \"private_key_jwt\"\nclient_keys = [{:?}]",
        jwk.to_string()
    );
    let e = crate::config::fixture::with(&text, &[]).unwrap_err();
    assert_eq!(e.field, "oidc.client_keys", "{e}");
    assert!(!e.to_string().contains(&d[..20]), "{e}");
    let e = crate::config::fixture::with(
        "auth_method = \"private_key_jwt\"",
        &[("BFF_OIDC__CLIENT_KEYS", r#"{"kty":"oct","k":"c2VjcmV0"}"#)],
    )
    .unwrap_err();
    assert_eq!(e.field, "oidc.client_keys", "{e}");
    assert!(e.message.contains("symmetric"), "{e}");
    let e = crate::config::fixture::with("auth_method = \"private_key_jwt\"", &[]).unwrap_err();
    assert_eq!(e.field, "oidc.client_keys", "{e}");
}

#[test]
fn a_key_from_the_environment_is_published_without_private_members() {
    let key = p256::SecretKey::random(&mut rand::thread_rng());
    let pem = armor("PRIVATE KEY", key.to_pkcs8_der().unwrap().as_bytes());
    let config = crate::config::fixture::with(
        "auth_method = \"private_key_jwt\"",
        &[("BFF_OIDC__CLIENT_KEYS", &pem)],
    )
    .unwrap();
    let jwks = config.oidc.client_keys.public_jwks().to_string();
    for member in ["\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\""] {
        assert!(!jwks.contains(member), "{member} in {jwks}");
    }
    let debug = format!("{config:?}");
    assert!(!debug.contains(&b64url_encode(&key.to_bytes())), "{debug}");
    assert!(!debug.contains("BEGIN"), "{debug}");
}

proptest! {
    /// Whatever the text, reading it answers a key or a typed refusal, never a panic.
    #[test]
    fn any_text_parses_or_is_refused(text in ".{0,300}") {
        let _ = SigningKey::parse(&text);
    }

    /// Damaged PEM and JWK texts of a real key are refused or read, never a panic.
    #[test]
    fn damaged_keys_are_refused_without_panic(cut in 0usize..400, flip in 0usize..400, byte in any::<u8>()) {
        let key = p256::SecretKey::from_slice(&[7; 32]).unwrap();
        for text in [armor("PRIVATE KEY", key.to_pkcs8_der().unwrap().as_bytes()), ec_jwk(&key)] {
            let mut bytes = text.into_bytes();
            bytes.truncate(cut.min(bytes.len()));
            if let Some(b) = bytes.get_mut(flip) {
                *b = byte;
            }
            let _ = SigningKey::parse(&String::from_utf8_lossy(&bytes));
        }
    }
}
