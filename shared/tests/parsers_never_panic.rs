//! Property tests for every parser that reads attacker-controllable input: the fragment, the compact JWS, the
//! key set, the claims and the token response. For arbitrary and for structured (nearly valid) inputs they never
//! panic and always answer `Ok` or a typed error of their own family; oversized inputs get the size error;
//! duplicated fragment parameters always get `duplicate_parameter`; and a fragment built from a response parses
//! back to it.

use fuzz_glue::check_candidates;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map, Value};
use shared::fragment::{parse_fragment, AuthorizationResponse, MAX_FRAGMENT_BYTES};
use shared::jose::alg::Alg;
use shared::jose::b64url_encode;
use shared::jose::jwks::{JwkSet, MAX_JWKS_BYTES};
use shared::jose::jws::{CompactJws, JwsHeader, MAX_JWS_BYTES};
use shared::token_response::{TokenEndpointError, TokenResponse, MAX_TOKEN_RESPONSE_BYTES};
use shared::verify::claims::IdTokenClaims;
use shared::ValidationError;
use std::collections::BTreeSet;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // Keep failure persistence files out of the source tree; the seed is printed on failure anyway.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const FRAGMENT_RULES: [&str; 4] = [
    "op_error",
    "malformed_response",
    "duplicate_parameter",
    "too_large",
];
const JWS_RULES: [&str; 6] = [
    "malformed_token",
    "alg_none",
    "alg_hmac_rejected",
    "alg_not_allowed",
    "crit_unsupported",
    "bad_signature",
];

// ---------------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------------

/// Any JSON value, wrong types included, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        select(vec![
            1e300,
            -1e300,
            0.5,
            -0.5,
            1.7e9 + 0.25,
            9.3e18,
            -9.3e18
        ])
        .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value for a member that should hold a string: the right type, null, absent (None), or a wrong type.
fn maybe_string(pool: Vec<&'static str>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => select(pool).prop_map(|s| Some(json!(s))),
        2 => ".{0,10}".prop_map(|s| Some(Value::String(s))),
        2 => Just(None),
        1 => Just(Some(Value::Null)),
        2 => any_json().prop_filter("not a string", |v| !v.is_string() && !v.is_null()).prop_map(Some),
    ]
}

/// Percent-encodes some (random) characters of `text`, spaces as `+` or `%20`, so that different spellings
/// of the same name decode to the same parameter.
fn encode_randomly(text: &str, mask: &[bool]) -> String {
    let mut out = String::new();
    for (i, ch) in text.chars().enumerate() {
        let force = mask.get(i % mask.len().max(1)).copied().unwrap_or(false);
        let must = !(ch.is_ascii_alphanumeric() || "-._~".contains(ch));
        if ch == ' ' && !force {
            out.push('+');
        } else if must || force {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(ch);
        }
    }
    out
}

const PARAM_NAMES: [&str; 12] = [
    "code",
    "id_token",
    "access_token",
    "token_type",
    "state",
    "iss",
    "error",
    "error_description",
    "session_state",
    "expires_in",
    "scope",
    "a b",
];

/// `k=v&...` pairs with names from a pool (so duplicates are frequent) and arbitrary values, each
/// percent-encoded differently.
fn fragment_pairs(max: usize) -> impl Strategy<Value = Vec<(String, String, Vec<bool>)>> {
    vec(
        (
            prop_oneof![4 => select(PARAM_NAMES.to_vec()).prop_map(str::to_owned), 1 => "[a-z_]{1,6}"],
            prop_oneof![".{0,16}", "[A-Za-z0-9._~-]{1,24}"],
            vec(any::<bool>(), 1..6),
        ),
        1..max,
    )
}

