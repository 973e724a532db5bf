//! Content hashing of app folders, for the build cache key, and the copy
//! of exactly what was hashed that the build and the instances see.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

/// Folder and file names that never affect a build.
fn is_ignored(name: &str) -> bool {
    matches!(
        name,
        "__pycache__" | ".git" | ".terrarium" | ".venv" | "venv" | ".mypy_cache" | ".pytest_cache"
    ) || name.ends_with(".pyc")
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Feeds every file under `dir` (relative path and contents, in sorted order)
/// into `hasher`. Symlinks are followed, as Python's import system would.
pub fn hash_dir(hasher: &mut Sha256, dir: &Path) -> io::Result<()> {
    let mut files = Vec::new();
    collect_files(dir, PathBuf::new(), &mut files)?;
    files.sort();
    for relative in files {
        let contents = fs::read(dir.join(&relative))?;
        let name = relative.to_string_lossy();
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    Ok(())
}

/// Feeds one part of a key to `hasher`, its length first, so that no two
/// lists of parts hash alike.
pub fn update_part(hasher: &mut Sha256, part: &str) {
    hasher.update((part.len() as u64).to_le_bytes());
    hasher.update(part);
}

/// Copies every file `hash_dir` reads from `dir` into `to` (created), so
/// that what is built and served is what was hashed, whatever happens to
/// `dir` afterwards.
pub fn copy_hashed_files(dir: &Path, to: &Path) -> io::Result<()> {
    let mut files = Vec::new();
    collect_files(dir, PathBuf::new(), &mut files)?;
    fs::create_dir_all(to)?;
    for relative in files {
        let target = to.join(&relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(dir.join(&relative), target)?;
    }
    Ok(())
}

fn collect_files(root: &Path, relative: PathBuf, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(root.join(&relative))? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name_str) = name.to_str() else {
            continue;
        };
        if is_ignored(name_str) {
            continue;
        }
        let path = relative.join(&name);
        let metadata = fs::metadata(root.join(&path))?;
        if metadata.is_dir() {
            collect_files(root, path, out)?;
        } else if metadata.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(dir: &Path) -> String {
        let mut hasher = Sha256::new();
        hash_dir(&mut hasher, dir).unwrap();
        hex(&hasher.finalize())
    }

    #[test]
    fn the_copy_holds_what_was_hashed() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("pkg/__pycache__")).unwrap();
        fs::write(dir.path().join("app.py"), "x = 1").unwrap();
        fs::write(dir.path().join("pkg/mod.py"), "y = 2").unwrap();
        fs::write(dir.path().join("pkg/__pycache__/mod.cpython-314.pyc"), "junk").unwrap();
        let copy = tempfile::tempdir().unwrap();
        copy_hashed_files(dir.path(), &copy.path().join("app")).unwrap();
        assert_eq!(digest_of(dir.path()), digest_of(&copy.path().join("app")));
        assert!(!copy.path().join("app/pkg/__pycache__").exists());
    }

    #[test]
    fn same_content_same_digest_and_any_change_shows() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for dir in [a.path(), b.path()] {
            fs::create_dir_all(dir.join("pkg")).unwrap();
            fs::write(dir.join("app.py"), "x = 1\n").unwrap();
            fs::write(dir.join("pkg/mod.py"), "y = 2\n").unwrap();
        }
        assert_eq!(digest_of(a.path()), digest_of(b.path()));

        fs::create_dir_all(b.path().join("__pycache__")).unwrap();
        fs::write(b.path().join("__pycache__/app.cpython-314.pyc"), "junk").unwrap();
        assert_eq!(digest_of(a.path()), digest_of(b.path()), "caches are ignored");

        fs::write(b.path().join("pkg/mod.py"), "y = 3\n").unwrap();
        assert_ne!(digest_of(a.path()), digest_of(b.path()), "a content change shows");

        fs::write(b.path().join("pkg/mod.py"), "y = 2\n").unwrap();
        fs::rename(b.path().join("pkg/mod.py"), b.path().join("pkg/other.py")).unwrap();
        assert_ne!(digest_of(a.path()), digest_of(b.path()), "a rename shows");
    }
}
