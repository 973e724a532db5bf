//! Sessions in this process's memory: fast, lost on restart, one host only.
//! Bounded: beyond `max_sessions` a tenth is dropped, sessions that never
//! came back first (oldest first), then the least recently seen; so a flood
//! of anonymous one-request sessions cannot push out a user who is logged
//! in. A sweep removes expired ones.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{Expiry, SessionKey, SessionRecord, SessionStore, StoreError};

/// The memory store.
pub struct MemoryStore {
    sessions: Mutex<HashMap<SessionKey, Held>>,
    max_sessions: usize,
}

/// A session as the store holds it.
struct Held {
    record: SessionRecord,
    /// Whether it was ever loaded again after it was first saved (its
    /// cookie came back).
    returned: bool,
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
        let mut sessions = self.sessions.lock().unwrap();
        Ok(sessions.get_mut(key).map(|held| {
            held.returned = true;
            held.record.clone()
        }))
    }

    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        if let Some(held) = sessions.get_mut(key) {
            held.record = record.clone();
            return Ok(());
        }
        if sessions.len() >= self.max_sessions {
            // Drop a tenth at once, so eviction is not paid per insert:
            // never-returned sessions first, then the least recently seen.
            let mut by_worth: Vec<(bool, u64, SessionKey)> = sessions
                .iter()
                .map(|(k, held)| (held.returned, held.record.last_seen, k.clone()))
                .collect();
            by_worth.sort_unstable_by_key(|(returned, seen, _)| (*returned, *seen));
            for (_, _, old) in by_worth.into_iter().take((self.max_sessions / 10).max(1)) {
                sessions.remove(&old);
            }
        }
        sessions.insert(
            key.clone(),
            Held {
                record: record.clone(),
                returned: false,
            },
        );
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.sessions.lock().unwrap().remove(key);
        Ok(())
    }

    async fn sweep(&self, expiry: Expiry) -> Result<usize, StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        let before = sessions.len();
        sessions.retain(|_, held| !expiry.is_expired(&held.record));
        Ok(before - sessions.len())
    }
}
