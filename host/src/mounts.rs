//! The mount table: which mount serves a canonical path, and how the path
//! splits into the mount point (`SCRIPT_NAME`) and the rest (`PATH_INFO`);
//! and each mount's on/off [`Switch`]. Pure: no I/O.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::paths::CanonicalPath;

/// Whether a mount serves: on, or off for maintenance. Flipped while the
/// site serves; a request reads it once, so one already running when the
/// mount is switched off finishes normally.
#[derive(Debug)]
pub struct Switch(AtomicBool);

impl Switch {
    /// A switch, on or off.
    pub fn new(on: bool) -> Self {
        Self(AtomicBool::new(on))
    }

    /// Whether requests are served (off: 503 with the maintenance page).
    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Switches on or off.
    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::Release);
    }
}

/// Mount points and their targets, matched longest first, on whole
/// (decoded) path segments: "/api" serves "/api" and "/api/...", never "/apix".
#[derive(Debug, Clone)]
pub struct MountTable<T> {
    /// (mount point, its segments, target), most segments first.
    entries: Vec<(String, Vec<String>, T)>,
}

/// A path resolved to a mount.
#[derive(Debug, PartialEq, Eq)]
pub struct Resolved<'t, T> {
    /// The mount's target.
    pub target: &'t T,
    /// The mount point ("" for the root mount).
    pub script_name: &'t str,
    /// The rest of the path, percent-encoded: "" or starting with "/".
    pub path_info: String,
    /// How many leading segments the mount point took.
    pub depth: usize,
}

impl<T> MountTable<T> {
    /// Builds the table from (mount point, target) pairs; "/" is the root.
    pub fn new(mounts: impl IntoIterator<Item = (String, T)>) -> Self {
        let mut entries: Vec<(String, Vec<String>, T)> = mounts
            .into_iter()
            .map(|(path, target)| {
                let path = path.trim_end_matches('/').to_owned();
                let segments = path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                (path, segments, target)
            })
            .collect();
        entries.sort_by_key(|entry| std::cmp::Reverse(entry.1.len()));
        Self { entries }
    }

    /// Finds the mount for a canonical path.
    pub fn resolve(&self, path: &CanonicalPath) -> Option<Resolved<'_, T>> {
        let (script_name, segments, target) = self
            .entries
            .iter()
            .find(|(_, segments, _)| path.starts_with(segments))?;
        let depth = segments.len();
        let path_info = if depth == 0 {
            path.encoded()
        } else {
            path.encoded_from(depth)
        };
        Some(Resolved {
            target,
            script_name,
            path_info,
            depth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> MountTable<&'static str> {
        MountTable::new(
            [
                ("/", "root"),
                ("/api", "api"),
                ("/api/v2", "v2"),
                ("/blog", "blog"),
                ("/static", "static"),
            ]
            .map(|(p, t)| (p.to_owned(), t)),
        )
    }

    fn resolve(path: &str) -> Option<(&'static str, String, String)> {
        let table = table();
        let canonical = CanonicalPath::parse(path).ok()?;
        table
            .resolve(&canonical)
            .map(|r| (*r.target, r.script_name.to_owned(), r.path_info))
    }

    /// Each case: (request path, (target, script name, path info)).
    fn check(cases: &[(&str, (&str, &str, &str))]) {
        for &(path, (target, script, info)) in cases {
            assert_eq!(
                resolve(path),
                Some((target, script.to_owned(), info.to_owned())),
                "{path}"
            );
        }
    }

    #[test]
    fn longest_prefix_on_segment_boundaries() {
        let cases = [
            ("/", ("root", "", "/")),
            ("/index.html", ("root", "", "/index.html")),
            ("/api", ("api", "/api", "")),
            ("/api/", ("api", "/api", "/")),
            ("/api/users/1", ("api", "/api", "/users/1")),
            ("/apix", ("root", "", "/apix")),
            ("/api/v2", ("v2", "/api/v2", "")),
            ("/api/v2x", ("api", "/api", "/v2x")),
            ("/api/v2/items", ("v2", "/api/v2", "/items")),
            ("/blog/post", ("blog", "/blog", "/post")),
        ];
        check(&cases);
    }

    /// No spelling of a path reaches a mount its canonical form does not name.
    #[test]
    fn traversal_and_odd_spellings_resolve_canonically() {
        let cases = [
            ("//api//users", ("api", "/api", "/users")),
            ("/api/../blog/x", ("blog", "/blog", "/x")),
            ("/blog/../api", ("api", "/api", "")),
            ("/static/../../api", ("api", "/api", "")),
            ("/static/%2e%2e/api/x", ("api", "/api", "/x")),
            ("/%61pi/x", ("api", "/api", "/x")),
            ("/api%2Fv2/items", ("root", "", "/api%2Fv2/items")),
            ("/api/v2%2Fitems", ("api", "/api", "/v2%2Fitems")),
            ("/static/./a/./b", ("static", "/static", "/a/b")),
            ("/blog/..", ("root", "", "/")),
        ];
        check(&cases);
    }

    #[test]
    fn without_a_root_mount_unmatched_paths_resolve_to_nothing() {
        let table = MountTable::new([("/api".to_owned(), 1)]);
        let resolve = |p: &str| {
            table
                .resolve(&CanonicalPath::parse(p).unwrap())
                .map(|r| *r.target)
        };
        assert_eq!(resolve("/"), None);
        assert_eq!(resolve("/apix"), None);
        assert_eq!(resolve("/other/api"), None);
        assert_eq!(resolve("/api/x"), Some(1));
    }
}
