//! Browser SPA of the OpenID Connect Hybrid Flow product.
//!
//! Data flow, one module per step:
//! [`bff`] / [`http`] (same-origin calls to the BFF) → [`pending`] (the public half of a sign-in, kept in
//! `sessionStorage` across the trip to the OP) → [`callback`] (fragment → verification with [`webcrypto`] → the
//! user shown at once → code exchange by the BFF) → [`actions`] (every step the page takes, each writing
//! [`state`] in whole units) → [`components`] (small views that only render that state and call the actions).
//!
//! Every protocol rule lives in the `shared` crate; this crate only does I/O and rendering.
//!
//! No `core::fmt` either: texts are joined with `concat` and their numbers written by `shared::json::decimal`, so
//! the wasm carries no formatting machinery (1.1 KB gzip); a `format!` or a number's `to_string` brings it back.
//!
//! No Rust `main`: the page starts at [`start`], which wasm-bindgen's glue calls once the module is instantiated.
//! A `main` would bring in the standard library's runtime set-up and its exit path (flushing a stdout the browser
//! does not have), which the wasm would carry for nothing.
#![no_main]

mod actions;
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
mod allocator;
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

#[wasm_bindgen::prelude::wasm_bindgen(start)]
fn start() {
    // Panics end in an opaque `unreachable` trap in release builds; the hook that names them costs ~1 KB gzip, so
    // only debug builds (`trunk serve`) carry it.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // The wasm has arrived, compiled and begun: the boot's share of the time to identity ends here.
    browser::mark("spa-started");
    // Identity first: the page's first step is queued before the page is built. On the redirect back that step
    // reads the fragment and hands the ID token to WebCrypto, which verifies it while the view below is being
    // constructed; on an ordinary visit the session check's request is on its way meanwhile. Tasks run in the
    // order they were queued, and the mount is queued last.
    // Err only when an executor is set already.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let state = state::State::new();
    let actions = actions::Actions::new(state);
    actions.start();
    leptos::task::spawn_local(async move {
        leptos::mount::mount_to_body(move || components::app(state, actions));
    });
}
