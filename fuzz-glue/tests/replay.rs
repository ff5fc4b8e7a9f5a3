//! Replays the fuzzing regression inputs (`fuzz-glue/regressions/<target>/`) through the fuzz targets' own entry
//! points (`fuzz_glue`), so every input the fuzzer ever crashed on, and every pinned seed, is checked by
//! `cargo test`: no panic, and the outcome a file's name pins (`<outcome>--<what>`). `scripts/fuzz` adds the
//! crash inputs it finds.

use fuzz_glue::{replay, Entry};
use std::path::{Path, PathBuf};

const TARGETS: [(&str, Entry); 7] = [
    ("fragment", fuzz_glue::fragment),
    ("jws", fuzz_glue::jws),
    ("jwks", fuzz_glue::jwks),
    ("logout_token", fuzz_glue::logout_token),
    ("token_response", fuzz_glue::token_response),
    ("config", fuzz_glue::config),
    ("json", fuzz_glue::json),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions")
}

fn replay_target(name: &str) {
    let (_, entry) = TARGETS.iter().find(|(t, _)| *t == name).unwrap();
    let replayed = replay(&root().join(name), *entry);
    assert!(replayed > 0, "no regression input for {name}");
}

#[test]
fn fragment() {
    replay_target("fragment");
}

#[test]
fn jws() {
    replay_target("jws");
}

#[test]
fn jwks() {
    replay_target("jwks");
}

#[test]
fn logout_token() {
    replay_target("logout_token");
}

#[test]
fn token_response() {
    replay_target("token_response");
}

/// Was `config_regressions` in the BFF's tests, before the entry moved here.
#[test]
fn config() {
    replay_target("config");
}

#[test]
fn json() {
    replay_target("json");
}

/// A directory no test replays would keep its crash inputs out of CI unnoticed.
#[test]
fn every_directory_is_a_target() {
    for dir in std::fs::read_dir(root()).unwrap() {
        let name = dir.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "regressions/{name} is not a fuzz target"
        );
    }
}
