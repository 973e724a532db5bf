//! SQLite's lock folders, made safe to lose an instance over.
//!
//! The guest's SQLite locks a database `x.db` by creating the folder
//! `x.db.lock` and unlocks it by removing it (the `unix-dotfile` VFS the
//! SDK selects: creating a folder is atomic, so instances and processes
//! sharing the data folder exclude each other). An instance interrupted
//! in a transaction (its deadline, its memory cap) would leave the folder
//! behind and lock the database for good, so each instance remembers the
//! lock folders it made and has not removed, and they are removed with it.
//! A server that stops without cleaning up (killed) leaves them on disk:
//! [`remove_stale`] clears them before a data folder is used again.

use std::{fs, io, path::Path, sync::Arc};

/// What a lock folder's name ends with.
const LOCK_SUFFIX: &str = ".lock";

/// The lock folders one instance holds.
#[derive(Default)]
pub struct HeldLocks {
    held: Vec<HeldLock>,
}

struct HeldLock {
    /// The folder the path is relative to.
    dir: Arc<cap_std::fs::Dir>,
    path: String,
    /// The lock folder's identity, so that one made since by another
    /// instance (after this one removed its own) is never taken away.
    inode: (u64, u64),
}

/// Whether a folder created at `path` is a lock folder.
pub fn is_lock(path: &str) -> bool {
    path.ends_with(LOCK_SUFFIX) && path.len() > LOCK_SUFFIX.len()
}

impl HeldLocks {
    /// Notes that the instance made the lock folder `path` in `dir`.
    pub fn made(&mut self, dir: &Arc<cap_std::fs::Dir>, path: &str) {
        if let Ok(inode) = identity(dir, path) {
            self.held.push(HeldLock {
                dir: dir.clone(),
                path: path.to_owned(),
                inode,
            });
        }
    }

    /// Notes that the instance removed `path` in `dir`.
    pub fn removed(&mut self, dir: &Arc<cap_std::fs::Dir>, path: &str) {
        self.held
            .retain(|lock| !(Arc::ptr_eq(&lock.dir, dir) && lock.path == path));
    }
}

impl Drop for HeldLocks {
    fn drop(&mut self) {
        for lock in self.held.drain(..) {
            if identity(&lock.dir, &lock.path).is_ok_and(|inode| inode == lock.inode) {
                match lock.dir.remove_dir(&lock.path) {
                    Ok(()) => tracing::warn!(
                        "removed the SQLite lock {} left by an instance that ended in a transaction",
                        lock.path
                    ),
                    Err(e) => tracing::debug!("cannot remove the lock folder {}: {e}", lock.path),
                }
            }
        }
    }
}

#[cfg(unix)]
fn identity(dir: &cap_std::fs::Dir, path: &str) -> io::Result<(u64, u64)> {
    use cap_std::fs::MetadataExt;
    let metadata = dir.symlink_metadata(path)?;
    Ok((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn identity(dir: &cap_std::fs::Dir, path: &str) -> io::Result<(u64, u64)> {
    dir.symlink_metadata(path).map(|_| (0, 0))
}

/// Removes the lock folders in `root` (and below) that no process can
/// hold: empty folders `x.lock` beside a file `x`. Run only before any
/// instance of this server uses the data folder; returns how many.
pub fn remove_stale(root: &Path) -> usize {
    let mut removed = 0;
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                continue;
            }
            let name = entry.file_name();
            let locked_file = name
                .to_str()
                .filter(|name| is_lock(name))
                .map(|name| folder.join(&name[..name.len() - LOCK_SUFFIX.len()]));
            match locked_file {
                Some(file) if file.is_file() => {
                    if fs::remove_dir(&path).is_ok() {
                        tracing::warn!("removed the stale SQLite lock {}", path.display());
                        removed += 1;
                    }
                }
                _ => folders.push(path),
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(path: &Path) -> Arc<cap_std::fs::Dir> {
        Arc::new(cap_std::fs::Dir::open_ambient_dir(path, cap_std::ambient_authority()).unwrap())
    }

    #[test]
    fn locks_an_instance_still_holds_go_with_it() {
        let root = tempfile::tempdir().unwrap();
        let data = dir(root.path());
        let mut locks = HeldLocks::default();
        for name in ["a.db.lock", "b.db.lock"] {
            data.create_dir(name).unwrap();
            locks.made(&data, name);
        }
        data.remove_dir("a.db.lock").unwrap();
        locks.removed(&data, "a.db.lock");
        // Another instance takes the lock `a` released: it must stay.
        data.create_dir("a.db.lock").unwrap();
        drop(locks);
        assert!(root.path().join("a.db.lock").is_dir());
        assert!(!root.path().join("b.db.lock").exists());
    }

    #[test]
    fn stale_locks_beside_their_database_are_removed_at_start() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path();
        fs::create_dir_all(path.join("sub/app.db.lock")).unwrap();
        fs::write(path.join("sub/app.db"), b"").unwrap();
        fs::create_dir(path.join("orphan.lock")).unwrap();
        fs::create_dir_all(path.join("full.db.lock/inside")).unwrap();
        fs::write(path.join("full.db"), b"").unwrap();
        assert_eq!(remove_stale(path), 1);
        assert!(!path.join("sub/app.db.lock").exists());
        assert!(path.join("orphan.lock").is_dir(), "no database beside it");
        assert!(path.join("full.db.lock").is_dir(), "not empty: not SQLite's");
    }
}
