//! Replays the fuzzing regression inputs (`tests/fuzz_regressions/<target>/`) through the fuzz targets' own entry
//! points (`shared::fuzzing`), so every input the fuzzer ever crashed on, and every pinned seed, is checked by
//! `cargo test`: no panic, and the outcome a file's name pins (`<outcome>--<what>`). `scripts/fuzz` adds the
//! crash inputs it finds; the `config` target's inputs are replayed by bff/tests/config_fuzz_regressions.rs.

use shared::fuzzing::{self, replay, Entry};
use std::path::{Path, PathBuf};

const TARGETS: [(&str, Entry); 5] = [
    ("fragment", fuzzing::fragment),
    ("jws", fuzzing::jws),
    ("jwks", fuzzing::jwks),
    ("logout_token", fuzzing::logout_token),
    ("token_response", fuzzing::token_response),
];

/// Replayed by the BFF's tests, which can load its configuration.
const ELSEWHERE: [&str; 1] = ["config"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions")
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

/// A directory no test replays would keep its crash inputs out of CI unnoticed.
#[test]
fn every_directory_is_a_target() {
    for dir in std::fs::read_dir(root()).unwrap() {
        let name = dir.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name) || ELSEWHERE.contains(&name.as_str()),
            "tests/fuzz_regressions/{name} is not a fuzz target"
        );
    }
}
