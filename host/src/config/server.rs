//! `[server]`: the listeners and their limits.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use serde::Deserialize;

use super::{Secret, deserialize_from_str};
use crate::units::{ByteSize, HumanDuration};

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `listen = "127.0.0.1:8080"`: where the site is served.
    pub listen: SocketAddr,
    /// `tls_listen = "0.0.0.0:8443"`: where the site is also served over
    /// TLS (HTTP/1.1 and HTTP/2 by ALPN), with the `[[tls]]` certificates.
    pub tls_listen: Option<SocketAddr>,
    /// `admin = "127.0.0.1:8081"` (or `"off"`): the control API's address.
    pub admin: AdminAddress,
    /// `admin_token = "env:TERRARIUM_ADMIN_TOKEN"` (or the token itself).
    pub admin_token: Option<Secret>,
    /// `shutdown_grace = "10s"`: how long requests in flight may finish on shutdown.
    pub shutdown_grace: HumanDuration,
    /// `max_connections = 10000`: open connections accepted at once.
    pub max_connections: usize,
    /// `header_timeout = "30s"`: how long a client may take to send a
    /// request head, counted from the connection's start or the end of the
    /// previous response.
    pub header_timeout: HumanDuration,
    /// `keep_alive = "5s"`: how long a connection may stay idle between
    /// requests before it is closed (at most `header_timeout`).
    pub keep_alive: HumanDuration,
    /// `body_timeout = "30s"`: the longest wait for the next part of a
    /// request body; 408 after it.
    pub body_timeout: HumanDuration,
    /// `min_body_rate = "8KiB"`: bytes per second a body must average once
    /// it has taken longer than `body_timeout`, so a trickle cannot hold a
    /// connection (and the memory of its body) for long; 408 below it.
    pub min_body_rate: ByteSize,
    /// `max_buffered_bodies = "4GiB"`: request-body bytes the whole site
    /// holds in memory at once; past it a body gets 503. Default: a quarter
    /// of the machine's memory.
    pub max_buffered_bodies: Option<ByteSize>,
    /// `workers = "auto"` (one per core) or a number: threads that each run
    /// an event loop with its own share of every app's instances.
    pub workers: Workers,
    /// `access_log = "stderr"` (or a file, relative to the site folder, or
    /// `"off"`): where the line per request goes.
    pub access_log: AccessLogTarget,
    /// `memory_reset = "auto"` (or `"decommit"`): how a sandbox's memory is
    /// made fresh for the next instance.
    pub memory_reset: MemoryResetSetting,
    /// `max_instances = 1500`: instances alive at once across all apps;
    /// when they are all taken, an app that needs one more retires the
    /// least recently used idle instance of any app. Default: derived from
    /// the machine's memory (see `sandbox::budget`).
    pub max_instances: Option<u32>,
    /// `unknown_host = "404"` (or `"421"`): the answer to a request for a
    /// host that no mount serves, when no mount is without `host`.
    pub unknown_host: UnknownHost,
    /// `log_level = "info"`: the least severe of an app's log records
    /// kept, for the mounts that do not set their own.
    pub log_level: LogLevel,
    /// `log_rate = 1000`: an app's log records kept a second (and at most
    /// at once), for the mounts that do not set their own; past it they
    /// are dropped and counted.
    pub log_rate: LogRate,
    /// `log_format = "text"` (or `"json"`): how the server's log, the
    /// access log and the apps' records are written.
    pub log_format: LogFormat,
    /// `log_sdk_frames = false`: whether the tracebacks of the apps'
    /// exceptions keep the frames of Terrarium's own SDK (for debugging
    /// Terrarium itself).
    pub log_sdk_frames: bool,
}

/// `log_level`: the least severe of an app's log records kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// Info, warnings and errors (print() and stdout are info, stderr warnings).
    #[default]
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only (unhandled exceptions among them).
    Error,
}

impl LogLevel {
    /// The same level in `tracing`'s terms.
    pub fn as_tracing(self) -> tracing::Level {
        match self {
            Self::Debug => tracing::Level::DEBUG,
            Self::Info => tracing::Level::INFO,
            Self::Warning => tracing::Level::WARN,
            Self::Error => tracing::Level::ERROR,
        }
    }
}

/// `log_rate`: 1 to 1,000,000 records a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u32")]
pub struct LogRate(pub u32);

