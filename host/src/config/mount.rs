//! `[[mount]]`: an app or a static folder at a path.
//!
//! Each value's type checks it as it is parsed ([`MountPath`], [`Entry`],
//! the warm-up paths and the limits); [`RawMount::resolve`] then checks
//! what needs the whole mount (app or static, the keys only one kind has)
//! and the site folder (the folders and pages exist).

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;

use super::{
    AppEnv, LogLevel, LogRate, ServerConfig, checked_string,
    outbound::{AllowList, ConnectTimeout, ConnectionLimit, Outbound, RawOutbound},
    storage::{AppStorage, DataAtPath, Quota, RawStorage},
};
use crate::{
    hosts::ServedHost,
    units::{ByteSize, HumanDuration},
};

/// The default entry: `app` in `app.py`.
pub const DEFAULT_ENTRY: &str = "app:app";
/// The default pool size.
pub const DEFAULT_INSTANCES: u32 = 4;
/// The default memory cap per instance.
pub const DEFAULT_MEMORY: u64 = 256 << 20;
/// The default deadline per request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default bound on one streamed response or request body.
pub const DEFAULT_STREAM_TIMEOUT: Duration = Duration::from_secs(3600);
/// The default largest request body.
pub const DEFAULT_MAX_BODY: u64 = 10 << 20;
/// The default `buffer_body`: request bodies up to 1 MiB are read whole first.
pub const DEFAULT_BUFFER_BODY: u64 = 1 << 20;
/// The smallest memory cap accepted: CPython itself needs this much.
pub const MIN_MEMORY: u64 = 32 << 20;
/// The largest memory cap accepted (a 32-bit wasm memory).
pub const MAX_MEMORY: u64 = 4 << 30;
/// The largest pool accepted per mount.
pub const MAX_INSTANCES: u32 = 1024;
/// How long an instance may go without a request before it is given back,
/// unless `idle` says otherwise.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(300);
/// The most commands a mount's `build` may list.
pub const MAX_BUILD_COMMANDS: usize = 16;
/// The most paths a mount's `warm_up` may list.
pub const MAX_WARM_UP_PATHS: usize = 32;
/// The largest request body a mount may accept.
const MAX_BODY_LIMIT: u64 = 4 << 30;

/// `[[mount]]`: something served at a URL prefix.
#[derive(Debug, Clone)]
pub struct MountConfig {
    /// `path = "/api"`
    pub path: MountPath,
    /// `name = "api"`, defaulting to the path's last segment ("root" for "/").
    pub name: String,
    /// `host = "blog.example.com"` or `hosts = [...]`: the host names it
    /// serves; empty for the default site (every host no mount claims).
    pub hosts: Vec<ServedHost>,
    /// `enabled = true`: false starts the mount switched off.
    pub enabled: bool,
    /// `maintenance = "maintenance.html"`: the page served while switched off (absolute).
    pub maintenance: Option<PathBuf>,
    /// `max_body = "10MiB"`
    pub max_body: ByteSize,
    /// `buffer_body = "1MiB"`: a request body up to this size is read whole
    /// before the app is called (a slow client holds no instance while it
    /// sends); a longer one reaches the app as it arrives, after its first
    /// `buffer_body` bytes.
    pub buffer_body: ByteSize,
    /// `sessions = true`: the app gets `req.session` (its own namespace and cookie).
    pub sessions: bool,
    /// What is mounted.
    pub kind: MountKind,
}

/// What a mount serves.
#[derive(Debug, Clone)]
pub enum MountKind {
    /// A Python app (`app = ...`).
    App(Box<AppSettings>),
    /// A folder served by the host (`static = ...`).
    Static(StaticSettings),
}

