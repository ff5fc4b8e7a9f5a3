//! `shared::verify::SignatureVerifier` on the browser's WebCrypto (`crypto.subtle`): native, constant-time, and
//! far smaller in wasm than any Rust RSA/EC implementation.

use js_sys::{Object, Reflect};
use shared::jose::alg::{Alg, HashAlg};
use shared::jose::jwks::Jwk;
use shared::verify::SignatureVerifier;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

pub struct WebCryptoVerifier;

impl SignatureVerifier for WebCryptoVerifier {
    async fn verify(&self, alg: Alg, key: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool {
        verify(alg, key, signing_input, signature)
            .await
            .unwrap_or(false)
    }

    /// WebCrypto's `digest` instead of the sha2 crate: native, and no SHA-2 code in the wasm.
    async fn digest(&self, hash: HashAlg, data: &[u8]) -> Vec<u8> {
        digest(hash, data).await.unwrap_or_default()
    }
}

async fn digest(hash: HashAlg, data: &[u8]) -> Result<Vec<u8>, JsValue> {
    let promise = subtle()?.digest_with_str_and_u8_array(hash_name(hash), data)?;
    Ok(js_sys::Uint8Array::new(&JsFuture::from(promise).await?).to_vec())
}

/// Any failure (no WebCrypto, a key the browser cannot import, a rejected promise) is `Err`, i.e. "not valid".
async fn verify(
    alg: Alg,
    key: &Jwk,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<bool, JsValue> {
    let subtle = subtle()?;
    let (import_alg, verify_alg) = algorithms(alg)?;
    let usages = js_sys::Array::of1(&"verify".into());
    let promise =
        subtle.import_key_with_object("jwk", &jwk_object(key)?, &import_alg, false, &usages)?;
    let crypto_key: CryptoKey = JsFuture::from(promise).await?.dyn_into()?;
    let promise = subtle.verify_with_object_and_u8_array_and_u8_array(
        &verify_alg,
        &crypto_key,
        signature,
        signing_input,
    )?;
    Ok(JsFuture::from(promise).await?.as_bool().unwrap_or(false))
}

fn subtle() -> Result<SubtleCrypto, JsValue> {
    Ok(crate::browser::window().crypto()?.subtle())
}

/// The import and verify algorithm objects for a JWS algorithm.
fn algorithms(alg: Alg) -> Result<(Object, Object), JsValue> {
    let pair = |import: Object, verify: Object| Ok((import, verify));
    match alg {
        Alg::RS256 | Alg::RS384 | Alg::RS512 => {
            let a = obj(&[
                ("name", "RSASSA-PKCS1-v1_5".into()),
                ("hash", sha(alg).into()),
            ])?;
            pair(a.clone(), a)
        }
        Alg::PS256 | Alg::PS384 | Alg::PS512 => {
            let salt = match alg {
                Alg::PS256 => 32,
                Alg::PS384 => 48,
                _ => 64,
            };
            let import = obj(&[("name", "RSA-PSS".into()), ("hash", sha(alg).into())])?;
            let verify = obj(&[("name", "RSA-PSS".into()), ("saltLength", salt.into())])?;
            pair(import, verify)
        }
        Alg::ES256 | Alg::ES384 => {
            let curve = if alg == Alg::ES256 { "P-256" } else { "P-384" };
            let import = obj(&[("name", "ECDSA".into()), ("namedCurve", curve.into())])?;
            // JWS ES signatures are raw r||s, which is WebCrypto's format too.
            let verify = obj(&[("name", "ECDSA".into()), ("hash", sha(alg).into())])?;
            pair(import, verify)
        }
        Alg::EdDSA => {
            let a = obj(&[("name", "Ed25519".into())])?;
            pair(a.clone(), a)
        }
    }
}

fn sha(alg: Alg) -> &'static str {
    hash_name(alg.hash())
}

/// WebCrypto's name of a hash, which is also how the flow view names it.
pub fn hash_name(hash: HashAlg) -> &'static str {
    match hash {
        HashAlg::Sha256 => "SHA-256",
        HashAlg::Sha384 => "SHA-384",
        HashAlg::Sha512 => "SHA-512",
    }
}

/// The JWK as WebCrypto wants it: only the public members, so no `alg`/`use`/`key_ops` of the OP's can make the
/// import fail or widen what the key may do.
fn jwk_object(key: &Jwk) -> Result<Object, JsValue> {
    let members: &[(&str, Option<&String>)] = match key.kty.as_str() {
        "RSA" => &[("n", key.n.as_ref()), ("e", key.e.as_ref())],
        "EC" => &[
            ("crv", key.crv.as_ref()),
            ("x", key.x.as_ref()),
            ("y", key.y.as_ref()),
        ],
        "OKP" => &[("crv", key.crv.as_ref()), ("x", key.x.as_ref())],
        _ => return Err(JsValue::NULL),
    };
    let object = Object::new();
    Reflect::set(&object, &"kty".into(), &key.kty.as_str().into())?;
    for (name, value) in members {
        let value = value.ok_or(JsValue::NULL)?;
        Reflect::set(&object, &(*name).into(), &value.as_str().into())?;
    }
    Reflect::set(&object, &"ext".into(), &JsValue::TRUE)?;
    Ok(object)
}

fn obj(members: &[(&str, JsValue)]) -> Result<Object, JsValue> {
    let object = Object::new();
    for (name, value) in members {
        Reflect::set(&object, &(*name).into(), value)?;
    }
    Ok(object)
}
