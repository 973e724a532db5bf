//! The guest's stdout, stderr and `log` import, into the host's log.
//!
//! Every record is tagged with the app and the id of the request being
//! served, so a Python traceback shows up next to the access-log line it
//! belongs to; the app's secret `env` values are masked out of it. A
//! mount's [`LogLimit`] drops records below its `log_level`, and those
//! past its `log_rate` (counted, and said once the request ends), so one
//! app cannot flood the host's log.

use std::{
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Instant,
};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::{
    async_trait,
    cli::{IsTerminal, StdoutStream},
    p2::{OutputStream, Pollable, StreamResult},
};

use super::terrarium::app::log::Level;
use crate::masking::Masker;

/// A partial line longer than this is written out without waiting for '\n'.
const MAX_LINE: usize = 16 * 1024;

/// What of an app's log reaches the host's: its mount's `log_level` and
/// `log_rate`, shared by all its instances.
#[derive(Debug)]
pub struct LogLimit {
    /// The least severe level kept.
    level: tracing::Level,
    /// Records per second (and at most at once).
    rate: u32,
    /// (tokens left, when they were counted).
    bucket: Mutex<(f64, Instant)>,
    dropped: AtomicU64,
    unreported: AtomicU64,
}

impl LogLimit {
    /// Keeps records at `level` or more severe, at most `rate` a second.
    pub fn new(level: tracing::Level, rate: u32) -> Self {
        Self {
            level,
            rate,
            bucket: Mutex::new((f64::from(rate), Instant::now())),
            dropped: AtomicU64::new(0),
            unreported: AtomicU64::new(0),
        }
    }

    /// Records dropped for going past the rate, since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether a record at `level` is written: its level is kept, and the
    /// rate has room (else it is counted as dropped).
    fn admits(&self, level: tracing::Level) -> bool {
        if level > self.level {
            return false;
        }
        let mut bucket = self.bucket.lock().unwrap();
        let now = Instant::now();
        let rate = f64::from(self.rate);
        bucket.0 = (bucket.0 + now.duration_since(bucket.1).as_secs_f64() * rate).min(rate);
        bucket.1 = now;
        if bucket.0 >= 1.0 {
            bucket.0 -= 1.0;
            true
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.unreported.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// The app's name and the request it is serving, shared by its output streams.
#[derive(Clone)]
pub struct GuestLog {
    app: Arc<str>,
    request_id: Arc<Mutex<Arc<str>>>,
    masker: Arc<Masker>,
    limit: Arc<LogLimit>,
}

impl GuestLog {
    /// A log for one instance of `app`, whose secrets `masker` masks, within `limit`.
    pub fn new(app: Arc<str>, masker: Arc<Masker>, limit: Arc<LogLimit>) -> Self {
        Self {
            app,
            request_id: Arc::new(Mutex::new(Arc::from("-"))),
            masker,
            limit,
        }
    }

    /// Says how many records were dropped past the rate since it last said
    /// (called when a request ends).
    pub fn report_dropped(&self) {
        let dropped = self.limit.unreported.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let request = self.request_id();
            tracing::warn!(
                target: "guest",
                app = &*self.app,
                request = &*request,
                "dropped {dropped} log records of this app: over its log_rate of {} a second \
                 (counted in terrarium_log_dropped_total)",
                self.limit.rate
            );
        }
    }

    /// Tags the lines that follow with `request_id`.
    pub fn set_request(&self, request_id: Arc<str>) {
        *self.request_id.lock().unwrap() = request_id;
    }

    fn request_id(&self) -> Arc<str> {
        self.request_id.lock().unwrap().clone()
    }

    /// A stream for the guest's stdout (`stream` is "stdout") or stderr.
    pub fn output(&self, stream: &'static str) -> GuestOutput {
        GuestOutput {
            log: self.clone(),
            stream,
            partial: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn emit(&self, stream: &str, level: tracing::Level, line: &str) {
        if !self.limit.admits(level) {
            return;
        }
        let request = self.request_id();
        let app = &*self.app;
        let line = self.masker.mask(line);
        match level {
            tracing::Level::ERROR => {
                tracing::error!(target: "guest", app, request = &*request, stream, "{line}")
            }
            tracing::Level::WARN => {
                tracing::warn!(target: "guest", app, request = &*request, stream, "{line}")
            }
            tracing::Level::DEBUG | tracing::Level::TRACE => {
                tracing::debug!(target: "guest", app, request = &*request, stream, "{line}")
            }
            tracing::Level::INFO => {
                tracing::info!(target: "guest", app, request = &*request, stream, "{line}")
            }
        }
    }
}

impl GuestLog {
    /// One message of the guest's `log` import: one record, however many
    /// lines it holds (a traceback stays together).
    pub fn write(&self, level: Level, message: &str) {
        let level = match level {
            Level::Debug => tracing::Level::DEBUG,
            Level::Info => tracing::Level::INFO,
            Level::Warning => tracing::Level::WARN,
            Level::Error => tracing::Level::ERROR,
        };
        self.emit("log", level, message.trim_end());
    }
}

/// One of the guest's output streams, split into lines for the log.
#[derive(Clone)]
pub struct GuestOutput {
    log: GuestLog,
    stream: &'static str,
    partial: Arc<Mutex<Vec<u8>>>,
}

impl GuestOutput {
    fn append(&self, bytes: &[u8]) {
        let mut partial = self.partial.lock().unwrap();
        partial.extend_from_slice(bytes);
        while let Some(newline) = partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = partial.drain(..=newline).collect();
            self.emit_line(&line[..line.len() - 1]);
        }
        if partial.len() > MAX_LINE {
            let line = std::mem::take(&mut *partial);
            self.emit_line(&line);
        }
    }

    /// Writes out an unfinished last line (called when a request ends).
    pub fn flush_partial(&self) {
        let line = std::mem::take(&mut *self.partial.lock().unwrap());
        if !line.is_empty() {
            self.emit_line(&line);
        }
    }

    fn emit_line(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\r');
        let level = if self.stream == "stderr" {
            tracing::Level::WARN
        } else {
            tracing::Level::INFO
        };
        self.log.emit(self.stream, level, line);
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1 << 20)
    }
}

#[async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_below_the_level_or_past_the_rate_are_dropped() {
        let limit = LogLimit::new(tracing::Level::WARN, 10);
        assert!(!limit.admits(tracing::Level::INFO), "below the level");
        assert_eq!(limit.dropped(), 0, "a level's drops are not counted");
        let admitted = (0..25).filter(|_| limit.admits(tracing::Level::ERROR)).count();
        assert_eq!(admitted, 10, "a burst of the rate, then nothing");
        assert_eq!(limit.dropped(), 15);
        assert_eq!(limit.unreported.load(Ordering::Relaxed), 15);
        std::thread::sleep(std::time::Duration::from_millis(250));
        let refilled = (0..10).filter(|_| limit.admits(tracing::Level::WARN)).count();
        assert!(
            (2..=3).contains(&refilled),
            "{refilled} after a quarter second at 10/s"
        );
    }
}
