//! Ids the agent makes: detection and upload ids unique forever for one agent (a random
//! prefix drawn at start plus a sequence), and increasing event ids.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Makes ids; shared by every thread of the agent.
#[derive(Debug)]
pub struct IdGen {
    boot: String,
    sequence: AtomicU64,
    event: AtomicU64,
}

/// Nanoseconds since the Unix epoch now.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> u64 {
    now_ns() / 1_000_000
}

impl IdGen {
    /// A generator with a fresh random 64-bit prefix (from the OS; the clock if that fails).
    pub fn new() -> IdGen {
        let random = getrandom::u64()
            .unwrap_or_else(|_| now_ns() ^ u64::from(std::process::id()).rotate_left(32));
        IdGen::with_prefix(format!("{random:016x}"))
    }

    /// A generator with a given prefix (tests).
    pub fn with_prefix(boot: String) -> IdGen {
        IdGen {
            boot,
            sequence: AtomicU64::new(0),
            event: AtomicU64::new(now_ns()),
        }
    }

    /// The random prefix of this run.
    pub fn prefix(&self) -> &str {
        &self.boot
    }

    /// A new id `<prefix>-<kind>-<n>`: unique for this agent forever (the prefix is drawn
    /// anew at every start).
    pub fn next(&self, kind: &str) -> String {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        format!("{}-{kind}-{n}", self.boot)
    }

    /// A new event id: increasing within a run, and across runs while the clock moves forward
    /// (it starts at the current time in nanoseconds).
    pub fn next_event(&self) -> u64 {
        self.event.fetch_add(1, Ordering::Relaxed)
    }
}

impl Default for IdGen {
    fn default() -> Self {
        IdGen::new()
    }
}
