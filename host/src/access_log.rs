//! The access log: one line per public request, written in batches.
//!
//! ```text
//! 2026-11-22T21:52:03.394Z access mount=root method=GET path=/ status=200 bytes=44 duration_ms=2.04 request=767-06f651 remote=127.0.0.1:50412 host=blog.example.com
//! ```
//!
//! With `server.log_format = "json"` a line is a JSON object instead (see
//! [`crate::logging`]), its `app` the mount's name:
//!
//! ```text
//! {"ts":"2026-11-22T21:52:03.394Z","level":"info","target":"access","msg":"GET / 200","app":"root","method":"GET","path":"/","status":200,"bytes":44,"duration_ms":2.04,"request":"767-06f651","remote":"127.0.0.1:50412","host":"blog.example.com"}
//! ```
//!
//! `server.access_log` says where the lines go: `"stderr"` (the default),
//! a file (appended to), or `"off"`. A worker thread collects its lines in a
//! buffer and writes them in one go when the buffer is full or the thread
//! is about to wait for work, so a busy server makes one write per batch
//! instead of one per request, and an idle one shows every line at once.
//! A batch never exceeds `PIPE_BUF` (4 KiB), so batches from different
//! workers never interleave inside a pipe. Any other thread writes its line
//! straight away.
//!
//! For log rotation, [`AccessLog::reopen`] (what `terrarium serve` does on
//! `SIGHUP`) opens the file by its name again: rename the file, send the
//! signal, and new lines go to a new file under the old name.

use std::{
    cell::RefCell,
    fmt::Write as _,
    fs::OpenOptions,
    io::{self, Write},
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{
    config::{AccessLogTarget, LogFormat},
    hosts::RequestHost,
    logging::JsonLine,
};

/// The most bytes a worker holds before writing them out: `PIPE_BUF` on
/// Linux, the size up to which a write to a pipe is never split.
pub const BATCH_BYTES: usize = 4096;

/// One finished request, as the access log records it.
#[derive(Debug, Clone, Copy)]
pub struct AccessEntry<'a> {
    /// The mount's name, or "-" when no mount answered (bad path, 404).
    pub mount: &'a str,
    /// The request method.
    pub method: &'a str,
    /// The request path as received (percent-encoded).
    pub path: &'a str,
    /// The response status.
    pub status: u16,
    /// The bytes of the response body sent (a streamed one's in all).
    pub bytes: u64,
    /// From the request's arrival to its response being sent whole (a
    /// streamed one's last part), or to the header for a known length.
    pub duration: Duration,
    /// The host's id for the request (also in the guest's log lines).
    pub request_id: &'a str,
    /// The client's address.
    pub remote: SocketAddr,
    /// The host the request named (canonical), by which its mount was
    /// chosen; "-" when it named none.
    pub host: Option<&'a RequestHost<'a>>,
    /// The protocol the request came in.
    pub version: http::Version,
    /// The TLS version of its connection ("TLSv1.3"), None for plain TCP.
    pub tls: Option<&'a str>,
}

/// Where a site's access log goes; cheap to clone (the sink is shared).
#[derive(Clone, Default)]
pub struct AccessLog {
    sink: Option<Arc<Sink>>,
}

struct Sink {
    format: LogFormat,
    out: Mutex<Box<dyn Write + Send>>,
    /// The file the log writes to, opened again by `reopen`; None for
    /// stderr or a writer given by the caller.
    file: Option<PathBuf>,
    /// Set after the first failed write, so the failure is reported once.
    failed: AtomicBool,
}

impl Sink {
    /// Opens `path` for appending; the error names the file.
    fn open_file(path: &Path) -> io::Result<Box<dyn Write + Send>> {
        match OpenOptions::new().create(true).append(true).open(path) {
            Ok(file) => Ok(Box::new(file)),
            Err(error) => Err(io::Error::new(
                error.kind(),
                format!("cannot open {}: {error}", path.display()),
            )),
        }
    }

    fn write(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut out = self.out.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(error) = out.write_all(bytes).and_then(|()| out.flush())
            && !self.failed.swap(true, Ordering::Relaxed)
        {
            tracing::error!("cannot write the access log ({error}); its lines are being dropped");
        }
    }
}

/// A worker thread's lines not yet written, and the sink they belong to.
struct Batch {
    sink: Arc<Sink>,
    lines: String,
}

impl Drop for Batch {
    /// A thread that ends without flushing still loses no lines.
    fn drop(&mut self) {
        self.sink.write(self.lines.as_bytes());
    }
}

