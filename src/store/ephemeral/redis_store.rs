//! The Redis ephemeral store: shared by every node, so codes, counters and invalidations cross nodes.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use tokio::sync::broadcast;

use super::EphemeralError;

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    channel: String,
    invalidations: broadcast::Sender<String>,
}

impl RedisStore {
    /// Connects, and starts the task that relays invalidation messages from every node.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, EphemeralError> {
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new(client.clone()).await?;
        let (invalidations, _) = broadcast::channel(1024);
        let channel = format!("{prefix}invalidate");
        let store = Self {
            conn,
            prefix: prefix.to_owned(),
            channel: channel.clone(),
            invalidations: invalidations.clone(),
        };
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(&channel).await?;
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            while let Some(msg) = messages.next().await {
                if let Ok(topic) = msg.get_payload::<String>() {
                    let _ = invalidations.send(topic);
                }
            }
            tracing::warn!("redis invalidation subscription ended");
        });
        Ok(store)
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    pub async fn ping(&self) -> Result<(), EphemeralError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    pub async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), EphemeralError> {
        let mut conn = self.conn.clone();
        let ms = ttl.as_millis().max(1) as u64;
        let _: () = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ms)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    pub async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, EphemeralError> {
        let mut conn = self.conn.clone();
        let ms = ttl.as_millis().max(1) as u64;
        let stored: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ms)
            .query_async(&mut conn)
            .await?;
        Ok(stored.is_some())
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, EphemeralError> {
        let mut conn = self.conn.clone();
        Ok(conn.get(self.key(key)).await?)
    }

    pub async fn take(&self, key: &str) -> Result<Option<String>, EphemeralError> {
        let mut conn = self.conn.clone();
        // GETDEL is atomic: of two concurrent takes exactly one sees the value.
        Ok(redis::cmd("GETDEL").arg(self.key(key)).query_async(&mut conn).await?)
    }

    pub async fn delete(&self, key: &str) -> Result<(), EphemeralError> {
        let mut conn = self.conn.clone();
        let _: i64 = conn.del(self.key(key)).await?;
        Ok(())
    }

    pub async fn incr(&self, key: &str, window: Duration) -> Result<i64, EphemeralError> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let (count,): (i64,) = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(window.as_millis().max(1) as u64)
            .arg("NX")
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(count)
    }

    pub async fn index_add(&self, key: &str, member: &str, score: i64) -> Result<(), EphemeralError> {
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("ZADD")
            .arg(self.key(key))
            .arg(score)
            .arg(member)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    pub async fn index_remove(&self, key: &str, member: &str) -> Result<(), EphemeralError> {
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("ZREM")
            .arg(self.key(key))
            .arg(member)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    pub async fn index_trim_below(&self, key: &str, min_score: i64) -> Result<(), EphemeralError> {
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("ZREMRANGEBYSCORE")
            .arg(self.key(key))
            .arg("-inf")
            .arg(format!("({min_score}"))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    pub async fn index_range(&self, key: &str, first: usize, max: usize) -> Result<Vec<String>, EphemeralError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        Ok(redis::cmd("ZREVRANGE")
            .arg(self.key(key))
            .arg(first)
            .arg(first + max - 1)
            .query_async(&mut conn)
            .await?)
    }

    pub async fn index_len(&self, key: &str) -> Result<usize, EphemeralError> {
        let mut conn = self.conn.clone();
        Ok(redis::cmd("ZCARD").arg(self.key(key)).query_async(&mut conn).await?)
    }

    pub async fn publish(&self, topic: &str) -> Result<(), EphemeralError> {
        let mut conn = self.conn.clone();
        let _: i64 = conn.publish(&self.channel, topic).await?;
        Ok(())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.invalidations.subscribe()
    }
}
