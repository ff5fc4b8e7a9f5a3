//! Each parser and writer rule on its own, then the differential properties against serde_json (the `json` fuzz
//! target's invariant, `fuzz_glue::json`): for any generated document and any bytes, this parser accepts exactly
//! what serde_json accepts and yields the same tree, and the writer writes what serde_json writes.

use super::*;
use proptest::prelude::*;

/// The differential invariant, also the `json` fuzz target's (one definition): same verdict, same tree.
fn agrees_with_serde_json(bytes: &[u8]) {
    let _ = fuzz_glue::json(bytes);
}

fn accepts(text: &str) -> bool {
    parse(text.as_bytes()).is_ok()
}

#[test]
fn whitespace_is_space_tab_lf_cr_only() {
    assert!(accepts(" \t\n\r[ 1 , 2 ]\r\n\t "));
    for bad in ["\u{c}1", "1\u{b}", "\u{a0}1", "\u{feff}1"] {
        assert!(!accepts(bad), "{bad:?}");
        agrees_with_serde_json(bad.as_bytes());
    }
}

#[test]
fn no_trailing_commas_or_trailing_text() {
    for bad in [
        "[1,]",
        "{\"a\":1,}",
        "[,]",
        "[1 2]",
        "{\"a\" 1}",
        "1 2",
        "{} x",
        "",
        " ",
        "[",
        "{\"a\":1",
    ] {
        assert!(!accepts(bad), "{bad:?}");
        agrees_with_serde_json(bad.as_bytes());
    }
}

#[test]
fn numbers_follow_the_grammar_and_fit_an_f64() {
    for good in [
        "0",
        "-0",
        "1.5",
        "-1.5e-3",
        "1E+2",
        "123456789012345678901234567890",
        "1e-400",
        "0e999999",
    ] {
        assert!(accepts(good), "{good}");
        agrees_with_serde_json(good.as_bytes());
    }
    for bad in [
        "01", "-01", "+1", ".5", "1.", "1.e2", "1e", "1e+", "-", "--1", "0x10", "1e400", "-1e400",
        "NaN", "Infinity",
    ] {
        assert!(!accepts(bad), "{bad}");
        agrees_with_serde_json(bad.as_bytes());
    }
    let long = "9".repeat(400);
    assert!(!accepts(&long));
    agrees_with_serde_json(long.as_bytes());
}

/// Where serde_json's best-effort reading differs from a correctly rounded one, ours follows serde_json.
#[test]
fn floats_are_read_as_serde_json_reads_them_at_the_edges() {
    assert!(!accepts("1.7976931348623158e308"));
    assert!(accepts("1.7976931348623157e308"));
    for text in [
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "17976931348623158e292",
        "2.4703282292062328e-324",
        "4.9406564584124654e-324",
        "1e-400",
        "0e99999999999",
        "1e-99999999999",
        "-1e99999999999",
        "0.1e309",
        "123456789012345678901234567890.123456789e-10",
        "18446744073709551615.5",
        "18446744073709551616.5",
        "1844674407370955161.5",
        "-9223372036854775808",
        "-9223372036854775809",
        "0.30000000000000004",
        "9007199254740993",
        "9007199254740993.0",
        "1.00000000000000011102230246251565404236316680908203125",
    ] {
        agrees_with_serde_json(text.as_bytes());
    }
}

