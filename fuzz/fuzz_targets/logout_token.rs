//! The `logout_token` target: see `shared::fuzzing::logout_token` for what it runs and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = shared::fuzzing::logout_token(data);
});
