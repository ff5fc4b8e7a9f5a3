//! Typed JSON reading where a struct is read from a JSON object only. serde's derived deserialisers also accept
//! a struct written as an array of its fields (`visit_seq`), which neither tier ever writes; a deserialiser that
//! asks for a map wherever a struct is wanted leaves that second path of every derived type unreachable, so the
//! SPA's wasm does not carry it (3.5 KB gzip over the wire types). Enums, all unit-only here, are read from their
//! variant's name alone (1.1 KB gzip more). Everything else is read exactly as `serde_json::from_slice` reads it.

use serde::de::value::StrDeserializer;
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor,
};
use std::fmt;

/// `serde_json::from_slice`, except that a struct written as a JSON array is refused.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Objects(&mut de))?;
    de.end()?;
    Ok(value)
}

/// A deserialiser that reads structs as maps and hands itself down to every nested value.
struct Objects<D>(D);

/// Hands the wrapper down: the values a visitor reads (an option's content, a sequence's or a map's members)
/// are read through [`Objects`] too.
struct Nested<V>(V);

/// Methods whose visitors read no nested values: passed straight to the inner deserialiser, so they share its
/// code with every other read of the same type.
macro_rules! forward {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Objects<D> {
    type Error = D::Error;

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_unit,
        deserialize_identifier,
        deserialize_ignored_any
    );

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_option(Nested(visitor))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, Nested(visitor))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_seq(Nested(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Nested(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, Nested(visitor))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Nested(visitor))
    }

    /// The point of the wrapper: a struct is a map, never a sequence.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Nested(visitor))
    }

    /// The wire types' enums are unit-only, written as their variant's name: read as a string, so the parser's
    /// `{"Variant": value}` form is not in the wasm either.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_str(UnitVariant(visitor))
    }
}

