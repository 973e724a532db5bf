//! The space a writable folder may take, counted as the guest writes.
//!
//! Every write that makes a file longer, and every new entry, reserves its
//! bytes first; a reservation past the limit fails (the guest sees
//! `ENOSPC`). Deleting, truncating or renaming is not counted down as it
//! happens: the count is an upper bound, and before a reservation is
//! refused the folder is measured again if anything changed since it was
//! last measured. So a refusal is always based on what the folder really
//! holds, and the folder never holds more than the limit (plus what
//! instances writing at the very same moment add). A file deleted while
//! it is open still takes space (a `tempfile.TemporaryFile` is one): the
//! files opened inside the folder are remembered, and those that are open
//! but no longer in the folder count too.

use std::{
    collections::HashSet,
    fs, io,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, Weak},
};

/// What each file, folder or link costs besides its bytes: about a block,
/// so that a flood of empty files is bounded too.
pub const ENTRY_COST: u64 = 4096;

/// The space one writable folder may take, shared by every instance that
/// writes into it.
#[derive(Debug)]
pub struct DiskQuota {
    root: PathBuf,
    limit: u64,
    usage: Mutex<Usage>,
    /// Files opened inside the folder, while they are open.
    open_files: Mutex<Vec<Weak<cap_std::fs::File>>>,
}

#[derive(Debug)]
struct Usage {
    /// At least what the folder holds.
    counted: u64,
    /// Whether anything happened since the folder was last measured.
    changed: bool,
}

/// A reservation that would take the folder past its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaExceeded;

impl From<QuotaExceeded> for io::Error {
    fn from(_: QuotaExceeded) -> Self {
        rustix::io::Errno::NOSPC.into()
    }
}

impl DiskQuota {
    /// The quota of `root` (an existing folder), measured now.
    pub fn measure(root: &Path, limit: u64) -> io::Result<Self> {
        let counted = usage_of(root)?;
        Ok(Self {
            root: root.to_owned(),
            limit,
            usage: Mutex::new(Usage {
                counted,
                changed: false,
            }),
            open_files: Mutex::default(),
        })
    }

    /// Remembers a file opened inside the folder, so that it still counts
    /// if it is deleted while open.
    pub fn track_open(&self, file: &Arc<cap_std::fs::File>) {
        let mut open = self.open_files.lock().unwrap();
        if open.len() >= 64 && open.len().is_power_of_two() {
            open.retain(|file| file.strong_count() > 0);
        }
        open.push(Arc::downgrade(file));
    }

    /// What the folder holds: its files, and the open files that were
    /// deleted from it.
    fn measure_now(&self) -> io::Result<u64> {
        let in_folder = usage_of(&self.root)?;
        let mut open = self.open_files.lock().unwrap();
        open.retain(|file| file.strong_count() > 0);
        let deleted_but_open: u64 = open
            .iter()
            .filter_map(Weak::upgrade)
            .filter_map(|file| file.metadata().ok())
            .filter(|metadata| link_count(metadata) == 0)
            .map(|metadata| metadata.len() + ENTRY_COST)
            .sum();
        Ok(in_folder + deleted_but_open)
    }

    /// The folder, on the host.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The most the folder may hold, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// What the folder holds, as counted (an upper bound until it is
    /// measured again).
    pub fn counted(&self) -> u64 {
        self.usage.lock().unwrap().counted
    }

    /// Reserves `bytes` more, measuring the folder again before refusing.
    pub fn reserve(&self, bytes: u64) -> Result<(), QuotaExceeded> {
        if bytes == 0 {
            return Ok(());
        }
        let mut usage = self.usage.lock().unwrap();
        if usage.counted + bytes > self.limit && usage.changed {
            // Measuring fails only if the folder itself is gone: then
            // nothing can be written anyway, so keep the count.
            if let Ok(measured) = self.measure_now() {
                usage.counted = measured;
                usage.changed = false;
            }
        }
        if usage.counted + bytes > self.limit {
            return Err(QuotaExceeded);
        }
        usage.counted += bytes;
        usage.changed = true;
        Ok(())
    }

    /// Notes that something may have freed space (a delete, a truncation,
    /// a rename over a file, a failed write).
    pub fn note_change(&self) {
        self.usage.lock().unwrap().changed = true;
    }
}

