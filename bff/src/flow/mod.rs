//! The login flow's endpoints, in the order a browser calls them: [`login`] (start) → [`exchange`] (code for
//! tokens, session) → [`user`] (who is signed in) → [`logout`]; [`jwks`] is
//! for the OP (this client's public keys).

pub mod backchannel;
pub mod exchange;
pub mod jwks;
pub mod login;
pub mod logout;
pub mod user;
