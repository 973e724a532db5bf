//! Sessions owned by the host, so an app's session outlives its sandbox.
//!
//! - [`cookie`]: session ids and the signed cookie that carries them.
//! - [`memory`], [`file`], [`redis`]: the stores; each implements [`SessionStore`].
//!
//! [`Sessions`] ties them together for the request pipeline: it reads the
//! mount's cookie, verifies it, loads the session (a missing, forged,
//! malformed or expired cookie just starts a fresh, empty one), and after
//! the app answered it applies the app's change and sets the cookie.
//!
//! ## Adding a store
//! Implement [`SessionStore`] (load, save, delete, sweep; async) for your
//! type, add a variant to `config::SessionStoreKind` and build it in
//! [`Sessions::from_config`]. Keys are validated before they reach a store.

pub mod cookie;
pub mod file;
pub mod memory;
pub mod redis;

use std::{
    net::IpAddr,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};

use crate::config::{SecureCookies, SessionStoreKind, SessionsConfig};

/// Where one session lives: the mount's namespace and the session id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    /// The mount's name: each mount has its own namespace.
    pub namespace: String,
    /// The session id (validated: 43 base64url characters).
    pub id: String,
}

/// A stored session: its data and its clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The app's data, a JSON object as text.
    pub data: String,
    /// When the session was created (seconds since the epoch).
    pub created: u64,
    /// When it was last used (seconds since the epoch).
    pub last_seen: u64,
}

/// Why a store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or failed (→ 503 for session mounts).
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
    /// The key is not one Terrarium would make.
    #[error("invalid session key")]
    InvalidKey,
}

/// A place to keep sessions. Implementations must be safe to share.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// The session under `key`, if there is one.
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError>;
    /// Stores `record` under `key`, replacing what was there.
    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError>;
    /// Removes the session under `key` (no error when there is none).
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError>;
    /// Removes every session `expiry` says is over; returns how many.
    async fn sweep(&self, expiry: Expiry) -> Result<usize, StoreError>;
}

/// When sessions end: idle for too long, or too old.
#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    /// The present, in seconds since the epoch.
    pub now: u64,
    /// The idle timeout, in seconds.
    pub idle: u64,
    /// The absolute timeout, in seconds.
    pub absolute: u64,
}

impl Expiry {
    /// Whether `record` is over.
    pub fn is_expired(&self, record: &SessionRecord) -> bool {
        self.now.saturating_sub(record.last_seen) > self.idle
            || self.now.saturating_sub(record.created) > self.absolute
    }
}

/// What the app did with the session (the contract's `session-change`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing.
    Unchanged,
    /// New data, same id.
    Save(String),
    /// New data under a fresh id.
    Regenerate(String),
    /// Delete it and its cookie.
    Destroy,
}

/// A session as loaded for one request.
#[derive(Debug, Clone)]
pub struct Loaded {
    namespace: String,
    id: Option<String>,
    record: SessionRecord,
}

impl Loaded {
    /// The data to hand to the app (a JSON object).
    pub fn data(&self) -> &str {
        &self.record.data
    }
}

