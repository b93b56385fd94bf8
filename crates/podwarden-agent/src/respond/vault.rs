//! Quarantine vault: moves a suspicious file out of reach, keeps its content under its
//! sha256 with a JSON record (original path, mode, owner, size, time), lists entries, and
//! restores a file exactly (content, mode, owner) on request.
//!
//! Layout of the vault directory (mode 0700):
//! `objects/<sha256>` holds contents (mode 0400, so nothing in the vault is executable) and
//! `records/<id>.json` one record per quarantined file.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What the vault knows about one quarantined file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Identifier used to restore the file.
    pub id: String,
    /// Canonical path the file was taken from.
    pub original_path: PathBuf,
    /// Permission bits (including setuid/setgid/sticky) of the original file.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Hex sha256 of the content.
    pub sha256: String,
    /// When it was quarantined, in seconds since the Unix epoch (passed in by the caller).
    pub quarantined_at: i64,
}

/// Why a vault operation failed; each variant names the path or entry concerned.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is outside the allowed roots")]
    OutsideAllowedRoots(PathBuf),
    #[error("{0} is a symbolic link; only regular files are quarantined")]
    Symlink(PathBuf),
    #[error("{0} is not a regular file")]
    NotRegularFile(PathBuf),
    #[error("{0} belongs to the vault itself")]
    InsideVault(PathBuf),
    #[error("{0} changed while it was being quarantined")]
    ChangedDuringQuarantine(PathBuf),
    #[error("no vault entry {0:?}")]
    UnknownEntry(String),
    #[error("restore of {id}: {path} exists (pass overwrite to replace it)")]
    DestinationExists { id: String, path: PathBuf },
    #[error("restore of {id}: content sha256 is {actual}, record says {expected}")]
    HashMismatch {
        id: String,
        expected: String,
        actual: String,
    },
    #[error("bad vault record {path}: {detail}")]
    BadRecord { path: PathBuf, detail: String },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> VaultError + 'a {
    move |source| VaultError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A quarantine vault rooted in one directory, allowed to take files only under some roots.
#[derive(Debug, Clone)]
pub struct Vault {
    dir: PathBuf,
    allowed_roots: Vec<PathBuf>,
}

impl Vault {
    /// Opens (creating if needed) the vault at `dir`, mode 0700. `allowed_roots` are the
    /// directories files may be quarantined from and restored to; they must exist.
    pub fn open(dir: &Path, allowed_roots: &[PathBuf]) -> Result<Vault, VaultError> {
        fs::create_dir_all(dir).map_err(io("create vault directory", dir))?;
        let dir = dir
            .canonicalize()
            .map_err(io("resolve vault directory", dir))?;
        for sub in [dir.clone(), dir.join("objects"), dir.join("records")] {
            fs::create_dir_all(&sub).map_err(io("create vault directory", &sub))?;
            fs::set_permissions(&sub, fs::Permissions::from_mode(0o700))
                .map_err(io("set mode 0700 on", &sub))?;
        }
        let mut roots = Vec::with_capacity(allowed_roots.len());
        for root in allowed_roots {
            roots.push(
                root.canonicalize()
                    .map_err(io("resolve allowed root", root))?,
            );
        }
        Ok(Vault {
            dir,
            allowed_roots: roots,
        })
    }

