//! The `config` fuzz target's entry point: the BFF's configuration loader, fed the way the fuzzer and the
//! replay test (`fuzz-glue/tests/replay.rs`) both feed it.

use crate::{text, Outcome};
use bff::config::Config;

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
