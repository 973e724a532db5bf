//! `[sessions]`: the host-owned session store shared by session-enabled mounts.

use std::{path::Path, path::PathBuf, time::Duration};

use serde::Deserialize;

use super::Secret;
use crate::units::HumanDuration;

/// The shortest session secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

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

/// `[sessions]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    /// `store = "memory"` | `"file"` | `"redis"`
    pub store: SessionStoreKind,
    /// `path = "var/sessions"` (file store; made absolute)
    pub path: Option<PathBuf>,
    /// `url = "redis://127.0.0.1:6379/0"` (redis store)
    pub url: Option<String>,
    /// `secrets = ["env:TERRARIUM_SESSION_SECRET"]`: the first signs, all verify.
    pub secrets: Vec<Secret>,
    /// `idle_timeout = "30m"`
    pub idle_timeout: HumanDuration,
    /// `absolute_timeout = "7d"`
    pub absolute_timeout: HumanDuration,
    /// `secure = "auto"` | `"always"` | `"never"`
    pub secure: SecureCookies,
    /// `trusted_proxies = ["127.0.0.1"]`: peers whose X-Forwarded-Proto is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `max_sessions = 100000` (memory store: the oldest are dropped beyond it)
    pub max_sessions: usize,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            store: SessionStoreKind::Memory,
            path: None,
            url: None,
            secrets: Vec::new(),
            idle_timeout: HumanDuration(Duration::from_secs(30 * 60)),
            absolute_timeout: HumanDuration(Duration::from_secs(7 * 86_400)),
            secure: SecureCookies::Auto,
            trusted_proxies: Vec::new(),
            max_sessions: 100_000,
        }
    }
}

impl SessionsConfig {
    /// Checks what needs the rest of the file (the store's own keys, a
    /// secret when some mount has `sessions = true`), and takes the file
    /// store's folder from `site_dir`.
    pub(super) fn resolve(mut self, site_dir: &Path, used: bool) -> Result<Self, String> {
        self.path = self.path.map(|path| site_dir.join(path));
        match self.store {
            SessionStoreKind::File if self.path.is_none() => {
                return Err("sessions.path: the file store needs a folder (path = \"var/sessions\")".into());
            }
            SessionStoreKind::Redis if self.url.is_none() => {
                return Err(
                    "sessions.url: the redis store needs a URL (url = \"redis://127.0.0.1:6379/0\")".into(),
                );
            }
            _ => {}
        }
        if let Some(url) = &self.url
            && !["redis://", "rediss://", "redis+unix://"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
        {
            return Err(format!("sessions.url: {url:?} is not a redis:// URL"));
        }
        if let Some(index) = self
            .secrets
            .iter()
            .position(|secret| secret.expose().len() < MIN_SECRET_LEN)
        {
            return Err(format!(
                "sessions.secrets[{index}]: must be at least {MIN_SECRET_LEN} bytes long"
            ));
        }
        if used && self.secrets.is_empty() {
            return Err(
                "sessions.secrets: a mount has `sessions = true`, so at least one secret is needed \
                 (secrets = [\"env:TERRARIUM_SESSION_SECRET\"])"
                    .into(),
            );
        }
        if self.idle_timeout.0 < Duration::from_secs(1) || self.absolute_timeout.0 < self.idle_timeout.0 {
            return Err(
                "sessions.absolute_timeout: must be at least idle_timeout (and idle_timeout at least 1s)"
                    .into(),
            );
        }
        if self.max_sessions == 0 {
            return Err("sessions.max_sessions: must be at least 1".into());
        }
        Ok(self)
    }
}
