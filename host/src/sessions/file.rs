//! One file per session, `<root>/<namespace>/<id>.json`, written atomically:
//! a temporary file is written and fsynced, then renamed over the old one
//! (and the folder fsynced), so a crash at any moment leaves the old session
//! or the new one, never a torn one. Ids are validated before they touch the
//! file system, so a crafted id cannot name another file.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use async_trait::async_trait;

use super::{Expiry, SessionKey, SessionRecord, SessionStore, StoreError, cookie::is_valid_id};

/// The file store.
pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    /// A store under `root` (created when missing).
    pub fn open(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root)?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn path_of(&self, key: &SessionKey) -> Result<PathBuf, StoreError> {
        let namespace_ok = !key.namespace.is_empty()
            && key
                .namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !namespace_ok || !is_valid_id(&key.id) {
            return Err(StoreError::InvalidKey);
        }
        Ok(self.root.join(&key.namespace).join(format!("{}.json", key.id)))
    }
}

/// Writes `contents` to `path` atomically: temp file, fsync, rename, fsync folder.
pub fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let folder = path.parent().expect("session files live in a folder");
    fs::create_dir_all(folder)?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(folder)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    fs::File::open(folder)?.sync_all()
}

/// Runs file-system work on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

#[async_trait]
impl SessionStore for FileStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let path = self.path_of(key)?;
        let text = blocking(move || match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await?;
        // A file that does not parse is treated as no session (and replaced on save).
        Ok(text.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        let bytes = serde_json::to_vec(record).expect("a record serializes");
        blocking(move || write_atomically(&path, &bytes)).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        blocking(move || match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
    }

    async fn sweep(&self, expiry: Expiry) -> Result<usize, StoreError> {
        let root = self.root.clone();
        let records = blocking(move || {
            let mut found = Vec::new();
            for namespace in fs::read_dir(&root)? {
                let namespace = namespace?.path();
                if !namespace.is_dir() {
                    continue;
                }
                for entry in fs::read_dir(&namespace)? {
                    let path = entry?.path();
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    if name.starts_with(".tmp-") {
                        // Abandoned by a crash; a fresh one may still be mid-write.
                        let stale = fs::metadata(&path).and_then(|m| m.modified()).is_ok_and(|t| {
                            t.elapsed().unwrap_or_default() > std::time::Duration::from_secs(60)
                        });
                        if stale {
                            found.push((path, None));
                        }
                    } else if name.ends_with(".json") {
                        let record = fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
                        found.push((path, record));
                    }
                }
            }
            Ok(found)
        })
        .await?;
        let doomed: Vec<PathBuf> = records
            .into_iter()
            .filter(|(_, record)| record.as_ref().is_none_or(|r| expiry.is_expired(r)))
            .map(|(path, _)| path)
            .collect();
        let count = doomed.len();
        blocking(move || {
            for path in doomed {
                let _ = fs::remove_file(path);
            }
            Ok(())
        })
        .await?;
        Ok(count)
    }
}
