//! The `config` target: the entry lives with its regression test, which this includes, so both feed the BFF's
//! config loader the same way.
#![no_main]

#[path = "../../bff/tests/config_fuzz_regressions.rs"]
mod config_fuzz_regressions;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = config_fuzz_regressions::config(data);
});
