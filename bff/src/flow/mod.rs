//! The login flow's endpoints, in the order a browser calls them: [`login`] (start) → [`exchange`] (code for
//! tokens, session) → [`user`] (who is signed in) → [`logout`].

pub mod backchannel;
pub mod exchange;
pub mod login;
pub mod logout;
pub mod user;
