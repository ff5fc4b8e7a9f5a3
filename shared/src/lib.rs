//! Protocol core of the OpenID Connect Hybrid Flow product.
//!
//! Everything here is pure (no I/O, no clock, no randomness) so that the SPA (wasm32) and the BFF (native)
//! run *the same* rules: the SPA on the front-channel ID token so it can show the user at once, the BFF on that
//! token again (it cannot trust the browser) and on the token-endpoint ID token.
//!
//! The data flows through the modules in this order:
//! [`fragment`] (parse the redirect) → [`jose`] (JWS and JWKS parsing, key choice) → [`verify`] (signature and
//! claim rules, per response type) → [`api`] (what the two tiers say to each other).
//!
//! The modules are layered, and a module imports only from the layers below it (no import circles), so each
//! layer can be read, tested and fuzzed on its own:
//!
//! 1. [`error`]: the one typed error every rule answers ([`ValidationError`]).
//! 2. [`jose`]: base64url, JWS, JWKS and algorithms.
//! 3. [`fragment`], [`token_response`], [`par`], [`response_type`], [`pkce`], [`client_assertion`]: the protocol
//!    messages and parameters.
//! 4. [`verify`]: the signature and claim rules, composed per response type and endpoint.
//! 5. [`api`]: the SPA⇄BFF wire types, including the [`api::User`] made from verified claims.
//!
//! Beside the layers, [`json`] is the one JSON reader and writer every layer uses (serde stays for the BFF's
//! derives; the SPA reads and writes the wire types through [`json::FromJson`] and [`json::ToJson`]).

pub mod api;
pub mod client_assertion;
pub mod dpop;
pub mod error;
pub mod fragment;
pub mod jose;
pub mod json;
pub mod par;
pub mod pkce;
pub mod response_type;
pub mod token_response;
pub mod verify;

pub use error::{Stage, ValidationError};
pub use response_type::ResponseType;
