//! Sessions in Redis, shared by every host that points at the same server.
//!
//! One key per session, `terrarium:session:<namespace>:<id>`, holding the
//! record as JSON, with a TTL that ends it at its idle or absolute deadline,
//! whichever comes first: Redis does the expiring. The connection is made
//! lazily and managed (multiplexed, reconnecting by itself), so the server
//! starts even while Redis is down; meanwhile every operation fails fast as
//! `Unavailable` (→ 503 on session mounts only) until Redis is back.
//!
//! Every command runs on the runtime the store was made on (the server's
//! main runtime, beside the worker threads): the connection's background
//! tasks, also those a reconnect starts, live there, never on a worker that
//! is busy running a guest or that stops before the others at shutdown.

use std::{future::Future, sync::Arc, time::Duration};

use async_trait::async_trait;
use redis::{
    AsyncCommands, Client,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::sync::Mutex;

use super::{Expiry, SessionKey, SessionRecord, SessionStore, StoreError};

/// How long one Redis round trip or connection attempt may take.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The Redis store.
pub struct RedisStore {
    link: Arc<Link>,
    /// Where commands run; `None` when made outside any runtime (then they
    /// run wherever they are awaited).
    home: Option<tokio::runtime::Handle>,
    idle: u64,
    absolute: u64,
}

/// The client and its lazily made connection.
struct Link {
    client: Client,
    connection: Mutex<Option<ConnectionManager>>,
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("redis: {error}"))
}

impl RedisStore {
    /// A store for the server at `url`; connects on first use.
    pub fn new(url: &str, idle: Duration, absolute: Duration) -> Result<Self, String> {
        let client = Client::open(url).map_err(|e| format!("sessions.url: {e}"))?;
        Ok(Self {
            link: Arc::new(Link {
                client,
                connection: Mutex::new(None),
            }),
            home: tokio::runtime::Handle::try_current().ok(),
            idle: idle.as_secs(),
            absolute: absolute.as_secs(),
        })
    }

    /// Runs `command` with a connection, on the store's home runtime.
    async fn run<T, F>(
        &self,
        command: impl FnOnce(ConnectionManager) -> F + Send + 'static,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let link = self.link.clone();
        let pending = async move {
            let connection = link.connection().await?;
            command(connection).await
        };
        match &self.home {
            Some(home) => home
                .spawn(pending)
                .await
                .unwrap_or_else(|_| Err(unavailable("the command's task ended early"))),
            None => pending.await,
        }
    }

    fn key(key: &SessionKey) -> Result<String, StoreError> {
        if !super::cookie::is_valid_id(&key.id) || key.namespace.contains(':') {
            return Err(StoreError::InvalidKey);
        }
        Ok(format!("terrarium:session:{}:{}", key.namespace, key.id))
    }

    /// Seconds until `record` is over: its idle or its absolute deadline.
    fn ttl(&self, record: &SessionRecord) -> u64 {
        let now = super::now();
        let idle_end = record.last_seen + self.idle;
        let absolute_end = record.created + self.absolute;
        idle_end.min(absolute_end).saturating_sub(now).max(1)
    }
}

impl Link {
    /// The connection, made on first use (and kept: it reconnects by itself).
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = tokio::time::timeout(
            TIMEOUT,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| unavailable("timed out connecting"))?
        .map_err(unavailable)?;
        *slot = Some(connection.clone());
        Ok(connection)
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let name = Self::key(key)?;
        let text: Option<String> = self
            .run(move |mut connection| async move { connection.get(&name).await.map_err(unavailable) })
            .await?;
        Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
    }

    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        let name = Self::key(key)?;
        let text = serde_json::to_string(record).expect("a record serializes");
        let ttl = self.ttl(record);
        self.run(move |mut connection| async move {
            connection.set_ex(&name, text, ttl).await.map_err(unavailable)
        })
        .await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let name = Self::key(key)?;
        self.run(move |mut connection| async move {
            let _: i64 = connection.del(&name).await.map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn sweep(&self, _expiry: Expiry) -> Result<usize, StoreError> {
        Ok(0) // Redis expires keys by their TTL.
    }
}
