//! The site configuration: `SITE/terrarium.toml`, a strict schema.
//!
//! - [`server`]: `[server]`: listeners, limits, worker threads, the access log.
//! - [`mount`]: `[[mount]]`: an app or a static folder at a path, and its limits.
//! - [`sessions`]: `[sessions]`: the session store, its secrets and cookies.
//! - [`secret`]: values such as tokens, read from the environment (`env:NAME`)
//!   and never shown.
//! - [`env`]: a mount's `env`, the variables its app sees (values never shown).
//! - [`storage`]: a mount's `data` folder and `tmp` space, each with a quota.
//! - [`outbound`]: the destinations a mount's app may connect to.
//! - [`tls`]: `[[tls]]`: the HTTPS listener's certificates, chosen by name.
//! - [`edit`]: one `[[mount]]` added, replaced or removed in the file at
//!   run time, its comments and layout kept.
//!
//! Unknown keys are errors. Each value is checked as it is parsed (its type
//! says what is valid: [`MountPath`], [`Entry`], ...), so an error names the
//! key and its line; what needs the whole file (folders exist, no two mounts
//! share a path or a name, session mounts have a secret) is checked right
//! after, naming the key and the mount. All of it before the server listens.
//! The error messages are pinned by golden files in `tests/config/`.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"     # address to serve on; port 0 picks a free port
//! admin = "127.0.0.1:8081"      # the control API ("off" to disable); loopback by default
//! admin_token = "env:TOKEN"     # when set, the control API requires `Bearer <token>`
//! shutdown_grace = "10s"        # how long requests in flight may finish on shutdown
//! max_connections = 10000       # open connections accepted at once
//! header_timeout = "30s"        # to send a request head
//! keep_alive = "5s"             # how long a connection may idle between requests
//! body_timeout = "30s"          # the longest wait for the next part of a body (408)
//! min_body_rate = "8KiB"        # bytes/s a body must average after body_timeout (408)
//! max_buffered_bodies = "4GiB"  # body bytes the site holds at once (503); default: RAM/4
//! workers = "auto"              # event loops serving the site: one per core, or a number
//! access_log = "stderr"         # a line per request: "stderr", a file (appended), or "off"
//! memory_reset = "auto"        # "decommit": drop every page of a sandbox between instances
//! max_instances = 1500          # live instances of all apps at once; default from RAM, printed at start
//! tls_listen = "0.0.0.0:8443"   # HTTPS (HTTP/1.1 and HTTP/2), with the [[tls]] certificates
//!
//! [sessions]                    # for mounts with `sessions = true`
//! store = "memory"              # "memory", "file" (with `path`) or "redis" (with `url`)
//! secrets = ["env:TERRARIUM_SESSION_SECRET"]  # the first signs; all verify
//!
//! [[mount]]
//! path = "/"                    # mount point
//! app = "apps/hello"            # Python app folder, relative to the site folder
//! entry = "app:app"             # module:attribute naming the app object, or module:factory()
//! env = { TITLE = "Hi", KEY = "env:BLOG_KEY" }  # os.environ in the app ("env:" reads the host's)
//! data = "var/blog"             # a host folder the app reads and writes, kept (created if missing)
//! data_at = "/data"             # where the app sees it; relative: inside the app folder ("instance")
//! data_quota = "1GiB"           # writes past it fail in the app with ENOSPC
//! tmp = "64MiB"                 # a private /tmp per instance (TMPDIR), emptied when it goes
//! outbound = ["localhost:6379", "*.internal.example:443"]  # host:port it may connect to; none by default
//! outbound_connections = 32     # connections open at once, over all its instances
//! outbound_ca = "certs/ca.pem"  # roots its TLS connections trust beside the system's
//! outbound_connect_timeout = "10s"  # the longest a connect without a timeout of its own waits
//! name = "root"                 # defaults to the last segment of `path` ("root" for "/")
//! isolation = "pooled"          # or "request": a fresh instance for every request
//! instances = 4                 # the most alive at once (request mode: concurrent instances)
//! min_instances = 0             # kept ready even when idle; 0: scaled to zero when idle
//! idle = "5m"                   # an instance unused this long is given back
//! memory = "256MiB"             # memory cap per instance
//! timeout = "30s"               # deadline per request (504 after it); streaming: per gap
//! stream_timeout = "1h"         # the longest a streamed response (or body) may last in all
//! warm_up = ["/", "/items?page=1"]  # GET these at build time, before the snapshot
//! snapshot = "app"              # or "shared": an interpreter shared by apps, the app imported per instance
//! max_body = "10MiB"            # largest request body (413 beyond it)
//! buffer_body = "1MiB"          # bodies up to this are read whole before the app is called
//! enabled = true                # false: start switched off (503)
//! maintenance = "down.html"     # page served while switched off
//! sessions = true               # the app gets a session of its own
//! share_cookies = false         # true: may set cookies outside its path, or another mount's session cookie
//!
//! [[mount]]
//! path = "/static"
//! static = "static"             # a folder served by the host, no Python involved
//! index = true                  # list folders that have no index.html
//! ```

