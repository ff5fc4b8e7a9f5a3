//! The `jwks` target: see `shared::fuzzing::jwks` for what it runs and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = shared::fuzzing::jwks(data);
});
