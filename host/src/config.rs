//! The site configuration: `SITE/terrarium.toml`, a strict schema.
//!
//! Unknown keys are errors, and every error names the file, the key and the
//! problem; all of it is checked before the server listens.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"     # address to serve on; port 0 picks a free port
//! admin = "127.0.0.1:8081"      # the control API ("off" to disable); loopback by default
//! admin_token = "env:TOKEN"     # when set, the control API requires `Bearer <token>`
//! shutdown_grace = "10s"        # how long requests in flight may finish on shutdown
//! max_connections = 10000       # open connections accepted at once
//! workers = "auto"              # event loops serving the site: one per core, or a number
//! access_log = "stderr"         # a line per request: "stderr", a file (appended), or "off"
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
//! warm_up = ["/", "/items?page=1"]  # GET these at build time, before the snapshot
//! max_body = "10MiB"            # largest request body (413 beyond it)
//! enabled = true                # false: start switched off (503)
//! maintenance = "down.html"     # page served while switched off
//!
//! [[mount]]
//! path = "/static"
//! static = "static"             # a folder served by the host, no Python involved
//! index = true                  # list folders that have no index.html
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

/// A whole site: server settings and mounts, checked.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// `[server]`
    pub server: ServerConfig,
    /// `[sessions]`
    pub sessions: SessionsConfig,
    /// `[[mount]]`, in file order.
    pub mounts: Vec<MountConfig>,
    /// The site folder (where the file was read from); relative paths start here.
    pub site_dir: PathBuf,
}

/// `[server]`: the listeners and their limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// `listen = "127.0.0.1:8080"`
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// `admin = "127.0.0.1:8081"` (or `"off"`): the control API's address.
    #[serde(default = "default_admin", deserialize_with = "deserialize_admin")]
    pub admin: Option<SocketAddr>,
    /// `admin_token = "env:TERRARIUM_ADMIN_TOKEN"` (or the token itself).
    pub admin_token: Option<String>,
    /// `shutdown_grace = "10s"`
    #[serde(default = "default_grace")]
    pub shutdown_grace: HumanDuration,
    /// `max_connections = 10000`
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// `workers = "auto"` (one per core) or a number: threads that each run
    /// an event loop with its own share of every app's instances.
    #[serde(default)]
    pub workers: Workers,
    /// `access_log = "stderr"` (or a file, relative to the site folder, or
    /// `"off"`): where the line per request goes.
    #[serde(default)]
    pub access_log: AccessLogTarget,
}

/// Where the access log goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AccessLogTarget {
    /// The server's standard error, beside its other log lines.
    #[default]
    Stderr,
    /// Appended to this file (created if missing).
    File(PathBuf),
    /// Not written.
    Off,
}

impl AccessLogTarget {
    /// The same target with a relative file path taken from `base`.
    pub fn relative_to(self, base: &Path) -> Self {
        match self {
            Self::File(path) => Self::File(base.join(path)),
            other => other,
        }
    }
}

impl std::str::FromStr for AccessLogTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "stderr" => Ok(Self::Stderr),
            "off" => Ok(Self::Off),
            "" => Err("expected \"stderr\", \"off\" or a file path, not an empty string".to_owned()),
            path => Ok(Self::File(PathBuf::from(path))),
        }
    }
}

impl<'de> Deserialize<'de> for AccessLogTarget {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// How many worker threads serve the public listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Workers {
    /// One per core the process may use.
    #[default]
    Auto,
    /// Exactly this many (at least 1).
    Count(usize),
}

/// The most worker threads accepted.
pub const MAX_WORKERS: usize = 1024;

impl Workers {
    /// The number of worker threads this stands for on this machine.
    pub fn resolve(self) -> usize {
        match self {
            Self::Auto => std::thread::available_parallelism().map_or(1, |n| n.get()),
            Self::Count(count) => count,
        }
    }
}

