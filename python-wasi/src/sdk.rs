//! The `terrarium` guest package, embedded at compile time by `build.rs`.

use std::{fs, io, path::Path, sync::OnceLock};

use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/sdk_files.rs"));

/// The SDK's files: (path relative to the folder that holds the package, contents).
pub fn files() -> &'static [(&'static str, &'static [u8])] {
    SDK_FILES
}

/// A hex digest of every SDK file; changes whenever the SDK does. Computed
/// once per process (every app's build key starts with it).
pub fn digest() -> &'static str {
    static DIGEST: OnceLock<String> = OnceLock::new();
    DIGEST.get_or_init(|| {
        let mut hasher = Sha256::new();
        for (name, contents) in SDK_FILES {
            hasher.update((name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            hasher.update((contents.len() as u64).to_le_bytes());
            hasher.update(contents);
        }
        crate::hashing::hex(&hasher.finalize())
    })
}

/// Writes the SDK package into `dir` (so `dir/terrarium/__init__.py` exists).
pub fn write_to(dir: &Path) -> io::Result<()> {
    for (name, contents) in SDK_FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(path, contents)?;
    }
    Ok(())
}
