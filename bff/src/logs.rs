//! How the text log format writes fields: exactly as `tracing-subscriber`'s default, only cheaper for plain fields.
//!
//! Why: every request opens a span with three fields (method, path, request id), and the fmt layer formats them
//! when the span opens, whether or not the request logs anything. The default visitor writes each field as
//! `write!("{}{}{:?}", italic(name), dimmed("="), value)`: three formatting arguments, two of them styled
//! strings that format themselves again even when colours are off. That was 3,760 instructions per proxied call,
//! 8 % of the BFF's (BENCHMARKS.md §3, `scripts/bench-instructions`). Here a plain field without colours is the
//! name, `=` and the value's `Debug`, which is what the default writes in that case; everything else (the message,
//! errors, `r#` names, `log.` metadata, any field when colours are on) is written by the default visitor itself,
//! so the two cannot drift apart. The JSON format has its own field writer and is not affected.

use std::fmt;
use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// The text format's field writer (see the module doc); `fmt().fmt_fields(TextFields)`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TextFields;

impl<'a> MakeVisitor<Writer<'a>> for TextFields {
    type Visitor = TextVisitor<'a>;

    fn make_visitor(&self, writer: Writer<'a>) -> TextVisitor<'a> {
        TextVisitor {
            writer,
            is_empty: true,
            result: Ok(()),
        }
    }
}

/// Writes one span's or event's fields, separated by spaces, as [`DefaultVisitor`] does.
pub struct TextVisitor<'a> {
    writer: Writer<'a>,
    /// Whether nothing has been written yet, so the next field needs no separating space.
    is_empty: bool,
    result: fmt::Result,
}

impl TextVisitor<'_> {
    /// `record` done by the default visitor, on the same writer and with the same separator state.
    fn by_default(&mut self, field: &Field, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        if self.result.is_err() {
            return;
        }
        let mut default = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
        record(&mut default);
        self.result = default.finish();
        // The default skips `log.` metadata fields (tracing-log's) without writing a separator.
        if !field.name().starts_with("log.") {
            self.is_empty = false;
        }
    }
}

impl Visit for TextVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.by_default(field, |v| v.record_str(field, value));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.by_default(field, |v| v.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        let plain = !self.writer.has_ansi_escapes()
            && name != "message"
            && !name.starts_with("r#")
            && !name.starts_with("log.");
        if !plain {
            self.by_default(field, |v| v.record_debug(field, value));
            return;
        }
        if self.result.is_err() {
            return;
        }
        let separator = if self.is_empty { "" } else { " " };
        self.is_empty = false;
        self.result = (|| {
            self.writer.write_str(separator)?;
            self.writer.write_str(name)?;
            self.writer.write_char('=')?;
            write!(self.writer, "{value:?}")
        })();
    }
}

impl VisitOutput<fmt::Result> for TextVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for TextVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::format::DefaultFields;
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    /// Spans and events of every kind of field, as the BFF's code writes them.
    fn log_everything() {
        let span = tracing::info_span!(
            "request",
            method = %"GET",
            path = %"/api/demo/a b",
            request_id = %"8c1c",
            r#type = "x",
            count = 3u64,
        );
        let _entered = span.enter();
        tracing::info!("plain message");
        tracing::warn!(
            status = 502,
            latency_ms = 12u64,
            ok = false,
            name = "quoted \"str\"",
            "with {} args",
            2
        );
        tracing::error!(
            error = &Outer(std::io::Error::other("inner")) as &dyn std::error::Error,
            "failed"
        );
        tracing::info!(error = %Outer(std::io::Error::other("x")), debug = ?Some("d"), "displayed");
        tracing::info!(message = "message as a field", other = 1);
        tracing::info!(ansi = "\u{1b}[31mred", "escape \u{1b}[0m in message");
        tracing::info!(
            log.target = "from::log",
            log.line = 3,
            after = 1,
            "log metadata"
        );
        tracing::info!(r#type = "raw", "raw name");
        let empty = tracing::info_span!("empty");
        let _e = empty.enter();
        tracing::info!(only = 1);
    }

    fn written<N>(fields: N, ansi: bool) -> String
    where
        N: for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static,
    {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(lines.clone())
            .with_ansi(ansi)
            .without_time()
            .fmt_fields(fields)
            .finish();
        tracing::subscriber::with_default(subscriber, log_everything);
        let bytes = lines.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_text_is_the_defaults_with_and_without_colours() {
        for ansi in [false, true] {
            let default = written(DefaultFields::new(), ansi);
            assert_eq!(written(TextFields, ansi), default, "ansi {ansi}");
            assert_eq!(default.lines().count(), 9, "{default}");
        }
        let plain = written(TextFields, false);
        assert!(
            plain.contains(
                "request{method=GET path=/api/demo/a b request_id=8c1c type=\"x\" count=3}"
            ),
            "{plain}"
        );
    }
}
