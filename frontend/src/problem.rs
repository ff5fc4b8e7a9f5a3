//! What the user is told when a step fails: plain words, a stable code for tests and support, and what kind of
//! failure it is (so the alert's hint is chosen by type, never by matching code strings).

use shared::{Stage, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Shown to the user as is.
    pub message: String,
    /// A stable machine code: the validation rule, the BFF's `error` field, or a local name.
    pub code: String,
    pub cause: Cause,
}

/// What a failure means for the person, decided where the problem is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A rule of `shared::verify` refused the OP's response in this browser, at this stage.
    Refused(Stage),
    /// The BFF holds no sign-in for this browser's response (its login cookie is invalid, expired or used).
    LoginGone,
    /// A server did not answer (offline, refused, timed out).
    NoAnswer,
    /// The session ended (expired, or signed out elsewhere): a 401 from the BFF.
    SessionEnded,
    /// Anything else: the message says it all.
    Other,
}

impl Problem {
    /// A problem whose message says it all (no hint).
    pub fn new(code: &str, message: impl Into<String>) -> Problem {
        Problem::of(Cause::Other, code, message)
    }

    /// A problem of a known kind, so the alert can add what it means.
    pub fn of(cause: Cause, code: &str, message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            code: code.to_owned(),
            cause,
        }
    }

    /// No answer from the server: the one wording every same-origin call uses.
    pub fn unreachable() -> Problem {
        Problem::of(
            Cause::NoAnswer,
            "unreachable",
            "The server could not be reached. Check your connection and try again.",
        )
    }
}

impl From<ValidationError> for Problem {
    fn from(e: ValidationError) -> Problem {
        Problem::of(Cause::Refused(e.stage()), e.rule(), e.message())
    }
}
