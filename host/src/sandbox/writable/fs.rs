//! `wasi:filesystem` for an instance that may write: wasmtime-wasi's own
//! implementation, with every call that can take space inside a writable
//! folder first reserving it from that folder's quota, and every call that
//! makes or moves a link checking that it stays inside (see [`links`]).
//!
//! Which descriptors are inside a writable folder is known from where they
//! came from: a preopen is writable when its guest path is one of the
//! grants, and a descriptor opened from a writable one is writable. Every
//! other call passes straight through.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use wasmtime::component::Resource;
use wasmtime_wasi::{
    FilePerms,
    filesystem::{Descriptor, WasiFilesystemCtxView},
    p2::{
        DynInputStream, DynOutputStream, FsError, FsResult,
        bindings::filesystem::{
            preopens,
            types::{
                self, Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry,
                DirectoryEntryStream, ErrorCode, Filesize, MetadataHashValue, NewTimestamp, OpenFlags,
                PathFlags,
            },
        },
    },
};

use super::{
    links::{self, LinkEscape},
    lock_dirs::{self, HeldLocks},
    quota::{DiskQuota, ENTRY_COST, QuotaExceeded},
    stream::{QuotaFileStream, WriteAt},
};

/// What one instance may write, and what it has open inside it.
#[derive(Default)]
pub struct WritableFolders {
    /// The writable preopens.
    preopens: Vec<Folder>,
    /// Open descriptors inside a writable folder, by resource index.
    inside: HashMap<u32, Folder>,
    locks: HeldLocks,
    refusal: FsRefusal,
}

/// A writable folder: where the guest sees it, and its quota.
#[derive(Clone)]
struct Folder {
    guest: Arc<str>,
    quota: Arc<DiskQuota>,
}

/// Why the host last refused one of the instance's filesystem calls (a
/// quota full, a link leaving its folder), until the guest asks: the
/// guest's libc sees only an errno (EIO for any failed stream write), and
/// the SDK asks and raises an error that says why.
#[derive(Clone, Default)]
pub struct FsRefusal(Arc<Mutex<Option<String>>>);

impl FsRefusal {
    /// Notes that `folder`'s quota refused a write.
    pub fn quota_full(&self, folder: &str) {
        self.note(format!("the quota of {folder} is full"));
    }

    /// Notes why a call was refused.
    pub fn note(&self, reason: String) {
        *self.0.lock().unwrap() = Some(reason);
    }

    /// Forgets the last refusal (a later call was allowed).
    fn clear(&self) {
        self.0.lock().unwrap().take();
    }

    /// The refusal noted since the last call, if any.
    pub fn take(&self) -> Option<String> {
        self.0.lock().unwrap().take()
    }
}

impl WritableFolders {
    /// Makes the preopen at `guest` writable within `quota`.
    pub fn grant(&mut self, guest: &str, quota: Arc<DiskQuota>) {
        self.preopens.push(Folder {
            guest: Arc::from(guest),
            quota,
        });
    }

    /// Where the instance's refused calls are noted.
    pub fn refusal(&self) -> &FsRefusal {
        &self.refusal
    }
}

/// The filesystem as one instance sees it: WASI's, plus its quotas.
pub struct QuotaFs<'a> {
    /// wasmtime-wasi's filesystem state.
    pub fs: WasiFilesystemCtxView<'a>,
    /// What the instance may write.
    pub writable: &'a mut WritableFolders,
}

impl From<QuotaExceeded> for FsError {
    fn from(_: QuotaExceeded) -> Self {
        ErrorCode::InsufficientSpace.into()
    }
}