impl std::str::FromStr for Workers {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "auto" {
            return Ok(Self::Auto);
        }
        match text.parse::<usize>() {
            Ok(count) if (1..=MAX_WORKERS).contains(&count) => Ok(Self::Count(count)),
            _ => Err(format!(
                "{text:?} is not \"auto\" or a number of workers from 1 to {MAX_WORKERS}"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Workers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WorkersVisitor;

        impl serde::de::Visitor<'_> for WorkersVisitor {
            type Value = Workers;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "\"auto\" or a number of workers from 1 to {MAX_WORKERS}")
            }

            fn visit_i64<E: serde::de::Error>(self, count: i64) -> Result<Workers, E> {
                count.to_string().parse().map_err(E::custom)
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Workers, E> {
                text.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_any(WorkersVisitor)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            admin: default_admin(),
            admin_token: None,
            shutdown_grace: default_grace(),
            max_connections: default_max_connections(),
            workers: Workers::Auto,
            access_log: AccessLogTarget::Stderr,
        }
    }
}

fn deserialize_admin<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text == "off" {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "{text:?} is not an address like \"127.0.0.1:8081\" or \"off\""
        ))
    })
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

/// `[[mount]]` as written in the file; checked and turned into [`MountConfig`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMount {
    path: String,
    name: Option<String>,
    app: Option<PathBuf>,
    #[serde(rename = "static")]
    static_dir: Option<PathBuf>,
    entry: Option<String>,
    isolation: Option<Isolation>,
    instances: Option<u32>,
    memory: Option<ByteSize>,
    timeout: Option<HumanDuration>,
    warm_up: Option<Vec<String>>,
    max_body: Option<ByteSize>,
    index: Option<bool>,
    #[serde(default = "default_enabled")]
    enabled: bool,
    maintenance: Option<PathBuf>,
    sessions: Option<bool>,
}

/// Where sessions are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SessionStoreKind {
    /// In this process's memory (lost on restart; one host only).
    #[default]
    Memory,
    /// One file per session under `path` (survives restarts).
    File,
    /// A Redis server at `url` (shared by several hosts).
    Redis,
}

/// When the session cookie carries `Secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SecureCookies {
    /// When the request came over TLS, or with `X-Forwarded-Proto: https`
    /// from one of `trusted_proxies`.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never (plain-HTTP development only).
    Never,
}

/// `[sessions]`: the host-owned session store shared by session-enabled mounts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// `store = "memory"` | `"file"` | `"redis"`
    #[serde(default)]
    pub store: SessionStoreKind,
    /// `path = "var/sessions"` (file store; made absolute)
    pub path: Option<PathBuf>,
    /// `url = "redis://127.0.0.1:6379/0"` (redis store)
    pub url: Option<String>,
    /// `secrets = ["env:TERRARIUM_SESSION_SECRET"]`: the first signs, all verify.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// `idle_timeout = "30m"`
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: HumanDuration,
    /// `absolute_timeout = "7d"`
    #[serde(default = "default_absolute_timeout")]
    pub absolute_timeout: HumanDuration,
    /// `secure = "auto"` | `"always"` | `"never"`
    #[serde(default)]
    pub secure: SecureCookies,
    /// `trusted_proxies = ["127.0.0.1"]`: peers whose X-Forwarded-Proto is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `max_sessions = 100000` (memory store: the oldest are dropped beyond it)
    #[serde(default = "default_max_sessions")]
    pub max_sessions: usize,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            store: SessionStoreKind::Memory,
            path: None,
            url: None,
            secrets: Vec::new(),
            idle_timeout: default_idle_timeout(),
            absolute_timeout: default_absolute_timeout(),
            secure: SecureCookies::Auto,
            trusted_proxies: Vec::new(),
            max_sessions: default_max_sessions(),
        }
    }
}

fn default_idle_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(30 * 60))
}
fn default_absolute_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(7 * 86_400))
}
fn default_max_sessions() -> usize {
    100_000
}

/// The shortest session secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    sessions: SessionsConfig,
    #[serde(default, rename = "mount")]
    mounts: Vec<RawMount>,
}