/// The settings of an app mount.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// `app = "apps/api"`: the app folder (absolute).
    pub folder: PathBuf,
    /// `entry = "app:app"`
    pub entry: Entry,
    /// `isolation = "pooled"`
    pub isolation: Isolation,
    /// `instances = 4`: the most instances it may have alive at once.
    pub instances: u32,
    /// `min_instances = 0`: instances kept ready even when idle (made at start).
    pub min_instances: u32,
    /// `idle = "5m"`: how long an instance may go without a request before
    /// it is given back (down to `min_instances`).
    pub idle: HumanDuration,
    /// `memory = "256MiB"`
    pub memory: ByteSize,
    /// `timeout = "30s"`
    pub timeout: HumanDuration,
    /// `stream_timeout = "1h"`: how long one streamed response (or a request
    /// body read as it arrives) may last; `timeout` then bounds each gap.
    pub stream_timeout: HumanDuration,
    /// `share_cookies = true`: the app may set cookies for paths outside its
    /// mount and under other mounts' session cookie names (by default such
    /// a `Set-Cookie` is dropped).
    pub share_cookies: bool,
    /// `warm_up = ["/", "/items?page=1"]`: paths (with an optional query) the
    /// build requests a few times before it snapshots the app, so that every
    /// instance starts warm. Empty by default.
    pub warm_up: Vec<String>,
    /// `build = ["manage.py collectstatic --noinput"]`: commands run in the
    /// sandbox while the app is built, before it is imported, each as
    /// `python` would run its words, with the app's folder writable: what
    /// they write becomes part of the app's (read-only) files.
    pub build: Vec<String>,
    /// `snapshot = "app"`: the app imported into a snapshot of its own, or
    /// (`"shared"`) into each instance of an interpreter shared with the
    /// other apps of the same requirements.
    pub snapshot: Snapshot,
    /// `env = { NAME = "value" }`: what the app finds in `os.environ`.
    pub env: AppEnv,
    /// `log_level = "info"`: the least severe of its log records kept
    /// (default: `server.log_level`).
    pub log_level: LogLevel,
    /// `log_rate = 1000`: its log records kept a second (default:
    /// `server.log_rate`); the rest are dropped and counted.
    pub log_rate: LogRate,
    /// Whether its tracebacks keep the SDK's frames (`server.log_sdk_frames`).
    pub log_sdk_frames: bool,
    /// `data`, `data_at`, `data_quota` and `tmp`: what it may write.
    pub storage: AppStorage,
    /// `outbound` and `outbound_connections`: what it may connect to.
    pub outbound: Outbound,
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

/// What an app's instances start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Snapshot {
    /// A snapshot of its own, taken with the app imported and warmed up:
    /// the fastest start, and a whole interpreter per app.
    #[default]
    App,
    /// An interpreter shared with every app of the same requirements; each
    /// instance imports the app as it starts.
    Shared,
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Snapshot::App => "app",
            Snapshot::Shared => "shared",
        })
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

checked_string! {
    /// A mount point: "/" or "/seg/seg", each segment of letters, digits,
    /// '-', '.', '_' or '~' (never "." or "..").
    pub MountPath, check_mount_path, "a mount path such as \"/\" or \"/api\""
}

impl MountPath {
    /// The path as written ("/" or "/api").
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mount's default name: the last segment, or "root" for "/".
    fn default_name(&self) -> &str {
        match self.0.rsplit('/').next() {
            Some(last) if !last.is_empty() => last,
            _ => "root",
        }
    }
}

impl fmt::Display for MountPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_mount_path(path: &str) -> Result<(), String> {
    if path == "/" {
        return Ok(());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("{path:?} must start with '/'"));
    };
    if rest.ends_with('/') {
        return Err(format!(
            "{path:?} must not end with '/' (write \"/api\", not \"/api/\")"
        ));
    }
    for segment in rest.split('/') {
        if segment.is_empty() {
            return Err(format!("{path:?} must not contain empty segments (\"//\")"));
        }
        if segment == "." || segment == ".." {
            return Err(format!("{path:?} must not contain '.' or '..' segments"));
        }
        if let Some(bad) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-._~".contains(*c)))
        {
            return Err(format!(
                "{path:?}: character {bad:?} is not allowed; use letters, digits, '-', '.', '_' or '~'"
            ));
        }
    }
    Ok(())
}

