//! `log_format`: how the process writes its log lines.

use serde::Deserialize;

/// The log line format (`log_format`, env `BFF_LOG_FORMAT`): `text` (default, for people) or `json` (one
/// object per line, for collectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::LogFormat;
    use crate::config::fixture::{env, text, with, API};
    use crate::config::Config;

    #[test]
    fn log_format_defaults_to_text_and_is_set_by_file_or_env() {
        let c = with(API, &[]).unwrap();
        assert_eq!(c.log_format, LogFormat::Text);
        let c =
            Config::from_toml(&format!("log_format = \"json\"\n{}", text(API)), env(&[])).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        let c = with(API, &[("BFF_LOG_FORMAT", "json")]).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        let e = with(API, &[("BFF_LOG_FORMAT", "xml")]).unwrap_err();
        assert!(e.to_string().contains("log_format"), "{e}");
    }
}
