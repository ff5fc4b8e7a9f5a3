//! Compact JWS serialisation (RFC 7515 7.1) of what the BFF signs itself: DPoP proofs and client assertions.
//! The signature is the caller's (its key and algorithm); this is the one place the signed text is framed.

use serde::Serialize;
use shared::jose::b64url_encode;

/// `BASE64URL(header) '.' BASE64URL(claims)`: the JWS signing input, each part the JSON of its value.
pub fn signing_input(header: &impl Serialize, claims: &impl Serialize) -> String {
    format!("{}.{}", b64_json(header), b64_json(claims))
}

/// The compact JWS: the signing input it was made from, then the base64url signature.
pub fn compact(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", b64url_encode(signature))
}

fn b64_json(value: &impl Serialize) -> String {
    // Serialising the BFF's own header and claim structs (strings and numbers) cannot fail.
    b64url_encode(&serde_json::to_vec(value).expect("JWS parts serialise"))
}