checked_string! {
    /// A mount's name: letters, digits, '-' or '_'.
    MountName, check_name, "a name of letters, digits, '-' or '_'"
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

checked_string! {
    /// What an app mount serves: `module:attribute`, both dotted Python
    /// identifiers ("app:app", "mysite.wsgi:application"), or an app
    /// factory called with no arguments, `module:function()`
    /// ("flaskr:create_app()"), as gunicorn accepts.
    pub Entry, check_entry, "an entry such as \"app:app\" or \"flaskr:create_app()\""
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_entry(entry: &str) -> Result<(), String> {
    let (module, attribute) = entry
        .split_once(':')
        .ok_or_else(|| format!("{entry:?} must look like \"module:attribute\""))?;
    let attribute = attribute.strip_suffix("()").unwrap_or(attribute);
    let dotted = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|part| {
                part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_alphanumeric() || c == '_')
            })
    };
    if !dotted(module) || !dotted(attribute) {
        return Err(format!(
            "{entry:?} must look like \"module:attribute\" or \"module:factory()\" with Python identifiers"
        ));
    }
    Ok(())
}

checked_string! {
    /// One warm-up target: an origin-form "/path?query" of printable ASCII
    /// (it is requested inside the build sandbox).
    WarmUpPath, check_warm_up_path, "a path such as \"/items?page=1\""
}

fn check_warm_up_path(path: &str) -> Result<(), String> {
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
    Ok(())
}

/// `warm_up`: at most [`MAX_WARM_UP_PATHS`] paths.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Vec<WarmUpPath>")]
struct WarmUp(Vec<String>);

impl TryFrom<Vec<WarmUpPath>> for WarmUp {
    type Error = String;

    fn try_from(paths: Vec<WarmUpPath>) -> Result<Self, String> {
        if paths.len() > MAX_WARM_UP_PATHS {
            return Err(format!(
                "lists {} paths; at most {MAX_WARM_UP_PATHS}",
                paths.len()
            ));
        }
        Ok(Self(paths.into_iter().map(|path| path.0).collect()))
    }
}

checked_string! {
    /// One build command: the words of a `python` command line, printable
    /// (it is written into the build's entry module).
    BuildCommand, check_build_command, "a command such as \"manage.py collectstatic --noinput\""
}

fn check_build_command(command: &str) -> Result<(), String> {
    if command.trim().is_empty() || command.len() > 4096 || command.chars().any(char::is_control) {
        return Err(format!(
            "{command:?} must be a `python` command line (a script, `-m MODULE` or `-c CODE` and its \
             arguments) without control characters, at most 4096 bytes"
        ));
    }
    Ok(())
}

/// `build`: at most [`MAX_BUILD_COMMANDS`] commands.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Vec<BuildCommand>")]
struct BuildCommands(Vec<String>);

impl TryFrom<Vec<BuildCommand>> for BuildCommands {
    type Error = String;

    fn try_from(commands: Vec<BuildCommand>) -> Result<Self, String> {
        if commands.len() > MAX_BUILD_COMMANDS {
            return Err(format!(
                "lists {} commands; at most {MAX_BUILD_COMMANDS}",
                commands.len()
            ));
        }
        Ok(Self(commands.into_iter().map(|command| command.0).collect()))
    }
}

/// `instances`: 1 to [`MAX_INSTANCES`].
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "u32")]
struct Instances(u32);

impl TryFrom<u32> for Instances {
    type Error = String;

    fn try_from(count: u32) -> Result<Self, String> {
        if count == 0 || count > MAX_INSTANCES {
            return Err(format!("{count} is not between 1 and {MAX_INSTANCES}"));
        }
        Ok(Self(count))
    }
}

/// `min_instances`: 0 to [`MAX_INSTANCES`] (and at most `instances`,
/// checked with the whole mount).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "u32")]
struct MinInstances(u32);

