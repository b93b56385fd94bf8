//! Root-confined file access: open files under a scan root as if chrooted into it.
//!
//! Paths are resolved one component at a time with `openat(.., O_NOFOLLOW)` relative to
//! directory descriptors that are already known to lie inside the root, so a concurrent rename
//! or symlink swap cannot move the resolution outside. Symlinks are read with `readlinkat` and
//! re-interpreted inside the root: absolute targets start again at the root, `..` never climbs
//! above it, and a bounded number of links may be followed (loops end in an error).

use super::FileContents;
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// How many symlinks one resolution may follow (Linux's own limit).
pub const MAX_SYMLINK_HOPS: u32 = 40;
/// How many path components one resolution may walk through, symlink expansions included.
const MAX_COMPONENTS: usize = 4096;

/// Why a path under the root could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum RootFsError {
    #[error("cannot open scan root {root}: {source}")]
    Root {
        root: String,
        source: std::io::Error,
    },
    #[error("{path}: not found")]
    NotFound { path: String },
    #[error("{path}: too many levels of symbolic links (more than {MAX_SYMLINK_HOPS})")]
    SymlinkLoop { path: String },
    #[error("{path}: path too deep or too long")]
    TooDeep { path: String },
    #[error("{path}: a path component is not a directory")]
    NotADirectory { path: String },
    #[error("{path}: not a regular file")]
    NotAFile { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A directory opened as the root of a confined view.
#[derive(Debug)]
pub struct RootFs {
    root: OwnedFd,
}

/// A regular file opened under a [`RootFs`], readable at any offset within the size it had when
/// it was opened.
#[derive(Debug)]
pub struct RootFile {
    file: File,
    len: u64,
}

impl RootFile {
    /// Wraps an already opened regular file; its size is fixed at the current size.
    pub fn from_fd(fd: OwnedFd) -> std::io::Result<RootFile> {
        let stat = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(std::io::Error::other("not a regular file"));
        }
        Ok(RootFile {
            file: File::from(fd),
            len: u64::try_from(stat.st_size).unwrap_or(0),
        })
    }
}

impl FileContents for RootFile {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let room = usize::try_from(self.len - offset).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        loop {
            match self.file.read_at(&mut buf[..want], offset) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

/// File contents held in memory (`Vec<u8>`, `&[u8]`, ...), for archive members and tests.
#[derive(Debug, Clone)]
pub struct MemoryFile<B>(pub B);

impl<B: AsRef<[u8]>> FileContents for MemoryFile<B> {
    fn len(&self) -> u64 {
        self.0.as_ref().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.as_ref().read_at(offset, buf)
    }
}

/// What a resolved path turned out to be.
enum Resolved {
    /// A regular file (opened for reading).
    File(OwnedFd),
    /// A directory (opened `O_PATH`/`O_DIRECTORY`).
    Dir(OwnedFd),
}

impl RootFs {
    /// Opens `root` (which itself may be reached through symlinks: it is trusted).
    pub fn open(root: &Path) -> Result<RootFs, RootFsError> {
        let fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| RootFsError::Root {
            root: root.display().to_string(),
            source: e.into(),
        })?;
        Ok(RootFs { root: fd })
    }

    /// Wraps an already open directory descriptor as the root.
    pub fn from_fd(root: OwnedFd) -> RootFs {
        RootFs { root }
    }

    /// The root directory descriptor.
    pub fn root_fd(&self) -> &OwnedFd {
        &self.root
    }

    /// Opens the regular file at `path` (relative or absolute, both meaning "under the root"),
    /// following symlinks inside the root.
    pub fn open_file(&self, path: &str) -> Result<RootFile, RootFsError> {
        match self.resolve(path)? {
            Resolved::File(fd) => RootFile::from_fd(fd).map_err(|e| RootFsError::Io {
                path: path.to_string(),
                source: e,
            }),
            Resolved::Dir(_) => Err(RootFsError::NotAFile {
                path: path.to_string(),
            }),
        }
    }

    /// Reads the whole regular file at `path`, refusing files over `limit` bytes.
    pub fn read_file(&self, path: &str, limit: u64) -> Result<Vec<u8>, RootFsError> {
        let file = self.open_file(path)?;
        file.read_all(limit).map_err(|e| RootFsError::Io {
            path: path.to_string(),
            source: e,
        })
    }

    /// Opens the directory at `path` (read-only, for listing), following in-root symlinks.
    pub fn open_dir(&self, path: &str) -> Result<OwnedFd, RootFsError> {
        match self.resolve(path)? {
            Resolved::Dir(fd) => rustix::fs::openat(
                &fd,
                c".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| RootFsError::Io {
                path: path.to_string(),
                source: e.into(),
            }),
            Resolved::File(_) => Err(RootFsError::NotADirectory {
                path: path.to_string(),
            }),
        }
    }

