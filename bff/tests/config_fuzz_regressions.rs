//! The `config` fuzz target's entry point, and the replay of its regression inputs
//! (`shared/tests/fuzz_regressions/config/`) in `cargo test`. `fuzz/fuzz_targets/config.rs` includes this file,
//! so the fuzzer and the test feed an input to the loader the same way.

use bff::config::Config;
use shared::fuzzing::{text, Outcome};

/// The `config` target: the TOML text through the loader's parsing and validation. The environment overrides
/// are left empty: they are the operator's, not an attacker's, and take the same path once merged.
pub fn config(data: &[u8]) -> Outcome {
    match Config::from_toml(&text(data), std::iter::empty()) {
        Ok(_) => Ok(()),
        Err(e) => {
            assert!(!e.field.is_empty() && !e.message.is_empty(), "{e:?}");
            Err(e.field)
        }
    }
}

#[test]
fn config_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/tests/fuzz_regressions/config");
    assert!(shared::fuzzing::replay(&dir, config) > 0);
}
