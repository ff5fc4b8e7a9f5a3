//! What the user is told when a step fails: plain words, plus a stable code for tests and support.

use shared::ValidationError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Shown to the user as is.
    pub message: String,
    /// A stable machine code: the validation rule, the BFF's `error` field, or a local name.
    pub code: String,
}

impl Problem {
    pub fn new(code: &str, message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            code: code.to_owned(),
        }
    }

    pub fn unreachable() -> Problem {
        Problem::new(
            "unreachable",
            "The server could not be reached. Check your connection and try again.",
        )
    }
}

impl From<ValidationError> for Problem {
    fn from(e: ValidationError) -> Problem {
        Problem {
            message: e.to_string(),
            code: e.rule().to_owned(),
        }
    }
}