/// A unit variant read from its name.
struct UnitVariant<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for UnitVariant<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<V::Value, E> {
        self.0.visit_enum(StrDeserializer::<E>::new(name))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nested<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Objects(deserializer))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Nested<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Nested(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Nested<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(seed)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(Nested(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// Passes every callback on; the ones that read nested values hand them [`Objects`].
impl<'de, V: Visitor<'de>> Visitor<'de> for Nested<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<V::Value, E> {
        self.0.visit_bool(v)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<V::Value, E> {
        self.0.visit_i64(v)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.0.visit_u64(v)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<V::Value, E> {
        self.0.visit_f64(v)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.0.visit_str(v)
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.0.visit_borrowed_str(v)
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<V::Value, E> {
        self.0.visit_string(v)
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        self.0.visit_bytes(v)
    }

    fn visit_borrowed_bytes<E: serde::de::Error>(self, v: &'de [u8]) -> Result<V::Value, E> {
        self.0.visit_borrowed_bytes(v)
    }

    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<V::Value, E> {
        self.0.visit_byte_buf(v)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Objects(deserializer))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Objects(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Nested(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Nested(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(data)
    }
}

#[cfg(test)]
mod tests {
    use super::from_slice;
    use crate::api::{
        ApiCatalog, ApiEntry, Claim, ClaimSource, EndSessionMethod, EndSessionRequest, ErrorBody,
        LoggedOut, SessionInfo, TokenClientReport, User, UserinfoReport, UserinfoStatus,
    };
    use crate::jose::alg::Alg;
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use serde_json::json;
    use std::fmt::Debug;

    /// What `serde_json` writes, `from_slice` reads back as `serde_json::from_slice` does.
    fn same_as_serde_json<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: T) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let ours: T = from_slice(&bytes).unwrap();
        let theirs: T = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours, value);
    }

    #[test]
    fn nested_structs_options_lists_tuples_enums_and_values_read_as_serde_json_reads_them() {
        same_as_serde_json(SessionInfo {
            user: User {
                sub: "alice".into(),
                name: Some("Alice \"A\" \u{e9}\n".into()),
                preferred_username: None,
                email: Some("a@example.com".into()),
                email_verified: Some(true),
            },
            expires_at: 1_700_000_000,
            claims: vec![
                Claim {
                    name: "groups".into(),
                    value: json!(["a", {"b": [1, 2.5, null, false]}, -3]),
                    source: ClaimSource::Userinfo,
                },
                Claim {
                    name: "sub".into(),
                    value: json!("alice"),
                    source: ClaimSource::IdToken,
                },
            ],
            userinfo: UserinfoReport {
                status: UserinfoStatus::Unavailable,
                reason: Some("timeout".into()),
                elapsed_ms: Some(12),
                signed: false,
            },
            token_client: TokenClientReport {
                auth_method: "private_key_jwt".into(),
                dpop_jkt: Some("jkt".into()),
                cnf_jkt: None,
            },
        });
        same_as_serde_json(LoggedOut {
            end_session: Some(EndSessionRequest {
                action: "https://op.example/logout".into(),
                method: EndSessionMethod::Get,
                fields: vec![
                    ("client_id".into(), "app".into()),
                    ("state".into(), "s".into()),
                ],
            }),
        });
        same_as_serde_json(LoggedOut { end_session: None });
        same_as_serde_json(ApiCatalog {
            apis: vec![ApiEntry {
                name: "demo".into(),
                methods: vec!["GET".into(), "POST".into()],
                path_prefix: "/".into(),
                token: true,
            }],
        });
    }

    #[test]
    fn defaults_unknown_members_and_integer_floats_as_serde_json() {
        let body = br#"{"user":{"sub":"s","extra":{"x":[1]}},"expires_at":5,"new":[{"a":1}]}"#;
        let ours: SessionInfo = from_slice(body).unwrap();
        assert_eq!(ours, serde_json::from_slice::<SessionInfo>(body).unwrap());
        assert_eq!(ours.userinfo.status, UserinfoStatus::Off);
        let float = br#"{"user":{"sub":"s"},"expires_at":5.0}"#;
        assert_eq!(
            from_slice::<SessionInfo>(float).is_ok(),
            serde_json::from_slice::<SessionInfo>(float).is_ok()
        );
    }

    #[test]
    fn a_struct_written_as_an_array_is_refused_at_any_depth() {
        let flat = br#"["code","words"]"#;
        assert!(serde_json::from_slice::<ErrorBody>(flat).is_ok());
        assert!(from_slice::<ErrorBody>(flat).is_err());
        let nested = br#"{"user":["s",null,null,null,null],"expires_at":1}"#;
        assert!(serde_json::from_slice::<SessionInfo>(nested).is_ok());
        assert!(from_slice::<SessionInfo>(nested).is_err());
        let in_list = br#"{"apis":[["demo",["GET"],"/",true]]}"#;
        assert!(serde_json::from_slice::<ApiCatalog>(in_list).is_ok());
        assert!(from_slice::<ApiCatalog>(in_list).is_err());
        let in_option = br#"{"end_session":["a","post",[]]}"#;
        assert!(serde_json::from_slice::<LoggedOut>(in_option).is_ok());
        assert!(from_slice::<LoggedOut>(in_option).is_err());
    }

    #[test]
    fn unit_enums_are_read_from_their_names_only() {
        let named = br#"{"status":"not_offered","reason":null}"#;
        let ours: UserinfoReport = from_slice(named).unwrap();
        assert_eq!(
            ours,
            serde_json::from_slice::<UserinfoReport>(named).unwrap()
        );
        assert_eq!(ours.status, UserinfoStatus::NotOffered);
        let algs: Vec<Alg> = from_slice(br#"["RS256","EdDSA"]"#).unwrap();
        assert_eq!(algs, [Alg::RS256, Alg::EdDSA]);
        for refused in [
            &br#"{"status":"NotOffered","reason":null}"#[..],
            br#"{"status":7,"reason":null}"#,
            br#"{"status":null,"reason":null}"#,
        ] {
            assert!(serde_json::from_slice::<UserinfoReport>(refused).is_err());
            assert!(from_slice::<UserinfoReport>(refused).is_err());
        }
        // serde_json also takes a unit variant written as `{"name": null}`; neither tier writes it.
        let as_map = br#"{"status":{"ok":null},"reason":null}"#;
        assert!(serde_json::from_slice::<UserinfoReport>(as_map).is_ok());
        assert!(from_slice::<UserinfoReport>(as_map).is_err());
    }

    #[test]
    fn trailing_input_and_bad_json_are_refused() {
        assert!(from_slice::<ErrorBody>(br#"{"error":"e","message":"m"} x"#).is_err());
        assert!(from_slice::<ErrorBody>(br#"{"error":"e","message":"m""#).is_err());
        assert!(from_slice::<ErrorBody>(br#"{"error":"e"}"#).is_err());
        assert!(from_slice::<ErrorBody>(b"").is_err());
        let ok = from_slice::<ErrorBody>(br#" {"error":"e","message":"m"} "#).unwrap();
        assert_eq!((ok.error.as_str(), ok.message.as_str()), ("e", "m"));
    }
}
