//! The replay of committed regression inputs: the one part of the fuzz glue that reads files and catches
//! panics, which is why it lives here and not in `shared` (no I/O there).

use crate::Entry;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Replays every file in `dir` through `entry`, and returns how many it replayed. A file named
/// `<outcome>--<what>` must give that outcome (`ok` or the error's name); any other name (the fuzzer's
/// `crash-<sha1>`) need only not panic. Panics, listing every file at fault, when one does not hold.
pub fn replay(dir: &Path, entry: Entry) -> usize {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|f| f.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let data = std::fs::read(path).expect("a readable regression file");
        let outcome = match catch_unwind(AssertUnwindSafe(|| entry(&data))) {
            Ok(outcome) => outcome,
            Err(_) => {
                failures.push(format!("{name}: panicked"));
                continue;
            }
        };
        let got = outcome.err().unwrap_or_else(|| "ok".to_owned());
        if let Some((expected, _)) = name.split_once("--") {
            if expected != got {
                failures.push(format!("{name}: expected {expected}, got {got}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        dir.display(),
        failures.join("\n")
    );
    files.len()
}
