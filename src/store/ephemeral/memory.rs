//! The in-process ephemeral store: a map with expiry, for a single node.

use std::collections::{BTreeSet, HashMap};
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
    /// Ordered indexes, as Redis's sorted sets.
    indexes: HashMap<String, SortedIndex>,
}

/// A sorted set: members ordered by (score, member), and each member's score to find it again.
/// Adding, removing and trimming cost O(log n) per member touched, as in Redis.
#[derive(Default)]
struct SortedIndex {
    ordered: BTreeSet<(i64, String)>,
    scores: HashMap<String, i64>,
}

impl SortedIndex {
    fn add(&mut self, member: &str, score: i64) {
        if let Some(old) = self.scores.insert(member.to_owned(), score) {
            self.ordered.remove(&(old, member.to_owned()));
        }
        self.ordered.insert((score, member.to_owned()));
    }

    fn remove(&mut self, member: &str) {
        if let Some(score) = self.scores.remove(member) {
            self.ordered.remove(&(score, member.to_owned()));
        }
    }

    fn trim_below(&mut self, min_score: i64) {
        let kept = self.ordered.split_off(&(min_score, String::new()));
        for (_, member) in std::mem::replace(&mut self.ordered, kept) {
            self.scores.remove(&member);
        }
    }
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
        inner.indexes.entry(key.to_owned()).or_default().add(member, score);
    }

    pub fn index_remove(&self, key: &str, member: &str) {
        let mut inner = self.inner.lock();
        if let Some(index) = inner.indexes.get_mut(key) {
            index.remove(member);
            if index.scores.is_empty() {
                inner.indexes.remove(key);
            }
        }
    }

    pub fn index_trim_below(&self, key: &str, min_score: i64) {
        let mut inner = self.inner.lock();
        if let Some(index) = inner.indexes.get_mut(key) {
            index.trim_below(min_score);
        }
    }

    /// Highest score first; ties by member, reversed, as Redis's `ZREVRANGE` orders them.
    pub fn index_range(&self, key: &str, first: usize, max: usize) -> Vec<String> {
        let inner = self.inner.lock();
        inner.indexes.get(key).map_or_else(Vec::new, |index| {
            index
                .ordered
                .iter()
                .rev()
                .skip(first)
                .take(max)
                .map(|(_, member)| member.clone())
                .collect()
        })
    }

    pub fn index_len(&self, key: &str) -> usize {
        self.inner.lock().indexes.get(key).map_or(0, |index| index.scores.len())
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
    fn indexes_order_trim_and_forget_like_sorted_sets() {
        let store = MemoryStore::new();
        store.index_add("i", "a", 10);
        store.index_add("i", "b", 30);
        store.index_add("i", "c", 20);
        store.index_add("i", "a", 40); // a new score moves the member
        assert_eq!(store.index_range("i", 0, 10), ["a", "b", "c"]);
        assert_eq!(store.index_range("i", 1, 1), ["b"]);
        store.index_trim_below("i", 30);
        assert_eq!(store.index_range("i", 0, 10), ["a", "b"]);
        assert_eq!(store.index_len("i"), 2);
        store.index_remove("i", "a");
        store.index_remove("i", "b");
        assert_eq!(store.index_len("i"), 0);
        assert!(store.index_range("i", 0, 10).is_empty());
    }

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