/// Whether `metadata` is of a file not met before under another of its
/// hard links.
#[cfg(unix)]
fn first_link(linked: &mut HashSet<(u64, u64)>, metadata: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    metadata.nlink() < 2 || linked.insert((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn first_link(_: &mut HashSet<(u64, u64)>, _: &fs::Metadata) -> bool {
    true
}

#[cfg(unix)]
fn link_count(metadata: &cap_std::fs::Metadata) -> u64 {
    cap_std::fs::MetadataExt::nlink(metadata)
}

#[cfg(not(unix))]
fn link_count(_: &cap_std::fs::Metadata) -> u64 {
    1
}

/// What `root` holds: the length of every file below it plus
/// [`ENTRY_COST`] for every entry (links are not followed; a file with
/// several hard links is counted once, as its links were while made).
pub fn usage_of(root: &Path) -> io::Result<u64> {
    let mut total = 0;
    let mut linked = HashSet::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries = match fs::read_dir(&folder) {
            Ok(entries) => entries,
            // A folder removed while it is being measured holds nothing.
            Err(e) if e.kind() == io::ErrorKind::NotFound && folder != root => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let Ok(entry) = entry else { continue };
            let Ok(metadata) = entry.metadata() else { continue };
            total += ENTRY_COST;
            if metadata.is_dir() {
                folders.push(entry.path());
            } else if metadata.is_file() && first_link(&mut linked, &metadata) {
                total += metadata.len();
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_every_file_and_folder_below_the_root() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("a"), vec![0; 1000]).unwrap();
        fs::create_dir(root.path().join("sub")).unwrap();
        fs::write(root.path().join("sub/b"), vec![0; 10]).unwrap();
        assert_eq!(usage_of(root.path()).unwrap(), 1010 + 3 * ENTRY_COST);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_with_many_hard_links_counts_once() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("a"), vec![0; 100_000]).unwrap();
        for n in 0..200 {
            fs::hard_link(root.path().join("a"), root.path().join(format!("link{n}"))).unwrap();
        }
        assert_eq!(usage_of(root.path()).unwrap(), 100_000 + 201 * ENTRY_COST);
    }

    #[test]
    fn reservations_stop_at_the_limit_and_space_freed_is_found_again() {
        let root = tempfile::tempdir().unwrap();
        let quota = DiskQuota::measure(root.path(), 100_000).unwrap();
        fs::write(root.path().join("big"), vec![0; 90_000]).unwrap();
        quota.reserve(90_000 + ENTRY_COST).unwrap();
        assert_eq!(quota.reserve(10_000), Err(QuotaExceeded), "past the limit");
        fs::remove_file(root.path().join("big")).unwrap();
        assert_eq!(
            quota.reserve(10_000),
            Err(QuotaExceeded),
            "a delete the quota was not told about is not looked for again"
        );
        quota.note_change();
        quota.reserve(10_000).unwrap();
        assert_eq!(quota.counted(), 10_000, "measured again: the folder is empty");
    }

    #[test]
    fn an_open_file_deleted_from_the_folder_still_counts() {
        let root = tempfile::tempdir().unwrap();
        let quota = DiskQuota::measure(root.path(), 100_000).unwrap();
        let dir = cap_std::fs::Dir::open_ambient_dir(root.path(), cap_std::ambient_authority()).unwrap();
        let file = Arc::new(dir.create("spool").unwrap());
        quota.track_open(&file);
        dir.remove_file("spool").unwrap();
        cap_std::fs::FileExt::write_all_at(&*file, &[0; 90_000], 0).unwrap();
        quota.reserve(90_000 + ENTRY_COST).unwrap();
        quota.note_change();
        assert_eq!(
            quota.reserve(10_000),
            Err(QuotaExceeded),
            "measured again, the open file counts"
        );
        drop(file);
        quota.note_change(); // as closing a file inside the folder does
        quota.reserve(10_000).unwrap();
    }

    #[test]
    fn a_folder_that_already_holds_too_much_refuses_growth_at_once() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("old"), vec![0; 200_000]).unwrap();
        let quota = DiskQuota::measure(root.path(), 100_000).unwrap();
        assert_eq!(quota.reserve(1), Err(QuotaExceeded));
        quota.reserve(0).unwrap();
    }

    #[test]
    fn a_refusal_is_enospc_for_the_guest() {
        let error = io::Error::from(QuotaExceeded);
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    }
}