/// `[[mount]]`: something served at a URL prefix.
#[derive(Debug, Clone)]
pub struct MountConfig {
    /// `path = "/api"`
    pub path: String,
    /// `name = "api"`, defaulting to the path's last segment ("root" for "/").
    pub name: String,
    /// `enabled = true`: false starts the mount switched off.
    pub enabled: bool,
    /// `maintenance = "maintenance.html"`: the page served while switched off (absolute).
    pub maintenance: Option<PathBuf>,
    /// `max_body = "10MiB"`
    pub max_body: ByteSize,
    /// `sessions = true`: the app gets `req.session` (its own namespace and cookie).
    pub sessions: bool,
    /// What is mounted.
    pub kind: MountKind,
}

/// What a mount serves.
#[derive(Debug, Clone)]
pub enum MountKind {
    /// A Python app (`app = ...`).
    App(AppSettings),
    /// A folder served by the host (`static = ...`).
    Static(StaticSettings),
}

/// The settings of an app mount.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// `app = "apps/api"`: the app folder (absolute).
    pub folder: PathBuf,
    /// `entry = "app:app"`
    pub entry: String,
    /// `isolation = "pooled"`
    pub isolation: Isolation,
    /// `instances = 4`
    pub instances: u32,
    /// `memory = "256MiB"`
    pub memory: ByteSize,
    /// `timeout = "30s"`
    pub timeout: HumanDuration,
    /// `warm_up = ["/", "/items?page=1"]`: paths (with an optional query) the
    /// build requests a few times before it snapshots the app, so that every
    /// instance starts warm. Empty by default.
    pub warm_up: Vec<String>,
}

/// The settings of a static mount.
#[derive(Debug, Clone)]
pub struct StaticSettings {
    /// `static = "static"`: the folder (absolute).
    pub folder: PathBuf,
    /// `index = true`: list folders that have no index.html.
    pub index: bool,
}

impl MountConfig {
    /// The app settings, when this mount is an app.
    pub fn app(&self) -> Option<&AppSettings> {
        match &self.kind {
            MountKind::App(app) => Some(app),
            MountKind::Static(_) => None,
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_admin() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 8081)))
}
fn default_grace() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}
fn default_max_connections() -> usize {
    10_000
}
fn default_enabled() -> bool {
    true
}

/// The default entry: `app` in `app.py`.
pub const DEFAULT_ENTRY: &str = "app:app";
/// The default pool size.
pub const DEFAULT_INSTANCES: u32 = 4;
/// The default memory cap per instance.
pub const DEFAULT_MEMORY: u64 = 256 << 20;
/// The default deadline per request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default largest request body.
pub const DEFAULT_MAX_BODY: u64 = 10 << 20;
/// The smallest memory cap accepted: CPython itself needs this much.
pub const MIN_MEMORY: u64 = 32 << 20;
/// The largest memory cap accepted (a 32-bit wasm memory).
pub const MAX_MEMORY: u64 = 4 << 30;
/// The largest pool accepted per mount.
pub const MAX_INSTANCES: u32 = 1024;
/// The most paths a mount's `warm_up` may list.
pub const MAX_WARM_UP_PATHS: usize = 32;

/// The default name of a mount at `path`.
fn default_name(path: &str) -> String {
    match path.rsplit('/').next() {
        Some(last) if !last.is_empty() => last.to_owned(),
        _ => "root".to_owned(),
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
        let raw: RawSite = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
        let mut server = raw.server;
        server.access_log = server.access_log.relative_to(site_dir);
        if server.max_connections == 0 {
            return Err("server.max_connections: must be at least 1".to_owned());
        }
        if let Some(token) = &server.admin_token {
            server.admin_token = Some(resolve_secret(token).map_err(|p| format!("server.admin_token: {p}"))?);
        }
        if raw.mounts.is_empty() {
            return Err("no [[mount]]: a site needs at least one mount".to_owned());
        }
        let mut paths = HashSet::new();
        let mut names = HashSet::new();
        let mut mounts = Vec::new();
        for (index, raw_mount) in raw.mounts.into_iter().enumerate() {
            let key = |field: &str| format!("mount[{index}].{field} (path {:?})", raw_mount.path);
            check_mount_path(&raw_mount.path).map_err(|p| format!("{}: {p}", key("path")))?;
            if !paths.insert(raw_mount.path.clone()) {
                return Err(format!("{}: another mount already uses this path", key("path")));
            }
            let mount = resolve_mount(&raw_mount, site_dir, &key)?;
            if !names.insert(mount.name.clone()) {
                return Err(format!(
                    "{}: another mount is already named {:?}; set `name`",
                    key("name"),
                    mount.name
                ));
            }
            mounts.push(mount);
        }
        let sessions = resolve_sessions(raw.sessions, site_dir, mounts.iter().any(|m| m.sessions))?;
        Ok(Self {
            server,
            sessions,
            mounts,
            site_dir: site_dir.to_owned(),
        })
    }
}

