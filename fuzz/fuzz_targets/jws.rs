//! The `jws` target: see `shared::fuzzing::jws` for what it runs and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = shared::fuzzing::jws(data);
});
