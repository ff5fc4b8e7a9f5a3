//! The writer: compact (what the SPA sends and stores) and pretty with two-space indents (for people). Its
//! string escaping is serde_json's byte for byte, so a document reads the same whichever tier wrote it.

use super::Value;

/// Appends `value` without any whitespace.
pub fn write_compact(value: &Value, out: &mut String) {
    write(value, out, None);
}

/// Appends `value` with a line per element or member and two spaces per level, as
/// `serde_json::to_string_pretty` lays it out.
pub fn write_pretty(value: &Value, out: &mut String) {
    write(value, out, Some(0));
}

fn write(value: &Value, out: &mut String, level: Option<usize>) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(n.as_str()),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separate(out, i, level);
                write(item, out, level.map(|l| l + 1));
            }
            close(out, items.is_empty(), level);
            out.push(']');
        }
        Value::Object(object) => {
            out.push('{');
            for (i, (name, item)) in object.0.iter().enumerate() {
                separate(out, i, level);
                write_str(name, out);
                out.push(':');
                if level.is_some() {
                    out.push(' ');
                }
                write(item, out, level.map(|l| l + 1));
            }
            close(out, object.0.is_empty(), level);
            out.push('}');
        }
    }
}

/// Before the `i`th element: a comma after the first, and in pretty mode a new line indented one level in.
fn separate(out: &mut String, i: usize, level: Option<usize>) {
    if i > 0 {
        out.push(',');
    }
    if let Some(level) = level {
        out.push('\n');
        indent(out, level + 1);
    }
}

/// Before the closing bracket of a non-empty container in pretty mode: a new line at the container's level.
fn close(out: &mut String, empty: bool, level: Option<usize>) {
    if let (Some(level), false) = (level, empty) {
        out.push('\n');
        indent(out, level);
    }
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// A JSON string: `"` and `\` escaped, control characters as their short escape when JSON has one and as
/// `\u00xx` (lower-case hex) otherwise, everything else (`/`, DEL, non-ASCII) as is. This is serde_json's table.
pub(super) fn write_str(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        start = i + 1;
        if short.is_empty() {
            out.push_str("\\u00");
            for nibble in [b >> 4, b & 0xf] {
                out.push(char::from(
                    HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                ));
            }
        } else {
            out.push_str(short);
        }
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}
