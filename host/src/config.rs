//! The site configuration: `SITE/terrarium.toml`, a strict schema.
//!
//! Unknown keys are errors, and every error names the file, the key and the
//! problem; all of it is checked before the server listens.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"     # address to serve on; port 0 picks a free port
//! shutdown_grace = "10s"        # how long requests in flight may finish on shutdown
//! max_connections = 10000       # open connections accepted at once
//!
//! [[mount]]
//! path = "/"                    # mount point
//! app = "apps/hello"            # Python app folder, relative to the site folder
//! entry = "app:app"             # module:attribute naming the app object
//! name = "root"                 # defaults to the last segment of `path` ("root" for "/")
//! isolation = "pooled"          # or "request": a fresh instance for every request
//! instances = 4                 # pool size (request mode: concurrent instances)
//! memory = "256MiB"             # memory cap per instance
//! timeout = "30s"               # deadline per request (504 after it)
//! max_body = "10MiB"            # largest request body (413 beyond it)
//! ```

use std::{
    collections::HashSet,
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;

use crate::units::{ByteSize, HumanDuration};

/// The configuration file's name inside a site folder.
pub const CONFIG_FILE: &str = "terrarium.toml";

/// A configuration problem: which file, and what is wrong (naming the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file that holds the problem.
    pub file: PathBuf,
    /// What is wrong, naming the key.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// A whole site: server settings and mounts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// `[server]`
    #[serde(default)]
    pub server: ServerConfig,
    /// `[[mount]]`, in file order.
    #[serde(default, rename = "mount")]
    pub mounts: Vec<MountConfig>,
    /// The site folder (where the file was read from); relative paths start here.
    #[serde(skip)]
    pub site_dir: PathBuf,
}

/// `[server]`: the listener and its limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// `listen = "127.0.0.1:8080"`
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// `shutdown_grace = "10s"`
    #[serde(default = "default_grace")]
    pub shutdown_grace: HumanDuration,
    /// `max_connections = 10000`
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            shutdown_grace: default_grace(),
            max_connections: default_max_connections(),
        }
    }
}

/// How requests share instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// Warm instances, each reused for many requests.
    #[default]
    Pooled,
    /// A fresh instance for every request; nothing is shared between requests.
    Request,
}

impl fmt::Display for Isolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Isolation::Pooled => "pooled",
            Isolation::Request => "request",
        })
    }
}

/// `[[mount]]`: one Python app at a URL prefix.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountConfig {
    /// `path = "/api"`
    pub path: String,
    /// `app = "apps/api"` (made absolute by [`SiteConfig::load`])
    pub app: PathBuf,
    /// `entry = "app:app"`
    #[serde(default = "default_entry")]
    pub entry: String,
    /// `name = "api"`
    pub name: Option<String>,
    /// `isolation = "pooled"`
    #[serde(default)]
    pub isolation: Isolation,
    /// `instances = 4`
    #[serde(default = "default_instances")]
    pub instances: u32,
    /// `memory = "256MiB"`
    #[serde(default = "default_memory")]
    pub memory: ByteSize,
    /// `timeout = "30s"`
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// `max_body = "10MiB"`
    #[serde(default = "default_max_body")]
    pub max_body: ByteSize,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_grace() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}
fn default_max_connections() -> usize {
    10_000
}
fn default_entry() -> String {
    "app:app".to_owned()
}
fn default_instances() -> u32 {
    4
}
fn default_memory() -> ByteSize {
    ByteSize(256 << 20)
}
fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}
fn default_max_body() -> ByteSize {
    ByteSize(10 << 20)
}

/// The smallest memory cap accepted: CPython itself needs this much.
pub const MIN_MEMORY: u64 = 32 << 20;
/// The largest memory cap accepted (a 32-bit wasm memory).
pub const MAX_MEMORY: u64 = 4 << 30;
/// The largest pool accepted per mount.
pub const MAX_INSTANCES: u32 = 1024;

impl MountConfig {
    /// The mount's name: `name`, else the last segment of its path, "root" for "/".
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match self.path.rsplit('/').next() {
            Some(last) if !last.is_empty() => last.to_owned(),
            _ => "root".to_owned(),
        }
    }
}

