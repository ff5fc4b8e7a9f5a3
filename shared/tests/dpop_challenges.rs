//! Property tests for the `WWW-Authenticate` parser (RFC 9110 11.6.1) that reads DPoP nonce demands from
//! resource servers: any input answers `Ok` or a typed error, never a panic; and any well-formed header built
//! from challenges reads back as those challenges.

use proptest::collection::vec;
use proptest::prelude::*;
use shared::dpop::{challenges, nonce_demanded, Challenge};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}"
}

/// A quoted-string's content: any printable ASCII, quotes and backslashes included (escaped on writing).
fn quoted_content() -> impl Strategy<Value = String> {
    "[ -~]{0,16}"
}

fn challenge() -> impl Strategy<Value = Challenge> {
    (token(), vec((token(), quoted_content()), 0..4)).prop_map(|(scheme, params)| Challenge {
        scheme,
        params: params
            .into_iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .collect(),
        token68: None,
    })
}

fn write(all: &[Challenge]) -> String {
    all.iter()
        .map(|c| {
            let params: Vec<String> = c
                .params
                .iter()
                .map(|(n, v)| format!("{n}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            if params.is_empty() {
                c.scheme.clone()
            } else {
                format!("{} {}", c.scheme, params.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_value_is_an_answer_not_a_panic(value in "\\PC{0,64}", bytes in vec(any::<u8>(), 0..64)) {
        let _ = challenges(&value);
        let _ = nonce_demanded(Some(&value), None);
        let lossy = String::from_utf8_lossy(&bytes);
        let _ = challenges(&lossy);
    }

    #[test]
    fn written_challenges_read_back(all in vec(challenge(), 1..4)) {
        let value = write(&all);
        prop_assert_eq!(challenges(&value).unwrap(), all);
    }

    #[test]
    fn a_nonce_demand_is_found_among_other_challenges(before in vec(challenge(), 0..3), after in vec(challenge(), 0..3)) {
        let mut all = before;
        all.push(Challenge {
            scheme: "DPoP".into(),
            params: vec![("error".into(), "use_dpop_nonce".into())],
            token68: None,
        });
        all.extend(after);
        prop_assert!(nonce_demanded(Some(&write(&all)), None));
    }
}