impl Default for LogRate {
    fn default() -> Self {
        Self(1000)
    }
}

impl TryFrom<u32> for LogRate {
    type Error = String;

    fn try_from(rate: u32) -> Result<Self, String> {
        if rate == 0 || rate > 1_000_000 {
            return Err(format!("{rate} is not between 1 and 1000000 records a second"));
        }
        Ok(Self(rate))
    }
}

/// `log_format`: how every log line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// For people: `2026-12-06T12:00:00.123Z  INFO guest: message app="a" …`.
    #[default]
    Text,
    /// For machines: one JSON object a line, with the fields README lists.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("expected \"text\" or \"json\", not {other:?}")),
        }
    }
}

deserialize_from_str!(LogFormat, "a string: \"text\" or \"json\"");

/// `server.unknown_host`: how a request for a host no mount serves is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum UnknownHost {
    /// 404 Not Found.
    #[default]
    #[serde(rename = "404")]
    NotFound,
    /// 421 Misdirected Request: the client may retry on another connection.
    #[serde(rename = "421")]
    Misdirected,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls_listen: None,
            admin: AdminAddress::At(SocketAddr::from(([127, 0, 0, 1], 8081))),
            admin_token: None,
            shutdown_grace: HumanDuration(Duration::from_secs(10)),
            max_connections: 10_000,
            header_timeout: HumanDuration(Duration::from_secs(30)),
            keep_alive: HumanDuration(Duration::from_secs(5)),
            body_timeout: HumanDuration(Duration::from_secs(30)),
            min_body_rate: ByteSize(8 << 10),
            max_buffered_bodies: None,
            workers: Workers::Auto,
            access_log: AccessLogTarget::Stderr,
            memory_reset: MemoryResetSetting::Auto,
            max_instances: None,
            unknown_host: UnknownHost::NotFound,
            log_level: LogLevel::Info,
            log_rate: LogRate::default(),
            log_format: LogFormat::Text,
            log_sdk_frames: false,
        }
    }
}

/// The largest `max_instances` accepted.
pub const MAX_INSTANCE_BUDGET: u32 = 100_000;

/// The shortest `admin_token` accepted, in bytes.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

impl ServerConfig {
    /// Checks what a value's type cannot, and takes relative paths from `site_dir`.
    pub(super) fn resolve(mut self, site_dir: &Path) -> Result<Self, String> {
        if self.max_connections == 0 {
            return Err("server.max_connections: must be at least 1".to_owned());
        }
        if let Some(count) = self.max_instances
            && !(1..=MAX_INSTANCE_BUDGET).contains(&count)
        {
            return Err(format!(
                "server.max_instances: {count} is not between 1 and {MAX_INSTANCE_BUDGET}"
            ));
        }
        for (key, timeout) in [
            ("header_timeout", self.header_timeout),
            ("keep_alive", self.keep_alive),
            ("body_timeout", self.body_timeout),
        ] {
            if timeout.0 < Duration::from_millis(100) || timeout.0 > Duration::from_secs(3600) {
                return Err(format!(
                    "server.{key}: {:?} is out of range; use 100ms to 1h",
                    timeout.0
                ));
            }
        }
        if self.keep_alive.0 > self.header_timeout.0 {
            return Err(format!(
                "server.keep_alive: {:?} is longer than server.header_timeout ({:?}), which also ends \
                 an idle connection; raise header_timeout or shorten keep_alive",
                self.keep_alive.0, self.header_timeout.0
            ));
        }
        if self.min_body_rate.0 == 0 {
            return Err("server.min_body_rate: must be at least 1B (bytes per second)".to_owned());
        }
        if let Some(token) = &self.admin_token
            && token.expose().len() < MIN_ADMIN_TOKEN_LEN
        {
            return Err(format!(
                "server.admin_token: must be at least {MIN_ADMIN_TOKEN_LEN} bytes long"
            ));
        }
        self.check_admin_exposure()?;
        self.access_log = self.access_log.relative_to(site_dir);
        Ok(self)
    }

