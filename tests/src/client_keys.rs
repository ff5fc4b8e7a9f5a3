//! Client signing keys for the `private_key_jwt` tests, made at test time (never committed), and the BFF
//! configuration that uses them with the dev OP's `hybrid-spa-jwt` client.

use p256::pkcs8::{EncodePrivateKey, LineEnding};

/// A fresh P-256 private key as PKCS#8 PEM.
pub fn p256_pem() -> String {
    let key = p256::SecretKey::random(&mut rand::thread_rng());
    key.to_pkcs8_pem(LineEnding::LF)
        .expect("PEM encodes")
        .to_string()
}

/// A fresh 2048-bit RSA private key as PKCS#8 PEM.
pub fn rsa_pem() -> String {
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key");
    key.to_pkcs8_pem(LineEnding::LF)
        .expect("PEM encodes")
        .to_string()
}

/// The `[oidc]` lines for the dev OP's `hybrid-spa-jwt` client signing with `keys` (the first signs).
pub fn private_key_jwt_toml(keys: &[String]) -> String {
    let keys: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    format!(
        "[oidc]\nclient_id = \"hybrid-spa-jwt\"\nclient_secret = \"\"\nauth_method = \"private_key_jwt\"\nclient_keys = [{}]\n",
        keys.join(", ")
    )
}