pub mod edit;
pub mod env;
pub mod mount;
pub mod outbound;
pub mod secret;
pub mod server;
pub mod sessions;
pub mod storage;
pub mod tls;

use std::{
    collections::{HashMap, HashSet},
    fmt,
    path::{Path, PathBuf},
};

use serde::{Deserialize, de::DeserializeOwned};

pub use env::AppEnv;
pub use mount::{
    AppSettings, DEFAULT_BUFFER_BODY, DEFAULT_ENTRY, DEFAULT_IDLE, DEFAULT_INSTANCES, DEFAULT_MAX_BODY,
    DEFAULT_MEMORY, DEFAULT_STREAM_TIMEOUT, DEFAULT_TIMEOUT, Entry, Isolation, MAX_INSTANCES, MAX_MEMORY,
    MAX_WARM_UP_PATHS, MIN_MEMORY, MountConfig, MountKind, MountPath, Snapshot, StaticSettings,
};
pub use outbound::{Destination, HostPattern, Outbound};
pub use secret::Secret;
pub use server::{
    AccessLogTarget, AdminAddress, LogFormat, LogLevel, LogRate, MAX_WORKERS, MIN_ADMIN_TOKEN_LEN,
    MemoryResetSetting, ServerConfig, UnknownHost, Workers,
};
pub use sessions::{MIN_SECRET_LEN, SecureCookies, SessionStoreKind, SessionsConfig};
pub use storage::{AppStorage, DataAt, DataFolder};
pub use tls::TlsConfig;

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

/// A whole site: server settings, sessions and mounts, checked.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// `[server]`
    pub server: ServerConfig,
    /// `[sessions]`
    pub sessions: SessionsConfig,
    /// `[[mount]]`, in file order.
    pub mounts: Vec<MountConfig>,
    /// `[[tls]]`, in file order (paths absolute).
    pub tls: Vec<TlsConfig>,
    /// The site folder (where the file was read from); relative paths start here.
    pub site_dir: PathBuf,
}

/// The file as written, each value already checked on its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    sessions: SessionsConfig,
    #[serde(default, rename = "mount")]
    mounts: Vec<mount::RawMount>,
    #[serde(default)]
    tls: Vec<TlsConfig>,
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
        let raw: RawSite = from_toml(text)?;
        let server = raw.server.resolve(site_dir)?;
        if raw.mounts.is_empty() {
            return Err("no [[mount]]: a site needs at least one mount".to_owned());
        }
        // (host pattern, or none for the default site; path) → the mount's index.
        let mut places: HashMap<(Option<String>, String), usize> = HashMap::new();
        let mut names = HashSet::new();
        let mut mounts: Vec<MountConfig> = Vec::new();
        for (index, raw_mount) in raw.mounts.into_iter().enumerate() {
            let key = mount::Key::new(index, &raw_mount.path);
            let mount = raw_mount.resolve(&key, site_dir, &server)?;
            let hosts = mount.hosts.iter().map(|host| Some(host.to_string()));
            let hosts: Vec<Option<String>> = if mount.hosts.is_empty() {
                vec![None]
            } else {
                hosts.collect()
            };
            for host in hosts {
                let place = (host, mount.path.to_string());
                if let Some(&other) = places.get(&place) {
                    let on = match &place.0 {
                        Some(host) => format!("host {host}"),
                        None => "the default site (mounts without `host`)".to_owned(),
                    };
                    return Err(format!(
                        "{}: mount[{other}] ({:?}) already serves this path on {on}",
                        key.of("path"),
                        mounts[other].name,
                    ));
                }
                places.insert(place, index);
            }
            if !names.insert(mount.name.clone()) {
                return Err(format!(
                    "{}: another mount is already named {:?}; set `name`",
                    key.of("name"),
                    mount.name
                ));
            }
            mounts.push(mount);
        }
        storage::check_data_folders_apart(&mounts)?;
        let tls = tls::resolve(raw.tls, server.tls_listen, site_dir)?;
        let sessions = raw
            .sessions
            .resolve(site_dir, mounts.iter().any(|m| m.sessions))?;
        Ok(Self {
            server,
            sessions,
            mounts,
            tls,
            site_dir: site_dir.to_owned(),
        })
    }
}

