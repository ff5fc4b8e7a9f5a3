//! A JSON object as its members in document order. A `Vec`, not a map: documents here have a handful of
//! members, and a scan is smaller in the wasm than any map.

use super::Value;

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

    /// The distinct member names with the value each resolves to ([`Object::get`]'s), in first-seen order.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0
            .iter()
            .enumerate()
            .filter(|(i, (k, _))| !self.0.iter().take(*i).any(|(seen, _)| seen == k))
            .filter_map(|(_, (k, _))| Some((k.as_str(), self.get(k)?)))
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
