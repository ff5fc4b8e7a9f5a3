//! `oidc.client_keys`: the private keys this client signs `private_key_jwt` assertions with. Several keys make a
//! rotation possible: all are published at `/bff/jwks.json`, the first signs. Read while the configuration is
//! read, so a key that does not parse stops the start with an error naming the setting.

use super::signing_key::SigningKey;
use serde::de::{Deserializer, Error};
use serde::Deserialize;
use std::fmt;

/// The configured signing keys, in order (the first signs).
#[derive(Clone, Default)]
pub struct ClientKeys(Vec<SigningKey>);

impl ClientKeys {
    /// The key that signs client assertions.
    pub fn signing(&self) -> Option<&SigningKey> {
        self.0.first()
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The public key set to publish: every key, so an OP that cached the set keeps verifying across a rotation.
    pub fn public_jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self.0.iter().map(|k| k.public.to_json(&k.kid)).collect();
        serde_json::json!({ "keys": keys })
    }
}

impl fmt::Debug for ClientKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

/// One key as a string (the usual shape of an environment variable) or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for ClientKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let texts = match OneOrMany::deserialize(deserializer)
            .map_err(|_| D::Error::custom("must be a key (PEM or JWK text) or a list of them"))?
        {
            OneOrMany::One(text) => vec![text],
            OneOrMany::Many(texts) => texts,
        };
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                SigningKey::parse(text).map_err(|e| D::Error::custom(format!("key {}: {e}", i + 1)))
            })
            .collect::<Result<_, _>>()
            .map(ClientKeys)
    }
}
