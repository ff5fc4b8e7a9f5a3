//! Protocol core of the OpenID Connect Hybrid Flow product.
//!
//! Everything here is pure (no I/O, no clock, no randomness) so that the SPA (wasm32) and the BFF (native)
//! run *the same* rules: the SPA on the front-channel ID token so it can show the user at once, the BFF on that
//! token again (it cannot trust the browser) and on the token-endpoint ID token.
//!
//! The data flows through the modules in this order:
//! [`fragment`] (parse the redirect) → [`jose`] (JWS and JWKS parsing, key choice) → [`verify`] (signature and
//! claim rules, per response type) → [`api`] (what the two tiers say to each other).

pub mod api;
pub mod error;
pub mod fragment;
pub mod jose;
pub mod pkce;
pub mod response_type;
pub mod token_response;
pub mod verify;

pub use error::ValidationError;
pub use response_type::ResponseType;
