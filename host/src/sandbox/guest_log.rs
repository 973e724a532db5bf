//! The guest's stdout, stderr and `log` import, into the host's log.
//!
//! Every record is tagged with the app and the id of the request being
//! served, so a Python traceback shows up next to the access-log line it
//! belongs to; the app's secret `env` values are masked out of it.

use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
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

/// The app's name and the request it is serving, shared by its output streams.
#[derive(Clone)]
pub struct GuestLog {
    app: Arc<str>,
    request_id: Arc<Mutex<Arc<str>>>,
    masker: Arc<Masker>,
}

impl GuestLog {
    /// A log for one instance of `app`, whose secrets `masker` masks.
    pub fn new(app: Arc<str>, masker: Arc<Masker>) -> Self {
        Self {
            app,
            request_id: Arc::new(Mutex::new(Arc::from("-"))),
            masker,
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