    /// The vault's canonical directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves `path` into the vault and records it. Refuses symlinks, non-regular files,
    /// paths outside the allowed roots and the vault's own files. The move is a rename when
    /// the vault is on the same filesystem, else a copy, fsync and removal.
    pub fn quarantine(&self, path: &Path, now: SystemTime) -> Result<Entry, VaultError> {
        let before = fs::symlink_metadata(path).map_err(io("inspect", path))?;
        if before.file_type().is_symlink() {
            return Err(VaultError::Symlink(path.to_path_buf()));
        }
        if !before.file_type().is_file() {
            return Err(VaultError::NotRegularFile(path.to_path_buf()));
        }
        let canonical = path.canonicalize().map_err(io("resolve", path))?;
        if canonical.starts_with(&self.dir) {
            return Err(VaultError::InsideVault(canonical));
        }
        if !self
            .allowed_roots
            .iter()
            .any(|root| canonical.starts_with(root))
        {
            return Err(VaultError::OutsideAllowedRoots(canonical));
        }
        let quarantined_at = unix_seconds(now);
        let id = self.new_id(&canonical, quarantined_at);
        let incoming = self.dir.join("objects").join(format!(".incoming-{id}"));
        let vault_dev = fs::metadata(&self.dir)
            .map_err(io("inspect", &self.dir))?
            .dev();
        if before.dev() == vault_dev {
            fs::rename(&canonical, &incoming).map_err(io("move into the vault", &canonical))?;
        } else {
            copy_synced(&canonical, &incoming, &before)?;
        }
        let moved = fs::symlink_metadata(&incoming).map_err(io("inspect", &incoming))?;
        let same_file = before.dev() != vault_dev || moved.ino() == before.ino();
        if !same_file || moved.len() != before.len() {
            // Put it back where it was: something swapped the file under us.
            let _ = fs::rename(&incoming, &canonical);
            return Err(VaultError::ChangedDuringQuarantine(canonical));
        }
        fs::set_permissions(&incoming, fs::Permissions::from_mode(0o400))
            .map_err(io("set mode 0400 on", &incoming))?;
        let (sha256, size) = hash_file(&incoming)?;
        let object = self.object_path(&sha256);
        fs::rename(&incoming, &object).map_err(io("store", &object))?;
        if before.dev() != vault_dev {
            fs::remove_file(&canonical).map_err(io("remove the original", &canonical))?;
        }
        let entry = Entry {
            id,
            original_path: canonical,
            mode: before.mode() & 0o7777,
            uid: before.uid(),
            gid: before.gid(),
            size,
            sha256,
            quarantined_at,
        };
        self.write_record(&entry)?;
        Ok(entry)
    }

    /// Every entry, oldest first.
    pub fn list(&self) -> Result<Vec<Entry>, VaultError> {
        let records = self.dir.join("records");
        let mut entries = Vec::new();
        for item in fs::read_dir(&records).map_err(io("list", &records))? {
            let item = item.map_err(io("list", &records))?;
            let path = item.path();
            if path.extension().is_some_and(|ext| ext == "json") {
                entries.push(read_record(&path)?);
            }
        }
        entries.sort_by(|a, b| {
            a.quarantined_at
                .cmp(&b.quarantined_at)
                .then(a.id.cmp(&b.id))
        });
        Ok(entries)
    }

    /// One entry by id.
    pub fn get(&self, id: &str) -> Result<Entry, VaultError> {
        let path = self.record_path(id)?;
        if !path.exists() {
            return Err(VaultError::UnknownEntry(id.to_string()));
        }
        read_record(&path)
    }

    /// Puts entry `id` back at its original path with its content, mode and owner, after
    /// checking the content's sha256. Refuses when the destination exists unless
    /// `overwrite`. The entry leaves the vault once restored.
    pub fn restore(&self, id: &str, overwrite: bool) -> Result<Entry, VaultError> {
        let entry = self.get(id)?;
        let destination = &entry.original_path;
        let parent = destination.parent().ok_or_else(|| VaultError::BadRecord {
            path: self.record_path(id).unwrap_or_default(),
            detail: format!("original path {} has no parent", destination.display()),
        })?;
        let parent = parent.canonicalize().map_err(io("resolve", parent))?;
        let file_name = destination
            .file_name()
            .ok_or_else(|| VaultError::BadRecord {
                path: self.record_path(id).unwrap_or_default(),
                detail: format!("original path {} has no file name", destination.display()),
            })?;
        let destination = parent.join(file_name);
        if destination.starts_with(&self.dir) {
            return Err(VaultError::InsideVault(destination));
        }
        if !self
            .allowed_roots
            .iter()
            .any(|root| destination.starts_with(root))
        {
            return Err(VaultError::OutsideAllowedRoots(destination));
        }
        let object = self.object_path(&entry.sha256);
        let (actual, _) = hash_file(&object)?;
        if actual != entry.sha256 {
            return Err(VaultError::HashMismatch {
                id: id.to_string(),
                expected: entry.sha256.clone(),
                actual,
            });
        }
        if !overwrite && fs::symlink_metadata(&destination).is_ok() {
            return Err(VaultError::DestinationExists {
                id: id.to_string(),
                path: destination,
            });
        }
        let staging = parent.join(format!(".podwarden-restore-{id}"));
        let _ = fs::remove_file(&staging);
        let result = self
            .stage_restore(&entry, &object, &staging)
            .and_then(|()| {
                if overwrite {
                    fs::rename(&staging, &destination).map_err(io("restore", &destination))
                } else {
                    // A hard link fails if the destination appeared meanwhile: no overwrite race.
                    fs::hard_link(&staging, &destination).map_err(|err| {
                        if err.kind() == std::io::ErrorKind::AlreadyExists {
                            VaultError::DestinationExists {
                                id: id.to_string(),
                                path: destination.clone(),
                            }
                        } else {
                            VaultError::Io {
                                action: "restore",
                                path: destination.clone(),
                                source: err,
                            }
                        }
                    })
                }
            });
        let _ = fs::remove_file(&staging);
        result?;
        sync_dir(&parent);
        self.forget(&entry)?;
        Ok(entry)
    }