impl SiteConfig {
    /// Reads and checks `site_dir/terrarium.toml`.
    pub fn load(site_dir: &Path) -> Result<Self, ConfigError> {
        let file = site_dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&file).map_err(|e| ConfigError {
            file: file.clone(),
            problem: format!("cannot read the site configuration: {e}"),
        })?;
        Self::parse(&text, site_dir).map_err(|problem| ConfigError { file, problem })
    }

    /// Parses and checks configuration text; relative paths resolve against `site_dir`.
    pub fn parse(text: &str, site_dir: &Path) -> Result<Self, String> {
        let mut config: SiteConfig = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
        config.site_dir = site_dir.to_owned();
        config.validate()?;
        for mount in &mut config.mounts {
            mount.app = site_dir.join(&mount.app);
        }
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.mounts.is_empty() {
            return Err("no [[mount]]: a site needs at least one mount".to_owned());
        }
        if self.server.max_connections == 0 {
            return Err("server.max_connections: must be at least 1".to_owned());
        }
        let mut paths = HashSet::new();
        let mut names = HashSet::new();
        for (index, mount) in self.mounts.iter().enumerate() {
            let key = |field: &str| format!("mount[{index}].{field} (path {:?})", mount.path);
            check_mount_path(&mount.path).map_err(|p| format!("{}: {p}", key("path")))?;
            if !paths.insert(mount.path.as_str()) {
                return Err(format!("{}: another mount already uses this path", key("path")));
            }
            let name = mount.display_name();
            check_name(&name).map_err(|p| format!("{}: {p}", key("name")))?;
            if !names.insert(name.clone()) {
                return Err(format!(
                    "{}: another mount is already named {name:?}; set `name`",
                    key("name")
                ));
            }
            check_entry(&mount.entry).map_err(|p| format!("{}: {p}", key("entry")))?;
            if mount.instances == 0 || mount.instances > MAX_INSTANCES {
                return Err(format!(
                    "{}: must be between 1 and {MAX_INSTANCES}",
                    key("instances")
                ));
            }
            if mount.memory.0 < MIN_MEMORY || mount.memory.0 > MAX_MEMORY {
                return Err(format!(
                    "{}: {} is out of range; use {} to {}",
                    key("memory"),
                    mount.memory,
                    ByteSize(MIN_MEMORY),
                    ByteSize(MAX_MEMORY)
                ));
            }
            let timeout = mount.timeout.0;
            if timeout < Duration::from_millis(10) || timeout > Duration::from_secs(86_400) {
                return Err(format!("{}: must be between 10ms and 1d", key("timeout")));
            }
            if mount.max_body.0 > 1 << 32 {
                return Err(format!("{}: must be at most 4GiB", key("max_body")));
            }
            if mount.app.as_os_str().is_empty() {
                return Err(format!("{}: must name the app folder", key("app")));
            }
            let app_dir = self.site_dir.join(&mount.app);
            if !app_dir.is_dir() {
                return Err(format!(
                    "{}: folder {} does not exist",
                    key("app"),
                    app_dir.display()
                ));
            }
        }
        Ok(())
    }
}

/// A mount path is "/" or "/seg/seg" with plain segments.
fn check_mount_path(path: &str) -> Result<(), String> {
    if path == "/" {
        return Ok(());
    }
    if !path.starts_with('/') {
        return Err("must start with '/'".to_owned());
    }
    if path.ends_with('/') {
        return Err("must not end with '/' (write \"/api\", not \"/api/\")".to_owned());
    }
    for segment in path[1..].split('/') {
        if segment.is_empty() {
            return Err("must not contain empty segments (\"//\")".to_owned());
        }
        if segment == "." || segment == ".." {
            return Err("must not contain '.' or '..' segments".to_owned());
        }
        if let Some(bad) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-._~".contains(*c)))
        {
            return Err(format!(
                "character {bad:?} is not allowed; use letters, digits, '-', '.', '_' or '~'"
            ));
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("{name:?} must be letters, digits, '-' or '_'"));
    }
    Ok(())
}

