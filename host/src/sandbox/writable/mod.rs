//! What an instance may write: its app's data folder (shared by the app's
//! instances, kept) and its own scratch folder (`/tmp`), each within a quota.
//!
//! - [`quota`]: the space a folder may take, counted as the guest writes.
//! - [`stream`]: a file's output stream that reserves its growth first.
//! - [`fs`]: `wasi:filesystem` with the quota checks, in place of WASI's.
//! - [`links`]: symbolic links kept inside their folder.
//! - [`lock_dirs`]: SQLite's lock folders, removed with an instance that
//!   ended holding one, and stale ones cleared before a folder is used.
//! - [`scratch`]: the private scratch folders, one per instance.
//!
//! An instance with nothing writable links WASI's filesystem unchanged.

pub mod fs;
pub mod links;
pub mod lock_dirs;
pub mod quota;
pub mod scratch;
pub mod stream;

use wasmtime::component::{HasData, Linker};

pub use fs::{QuotaFs, WritableFolders};
pub use quota::DiskQuota;
pub use scratch::{ScratchDir, ScratchSpace};

/// Marks [`QuotaFs`] as the filesystem's host state in the linker.
struct QuotaFsData;

impl HasData for QuotaFsData {
    type Data<'a> = QuotaFs<'a>;
}

/// Replaces WASI's filesystem interfaces in `linker` (which must hold
/// them already) with the quota-checked ones, reached through `view`.
pub fn shadow_filesystem<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> QuotaFs<'_>,
) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::filesystem::{preopens, types};
    linker.allow_shadowing(true);
    types::add_to_linker::<T, QuotaFsData>(linker, view)?;
    preopens::add_to_linker::<T, QuotaFsData>(linker, view)?;
    linker.allow_shadowing(false);
    Ok(())
}
