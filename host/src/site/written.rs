//! A site's `terrarium.toml` as written, mount by mount, and what changed
//! between two versions of it (pure: no I/O). A reload of the file
//! (`SIGHUP`, `POST /config/reload`) applies only the difference: mounts
//! added, changed or removed; an unchanged mount is not touched. Mounts are
//! told apart by name, and compared by their tables as written.

use crate::config::SiteConfig;

/// The file's site-wide tables and each mount's table, as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Written {
    /// `[server]` and `[sessions]`, as written.
    site_wide: Vec<(&'static str, Option<toml::Value>)>,
    /// Each `[[mount]]` as written, by its name (in file order).
    mounts: Vec<(String, toml::Value)>,
}

/// What a new version of the file changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WrittenDiff {
    /// Mounts it adds, by name.
    pub added: Vec<String>,
    /// Mounts whose keys it changes.
    pub changed: Vec<String>,
    /// Mounts it removes.
    pub removed: Vec<String>,
    /// How many mounts it leaves as they are.
    pub unchanged: usize,
    /// Tables that changed but apply only at a restart ("[server]").
    pub need_restart: Vec<String>,
}

impl Written {
    /// `text`, which parsed as `config`, table by table.
    pub fn of(text: &str, config: &SiteConfig) -> Self {
        let mut file: toml::Table = toml::from_str(text).unwrap_or_default();
        let site_wide = ["server", "sessions"]
            .into_iter()
            .map(|table| (table, file.remove(table)))
            .collect();
        let tables = match file.remove("mount") {
            Some(toml::Value::Array(tables)) => tables,
            _ => Vec::new(),
        };
        let mounts = config
            .mounts
            .iter()
            .map(|mount| mount.name.clone())
            .zip(tables)
            .collect();
        Self { site_wide, mounts }
    }

    /// The mount named `name` as written.
    pub fn mount(&self, name: &str) -> Option<&toml::Value> {
        self.mounts
            .iter()
            .find(|(written, _)| written == name)
            .map(|(_, table)| table)
    }

    /// Records `table` as what the mount named `name` now is (`None`: removed).
    pub fn set_mount(&mut self, name: &str, table: Option<toml::Value>) {
        let place = self.mounts.iter().position(|(written, _)| written == name);
        match (place, table) {
            (Some(place), Some(table)) => self.mounts[place].1 = table,
            (Some(place), None) => {
                self.mounts.remove(place);
            }
            (None, Some(table)) => self.mounts.push((name.to_owned(), table)),
            (None, None) => {}
        }
    }

    /// What `newer` changes of this.
    pub fn diff(&self, newer: &Self) -> WrittenDiff {
        let mut diff = WrittenDiff::default();
        for (name, table) in &newer.mounts {
            match self.mount(name) {
                None => diff.added.push(name.clone()),
                Some(old) if old != table => diff.changed.push(name.clone()),
                Some(_) => diff.unchanged += 1,
            }
        }
        diff.removed = self
            .mounts
            .iter()
            .filter(|(name, _)| newer.mount(name).is_none())
            .map(|(name, _)| name.clone())
            .collect();
        diff.need_restart = self
            .site_wide
            .iter()
            .zip(&newer.site_wide)
            .filter(|(old, new)| old != new)
            .map(|((table, _), _)| format!("[{table}]"))
            .collect();
        diff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(text: &str) -> Written {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        let config = SiteConfig::parse(text, dir.path()).unwrap();
        Written::of(text, &config)
    }

    const BASE: &str = "[server]\nworkers = 1\n\
                        [[mount]]\npath = \"/one\"\napp = \"a\"\n\
                        [[mount]]\npath = \"/two\"\napp = \"a\"\ninstances = 2\n\
                        [[mount]]\npath = \"/three\"\napp = \"a\"\n";

    #[test]
    fn a_new_version_of_the_file_is_told_apart_mount_by_mount() {
        let cases = [
            (
                "the same text",
                BASE.to_owned(),
                WrittenDiff {
                    unchanged: 3,
                    ..WrittenDiff::default()
                },
            ),
            (
                "comments and layout only",
                format!(
                    "# a comment\n{}",
                    BASE.replace("instances = 2", "instances   =   2 # two")
                ),
                WrittenDiff {
                    unchanged: 3,
                    ..WrittenDiff::default()
                },
            ),
            (
                "one added, one changed, one removed",
                "[server]\nworkers = 1\n\
                 [[mount]]\npath = \"/one\"\napp = \"a\"\n\
                 [[mount]]\npath = \"/two\"\napp = \"a\"\ninstances = 3\n\
                 [[mount]]\npath = \"/four\"\napp = \"a\"\n"
                    .to_owned(),
                WrittenDiff {
                    added: vec!["four".into()],
                    changed: vec!["two".into()],
                    removed: vec!["three".into()],
                    unchanged: 1,
                    need_restart: vec![],
                },
            ),
            (
                "a server key",
                BASE.replace("workers = 1", "workers = 2"),
                WrittenDiff {
                    unchanged: 3,
                    need_restart: vec!["[server]".into()],
                    ..WrittenDiff::default()
                },
            ),
            (
                "a mount renamed is one removed and one added",
                BASE.replace("path = \"/three\"", "path = \"/3\"\nname = \"third\""),
                WrittenDiff {
                    added: vec!["third".into()],
                    removed: vec!["three".into()],
                    unchanged: 2,
                    ..WrittenDiff::default()
                },
            ),
        ];
        let base = written(BASE);
        for (what, text, expected) in cases {
            assert_eq!(base.diff(&written(&text)), expected, "{what}");
        }
    }

    #[test]
    fn a_mount_applied_alone_is_recorded() {
        let mut base = written(BASE);
        let newer = written(&BASE.replace("instances = 2", "instances = 3"));
        base.set_mount("two", newer.mount("two").cloned());
        base.set_mount("three", None);
        let diff = base.diff(&newer);
        assert_eq!(
            (diff.changed.len(), diff.added, diff.unchanged),
            (0, vec!["three".to_owned()], 2)
        );
    }
}