    /// Writes the content to `staging` with the recorded mode and owner, synced.
    fn stage_restore(
        &self,
        entry: &Entry,
        object: &Path,
        staging: &Path,
    ) -> Result<(), VaultError> {
        let mut source = File::open(object).map_err(io("open", object))?;
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(staging)
            .map_err(io("create", staging))?;
        std::io::copy(&mut source, &mut out).map_err(io("write", staging))?;
        let current = out.metadata().map_err(io("inspect", staging))?;
        if current.uid() != entry.uid || current.gid() != entry.gid {
            std::os::unix::fs::fchown(&out, Some(entry.uid), Some(entry.gid))
                .map_err(io("set owner of", staging))?;
        }
        // After chown, which may clear setuid/setgid bits.
        out.set_permissions(fs::Permissions::from_mode(entry.mode & 0o7777))
            .map_err(io("set mode of", staging))?;
        out.sync_all().map_err(io("sync", staging))?;
        Ok(())
    }

    /// Drops the record, and the object when no other record uses it.
    fn forget(&self, entry: &Entry) -> Result<(), VaultError> {
        let record = self.record_path(&entry.id)?;
        fs::remove_file(&record).map_err(io("remove", &record))?;
        let still_used = self
            .list()?
            .iter()
            .any(|other| other.sha256 == entry.sha256);
        if !still_used {
            let object = self.object_path(&entry.sha256);
            fs::remove_file(&object).map_err(io("remove", &object))?;
        }
        sync_dir(&self.dir.join("records"));
        Ok(())
    }

    fn write_record(&self, entry: &Entry) -> Result<(), VaultError> {
        let path = self.record_path(&entry.id)?;
        let staging = path.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(entry).map_err(|err| VaultError::BadRecord {
            path: path.clone(),
            detail: err.to_string(),
        })?;
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&staging)
            .map_err(io("create", &staging))?;
        file.write_all(&json).map_err(io("write", &staging))?;
        file.sync_all().map_err(io("sync", &staging))?;
        fs::rename(&staging, &path).map_err(io("store", &path))?;
        sync_dir(&self.dir.join("records"));
        sync_dir(&self.dir.join("objects"));
        Ok(())
    }

    fn object_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("objects").join(sha256)
    }

    fn record_path(&self, id: &str) -> Result<PathBuf, VaultError> {
        let valid = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(VaultError::UnknownEntry(id.to_string()));
        }
        Ok(self.dir.join("records").join(format!("{id}.json")))
    }

    /// A fresh id: time plus a digest of the path, with a counter on collision.
    fn new_id(&self, path: &Path, at: i64) -> String {
        let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
        let base = format!("{at}-{}", hex::encode(digest.get(..6).unwrap_or_default()));
        let mut id = base.clone();
        let mut counter = 1;
        while self.record_path(&id).is_ok_and(|p| p.exists()) {
            id = format!("{base}-{counter}");
            counter += 1;
        }
        id
    }
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn read_record(path: &Path) -> Result<Entry, VaultError> {
    let text = fs::read(path).map_err(io("read", path))?;
    serde_json::from_slice(&text).map_err(|err| VaultError::BadRecord {
        path: path.to_path_buf(),
        detail: err.to_string(),
    })
}

/// Streams a file through sha256; returns the hex digest and the length.
fn hash_file(path: &Path) -> Result<(String, u64), VaultError> {
    let mut file = File::open(path).map_err(io("open", path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer).map_err(io("read", path))?;
        if read == 0 {
            break;
        }
        hasher.update(buffer.get(..read).unwrap_or_default());
        size += u64::try_from(read).unwrap_or(0);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// Copies across filesystems, syncing the copy before the caller removes the original.
fn copy_synced(from: &Path, to: &Path, expected: &fs::Metadata) -> Result<(), VaultError> {
    let mut source = File::open(from).map_err(io("open", from))?;
    let opened = source.metadata().map_err(io("inspect", from))?;
    if opened.ino() != expected.ino() || opened.dev() != expected.dev() {
        return Err(VaultError::ChangedDuringQuarantine(from.to_path_buf()));
    }
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(io("create", to))?;
    std::io::copy(&mut source, &mut out).map_err(io("copy into the vault", to))?;
    out.sync_all().map_err(io("sync", to))?;
    Ok(())
}

/// Best effort: makes a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}