/// Deserializes TOML text; an error names the key path and the line
/// ("mount[0].path: ... (line 2)"), or is TOML's own for bad syntax.
fn from_toml<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." {
            return inner.to_string().trim_end().to_owned();
        }
        let message = inner.message().trim_end();
        match inner.span() {
            Some(span) => {
                let line = text[..span.start].matches('\n').count() + 1;
                format!("{path}: {message} (line {line})")
            }
            None => format!("{path}: {message}"),
        }
    })
}

/// Implements `Deserialize` for a type through its `FromStr` (whose error
/// is the message the user sees).
macro_rules! deserialize_from_str {
    ($type:ty, $expecting:literal) => {
        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;

                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $type;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$type, E> {
                        text.parse().map_err(E::custom)
                    }
                }

                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

pub(crate) use deserialize_from_str;

/// A string type whose every value passed `$check` (a `fn(&str) ->
/// Result<(), String>`), parsed and deserialized through it.
macro_rules! checked_string {
    ($(#[$doc:meta])* $vis:vis $name:ident, $check:path, $expecting:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        $vis struct $name(String);

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                $check(text)?;
                Ok(Self(text.to_owned()))
            }
        }

        $crate::config::deserialize_from_str!($name, $expecting);
    };
}

pub(crate) use checked_string;

#[cfg(test)]
mod tests {
    use super::*;

    /// A site folder with the folders the examples name.
    pub(super) fn site_with_app() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("apps/hello")).unwrap();
        dir
    }

    pub(super) fn parse(text: &str) -> Result<SiteConfig, String> {
        let dir = site_with_app();
        SiteConfig::parse(text, dir.path())
    }

    pub(super) const MINIMAL: &str = "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n";

    #[test]
    fn defaults_fill_in_everything_optional() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            config.server.admin,
            AdminAddress::At("127.0.0.1:8081".parse().unwrap())
        );
        assert!(config.server.admin_token.is_none());
        assert_eq!(config.server.workers, Workers::Auto);
        assert!(config.server.workers.resolve() >= 1);
        assert_eq!(config.server.access_log, AccessLogTarget::Stderr);
        let mount = &config.mounts[0];
        assert_eq!(mount.name, "root");
        assert!(mount.enabled);
        assert_eq!(mount.max_body.0, DEFAULT_MAX_BODY);
        assert_eq!(mount.buffer_body.0, DEFAULT_BUFFER_BODY);
        let app = mount.app().unwrap();
        assert_eq!(app.entry.to_string(), "app:app");
        assert_eq!(app.isolation, Isolation::Pooled);
        assert_eq!(app.instances, 4);
        assert_eq!(app.memory.0, 256 << 20);
        assert_eq!(app.timeout.0, std::time::Duration::from_secs(30));
        assert!(app.warm_up.is_empty());
        assert_eq!(config.sessions.store, SessionStoreKind::Memory);
    }

    #[test]
    fn load_names_the_file() {
        let dir = site_with_app();
        let err = SiteConfig::load(dir.path()).unwrap_err();
        assert_eq!(err.file, dir.path().join(CONFIG_FILE));
        assert!(err.to_string().contains("terrarium.toml: cannot read"), "{err}");

        std::fs::write(dir.path().join(CONFIG_FILE), "[[mount]]\npath = 3\n").unwrap();
        let err = SiteConfig::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("terrarium.toml: mount[0].path: invalid type: integer `3`"),
            "{err}"
        );
    }

    #[test]
    fn the_site_issue_example_parses() {
        let dir = site_with_app();
        std::fs::create_dir_all(dir.path().join("apps/site")).unwrap();
        std::fs::create_dir_all(dir.path().join("static")).unwrap();
        std::fs::write(dir.path().join("maintenance.html"), "<p>back soon</p>").unwrap();
        let text = r#"
            [server]
            listen = "127.0.0.1:8080"
            admin  = "127.0.0.1:8081"
            [[mount]]
            path = "/"
            app  = "apps/site"
            name = "site"
            isolation = "pooled"
            instances = 4
            memory = "256MiB"
            timeout = "30s"
            max_body = "10MiB"
            enabled = true
            maintenance = "maintenance.html"
            [[mount]]
            path = "/static"
            static = "static"
            index = true
        "#;
        let config = SiteConfig::parse(text, dir.path()).unwrap();
        assert_eq!(config.mounts[0].name, "site");
        assert!(
            config.mounts[0]
                .maintenance
                .as_ref()
                .unwrap()
                .ends_with("maintenance.html")
        );
        assert_eq!(config.mounts[1].name, "static");
        match &config.mounts[1].kind {
            MountKind::Static(settings) => assert!(settings.index && settings.folder.ends_with("static")),
            MountKind::App(_) => panic!("a static mount"),
        }
    }
}
