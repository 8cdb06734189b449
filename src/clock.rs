//! Time as a dependency: domain and protocol code ask the clock, so tests move time without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;

    /// Milliseconds since the Unix epoch (event times, as Keycloak shows them).
    fn now_millis(&self) -> i64 {
        self.now().saturating_mul(1000)
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    fn now_millis(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock tests can set and advance; starts at the system time.
#[derive(Debug, Clone)]
pub struct SettableClock {
    now: Arc<AtomicI64>,
}

impl Default for SettableClock {
    fn default() -> Self {
        Self {
            now: Arc::new(AtomicI64::new(SystemClock.now())),
        }
    }
}

impl SettableClock {
    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn set(&self, epoch_seconds: i64) {
        self.now.store(epoch_seconds, Ordering::SeqCst);
    }
}

impl Clock for SettableClock {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}
