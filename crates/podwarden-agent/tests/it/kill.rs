//! Killing on command: only the same process (pid and start time), never a refused one.

use podwarden_agent::collect::procfs::ProcFs;
use podwarden_agent::respond::kill::{KillError, KillMethod, kill_verified, start_time_ns};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

fn no_refusal(_: u32) -> Option<String> {
    None
}

#[test]
fn kills_only_the_same_process() {
    let proc = ProcFs::open(Path::new("/proc")).unwrap();
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = child.id();
    let started = start_time_ns(&proc, pid).unwrap();

    // Another start time: a different process that got the same pid. Not touched.
    let wrong = started - 5_000_000_000;
    let error = kill_verified(&proc, pid, wrong, no_refusal).unwrap_err();
    assert_eq!(
        error,
        KillError::DifferentProcess {
            pid,
            expected: wrong,
            actual: started
        }
    );
    assert!(child.try_wait().unwrap().is_none(), "still running");

    // A refused pid is never signalled, whatever its start time.
    let error = kill_verified(&proc, pid, started, |_| {
        Some("the agent's own container".into())
    })
    .unwrap_err();
    assert!(matches!(error, KillError::Refused { .. }), "{error}");
    assert!(child.try_wait().unwrap().is_none(), "still running");

    let method = kill_verified(&proc, pid, started, no_refusal).unwrap();
    assert_eq!(method, KillMethod::Pidfd);
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9));

    // Gone (reaped): reported as not running.
    assert_eq!(
        kill_verified(&proc, pid, started, no_refusal).unwrap_err(),
        KillError::NotRunning { pid }
    );
}