#[test]
fn strings_refuse_control_characters_and_bad_escapes() {
    assert_eq!(
        parse(br#""a\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00""#).unwrap(),
        Value::String("a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1f600}".into())
    );
    for bad in [
        "\"\u{1}\"",
        "\"\n\"",
        "\"\t\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12G4\"",
        "\"abc",
        "\"\\",
        "'a'",
    ] {
        assert!(!accepts(bad), "{bad:?}");
        agrees_with_serde_json(bad.as_bytes());
    }
    assert!(accepts("\"\u{7f}\""));
    agrees_with_serde_json(b"\"\xff\"");
    assert!(parse(b"\"\xff\"").is_err());
}

#[test]
fn lone_surrogates_are_refused() {
    for bad in [
        r#""\uD800""#,
        r#""\uDC00""#,
        r#""\uD800\u0041""#,
        r#""\uD800\uD800""#,
        r#""\uD800x""#,
    ] {
        assert!(!accepts(bad), "{bad}");
        agrees_with_serde_json(bad.as_bytes());
    }
}

#[test]
fn nesting_stops_where_serde_json_stops() {
    for depth in [1, 126, 127, 128, 129, 10_000] {
        let arrays = "[".repeat(depth) + &"]".repeat(depth);
        agrees_with_serde_json(arrays.as_bytes());
        let objects = "{\"a\":".repeat(depth) + "1" + &"}".repeat(depth);
        agrees_with_serde_json(objects.as_bytes());
    }
    assert!(accepts(&("[".repeat(127) + &"]".repeat(127))));
    assert!(!accepts(&("[".repeat(128) + &"]".repeat(128))));
}

#[test]
fn a_duplicate_name_reads_as_its_last_value() {
    let doc = parse(br#"{"a":1,"b":2,"a":3}"#).unwrap();
    assert_eq!(doc.get("a").and_then(Value::as_i64), Some(3));
    assert_eq!(fuzz_glue::json(br#"{"a":1,"b":2,"a":3}"#), Ok(()));
}

#[test]
fn pretty_output_is_serde_jsons() {
    let text = r#"{"a":[1,{"b":null,"c":[]},{}],"d":"x\u0001y","e":{"f":true}}"#;
    let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut ours = String::new();
    write_pretty(&parse(text.as_bytes()).unwrap(), &mut ours);
    assert_eq!(ours, serde_json::to_string_pretty(&theirs).unwrap());
}

/// Arbitrary JSON documents, as serde_json values (so serde_json writes their canonical text).
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<u64>().prop_map(J::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(J::from),
        any::<String>().prop_map(J::String),
        "[\"\\\\\u{0}-\u{1f}\u{7f}/a-z\u{e9}\u{1f600}]{0,8}".prop_map(J::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Array),
            prop::collection::vec(("[a-c\"\\\\\u{1}]{0,3}", inner), 0..6)
                .prop_map(|members| J::Object(members.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn generated_documents_read_and_write_as_serde_jsons(doc in any_json()) {
        let compact = serde_json::to_string(&doc).unwrap();
        prop_assert_eq!(fuzz_glue::json(compact.as_bytes()), Ok(()));
        let ours = parse(compact.as_bytes()).unwrap();
        let mut written = String::new();
        write_compact(&ours, &mut written);
        prop_assert_eq!(&written, &compact);
        let pretty = serde_json::to_string_pretty(&doc).unwrap();
        let mut written = String::new();
        write_pretty(&parse(pretty.as_bytes()).unwrap(), &mut written);
        prop_assert_eq!(written, pretty);
    }

    #[test]
    fn mutated_documents_get_serde_jsons_verdict(doc in any_json(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let mut bytes = serde_json::to_vec(&doc).unwrap();
        let i = at.index(bytes.len() + 1);
        if cut {
            bytes.truncate(i);
        } else {
            bytes.insert(i, byte);
        }
        agrees_with_serde_json(&bytes);
    }

    #[test]
    fn arbitrary_numbers_read_as_serde_jsons(text in "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,24})?([eE][+-]?[0-9]{1,3})?") {
        agrees_with_serde_json(text.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_get_serde_jsons_verdict(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        agrees_with_serde_json(&bytes);
    }

    #[test]
    fn arbitrary_json_like_text_gets_serde_jsons_verdict(text in "[\\[\\]{}\",:0-9eE.+\\- \\\\u/tnrfalsebD8C\u{1}\u{e9}]{0,40}") {
        agrees_with_serde_json(text.as_bytes());
    }
}

#[test]
fn members_resolve_duplicates_to_the_last_value() {
    let doc = parse(br#"{"a":1,"b":2,"a":3,"c":4,"b":5}"#).unwrap();
    let members: Vec<(&str, i64)> = doc
        .as_object()
        .unwrap()
        .members()
        .map(|(k, v)| (k, v.as_i64().unwrap()))
        .collect();
    assert_eq!(members, [("a", 3), ("c", 4), ("b", 5)]);
}
