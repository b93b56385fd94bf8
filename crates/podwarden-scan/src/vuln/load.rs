//! Reading OSV records from a directory tree of `*.json` files and from `all.zip` exports,
//! with every read and decompression bounded. Records are streamed to a callback so a large
//! export never has to sit in memory whole.

use super::osv::{InvalidReason, Record};
use std::fmt;
use std::fs;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

/// Bounds on what loading may read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest `*.json` record file read from a directory.
    pub max_file_bytes: u64,
    /// Largest decompressed zip entry.
    pub max_entry_bytes: u64,
    /// Largest total decompressed size of one zip.
    pub max_zip_bytes: u64,
    /// Most entries in one zip.
    pub max_zip_entries: usize,
    /// Deepest directory nesting followed.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 16 << 20,
            max_entry_bytes: 16 << 20,
            max_zip_bytes: 16 << 30,
            max_zip_entries: 4_000_000,
            max_depth: 32,
        }
    }
}

/// Where a record came from: a file, and the entry name when the file is a zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub entry: Option<String>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Some(entry) => write!(f, "{}!{}", self.file.display(), entry),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// A record that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRecord {
    pub origin: Origin,
    pub reason: String,
}

impl fmt::Display for InvalidRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.reason)
    }
}

/// A failure that stops loading (as opposed to one bad record, which is skipped).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not a readable zip archive (truncated or corrupt?): {source}")]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("{path}: entry {entry}: cannot decompress (corrupt archive?): {source}")]
    ZipEntry {
        path: PathBuf,
        entry: String,
        source: io::Error,
    },
    #[error("{path}: over the limit of {limit} {what}")]
    TooLarge {
        path: PathBuf,
        what: &'static str,
        limit: u64,
    },
    #[error("{path}: neither a directory, a `.json` record nor a `.zip` export")]
    Unsupported { path: PathBuf },
}

/// What one load produced besides the records themselves.
#[derive(Debug, Default, Clone)]
pub struct LoadStats {
    pub records: u64,
    pub invalid: u64,
    pub files: u64,
    pub zips: u64,
    /// Symbolic links met in a directory tree and not followed.
    pub symlinks_skipped: u64,
}

/// One item handed to the callback: a valid record, or a diagnostic for an invalid one.
pub type Loaded = Result<(Record, Origin), InvalidRecord>;

