//! The `json` target: `shared::json` against serde_json, the parser both tiers used before it.

use crate::Outcome;
use serde_json::Value as J;
use shared::json::{parse, write_compact, Value};

/// Parses the input with both; they must agree on whether it is JSON and, when it is, on the tree, and our
/// compact text of it must read back as the same tree. `Err("json")` for input both refuse.
pub fn json(data: &[u8]) -> Outcome {
    let ours = parse(data);
    let theirs = serde_json::from_slice::<J>(data);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => {
            assert!(
                same_tree(a, b),
                "trees differ: ours {a:?}, serde_json {b:?}"
            );
            let mut text = String::new();
            write_compact(a, &mut text);
            let again = serde_json::from_str::<J>(&text).expect("our output is JSON to serde_json");
            assert!(
                same_tree(a, &again),
                "our output reads back differently: {text}"
            );
            Ok(())
        }
        (Err(_), Err(_)) => Err("json".to_owned()),
        _ => panic!("verdicts differ: ours {ours:?}, serde_json {theirs:?}"),
    }
}

/// Our tree equals serde_json's: same shapes, numbers with the same typed reads (floats bit for bit), and
/// members resolved as `serde_json::Map` resolves duplicate names (the last one counts).
pub fn same_tree(ours: &Value, theirs: &J) -> bool {
    match (ours, theirs) {
        (Value::Null, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::Number(a), J::Number(b)) => {
            a.as_i64() == b.as_i64()
                && a.as_u64() == b.as_u64()
                && a.as_f64().map(f64::to_bits) == b.as_f64().map(f64::to_bits)
        }
        (Value::String(a), J::String(b)) => a == b,
        (Value::Array(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_tree(x, y))
        }
        (Value::Object(a), J::Object(b)) => {
            a.members().count() == b.len()
                && a.members()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_tree(v, w)))
        }
        _ => false,
    }
}
