//! The `token_response` target: see `fuzz_glue::token_response` for what it runs and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fuzz_glue::token_response(data);
});