thread_local! {
    static BATCH: RefCell<Option<Batch>> = const { RefCell::new(None) };
    static CLOCK: RefCell<SecondStamp> = const { RefCell::new(SecondStamp::new()) };
}

impl AccessLog {
    /// Opens the log `target` names (a file is created if missing and
    /// appended to), its lines in `format`.
    pub fn open(target: &AccessLogTarget, format: LogFormat) -> io::Result<Self> {
        match target {
            AccessLogTarget::Off => Ok(Self::off()),
            AccessLogTarget::Stderr => Ok(Self::with_sink(Box::new(io::stderr()), None, format)),
            AccessLogTarget::File(path) => Ok(Self::with_sink(
                Sink::open_file(path)?,
                Some(path.clone()),
                format,
            )),
        }
    }

    /// Opens the log's file again by its name (after it was renamed or
    /// removed, for rotation); lines a worker has batched but not yet
    /// written go to the new file. Nothing to do for stderr or an off log.
    /// On failure the log keeps writing where it did.
    pub fn reopen(&self) -> io::Result<()> {
        let Some(sink) = &self.sink else { return Ok(()) };
        let Some(path) = &sink.file else { return Ok(()) };
        let fresh = Sink::open_file(path)?;
        let mut out = sink.out.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *out = fresh;
        sink.failed.store(false, Ordering::Relaxed);
        Ok(())
    }

    /// A log that records nothing.
    pub fn off() -> Self {
        Self { sink: None }
    }

    /// A log that writes text lines to `out` (for tests and embedding).
    pub fn to_writer(out: Box<dyn Write + Send>) -> Self {
        Self::with_sink(out, None, LogFormat::Text)
    }

    fn with_sink(out: Box<dyn Write + Send>, file: Option<PathBuf>, format: LogFormat) -> Self {
        Self {
            sink: Some(Arc::new(Sink {
                format,
                out: Mutex::new(out),
                file,
                failed: AtomicBool::new(false),
            })),
        }
    }

    /// From now on, lines this thread records are batched (see the module
    /// docs); the thread must call [`flush_this_thread`] before it waits
    /// for work and before it ends.
    pub fn batch_on_this_thread(&self) {
        if let Some(sink) = &self.sink {
            flush_this_thread();
            BATCH.with_borrow_mut(|batch| {
                *batch = Some(Batch {
                    sink: sink.clone(),
                    lines: String::with_capacity(BATCH_BYTES),
                });
            });
        }
    }

    /// Records one request.
    pub fn record(&self, entry: &AccessEntry<'_>) {
        let Some(sink) = &self.sink else { return };
        let now = SystemTime::now();
        let batched = BATCH.with_borrow_mut(|batch| match batch {
            Some(batch) if Arc::ptr_eq(&batch.sink, sink) => {
                let start = batch.lines.len();
                write_entry(&mut batch.lines, sink.format, now, entry);
                if batch.lines.len() > BATCH_BYTES && start > 0 {
                    // The new line overfills the batch: write what came before it.
                    batch.sink.write(&batch.lines.as_bytes()[..start]);
                    batch.lines.drain(..start);
                }
                true
            }
            _ => false,
        });
        if !batched {
            let mut line = String::new();
            write_entry(&mut line, sink.format, now, entry);
            sink.write(line.as_bytes());
        }
    }
}

/// Writes out the lines this thread has batched (nothing when it has none).
pub fn flush_this_thread() {
    BATCH.with_borrow_mut(|batch| {
        if let Some(batch) = batch
            && !batch.lines.is_empty()
        {
            batch.sink.write(batch.lines.as_bytes());
            batch.lines.clear();
        }
    });
}

/// Appends the line (with its LF) for `entry`, finished at `now`, in `format`.
fn write_entry(lines: &mut String, format: LogFormat, now: SystemTime, entry: &AccessEntry<'_>) {
    match format {
        LogFormat::Text => CLOCK.with_borrow_mut(|clock| write_line(lines, clock, now, entry)),
        LogFormat::Json => {
            lines.push_str(&json_line(&timestamp(now), entry));
        }
    }
}

