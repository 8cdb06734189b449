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
    /// Ordered indexes: member → score (sorted when read; admin listings only).
    indexes: HashMap<String, HashMap<String, i64>>,
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
                indexes: HashMap::new(),
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

    pub fn index_add(&self, key: &str, member: &str, score: i64) {
        let mut inner = self.inner.lock();
        inner
            .indexes
            .entry(key.to_owned())
            .or_default()
            .insert(member.to_owned(), score);
    }

    pub fn index_remove(&self, key: &str, member: &str) {
        let mut inner = self.inner.lock();
        if let Some(index) = inner.indexes.get_mut(key) {
            index.remove(member);
            if index.is_empty() {
                inner.indexes.remove(key);
            }
        }
    }

    pub fn index_trim_below(&self, key: &str, min_score: i64) {
        let mut inner = self.inner.lock();
        if let Some(index) = inner.indexes.get_mut(key) {
            index.retain(|_, score| *score >= min_score);
        }
    }

    /// Highest score first; ties by member, as Redis orders them (reversed).
    pub fn index_range(&self, key: &str, first: usize, max: usize) -> Vec<String> {
        let inner = self.inner.lock();
        let Some(index) = inner.indexes.get(key) else {
            return Vec::new();
        };
        let mut members: Vec<(&String, &i64)> = index.iter().collect();
        members.sort_by(|a, b| b.1.cmp(a.1).then_with(|| b.0.cmp(a.0)));
        members
            .into_iter()
            .skip(first)
            .take(max)
            .map(|(m, _)| m.clone())
            .collect()
    }

    pub fn index_len(&self, key: &str) -> usize {
        self.inner.lock().indexes.get(key).map_or(0, HashMap::len)
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