impl TryFrom<u32> for MinInstances {
    type Error = String;

    fn try_from(count: u32) -> Result<Self, String> {
        if count > MAX_INSTANCES {
            return Err(format!("{count} is not between 0 and {MAX_INSTANCES}"));
        }
        Ok(Self(count))
    }
}

/// `idle`: 1s to 30 days.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "HumanDuration")]
struct IdleTimeout(HumanDuration);

impl TryFrom<HumanDuration> for IdleTimeout {
    type Error = String;

    fn try_from(idle: HumanDuration) -> Result<Self, String> {
        if idle.0 < Duration::from_secs(1) || idle.0 > Duration::from_secs(30 * 86_400) {
            return Err("must be between 1s and 30d".to_owned());
        }
        Ok(Self(idle))
    }
}

/// `memory`: [`MIN_MEMORY`] to [`MAX_MEMORY`].
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "ByteSize")]
struct MemoryCap(ByteSize);

impl TryFrom<ByteSize> for MemoryCap {
    type Error = String;

    fn try_from(size: ByteSize) -> Result<Self, String> {
        if size.0 < MIN_MEMORY || size.0 > MAX_MEMORY {
            return Err(format!(
                "{size} is out of range; use {} to {}",
                ByteSize(MIN_MEMORY),
                ByteSize(MAX_MEMORY)
            ));
        }
        Ok(Self(size))
    }
}

/// `timeout`: 10ms to a day.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "HumanDuration")]
struct RequestTimeout(HumanDuration);

impl TryFrom<HumanDuration> for RequestTimeout {
    type Error = String;

    fn try_from(timeout: HumanDuration) -> Result<Self, String> {
        if timeout.0 < Duration::from_millis(10) || timeout.0 > Duration::from_secs(86_400) {
            return Err("must be between 10ms and 1d".to_owned());
        }
        Ok(Self(timeout))
    }
}

/// `stream_timeout`: 1s to a week.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "HumanDuration")]
struct StreamTimeout(HumanDuration);

impl TryFrom<HumanDuration> for StreamTimeout {
    type Error = String;

    fn try_from(timeout: HumanDuration) -> Result<Self, String> {
        if timeout.0 < Duration::from_secs(1) || timeout.0 > Duration::from_secs(7 * 86_400) {
            return Err("must be between 1s and 7d".to_owned());
        }
        Ok(Self(timeout))
    }
}

/// `max_body` and `buffer_body`: at most 4GiB.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "ByteSize")]
struct BodyLimit(ByteSize);

impl TryFrom<ByteSize> for BodyLimit {
    type Error = String;

    fn try_from(size: ByteSize) -> Result<Self, String> {
        if size.0 > MAX_BODY_LIMIT {
            return Err(format!(
                "{size} is too large; at most {}",
                ByteSize(MAX_BODY_LIMIT)
            ));
        }
        Ok(Self(size))
    }
}

/// `[[mount]]` as written, each value checked; [`RawMount::resolve`] checks
/// the whole.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMount {
    pub(super) path: MountPath,
    name: Option<MountName>,
    host: Option<ServedHost>,
    hosts: Option<Vec<ServedHost>>,
    app: Option<PathBuf>,
    #[serde(rename = "static")]
    static_dir: Option<PathBuf>,
    entry: Option<Entry>,
    isolation: Option<Isolation>,
    instances: Option<Instances>,
    min_instances: Option<MinInstances>,
    idle: Option<IdleTimeout>,
    memory: Option<MemoryCap>,
    timeout: Option<RequestTimeout>,
    stream_timeout: Option<StreamTimeout>,
    warm_up: Option<WarmUp>,
    build: Option<BuildCommands>,
    snapshot: Option<Snapshot>,
    env: Option<AppEnv>,
    data: Option<PathBuf>,
    data_at: Option<DataAtPath>,
    data_quota: Option<Quota>,
    tmp: Option<Quota>,
    outbound: Option<AllowList>,
    outbound_connections: Option<ConnectionLimit>,
    outbound_ca: Option<PathBuf>,
    outbound_connect_timeout: Option<ConnectTimeout>,
    max_body: Option<BodyLimit>,
    buffer_body: Option<BodyLimit>,
    index: Option<bool>,
    enabled: Option<bool>,
    maintenance: Option<PathBuf>,
    sessions: Option<bool>,
    share_cookies: Option<bool>,
    log_level: Option<LogLevel>,
    log_rate: Option<LogRate>,
}

