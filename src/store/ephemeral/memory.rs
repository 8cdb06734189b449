//! The in-process ephemeral store: a map with expiry, for a single node.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    invalidations: broadcast::Sender<String>,
}

struct Inner {
    entries: HashMap<String, (String, Instant)>,
    writes_since_sweep: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        let (invalidations, _) = broadcast::channel(1024);
        Self {
            inner: Arc::new(Mutex::new(Inner {
                entries: HashMap::new(),
                writes_since_sweep: 0,
            })),
            invalidations,
        }
    }

    fn live(entry: Option<&(String, Instant)>, now: Instant) -> Option<&String> {
        entry.filter(|(_, until)| *until > now).map(|(v, _)| v)
    }

    fn after_write(inner: &mut Inner, now: Instant) {
        inner.writes_since_sweep += 1;
        // Amortised sweep of expired entries so the map cannot grow without bound.
        if inner.writes_since_sweep >= 1024 {
            inner.writes_since_sweep = 0;
            inner.entries.retain(|_, (_, until)| *until > now);
        }
    }

    pub fn put(&self, key: &str, value: &str, ttl: Duration) {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        inner.entries.insert(key.to_owned(), (value.to_owned(), now + ttl));
        Self::after_write(&mut inner, now);
    }

    pub fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        if Self::live(inner.entries.get(key), now).is_some() {
            return false;
        }
        inner.entries.insert(key.to_owned(), (value.to_owned(), now + ttl));
        Self::after_write(&mut inner, now);
        true
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let inner = self.inner.lock();
        Self::live(inner.entries.get(key), Instant::now()).cloned()
    }

    pub fn take(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        inner
            .entries
            .remove(key)
            .filter(|(_, until)| *until > now)
            .map(|(v, _)| v)
    }

    pub fn incr(&self, key: &str, window: Duration) -> i64 {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        let next = match inner.entries.get(key).filter(|(_, until)| *until > now) {
            Some((value, until)) => {
                let n = value.parse::<i64>().unwrap_or(0) + 1;
                (n, *until)
            }
            None => (1, now + window),
        };
        inner.entries.insert(key.to_owned(), (next.0.to_string(), next.1));
        Self::after_write(&mut inner, now);
        next.0
    }

    pub fn publish(&self, topic: &str) {
        // No receiver is not an error: nothing is cached yet.
        let _ = self.invalidations.send(topic.to_owned());
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.invalidations.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_is_single_use_and_entries_expire() {
        let store = MemoryStore::new();
        store.put("code", "grant", Duration::from_secs(60));
        assert_eq!(store.take("code").as_deref(), Some("grant"));
        assert_eq!(store.take("code"), None);
        store.put("short", "x", Duration::from_millis(0));
        assert_eq!(store.get("short"), None);
        assert!(store.put_if_absent("jti", "1", Duration::from_secs(5)));
        assert!(!store.put_if_absent("jti", "1", Duration::from_secs(5)));
        assert_eq!(store.incr("n", Duration::from_secs(5)), 1);
        assert_eq!(store.incr("n", Duration::from_secs(5)), 2);
    }
}
