//! Quarantine and restore of files named by container paths: the path is resolved inside
//! the workload container's root (confined: symlinks are re-read inside the root, `..`
//! is refused), mapped to where the agent reaches that file, checked to be the very same
//! directory entry, and handed to the quarantine vault.

use super::vault::{Entry, Vault, VaultError};
use podwarden_scan::inventory::rootfs::{RootFs, RootFsError};
use rustix::fs::{AtFlags, FileType};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A container's filesystem as the agent reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRoot {
    /// `/proc/PID/root` of a member (sidecar) or `/` (host mode): the confined view.
    pub via: PathBuf,
    /// Where the same root directory is reachable by plain path (`/` in host mode); `None`
    /// when only `/proc/PID/root` reaches it.
    pub path: Option<PathBuf>,
}

/// Why a file action failed.
#[derive(Debug, thiserror::Error)]
pub enum FileActionError {
    #[error("{0:?} is not an absolute container path")]
    NotAbsolute(String),
    #[error("{0:?} contains `..`: refusing a path that could escape the container")]
    Escapes(String),
    #[error("{source}")]
    Resolve { path: String, source: RootFsError },
    #[error("{0} is not a regular file")]
    NotRegular(String),
    #[error("{0} is a symbolic link; only regular files are quarantined")]
    Symlink(String),
    #[error("{0} is in none of the workload containers")]
    NotFound(String),
    #[error("{path} exists in {count} containers; cannot tell which one the command means")]
    Ambiguous { path: String, count: usize },
    #[error(
        "{0}: the container's filesystem is reachable only through /proc/PID/root here, and the \
         vault moves files by path; quarantine needs the vault to accept a directory descriptor"
    )]
    Unreachable(String),
    #[error("{path}: the file seen by path is not the one inside the container; refusing")]
    Mismatch { path: String },
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// Checks a container path: absolute, no `..`; returns `(parent, file name)`.
pub fn split_container_path(path: &str) -> Result<(String, String), FileActionError> {
    if !path.starts_with('/') {
        return Err(FileActionError::NotAbsolute(path.to_string()));
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(FileActionError::Escapes(path.to_string()));
    }
    let Some((name, dirs)) = parts.split_last() else {
        return Err(FileActionError::NotRegular(path.to_string()));
    };
    Ok((format!("/{}", dirs.join("/")), (*name).to_string()))
}

/// Where the agent reaches the regular file `container_path` of this container, checked to be
/// the same file the confined resolution finds.
pub fn resolve_file(
    root: &ContainerRoot,
    container_path: &str,
) -> Result<PathBuf, FileActionError> {
    let (parent, name) = split_container_path(container_path)?;
    let rootfs = RootFs::open(&root.via).map_err(|source| FileActionError::Resolve {
        path: container_path.to_string(),
        source,
    })?;
    let dir = rootfs
        .open_dir(&parent)
        .map_err(|source| FileActionError::Resolve {
            path: container_path.to_string(),
            source,
        })?;
    let inside =
        rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW).map_err(|e| {
            let source = if e == rustix::io::Errno::NOENT {
                RootFsError::NotFound {
                    path: container_path.to_string(),
                }
            } else {
                RootFsError::Io {
                    path: container_path.to_string(),
                    source: e.into(),
                }
            };
            FileActionError::Resolve {
                path: container_path.to_string(),
                source,
            }
        })?;
    match FileType::from_raw_mode(inside.st_mode) {
        FileType::RegularFile => {}
        FileType::Symlink => return Err(FileActionError::Symlink(container_path.to_string())),
        _ => return Err(FileActionError::NotRegular(container_path.to_string())),
    }
    let Some(base) = &root.path else {
        return Err(FileActionError::Unreachable(container_path.to_string()));
    };
    // Where the directory found inside the container is, by plain path: what the kernel
    // says of the open descriptor. It must lie under the reachable root and be that very
    // directory, and the file in it the same inode.
    let parent_by_path =
        std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).map_err(|_| {
            FileActionError::Mismatch {
                path: container_path.to_string(),
            }
        })?;
    let dir_stat = rustix::fs::fstat(&dir).map_err(|e| FileActionError::Resolve {
        path: container_path.to_string(),
        source: RootFsError::Io {
            path: parent.clone(),
            source: e.into(),
        },
    })?;
    let same_dir = parent_by_path.starts_with(base)
        && rustix::fs::stat(&parent_by_path)
            .is_ok_and(|s| s.st_dev == dir_stat.st_dev && s.st_ino == dir_stat.st_ino);
    let by_path = parent_by_path.join(&name);
    let same_file = rustix::fs::lstat(&by_path)
        .is_ok_and(|s| s.st_dev == inside.st_dev && s.st_ino == inside.st_ino);
    if !same_dir || !same_file {
        return Err(FileActionError::Mismatch {
            path: container_path.to_string(),
        });
    }
    Ok(by_path)
}

/// Finds the one container holding `container_path` as a regular file.
pub fn locate<'a>(
    roots: &'a [ContainerRoot],
    container_path: &str,
) -> Result<(&'a ContainerRoot, PathBuf), FileActionError> {
    let mut found = Vec::new();
    let mut last_error = None;
    for root in roots {
        match resolve_file(root, container_path) {
            Ok(path) => found.push((root, path)),
            Err(e @ FileActionError::Resolve { .. }) => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    match found.len() {
        1 => found
            .pop()
            .ok_or_else(|| FileActionError::NotFound(container_path.to_string())),
        0 => Err(match last_error {
            Some(FileActionError::Resolve {
                source: RootFsError::NotFound { .. },
                ..
            })
            | None => FileActionError::NotFound(container_path.to_string()),
            Some(other) => other,
        }),
        count => Err(FileActionError::Ambiguous {
            path: container_path.to_string(),
            count,
        }),
    }
}

/// Moves the container file into the vault at `vault_dir`.
pub fn quarantine(
    vault_dir: &Path,
    roots: &[ContainerRoot],
    container_path: &str,
    now: SystemTime,
) -> Result<Entry, FileActionError> {
    let (root, path) = locate(roots, container_path)?;
    let base = root
        .path
        .clone()
        .ok_or_else(|| FileActionError::Unreachable(container_path.to_string()))?;
    let vault = Vault::open(vault_dir, std::slice::from_ref(&base))?;
    Ok(vault.quarantine(&path, now)?)
}

/// Puts a vault entry back (allowed anywhere inside the reachable container roots).
pub fn restore(
    vault_dir: &Path,
    roots: &[ContainerRoot],
    id: &str,
    overwrite: bool,
) -> Result<Entry, FileActionError> {
    let allowed: Vec<PathBuf> = roots.iter().filter_map(|r| r.path.clone()).collect();
    let vault = Vault::open(vault_dir, &allowed)?;
    Ok(vault.restore(id, overwrite)?)
}