    /// A control API reachable from other machines must require a token:
    /// refuses a non-loopback `admin` address without `admin_token`. Checked
    /// when the file is parsed, and again by `launch` after `--admin`.
    pub fn check_admin_exposure(&self) -> Result<(), String> {
        match self.admin.address() {
            Some(address) if !address.ip().is_loopback() && self.admin_token.is_none() => Err(format!(
                "server.admin: {address} is reachable from other machines, so the control API needs \
                 server.admin_token (at least {MIN_ADMIN_TOKEN_LEN} bytes, e.g. \"env:TERRARIUM_ADMIN_TOKEN\"); \
                 or listen on a loopback address"
            )),
            _ => Ok(()),
        }
    }
}

/// Where the control API listens: `"127.0.0.1:8081"`, or `"off"`. The same
/// text is accepted by `server.admin` and by `terrarium serve --admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAddress {
    /// No control API.
    Off,
    /// Listening on this address (port 0 picks a free port).
    At(SocketAddr),
}

impl AdminAddress {
    /// The address, unless the control API is off.
    pub fn address(self) -> Option<SocketAddr> {
        match self {
            Self::Off => None,
            Self::At(address) => Some(address),
        }
    }
}

impl FromStr for AdminAddress {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "off" {
            return Ok(Self::Off);
        }
        text.parse()
            .map(Self::At)
            .map_err(|_| format!("{text:?} is not an address like \"127.0.0.1:8081\" or \"off\""))
    }
}

deserialize_from_str!(AdminAddress, "an address like \"127.0.0.1:8081\" or \"off\"");

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

impl FromStr for AccessLogTarget {
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

deserialize_from_str!(AccessLogTarget, "a string: \"stderr\", \"off\" or a file path");

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

impl FromStr for Workers {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        SiteConfig,
        tests::{MINIMAL, parse, site_with_app},
    };

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
            (
                "\"\"",
                Err("server.access_log: expected \"stderr\", \"off\" or a file path, not an empty string"),
            ),
            (
                "false",
                Err("server.access_log: invalid type: boolean `false`, expected a string"),
            ),
        ];
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(value, expected)| match (with(value), expected) {
                (Ok(config), Ok(target)) if &config.server.access_log == target => None,
                (Err(problem), Err(part)) if problem.contains(part) => None,
                (got, _) => Some(format!("access_log = {value}: {got:?}")),
            })
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
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
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(value, expected)| match (with(value), expected) {
                (Ok(config), Ok(workers)) if config.server.workers == *workers => None,
                (Err(problem), Err(part)) if problem.contains("server.workers") && problem.contains(part) => {
                    None
                }
                (got, _) => Some(format!("workers = {value}: {got:?}")),
            })
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
        assert_eq!(Workers::Count(3).resolve(), 3);
    }

    #[test]
    fn the_admin_address_is_an_address_or_off_in_the_file_and_on_the_command_line() {
        let cases: &[(&str, Result<AdminAddress, &str>)] = &[
            ("off", Ok(AdminAddress::Off)),
            (
                "127.0.0.1:0",
                Ok(AdminAddress::At("127.0.0.1:0".parse().unwrap())),
            ),
            ("[::1]:9000", Ok(AdminAddress::At("[::1]:9000".parse().unwrap()))),
            (
                "everywhere",
                Err("\"everywhere\" is not an address like \"127.0.0.1:8081\" or \"off\""),
            ),
            ("localhost:8081", Err("is not an address")),
        ];
        for (text, expected) in cases {
            match (text.parse::<AdminAddress>(), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, *want, "{text}"),
                (Err(problem), Err(part)) => assert!(problem.contains(part), "{text}: {problem}"),
                (got, _) => panic!("{text}: {got:?}"),
            }
        }
        let config = parse(&format!("[server]\nadmin = \"off\"\n{MINIMAL}")).unwrap();
        assert_eq!(config.server.admin.address(), None);
    }
}

/// `server.memory_reset`: how the memory a sandbox used is made fresh for
/// the next instance in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemoryResetSetting {
    /// Only the pages it dirtied are copied back (fast) where that is safe:
    /// no swap, no zswap, a kernel with `PAGEMAP_SCAN`; every page dropped
    /// elsewhere. Decided at start.
    #[default]
    Auto,
    /// Every page dropped, always (for a host that may turn swap on later).
    Decommit,
}

impl FromStr for MemoryResetSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Self::Auto),
            "decommit" => Ok(Self::Decommit),
            other => Err(format!("expected \"auto\" or \"decommit\", not {other:?}")),
        }
    }
}

deserialize_from_str!(MemoryResetSetting, "a string: \"auto\" or \"decommit\"");
