//! Lists of names read straight into the types the BFF uses, so a bad name is refused while the file is read
//! (the error names the list, as `oidc.allowed_algs`) and no later code parses them again.

use serde::de::{Deserializer, Error};
use serde::Deserialize;

/// Reads a list of strings and turns each into a `T` with `parse`; the first that does not parse fails the
/// whole list with `refusal(name)`.
pub(super) fn each<'de, D, T>(
    deserializer: D,
    parse: impl Fn(&str) -> Option<T>,
    refusal: impl Fn(&str) -> String,
) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
{
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|name| parse(name).ok_or_else(|| D::Error::custom(refusal(name))))
        .collect()
}
