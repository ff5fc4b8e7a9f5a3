//! The `json` target: see `fuzz_glue::json` for what it runs and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fuzz_glue::json(data);
});
