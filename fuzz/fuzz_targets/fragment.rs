//! The `fragment` target: see `fuzz_glue::fragment` for what it runs and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fuzz_glue::fragment(data);
});
