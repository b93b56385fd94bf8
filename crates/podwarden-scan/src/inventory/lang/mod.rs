//! Language-ecosystem detectors: lockfiles, installed package metadata, Go binaries and jars.
//!
//! One module per family. Every detector decides `wants` from the file's name, size and mode
//! alone, reads through [`FileContents`] with a size bound, and reports packages without an OS
//! release. Identical (name, version) pairs found in one file are reported once.

pub mod cargo;
pub mod golang;
pub mod maven;
pub mod npm;
pub mod php;
pub mod python;
pub mod ruby;

use super::{Detected, Ecosystem, FileContents, Package, Warning};
use std::collections::HashSet;

/// Largest lockfile or manifest any detector reads whole (big monorepo lockfiles reach ~30 MB).
pub const MAX_LOCKFILE_BYTES: u64 = 64 * 1024 * 1024;

/// At most this many per-entry warnings are kept for one file; the rest are counted.
const MAX_WARNINGS_PER_FILE: usize = 50;

/// Reads a whole text file of at most [`MAX_LOCKFILE_BYTES`]; invalid UTF-8 is an error.
pub(crate) fn read_text(contents: &dyn FileContents) -> Result<String, String> {
    read_text_limited(contents, MAX_LOCKFILE_BYTES)
}

/// Reads a whole text file of at most `limit` bytes without its byte-order mark; invalid UTF-8 is
/// an error naming the offset.
pub(crate) fn read_text_limited(contents: &dyn FileContents, limit: u64) -> Result<String, String> {
    let bytes = contents
        .read_all(limit)
        .map_err(|e| format!("cannot read: {e}"))?;
    let mut text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8()); // a byte-order mark some editors write
    }
    Ok(text)
}

/// 1-based line number of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Collects the packages and warnings of one file, dropping repeated (name, version) pairs.
pub(crate) struct Collector<'a> {
    ecosystem: Ecosystem,
    location: &'a str,
    seen: HashSet<(String, String)>,
    dropped_warnings: usize,
    out: Detected,
}

impl<'a> Collector<'a> {
    pub(crate) fn new(ecosystem: Ecosystem, location: &'a str) -> Self {
        Collector {
            ecosystem,
            location,
            seen: HashSet::new(),
            dropped_warnings: 0,
            out: Detected::default(),
        }
    }

    /// Adds a package found in the file itself.
    pub(crate) fn package(&mut self, name: &str, version: &str, purl: String) {
        let location = self.location.to_string();
        self.package_at(name, version, purl, location);
    }

    /// Adds a package found at `location` (an archive member, written `outer!/inner`).
    pub(crate) fn package_at(&mut self, name: &str, version: &str, purl: String, location: String) {
        if !self
            .seen
            .insert((format!("{location}\n{name}"), version.to_string()))
        {
            return;
        }
        self.out.packages.push(Package {
            ecosystem: self.ecosystem,
            release: None,
            name: name.to_string(),
            version: version.to_string(),
            source: None,
            location,
            purl,
        });
    }

    /// Records a problem with one entry of the file.
    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        let path = self.location.to_string();
        self.warn_at(path, message);
    }

    /// Records a problem with one entry at `path` (an archive member).
    pub(crate) fn warn_at(&mut self, path: String, message: impl Into<String>) {
        if self.out.warnings.len() >= MAX_WARNINGS_PER_FILE {
            self.dropped_warnings += 1;
            return;
        }
        self.out.warnings.push(Warning {
            path,
            message: message.into(),
        });
    }

    pub(crate) fn finish(mut self) -> Detected {
        if self.dropped_warnings > 0 {
            self.out.warnings.push(Warning {
                path: self.location.to_string(),
                message: format!("{} more warnings not shown", self.dropped_warnings),
            });
        }
        self.out
    }
}

/// Whether `version` looks like a release version rather than a URL, path or tag: it starts with
/// a digit and holds no `/`, `:` or whitespace.
pub(crate) fn looks_like_version(version: &str) -> bool {
    version.starts_with(|c: char| c.is_ascii_digit())
        && !version.contains(['/', ':', ' ', '\t', '\\'])
}