/// Names a key of one mount in an error: `mount[1].app (path "/blog")`.
pub(super) struct Key {
    index: usize,
    path: String,
}

impl Key {
    pub(super) fn new(index: usize, path: &MountPath) -> Self {
        Self {
            index,
            path: path.0.clone(),
        }
    }

    pub(super) fn of(&self, field: &str) -> String {
        format!("mount[{}].{field} (path {:?})", self.index, self.path)
    }
}

impl RawMount {
    /// The mount, with its folders made absolute from `site_dir` and checked.
    pub(super) fn resolve(
        self,
        key: &Key,
        site_dir: &Path,
        server: &ServerConfig,
    ) -> Result<MountConfig, String> {
        let hosts = self.hosts(key)?;
        let name = match &self.name {
            Some(name) => name.0.clone(),
            // A host's root mount is named after the host.
            None if self.path.as_str() == "/" && !hosts.is_empty() => hosts[0].default_mount_name(),
            None => {
                self.path
                    .default_name()
                    .parse::<MountName>()
                    .map_err(|problem| format!("{}: {problem}; set `name`", key.of("name")))?
                    .0
            }
        };
        let kind = match (&self.app, &self.static_dir) {
            (Some(app), None) => MountKind::App(Box::new(self.app_settings(key, site_dir, app, server)?)),
            (None, Some(folder)) => MountKind::Static(self.static_settings(key, site_dir, folder)?),
            (Some(_), Some(_)) => {
                return Err(format!("{}: set `app` or `static`, not both", key.of("app")));
            }
            (None, None) => {
                return Err(format!(
                    "{}: missing; set `app` (a Python app folder) or `static` (a folder of files)",
                    key.of("app")
                ));
            }
        };
        let maintenance = match &self.maintenance {
            None => None,
            Some(page) => {
                let full = site_dir.join(page);
                if !full.is_file() {
                    return Err(format!(
                        "{}: file {} does not exist",
                        key.of("maintenance"),
                        full.display()
                    ));
                }
                Some(full)
            }
        };
        Ok(MountConfig {
            path: self.path,
            name,
            hosts,
            enabled: self.enabled.unwrap_or(true),
            maintenance,
            max_body: self.max_body.map_or(ByteSize(DEFAULT_MAX_BODY), |limit| limit.0),
            buffer_body: self
                .buffer_body
                .map_or(ByteSize(DEFAULT_BUFFER_BODY), |limit| limit.0),
            sessions: self.sessions.unwrap_or(false),
            kind,
        })
    }

    /// `host` or `hosts`, each pattern once.
    fn hosts(&self, key: &Key) -> Result<Vec<ServedHost>, String> {
        let hosts = match (&self.host, &self.hosts) {
            (Some(_), Some(_)) => {
                return Err(format!("{}: set `host` or `hosts`, not both", key.of("hosts")));
            }
            (Some(host), None) => vec![host.clone()],
            (None, Some(hosts)) if hosts.is_empty() => {
                return Err(format!(
                    "{}: lists no host; remove it to serve every host no other mount claims",
                    key.of("hosts")
                ));
            }
            (None, Some(hosts)) => hosts.clone(),
            (None, None) => Vec::new(),
        };
        for (index, host) in hosts.iter().enumerate() {
            if hosts[..index].contains(host) {
                return Err(format!("{}: lists {host} twice", key.of("hosts")));
            }
        }
        Ok(hosts)
    }

