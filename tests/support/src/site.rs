//! Site folders for tests.

use std::path::{Path, PathBuf};

use crate::repo;

/// A site folder with a terrarium.toml whose `app` paths point into the repo.
pub struct TestSite {
    dir: tempfile::TempDir,
}

impl TestSite {
    /// `config` may say `app = "@faults"` for `tests/apps/faults`, or
    /// `app = "@@hello"` for `examples/hello/apps/hello`.
    pub fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let apps = repo().join("tests/apps");
        let text = config
            .replace(
                "@@hello",
                &repo().join("examples/hello/apps/hello").display().to_string(),
            )
            .replace('@', &format!("{}/", apps.display()));
        std::fs::write(dir.path().join("terrarium.toml"), text).unwrap();
        Self { dir }
    }

    /// The site folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file inside the site folder, creating folders as needed.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Copies the Python files of `tests/apps/NAME` into the site at `to`,
    /// so a test may edit them.
    pub fn copy_app(&self, name: &str, to: &str) {
        let from = repo().join("tests/apps").join(name);
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "py") {
                let file = path.file_name().unwrap().to_str().unwrap();
                self.write(&format!("{to}/{file}"), std::fs::read(&path).unwrap());
            }
        }
    }
}