fn build_fragment(pairs: &[(String, String, Vec<bool>)]) -> String {
    pairs
        .iter()
        .map(|(k, v, mask)| {
            format!(
                "{}={}",
                encode_randomly(k, mask),
                encode_randomly(v, &[false])
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

const ALG_NAMES: [&str; 16] = [
    "none", "None", "NONE", "HS256", "HS512", "RS256", "RS384", "PS256", "ES256", "ES384", "EdDSA",
    "ES256K", "RS1", "", "rs256", "A128KW",
];

/// A JWS protected header as a JSON object: `alg` from the pool or of a wrong type, `kid`/`typ` of random
/// types, sometimes `crit`, sometimes unknown members.
fn jws_header() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop_oneof![
            6 => select(ALG_NAMES.to_vec()).prop_map(|a| Some(json!(a))),
            1 => Just(None),
            2 => any_json().prop_map(Some),
        ],
        maybe_string(vec!["k1", "rsa-1", ""]),
        maybe_string(vec!["JWT", "at+jwt"]),
        prop_oneof![4 => Just(None), 1 => any_json().prop_map(Some)],
        btree_map("x[a-z]{0,4}", any_json(), 0..2),
    )
        .prop_map(|(alg, kid, typ, crit, extra)| {
            let mut h: Map<String, Value> = extra.into_iter().collect();
            for (name, value) in [("alg", alg), ("kid", kid), ("typ", typ), ("crit", crit)] {
                if let Some(v) = value {
                    h.insert(name.to_owned(), v);
                }
            }
            h
        })
}

/// What `CompactJws::parse` must answer for a header object (with a well-formed payload and signature).
fn expected_header(h: &Map<String, Value>) -> Result<JwsHeader, &'static str> {
    if h.contains_key("crit") {
        return Err("crit_unsupported");
    }
    let alg = match h.get("alg") {
        Some(Value::String(a)) => match a.as_str() {
            "none" | "None" | "NONE" => return Err("alg_none"),
            hs if hs.starts_with("HS") => return Err("alg_hmac_rejected"),
            other => Alg::from_name(other).ok_or("alg_not_allowed")?,
        },
        _ => return Err("malformed_token"),
    };
    let string = |name: &str| match h.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("malformed_token"),
    };
    Ok(JwsHeader {
        alg,
        kid: string("kid")?,
        typ: string("typ")?,
    })
}

/// One JWK-like object: members of the right type, null, absent or of a wrong type.
fn jwk_value() -> impl Strategy<Value = Value> {
    (
        maybe_string(vec!["RSA", "EC", "OKP", "oct"]),
        maybe_string(vec!["k1", "k2"]),
        maybe_string(vec!["sig", "enc"]),
        maybe_string(vec!["RS256", "ES256", "PS256", "EdDSA", "HS256"]),
        prop_oneof![
            2 => Just(None),
            1 => vec(select(vec!["verify", "sign", "encrypt"]), 0..3).prop_map(|v| Some(json!(v))),
            1 => any_json().prop_map(Some),
        ],
        maybe_string(vec!["AQAB", "sXch"]),
        maybe_string(vec!["AQAB"]),
        maybe_string(vec!["P-256", "P-384", "Ed25519", "Ed448"]),
        maybe_string(vec!["AA", "f83OJ3D2"]),
        maybe_string(vec!["AA", "x_FEzRu9"]),
    )
        .prop_map(|(kty, kid, use_, alg, key_ops, n, e, crv, x, y)| {
            let mut k = Map::new();
            for (name, value) in [
                ("kty", kty),
                ("kid", kid),
                ("use", use_),
                ("alg", alg),
                ("key_ops", key_ops),
                ("n", n),
                ("e", e),
                ("crv", crv),
                ("x", x),
                ("y", y),
            ] {
                if let Some(v) = value {
                    k.insert(name.to_owned(), v);
                }
            }
            Value::Object(k)
        })
}

/// Whether serde should read this object as a `Jwk`: `kty` a string, every optional member a string (or a
/// list of strings for `key_ops`) or null.
fn jwk_is_readable(v: &Value) -> bool {
    let Some(o) = v.as_object() else {
        return false;
    };
    let opt_string =
        |name: &str| matches!(o.get(name), None | Some(Value::Null | Value::String(_)));
    matches!(o.get("kty"), Some(Value::String(_)))
        && ["kid", "use", "alg", "n", "e", "crv", "x", "y"]
            .into_iter()
            .all(opt_string)
        && match o.get("key_ops") {
            None | Some(Value::Null) => true,
            Some(Value::Array(items)) => items.iter().all(Value::is_string),
            Some(_) => false,
        }
}

const STRING_CLAIMS: [&str; 13] = [
    "iss",
    "sub",
    "azp",
    "nonce",
    "c_hash",
    "at_hash",
    "sid",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "email",
    "email_verified",
];
const TIME_CLAIMS: [&str; 3] = ["exp", "iat", "auth_time"];

