//! Time as the server sees it: an injectable clock, so tests can run days in milliseconds.

use std::io::Read;
use std::path::{Path, PathBuf};
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

/// A clock read from a file holding Unix milliseconds (the `clock_file` setting): end-to-end
/// tests and simulations move a real server through days by rewriting the file. Each reading
/// looks at the file; contents that cannot be read or parsed keep the last good time.
#[derive(Debug)]
pub struct FileClock {
    path: PathBuf,
    last: AtomicI64,
}

/// Why a clock file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("clock file {path}: {message}")]
pub struct ClockFileError {
    pub path: String,
    pub message: String,
}

/// Longest clock file read (a number and some whitespace).
const CLOCK_FILE_MAX_BYTES: u64 = 64;

fn read_clock_file(path: &Path) -> Result<Millis, String> {
    let file = std::fs::File::open(path).map_err(|err| err.to_string())?;
    let mut text = String::new();
    file.take(CLOCK_FILE_MAX_BYTES)
        .read_to_string(&mut text)
        .map_err(|err| err.to_string())?;
    text.trim()
        .parse::<Millis>()
        .map_err(|_| format!("{:?} is not Unix milliseconds", text.trim()))
}

impl FileClock {
    /// A clock reading `path`, which must hold a time now.
    pub fn open(path: &Path) -> Result<Arc<FileClock>, ClockFileError> {
        let now = read_clock_file(path).map_err(|message| ClockFileError {
            path: path.display().to_string(),
            message,
        })?;
        Ok(Arc::new(FileClock {
            path: path.to_path_buf(),
            last: AtomicI64::new(now),
        }))
    }
}

impl Clock for FileClock {
    fn now_ms(&self) -> Millis {
        match read_clock_file(&self.path) {
            Ok(now) => {
                self.last.store(now, Ordering::SeqCst);
                now
            }
            Err(_) => self.last.load(Ordering::SeqCst),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_clock_follows_the_file_and_keeps_the_last_good_time() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("now");
        assert!(FileClock::open(&path).is_err(), "a missing file is refused");
        std::fs::write(&path, "not a time").unwrap_or_else(|e| panic!("{e}"));
        assert!(FileClock::open(&path).is_err(), "garbage is refused");
        let steps: [(&str, Millis); 4] = [
            ("1000\n", 1000),
            (" 86400000 ", 86_400_000),
            ("garbage", 86_400_000),
            ("-5", -5),
        ];
        std::fs::write(&path, "1").unwrap_or_else(|e| panic!("{e}"));
        let clock = FileClock::open(&path).unwrap_or_else(|e| panic!("{e}"));
        for (contents, expected) in steps {
            std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(clock.now_ms(), expected, "after writing {contents:?}");
        }
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(clock.now_ms(), -5, "a vanished file keeps the last time");
    }
}
