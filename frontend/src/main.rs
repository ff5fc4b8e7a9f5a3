//! Browser SPA of the OpenID Connect Hybrid Flow product.
//!
//! Data flow, one module per step:
//! [`bff`] / [`http`] (same-origin calls to the BFF) → [`pending`] (the public half of a sign-in, kept in
//! `sessionStorage` across the trip to the OP) → [`callback`] (fragment → verification with [`webcrypto`] → the
//! user shown at once → code exchange by the BFF) → [`actions`] (every step the page takes, each writing
//! [`state`] in whole units) → [`components`] (small views that only render that state and call the actions).
//!
//! Every protocol rule lives in the `shared` crate; this crate only does I/O and rendering.

mod actions;
mod bff;
mod browser;
mod callback;
mod components;
mod flow;
mod http;
mod json;
mod pending;
mod problem;
mod state;
mod webcrypto;

fn main() {
    // Panics end in an opaque `unreachable` trap in release builds; the hook that names them costs ~1 KB gzip, so
    // only debug builds (`trunk serve`) carry it.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::App);
}