fn resolve_sessions(
    mut sessions: SessionsConfig,
    site_dir: &Path,
    used: bool,
) -> Result<SessionsConfig, String> {
    sessions.path = sessions.path.map(|path| site_dir.join(path));
    match sessions.store {
        SessionStoreKind::File if sessions.path.is_none() => {
            return Err("sessions.path: the file store needs a folder (path = \"var/sessions\")".into());
        }
        SessionStoreKind::Redis if sessions.url.is_none() => {
            return Err(
                "sessions.url: the redis store needs a URL (url = \"redis://127.0.0.1:6379/0\")".into(),
            );
        }
        _ => {}
    }
    if let Some(url) = &sessions.url
        && !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+unix://"))
    {
        return Err(format!("sessions.url: {url:?} is not a redis:// URL"));
    }
    let mut secrets = Vec::new();
    for (index, secret) in sessions.secrets.iter().enumerate() {
        let value = resolve_secret(secret).map_err(|p| format!("sessions.secrets[{index}]: {p}"))?;
        if value.len() < MIN_SECRET_LEN {
            return Err(format!(
                "sessions.secrets[{index}]: must be at least {MIN_SECRET_LEN} bytes long"
            ));
        }
        secrets.push(value);
    }
    if used && secrets.is_empty() {
        return Err(
            "sessions.secrets: a mount has `sessions = true`, so at least one secret is needed \
                    (secrets = [\"env:TERRARIUM_SESSION_SECRET\"])"
                .into(),
        );
    }
    if sessions.idle_timeout.0 < Duration::from_secs(1)
        || sessions.absolute_timeout.0 < sessions.idle_timeout.0
    {
        return Err(
            "sessions.absolute_timeout: must be at least idle_timeout (and idle_timeout at least 1s)".into(),
        );
    }
    if sessions.max_sessions == 0 {
        return Err("sessions.max_sessions: must be at least 1".into());
    }
    sessions.secrets = secrets;
    Ok(sessions)
}

/// `"env:NAME"` reads the environment variable NAME; anything else is the value itself.
fn resolve_secret(value: &str) -> Result<String, String> {
    let resolved = match value.strip_prefix("env:") {
        Some(variable) => {
            std::env::var(variable).map_err(|_| format!("environment variable {variable} is not set"))?
        }
        None => value.to_owned(),
    };
    if resolved.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(resolved)
}

