//! The `logout_token` target: see `fuzz_glue::logout_token` for what it runs and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fuzz_glue::logout_token(data);
});