impl QuotaFs<'_> {
    fn folder_of(&self, fd: &Resource<Descriptor>) -> Option<Folder> {
        self.writable.inside.get(&fd.rep()).cloned()
    }

    fn quota_of(&self, fd: &Resource<Descriptor>) -> Option<Arc<DiskQuota>> {
        self.folder_of(fd).map(|folder| folder.quota)
    }

    /// Reserves `bytes` from `folder`'s quota; a refusal is noted for the
    /// guest to ask about, an allowed call clears the last one.
    fn reserve(&self, folder: &Folder, bytes: u64) -> FsResult<()> {
        match folder.quota.reserve(bytes) {
            Ok(()) => {
                self.writable.refusal.clear();
                Ok(())
            }
            Err(refused) => {
                self.writable.refusal.quota_full(&folder.guest);
                Err(refused.into())
            }
        }
    }

    /// Where an entry at `path` (from the folder `fd`, inside `folder`)
    /// lies: the real path of the folder holding it, when the platform
    /// tells it, and how many folders that is below `folder`'s top.
    fn place_of(
        &self,
        fd: &Resource<Descriptor>,
        path: &str,
        folder: &Folder,
    ) -> FsResult<(Option<PathBuf>, usize)> {
        let dir = self.dir(fd)?;
        let place = match Path::new(path)
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            Some(parent) => Arc::new(dir.open_dir(parent).map_err(ErrorCode::from)?),
            None => dir,
        };
        let real = links::real_path(&place);
        let depth = real
            .as_deref()
            .map_or(0, |real| links::depth_below(folder.quota.root(), real));
        Ok((real, depth))
    }

    /// Refuses (EPERM, the reason noted for the guest) a link that would
    /// leave `folder`.
    fn refuse_link(&self, folder: &Folder, escape: &LinkEscape) -> FsError {
        self.writable.refusal.note(escape.explain(&folder.guest));
        ErrorCode::NotPermitted.into()
    }

    /// Checks the links at or below `old_path` (from `fd`) as if they lay at
    /// `new_path` (from `new_fd`), both inside `folder`: a link or a folder
    /// moved higher must not take a link out of it.
    fn check_move(
        &self,
        fd: &Resource<Descriptor>,
        old_path: &str,
        new_fd: &Resource<Descriptor>,
        new_path: &str,
        folder: &Folder,
    ) -> FsResult<()> {
        let Ok(metadata) = self.dir(fd)?.symlink_metadata(old_path) else {
            return Ok(()); // the call itself will say what is missing
        };
        if !metadata.is_symlink() && !metadata.is_dir() {
            return Ok(());
        }
        let (old_place, old_depth) = self.place_of(fd, old_path, folder)?;
        let (_, new_depth) = self.place_of(new_fd, new_path, folder)?;
        if metadata.is_dir() && new_depth >= old_depth {
            return Ok(()); // every link in it climbs no further than before
        }
        let (Some(old_place), Some(name)) = (old_place, Path::new(old_path).file_name()) else {
            return Ok(());
        };
        match links::check_moved(&old_place.join(name), new_depth).map_err(ErrorCode::from)? {
            Ok(()) => Ok(()),
            Err(escape) => Err(self.refuse_link(folder, &escape)),
        }
    }

    fn file(&self, fd: &Resource<Descriptor>) -> FsResult<&wasmtime_wasi::filesystem::File> {
        match self.fs.table.get(fd)? {
            Descriptor::File(file) => Ok(file),
            Descriptor::Dir(_) => Err(ErrorCode::BadDescriptor.into()),
        }
    }

    fn dir(&self, fd: &Resource<Descriptor>) -> FsResult<Arc<cap_std::fs::Dir>> {
        match self.fs.table.get(fd)? {
            Descriptor::Dir(dir) => Ok(dir.dir.clone()),
            Descriptor::File(_) => Err(ErrorCode::NotDirectory.into()),
        }
    }

    /// The length of an open file.
    fn length(&self, fd: &Resource<Descriptor>) -> FsResult<u64> {
        let file = self.file(fd)?;
        Ok(file.file.metadata().map_err(ErrorCode::from)?.len())
    }

    /// Records where a new descriptor lives: inside `folder`, or in no
    /// writable folder.
    fn track(&mut self, fd: &Resource<Descriptor>, folder: Option<Folder>) {
        match folder {
            Some(folder) => self.writable.inside.insert(fd.rep(), folder),
            None => self.writable.inside.remove(&fd.rep()),
        };
    }

    /// An output stream into `fd`: counted against its folder's quota
    /// when it is inside a writable folder, WASI's own otherwise.
    fn output_stream(
        &mut self,
        fd: Resource<Descriptor>,
        at: WriteAt,
    ) -> FsResult<Resource<DynOutputStream>> {
        let Some(folder) = self.writable.inside.get(&fd.rep()).cloned() else {
            return match at {
                WriteAt::Offset(offset) => types::HostDescriptor::write_via_stream(&mut self.fs, fd, offset),
                WriteAt::End => types::HostDescriptor::append_via_stream(&mut self.fs, fd),
            };
        };
        let file = self.file(&fd)?;
        if !file.perms.contains(FilePerms::WRITE) {
            return Err(ErrorCode::BadDescriptor.into());
        }
        let stream = QuotaFileStream::new(file.file.clone(), at, folder.quota, {
            let refusal = self.writable.refusal.clone();
            move || refusal.quota_full(&folder.guest)
        });
        let stream: DynOutputStream = Box::new(stream);
        Ok(self.fs.table.push(stream)?)
    }

    /// Whether two descriptors are in the same writable folder (or both in
    /// none); moving or linking between folders would escape a quota.
    fn same_folder(&self, a: &Resource<Descriptor>, b: &Resource<Descriptor>) -> bool {
        match (self.quota_of(a), self.quota_of(b)) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(&a, &b),
            _ => false,
        }
    }
}