    /// Walks `path` component by component. The stack holds a descriptor for every directory
    /// entered so far, so `..` returns to the parent without a lookup and stops at the root.
    fn resolve(&self, path: &str) -> Result<Resolved, RootFsError> {
        let err_path = || path.to_string();
        let io = |e: Errno| RootFsError::Io {
            path: path.to_string(),
            source: e.into(),
        };
        let mut pending: VecDeque<Vec<u8>> = split_components(path.as_bytes());
        let mut stack: Vec<OwnedFd> = Vec::new();
        let mut hops = 0u32;
        let mut walked = 0usize;
        loop {
            let Some(component) = pending.pop_front() else {
                // The path named the root itself or ended on a directory.
                let fd = match stack.pop() {
                    Some(fd) => fd,
                    None => rustix::io::dup(&self.root).map_err(io)?,
                };
                return Ok(Resolved::Dir(fd));
            };
            walked += 1;
            if walked > MAX_COMPONENTS {
                return Err(RootFsError::TooDeep { path: err_path() });
            }
            if component == b".." {
                stack.pop();
                continue;
            }
            let parent = match stack.last() {
                Some(fd) => fd.as_fd(),
                None => self.root.as_fd(),
            };
            let fd = match rustix::fs::openat(
                parent,
                component.as_slice(),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Err(RootFsError::NotFound { path: err_path() }),
                Err(Errno::NOTDIR) => {
                    return Err(RootFsError::NotADirectory { path: err_path() });
                }
                Err(e) => return Err(io(e)),
            };
            let stat = rustix::fs::fstat(&fd).map_err(io)?;
            match FileType::from_raw_mode(stat.st_mode) {
                FileType::Symlink => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(RootFsError::SymlinkLoop { path: err_path() });
                    }
                    let target = rustix::fs::readlinkat(&fd, c"", Vec::new()).map_err(io)?;
                    let target = target.as_bytes();
                    if target.first() == Some(&b'/') {
                        stack.clear();
                    }
                    let mut expanded = split_components(target);
                    if expanded.len() + pending.len() > MAX_COMPONENTS {
                        return Err(RootFsError::TooDeep { path: err_path() });
                    }
                    expanded.extend(pending.drain(..));
                    pending = expanded;
                }
                FileType::Directory => {
                    if stack.len() >= MAX_COMPONENTS {
                        return Err(RootFsError::TooDeep { path: err_path() });
                    }
                    stack.push(fd);
                }
                FileType::RegularFile => {
                    if !pending.iter().all(|c| c.as_slice() == b".") {
                        return Err(RootFsError::NotADirectory { path: err_path() });
                    }
                    // Re-open for reading relative to the same parent, refusing a symlink that
                    // may have been swapped in, and a FIFO (O_NONBLOCK keeps that from hanging).
                    let parent = match stack.last() {
                        Some(fd) => fd.as_fd(),
                        None => self.root.as_fd(),
                    };
                    let file = rustix::fs::openat(
                        parent,
                        component.as_slice(),
                        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(io)?;
                    let again = rustix::fs::fstat(&file).map_err(io)?;
                    if again.st_dev != stat.st_dev || again.st_ino != stat.st_ino {
                        return Err(RootFsError::Io {
                            path: err_path(),
                            source: std::io::Error::other("file changed while being opened"),
                        });
                    }
                    return Ok(Resolved::File(file));
                }
                _ => return Err(RootFsError::NotAFile { path: err_path() }),
            }
        }
    }
}

/// Splits a path into its non-empty components other than `.`.
fn split_components(path: &[u8]) -> VecDeque<Vec<u8>> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn splits_paths_into_components() {
        let got: Vec<Vec<u8>> = split_components(b"/a//b/./c/../").into();
        let want: Vec<Vec<u8>> = vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"..".to_vec()];
        assert_eq!(got, want);
    }

    #[test]
    fn regular_file_reads_are_bounded_by_the_size_at_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"hello").unwrap();
        let fs = RootFs::open(dir.path()).unwrap();
        let file = fs.open_file("f").unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(file.read_at(3, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"lo");
        assert_eq!(file.read_at(5, &mut buf).unwrap(), 0);
        assert_eq!(file.read_at(99, &mut buf).unwrap(), 0);
        symlink("f", dir.path().join("l")).unwrap();
        assert_eq!(
            fs.read_file("l", 4).unwrap_err().to_string(),
            "l: file is 5 bytes, over the 4-byte limit"
        );
    }
}
