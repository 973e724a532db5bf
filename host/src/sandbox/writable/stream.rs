//! A file's output stream inside a writable folder: every write that makes
//! the file longer reserves its growth from the folder's quota first.
//!
//! Writes run at once on the calling thread, as the instance's other file
//! I/O does (the sandbox allows blocking on its own thread); an error is
//! the write's own result, so the guest's libc sees `ENOSPC` from the very
//! write that did not fit.

use std::{io, sync::Arc};

use bytes::Bytes;
use cap_std::fs::FileExt;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

use super::quota::DiskQuota;

/// Most bytes the guest may hand over in one write.
const WRITE_PERMIT: usize = 1 << 20;

/// Where the next write goes.
#[derive(Debug, Clone, Copy)]
pub enum WriteAt {
    /// At this offset, which then moves past what was written.
    Offset(u64),
    /// At the end of the file, whatever its length then.
    End,
}

/// An output stream into one file, counted against a quota.
pub struct QuotaFileStream {
    file: Arc<cap_std::fs::File>,
    at: WriteAt,
    quota: Arc<DiskQuota>,
    on_refusal: Box<dyn Fn() + Send + Sync>,
}

impl QuotaFileStream {
    /// A stream writing into `file` at `at`, reserving growth from
    /// `quota`; `on_refusal` runs when the quota refuses a write.
    pub fn new(
        file: Arc<cap_std::fs::File>,
        at: WriteAt,
        quota: Arc<DiskQuota>,
        on_refusal: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        Self {
            file,
            at,
            quota,
            on_refusal: Box::new(on_refusal),
        }
    }

    fn write_counted(&mut self, bytes: &[u8]) -> io::Result<()> {
        let length = self.file.metadata()?.len();
        let end = match self.at {
            WriteAt::Offset(offset) => offset,
            WriteAt::End => length,
        } + bytes.len() as u64;
        if let Err(refused) = self.quota.reserve(end.saturating_sub(length)) {
            (self.on_refusal)();
            return Err(refused.into());
        }
        let written = match self.at {
            WriteAt::Offset(offset) => self.file.write_all_at(bytes, offset),
            WriteAt::End => append(&self.file, bytes),
        };
        if written.is_err() {
            self.quota.note_change();
        }
        written?;
        if let WriteAt::Offset(offset) = &mut self.at {
            *offset += bytes.len() as u64;
        }
        Ok(())
    }
}

/// Appends all of `bytes` at the end of `file`, as one write where the
/// kernel can (so other writers appending at the same time do not overwrite it).
fn append(file: &cap_std::fs::File, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        #[cfg(target_os = "linux")]
        let written = rustix::io::pwritev2(
            file,
            &[io::IoSlice::new(bytes)],
            0,
            rustix::io::ReadWriteFlags::APPEND,
        )?;
        #[cfg(not(target_os = "linux"))]
        let written = file.write_at(bytes, file.metadata()?.len())?;
        bytes = &bytes[written..];
    }
    Ok(())
}

#[async_trait::async_trait]
impl Pollable for QuotaFileStream {
    async fn ready(&mut self) {}
}

impl OutputStream for QuotaFileStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_counted(&bytes)
            .map_err(|error| StreamError::LastOperationFailed(error.into()))
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}