/// Runs `result`; when it failed after space was reserved for it, tells
/// the quota (the reservation may now count space nothing uses).
fn settle<T>(quota: Option<&DiskQuota>, result: FsResult<T>) -> FsResult<T> {
    if let (Some(quota), Err(_)) = (quota, &result) {
        quota.note_change();
    }
    result
}

impl preopens::Host for QuotaFs<'_> {
    fn get_directories(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        let preopens = preopens::Host::get_directories(&mut self.fs)?;
        for (fd, guest) in &preopens {
            let folder = self
                .writable
                .preopens
                .iter()
                .find(|folder| &*folder.guest == guest)
                .cloned();
            self.track(fd, folder);
        }
        Ok(preopens)
    }
}

impl types::Host for QuotaFs<'_> {
    fn convert_error_code(&mut self, err: FsError) -> wasmtime::Result<ErrorCode> {
        types::Host::convert_error_code(&mut self.fs, err)
    }

    fn filesystem_error_code(
        &mut self,
        err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        types::Host::filesystem_error_code(&mut self.fs, err)
    }
}

impl types::HostDirectoryEntryStream for QuotaFs<'_> {
    async fn read_directory_entry(
        &mut self,
        stream: Resource<DirectoryEntryStream>,
    ) -> FsResult<Option<DirectoryEntry>> {
        types::HostDirectoryEntryStream::read_directory_entry(&mut self.fs, stream).await
    }

    fn drop(&mut self, stream: Resource<DirectoryEntryStream>) -> wasmtime::Result<()> {
        types::HostDirectoryEntryStream::drop(&mut self.fs, stream)
    }
}

/// The calls that cannot take space: passed through as they are.
macro_rules! pass_through {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(
            async fn $name(&mut self, fd: Resource<Descriptor>, $($arg: $ty),*) -> $ret {
                types::HostDescriptor::$name(&mut self.fs, fd, $($arg),*).await
            }
        )*
    };
}

