//! The JOSE pieces an RP needs, and nothing more: compact JWS parsing ([`jws`]), key sets and key choice
//! ([`jwks`]) and the algorithm allowlist ([`alg`]). Signature maths is not here: each tier plugs in its own
//! verifier (WebCrypto in the browser, jsonwebtoken on the server) through [`crate::verify::SignatureVerifier`].

pub mod alg;
pub mod jwks;
pub mod jws;
pub mod public_jwk;

/// JOSE's base64url alphabet (RFC 4648 5).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Decodes unpadded base64url, the only encoding JOSE uses; padded or standard base64 is refused, and so is an
/// encoding whose unused trailing bits are not zero (one byte string, one spelling). Written out rather than
/// taken from the base64 crate, whose engine is several KB of the SPA's wasm; the tests pin it to that crate's
/// `URL_SAFE_NO_PAD`.
pub fn b64url_decode(input: &str) -> Option<Vec<u8>> {
    let input = input.as_bytes();
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    for chunk in input.chunks(4) {
        let mut bits = 0u32;
        for &c in chunk {
            bits = bits << 6 | sextet(c)?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&[(bits >> 16) as u8, (bits >> 8) as u8, bits as u8]),
            3 if bits & 0b11 == 0 => {
                out.extend_from_slice(&[(bits >> 10) as u8, (bits >> 2) as u8])
            }
            2 if bits & 0b1111 == 0 => out.push((bits >> 4) as u8),
            // One character alone carries no whole byte; nonzero trailing bits are another spelling.
            _ => return None,
        }
    }
    Some(out)
}

/// Encodes as unpadded base64url.
pub fn b64url_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |bits, (i, &b)| bits | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(bits >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// The value of one base64url character.
fn sextet(c: u8) -> Option<u32> {
    let value = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

#[cfg(test)]
mod tests {
    use super::{b64url_decode, b64url_encode};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use proptest::prelude::*;

    /// Every string of up to three characters from the alphabet and its usual impostors: decoded exactly as
    /// the base64 crate's `URL_SAFE_NO_PAD` decodes it (longer ones by the property below).
    #[test]
    fn decodes_short_inputs_as_the_base64_crate_does() {
        let chars: Vec<char> =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .é"
                .chars()
                .collect();
        let mut inputs = vec![String::new()];
        let mut longest = vec![String::new()];
        for _ in 0..3 {
            longest = longest
                .iter()
                .flat_map(|s| chars.iter().map(move |c| format!("{s}{c}")))
                .collect();
            inputs.extend(longest.iter().cloned());
        }
        let n = chars.len();
        assert_eq!(inputs.len(), 1 + n + n * n + n * n * n);
        for input in &inputs {
            assert_eq!(
                b64url_decode(input),
                URL_SAFE_NO_PAD.decode(input).ok(),
                "{input:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn decodes_any_input_as_the_base64_crate_does(input in "[A-Za-z0-9_=+/-]{0,12}") {
            prop_assert_eq!(b64url_decode(&input), URL_SAFE_NO_PAD.decode(&input).ok());
        }

        #[test]
        fn encodes_as_the_base64_crate_does_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let encoded = b64url_encode(&bytes);
            prop_assert_eq!(&encoded, &URL_SAFE_NO_PAD.encode(&bytes));
            prop_assert_eq!(b64url_decode(&encoded), Some(bytes));
        }
    }
}