    fn app_settings(
        &self,
        key: &Key,
        site_dir: &Path,
        folder: &Path,
        server: &ServerConfig,
    ) -> Result<AppSettings, String> {
        if self.index.is_some() {
            return Err(format!(
                "{}: only static mounts have a folder index",
                key.of("index")
            ));
        }
        let folder = existing_folder(key, "app", site_dir, folder)?;
        let storage = self.raw_storage().resolve(|k| key.of(k), site_dir, &folder)?;
        let instances = self.instances.map_or(DEFAULT_INSTANCES, |count| count.0);
        let min_instances = self.min_instances.map_or(0, |count| count.0);
        if min_instances > instances {
            return Err(format!(
                "{}: {min_instances} is more than `instances` ({instances}), the most it may have",
                key.of("min_instances")
            ));
        }
        let snapshot = self.snapshot.unwrap_or_default();
        if snapshot == Snapshot::Shared && self.build.as_ref().is_some_and(|commands| !commands.0.is_empty())
        {
            return Err(format!(
                "{}: build commands need the app's own snapshot (snapshot = \"app\"): \
                 what they write is built into it",
                key.of("build")
            ));
        }
        Ok(AppSettings {
            folder,
            entry: self
                .entry
                .clone()
                .unwrap_or_else(|| DEFAULT_ENTRY.parse().expect("the default entry is valid")),
            isolation: self.isolation.unwrap_or_default(),
            instances,
            min_instances,
            idle: self.idle.map_or(HumanDuration(DEFAULT_IDLE), |idle| idle.0),
            memory: self.memory.map_or(ByteSize(DEFAULT_MEMORY), |cap| cap.0),
            timeout: self
                .timeout
                .map_or(HumanDuration(DEFAULT_TIMEOUT), |timeout| timeout.0),
            stream_timeout: self
                .stream_timeout
                .map_or(HumanDuration(DEFAULT_STREAM_TIMEOUT), |timeout| timeout.0),
            share_cookies: self.share_cookies.unwrap_or(false),
            warm_up: self.warm_up.clone().map(|paths| paths.0).unwrap_or_default(),
            build: self.build.clone().map(|commands| commands.0).unwrap_or_default(),
            snapshot,
            env: self.env.clone().unwrap_or_default(),
            log_level: self.log_level.unwrap_or(server.log_level),
            log_rate: self.log_rate.unwrap_or(server.log_rate),
            log_sdk_frames: server.log_sdk_frames,
            storage,
            outbound: self.raw_outbound().resolve(|k| key.of(k), site_dir)?,
        })
    }

    fn raw_outbound(&self) -> RawOutbound {
        RawOutbound {
            allow: self.outbound.clone(),
            connections: self.outbound_connections,
            ca: self.outbound_ca.clone(),
            connect_timeout: self.outbound_connect_timeout,
        }
    }

    fn raw_storage(&self) -> RawStorage {
        RawStorage {
            data: self.data.clone(),
            data_at: self.data_at.clone(),
            data_quota: self.data_quota,
            tmp: self.tmp,
        }
    }

    fn static_settings(&self, key: &Key, site_dir: &Path, folder: &Path) -> Result<StaticSettings, String> {
        let app_only = [
            ("entry", self.entry.is_some()),
            ("isolation", self.isolation.is_some()),
            ("instances", self.instances.is_some()),
            ("min_instances", self.min_instances.is_some()),
            ("idle", self.idle.is_some()),
            ("memory", self.memory.is_some()),
            ("timeout", self.timeout.is_some()),
            ("stream_timeout", self.stream_timeout.is_some()),
            ("warm_up", self.warm_up.is_some()),
            ("build", self.build.is_some()),
            ("snapshot", self.snapshot.is_some()),
            ("env", self.env.is_some()),
            ("sessions", self.sessions.is_some()),
            ("share_cookies", self.share_cookies.is_some()),
            ("log_level", self.log_level.is_some()),
            ("log_rate", self.log_rate.is_some()),
        ];
        let storage = self.raw_storage();
        let outbound = self.raw_outbound();
        let mut app_only = app_only
            .iter()
            .filter_map(|(field, set)| set.then_some(*field))
            .chain(storage.set_keys())
            .chain(outbound.set_keys());
        if let Some(field) = app_only.next() {
            return Err(format!("{}: only app mounts have this setting", key.of(field)));
        }
        Ok(StaticSettings {
            folder: existing_folder(key, "static", site_dir, folder)?,
            index: self.index.unwrap_or(false),
        })
    }
}

