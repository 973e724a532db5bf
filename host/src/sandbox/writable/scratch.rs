//! Private scratch folders (`tmp`): one per instance, under one folder per
//! sandbox in the system's temporary folder, removed with the instance. Folders left by a server that did not stop cleanly (its
//! process is gone) are removed when the next one makes its own.

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

/// What every sandbox's scratch folder is named, followed by the process
/// id and a number (a process may hold several sandboxes).
const ROOT_PREFIX: &str = "terrarium-scratch-";

/// Numbers this process's sandboxes' folders.
static NEXT_ROOT: AtomicU64 = AtomicU64::new(0);

/// One sandbox's folder of scratch folders, made on first use.
#[derive(Debug, Default)]
pub struct ScratchSpace {
    root: OnceLock<Result<PathBuf, String>>,
    next: AtomicU64,
}

/// One instance's scratch folder; removed (with what it holds) when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchSpace {
    /// Makes a new, empty folder for one instance of `app`.
    pub fn make(self: &Arc<Self>, app: &str) -> io::Result<ScratchDir> {
        let root = self
            .root
            .get_or_init(|| make_root(&std::env::temp_dir()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|message| io::Error::other(format!("cannot make the scratch folder: {message}")))?;
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let path = root.join(format!("{app}-{number}"));
        fs::create_dir(&path)?;
        Ok(ScratchDir { path })
    }
}

impl Drop for ScratchSpace {
    fn drop(&mut self) {
        if let Some(Ok(root)) = self.root.get() {
            let _ = fs::remove_dir_all(root);
        }
    }
}

impl ScratchDir {
    /// The folder on the host.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Usually empty: one `rmdir`. Otherwise off the async workers.
        if fs::remove_dir(&self.path).is_err() {
            let path = std::mem::take(&mut self.path);
            let remove = move || {
                let _ = fs::remove_dir_all(path);
            };
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn_blocking(remove)),
                Err(_) => remove(),
            }
        }
    }
}

/// Makes `temp/terrarium-scratch-PID-N` (private to this user), after
/// removing the ones whose process is gone.
fn make_root(temp: &Path) -> io::Result<PathBuf> {
    remove_abandoned_roots(temp);
    let number = NEXT_ROOT.fetch_add(1, Ordering::Relaxed);
    let root = temp.join(format!("{ROOT_PREFIX}{}-{number}", std::process::id()));
    if root.exists() {
        fs::remove_dir_all(&root)?;
    }
    fs::create_dir(&root)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700))?;
    }
    Ok(root)
}

/// Removes the scratch folders of servers that are no longer running.
fn remove_abandoned_roots(temp: &Path) {
    let Ok(entries) = fs::read_dir(temp) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(ROOT_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !process_is_running(pid) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether a process with this id exists (where that cannot be known:
/// assume it does, and keep its folder).
fn process_is_running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_instance_gets_an_empty_folder_removed_with_it() {
        let space = Arc::new(ScratchSpace::default());
        let first = space.make("blog").unwrap();
        let second = space.make("blog").unwrap();
        assert_ne!(first.path(), second.path());
        fs::write(first.path().join("upload"), b"x").unwrap();
        let (first_path, second_path) = (first.path().to_owned(), second.path().to_owned());
        drop(first);
        drop(second);
        assert!(!first_path.exists() && !second_path.exists());
    }

    #[test]
    fn folders_of_servers_that_are_gone_are_removed() {
        let temp = tempfile::tempdir().unwrap();
        // No process has an id this large (Linux caps them at 2^22).
        let abandoned = temp.path().join(format!("{ROOT_PREFIX}{}-0", u32::MAX - 1));
        let unrelated = temp.path().join("terrarium-scratch-notapid");
        fs::create_dir_all(abandoned.join("blog-3")).unwrap();
        fs::create_dir(&unrelated).unwrap();
        let root = make_root(temp.path()).unwrap();
        let another = make_root(temp.path()).unwrap();
        assert!(
            root.is_dir() && another.is_dir() && root != another,
            "one per sandbox"
        );
        assert!(!abandoned.exists() || !Path::new("/proc").is_dir());
        assert!(unrelated.exists());
    }
}
