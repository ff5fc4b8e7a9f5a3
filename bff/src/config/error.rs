//! The one error every configuration rule answers with, so an operator reads the same shape whatever is wrong.

/// A configuration problem, naming the field so an operator can fix it at once. `field` is a dotted path
/// (`apis.demo.url`), or `(file)` for the document itself; the fuzz target's regression files are named by it.
#[derive(Debug, thiserror::Error)]
#[error("configuration error in `{field}`: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

/// A [`ConfigError`] for `field`, the short form every rule uses.
pub(super) fn bad(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.to_owned(),
        message: message.into(),
    }
}
