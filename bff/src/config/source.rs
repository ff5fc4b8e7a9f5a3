//! Where a configuration comes from: a TOML file, then `BFF_*` environment overrides, read into [`Config`]
//! and validated.
//!
//! Overrides use `__` between levels, e.g. `BFF_OIDC__CLIENT_SECRET` sets `oidc.client_secret`, so secrets
//! need never be in the file. Values are read as TOML when they parse (numbers, arrays), else as strings.

use super::error::{bad, ConfigError};
use super::Config;
use std::path::Path;

impl Config {
    /// Reads the file, applies `BFF_*` overrides from `env`, and validates.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad("(file)", format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text, env)
    }

    /// Parses TOML text plus overrides; separate from [`Config::load`] so tests need no files.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| syntax_error(text, &e))?;
        for (key, value) in env {
            let Some(path) = key.strip_prefix("BFF_") else {
                continue;
            };
            if path == "CONFIG" {
                continue;
            }
            let parts: Vec<String> = path.split("__").map(|p| p.to_ascii_lowercase()).collect();
            set_path(&mut table, &parts, parse_env_value(&value));
        }
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let field = match e.path().to_string() {
                    // The document itself (a missing top-level field, an empty key), which the path writes as
                    // `.` or nothing: found by fuzzing, it read "configuration error in ``".
                    root if root.is_empty() || root == "." => "(file)".to_owned(),
                    path => path,
                };
                bad(&field, e.into_inner().message().to_owned())
            })?;
        config.validate()?;
        Ok(config)
    }
}

/// A TOML syntax error as the parser's words and where. Not its `Display`, which quotes the offending line (it
/// may hold a secret); and some errors have no words at all (`key =` with no value), so the position is always
/// given: without it the operator read "configuration error in `(file)`: " and nothing else.
fn syntax_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let what = e.message().lines().collect::<Vec<_>>().join("; ");
    let what = if what.trim().is_empty() {
        "invalid TOML".to_owned()
    } else {
        what
    };
    let at = e.span().map_or(0, |s| s.start).min(text.len());
    let before = &text.as_bytes()[..at];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    bad("(file)", format!("line {line}, column {column}: {what}"))
}

fn parse_env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::fixture::{env, with, API};
    use crate::config::Config;
    use shared::ResponseType;

    #[test]
    fn env_overrides_the_file() {
        let c = with(
            API,
            &[
                ("BFF_OIDC__CLIENT_SECRET", "s3cret"),
                ("BFF_OIDC__LEEWAY_SECS", "5"),
                ("OTHER", "x"),
            ],
        )
        .unwrap();
        assert_eq!(c.oidc.client_secret.expose(), "s3cret");
        assert_eq!(c.oidc.leeway_secs, 5);
        assert_eq!(c.oidc.response_type, ResponseType::CodeIdToken);
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    /// Found by fuzzing (fuzz-glue/regressions/config): `key =` with no value made a parse error with
    /// no message at all.
    #[test]
    fn syntax_errors_say_what_and_where_without_quoting_the_file() {
        let e = Config::from_toml("listen = \"127.0.0.1:3000\"\npublic_origin =", env(&[]))
            .unwrap_err();
        assert_eq!(e.field, "(file)");
        assert_eq!(
            e.message,
            "line 2, column 16: string values must be quoted, expected literal string"
        );
        let e = Config::from_toml("[oidc\nclient_secret = \"s3cr3t\"", env(&[])).unwrap_err();
        assert_eq!(e.message, "line 1, column 6: unclosed table, expected `]`");
        let e = Config::from_toml("[oidc]\nclient_secret = \"s3cr3t", env(&[])).unwrap_err();
        assert!(e.message.starts_with("line 2, column 24: "), "{e}");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    /// Found by fuzzing: problems at the top level of the file named the field `` or `.`.
    #[test]
    fn top_level_problems_name_the_file() {
        for (text, message) in [
            ("'' = 1", "unknown field ``"),
            ("log_format = \"json\"", "missing field `public_origin`"),
        ] {
            let e = Config::from_toml(text, env(&[])).unwrap_err();
            assert_eq!(e.field, "(file)", "{text}: {e}");
            assert!(e.message.starts_with(message), "{text}: {e}");
        }
    }
}
