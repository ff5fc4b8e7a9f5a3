//! The strict RFC 8259 parser. It works on bytes with `get` (never indexing), so no input can make it panic,
//! and it refuses what serde_json refuses, for the same reasons (see the module tests and `tests` in
//! `json::mod`'s differential suite).

use super::{Number, Object, Value};

/// Deepest nesting of arrays and objects accepted: serde_json's recursion limit, so that a document one tier
/// accepts the other does too (and no document can exhaust the wasm's stack).
pub const MAX_DEPTH: usize = 127;

/// Why a text is not accepted (or, from a typed reader, why a value is not the expected shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error(pub &'static str);

impl Error {
    /// What was wrong, in plain words.
    pub fn reason(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Error {}

/// Parses one JSON text: a single value with optional surrounding whitespace, nothing else.
pub fn parse(bytes: &[u8]) -> Result<Value, Error> {
    let mut p = Parser { bytes, pos: 0 };
    p.skip_whitespace();
    let value = p.value(0)?;
    p.skip_whitespace();
    if p.pos != bytes.len() {
        return Err(Error("trailing characters after the value"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    /// RFC 8259 2: space, tab, line feed and carriage return only.
    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn skip_digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn value(&mut self, depth: usize) -> Result<Value, Error> {
        match self.peek() {
            None => Err(Error("the text ends where a value was expected")),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'"') => {
                self.pos += 1;
                self.string().map(Value::String)
            }
            Some(b'[') => self.array(depth + 1),
            Some(b'{') => self.object(depth + 1),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(Error("a value was expected")),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, Error> {
        if self.bytes.get(self.pos..self.pos + word.len()) != Some(word) {
            return Err(Error("an unknown literal"));
        }
        self.pos += word.len();
        Ok(value)
    }

    fn array(&mut self, depth: usize) -> Result<Value, Error> {
        if depth > MAX_DEPTH {
            return Err(Error("nested too deeply"));
        }
        self.pos += 1;
        self.skip_whitespace();
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.bump() {
                Some(b',') => self.skip_whitespace(),
                Some(b']') => return Ok(Value::Array(items)),
                _ => return Err(Error("`,` or `]` expected in an array")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, Error> {
        if depth > MAX_DEPTH {
            return Err(Error("nested too deeply"));
        }
        self.pos += 1;
        self.skip_whitespace();
        let mut members = Vec::new();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(Object(members)));
        }
        loop {
            if self.bump() != Some(b'"') {
                return Err(Error("a member name must be a string"));
            }
            let name = self.string()?;
            self.skip_whitespace();
            if self.bump() != Some(b':') {
                return Err(Error("`:` expected after a member name"));
            }
            self.skip_whitespace();
            members.push((name, self.value(depth)?));
            self.skip_whitespace();
            match self.bump() {
                Some(b',') => self.skip_whitespace(),
                Some(b'}') => return Ok(Value::Object(Object(members))),
                _ => return Err(Error("`,` or `}` expected in an object")),
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, and within `f64`'s range as serde_json reads it
    /// (it refuses a number that would be infinite).
    fn number(&mut self) -> Result<Value, Error> {
        let invalid = Error("an invalid number");
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.bump() {
            Some(b'0') => {}
            Some(b'1'..=b'9') => {
                self.skip_digits();
            }
            _ => return Err(invalid),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.skip_digits() == 0 {
                return Err(invalid);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.skip_digits() == 0 {
                return Err(invalid);
            }
        }
        let text = self
            .bytes
            .get(start..self.pos)
            .and_then(|t| std::str::from_utf8(t).ok())
            .ok_or(invalid)?;
        if super::float::serde_json_f64(text).is_none() {
            return Err(Error("a number out of range"));
        }
        Ok(Value::Number(Number::from_checked(text.to_owned())))
    }

    /// The rest of a string after its opening quote.
    fn string(&mut self) -> Result<String, Error> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            out.extend_from_slice(self.bytes.get(start..self.pos).unwrap_or_default());
            match self.bump() {
                None => return Err(Error("the text ends inside a string")),
                Some(b'"') => break,
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => return Err(Error("a control character inside a string")),
            }
        }
        String::from_utf8(out).map_err(|_| Error("a string that is not UTF-8"))
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        let byte = match self.bump() {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                let c = self.unicode_escape()?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(());
            }
            _ => return Err(Error("an invalid escape")),
        };
        out.push(byte);
        Ok(())
    }

    /// `\uXXXX` after its `\u`, joining a surrogate pair; a lone surrogate is refused, as serde_json does when
    /// it reads into a `String`.
    fn unicode_escape(&mut self) -> Result<char, Error> {
        let lone = Error("a lone surrogate in a \\u escape");
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.bump() != Some(b'\\') || self.bump() != Some(b'u') {
                    return Err(lone);
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(lone);
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(lone),
            _ => first,
        };
        char::from_u32(code).ok_or(lone)
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .bump()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or(Error("an invalid \\u escape"))?;
            code = code * 16 + digit;
        }
        Ok(code)
    }
}