/// A claim value: often of the right type, often not.
fn claim_value(name: &'static str) -> BoxedStrategy<Option<Value>> {
    match name {
        "exp" | "iat" | "auth_time" => prop_oneof![
            3 => (0i64..4_000_000_000).prop_map(|t| Some(json!(t))),
            1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number)),
            1 => any::<u64>().prop_map(|n| Some(json!(n))),
            2 => Just(None),
            2 => any_json().prop_map(Some),
        ]
        .boxed(),
        "email_verified" => prop_oneof![
            2 => any::<bool>().prop_map(|b| Some(json!(b))),
            1 => select(vec!["true", "false", "yes", "1"]).prop_map(|s| Some(json!(s))),
            2 => Just(None),
            2 => any_json().prop_map(Some),
        ]
        .boxed(),
        "aud" => prop_oneof![
            2 => "[a-z]{1,6}".prop_map(|s| Some(json!(s))),
            2 => vec("[a-z]{1,6}", 0..3).prop_map(|v| Some(json!(v))),
            1 => vec(any_json(), 1..3).prop_map(|v| Some(Value::Array(v))),
            2 => Just(None),
            2 => any_json().prop_map(Some),
        ]
        .boxed(),
        _ => prop_oneof![
            3 => ".{0,8}".prop_map(|s| Some(json!(s))),
            2 => Just(None),
            1 => Just(Some(Value::Null)),
            2 => any_json().prop_map(Some),
        ]
        .boxed(),
    }
}

fn claims_object() -> impl Strategy<Value = Map<String, Value>> {
    let names: Vec<&'static str> = STRING_CLAIMS
        .iter()
        .chain(TIME_CLAIMS.iter())
        .chain(["aud"].iter())
        .copied()
        .collect();
    let values: Vec<BoxedStrategy<Option<Value>>> = names.iter().map(|n| claim_value(n)).collect();
    (values, btree_map("x[a-z]{0,4}", any_json(), 0..2)).prop_map(move |(values, extra)| {
        let mut m: Map<String, Value> = extra.into_iter().collect();
        for (name, value) in names.iter().zip(values) {
            if let Some(v) = value {
                m.insert((*name).to_owned(), v);
            }
        }
        m
    })
}

/// The first claim (in `from_json`'s reading order) whose type is wrong, if any.
fn claims_are_readable(m: &Map<String, Value>) -> bool {
    let string_ok = |n: &str| matches!(m.get(n), None | Some(Value::Null | Value::String(_)));
    let time_ok = |n: &str| match m.get(n) {
        None | Some(Value::Null) => true,
        Some(Value::Number(_)) => true,
        Some(_) => false,
    };
    let bool_ok = match m.get("email_verified") {
        None | Some(Value::Null | Value::Bool(_)) => true,
        Some(Value::String(s)) => s == "true" || s == "false",
        Some(_) => false,
    };
    let aud_ok = match m.get("aud") {
        None | Some(Value::Null | Value::String(_)) => true,
        Some(Value::Array(items)) => items.iter().all(Value::is_string),
        Some(_) => false,
    };
    STRING_CLAIMS
        .iter()
        .filter(|n| **n != "email_verified")
        .all(|n| string_ok(n))
        && TIME_CLAIMS.iter().all(|n| time_ok(n))
        && bool_ok
        && aud_ok
}

fn token_response_object() -> impl Strategy<Value = Map<String, Value>> {
    (
        maybe_string(vec!["at-1", ""]),
        maybe_string(vec!["Bearer", "bearer", "BEARER", "mac", "DPoP"]),
        maybe_string(vec!["x.y.z", ""]),
        maybe_string(vec!["rt-1", ""]),
        prop_oneof![
            2 => (-100i64..100_000).prop_map(|n| Some(json!(n))),
            1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number)),
            1 => select(vec![1e300, -1e300, 3599.9]).prop_map(|f| Some(json!(f))),
            2 => Just(None),
            1 => any_json().prop_map(Some),
        ],
        maybe_string(vec!["openid profile"]),
        maybe_string(vec!["invalid_grant", "invalid_client"]),
        maybe_string(vec!["the code was used"]),
    )
        .prop_map(
            |(
                access_token,
                token_type,
                id_token,
                refresh_token,
                expires_in,
                scope,
                error,
                desc,
            )| {
                let mut m = Map::new();
                for (name, value) in [
                    ("access_token", access_token),
                    ("token_type", token_type),
                    ("id_token", id_token),
                    ("refresh_token", refresh_token),
                    ("expires_in", expires_in),
                    ("scope", scope),
                    ("error", error),
                    ("error_description", desc),
                ] {
                    if let Some(v) = value {
                        m.insert(name.to_owned(), v);
                    }
                }
                m
            },
        )
}