/// The JSON line (with its LF) for `entry`, finished at `ts`.
fn json_line(ts: &str, entry: &AccessEntry<'_>) -> String {
    let msg = format!("{} {} {}", entry.method, entry.path, entry.status);
    let mut line = JsonLine::start(ts, "info", "access", &msg);
    line.text("app", entry.mount);
    line.text("method", entry.method);
    line.text("path", entry.path);
    line.raw("status", &entry.status.to_string());
    line.raw("bytes", &entry.bytes.to_string());
    let micros = entry.duration.as_micros();
    line.raw("duration_ms", &format!("{}.{:03}", micros / 1000, micros % 1000));
    line.text("request", entry.request_id);
    line.text("remote", &entry.remote.to_string());
    match entry.host {
        Some(host) => line.text("host", &host.to_string()),
        None => line.raw("host", "null"),
    }
    line.text("protocol", &format!("{:?}", entry.version));
    match entry.tls {
        Some(tls) => line.text("tls", tls),
        None => line.raw("tls", "null"),
    }
    line.finish()
}

/// Appends the access-log line (with its LF) for `entry`, finished at `now`.
fn write_line(line: &mut String, clock: &mut SecondStamp, now: SystemTime, entry: &AccessEntry<'_>) {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    line.push_str(clock.second(since_epoch.as_secs()));
    let micros = entry.duration.as_micros();
    // `write!` into a String cannot fail.
    let _ = write!(line, ".{:03}Z access mount=", since_epoch.subsec_millis());
    push_escaped(line, entry.mount);
    line.push_str(" method=");
    push_escaped(line, entry.method);
    line.push_str(" path=");
    push_escaped(line, entry.path);
    let _ = write!(
        line,
        " status={} bytes={} duration_ms={}.{:02} request={} remote={}",
        entry.status,
        entry.bytes,
        micros / 1000,
        (micros % 1000) / 10,
        entry.request_id,
        entry.remote,
    );
    // A canonical host has no byte that needs escaping.
    match entry.host {
        Some(host) => {
            let _ = write!(line, " host={host}");
        }
        None => line.push_str(" host=-"),
    }
    let _ = writeln!(
        line,
        " protocol={:?} tls={}",
        entry.version,
        entry.tls.unwrap_or("-")
    );
}

/// Appends `text` with every byte that could break the line's shape
/// (space, quote, backslash, control and non-ASCII) written as `\xHH`.
fn push_escaped(line: &mut String, text: &str) {
    if text.is_empty() {
        line.push('-');
        return;
    }
    for byte in text.bytes() {
        if byte.is_ascii_graphic() && byte != b'"' && byte != b'\\' {
            line.push(byte as char);
        } else {
            let _ = write!(line, "\\x{byte:02x}");
        }
    }
}

/// "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) for `time`; its date and time of day
/// are made once a second on each thread.
pub(crate) fn timestamp(time: SystemTime) -> String {
    CLOCK.with_borrow_mut(|clock| clock.timestamp(time))
}

/// "YYYY-MM-DDTHH:MM:SS" (UTC) for the current second, made once per second.
struct SecondStamp {
    second: u64,
    text: String,
}

impl SecondStamp {
    const fn new() -> Self {
        Self {
            second: u64::MAX,
            text: String::new(),
        }
    }

    /// "YYYY-MM-DDTHH:MM:SS.mmmZ" for `now`.
    fn timestamp(&mut self, now: SystemTime) -> String {
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        format!(
            "{}.{:03}Z",
            self.second(since_epoch.as_secs()),
            since_epoch.subsec_millis()
        )
    }

    fn second(&mut self, unix_seconds: u64) -> &str {
        if unix_seconds != self.second {
            self.second = unix_seconds;
            self.text = utc_timestamp(unix_seconds);
        }
        &self.text
    }
}