fn check_entry(entry: &str) -> Result<(), String> {
    let (module, attribute) = entry
        .split_once(':')
        .ok_or_else(|| format!("{entry:?} must look like \"module:attribute\""))?;
    let dotted = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|part| {
                part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_alphanumeric() || c == '_')
            })
    };
    if !dotted(module) || !dotted(attribute) {
        return Err(format!(
            "{entry:?} must look like \"module:attribute\" with Python identifiers"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_with_app() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("apps/hello")).unwrap();
        dir
    }

    fn parse(text: &str) -> Result<SiteConfig, String> {
        let dir = site_with_app();
        SiteConfig::parse(text, dir.path())
    }

    const MINIMAL: &str = "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n";

    #[test]
    fn defaults_fill_in_everything_optional() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:8080".parse().unwrap());
        let mount = &config.mounts[0];
        assert_eq!(mount.entry, "app:app");
        assert_eq!(mount.display_name(), "root");
        assert_eq!(mount.isolation, Isolation::Pooled);
        assert_eq!(mount.instances, 4);
        assert_eq!(mount.memory, ByteSize(256 << 20));
        assert_eq!(mount.timeout.0, Duration::from_secs(30));
        assert_eq!(mount.max_body, ByteSize(10 << 20));
    }

    #[test]
    fn the_issue_example_parses() {
        let text = r#"
            [server]
            listen = "127.0.0.1:8080"
            [[mount]]
            path = "/"
            app = "apps/hello"        # folder with app.py exposing `app`
            isolation = "pooled"      # or "request"
            instances = 4
            memory = "256MiB"
            timeout = "30s"
        "#;
        let config = parse(text).unwrap();
        assert!(config.mounts[0].app.ends_with("apps/hello"));
    }

    /// Each bad config names the key and the problem.
    #[test]
    fn errors_name_the_key_and_problem() {
        let cases: &[(&str, &[&str])] = &[
            ("", &["no [[mount]]"]),
            (
                "[server]\nlisten = \"nowhere\"\n",
                &["listen", "invalid socket address"],
            ),
            ("[server]\nport = 1\n", &["unknown field `port`"]),
            ("[[mount]]\npath = \"/\"\n", &["missing field `app`"]),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\ncolour = 1\n",
                &["unknown field `colour`"],
            ),
            (
                "[[mount]]\npath = \"api\"\napp = \"apps/hello\"\n",
                &["mount[0].path", "start with '/'"],
            ),
            (
                "[[mount]]\npath = \"/api/\"\napp = \"apps/hello\"\n",
                &["mount[0].path", "end with '/'"],
            ),
            ("[[mount]]\npath = \"/a/../b\"\napp = \"apps/hello\"\n", &["'..'"]),
            (
                "[[mount]]\npath = \"/a b\"\napp = \"apps/hello\"\n",
                &["not allowed"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/nope\"\n",
                &["mount[0].app", "does not exist"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nisolation = \"shared\"\n",
                &["unknown variant `shared`"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\ninstances = 0\n",
                &["mount[0].instances", "between 1"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nmemory = \"1MiB\"\n",
                &["mount[0].memory", "out of range"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nmemory = \"lots\"\n",
                &["memory", "does not start with a number"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\ntimeout = \"30\"\n",
                &["timeout", "needs a unit"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nentry = \"app\"\n",
                &["mount[0].entry", "module:attribute"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n",
                &["mount[1].path", "already uses"],
            ),
            (
                "[[mount]]\npath = \"/a/x\"\napp = \"apps/hello\"\n[[mount]]\npath = \"/b/x\"\napp = \"apps/hello\"\n",
                &["mount[1].name", "already named \"x\""],
            ),
            ("[[mount]\npath = \"/\"\n", &["TOML parse error"]),
        ];
        for (text, needles) in cases {
            let problem = parse(text).expect_err(text);
            for needle in *needles {
                assert!(
                    problem.contains(needle),
                    "config {text:?}\ngave {problem:?}\nwhich lacks {needle:?}"
                );
            }
        }
    }

    #[test]
    fn load_names_the_file() {
        let dir = site_with_app();
        let err = SiteConfig::load(dir.path()).unwrap_err();
        assert_eq!(err.file, dir.path().join(CONFIG_FILE));
        assert!(err.to_string().contains("terrarium.toml: cannot read"), "{err}");

        std::fs::write(dir.path().join(CONFIG_FILE), "[[mount]]\npath = 3\n").unwrap();
        let err = SiteConfig::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("terrarium.toml") && err.contains("path"), "{err}");
    }

    #[test]
    fn names_default_to_the_last_path_segment() {
        let text = "[[mount]]\npath = \"/api/v1\"\napp = \"apps/hello\"\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nname = \"site\"\n";
        let config = parse(text).unwrap();
        assert_eq!(config.mounts[0].display_name(), "v1");
        assert_eq!(config.mounts[1].display_name(), "site");
    }
}
