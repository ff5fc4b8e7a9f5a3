//! The `token_response` target: see `shared::fuzzing::token_response` for what it runs and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = shared::fuzzing::token_response(data);
});
