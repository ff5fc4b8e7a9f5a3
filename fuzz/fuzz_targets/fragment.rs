//! The `fragment` target: see `shared::fuzzing::fragment` for what it runs and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = shared::fuzzing::fragment(data);
});
