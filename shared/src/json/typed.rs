//! Typed reading and writing of the wire types: each type says how it is read from and written to a [`Value`]
//! (hand-written next to the type), which costs the wasm a few match arms per type instead of a generic
//! deserialiser per type. The rules are serde's derived ones, so the BFF (which keeps serde) and the SPA agree:
//! unknown members ignored, a missing `Option` is `None`, a missing member with a default takes it, any other
//! missing member or a wrong JSON type is an error, and a struct is read from an object only.

use super::{parse, write_compact, Error, Number, Object, Value};

/// A type read from a JSON value.
pub trait FromJson: Sized {
    /// The value as `Self`, or why it is not one.
    fn from_json(value: &Value) -> Result<Self, Error>;
}

/// A type written as a JSON value.
pub trait ToJson {
    /// `self` as a JSON value.
    fn to_json(&self) -> Value;
}

/// Parses `bytes` and reads the value as `T`.
pub fn from_slice<T: FromJson>(bytes: &[u8]) -> Result<T, Error> {
    T::from_json(&parse(bytes)?)
}

/// `value` as compact JSON text.
pub fn to_string<T: ToJson + ?Sized>(value: &T) -> String {
    let mut out = String::new();
    write_compact(&value.to_json(), &mut out);
    out
}

/// The members of an object being read into a struct.
pub struct Fields<'a>(&'a Object);

impl<'a> Fields<'a> {
    /// The object's members; any other value is an error (a struct is never read from an array).
    pub fn of(value: &'a Value) -> Result<Fields<'a>, Error> {
        value
            .as_object()
            .map(Fields)
            .ok_or(Error("an object was expected"))
    }

    /// A member that must be present.
    pub fn required<T: FromJson>(&self, name: &str) -> Result<T, Error> {
        T::from_json(
            self.0
                .get(name)
                .ok_or(Error("a required member is missing"))?,
        )
    }

    /// An optional member: absent or `null` is `None`.
    pub fn optional<T: FromJson>(&self, name: &str) -> Result<Option<T>, Error> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::from_json(value).map(Some),
        }
    }

    /// A member with a default (`#[serde(default)]`): absent takes the default, present must be a `T`.
    pub fn or_default<T: FromJson + Default>(&self, name: &str) -> Result<T, Error> {
        self.or(name, T::default())
    }

    /// A member with a given default (`#[serde(default = "...")]`): absent takes it, present must be a `T`.
    pub fn or<T: FromJson>(&self, name: &str, default: T) -> Result<T, Error> {
        self.0.get(name).map_or(Ok(default), T::from_json)
    }
}

impl FromJson for Value {
    fn from_json(value: &Value) -> Result<Value, Error> {
        Ok(value.clone())
    }
}

impl FromJson for String {
    fn from_json(value: &Value) -> Result<String, Error> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or(Error("a string was expected"))
    }
}

impl FromJson for bool {
    fn from_json(value: &Value) -> Result<bool, Error> {
        match value {
            Value::Bool(b) => Ok(*b),
            _ => Err(Error("a boolean was expected")),
        }
    }
}

impl FromJson for i64 {
    fn from_json(value: &Value) -> Result<i64, Error> {
        value.as_i64().ok_or(Error("an integer was expected"))
    }
}

/// Any number, as serde reads an `f64` (integers included).
impl FromJson for f64 {
    fn from_json(value: &Value) -> Result<f64, Error> {
        match value {
            Value::Number(n) => n.as_f64().ok_or(Error("a number was expected")),
            _ => Err(Error("a number was expected")),
        }
    }
}

impl FromJson for Number {
    fn from_json(value: &Value) -> Result<Number, Error> {
        match value {
            Value::Number(n) => Ok(n.clone()),
            _ => Err(Error("a number was expected")),
        }
    }
}

impl FromJson for u64 {
    fn from_json(value: &Value) -> Result<u64, Error> {
        value
            .as_u64()
            .ok_or(Error("a non-negative integer was expected"))
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: &Value) -> Result<Option<T>, Error> {
        match value {
            Value::Null => Ok(None),
            other => T::from_json(other).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Value) -> Result<Vec<T>, Error> {
        value
            .as_array()
            .ok_or(Error("an array was expected"))?
            .iter()
            .map(T::from_json)
            .collect()
    }
}

/// A pair is a two-element array, as serde writes a tuple.
impl<A: FromJson, B: FromJson> FromJson for (A, B) {
    fn from_json(value: &Value) -> Result<(A, B), Error> {
        match value.as_array() {
            Some([a, b]) => Ok((A::from_json(a)?, B::from_json(b)?)),
            _ => Err(Error("a two-element array was expected")),
        }
    }
}

impl ToJson for Value {
    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl ToJson for str {
    fn to_json(&self) -> Value {
        Value::String(self.to_owned())
    }
}

impl ToJson for String {
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}

impl ToJson for bool {
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}

impl ToJson for i64 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl ToJson for u64 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_json)
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(T::to_json).collect())
    }
}

impl<A: ToJson, B: ToJson> ToJson for (A, B) {
    fn to_json(&self) -> Value {
        Value::Array(vec![self.0.to_json(), self.1.to_json()])
    }
}

/// A unit variant read from its wire name (as serde reads one written as a string): one of `all` whose
/// `name` is the value's text.
pub fn by_name<T: Copy>(value: &Value, all: &[T], name: fn(T) -> &'static str) -> Result<T, Error> {
    let text = value.as_str().ok_or(Error("a name was expected"))?;
    all.iter()
        .copied()
        .find(|v| name(*v) == text)
        .ok_or(Error("an unknown name"))
}
