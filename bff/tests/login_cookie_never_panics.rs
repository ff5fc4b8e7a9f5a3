//! Property tests for the one BFF parser an anonymous client feeds directly: the login cookie. For arbitrary
//! strings, arbitrary bytes, genuine cookies altered, and arbitrary payloads sealed under the right key as a
//! login, opening never panics and always answers a login or a typed refusal: `Invalid` for anything that is
//! not exactly a cookie this BFF sealed, `Expired` only for a genuine login past its time.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use bff::seal::Keyring;
use bff::session::transaction::{
    LoginCookieError, LoginSealer, Transaction, LOGIN_COOKIE_AAD, MAX_LOGIN_COOKIE_LEN,
};
use proptest::collection::vec;
use proptest::prelude::*;
use shared::api::PendingLogin;
use shared::verify::id_token::IdTokenRules;
use shared::ResponseType;
use std::sync::Arc;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // Keep failure persistence files out of the source tree; the seed is printed on failure anyway.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn keyring() -> Keyring {
    Keyring::new(&[STANDARD.encode([5u8; 32])]).unwrap()
}

fn sealer() -> LoginSealer {
    LoginSealer::new(Arc::new(keyring()))
}

fn login(state: String, expires_at: i64) -> Transaction {
    Transaction {
        pending: PendingLogin {
            state,
            response_type: ResponseType::CodeIdToken,
            rules: IdTokenRules {
                issuer: "https://op.example".into(),
                client_id: "app".into(),
                trusted_audiences: Vec::new(),
                nonce: "n".into(),
                leeway_secs: 0,
            },
            jwks_uri: "https://op.example/jwks".into(),
            allowed_algs: Vec::new(),
            expires_at,
            iss_parameter_supported: false,
        },
        code_verifier: "v".into(),
        dpop_key: None,
    }
}

const NOW: i64 = 1_700_000_000;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_strings_are_invalid(value in prop_oneof![
        ".{0,300}",
        "[A-Za-z0-9_-]{0,900}",
        "[A-Za-z0-9_=+/-]{4000,4200}",
    ]) {
        prop_assert_eq!(sealer().open(&value, NOW).err(), Some(LoginCookieError::Invalid));
    }

    #[test]
    fn arbitrary_bytes_are_invalid(bytes in vec(any::<u8>(), 0..1200)) {
        let value = URL_SAFE_NO_PAD.encode(&bytes);
        prop_assert_eq!(sealer().open(&value, NOW).err(), Some(LoginCookieError::Invalid));
    }

    /// A genuine cookie with one byte changed, cut, or extended opens as nothing.
    #[test]
    fn altered_cookies_are_invalid(
        state in "[A-Za-z0-9_-]{1,64}",
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        cut in 0usize..64,
        extra in vec(any::<u8>(), 1..16),
        how in 0u8..3,
    ) {
        let s = sealer();
        let value = s.seal(&login(state, NOW + 60));
        let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        match how {
            0 => {
                let i = at.index(bytes.len());
                bytes[i] ^= flip;
            }
            1 => bytes.truncate(bytes.len().saturating_sub(cut + 1)),
            _ => bytes.extend_from_slice(&extra),
        }
        let altered = URL_SAFE_NO_PAD.encode(&bytes);
        prop_assert_eq!(s.open(&altered, NOW).err(), Some(LoginCookieError::Invalid));
    }

    /// Payloads sealed under the right key and label that are not a login (any bytes, JSON of another shape)
    /// are invalid: the payload is parsed, never trusted to be well-formed.
    #[test]
    fn sealed_non_logins_are_invalid(payload in prop_oneof![
        vec(any::<u8>(), 0..300),
        "\\{\"pending\":.{0,40}\\}".prop_map(String::into_bytes),
        Just(b"{}".to_vec()),
        Just(b"null".to_vec()),
    ]) {
        let value = URL_SAFE_NO_PAD.encode(keyring().seal(LOGIN_COOKIE_AAD, &payload));
        prop_assert_eq!(sealer().open(&value, NOW).err(), Some(LoginCookieError::Invalid));
    }

    /// A genuine login opens exactly while unexpired, whatever its expiry, even the extremes.
    #[test]
    fn genuine_logins_open_until_they_expire(
        state in "[A-Za-z0-9_-]{1,64}",
        expires_at in prop_oneof![any::<i64>(), (NOW - 5)..(NOW + 5)],
    ) {
        let s = sealer();
        let value = s.seal(&login(state.clone(), expires_at));
        prop_assert!(value.len() < MAX_LOGIN_COOKIE_LEN / 4, "{} bytes", value.len());
        match s.open(&value, NOW) {
            Ok(tx) => {
                prop_assert!(expires_at > NOW);
                prop_assert_eq!(tx.pending.state, state);
            }
            Err(e) => {
                prop_assert!(expires_at <= NOW);
                prop_assert_eq!(e, LoginCookieError::Expired);
            }
        }
    }
}
