//! Site folders for tests.

use std::path::{Path, PathBuf};

use crate::repo;

/// A site folder with a terrarium.toml whose `app` paths point into the repo.
pub struct TestSite {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl TestSite {
    /// `config` may say `app = "@faults"` for `tests/apps/faults`, or
    /// `app = "@@hello"` for `examples/hello/apps/hello`.
    pub fn new(config: &str) -> Self {
        Self::named("", config)
    }

    /// [`Self::new`], in a folder called `name` (inside a temporary one),
    /// for a test that shows the site's name.
    pub fn named(name: &str, config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let apps = repo().join("tests/apps");
        let text = config
            .replace(
                "@@hello",
                &repo().join("examples/hello/apps/hello").display().to_string(),
            )
            .replace('@', &format!("{}/", apps.display()));
        let root = dir.path().join(name);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("terrarium.toml"), text).unwrap();
        Self { _dir: dir, root }
    }

    /// The site folder.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Writes a file inside the site folder, creating folders as needed.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.root.join(relative);
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