impl types::HostDescriptor for QuotaFs<'_> {
    pass_through! {
        advise(offset: Filesize, len: Filesize, advice: Advice) -> FsResult<()>;
        sync_data() -> FsResult<()>;
        get_flags() -> FsResult<DescriptorFlags>;
        get_type() -> FsResult<DescriptorType>;
        set_times(atim: NewTimestamp, mtim: NewTimestamp) -> FsResult<()>;
        read(len: Filesize, offset: Filesize) -> FsResult<(Vec<u8>, bool)>;
        read_directory() -> FsResult<Resource<DirectoryEntryStream>>;
        sync() -> FsResult<()>;
        stat() -> FsResult<DescriptorStat>;
        stat_at(path_flags: PathFlags, path: String) -> FsResult<DescriptorStat>;
        set_times_at(path_flags: PathFlags, path: String, atim: NewTimestamp, mtim: NewTimestamp) -> FsResult<()>;
        readlink_at(path: String) -> FsResult<String>;
        is_same_object(other: Resource<Descriptor>) -> wasmtime::Result<bool>;
        metadata_hash() -> FsResult<MetadataHashValue>;
        metadata_hash_at(path_flags: PathFlags, path: String) -> FsResult<MetadataHashValue>;
    }

    async fn set_size(&mut self, fd: Resource<Descriptor>, size: Filesize) -> FsResult<()> {
        let folder = self.folder_of(&fd);
        if let Some(folder) = &folder {
            let length = self.length(&fd)?;
            self.reserve(folder, size.saturating_sub(length))?;
            if size < length {
                folder.quota.note_change();
            }
        }
        settle(
            folder.as_ref().map(|folder| &*folder.quota),
            types::HostDescriptor::set_size(&mut self.fs, fd, size).await,
        )
    }

    async fn write(
        &mut self,
        fd: Resource<Descriptor>,
        buffer: Vec<u8>,
        offset: Filesize,
    ) -> FsResult<Filesize> {
        let folder = self.folder_of(&fd);
        if let Some(folder) = &folder {
            let end = offset.saturating_add(buffer.len() as u64);
            self.reserve(folder, end.saturating_sub(self.length(&fd)?))?;
        }
        settle(
            folder.as_ref().map(|folder| &*folder.quota),
            types::HostDescriptor::write(&mut self.fs, fd, buffer, offset).await,
        )
    }

    async fn create_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        let Some(folder) = self.folder_of(&fd) else {
            return types::HostDescriptor::create_directory_at(&mut self.fs, fd, path).await;
        };
        self.reserve(&folder, ENTRY_COST)?;
        let dir = self.dir(&fd)?;
        let made = settle(
            Some(&folder.quota),
            types::HostDescriptor::create_directory_at(&mut self.fs, fd, path.clone()).await,
        );
        if made.is_ok() && lock_dirs::is_lock(&path) {
            self.writable.locks.made(&dir, &path);
        }
        made
    }

    async fn remove_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        let Some(quota) = self.quota_of(&fd) else {
            return types::HostDescriptor::remove_directory_at(&mut self.fs, fd, path).await;
        };
        let dir = self.dir(&fd)?;
        types::HostDescriptor::remove_directory_at(&mut self.fs, fd, path.clone()).await?;
        quota.note_change();
        self.writable.locks.removed(&dir, &path);
        Ok(())
    }

    async fn unlink_file_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        let quota = self.quota_of(&fd);
        types::HostDescriptor::unlink_file_at(&mut self.fs, fd, path).await?;
        if let Some(quota) = quota {
            quota.note_change();
        }
        Ok(())
    }

    async fn rename_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        if !self.same_folder(&fd, &new_fd) {
            return Err(ErrorCode::CrossDevice.into());
        }
        let folder = self.folder_of(&fd);
        if let Some(folder) = &folder {
            self.check_move(&fd, &old_path, &new_fd, &new_path, folder)?;
        }
        types::HostDescriptor::rename_at(&mut self.fs, fd, old_path, new_fd, new_path).await?;
        if let Some(folder) = folder {
            folder.quota.note_change();
        }
        Ok(())
    }

    async fn link_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path_flags: PathFlags,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        if !self.same_folder(&fd, &new_fd) {
            return Err(ErrorCode::CrossDevice.into());
        }
        let folder = self.folder_of(&new_fd);
        if let Some(folder) = &folder {
            if !old_path_flags.contains(PathFlags::SYMLINK_FOLLOW) {
                // A hard link to a link is a link in a new place.
                self.check_move(&fd, &old_path, &new_fd, &new_path, folder)?;
            }
            self.reserve(folder, ENTRY_COST)?;
        }
        let linked =
            types::HostDescriptor::link_at(&mut self.fs, fd, old_path_flags, old_path, new_fd, new_path)
                .await;
        settle(folder.as_ref().map(|folder| &*folder.quota), linked)
    }

    async fn symlink_at(
        &mut self,
        fd: Resource<Descriptor>,
        src_path: String,
        dest_path: String,
    ) -> FsResult<()> {
        let folder = self.folder_of(&fd);
        if let Some(folder) = &folder {
            let (_, depth) = self.place_of(&fd, &dest_path, folder)?;
            if let Err(escape) = links::check_target(&src_path, depth) {
                return Err(self.refuse_link(folder, &escape));
            }
            self.reserve(folder, ENTRY_COST)?;
        }
        settle(
            folder.as_ref().map(|folder| &*folder.quota),
            types::HostDescriptor::symlink_at(&mut self.fs, fd, src_path, dest_path).await,
        )
    }

    async fn open_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
        oflags: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsResult<Resource<Descriptor>> {
        let folder = self.folder_of(&fd);
        if let Some(folder) = &folder {
            if oflags.contains(OpenFlags::CREATE) && self.dir(&fd)?.symlink_metadata(&path).is_err() {
                self.reserve(folder, ENTRY_COST)?;
            }
            if oflags.contains(OpenFlags::TRUNCATE) {
                folder.quota.note_change();
            }
        }
        let opened = settle(
            folder.as_ref().map(|folder| &*folder.quota),
            types::HostDescriptor::open_at(&mut self.fs, fd, path_flags, path, oflags, flags).await,
        )?;
        if let (Some(folder), Descriptor::File(file)) = (&folder, self.fs.table.get(&opened)?) {
            folder.quota.track_open(&file.file);
        }
        self.track(&opened, folder);
        Ok(opened)
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        // Closing a file deleted while open frees its space.
        if let Some(folder) = self.writable.inside.remove(&fd.rep()) {
            folder.quota.note_change();
        }
        types::HostDescriptor::drop(&mut self.fs, fd)
    }

    fn read_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: Filesize,
    ) -> FsResult<Resource<DynInputStream>> {
        types::HostDescriptor::read_via_stream(&mut self.fs, fd, offset)
    }

    fn write_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: Filesize,
    ) -> FsResult<Resource<DynOutputStream>> {
        self.output_stream(fd, WriteAt::Offset(offset))
    }

    fn append_via_stream(&mut self, fd: Resource<Descriptor>) -> FsResult<Resource<DynOutputStream>> {
        self.output_stream(fd, WriteAt::End)
    }
}
