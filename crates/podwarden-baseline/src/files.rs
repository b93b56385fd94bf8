//! Reading manifests from disk: finding manifest files under a directory, bounded reads, and
//! checking many files in parallel while handing results back in order, a batch at a time.

use crate::engine::{Report, check_source};
use crate::options::Options;
use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest manifest file read (64 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// Files checked in parallel before their results are handed back (bounds memory).
const BATCH: usize = 256;

/// A manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: larger than {limit} bytes")]
    TooLarge { path: String, limit: u64 },
    #[error("{path}: not UTF-8 text (byte {offset})")]
    NotUtf8 { path: String, offset: usize },
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("yaml" | "yml" | "json")
    )
}

/// Manifest files (`.yaml`, `.yml`, `.json`) under `root`, sorted; `root` itself when it is a
/// file. Hidden directories are skipped and symbolic links to directories are not followed.
pub fn manifest_paths(root: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let io = |path: &Path, source| ReadError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(root).map_err(|e| io(root, e))?;
    if !meta.is_dir() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io(&dir, e))?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let kind = entry.file_type().map_err(|e| io(&path, e))?;
            if kind.is_dir() {
                if !hidden {
                    stack.push(path);
                }
            } else if (kind.is_file() || kind.is_symlink()) && is_manifest(&path) {
                if kind.is_symlink() && std::fs::metadata(&path).map(|m| m.is_dir()).unwrap_or(true)
                {
                    continue;
                }
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads at most [`MAX_MANIFEST_BYTES`] of UTF-8 text from `reader`; `name` names it in errors.
pub fn read_manifest_from(reader: impl Read, name: &str) -> Result<String, ReadError> {
    read_bounded(reader, name, 0)
}

fn read_bounded(reader: impl Read, name: &str, size_hint: u64) -> Result<String, ReadError> {
    let mut bytes = Vec::with_capacity(size_hint.min(MAX_MANIFEST_BYTES) as usize + 1);
    reader
        .take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: name.to_string(),
            source,
        })?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(ReadError::TooLarge {
            path: name.to_string(),
            limit: MAX_MANIFEST_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        path: name.to_string(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// Reads one manifest file (bounded).
pub fn read_manifest(path: &Path) -> Result<String, ReadError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ReadError::Io {
        path: name.clone(),
        source,
    })?;
    let size_hint = file.metadata().map(|m| m.len()).unwrap_or(0);
    read_bounded(file, &name, size_hint)
}

/// The outcome for one file.
pub struct FileResult {
    pub path: PathBuf,
    pub report: Result<Report, ReadError>,
}

/// Checks `paths` in parallel and calls `sink` with each file's result, in the order of
/// `paths`. Only one batch of reports is in memory at a time.
pub fn check_files(paths: &[PathBuf], options: &Options, sink: impl FnMut(FileResult)) {
    check_files_with(paths, options, |result| result, sink);
}

/// Like [`check_files`], but runs `map` on each file's result in the worker threads too (e.g.
/// to fix and render it), and hands the mapped values to `sink` in the order of `paths`.
pub fn check_files_with<R: Send>(
    paths: &[PathBuf],
    options: &Options,
    map: impl Fn(FileResult) -> R + Sync,
    mut sink: impl FnMut(R),
) {
    for batch in paths.chunks(BATCH) {
        let results: Vec<R> = batch
            .par_iter()
            .map(|path| {
                map(FileResult {
                    path: path.clone(),
                    report: read_manifest(path)
                        .map(|text| check_source(&path.display().to_string(), &text, options)),
                })
            })
            .collect();
        for result in results {
            sink(result);
        }
    }
}
