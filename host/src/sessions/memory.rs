//! Sessions in this process's memory: fast, lost on restart, one host only.
//! Bounded: beyond `max_sessions` the least recently seen are dropped, and
//! a sweep removes expired ones.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{Expiry, SessionKey, SessionRecord, SessionStore, StoreError};

/// The memory store.
pub struct MemoryStore {
    sessions: Mutex<HashMap<SessionKey, SessionRecord>>,
    max_sessions: usize,
}

impl MemoryStore {
    /// An empty store holding at most `max_sessions`.
    pub fn new(max_sessions: usize) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            max_sessions,
        }
    }

    /// Sessions held right now.
    pub fn len(&self) -> usize {
        self.sessions.lock().unwrap().len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.sessions.lock().unwrap().get(key).cloned())
    }

    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        if sessions.len() >= self.max_sessions && !sessions.contains_key(key) {
            // Drop the least recently seen tenth, so eviction is not paid per insert.
            let mut by_age: Vec<(u64, SessionKey)> =
                sessions.iter().map(|(k, r)| (r.last_seen, k.clone())).collect();
            by_age.sort_unstable_by_key(|(seen, _)| *seen);
            for (_, old) in by_age.into_iter().take((self.max_sessions / 10).max(1)) {
                sessions.remove(&old);
            }
        }
        sessions.insert(key.clone(), record.clone());
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.sessions.lock().unwrap().remove(key);
        Ok(())
    }

    async fn sweep(&self, expiry: Expiry) -> Result<usize, StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        let before = sessions.len();
        sessions.retain(|_, record| !expiry.is_expired(record));
        Ok(before - sessions.len())
    }
}