/// The session machinery shared by every session-enabled mount of a site.
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    secrets: Vec<String>,
    idle: Duration,
    absolute: Duration,
    secure: SecureCookies,
    trusted_proxies: Vec<IpAddr>,
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Sessions {
    /// Builds the configured store.
    pub fn from_config(config: &SessionsConfig) -> Result<Self, String> {
        let store: Arc<dyn SessionStore> = match config.store {
            SessionStoreKind::Memory => Arc::new(memory::MemoryStore::new(config.max_sessions)),
            SessionStoreKind::File => {
                let path = config.path.as_ref().expect("checked by config");
                Arc::new(
                    file::FileStore::open(path)
                        .map_err(|e| format!("sessions.path: cannot use {}: {e}", path.display()))?,
                )
            }
            SessionStoreKind::Redis => {
                let url = config.url.as_deref().expect("checked by config");
                Arc::new(redis::RedisStore::new(
                    url,
                    config.idle_timeout.0,
                    config.absolute_timeout.0,
                )?)
            }
        };
        Ok(Self::with_store(store, config))
    }

    /// Uses `store` with the rest of `config` (for custom stores and tests).
    pub fn with_store(store: Arc<dyn SessionStore>, config: &SessionsConfig) -> Self {
        Self {
            store,
            secrets: config
                .secrets
                .iter()
                .map(|secret| secret.expose().to_owned())
                .collect(),
            idle: config.idle_timeout.0,
            absolute: config.absolute_timeout.0,
            secure: config.secure,
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }

    /// The cookie name for a mount: one cookie per mount, so mounts never share.
    pub fn cookie_name(namespace: &str) -> String {
        format!("tsid_{namespace}")
    }

    fn expiry(&self, now: u64) -> Expiry {
        Expiry {
            now,
            idle: self.idle.as_secs(),
            absolute: self.absolute.as_secs(),
        }
    }

    /// How stale `last_seen` may get before an unchanged session is written
    /// back anyway, to keep it from expiring while in use.
    fn refresh_after(&self) -> u64 {
        (self.idle.as_secs() / 4).clamp(1, 60)
    }

    /// Loads the session for `namespace` named by the request's cookie, or a
    /// fresh empty one.
    pub async fn load(&self, namespace: &str, headers: &HeaderMap) -> Result<Loaded, StoreError> {
        let at = now();
        let fresh = || Loaded {
            namespace: namespace.to_owned(),
            id: None,
            record: SessionRecord {
                data: "{}".into(),
                created: at,
                last_seen: at,
            },
        };
        let name = Self::cookie_name(namespace);
        let Some(id) = cookie_values(headers, &name)
            .find_map(|value| cookie::verify(&self.secrets, namespace, value).map(str::to_owned))
        else {
            return Ok(fresh());
        };
        let key = SessionKey {
            namespace: namespace.to_owned(),
            id,
        };
        match self.store.load(&key).await? {
            Some(record) if !self.expiry(at).is_expired(&record) => Ok(Loaded {
                namespace: namespace.to_owned(),
                id: Some(key.id),
                record,
            }),
            Some(_) => {
                self.store.delete(&key).await?;
                Ok(fresh())
            }
            None => Ok(fresh()),
        }
    }

    /// Applies the app's change; returns the Set-Cookie header to send, if any.
    pub async fn finish(
        &self,
        loaded: Loaded,
        change: Change,
        cookie_path: &str,
        secure: bool,
    ) -> Result<Option<HeaderValue>, StoreError> {
        let at = now();
        let Loaded {
            namespace,
            id,
            mut record,
        } = loaded;
        let key_for = |id: String| SessionKey {
            namespace: namespace.clone(),
            id,
        };
        let cookie = |value: &str, expire: bool| {
            let mut text = format!(
                "{}={value}; Path={cookie_path}; HttpOnly; SameSite=Lax",
                Self::cookie_name(&namespace)
            );
            if expire {
                text.push_str("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
            }
            if secure {
                text.push_str("; Secure");
            }
            HeaderValue::from_str(&text).expect("cookie text is ASCII")
        };
        match change {
            Change::Unchanged => {
                if let Some(id) = id
                    && at.saturating_sub(record.last_seen) >= self.refresh_after()
                {
                    record.last_seen = at;
                    self.store.save(&key_for(id), &record).await?;
                }
                Ok(None)
            }
            Change::Save(data) => {
                record.data = data;
                record.last_seen = at;
                match id {
                    Some(id) => {
                        self.store.save(&key_for(id), &record).await?;
                        Ok(None)
                    }
                    None => {
                        let id = cookie::new_id();
                        self.store.save(&key_for(id.clone()), &record).await?;
                        Ok(Some(cookie(
                            &cookie::sign(&self.secrets[0], &namespace, &id),
                            false,
                        )))
                    }
                }
            }
            Change::Regenerate(data) => {
                let fresh = cookie::new_id();
                let renewed = SessionRecord {
                    data,
                    created: at,
                    last_seen: at,
                };
                self.store.save(&key_for(fresh.clone()), &renewed).await?;
                if let Some(old) = id {
                    self.store.delete(&key_for(old)).await?;
                }
                Ok(Some(cookie(
                    &cookie::sign(&self.secrets[0], &namespace, &fresh),
                    false,
                )))
            }
            Change::Destroy => {
                if let Some(old) = id {
                    self.store.delete(&key_for(old)).await?;
                }
                Ok(Some(cookie("", true)))
            }
        }
    }

    /// Whether the session cookie for this request gets `Secure`.
    pub fn secure_for(&self, scheme_is_https: bool, remote: IpAddr, headers: &HeaderMap) -> bool {
        match self.secure {
            SecureCookies::Always => true,
            SecureCookies::Never => false,
            SecureCookies::Auto => {
                scheme_is_https
                    || (self.trusted_proxies.contains(&remote)
                        && headers
                            .get("x-forwarded-proto")
                            .and_then(|v| v.to_str().ok())
                            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")))
            }
        }
    }

    /// Removes expired sessions now; returns how many.
    pub async fn sweep(&self) -> Result<usize, StoreError> {
        self.store.sweep(self.expiry(now())).await
    }

    /// Sweeps expired sessions in the background, every minute or idle/2.
    pub fn spawn_sweeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let sessions = Arc::downgrade(self);
        let every = (self.idle / 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(sessions) = sessions.upgrade() else {
                    return;
                };
                match sessions.sweep().await {
                    Ok(0) => {}
                    Ok(removed) => tracing::debug!("swept {removed} expired sessions"),
                    Err(error) => tracing::warn!("session sweep failed: {error}"),
                }
            }
        })
    }
}

