//! A JSON number kept as its exact source text, read as the Rust type a reader asks for with the answers
//! `serde_json::Value` gives for the same text, so moving a reader off serde_json changes no decision.

/// A number's text as it appeared in the document (already checked against the RFC 8259 grammar and to be
/// within `f64`'s range), or as [`Number::from_i64`] / [`Number::from_u64`] wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// Wraps text the parser has checked; not public, so every `Number` is valid JSON.
    pub(super) fn from_checked(text: String) -> Number {
        Number(text)
    }

    /// A signed integer, written in decimal.
    pub fn from_i64(n: i64) -> Number {
        let mut text = String::new();
        if n < 0 {
            text.push('-');
        }
        push_digits(&mut text, n.unsigned_abs());
        Number(text)
    }

    /// An unsigned integer, written in decimal.
    pub fn from_u64(n: u64) -> Number {
        let mut text = String::new();
        push_digits(&mut text, n);
        Number(text)
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// No fraction and no exponent: serde_json reads such a number as an integer when it fits.
    fn is_integer(&self) -> bool {
        !self.0.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
    }

    /// As `serde_json::Number::as_i64`: an integer within `i64` (`-0` is a float there, so not one).
    pub fn as_i64(&self) -> Option<i64> {
        if !self.is_integer() || self.0 == "-0" {
            return None;
        }
        self.0.parse().ok()
    }

    /// As `serde_json::Number::as_u64`: a non-negative integer within `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        if !self.is_integer() {
            return None;
        }
        self.0.parse().ok()
    }

    /// As `serde_json::Number::as_f64`, bit for bit (see [`super::float`]): every number has one, since the
    /// parser refused those out of range.
    pub fn as_f64(&self) -> Option<f64> {
        super::float::serde_json_f64(&self.0)
    }
}

/// `n` in decimal, as `n.to_string()` writes it, but without `core::fmt`: with it the SPA writes its texts'
/// numbers and carries no formatting machinery in its wasm.
pub fn decimal(n: i64) -> String {
    Number::from_i64(n).0
}

/// Appends `n` in decimal without `core::fmt`.
fn push_digits(text: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(d) = digits.get_mut(start) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    for d in digits.iter().skip(start) {
        text.push(char::from(*d));
    }
}

#[cfg(test)]
mod tests {
    use super::{decimal, Number};

    #[test]
    fn integers_are_written_in_decimal() {
        for n in [0, 1, -1, 10, 1_700_000_000, i64::MIN, i64::MAX] {
            assert_eq!(Number::from_i64(n).as_str(), n.to_string());
            assert_eq!(decimal(n), n.to_string());
            assert_eq!(Number::from_i64(n).as_i64(), Some(n));
        }
        assert_eq!(Number::from_u64(u64::MAX).as_str(), u64::MAX.to_string());
        assert_eq!(Number::from_u64(u64::MAX).as_i64(), None);
    }

    #[test]
    fn typed_reads_follow_serde_json() {
        let reads = |t: &str| {
            let n = Number::from_checked(t.to_owned());
            (n.as_i64(), n.as_u64(), n.as_f64())
        };
        assert_eq!(reads("5"), (Some(5), Some(5), Some(5.0)));
        assert_eq!(reads("-5"), (Some(-5), None, Some(-5.0)));
        assert_eq!(reads("-0"), (None, None, Some(-0.0)));
        assert_eq!(reads("5.0"), (None, None, Some(5.0)));
        assert_eq!(reads("1e2"), (None, None, Some(100.0)));
        assert_eq!(reads("18446744073709551616").0, None);
        assert_eq!(reads("18446744073709551615").1, Some(u64::MAX));
        for text in [
            "5",
            "-5",
            "-0",
            "5.0",
            "1e2",
            "1.5",
            "18446744073709551616",
            "-9223372036854775809",
        ] {
            let theirs: serde_json::Number = serde_json::from_str(text).unwrap();
            assert_eq!(
                reads(text),
                (theirs.as_i64(), theirs.as_u64(), theirs.as_f64()),
                "{text}"
            );
        }
    }
}