fn check_token_response_result(result: &Result<TokenResponse, TokenEndpointError>) {
    match result {
        Ok(ok) => {
            assert!(!ok.access_token.is_empty());
            assert!(ok.id_token.as_deref() != Some(""));
            assert!(ok.refresh_token.as_deref() != Some(""));
            assert!(ok.expires_in.is_none_or(|e| e >= 0));
        }
        Err(TokenEndpointError::OAuth { error, description }) => {
            assert!(error.chars().count() <= 64);
            assert!(description
                .as_ref()
                .is_none_or(|d| d.chars().count() <= 300));
        }
        Err(TokenEndpointError::Invalid(e)) => {
            assert_eq!(e.rule(), "malformed_token_response")
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The fragment
// ---------------------------------------------------------------------------------------------------------

fn check_fragment_result(result: &Result<AuthorizationResponse, ValidationError>) {
    match result {
        Ok(r) => {
            assert!(r.code.is_some() || r.id_token.is_some() || r.access_token.is_some());
            for field in [
                &r.code,
                &r.id_token,
                &r.access_token,
                &r.token_type,
                &r.state,
                &r.iss,
            ] {
                assert!(field.as_deref() != Some(""), "empty values are absent");
            }
        }
        Err(e) => {
            assert!(FRAGMENT_RULES.contains(&e.rule()), "{e:?}");
            if let ValidationError::OpError { error, description } = e {
                assert!(error.chars().count() <= 300 && !error.chars().any(char::is_control));
                assert!(description
                    .as_ref()
                    .is_none_or(|d| d.chars().count() <= 300 && !d.chars().any(char::is_control)));
            }
            if let ValidationError::DuplicateParameter { param } = e {
                assert!(param.len() <= 40 && param.chars().all(|c| c.is_ascii_graphic()));
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fragment_arbitrary_strings(s in "\\PC{0,200}", hash in any::<bool>()) {
        let input = if hash { format!("#{s}") } else { s };
        check_fragment_result(&parse_fragment(&input));
    }

    #[test]
    fn fragment_arbitrary_bytes_as_text(bytes in vec(any::<u8>(), 0..300)) {
        check_fragment_result(&parse_fragment(&String::from_utf8_lossy(&bytes)));
    }

    /// Structured `k=v&...`: the outcome is exactly predictable from the decoded pairs.
    #[test]
    fn fragment_structured_pairs(pairs in fragment_pairs(8), hash in any::<bool>()) {
        let fragment = build_fragment(&pairs);
        let input = if hash { format!("#{fragment}") } else { fragment };
        let result = parse_fragment(&input);
        check_fragment_result(&result);

        let mut seen = BTreeSet::new();
        let first_duplicate = pairs.iter().map(|(k, _, _)| k).find(|k| !seen.insert(k.as_str()));
        let value_of = |name: &str| {
            pairs.iter().find(|(k, _, _)| k == name).map(|(_, v, _)| v.clone()).filter(|v| !v.is_empty())
        };
        if let Some(dup) = first_duplicate {
            let expected: String = dup.chars().filter(|c| c.is_ascii_graphic()).take(40).collect();
            prop_assert_eq!(result, Err(ValidationError::DuplicateParameter { param: expected }));
        } else if seen.contains("error") {
            prop_assert_eq!(result.unwrap_err().rule(), "op_error");
        } else if ["code", "id_token", "access_token"].iter().any(|n| value_of(n).is_some()) {
            let expected = AuthorizationResponse {
                code: value_of("code"),
                id_token: value_of("id_token"),
                access_token: value_of("access_token"),
                token_type: value_of("token_type"),
                state: value_of("state"),
                iss: value_of("iss"),
            };
            prop_assert_eq!(result, Ok(expected));
        } else {
            prop_assert_eq!(result.unwrap_err().rule(), "malformed_response");
        }
    }

    /// A parameter repeated anywhere, however it is spelled, is refused.
    #[test]
    fn fragment_duplicates_always_refused(
        pairs in fragment_pairs(12),
        name in select(PARAM_NAMES.to_vec()),
        mask1 in vec(any::<bool>(), 1..6),
        mask2 in vec(any::<bool>(), 1..6),
        at1 in any::<prop::sample::Index>(),
        at2 in any::<prop::sample::Index>(),
    ) {
        let mut pairs: Vec<_> = pairs.into_iter().filter(|(k, _, _)| k != name).collect();
        pairs.insert(at1.index(pairs.len() + 1), (name.to_owned(), "v1".to_owned(), mask1));
        pairs.insert(at2.index(pairs.len() + 1), (name.to_owned(), "v2".to_owned(), mask2));
        let result = parse_fragment(&build_fragment(&pairs));
        prop_assert_eq!(result.unwrap_err().rule(), "duplicate_parameter");
    }

    #[test]
    fn fragment_oversized_is_too_large(
        unit in "[a-z=&%0-9]{1,16}",
        extra in 1usize..64,
        hash in any::<bool>(),
    ) {
        let mut s = unit.repeat(MAX_FRAGMENT_BYTES / unit.len() + 1);
        s.truncate(MAX_FRAGMENT_BYTES);
        s.push_str(&"x".repeat(extra));
        let input = if hash { format!("#{s}") } else { s };
        prop_assert_eq!(parse_fragment(&input), Err(ValidationError::TooLarge));
    }

    /// At the size limit exactly (with or without `#`) the size rule does not fire.
    #[test]
    fn fragment_at_the_limit_is_read(value in "[A-Za-z0-9]{1,8}") {
        let mut s = format!("code={value}&pad=");
        s.push_str(&"p".repeat(MAX_FRAGMENT_BYTES - s.len()));
        prop_assert_eq!(s.len(), MAX_FRAGMENT_BYTES);
        prop_assert_eq!(parse_fragment(&format!("#{s}")).unwrap().code, Some(value.clone()));
        prop_assert_eq!(parse_fragment(&s).unwrap().code, Some(value));
    }

    /// More parameters than any honest response (all distinct) are refused as too large.
    #[test]
    fn fragment_too_many_parameters(count in 33usize..80) {
        let s: Vec<String> = (0..count).map(|i| format!("p{i}=v")).collect();
        prop_assert_eq!(parse_fragment(&s.join("&")), Err(ValidationError::TooLarge));
    }

    /// A response written as a fragment (in any order, any encoding) reads back as the same response.
    #[test]
    fn fragment_round_trip(
        code in proptest::option::of("\\PC{1,40}"),
        id_token in proptest::option::of("[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{0,40}"),
        access_token in proptest::option::of("\\PC{1,40}"),
        token_type in proptest::option::of(select(vec!["Bearer", "bearer", "N_A"])),
        state in proptest::option::of("\\PC{1,40}"),
        iss in proptest::option::of("https://[a-z.]{1,12}(/[a-z /?&=#%+]{0,12})?"),
        order in Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
        hash in any::<bool>(),
    ) {
        prop_assume!(code.is_some() || id_token.is_some() || access_token.is_some());
        let response = AuthorizationResponse {
            code,
            id_token,
            access_token,
            token_type: token_type.map(str::to_owned),
            state,
            iss,
        };
        let fields = [
            ("code", &response.code),
            ("id_token", &response.id_token),
            ("access_token", &response.access_token),
            ("token_type", &response.token_type),
            ("state", &response.state),
            ("iss", &response.iss),
        ];
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for i in order {
            if let (name, Some(value)) = fields[i] {
                ser.append_pair(name, value);
            }
        }
        let fragment = ser.finish();
        let input = if hash { format!("#{fragment}") } else { fragment };
        prop_assert_eq!(parse_fragment(&input), Ok(response));
    }

    /// An OP error is recognised whatever else is in the response, and its text is clipped and cleaned.
    #[test]
    fn fragment_op_error(error in "\\PC{1,400}", description in proptest::option::of(".{1,400}"), code in any::<bool>()) {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        ser.append_pair("error", &error);
        if let Some(d) = &description {
            ser.append_pair("error_description", d);
        }
        if code {
            ser.append_pair("code", "abc");
        }
        match parse_fragment(&ser.finish()) {
            Err(ValidationError::OpError { error: e, description: d }) => {
                let clean = |t: &str| t.chars().filter(|c| !c.is_control()).take(300).collect::<String>();
                prop_assert_eq!(e, clean(&error));
                prop_assert_eq!(d, description.as_deref().map(clean));
            }
            other => prop_assert!(false, "expected op_error, got {:?}", other),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The compact JWS
// ---------------------------------------------------------------------------------------------------------

fn check_jws_result(result: &Result<CompactJws, ValidationError>) {
    match result {
        Ok(jws) => assert!(!jws.signature().is_empty()),
        Err(e) => assert!(JWS_RULES.contains(&e.rule()), "{e:?}"),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn jws_arbitrary_strings(s in "\\PC{0,300}") {
        check_jws_result(&CompactJws::parse(&s));
    }

    #[test]
    fn jws_three_arbitrary_base64url_parts(
        h in vec(any::<u8>(), 0..64),
        p in vec(any::<u8>(), 0..64),
        s in vec(any::<u8>(), 0..64),
    ) {
        let token = format!("{}.{}.{}", b64url_encode(&h), b64url_encode(&p), b64url_encode(&s));
        check_jws_result(&CompactJws::parse(&token));
    }

    #[test]
    fn jws_dotted_garbage(parts in vec("[A-Za-z0-9_=+/-]{0,12}", 0..6)) {
        let token = parts.join(".");
        let result = CompactJws::parse(&token);
        check_jws_result(&result);
        if parts.len() != 3 {
            prop_assert_eq!(result.unwrap_err().rule(), "malformed_token");
        }
    }

    /// Random JSON headers: the outcome follows the header rules exactly, and a parsed token keeps its parts.
    #[test]
    fn jws_structured_headers(
        header in jws_header(),
        payload in vec(any::<u8>(), 0..64),
        signature in vec(any::<u8>(), 0..64),
    ) {
        let h = b64url_encode(Value::Object(header.clone()).to_string().as_bytes());
        let p = b64url_encode(&payload);
        let token = format!("{h}.{p}.{}", b64url_encode(&signature));
        let result = CompactJws::parse(&token);
        check_jws_result(&result);
        match (expected_header(&header), result) {
            (Err(rule), Err(e)) => prop_assert_eq!(rule, e.rule()),
            (Ok(_), Err(e)) => {
                prop_assert!(signature.is_empty(), "unexpected error {:?}", e);
                prop_assert_eq!(e, ValidationError::BadSignature);
            }
            (Ok(expected), Ok(jws)) => {
                prop_assert_eq!(jws.header(), &expected);
                prop_assert_eq!(jws.signature(), &signature[..]);
                let input = format!("{h}.{p}");
                prop_assert_eq!(jws.signing_input(), input.as_bytes());
            }
            (Err(rule), Ok(jws)) => prop_assert!(false, "expected {} but parsed {:?}", rule, jws.header()),
        }
    }

    /// Header JSON that is not an object, and padded or standard base64, are malformed.
    #[test]
    fn jws_non_object_headers_and_bad_encodings(
        header in any_json().prop_filter("not an object", |v| !v.is_object()),
        pad in any::<bool>(),
    ) {
        let token = format!("{}.e30.c2ln", b64url_encode(header.to_string().as_bytes()));
        prop_assert_eq!(CompactJws::parse(&token).unwrap_err().rule(), "malformed_token");
        let good = b64url_encode(br#"{"alg":"RS256"}"#);
        let token = if pad { format!("{good}=.e30.c2ln") } else { format!("{}.e30.c2l+", good) };
        prop_assert_eq!(CompactJws::parse(&token).unwrap_err().rule(), "malformed_token");
    }

    #[test]
    fn jws_oversized_is_refused(extra in 1usize..512, sig_len in 1usize..64) {
        let h = b64url_encode(br#"{"alg":"RS256"}"#);
        let s = b64url_encode(&vec![7u8; sig_len]);
        let p_len = MAX_JWS_BYTES - h.len() - s.len() - 2 + extra;
        let token = format!("{h}.{}.{s}", "A".repeat(p_len));
        prop_assert!(token.len() > MAX_JWS_BYTES);
        let e = CompactJws::parse(&token).unwrap_err();
        prop_assert_eq!(e.rule(), "malformed_token");
        prop_assert!(e.to_string().contains("too large"), "{}", e);
    }
}

// ---------------------------------------------------------------------------------------------------------
// The key set
// ---------------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn jwks_arbitrary_bytes(bytes in vec(any::<u8>(), 0..300)) {
        match JwkSet::parse(&bytes) {
            Ok(set) => check_candidates(&set, None),
            Err(e) => prop_assert_eq!(e.rule(), "bad_jwks"),
        }
    }

    #[test]
    fn jwks_arbitrary_json(doc in any_json()) {
        let result = JwkSet::parse(doc.to_string().as_bytes());
        let has_keys_array = doc.get("keys").is_some_and(Value::is_array);
        prop_assert_eq!(result.is_ok(), has_keys_array, "{:?}", result);
        if let Err(e) = result {
            prop_assert_eq!(e.rule(), "bad_jwks");
        }
    }

    /// Keys with unreadable members are skipped, readable ones kept in order; candidates never panic and
    /// only ever return fitting keys with the right kid.
    #[test]
    fn jwks_structured_keys(
        keys in vec(
            prop_oneof![
                6 => jwk_value(),
                // Any JSON, arrays included: only objects may become keys (`jwks_array_form_key_is_not_a_key`).
                1 => any_json(),
            ],
            0..12,
        ),
        kid in proptest::option::of(select(vec!["k1", "k2", "k3"])),
    ) {
        let doc = json!({ "keys": keys });
        let set = JwkSet::parse(doc.to_string().as_bytes()).unwrap();
        let readable: Vec<&Value> = keys.iter().filter(|k| jwk_is_readable(k)).collect();
        prop_assert_eq!(set.keys.len(), readable.len());
        for (jwk, raw) in set.keys.iter().zip(readable) {
            prop_assert_eq!(Some(jwk.kty.as_str()), raw["kty"].as_str());
            prop_assert_eq!(jwk.kid.as_deref(), raw.get("kid").and_then(Value::as_str));
        }
        check_candidates(&set, kid.map(str::to_owned));
    }

    #[test]
    fn jwks_at_most_64_keys_are_considered(count in 65usize..120) {
        let keys: Vec<Value> = (0..count)
            .map(|i| json!({"kty": "RSA", "kid": format!("k{i}"), "n": "AQAB", "e": "AQAB"}))
            .collect();
        let set = JwkSet::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap();
        prop_assert_eq!(set.keys.len(), 64);
    }

    #[test]
    fn jwks_oversized_is_refused(extra in 1usize..512) {
        let head = br#"{"keys":[],"pad":""#;
        let mut body = head.to_vec();
        body.resize(MAX_JWKS_BYTES + extra - 2, b'x');
        body.extend_from_slice(b"\"}");
        prop_assert!(body.len() > MAX_JWKS_BYTES);
        let e = JwkSet::parse(&body).unwrap_err();
        prop_assert_eq!(e.rule(), "bad_jwks");
        prop_assert!(e.to_string().contains("too large"), "{}", e);
    }
}

// ---------------------------------------------------------------------------------------------------------
// The claims
// ---------------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn claims_arbitrary_bytes(bytes in vec(any::<u8>(), 0..300)) {
        if let Err(e) = IdTokenClaims::from_json(&bytes) {
            prop_assert_eq!(e.rule(), "malformed_claims");
        }
    }

    #[test]
    fn claims_arbitrary_json(doc in any_json()) {
        match IdTokenClaims::from_json(doc.to_string().as_bytes()) {
            Ok(_) => prop_assert!(doc.is_object()),
            Err(e) => prop_assert_eq!(e.rule(), "malformed_claims"),
        }
    }

    /// Claims of every type: accepted exactly when each known claim has its type, and then read faithfully.
    #[test]
    fn claims_structured(claims in claims_object()) {
        let result = IdTokenClaims::from_json(Value::Object(claims.clone()).to_string().as_bytes());
        prop_assert_eq!(result.is_ok(), claims_are_readable(&claims), "{:?}", result);
        match result {
            Ok(c) => {
                prop_assert_eq!(c.sub.as_deref(), claims.get("sub").and_then(Value::as_str));
                prop_assert_eq!(c.nonce.as_deref(), claims.get("nonce").and_then(Value::as_str));
                match claims.get("aud") {
                    Some(Value::String(a)) => prop_assert_eq!(&c.aud, &vec![a.clone()]),
                    Some(Value::Array(items)) => prop_assert_eq!(c.aud.len(), items.len()),
                    _ => prop_assert!(c.aud.is_empty()),
                }
                if let Some(n) = claims.get("exp").and_then(Value::as_i64) {
                    prop_assert_eq!(c.exp, Some(n));
                }
                if let Some(b) = claims.get("email_verified").and_then(Value::as_bool) {
                    prop_assert_eq!(c.email_verified, Some(b));
                }
                let _ = c.user();
            }
            Err(e) => {
                prop_assert_eq!(e.rule(), "malformed_claims");
                // The reason names a claim, in backquotes.
                prop_assert!(e.to_string().contains('`'), "{}", e);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The token response
// ---------------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn token_response_arbitrary_bytes(bytes in vec(any::<u8>(), 0..300), success in any::<bool>()) {
        check_token_response_result(&TokenResponse::parse(success, &bytes));
    }

    #[test]
    fn token_response_arbitrary_json(doc in any_json(), success in any::<bool>()) {
        check_token_response_result(&TokenResponse::parse(success, doc.to_string().as_bytes()));
    }

    #[test]
    fn token_response_structured(body in token_response_object(), success in any::<bool>()) {
        let result = TokenResponse::parse(success, Value::Object(body.clone()).to_string().as_bytes());
        check_token_response_result(&result);
        if success {
            let well_typed = matches!(body.get("access_token"), Some(Value::String(_)))
                && matches!(body.get("token_type"), Some(Value::String(_)))
                && ["id_token", "refresh_token", "scope"].iter().all(|n| {
                    matches!(body.get(*n), None | Some(Value::Null | Value::String(_)))
                })
                && matches!(body.get("expires_in"), None | Some(Value::Null | Value::Number(_)));
            // Bearer, or DPoP (RFC 9449 5: bound to the proof's key), in any case.
            let usable_type = body
                .get("token_type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("bearer") || t.eq_ignore_ascii_case("dpop"));
            let nonempty = body.get("access_token").and_then(Value::as_str).is_some_and(|a| !a.is_empty());
            prop_assert_eq!(result.is_ok(), well_typed && usable_type && nonempty, "{:?}", result);
            if let Ok(ok) = result {
                prop_assert_eq!(Some(ok.access_token.as_str()), body["access_token"].as_str());
            }
        } else {
            let is_oauth = matches!(body.get("error"), Some(Value::String(_)))
                && matches!(body.get("error_description"), None | Some(Value::Null | Value::String(_)));
            prop_assert_eq!(matches!(result, Err(TokenEndpointError::OAuth { .. })), is_oauth, "{:?}", result);
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn token_response_oversized_is_refused(extra in 1usize..512, success in any::<bool>()) {
        let head = br#"{"access_token":"a","token_type":"Bearer","pad":""#;
        let mut body = head.to_vec();
        body.resize(MAX_TOKEN_RESPONSE_BYTES + extra - 2, b'x');
        body.extend_from_slice(b"\"}");
        match TokenResponse::parse(success, &body) {
            Err(TokenEndpointError::Invalid(e)) => {
                prop_assert_eq!(e.rule(), "malformed_token_response");
                prop_assert!(e.to_string().contains("too large"), "{}", e);
            }
            other => prop_assert!(false, "expected the size error, got {:?}", other),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Regressions: shapes serde would accept but the specs do not
// ---------------------------------------------------------------------------------------------------------

/// RFC 7517 4: a JWK is a JSON object. `JwkSet::parse` reads each entry with serde's derived `Deserialize`,
/// which also accepts the *sequence* form of a struct, so `["RSA",null,null,null,null,"<n>","<e>"]` becomes an
/// RSA key that fits RS256 (and would be tried as a candidate).
#[test]
fn jwks_array_form_key_is_not_a_key() {
    let set = JwkSet::parse(br#"{"keys":[["RSA",null,null,null,null,"AQAB","AQAB"]]}"#).unwrap();
    assert!(set.keys.is_empty(), "array entry read as {:?}", set.keys);
}

/// RFC 6749 5.1/5.2: the token response is a JSON object. `TokenResponse::parse` uses serde's derived
/// `Deserialize`, which also accepts the sequence form, so `["a","Bearer"]` is a successful token response and
/// `["invalid_grant"]` an OAuth error.
#[test]
fn token_response_array_is_not_a_response() {
    let ok = TokenResponse::parse(true, br#"["a","Bearer"]"#);
    assert!(
        matches!(&ok, Err(TokenEndpointError::Invalid(e)) if e.rule() == "malformed_token_response"),
        "{ok:?}"
    );
    let err = TokenResponse::parse(false, br#"["invalid_grant"]"#);
    assert!(
        matches!(&err, Err(TokenEndpointError::Invalid(e)) if e.rule() == "malformed_token_response"),
        "{err:?}"
    );
}
