//! A small strict JSON (RFC 8259) reader and writer, owned here instead of taken from serde_json.
//!
//! Why we own it: the SPA reads and writes only small documents (a JWS header and payload, a key set, the BFF's
//! answers, the pending sign-in), yet serde_json and serde's derived deserialisers were about a fifth of its
//! wasm. A value tree with a hand-written reader per wire type is a fraction of that, and both tiers run the
//! same parser, so what the SPA accepts is what the BFF accepts.
//!
//! It accepts exactly what `serde_json::from_slice::<serde_json::Value>` accepts (the differential tests and
//! the `json` fuzz target hold it to that): the same grammar, the same nesting limit, lone surrogates refused,
//! numbers whose value is out of `f64`'s range refused, and a duplicate member name read as its last value.
//! Its string escaping is byte for byte serde_json's, so what either tier writes is the same text.

mod float;
mod number;
mod object;
mod parse;
mod serde_impl;
mod typed;
mod value;
mod write;

#[cfg(test)]
mod tests;

pub use number::{decimal, Number};
pub use object::Object;
pub use parse::{parse, Error};
pub use typed::{by_name, from_slice, to_string, Fields, FromJson, ToJson};
pub use value::Value;
pub use write::{write_compact, write_pretty};
