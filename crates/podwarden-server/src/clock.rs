//! Time as the server sees it: an injectable clock, so tests can run days in milliseconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Unix time in milliseconds.
pub type Millis = i64;

/// The source of "now" for everything that records or meters time.
pub trait Clock: Send + Sync + 'static {
    /// The current Unix time in milliseconds.
    fn now_ms(&self) -> Millis;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        jiff::Timestamp::now().as_millisecond()
    }
}

/// A clock that only moves when told to (tests, simulations).
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `start` (Unix milliseconds).
    pub fn new(start: Millis) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            now: AtomicI64::new(start),
        })
    }

    /// Sets the time.
    pub fn set(&self, now: Millis) {
        self.now.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward by `delta` milliseconds.
    pub fn advance(&self, delta: Millis) {
        self.now.fetch_add(delta, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Millis {
        self.now.load(Ordering::SeqCst)
    }
}