fn resolve_mount(
    raw: &RawMount,
    site_dir: &Path,
    key: &dyn Fn(&str) -> String,
) -> Result<MountConfig, String> {
    let name = raw.name.clone().unwrap_or_else(|| default_name(&raw.path));
    check_name(&name).map_err(|p| format!("{}: {p}", key("name")))?;
    let folder = |field: &str, path: &Path| -> Result<PathBuf, String> {
        if path.as_os_str().is_empty() {
            return Err(format!("{}: must name a folder", key(field)));
        }
        let full = site_dir.join(path);
        if !full.is_dir() {
            return Err(format!(
                "{}: folder {} does not exist",
                key(field),
                full.display()
            ));
        }
        Ok(full)
    };
    let kind = match (&raw.app, &raw.static_dir) {
        (Some(app), None) => {
            if raw.index.is_some() {
                return Err(format!(
                    "{}: only static mounts have a folder index",
                    key("index")
                ));
            }
            let entry = raw.entry.clone().unwrap_or_else(|| DEFAULT_ENTRY.to_owned());
            check_entry(&entry).map_err(|p| format!("{}: {p}", key("entry")))?;
            let instances = raw.instances.unwrap_or(DEFAULT_INSTANCES);
            if instances == 0 || instances > MAX_INSTANCES {
                return Err(format!(
                    "{}: must be between 1 and {MAX_INSTANCES}",
                    key("instances")
                ));
            }
            let memory = raw.memory.unwrap_or(ByteSize(DEFAULT_MEMORY));
            if memory.0 < MIN_MEMORY || memory.0 > MAX_MEMORY {
                return Err(format!(
                    "{}: {memory} is out of range; use {} to {}",
                    key("memory"),
                    ByteSize(MIN_MEMORY),
                    ByteSize(MAX_MEMORY)
                ));
            }
            let timeout = raw.timeout.unwrap_or(HumanDuration(DEFAULT_TIMEOUT));
            if timeout.0 < Duration::from_millis(10) || timeout.0 > Duration::from_secs(86_400) {
                return Err(format!("{}: must be between 10ms and 1d", key("timeout")));
            }
            let warm_up = raw.warm_up.clone().unwrap_or_default();
            check_warm_up(&warm_up).map_err(|p| format!("{}: {p}", key("warm_up")))?;
            MountKind::App(AppSettings {
                folder: folder("app", app)?,
                entry,
                isolation: raw.isolation.unwrap_or_default(),
                instances,
                memory,
                timeout,
                warm_up,
            })
        }
        (None, Some(static_dir)) => {
            let app_only = [
                ("entry", raw.entry.is_some()),
                ("isolation", raw.isolation.is_some()),
                ("instances", raw.instances.is_some()),
                ("memory", raw.memory.is_some()),
                ("timeout", raw.timeout.is_some()),
                ("warm_up", raw.warm_up.is_some()),
            ];
            if let Some((field, _)) = app_only.iter().find(|(_, set)| *set) {
                return Err(format!("{}: only app mounts have this setting", key(field)));
            }
            MountKind::Static(StaticSettings {
                folder: folder("static", static_dir)?,
                index: raw.index.unwrap_or(false),
            })
        }
        (Some(_), Some(_)) => {
            return Err(format!("{}: set `app` or `static`, not both", key("app")));
        }
        (None, None) => {
            return Err(format!(
                "{}: missing; set `app` (a Python app folder) or `static` (a folder of files)",
                key("app")
            ));
        }
    };
    let max_body = raw.max_body.unwrap_or(ByteSize(DEFAULT_MAX_BODY));
    if max_body.0 > 1 << 32 {
        return Err(format!("{}: must be at most 4GiB", key("max_body")));
    }
    let maintenance = match &raw.maintenance {
        None => None,
        Some(page) => {
            let full = site_dir.join(page);
            if !full.is_file() {
                return Err(format!(
                    "{}: file {} does not exist",
                    key("maintenance"),
                    full.display()
                ));
            }
            Some(full)
        }
    };
    if raw.sessions.is_some() && matches!(kind, MountKind::Static(_)) {
        return Err(format!("{}: only app mounts have sessions", key("sessions")));
    }
    Ok(MountConfig {
        path: raw.path.clone(),
        name,
        enabled: raw.enabled,
        maintenance,
        max_body,
        sessions: raw.sessions.unwrap_or(false),
        kind,
    })
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

/// Warm-up paths are requested inside the build sandbox: each must be an
/// origin-form target ("/path?query") of printable ASCII.
fn check_warm_up(paths: &[String]) -> Result<(), String> {
    if paths.len() > MAX_WARM_UP_PATHS {
        return Err(format!(
            "lists {} paths; at most {MAX_WARM_UP_PATHS}",
            paths.len()
        ));
    }
    for path in paths {
        if !path.starts_with('/') {
            return Err(format!("{path:?} must start with '/'"));
        }
        if path.len() > 2048 || !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "{path:?} must be printable ASCII without spaces (percent-encode the rest), at most 2048 bytes"
            ));
        }
        if path.contains('#') {
            return Err(format!("{path:?} must not have a fragment"));
        }
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
        assert_eq!(config.server.admin, Some("127.0.0.1:8081".parse().unwrap()));
        assert_eq!(config.server.admin_token, None);
        let mount = &config.mounts[0];
        assert_eq!(mount.name, "root");
        assert!(mount.enabled);
        assert_eq!(mount.max_body, ByteSize(10 << 20));
        let app = mount.app().unwrap();
        assert_eq!(app.entry, "app:app");
        assert_eq!(app.isolation, Isolation::Pooled);
        assert_eq!(app.instances, 4);
        assert_eq!(app.memory, ByteSize(256 << 20));
        assert_eq!(app.timeout.0, Duration::from_secs(30));
        assert!(app.warm_up.is_empty());
        assert_eq!(config.server.workers, Workers::Auto);
        assert!(config.server.workers.resolve() >= 1);
        assert_eq!(config.server.access_log, AccessLogTarget::Stderr);
    }

    #[test]
    fn the_access_log_goes_to_stderr_a_file_or_nowhere() {
        let dir = site_with_app();
        let with = |value: &str| {
            SiteConfig::parse(&format!("[server]\naccess_log = {value}\n{MINIMAL}"), dir.path())
        };
        let cases: &[(&str, Result<AccessLogTarget, &str>)] = &[
            ("\"stderr\"", Ok(AccessLogTarget::Stderr)),
            ("\"off\"", Ok(AccessLogTarget::Off)),
            (
                "\"logs/access.log\"",
                Ok(AccessLogTarget::File(dir.path().join("logs/access.log"))),
            ),
            (
                "\"/var/log/site.log\"",
                Ok(AccessLogTarget::File("/var/log/site.log".into())),
            ),
            ("\"\"", Err("not an empty string")),
            ("false", Err("expected a string")),
        ];
        for (value, expected) in cases {
            match (with(value), expected) {
                (Ok(config), Ok(target)) => assert_eq!(&config.server.access_log, target, "{value}"),
                (Err(problem), Err(part)) => {
                    assert!(
                        problem.contains("access_log") && problem.contains(part),
                        "{value}: {problem}"
                    )
                }
                (got, _) => panic!("access_log = {value}: {got:?}"),
            }
        }
    }

    #[test]
    fn workers_are_auto_or_a_count() {
        let with = |value: &str| parse(&format!("[server]\nworkers = {value}\n{MINIMAL}"));
        let cases: &[(&str, Result<Workers, &str>)] = &[
            ("\"auto\"", Ok(Workers::Auto)),
            ("1", Ok(Workers::Count(1))),
            ("3", Ok(Workers::Count(3))),
            ("\"2\"", Ok(Workers::Count(2))),
            (
                "0",
                Err("\"0\" is not \"auto\" or a number of workers from 1 to 1024"),
            ),
            ("-1", Err("\"-1\" is not \"auto\"")),
            ("1025", Err("\"1025\" is not \"auto\"")),
            ("\"many\"", Err("\"many\" is not \"auto\"")),
            ("true", Err("expected \"auto\" or a number of workers")),
        ];
        for (value, expected) in cases {
            match (with(value), expected) {
                (Ok(config), Ok(workers)) => assert_eq!(config.server.workers, *workers, "{value}"),
                (Err(problem), Err(part)) => {
                    assert!(
                        problem.contains("workers") && problem.contains(part),
                        "{value}: {problem}"
                    )
                }
                (got, _) => panic!("workers = {value}: {got:?}"),
            }
        }
        assert_eq!(Workers::Count(3).resolve(), 3);
    }

    #[test]
    fn warm_up_paths_are_kept_in_order() {
        let text = "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nwarm_up = [\"/\", \"/items/7?page=2&q=%C3%A9\"]\n";
        let config = parse(text).unwrap();
        assert_eq!(
            config.mounts[0].app().unwrap().warm_up,
            ["/", "/items/7?page=2&q=%C3%A9"]
        );
        let many = vec!["\"/\""; MAX_WARM_UP_PATHS + 1].join(", ");
        let text = format!("[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nwarm_up = [{many}]\n");
        let problem = parse(&text).unwrap_err();
        assert!(
            problem.contains("mount[0].warm_up") && problem.contains("lists 33 paths; at most 32"),
            "{problem}"
        );
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
        assert!(config.mounts[0].app().unwrap().folder.ends_with("apps/hello"));
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
            (
                "[[mount]]\npath = \"/\"\n",
                &["mount[0].app", "set `app`", "or `static`"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nstatic = \"apps\"\n",
                &["not both"],
            ),
            (
                "[[mount]]\npath = \"/s\"\nstatic = \"nope\"\n",
                &["mount[0].static", "does not exist"],
            ),
            (
                "[[mount]]\npath = \"/s\"\nstatic = \"apps\"\ninstances = 2\n",
                &["mount[0].instances", "only app mounts"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nindex = true\n",
                &["mount[0].index", "only static"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nmaintenance = \"x.html\"\n",
                &["mount[0].maintenance", "does not exist"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nenabled = \"no\"\n",
                &["enabled", "invalid type"],
            ),
            ("[server]\nadmin = \"everywhere\"\n", &["admin", "\"off\""]),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nsessions = true\n",
                &["sessions.secrets", "at least one secret"],
            ),
            (
                "[sessions]\nsecrets = [\"short\"]\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n",
                &["sessions.secrets[0]", "16 bytes"],
            ),
            (
                "[sessions]\nstore = \"file\"\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n",
                &["sessions.path", "folder"],
            ),
            (
                "[sessions]\nstore = \"redis\"\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n",
                &["sessions.url"],
            ),
            (
                "[sessions]\nstore = \"redis\"\nurl = \"http://x\"\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n",
                &["not a redis:// URL"],
            ),
            (
                "[sessions]\nstore = \"mongo\"\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n",
                &["unknown variant `mongo`"],
            ),
            (
                "[sessions]\nidle_timeout = \"1h\"\nabsolute_timeout = \"10m\"\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n",
                &["absolute_timeout"],
            ),
            (
                "[server]\nadmin_token = \"env:TERRARIUM_TEST_SURELY_UNSET\"\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n",
                &["server.admin_token", "TERRARIUM_TEST_SURELY_UNSET is not set"],
            ),
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
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nwarm_up = [\"items\"]\n",
                &["mount[0].warm_up", "\"items\" must start with '/'"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nwarm_up = [\"/a b\"]\n",
                &["mount[0].warm_up", "printable ASCII without spaces"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nwarm_up = [\"/café\"]\n",
                &["mount[0].warm_up", "percent-encode"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nwarm_up = [\"/#top\"]\n",
                &["mount[0].warm_up", "fragment"],
            ),
            (
                "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nwarm_up = \"/\"\n",
                &["warm_up", "expected a sequence"],
            ),
            (
                "[[mount]]\npath = \"/s\"\nstatic = \"apps\"\nwarm_up = [\"/\"]\n",
                &["mount[0].warm_up", "only app mounts"],
            ),
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
        assert_eq!(config.mounts[0].name, "v1");
        assert_eq!(config.mounts[1].name, "site");
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

    #[test]
    fn admin_can_be_switched_off_and_tokens_come_from_the_environment() {
        let text = "[server]\nadmin = \"off\"\nadmin_token = \"env:PATH\"\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n";
        let config = parse(text).unwrap();
        assert_eq!(config.server.admin, None);
        assert_eq!(config.server.admin_token, std::env::var("PATH").ok());
        let literal = parse(&text.replace("env:PATH", "s3cret")).unwrap();
        assert_eq!(literal.server.admin_token.as_deref(), Some("s3cret"));
    }
}
