//! Sessions sealed at rest: XChaCha20-Poly1305 with a random 192-bit nonce per write and the session id as
//! associated data (a sealed value copied under another id does not open).
//!
//! Keys come from `[session] keys` (base64, 32 bytes each). The first key seals; every key opens, so a new key
//! can be put first while values sealed under the old ones still open until they expire (rotation). Each sealed
//! value starts with its key's id, a fingerprint of the key (not the key's position in the list), so keys can
//! be reordered or dropped safely: a value under a dropped key simply no longer opens (= no session).
//!
//! Layout: `version (1) | key id (4) | nonce (24) | ciphertext + tag (16)`.
//!
//! Used by the session stores, the pending-login cookie (`session::transaction`) and the configuration's key check,
//! so it sits below all three: `config` needs nothing from `session`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// The configured keys, the first one sealing.
pub struct Keyring {
    keys: Vec<([u8; KEY_ID_LEN], XChaCha20Poly1305)>,
}

/// Why a stored value did not open. Never carries the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("sealed under a key that is not configured")]
    UnknownKey,
    #[error("not a sealed session, or altered")]
    Invalid,
}

impl OpenError {
    /// A stable name for logs.
    pub fn reason(self) -> &'static str {
        match self {
            OpenError::UnknownKey => "unknown_key",
            OpenError::Invalid => "invalid",
        }
    }
}

/// Decodes one configured key (standard or URL-safe base64, 32 bytes).
pub fn decode_key(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .map_err(|_| "each key must be base64".to_owned())?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("each key must be 32 bytes, one is {}", bytes.len()))
}

fn key_id(key: &[u8; 32]) -> [u8; KEY_ID_LEN] {
    let digest = Sha256::new()
        .chain_update(b"hybrid-bff session key id\0")
        .chain_update(key)
        .finalize();
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&digest[..KEY_ID_LEN]);
    id
}

impl Keyring {
    /// The keyring for these base64 keys; errors say what is wrong without echoing a key.
    pub fn new<S: AsRef<str>>(keys: &[S]) -> Result<Keyring, String> {
        let keys = keys
            .iter()
            .map(|k| {
                let key = decode_key(k.as_ref())?;
                Ok((key_id(&key), XChaCha20Poly1305::new((&key).into())))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if keys.is_empty() {
            return Err("at least one key is needed".into());
        }
        Ok(Keyring { keys })
    }

    /// One random key, made now and never written anywhere: for what only this process must open again (the
    /// memory store's login cookies, which a restart may drop as it drops memory sessions).
    pub fn random() -> Keyring {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Keyring {
            keys: vec![(key_id(&key), XChaCha20Poly1305::new((&key).into()))],
        }
    }

    /// Seals `plain` for the session `id` under the first key, with a fresh random nonce.
    pub fn seal(&self, id: &str, plain: &[u8]) -> Vec<u8> {
        let (kid, cipher) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: id.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any in-memory length");
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(kid);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a value sealed for the session `id` under any configured key.
    pub fn open(&self, id: &str, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < HEADER_LEN || sealed[0] != VERSION {
            return Err(OpenError::Invalid);
        }
        let kid = &sealed[1..1 + KEY_ID_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[1 + KEY_ID_LEN..HEADER_LEN]);
        let nonce = &XNonce::from(nonce);
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(k, _)| k == kid)
            .ok_or(OpenError::UnknownKey)?;
        cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[HEADER_LEN..],
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    #[test]
    fn seals_opens_and_rotates() {
        let old = Keyring::new(&[key(1)]).unwrap();
        let sealed = old.seal("id", b"secret");
        assert_ne!(old.seal("id", b"secret"), sealed, "fresh nonce per write");
        assert_eq!(old.open("id", &sealed).unwrap(), b"secret");
        assert_eq!(old.open("other", &sealed), Err(OpenError::Invalid));
        let rotated = Keyring::new(&[key(2), key(1)]).unwrap();
        assert_eq!(rotated.open("id", &sealed).unwrap(), b"secret");
        let new_only = Keyring::new(&[key(2)]).unwrap();
        assert_eq!(new_only.open("id", &sealed), Err(OpenError::UnknownKey));
        assert_eq!(
            new_only.open("id", &rotated.seal("id", b"x")).unwrap(),
            b"x"
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(old.open("id", &tampered), Err(OpenError::Invalid));
        assert_eq!(old.open("id", b"short"), Err(OpenError::Invalid));
    }

    #[test]
    fn random_keyrings_differ() {
        let (a, b) = (Keyring::random(), Keyring::random());
        let sealed = a.seal("id", b"x");
        assert_eq!(a.open("id", &sealed).unwrap(), b"x");
        assert_eq!(b.open("id", &sealed), Err(OpenError::UnknownKey));
    }

    #[test]
    fn bad_keys_are_refused_without_echo() {
        assert!(Keyring::new::<&str>(&[]).is_err());
        let e = Keyring::new(&["c2hvcnQ="]).err().unwrap();
        assert!(e.contains("32 bytes") && !e.contains("c2hvcnQ"), "{e}");
        assert!(Keyring::new(&["not base64!"]).is_err());
    }
}
