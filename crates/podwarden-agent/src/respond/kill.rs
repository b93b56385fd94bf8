//! Killing a process on the center's command, only if it is still the same process: the pid
//! and the start time must both match. The process is pinned with a pidfd first and checked
//! again afterwards, so a pid reused between the check and the signal is never hit.

use crate::collect::procfs::{ProcFs, RelPath, parse_stat};
use rustix::process::{Pid, PidfdFlags, Signal};

/// Tolerance when comparing start times: one clock tick at 100 Hz (the start time is kept in
/// ticks by the kernel; the agent converts with a boot time read once).
const START_TOLERANCE_NS: u64 = 10_000_000;

/// Why a kill was not done.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KillError {
    #[error("process {pid} is not running")]
    NotRunning { pid: u32 },
    #[error(
        "process {pid} started at {actual} ns, not {expected} ns: it is another process now (pid reused); not killed"
    )]
    DifferentProcess {
        pid: u32,
        expected: u64,
        actual: u64,
    },
    #[error("refusing to kill process {pid}: {reason}")]
    Refused { pid: u32, reason: String },
    #[error("cannot signal process {pid}: {message}")]
    Signal { pid: u32, message: String },
}

/// How the process was signalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillMethod {
    /// `pidfd_send_signal` on a pidfd (race-free).
    Pidfd,
    /// Plain `kill` (kernels without pidfd), after the start-time check.
    Kill,
}

/// The start time of `pid` in ns since the epoch, as the agent reports it.
pub fn start_time_ns(proc: &ProcFs, pid: u32) -> Option<u64> {
    let mut buf = Vec::with_capacity(1024);
    proc.read(RelPath::pid(pid, "stat").as_cstr(), &mut buf, 2048)
        .ok()?;
    let stat = parse_stat(&buf)?;
    Some(proc.start_time_ns(stat.start_ticks))
}

fn check(proc: &ProcFs, pid: u32, expected: u64) -> Result<(), KillError> {
    let actual = start_time_ns(proc, pid).ok_or(KillError::NotRunning { pid })?;
    if actual.abs_diff(expected) > START_TOLERANCE_NS {
        return Err(KillError::DifferentProcess {
            pid,
            expected,
            actual,
        });
    }
    Ok(())
}

/// Sends SIGKILL to `pid` if it started at `start_ts` (ns since the epoch). `refuse` names a
/// reason not to kill this pid at all (the agent itself, pid 1, the agent's container).
pub fn kill_verified(
    proc: &ProcFs,
    pid: u32,
    start_ts: u64,
    refuse: impl Fn(u32) -> Option<String>,
) -> Result<KillMethod, KillError> {
    if let Some(reason) = refuse(pid) {
        return Err(KillError::Refused { pid, reason });
    }
    let raw = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or(KillError::NotRunning { pid })?;
    check(proc, pid, start_ts)?;
    match rustix::process::pidfd_open(raw, PidfdFlags::empty()) {
        Ok(pidfd) => {
            // The pidfd pins the process we just checked unless the pid was reused in between:
            // check again now that it is pinned.
            check(proc, pid, start_ts)?;
            rustix::process::pidfd_send_signal(&pidfd, Signal::KILL).map_err(|e| {
                KillError::Signal {
                    pid,
                    message: e.to_string(),
                }
            })?;
            Ok(KillMethod::Pidfd)
        }
        Err(rustix::io::Errno::SRCH) => Err(KillError::NotRunning { pid }),
        Err(rustix::io::Errno::NOSYS) => {
            rustix::process::kill_process(raw, Signal::KILL).map_err(|e| KillError::Signal {
                pid,
                message: e.to_string(),
            })?;
            Ok(KillMethod::Kill)
        }
        Err(e) => Err(KillError::Signal {
            pid,
            message: e.to_string(),
        }),
    }
}
