//! A JSON object as its members in document order. A `Vec`, not a map: documents here have a handful of
//! members, and a scan is smaller in the wasm than any map.

use super::Value;
use std::collections::BTreeSet;

/// The members of an object, in the order written (duplicates kept; see [`Object::get`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Object(pub Vec<(String, Value)>);

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object(Vec::new())
    }

    /// The value of the member named `name`. With duplicate names the **last** one counts, as with
    /// `serde_json::Map`, so both tiers read a document the same way whichever parser they used before.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Whether a member of that name exists.
    pub fn contains_key(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Appends a member (the builder for documents this product writes; names are not checked for duplicates).
    pub fn push(&mut self, name: &str, value: impl Into<Value>) {
        self.0.push((name.to_owned(), value.into()));
    }

    /// Appends a member only when there is a value: `skip_serializing_if = "Option::is_none"`.
    pub fn push_some<V: Into<Value>>(&mut self, name: &str, value: Option<V>) {
        if let Some(v) = value {
            self.push(name, v);
        }
    }

    /// Each distinct member name once, with the value [`Object::get`] gives it (the last one), in the order of
    /// those last occurrences. A set of the names seen keeps this O(n log n) for a large hostile document.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Value)> {
        let mut seen = BTreeSet::new();
        let mut last: Vec<(&str, &Value)> = self
            .0
            .iter()
            .rev()
            .filter(|(k, _)| seen.insert(k.as_str()))
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        last.reverse();
        last.into_iter()
    }

    /// Whether the object has no member.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Object> for Value {
    fn from(o: Object) -> Value {
        Value::Object(o)
    }
}