/// `site_dir/folder`, which must be a folder.
fn existing_folder(key: &Key, field: &str, site_dir: &Path, folder: &Path) -> Result<PathBuf, String> {
    if folder.as_os_str().is_empty() {
        return Err(format!("{}: must name a folder", key.of(field)));
    }
    let full = site_dir.join(folder);
    if !full.is_dir() {
        return Err(format!(
            "{}: folder {} does not exist",
            key.of(field),
            full.display()
        ));
    }
    Ok(full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        config::tests::parse,
        parse_cases::{self, ParseCase},
    };

    #[test]
    fn warm_up_paths_are_kept_in_order() {
        let text = "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nwarm_up = [\"/\", \"/items/7?page=2&q=%C3%A9\"]\n";
        let config = parse(text).unwrap();
        assert_eq!(
            config.mounts[0].app().unwrap().warm_up,
            ["/", "/items/7?page=2&q=%C3%A9"]
        );
    }

    #[test]
    fn build_commands_are_kept_in_order() {
        let text = "[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n\
                    build = [\"manage.py collectstatic --noinput\", \"-m compileall -q .\"]\n";
        let config = parse(text).unwrap();
        assert_eq!(
            config.mounts[0].app().unwrap().build,
            ["manage.py collectstatic --noinput", "-m compileall -q ."]
        );
        let none = parse("[[mount]]\npath = \"/\"\napp = \"apps/hello\"\n").unwrap();
        assert!(none.mounts[0].app().unwrap().build.is_empty());
    }

    #[test]
    fn names_default_to_the_last_path_segment() {
        let text = "[[mount]]\npath = \"/api/v1\"\napp = \"apps/hello\"\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"\nname = \"site\"\n";
        let config = parse(text).unwrap();
        assert_eq!(config.mounts[0].name, "v1");
        assert_eq!(config.mounts[1].name, "site");
    }

    /// One line a case: a value and what parsing it gives.
    #[test]
    fn values_are_checked_as_they_are_parsed() {
        let paths: &[ParseCase] = &[
            ("/", Ok("/")),
            ("/api/v1", Ok("/api/v1")),
            ("/a-b.c_d~e", Ok("/a-b.c_d~e")),
            ("api", Err("\"api\" must start with '/'")),
            ("/api/", Err("must not end with '/'")),
            ("//api", Err("empty segments")),
            ("/a/../b", Err("'.' or '..'")),
            ("/a b", Err("character ' ' is not allowed")),
        ];
        let entries: &[ParseCase] = &[
            ("app:app", Ok("app:app")),
            ("mysite.wsgi:application", Ok("mysite.wsgi:application")),
            ("app", Err("must look like \"module:attribute\"")),
            ("app:", Err("with Python identifiers")),
            ("1app:x", Err("with Python identifiers")),
            ("flaskr:create_app()", Ok("flaskr:create_app()")),
            ("pkg.factories:make.app()", Ok("pkg.factories:make.app()")),
            ("app:create_app('x')", Err("with Python identifiers")),
            ("app:()", Err("with Python identifiers")),
            ("app:create_app()()", Err("with Python identifiers")),
        ];
        let mut failures =
            parse_cases::mismatches(paths, |text| text.parse::<MountPath>().map(|p| p.to_string()));
        failures.extend(parse_cases::mismatches(entries, |text| {
            text.parse::<Entry>().map(|e| e.to_string())
        }));
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
