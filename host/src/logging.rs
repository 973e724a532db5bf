//! The server's log: every record the server, its apps and its access log
//! write, as text for people or as JSON lines for machines
//! (`[server] log_format`).
//!
//! A JSON line always starts with the same four fields, then the record's
//! own (`app`, `request`, `stream` for an app's records; `method`, `path`,
//! `status`, `duration_ms`, … for the access log's):
//!
//! ```text
//! {"ts":"2026-12-06T12:00:03.394Z","level":"error","target":"guest","msg":"unhandled exception in GET /boom: RuntimeError: no","app":"api","request":"767-06f651","stream":"log","traceback":"Traceback (most recent call last):\n  File \"app.py\", line 18, in boom\n…"}
//! ```
//!
//! A record whose message carries a Python traceback has the traceback in
//! `traceback` and the lines before it in `msg`.

use std::{fmt, sync::OnceLock, time::SystemTime};

use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    registry::LookupSpan,
};

use crate::config::LogFormat;

/// What the server's log is filtered by when `TERRARIUM_LOG` does not say.
const DEFAULT_FILTER: &str = "info,cranelift_codegen=warn,wasmtime=warn";

/// The line that starts a Python traceback.
const TRACEBACK_START: &str = "Traceback (most recent call last):";

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Sends the process's records to stderr in `format`, filtered by the
/// `TERRARIUM_LOG` variable (`tracing`'s env-filter syntax) or by default
/// at info. The first call wins.
pub fn init(format: LogFormat) {
    if FORMAT.set(format).is_err() {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("TERRARIUM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => {
            use std::io::IsTerminal;
            builder.with_ansi(std::io::stderr().is_terminal()).try_init()
        }
        LogFormat::Json => builder.event_format(JsonRecords).try_init(),
    };
}

/// The format [`init`] set (text before it was called).
pub fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// One JSON object being written as a line: fields in the order given.
pub struct JsonLine(String);

impl JsonLine {
    /// A line that starts with the four fields every record has.
    pub fn start(ts: &str, level: &str, target: &str, msg: &str) -> Self {
        let mut line = Self(String::with_capacity(256));
        line.0.push('{');
        line.text("ts", ts);
        line.text("level", level);
        line.text("target", target);
        line.text("msg", msg);
        line
    }

    /// Adds `name` with a string value.
    pub fn text(&mut self, name: &str, value: &str) {
        self.raw(name, &json_string(value));
    }

    /// Adds `name` with `value` written as it is (a number, `null`, `true`).
    pub fn raw(&mut self, name: &str, value: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push_str(&json_string(name));
        self.0.push(':');
        self.0.push_str(value);
    }

    /// The line, closed, with its LF.
    pub fn finish(mut self) -> String {
        self.0.push_str("}\n");
        self.0
    }
}

/// `text` as a JSON string, quoted and escaped.
fn json_string(text: &str) -> String {
    // Writing a `str` to a String cannot fail.
    serde_json::to_string(text).unwrap_or_default()
}

/// Splits a message that carries a Python traceback into the lines before
/// it and the traceback.
fn split_traceback(message: &str) -> (&str, Option<&str>) {
    match message.find(&format!("\n{TRACEBACK_START}")) {
        Some(at) => (&message[..at], Some(&message[at + 1..])),
        None => (message, None),
    }
}

/// `tracing`'s records as JSON lines.
struct JsonRecords;

impl<S, N> FormatEvent<S, N> for JsonRecords
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        let (msg, traceback) = split_traceback(&fields.message);
        let mut line = JsonLine::start(
            &crate::access_log::timestamp(SystemTime::now()),
            &metadata.level().as_str().to_ascii_lowercase(),
            metadata.target(),
            msg,
        );
        for (name, value) in &fields.others {
            line.raw(name, &value.to_string());
        }
        if let Some(traceback) = traceback {
            line.text("traceback", traceback);
        }
        writer.write_str(&line.finish())
    }
}

/// A record's message and its other fields, as JSON values.
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(&'static str, serde_json::Value)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.message);
        } else {
            self.others.push((field.name(), value.into()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.others.push((field.name(), text.into()));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.others.push((field.name(), value.to_string().into()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.others.push((field.name(), value.into()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.others.push((field.name(), value.into()));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.others.push((field.name(), value.into()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.others.push((field.name(), value.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceback_is_split_from_the_lines_before_it() {
        let cases = [
            ("plain", ("plain", None)),
            ("two\nlines", ("two\nlines", None)),
            (
                "unhandled exception in GET /: E: x\nTraceback (most recent call last):\n  File \"app.py\"",
                (
                    "unhandled exception in GET /: E: x",
                    Some("Traceback (most recent call last):\n  File \"app.py\""),
                ),
            ),
            // A line of stderr on its own is a message like any other.
            (
                "Traceback (most recent call last):",
                ("Traceback (most recent call last):", None),
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(split_traceback(message), expected, "{message:?}");
        }
    }

    #[test]
    fn a_json_line_escapes_what_it_must_and_keeps_its_order() {
        let mut line = JsonLine::start("2026-12-06T12:00:00.000Z", "info", "guest", "say \"hi\"\n");
        line.raw("status", "200");
        line.text("path", "/a\\b");
        let text = line.finish();
        assert_eq!(
            text,
            "{\"ts\":\"2026-12-06T12:00:00.000Z\",\"level\":\"info\",\"target\":\"guest\",\
             \"msg\":\"say \\\"hi\\\"\\n\",\"status\":200,\"path\":\"/a\\\\b\"}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["msg"], "say \"hi\"\n");
    }

    #[test]
    fn timestamps_have_milliseconds_and_a_zone() {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_384_323_394);
        assert_eq!(crate::access_log::timestamp(time), "2026-11-22T21:52:03.394Z");
    }
}