/// Loads a path: a directory (walked recursively for `*.json` and `*.zip`), a single `.json`
/// record, or a `.zip` export. Symbolic links inside a directory are not followed.
pub fn load_path(
    path: &Path,
    limits: &Limits,
    sink: &mut dyn FnMut(Loaded),
) -> Result<LoadStats, LoadError> {
    let meta = fs::metadata(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut stats = LoadStats::default();
    if meta.is_dir() {
        walk_dir(path, 0, limits, &mut stats, sink)?;
    } else if has_extension(path, "zip") {
        load_zip_file(path, limits, &mut stats, sink)?;
    } else if has_extension(path, "json") {
        load_json_file(path, meta.len(), limits, &mut stats, sink);
    } else {
        return Err(LoadError::Unsupported {
            path: path.to_owned(),
        });
    }
    Ok(stats)
}

/// Loads every record of a zip export already in memory (or any seekable reader); `name`
/// is how diagnostics name the archive.
pub fn load_zip<R: Read + Seek>(
    name: &Path,
    reader: R,
    limits: &Limits,
    sink: &mut dyn FnMut(Loaded),
) -> Result<LoadStats, LoadError> {
    let mut stats = LoadStats::default();
    load_zip_reader(name, reader, limits, &mut stats, sink)?;
    Ok(stats)
}

/// Collects everything [`load_path`] yields; convenient for tests and small inputs.
pub fn load_all(
    path: &Path,
    limits: &Limits,
) -> Result<(Vec<Record>, Vec<InvalidRecord>), LoadError> {
    let mut records = Vec::new();
    let mut invalid = Vec::new();
    load_path(path, limits, &mut |item| match item {
        Ok((record, _)) => records.push(record),
        Err(bad) => invalid.push(bad),
    })?;
    Ok((records, invalid))
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

fn walk_dir(
    dir: &Path,
    depth: usize,
    limits: &Limits,
    stats: &mut LoadStats,
    sink: &mut dyn FnMut(Loaded),
) -> Result<(), LoadError> {
    let io_err = |source| LoadError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        // `DirEntry::file_type` does not follow symbolic links.
        let kind = entry.file_type().map_err(|source| LoadError::Io {
            path: entry.path(),
            source,
        })?;
        entries.push((entry.path(), kind));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, kind) in entries {
        if kind.is_symlink() {
            stats.symlinks_skipped += 1;
        } else if kind.is_dir() {
            if depth + 1 > limits.max_depth {
                return Err(LoadError::TooLarge {
                    path,
                    what: "nested directories",
                    limit: limits.max_depth as u64,
                });
            }
            walk_dir(&path, depth + 1, limits, stats, sink)?;
        } else if kind.is_file() && has_extension(&path, "json") {
            let len = fs::symlink_metadata(&path).map(|m| m.len()).unwrap_or(0);
            load_json_file(&path, len, limits, stats, sink);
        } else if kind.is_file() && has_extension(&path, "zip") {
            load_zip_file(&path, limits, stats, sink)?;
        }
    }
    Ok(())
}

/// One `*.json` file: a bad file is a diagnostic, never a failure of the whole load.
fn load_json_file(
    path: &Path,
    len: u64,
    limits: &Limits,
    stats: &mut LoadStats,
    sink: &mut dyn FnMut(Loaded),
) {
    stats.files += 1;
    let origin = Origin {
        file: path.to_owned(),
        entry: None,
    };
    let bytes = if len > limits.max_file_bytes {
        Err(format!(
            "file is {len} bytes, over the {}-byte limit",
            limits.max_file_bytes
        ))
    } else {
        fs::File::open(path)
            .and_then(|file| read_bounded(file, limits.max_file_bytes))
            .map_err(|err| format!("cannot read: {err}"))
            .and_then(|read| {
                read.ok_or_else(|| format!("file is over the {}-byte limit", limits.max_file_bytes))
            })
    };
    emit(bytes, origin, stats, sink);
}

fn emit(
    bytes: Result<Vec<u8>, String>,
    origin: Origin,
    stats: &mut LoadStats,
    sink: &mut dyn FnMut(Loaded),
) {
    let parsed = bytes.and_then(|bytes| Record::from_json(&bytes).map_err(|InvalidReason(r)| r));
    match parsed {
        Ok(record) => {
            stats.records += 1;
            sink(Ok((record, origin)));
        }
        Err(reason) => {
            stats.invalid += 1;
            sink(Err(InvalidRecord { origin, reason }));
        }
    }
}

/// Reads at most `limit` bytes; `Ok(None)` when there is more.
fn read_bounded(reader: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    Ok(if out.len() as u64 > limit {
        None
    } else {
        Some(out)
    })
}

fn load_zip_file(
    path: &Path,
    limits: &Limits,
    stats: &mut LoadStats,
    sink: &mut dyn FnMut(Loaded),
) -> Result<(), LoadError> {
    let file = fs::File::open(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    load_zip_reader(path, io::BufReader::new(file), limits, stats, sink)
}

fn load_zip_reader<R: Read + Seek>(
    path: &Path,
    reader: R,
    limits: &Limits,
    stats: &mut LoadStats,
    sink: &mut dyn FnMut(Loaded),
) -> Result<(), LoadError> {
    stats.zips += 1;
    let mut archive = zip::ZipArchive::new(reader).map_err(|source| LoadError::Zip {
        path: path.to_owned(),
        source,
    })?;
    if archive.len() > limits.max_zip_entries {
        return Err(LoadError::TooLarge {
            path: path.to_owned(),
            what: "entries",
            limit: limits.max_zip_entries as u64,
        });
    }
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|source| LoadError::Zip {
            path: path.to_owned(),
            source,
        })?;
        let name = match entry.name() {
            Ok(name) => name.into_owned(),
            Err(_) => format!("entry #{index} (undecodable name)"),
        };
        if entry.is_dir() || !name.to_ascii_lowercase().ends_with(".json") {
            continue;
        }
        stats.files += 1;
        let origin = Origin {
            file: path.to_owned(),
            entry: Some(name.clone()),
        };
        // The declared size is only a hint; the read itself is bounded.
        let budget = limits
            .max_entry_bytes
            .min(limits.max_zip_bytes.saturating_sub(total));
        let read = read_bounded(&mut entry, budget).map_err(|source| LoadError::ZipEntry {
            path: path.to_owned(),
            entry: name.clone(),
            source,
        })?;
        let bytes = match read {
            Some(bytes) => {
                total += bytes.len() as u64;
                Ok(bytes)
            }
            None if budget < limits.max_entry_bytes => {
                return Err(LoadError::TooLarge {
                    path: path.to_owned(),
                    what: "decompressed bytes",
                    limit: limits.max_zip_bytes,
                });
            }
            None => {
                total += budget;
                Err(format!(
                    "entry decompresses to over the {}-byte limit",
                    limits.max_entry_bytes
                ))
            }
        };
        emit(bytes, origin, stats, sink);
    }
    Ok(())
}
