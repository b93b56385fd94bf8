//! Whether fanotify is available to the agent, for its status. The agent watches web roots
//! with inotify either way; this probe tells the center honestly what the pod would allow
//! (mount-wide marks need `CAP_SYS_ADMIN` in the initial user namespace; since Linux 5.13 an
//! unprivileged process may use fanotify with inode marks only, which adds nothing to inotify).

use std::os::fd::{FromRawFd, OwnedFd};

/// What `fanotify_init` allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FanotifyAvailability {
    /// Privileged fanotify: mount and filesystem marks are possible.
    MountMarks,
    /// Unprivileged fanotify (inode marks with file-handle reports) only.
    InodeMarksOnly,
    /// Refused; the reason the kernel gave.
    Unavailable(String),
}

impl FanotifyAvailability {
    /// The entry for the agent status's collector list (fanotify is never in use).
    pub fn status_entry(&self) -> String {
        match self {
            FanotifyAvailability::MountMarks => {
                "fanotify: available (mount marks), not used: inotify watches the web roots"
                    .to_string()
            }
            FanotifyAvailability::InodeMarksOnly => {
                "fanotify: unprivileged only (inode marks), not used: inotify watches the web roots"
                    .to_string()
            }
            FanotifyAvailability::Unavailable(reason) => {
                format!("fanotify: unavailable ({reason})")
            }
        }
    }
}

/// Calls `fanotify_init` with `flags` and closes what it returns.
fn try_init(flags: libc::c_uint) -> Result<(), std::io::Error> {
    // SAFETY: fanotify_init takes two flag words and returns a new descriptor or -1.
    let fd = unsafe { libc::fanotify_init(flags, libc::O_RDONLY as libc::c_uint) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    Ok(())
}

/// Probes what fanotify allows this process.
pub fn probe() -> FanotifyAvailability {
    let base = libc::FAN_CLOEXEC | libc::FAN_NONBLOCK;
    match try_init(base | libc::FAN_CLASS_NOTIF) {
        Ok(()) => FanotifyAvailability::MountMarks,
        Err(privileged) => {
            match try_init(base | libc::FAN_CLASS_NOTIF | libc::FAN_REPORT_DFID_NAME) {
                Ok(()) => FanotifyAvailability::InodeMarksOnly,
                Err(_) => FanotifyAvailability::Unavailable(describe(&privileged)),
            }
        }
    }
}

fn describe(error: &std::io::Error) -> String {
    match error.raw_os_error() {
        Some(libc::EPERM) => "not permitted: no CAP_SYS_ADMIN".to_string(),
        Some(libc::ENOSYS) => "not built into this kernel".to_string(),
        Some(libc::EINVAL) => "this kernel does not take these flags".to_string(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_entries_say_whether_fanotify_is_used() {
        let check = |availability: FanotifyAvailability, expected: &str| {
            assert_eq!(availability.status_entry(), expected);
        };
        check(
            FanotifyAvailability::MountMarks,
            "fanotify: available (mount marks), not used: inotify watches the web roots",
        );
        check(
            FanotifyAvailability::InodeMarksOnly,
            "fanotify: unprivileged only (inode marks), not used: inotify watches the web roots",
        );
        check(
            FanotifyAvailability::Unavailable(describe(&std::io::Error::from_raw_os_error(
                libc::EPERM,
            ))),
            "fanotify: unavailable (not permitted: no CAP_SYS_ADMIN)",
        );
    }

    #[test]
    fn the_probe_matches_the_capabilities() {
        // CAP_SYS_ADMIN (21) in the effective set is what privileged fanotify needs.
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let cap_eff = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0);
        let probed = probe();
        if cap_eff & (1 << 21) == 0 {
            assert_ne!(probed, FanotifyAvailability::MountMarks, "{probed:?}");
        }
    }
}