/// "YYYY-MM-DDTHH:MM:SS" for seconds since the Unix epoch, in UTC.
fn utc_timestamp(unix_seconds: u64) -> String {
    let (days, in_day) = (unix_seconds / 86_400, unix_seconds % 86_400);
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// The proleptic Gregorian (year, month, day) of a day count since
/// 1970-01-01, counted in 400-year eras of 146,097 days that start on
/// 1 March (so the leap day falls at the end of a year).
pub(crate) fn civil_date(days_since_epoch: u64) -> (u64, u64, u64) {
    let days = days_since_epoch + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_line(clock: &mut SecondStamp, now: SystemTime, entry: &AccessEntry<'_>) -> String {
        let mut line = String::new();
        write_line(&mut line, clock, now, entry);
        line
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let cases = [
            (0, "1970-01-01T00:00:00"),
            (951_782_400, "2000-02-29T00:00:00"), // a leap day in a 400-year leap year
            (951_868_799, "2000-02-29T23:59:59"),
            (4_107_542_400, "2100-03-01T00:00:00"), // 2100 is not a leap year
            (1_795_384_323, "2026-11-22T21:52:03"),
            (1_735_689_599, "2024-12-31T23:59:59"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(utc_timestamp(seconds), expected, "{seconds}");
        }
    }

    #[test]
    fn every_day_of_four_centuries_follows_the_one_before() {
        let leap =
            |year: u64| year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let month_length = |year: u64, month: u64| match month {
            2 if leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut previous = civil_date(0);
        assert_eq!(previous, (1970, 1, 1));
        for days in 1..146_097 {
            let (year, month, day) = previous;
            let expected = if day < month_length(year, month) {
                (year, month, day + 1)
            } else if month < 12 {
                (year, month + 1, 1)
            } else {
                (year + 1, 1, 1)
            };
            assert_eq!(civil_date(days), expected, "the day after {previous:?}");
            previous = expected;
        }
        assert_eq!(previous, (2369, 12, 31));
    }

    fn entry(path: &str) -> AccessEntry<'_> {
        AccessEntry {
            mount: "api",
            method: "GET",
            path,
            status: 404,
            bytes: 1234,
            duration: Duration::from_micros(12_345),
            request_id: "1a-2b",
            remote: "127.0.0.1:5000".parse().unwrap(),
            host: None,
            version: http::Version::HTTP_11,
            tls: None,
        }
    }

    #[test]
    fn a_line_has_every_field_in_order() {
        let now = UNIX_EPOCH + Duration::from_millis(1_795_384_323_394);
        let line = format_line(&mut SecondStamp::new(), now, &entry("/api/items?x=1"));
        assert_eq!(
            line,
            "2026-11-22T21:52:03.394Z access mount=api method=GET path=/api/items?x=1 status=404 \
             bytes=1234 duration_ms=12.34 request=1a-2b remote=127.0.0.1:5000 host=- \
             protocol=HTTP/1.1 tls=-\n"
        );
        let host = RequestHost::parse("Blog.Example.com:8080").unwrap().unwrap();
        let named = AccessEntry {
            host: Some(&host),
            version: http::Version::HTTP_2,
            tls: Some("TLSv1.3"),
            ..entry("/")
        };
        let line = format_line(&mut SecondStamp::new(), now, &named);
        assert!(
            line.ends_with(
                " remote=127.0.0.1:5000 host=blog.example.com:8080 protocol=HTTP/2.0 tls=TLSv1.3\n"
            ),
            "{line}"
        );
    }

    #[test]
    fn a_json_line_has_every_field_typed() {
        let now = UNIX_EPOCH + Duration::from_millis(1_795_384_323_394);
        let host = RequestHost::parse("Blog.Example.com").unwrap().unwrap();
        for (host, expected_host) in [
            (None, serde_json::Value::Null),
            (Some(&host), "blog.example.com".into()),
        ] {
            let line = json_line(
                &SecondStamp::new().timestamp(now),
                &AccessEntry {
                    host,
                    ..entry("/a \"b\"")
                },
            );
            assert!(line.ends_with("}\n") && line.matches('\n').count() == 1, "{line}");
            let record: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(
                record,
                serde_json::json!({
                    "ts": "2026-11-22T21:52:03.394Z", "level": "info", "target": "access",
                    "msg": "GET /a \"b\" 404", "app": "api", "method": "GET", "path": "/a \"b\"",
                    "status": 404, "bytes": 1234, "duration_ms": 12.345, "request": "1a-2b",
                    "remote": "127.0.0.1:5000", "host": expected_host,
                    "protocol": "HTTP/1.1", "tls": null,
                })
            );
        }
    }

    #[test]
    fn bytes_that_would_break_a_line_are_escaped() {
        let cases = [
            ("/a b", "/a\\x20b"),
            ("/\"quoted\"", "/\\x22quoted\\x22"),
            ("/back\\slash", "/back\\x5cslash"),
            ("/new\nline", "/new\\x0aline"),
            ("/caf\u{e9}", "/caf\\xc3\\xa9"),
            ("", "-"),
        ];
        for (path, expected) in cases {
            let mut line = String::new();
            push_escaped(&mut line, path);
            assert_eq!(line, expected, "{path:?}");
        }
    }

    /// Collects what the log writes, one `Vec` per write call.
    #[derive(Clone, Default)]
    struct Writes(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(bytes.to_vec());
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_thread_without_a_batch_writes_each_line_at_once() {
        let writes = Writes::default();
        let log = AccessLog::to_writer(Box::new(writes.clone()));
        std::thread::spawn(move || {
            log.record(&entry("/one"));
            log.record(&entry("/two"));
        })
        .join()
        .unwrap();
        let writes = writes.0.lock().unwrap();
        assert_eq!(writes.len(), 2);
        assert!(String::from_utf8_lossy(&writes[1]).contains(" path=/two "));
    }

    #[test]
    fn a_batching_thread_writes_whole_lines_in_batches_of_at_most_pipe_buf() {
        let writes = Writes::default();
        let log = AccessLog::to_writer(Box::new(writes.clone()));
        let total = 100;
        std::thread::spawn(move || {
            log.batch_on_this_thread();
            for number in 0..total {
                log.record(&entry(&format!("/item/{number}")));
            }
            flush_this_thread();
            flush_this_thread(); // nothing left: no empty write
        })
        .join()
        .unwrap();
        let writes = writes.0.lock().unwrap();
        assert!(
            writes.len() > 1 && writes.len() < total,
            "{} writes",
            writes.len()
        );
        let mut paths = Vec::new();
        for batch in writes.iter() {
            assert!(batch.len() <= BATCH_BYTES && batch.ends_with(b"\n"));
            for line in String::from_utf8_lossy(batch).lines() {
                paths.push(
                    line.split(" path=")
                        .nth(1)
                        .unwrap()
                        .split(' ')
                        .next()
                        .unwrap()
                        .to_owned(),
                );
            }
        }
        let expected: Vec<_> = (0..total).map(|number| format!("/item/{number}")).collect();
        assert_eq!(paths, expected);
    }

    #[test]
    fn lines_wait_in_the_batch_until_the_thread_flushes() {
        let writes = Writes::default();
        let log = AccessLog::to_writer(Box::new(writes.clone()));
        let seen = writes.clone();
        std::thread::spawn(move || {
            log.batch_on_this_thread();
            log.record(&entry("/waiting"));
            assert!(seen.0.lock().unwrap().is_empty());
            flush_this_thread();
            assert_eq!(seen.0.lock().unwrap().len(), 1);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_file_log_appends_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        std::fs::write(&path, "earlier line\n").unwrap();
        let log = AccessLog::open(&AccessLogTarget::File(path.clone()), LogFormat::Text).unwrap();
        log.record(&entry("/appended"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("earlier line\n"));
        assert!(text.lines().nth(1).unwrap().contains(" path=/appended "));
    }

    #[test]
    fn reopening_starts_a_new_file_under_the_same_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let rotated = dir.path().join("access.log.1");
        let log = AccessLog::open(&AccessLogTarget::File(path.clone()), LogFormat::Text).unwrap();
        log.record(&entry("/before"));
        std::fs::rename(&path, &rotated).unwrap();
        log.record(&entry("/renamed")); // still the old file, now under its new name
        log.reopen().unwrap();
        log.record(&entry("/after"));
        let old = std::fs::read_to_string(&rotated).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert!(
            old.contains(" path=/before ") && old.contains(" path=/renamed "),
            "{old}"
        );
        assert!(!old.contains("/after") && new.contains(" path=/after "), "{new}");
        assert_eq!(new.lines().count(), 1);
    }

    #[test]
    fn a_failed_reopen_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("logs");
        std::fs::create_dir(&folder).unwrap();
        let path = folder.join("access.log");
        let log = AccessLog::open(&AccessLogTarget::File(path.clone()), LogFormat::Text).unwrap();
        let moved = dir.path().join("moved");
        std::fs::rename(&folder, &moved).unwrap();
        assert!(log.reopen().is_err());
        log.record(&entry("/still-written"));
        let text = std::fs::read_to_string(moved.join("access.log")).unwrap();
        assert!(text.contains(" path=/still-written "), "{text}");
        AccessLog::off().reopen().unwrap();
        AccessLog::open(&AccessLogTarget::Stderr, LogFormat::Text)
            .unwrap()
            .reopen()
            .unwrap();
    }

    #[test]
    fn a_file_in_a_missing_folder_cannot_be_opened() {
        let dir = tempfile::tempdir().unwrap();
        let target = AccessLogTarget::File(dir.path().join("no/such/folder/access.log"));
        assert!(AccessLog::open(&target, LogFormat::Text).is_err());
    }
}
