//! The mount table: which mount serves a path, and how the path splits into
//! the mount point (`SCRIPT_NAME`) and the rest (`PATH_INFO`). Pure: no I/O.

/// Mount points and their targets, matched longest prefix first, on whole
/// path segments: "/api" serves "/api" and "/api/...", never "/apix".
#[derive(Debug, Clone)]
pub struct MountTable<T> {
    /// (mount point without trailing slash, "" for the root; target), longest first.
    entries: Vec<(String, T)>,
}

/// A path resolved to a mount.
#[derive(Debug, PartialEq, Eq)]
pub struct Resolved<'t, 'p, T> {
    /// The mount's target.
    pub target: &'t T,
    /// The mount point ("" for the root mount).
    pub script_name: &'p str,
    /// The rest of the path: "" or starting with "/".
    pub path_info: &'p str,
}

impl<T> MountTable<T> {
    /// Builds the table from (mount point, target) pairs; "/" is the root.
    pub fn new(mounts: impl IntoIterator<Item = (String, T)>) -> Self {
        let mut entries: Vec<(String, T)> = mounts
            .into_iter()
            .map(|(path, target)| (path.trim_end_matches('/').to_owned(), target))
            .collect();
        entries.sort_by_key(|entry| std::cmp::Reverse(entry.0.len()));
        Self { entries }
    }

    /// Finds the mount for `path` (which must start with "/").
    pub fn resolve<'t, 'p>(&'t self, path: &'p str) -> Option<Resolved<'t, 'p, T>> {
        self.entries.iter().find_map(|(prefix, target)| {
            let rest = path.strip_prefix(prefix.as_str())?;
            if !(rest.is_empty() || rest.starts_with('/')) {
                return None;
            }
            Some(Resolved {
                target,
                script_name: &path[..prefix.len()],
                path_info: rest,
            })
        })
    }

    /// Every (mount point, target), longest mount point first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.entries.iter().map(|(path, target)| (path.as_str(), target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_on_segment_boundaries() {
        let table = MountTable::new(
            [
                ("/", "root"),
                ("/api", "api"),
                ("/api/v2", "v2"),
                ("/blog", "blog"),
            ]
            .map(|(p, t)| (p.to_owned(), t)),
        );
        let cases = [
            ("/", Some(("root", "", "/"))),
            ("/index.html", Some(("root", "", "/index.html"))),
            ("/api", Some(("api", "/api", ""))),
            ("/api/", Some(("api", "/api", "/"))),
            ("/api/users/1", Some(("api", "/api", "/users/1"))),
            ("/apix", Some(("root", "", "/apix"))),
            ("/api/v2", Some(("v2", "/api/v2", ""))),
            ("/api/v2x", Some(("api", "/api", "/v2x"))),
            ("/api/v2/items", Some(("v2", "/api/v2", "/items"))),
            ("/blog/post", Some(("blog", "/blog", "/post"))),
        ];
        for (path, expected) in cases {
            let got = table
                .resolve(path)
                .map(|r| (*r.target, r.script_name, r.path_info));
            assert_eq!(got, expected, "{path}");
        }
    }

    #[test]
    fn without_a_root_mount_unmatched_paths_resolve_to_nothing() {
        let table = MountTable::new([("/api".to_owned(), 1)]);
        assert!(table.resolve("/").is_none());
        assert!(table.resolve("/apix").is_none());
        assert!(table.resolve("/other/api").is_none());
        assert_eq!(table.resolve("/api/x").map(|r| *r.target), Some(1));
    }
}
