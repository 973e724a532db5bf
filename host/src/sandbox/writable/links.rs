//! Symbolic links that stay inside their writable folder.
//!
//! Terrarium itself never follows a link out of a folder (its filesystem is
//! rooted there), but tools on the host do: backups, `rsync -L`, a web
//! server pointed at the folder. So a link may only point inside it, by a
//! relative target whose climbing (`..`) comes first and goes no higher
//! than the folder: `../shared/x` from `a/link`, `current -> releases/v2`.
//! A `..` after a name could climb out through another link
//! (`sub/up -> ..`, then `x -> sub/up/../y`), so it is refused too.
//!
//! Where a link lies is measured on the host (its folder's real path below
//! the writable folder's), and a move that lifts a folder holding links is
//! checked again: a link's target is then read from its new place.

use std::{
    fs, io,
    path::{Component, Path, PathBuf},
};

/// Why a link may not be made (or moved) where it was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEscape {
    /// The link's target, as given.
    pub target: String,
}

impl LinkEscape {
    /// The sentence the guest's error carries; `folder` is the writable
    /// folder's path in the sandbox.
    pub fn explain(&self, folder: &str) -> String {
        format!(
            "links in {folder} must point inside it, by a relative path whose `..` come first: {:?} does not",
            self.target
        )
    }
}

/// Whether a link in a folder `depth` folders below its writable folder
/// (0: at its top) may have `target`.
pub fn check_target(target: &str, depth: usize) -> Result<(), LinkEscape> {
    let escape = || LinkEscape {
        target: target.to_owned(),
    };
    let mut climbed = 0;
    let mut named = false;
    for component in Path::new(target).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if !named => climbed += 1,
            Component::Normal(_) => named = true,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return Err(escape()),
        }
    }
    if climbed > depth {
        return Err(escape());
    }
    Ok(())
}

/// How many folders `place` (a real path) lies below `root`; none when it
/// cannot be told, so that only links that do not climb are allowed.
pub fn depth_below(root: &Path, place: &Path) -> usize {
    let Ok(root) = root.canonicalize() else {
        return 0;
    };
    place
        .strip_prefix(&root)
        .map(|below| below.components().count())
        .unwrap_or(0)
}

/// The real path of an open folder, where the platform tells it.
pub fn real_path(dir: &cap_std::fs::Dir) -> Option<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        None
    }
}

/// Checks every link at or below `entry` (a real path: a link, or a folder
/// with links in it) as if `entry` were in a folder `depth` folders below
/// its writable folder.
pub fn check_moved(entry: &Path, depth: usize) -> io::Result<Result<(), LinkEscape>> {
    let mut pending = vec![(entry.to_owned(), depth)];
    while let Some((path, depth)) = pending.pop() {
        let metadata = fs::symlink_metadata(&path)?;
        if metadata.is_symlink() {
            let target = fs::read_link(&path)?;
            if let Err(escape) = check_target(&target.to_string_lossy(), depth) {
                return Ok(Err(escape));
            }
        } else if metadata.is_dir() {
            for child in fs::read_dir(&path)? {
                pending.push((child?.path(), depth + 1));
            }
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_stay_inside_or_are_refused() {
        for (target, depth, allowed) in [
            ("releases/v2", 0, true),
            ("./a/./b", 0, true),
            ("../shared/x", 1, true),
            ("../../x", 2, true),
            ("..", 1, true),
            ("../x", 0, false),
            ("../../.terrarium", 1, false),
            ("/etc/passwd", 3, false),
            ("sub/up/../y", 2, false),
            ("a/..", 1, false),
        ] {
            assert_eq!(
                check_target(target, depth).is_ok(),
                allowed,
                "{target} at depth {depth}"
            );
        }
    }

    #[test]
    fn a_refusal_names_the_folder_and_the_target() {
        let escape = check_target("../../.terrarium", 0).unwrap_err();
        assert_eq!(
            escape.explain("/data"),
            "links in /data must point inside it, by a relative path whose `..` come first: \"../../.terrarium\" does not"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_lifted_with_a_climbing_link_in_it_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b");
        fs::create_dir_all(&deep).unwrap();
        std::os::unix::fs::symlink("../../top", deep.join("link")).unwrap();
        // `deep` lies in a/, one folder down; its link two.
        assert_eq!(check_moved(&deep, 1).unwrap(), Ok(()), "where it is");
        assert_eq!(check_moved(&deep, 2).unwrap(), Ok(()), "one deeper");
        assert!(check_moved(&deep, 0).unwrap().is_err(), "lifted by one");
        assert_eq!(
            depth_below(root.path(), &deep.canonicalize().unwrap()),
            2,
            "measured on the real paths"
        );
    }
}
