//! Ephemeral state (SSO sessions, codes, consumed jti, counters, cache invalidation): Redis when
//! configured, else an in-process store with the same behaviour. Losing it logs browsers out, nothing else.

mod memory;
mod redis_store;

use std::time::Duration;

pub use memory::MemoryStore;
pub use redis_store::RedisStore;
use tokio::sync::broadcast;

#[derive(Debug, thiserror::Error)]
pub enum EphemeralError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// The configured ephemeral store. An enum rather than a trait object: two implementations, async
/// methods, and no allocation per call on the hot path.
#[derive(Clone)]
pub enum EphemeralStore {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl EphemeralStore {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            Self::Redis(_) => "redis",
        }
    }

    pub async fn ping(&self) -> Result<(), EphemeralError> {
        match self {
            Self::Memory(_) => Ok(()),
            Self::Redis(r) => r.ping().await,
        }
    }

    /// Stores `value` under `key` for `ttl`.
    pub async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), EphemeralError> {
        match self {
            Self::Memory(m) => {
                m.put(key, value, ttl);
                Ok(())
            }
            Self::Redis(r) => r.put(key, value, ttl).await,
        }
    }

    /// Stores only if absent; true when this call stored it (single-use markers such as a jti).
    pub async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, EphemeralError> {
        match self {
            Self::Memory(m) => Ok(m.put_if_absent(key, value, ttl)),
            Self::Redis(r) => r.put_if_absent(key, value, ttl).await,
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, EphemeralError> {
        match self {
            Self::Memory(m) => Ok(m.get(key)),
            Self::Redis(r) => r.get(key).await,
        }
    }

    /// Atomically reads and removes: a second take of the same key gets nothing.
    pub async fn take(&self, key: &str) -> Result<Option<String>, EphemeralError> {
        match self {
            Self::Memory(m) => Ok(m.take(key)),
            Self::Redis(r) => r.take(key).await,
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), EphemeralError> {
        match self {
            Self::Memory(m) => {
                m.take(key);
                Ok(())
            }
            Self::Redis(r) => r.delete(key).await,
        }
    }

    /// Increments a counter that expires `window` after its first increment; returns the new value.
    pub async fn incr(&self, key: &str, window: Duration) -> Result<i64, EphemeralError> {
        match self {
            Self::Memory(m) => Ok(m.incr(key, window)),
            Self::Redis(r) => r.incr(key, window).await,
        }
    }

    /// Adds `member` with `score` to the ordered index `key` (a Redis sorted set): how the SSO
    /// sessions of a realm are listed without scanning the store.
    pub async fn index_add(&self, key: &str, member: &str, score: i64) -> Result<(), EphemeralError> {
        match self {
            Self::Memory(m) => {
                m.index_add(key, member, score);
                Ok(())
            }
            Self::Redis(r) => r.index_add(key, member, score).await,
        }
    }

    pub async fn index_remove(&self, key: &str, member: &str) -> Result<(), EphemeralError> {
        match self {
            Self::Memory(m) => {
                m.index_remove(key, member);
                Ok(())
            }
            Self::Redis(r) => r.index_remove(key, member).await,
        }
    }

    /// Removes the members scored below `min_score` (those certainly over).
    pub async fn index_trim_below(&self, key: &str, min_score: i64) -> Result<(), EphemeralError> {
        match self {
            Self::Memory(m) => {
                m.index_trim_below(key, min_score);
                Ok(())
            }
            Self::Redis(r) => r.index_trim_below(key, min_score).await,
        }
    }

    /// Members `first..first + max`, highest score first.
    pub async fn index_range(&self, key: &str, first: usize, max: usize) -> Result<Vec<String>, EphemeralError> {
        match self {
            Self::Memory(m) => Ok(m.index_range(key, first, max)),
            Self::Redis(r) => r.index_range(key, first, max).await,
        }
    }

    pub async fn index_len(&self, key: &str) -> Result<usize, EphemeralError> {
        match self {
            Self::Memory(m) => Ok(m.index_len(key)),
            Self::Redis(r) => r.index_len(key).await,
        }
    }

    /// Tells every node (this one included) that cached state of `topic` changed.
    pub async fn publish_invalidation(&self, topic: &str) -> Result<(), EphemeralError> {
        match self {
            Self::Memory(m) => {
                m.publish(topic);
                Ok(())
            }
            Self::Redis(r) => r.publish(topic).await,
        }
    }

    /// Invalidation messages from every node, this one included.
    pub fn invalidations(&self) -> broadcast::Receiver<String> {
        match self {
            Self::Memory(m) => m.subscribe(),
            Self::Redis(r) => r.subscribe(),
        }
    }
}