/// The values of every cookie named `name` in the request.
fn cookie_values<'h>(headers: &'h HeaderMap, name: &'h str) -> impl Iterator<Item = &'h str> + 'h {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(move |pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key.trim() == name).then_some(value.trim())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::HumanDuration;

    fn sessions(store: Arc<dyn SessionStore>) -> Sessions {
        let config = SessionsConfig {
            secrets: vec![crate::config::Secret::new("a-secret-of-enough-length")],
            idle_timeout: HumanDuration(Duration::from_secs(60)),
            absolute_timeout: HumanDuration(Duration::from_secs(3600)),
            ..SessionsConfig::default()
        };
        Sessions::with_store(store, &config)
    }

    fn headers_with_cookie(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    fn cookie_pair(set_cookie: &HeaderValue) -> String {
        set_cookie.to_str().unwrap().split(';').next().unwrap().to_owned()
    }

    mod cookie_header {
        use proptest::prelude::*;

        use super::*;

        proptest! {
                /// The session cookie is found among any other cookies, in any
                /// order, spacing or number of Cookie headers; a header of any
                /// visible text never makes the parser panic.
                #[test]
                fn the_session_cookie_is_found_among_any_others(
                    others in prop::collection::vec("[a-z_]{1,8}=[!#-+\\--:<-\\[\\]-~]{0,12}|[a-z]{0,3}|=|;| ", 0..8),
                    at in any::<prop::sample::Index>(),
                    headers_split in 1..4usize,
                separator in prop::sample::select(vec![";", "; ", " ;  ", ";\t"]),
                    junk in "[ -~]{0,60}",
                ) {
                    let target = format!("tsid_app={}", cookie::sign("s", "app", &cookie::new_id()));
                    let mut pairs: Vec<String> = others.into_iter().filter(|p| !p.starts_with("tsid_app=")).collect();
                    pairs.insert(at.index(pairs.len() + 1), target.clone());
                    let mut headers = HeaderMap::new();
                    for chunk in pairs.chunks(pairs.len().div_ceil(headers_split)) {
                        headers.append(header::COOKIE, HeaderValue::from_str(&chunk.join(separator)).unwrap());
                    }
                    let found: Vec<&str> = cookie_values(&headers, "tsid_app").collect();
                    prop_assert_eq!(found, vec![&target["tsid_app=".len()..]]);

                    let headers = headers_with_cookie(&junk);
                    let _ = cookie_values(&headers, "tsid_app").count();
                }
        }
    }

    #[tokio::test]
    async fn a_session_is_created_only_when_written_and_then_found_again() {
        let store = Arc::new(memory::MemoryStore::new(100));
        let sessions = sessions(store.clone());
        let fresh = sessions.load("blog", &HeaderMap::new()).await.unwrap();
        assert_eq!(fresh.data(), "{}");
        assert!(
            sessions
                .finish(fresh.clone(), Change::Unchanged, "/blog", false)
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.is_empty(), "an untouched fresh session is never stored");

        let set = sessions
            .finish(fresh, Change::Save("{\"n\":1}".into()), "/blog", true)
            .await
            .unwrap()
            .unwrap();
        let text = set.to_str().unwrap();
        assert!(
            text.starts_with("tsid_blog=") && text.contains("Path=/blog; HttpOnly; SameSite=Lax; Secure"),
            "{text}"
        );
        let again = sessions
            .load("blog", &headers_with_cookie(&cookie_pair(&set)))
            .await
            .unwrap();
        assert_eq!(again.data(), "{\"n\":1}");
        let other_mount = sessions
            .load("api", &headers_with_cookie(&cookie_pair(&set)))
            .await
            .unwrap();
        assert_eq!(other_mount.data(), "{}", "another mount never sees it");
    }

    #[tokio::test]
    async fn regenerate_moves_the_data_and_destroy_ends_it() {
        let store = Arc::new(memory::MemoryStore::new(100));
        let sessions = sessions(store.clone());
        let first = sessions.load("app", &HeaderMap::new()).await.unwrap();
        let set = sessions
            .finish(first, Change::Save("{\"a\":1}".into()), "/", false)
            .await
            .unwrap()
            .unwrap();
        let old_cookie = cookie_pair(&set);
        let loaded = sessions
            .load("app", &headers_with_cookie(&old_cookie))
            .await
            .unwrap();
        let renewed = sessions
            .finish(loaded, Change::Regenerate("{\"a\":2}".into()), "/", false)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(cookie_pair(&renewed), old_cookie);
        assert_eq!(
            sessions
                .load("app", &headers_with_cookie(&old_cookie))
                .await
                .unwrap()
                .data(),
            "{}"
        );
        let current = sessions
            .load("app", &headers_with_cookie(&cookie_pair(&renewed)))
            .await
            .unwrap();
        assert_eq!(current.data(), "{\"a\":2}");
        let gone = sessions
            .finish(current, Change::Destroy, "/", false)
            .await
            .unwrap()
            .unwrap();
        assert!(gone.to_str().unwrap().contains("Max-Age=0"));
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn expired_sessions_start_fresh_and_are_swept() {
        let store = Arc::new(memory::MemoryStore::new(100));
        let sessions = sessions(store.clone());
        let id = cookie::new_id();
        let key = SessionKey {
            namespace: "app".into(),
            id: id.clone(),
        };
        let stale = SessionRecord {
            data: "{\"old\":1}".into(),
            created: now() - 100,
            last_seen: now() - 100,
        };
        store.save(&key, &stale).await.unwrap();
        let value = cookie::sign("a-secret-of-enough-length", "app", &id);
        let loaded = sessions
            .load("app", &headers_with_cookie(&format!("tsid_app={value}")))
            .await
            .unwrap();
        assert_eq!(loaded.data(), "{}", "idle for longer than idle_timeout");
        assert!(store.is_empty(), "and removed");

        let ancient = SessionRecord {
            data: "{}".into(),
            created: now() - 7200,
            last_seen: now(),
        };
        store.save(&key, &ancient).await.unwrap();
        store
            .save(
                &SessionKey {
                    namespace: "app".into(),
                    id: cookie::new_id(),
                },
                &SessionRecord {
                    data: "{}".into(),
                    created: now(),
                    last_seen: now(),
                },
            )
            .await
            .unwrap();
        assert_eq!(sessions.sweep().await.unwrap(), 1, "past absolute_timeout");
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn the_memory_store_stays_bounded() {
        let store = memory::MemoryStore::new(50);
        for _ in 0..200 {
            let key = SessionKey {
                namespace: "app".into(),
                id: cookie::new_id(),
            };
            store
                .save(
                    &key,
                    &SessionRecord {
                        data: "{}".into(),
                        created: 0,
                        last_seen: 0,
                    },
                )
                .await
                .unwrap();
        }
        assert!(store.len() <= 50);
    }

    #[tokio::test]
    async fn a_flood_of_sessions_that_never_come_back_cannot_evict_one_that_did() {
        let store = memory::MemoryStore::new(50);
        let key = |id: &str| SessionKey {
            namespace: "app".into(),
            id: id.into(),
        };
        let record = |seen: u64| SessionRecord {
            data: "{}".into(),
            created: seen,
            last_seen: seen,
        };
        // The user: saved first (so the oldest), then back with its cookie.
        store.save(&key("user"), &record(0)).await.unwrap();
        assert!(store.load(&key("user")).await.unwrap().is_some());
        for n in 0..500u64 {
            store
                .save(&key(&format!("anon-{n}")), &record(n + 1))
                .await
                .unwrap();
        }
        assert!(store.len() <= 50);
        assert!(
            store.load(&key("user")).await.unwrap().is_some(),
            "the returning session outlived the flood"
        );
        assert!(
            store.load(&key("anon-0")).await.unwrap().is_none(),
            "the oldest anonymous ones went"
        );
    }

    #[test]
    fn secure_cookies_follow_the_mode_and_trusted_proxies() {
        let mut config = SessionsConfig {
            secrets: vec![crate::config::Secret::new("x".repeat(16))],
            ..SessionsConfig::default()
        };
        config.trusted_proxies = vec!["10.0.0.1".parse().unwrap()];
        let sessions = Sessions::with_store(Arc::new(memory::MemoryStore::new(1)), &config);
        let forwarded = {
            let mut headers = HeaderMap::new();
            headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
            headers
        };
        assert!(sessions.secure_for(true, "1.2.3.4".parse().unwrap(), &HeaderMap::new()));
        assert!(sessions.secure_for(false, "10.0.0.1".parse().unwrap(), &forwarded));
        assert!(
            !sessions.secure_for(false, "1.2.3.4".parse().unwrap(), &forwarded),
            "untrusted peer"
        );
        assert!(!sessions.secure_for(false, "10.0.0.1".parse().unwrap(), &HeaderMap::new()));
    }

    #[tokio::test]
    async fn the_file_store_refuses_crafted_keys_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = file::FileStore::open(dir.path()).unwrap();
        let bad = SessionKey {
            namespace: "app".into(),
            id: "../../etc/passwd".into(),
        };
        assert!(matches!(store.load(&bad).await, Err(StoreError::InvalidKey)));
        let bad_namespace = SessionKey {
            namespace: "../x".into(),
            id: cookie::new_id(),
        };
        assert!(matches!(
            store
                .save(
                    &bad_namespace,
                    &SessionRecord {
                        data: "{}".into(),
                        created: 0,
                        last_seen: 0
                    }
                )
                .await,
            Err(StoreError::InvalidKey)
        ));
        let key = SessionKey {
            namespace: "app".into(),
            id: cookie::new_id(),
        };
        let record = SessionRecord {
            data: "{\"k\":[1,2]}".into(),
            created: 5,
            last_seen: 6,
        };
        store.save(&key, &record).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), Some(record));
        store.delete(&key).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), None);
        store.delete(&key).await.unwrap();
    }
}
