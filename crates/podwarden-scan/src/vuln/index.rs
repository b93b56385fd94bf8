//! The local vulnerability index: the matching-relevant part of every OSV record in flat
//! tables of integers over one string blob, written to a single file and read back in one go.
//!
//! File layout (all integers little-endian):
//!
//! ```text
//! header (64 bytes): magic "PWOSVIDX", format version u32, 0 u32, core length u64,
//!                    details length u64, SHA-256 of the core (32 bytes)
//! core:    sections, each a u64 byte length then the bytes, in this order:
//!          meta (JSON: build time, counts), strings (UTF-8), keys, affected, ranges,
//!          events, versions, lists, records, order (tables of u32 words)
//! details: every record's `details` text, concatenated; read lazily, never at load
//! ```
//!
//! Loading reads the header and the core, checks the checksum, validates UTF-8 and every
//! cross-reference once, and decodes the tables; matching then works on plain integers and
//! borrowed `&str`s. `keys` is sorted by (ecosystem, normalised package name) and points at a
//! contiguous run of `affected` rows.
//!
//! Version order is settled at build time: per key and ordering scheme, the distinct versions
//! its SEMVER / ECOSYSTEM events name are sorted once into `order` (equal versions share a
//! class), and every event carries its rank there. Matching a package then locates its
//! version in that list with a binary search (a handful of comparisons) and evaluates every
//! range of every advisory of the package with integer comparisons.

use super::Severity;
use super::matcher::normalize_name;
use super::osv::{Affected, Event, RangeType, Record, SeverityScore, SeverityType};
use super::version::{Scheme, compare, merge_sort_by};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The index file's name inside the database directory.
pub const INDEX_FILE: &str = "osv-index.bin";
/// Bumped whenever the layout or the meaning of a field changes.
pub const FORMAT_VERSION: u32 = 2;
const MAGIC: &[u8; 8] = b"PWOSVIDX";
const HEADER_LEN: usize = 64;
/// No index core may be larger than this (the whole of OSV is far below it).
const MAX_CORE_BYTES: u64 = 4 << 30;
const REIMPORT: &str = "rebuild it with `podwarden db update` or `podwarden db import`";

/// What `podwarden db info` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInfo {
    pub format_version: u32,
    /// When the index was built (RFC 3339, passed in by the caller).
    pub built_at: String,
    /// Distinct records, withdrawn ones included.
    pub records: u64,
    pub withdrawn: u64,
    /// Records per ecosystem (the part of `affected[].package.ecosystem` before `:`); a
    /// record affecting several ecosystems counts in each.
    pub ecosystems: BTreeMap<String, u64>,
    /// What the index was built from (paths or URLs).
    pub sources: Vec<String>,
}

/// A failure to open or write an index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(
        "no vulnerability database in {dir} (run `podwarden db update` or `podwarden db import PATH`)"
    )]
    NotFound { dir: PathBuf },
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a podwarden vulnerability index; {REIMPORT}")]
    BadMagic { path: PathBuf },
    #[error(
        "{path} has index format {found}, this podwarden reads format {FORMAT_VERSION}; {REIMPORT}"
    )]
    Version { path: PathBuf, found: u32 },
    #[error("{path} is damaged ({what}); {REIMPORT}")]
    Corrupt { path: PathBuf, what: String },
    #[error("the index would exceed {what}; split the import")]
    Overflow { what: &'static str },
}

// ---- table rows -------------------------------------------------------------------------

/// A string in the blob: byte offset and length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Str {
    pub off: u32,
    pub len: u32,
}

/// A run of rows in another table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub first: u32,
    pub count: u32,
}

impl Span {
    pub fn range(self) -> std::ops::Range<usize> {
        let first = self.first as usize;
        first..first.saturating_add(self.count as usize)
    }
}

pub(crate) const EV_INTRODUCED: u32 = 0;
pub(crate) const EV_FIXED: u32 = 1;
pub(crate) const EV_LAST_AFFECTED: u32 = 2;
pub(crate) const EV_LIMIT: u32 = 3;
pub(crate) const RANGE_SEMVER: u32 = 0;
pub(crate) const RANGE_ECOSYSTEM: u32 = 1;
pub(crate) const RANGE_GIT: u32 = 2;
/// `score10` value meaning "no score".
pub(crate) const NO_SCORE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KeyRow {
    /// Ecosystem without release suffix (`Debian`).
    pub ecosystem: Str,
    /// Normalised package name.
    pub name: Str,
    pub affected: Span,
    /// Rows of `order` for ECOSYSTEM ranges (empty when the ecosystem has no known order).
    pub order_ecosystem: Span,
    /// Rows of `order` for SEMVER ranges (the same rows when the ecosystem orders as SemVer).
    pub order_semver: Span,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AffectedRow {
    pub record: u32,
    /// Row of `keys` this entry is listed under.
    pub key: u32,
    /// Full ecosystem string (`Debian:12`).
    pub ecosystem: Str,
    /// Package name as the record writes it.
    pub name: Str,
    pub ranges: Span,
    /// Rows of `versions`, sorted by content.
    pub versions: Span,
    pub severity: u32,
    /// CVSS score × 10, or [`NO_SCORE`].
    pub score10: u32,
    pub vector: Str,
    /// [`FLAG_INFORMATIONAL`], ...
    pub flags: u32,
}

/// The entry is informational (RustSec `informational: unsound|unmaintained|notice`), not a
/// vulnerability: cargo-audit reports these as warnings, and so they never become findings.
pub(crate) const FLAG_INFORMATIONAL: u32 = 1;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RangeRow {
    pub kind: u32,
    pub events: Span,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EventRow {
    pub kind: u32,
    pub version: Str,
    /// `2 × class + 1` of the version in its key's `order` rows for the range's scheme (0
    /// for GIT ranges): comparing ranks is comparing versions.
    pub rank: u32,
}

/// One distinct event version of a key, in ascending version order.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OrderRow {
    pub version: Str,
    /// Versions that compare equal (`1.0` and `1.0.0` in SemVer) share a class; classes
    /// count up from 0 along the list.
    pub class: u32,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RecordRow {
    pub id: Str,
    pub summary: Str,
    pub url: Str,
    /// Rows of `lists`.
    pub aliases: Span,
    pub upstream: Span,
    pub withdrawn: u32,
    pub details_off_lo: u32,
    pub details_off_hi: u32,
    pub details_len: u32,
}

impl RecordRow {
    pub fn details_offset(&self) -> u64 {
        u64::from(self.details_off_lo) | (u64::from(self.details_off_hi) << 32)
    }
}

/// Fixed-width encoding of a row as u32 words.
trait Row: Sized + Copy {
    const WORDS: usize;
    fn put(&self, out: &mut Vec<u32>);
    fn get(w: &[u32]) -> Self;
}

fn w(words: &[u32], i: usize) -> u32 {
    words.get(i).copied().unwrap_or(0)
}
fn s(words: &[u32], i: usize) -> Str {
    Str {
        off: w(words, i),
        len: w(words, i + 1),
    }
}
fn sp(words: &[u32], i: usize) -> Span {
    Span {
        first: w(words, i),
        count: w(words, i + 1),
    }
}

impl Row for KeyRow {
    const WORDS: usize = 10;
    fn put(&self, out: &mut Vec<u32>) {
        out.extend([
            self.ecosystem.off,
            self.ecosystem.len,
            self.name.off,
            self.name.len,
            self.affected.first,
            self.affected.count,
            self.order_ecosystem.first,
            self.order_ecosystem.count,
            self.order_semver.first,
            self.order_semver.count,
        ]);
    }
    fn get(words: &[u32]) -> Self {
        KeyRow {
            ecosystem: s(words, 0),
            name: s(words, 2),
            affected: sp(words, 4),
            order_ecosystem: sp(words, 6),
            order_semver: sp(words, 8),
        }
    }
}

impl Row for AffectedRow {
    const WORDS: usize = 15;
    fn put(&self, out: &mut Vec<u32>) {
        out.extend([
            self.record,
            self.key,
            self.ecosystem.off,
            self.ecosystem.len,
            self.name.off,
            self.name.len,
            self.ranges.first,
            self.ranges.count,
            self.versions.first,
            self.versions.count,
            self.severity,
            self.score10,
            self.vector.off,
            self.vector.len,
            self.flags,
        ]);
    }
    fn get(words: &[u32]) -> Self {
        AffectedRow {
            record: w(words, 0),
            key: w(words, 1),
            ecosystem: s(words, 2),
            name: s(words, 4),
            ranges: sp(words, 6),
            versions: sp(words, 8),
            severity: w(words, 10),
            score10: w(words, 11),
            vector: s(words, 12),
            flags: w(words, 14),
        }
    }
}

impl Row for RangeRow {
    const WORDS: usize = 3;
    fn put(&self, out: &mut Vec<u32>) {
        out.extend([self.kind, self.events.first, self.events.count]);
    }
    fn get(words: &[u32]) -> Self {
        RangeRow {
            kind: w(words, 0),
            events: sp(words, 1),
        }
    }
}

impl Row for EventRow {
    const WORDS: usize = 4;
    fn put(&self, out: &mut Vec<u32>) {
        out.extend([self.kind, self.version.off, self.version.len, self.rank]);
    }
    fn get(words: &[u32]) -> Self {
        EventRow {
            kind: w(words, 0),
            version: s(words, 1),
            rank: w(words, 3),
        }
    }
}

impl Row for OrderRow {
    const WORDS: usize = 3;
    fn put(&self, out: &mut Vec<u32>) {
        out.extend([self.version.off, self.version.len, self.class]);
    }
    fn get(words: &[u32]) -> Self {
        OrderRow {
            version: s(words, 0),
            class: w(words, 2),
        }
    }
}

impl Row for Str {
    const WORDS: usize = 2;
    fn put(&self, out: &mut Vec<u32>) {
        out.extend([self.off, self.len]);
    }
    fn get(words: &[u32]) -> Self {
        s(words, 0)
    }
}

impl Row for RecordRow {
    const WORDS: usize = 14;
    fn put(&self, out: &mut Vec<u32>) {
        out.extend([
            self.id.off,
            self.id.len,
            self.summary.off,
            self.summary.len,
            self.url.off,
            self.url.len,
            self.aliases.first,
            self.aliases.count,
            self.upstream.first,
            self.upstream.count,
            self.withdrawn,
            self.details_off_lo,
            self.details_off_hi,
            self.details_len,
        ]);
    }
    fn get(words: &[u32]) -> Self {
        RecordRow {
            id: s(words, 0),
            summary: s(words, 2),
            url: s(words, 4),
            aliases: sp(words, 6),
            upstream: sp(words, 8),
            withdrawn: w(words, 10),
            details_off_lo: w(words, 11),
            details_off_hi: w(words, 12),
            details_len: w(words, 13),
        }
    }
}

// ---- the database -----------------------------------------------------------------------

/// Where the `details` texts live.
#[derive(Debug, Clone)]
enum Details {
    Memory(Vec<u8>),
    File {
        path: PathBuf,
        offset: u64,
        len: u64,
    },
}

/// A loaded vulnerability database, ready for matching. Immutable; share it behind `Arc`.
#[derive(Debug, Clone)]
pub struct Database {
    pub(crate) info: DbInfo,
    pub(crate) strings: String,
    pub(crate) keys: Vec<KeyRow>,
    pub(crate) affected: Vec<AffectedRow>,
    pub(crate) ranges: Vec<RangeRow>,
    pub(crate) events: Vec<EventRow>,
    pub(crate) versions: Vec<Str>,
    pub(crate) lists: Vec<Str>,
    pub(crate) records: Vec<RecordRow>,
    pub(crate) order: Vec<OrderRow>,
    details: Details,
}

/// One advisory as listed by [`Database::advisories`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisorySummary<'a> {
    pub id: &'a str,
    pub summary: &'a str,
    pub withdrawn: bool,
}

impl Database {
    /// Opens the index in `dir` (see [`INDEX_FILE`]).
    pub fn open(dir: &Path) -> Result<Database, IndexError> {
        let path = dir.join(INDEX_FILE);
        let mut file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(IndexError::NotFound {
                    dir: dir.to_owned(),
                });
            }
            Err(source) => return Err(IndexError::Io { path, source }),
        };
        let io = |source| IndexError::Io {
            path: path.clone(),
            source,
        };
        let file_len = file.metadata().map_err(io)?.len();
        let corrupt = |what: &str| IndexError::Corrupt {
            path: path.clone(),
            what: what.to_owned(),
        };
        let mut header = [0u8; HEADER_LEN];
        if file_len < HEADER_LEN as u64 {
            // Too short for a header: say "not an index" unless it starts like one.
            let mut start = Vec::new();
            file.read_to_end(&mut start).map_err(io)?;
            if start.starts_with(MAGIC) {
                return Err(corrupt("truncated header"));
            }
            return Err(IndexError::BadMagic { path });
        }
        file.read_exact(&mut header).map_err(io)?;
        let header = Header::decode(&header);
        if &header.magic != MAGIC {
            return Err(IndexError::BadMagic { path });
        }
        if header.version != FORMAT_VERSION {
            return Err(IndexError::Version {
                path,
                found: header.version,
            });
        }
        let expected_len = (HEADER_LEN as u64)
            .checked_add(header.core_len)
            .and_then(|n| n.checked_add(header.details_len));
        if header.core_len > MAX_CORE_BYTES || expected_len != Some(file_len) {
            return Err(corrupt(
                "file length does not match its header (truncated?)",
            ));
        }
        let mut core = vec![0u8; header.core_len as usize];
        file.read_exact(&mut core).map_err(io)?;
        if Sha256::digest(&core).as_slice() != header.checksum {
            return Err(corrupt("checksum mismatch"));
        }
        let details = Details::File {
            path: path.clone(),
            offset: HEADER_LEN as u64 + header.core_len,
            len: header.details_len,
        };
        Database::decode(core, details).map_err(|what| corrupt(&what))
    }

    /// Builds a database in memory from records (no file involved).
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Record>) -> Database {
        let mut builder = IndexBuilder::new();
        for record in records {
            builder.add(record);
        }
        builder.finish(BuildMeta::default())
    }

    pub fn info(&self) -> &DbInfo {
        &self.info
    }

    /// Number of records (withdrawn ones included).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every advisory, in the order they were imported.
    pub fn advisories(&self) -> impl Iterator<Item = AdvisorySummary<'_>> {
        self.records.iter().map(|r| AdvisorySummary {
            id: self.str(r.id),
            summary: self.str(r.summary),
            withdrawn: r.withdrawn != 0,
        })
    }

    /// The `details` text of a record, read on demand. `Ok(None)` when there is no such id.
    pub fn details(&self, id: &str) -> Result<Option<String>, IndexError> {
        let Some(row) = self.records.iter().find(|r| self.str(r.id) == id) else {
            return Ok(None);
        };
        let (start, len) = (row.details_offset(), u64::from(row.details_len));
        let bytes = match &self.details {
            Details::Memory(blob) => {
                let range = usize::try_from(start)
                    .ok()
                    .and_then(|s| Some(s..s.checked_add(usize::try_from(len).ok()?)?));
                range
                    .and_then(|r| blob.get(r))
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default()
            }
            Details::File {
                path,
                offset,
                len: total,
            } => {
                if start.saturating_add(len) > *total {
                    return Err(IndexError::Corrupt {
                        path: path.clone(),
                        what: format!("details of {id} out of bounds"),
                    });
                }
                let io = |source| IndexError::Io {
                    path: path.clone(),
                    source,
                };
                let mut file = fs::File::open(path).map_err(io)?;
                file.seek(SeekFrom::Start(offset + start)).map_err(io)?;
                let mut buf = Vec::new();
                file.take(len).read_to_end(&mut buf).map_err(io)?;
                buf
            }
        };
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Writes the index into `dir` (created if missing) atomically: a temporary file renamed
    /// over [`INDEX_FILE`]. Returns the index path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, IndexError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| IndexError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io(dir))?;
        let core = self.encode_core();
        let details = match &self.details {
            Details::Memory(blob) => blob.clone(),
            Details::File { path, offset, len } => {
                let mut file = fs::File::open(path).map_err(io(path))?;
                file.seek(SeekFrom::Start(*offset)).map_err(io(path))?;
                let mut buf = Vec::new();
                file.take(*len).read_to_end(&mut buf).map_err(io(path))?;
                buf
            }
        };
        let header = Header {
            magic: *MAGIC,
            version: FORMAT_VERSION,
            core_len: core.len() as u64,
            details_len: details.len() as u64,
            checksum: Sha256::digest(&core).into(),
        };
        let final_path = dir.join(INDEX_FILE);
        let tmp_path = dir.join(format!("{INDEX_FILE}.tmp"));
        let mut file = fs::File::create(&tmp_path).map_err(io(&tmp_path))?;
        file.write_all(&header.encode())
            .and_then(|()| file.write_all(&core))
            .and_then(|()| file.write_all(&details))
            .and_then(|()| file.sync_all())
            .map_err(io(&tmp_path))?;
        drop(file);
        fs::rename(&tmp_path, &final_path).map_err(io(&final_path))?;
        Ok(final_path)
    }

    /// A string of the blob; empty if the reference is out of bounds (cannot happen after
    /// [`Database::decode`] validated every reference).
    pub(crate) fn str(&self, r: Str) -> &str {
        let start = r.off as usize;
        self.strings
            .get(start..start.saturating_add(r.len as usize))
            .unwrap_or("")
    }

    /// The row range of `keys` for (ecosystem, normalised name), if any.
    pub(crate) fn lookup(&self, ecosystem: &str, name: &str) -> Option<Span> {
        let found = self
            .keys
            .binary_search_by(|k| {
                self.str(k.ecosystem)
                    .cmp(ecosystem)
                    .then_with(|| self.str(k.name).cmp(name))
            })
            .ok()?;
        self.keys.get(found).map(|k| k.affected)
    }

    fn encode_core(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let meta = serde_json::to_vec(&self.info).unwrap_or_default();
        put_section(&mut out, &meta);
        put_section(&mut out, self.strings.as_bytes());
        put_table(&mut out, &self.keys);
        put_table(&mut out, &self.affected);
        put_table(&mut out, &self.ranges);
        put_table(&mut out, &self.events);
        put_table(&mut out, &self.versions);
        put_table(&mut out, &self.lists);
        put_table(&mut out, &self.records);
        put_table(&mut out, &self.order);
        out
    }

    fn decode(core: Vec<u8>, details: Details) -> Result<Database, String> {
        let mut cursor = Cursor {
            bytes: &core,
            at: 0,
        };
        let meta = cursor.section("meta")?;
        let info: DbInfo =
            serde_json::from_slice(meta).map_err(|err| format!("meta section: {err}"))?;
        let strings = std::str::from_utf8(cursor.section("strings")?)
            .map_err(|_| "strings section is not UTF-8".to_owned())?
            .to_owned();
        let db = Database {
            info,
            strings,
            keys: cursor.table("keys")?,
            affected: cursor.table("affected")?,
            ranges: cursor.table("ranges")?,
            events: cursor.table("events")?,
            versions: cursor.table("versions")?,
            lists: cursor.table("lists")?,
            records: cursor.table("records")?,
            order: cursor.table("order")?,
            details,
        };
        if cursor.at != core.len() {
            return Err("trailing bytes after the last section".into());
        }
        db.validate()?;
        Ok(db)
    }

    /// Checks every reference once so that later lookups cannot go out of bounds.
    fn validate(&self) -> Result<(), String> {
        let str_ok = |r: Str| {
            let start = r.off as usize;
            self.strings
                .get(start..start.saturating_add(r.len as usize))
                .is_some()
        };
        let span_ok = |sp: Span, len: usize| {
            (sp.first as usize)
                .checked_add(sp.count as usize)
                .is_some_and(|end| end <= len)
        };
        for k in &self.keys {
            if !str_ok(k.ecosystem)
                || !str_ok(k.name)
                || !span_ok(k.affected, self.affected.len())
                || !span_ok(k.order_ecosystem, self.order.len())
                || !span_ok(k.order_semver, self.order.len())
            {
                return Err("bad key row".into());
            }
        }
        if !self.order.iter().all(|o| str_ok(o.version)) {
            return Err("bad order row".into());
        }
        for a in &self.affected {
            if a.record as usize >= self.records.len()
                || a.key as usize >= self.keys.len()
                || !str_ok(a.ecosystem)
                || !str_ok(a.name)
                || !str_ok(a.vector)
                || !span_ok(a.ranges, self.ranges.len())
                || !span_ok(a.versions, self.versions.len())
            {
                return Err("bad affected row".into());
            }
        }
        for r in &self.ranges {
            if !span_ok(r.events, self.events.len()) {
                return Err("bad range row".into());
            }
        }
        if !self.events.iter().all(|e| str_ok(e.version)) {
            return Err("bad event row".into());
        }
        if !self.versions.iter().chain(&self.lists).all(|&v| str_ok(v)) {
            return Err("bad string list".into());
        }
        for r in &self.records {
            if !str_ok(r.id)
                || !str_ok(r.summary)
                || !str_ok(r.url)
                || !span_ok(r.aliases, self.lists.len())
                || !span_ok(r.upstream, self.lists.len())
            {
                return Err("bad record row".into());
            }
        }
        Ok(())
    }
}

struct Header {
    magic: [u8; 8],
    version: u32,
    core_len: u64,
    details_len: u64,
    checksum: [u8; 32],
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(&self.magic);
        out[8..12].copy_from_slice(&self.version.to_le_bytes());
        out[16..24].copy_from_slice(&self.core_len.to_le_bytes());
        out[24..32].copy_from_slice(&self.details_len.to_le_bytes());
        out[32..64].copy_from_slice(&self.checksum);
        out
    }

    fn decode(bytes: &[u8; HEADER_LEN]) -> Header {
        let mut magic = [0u8; 8];
        magic.copy_from_slice(&bytes[0..8]);
        let mut u32b = [0u8; 4];
        u32b.copy_from_slice(&bytes[8..12]);
        let mut core = [0u8; 8];
        core.copy_from_slice(&bytes[16..24]);
        let mut details = [0u8; 8];
        details.copy_from_slice(&bytes[24..32]);
        let mut checksum = [0u8; 32];
        checksum.copy_from_slice(&bytes[32..64]);
        Header {
            magic,
            version: u32::from_le_bytes(u32b),
            core_len: u64::from_le_bytes(core),
            details_len: u64::from_le_bytes(details),
            checksum,
        }
    }
}

fn put_section(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_table<T: Row>(out: &mut Vec<u8>, rows: &[T]) {
    let mut words = Vec::with_capacity(rows.len() * T::WORDS);
    for row in rows {
        row.put(&mut words);
    }
    out.extend_from_slice(&((words.len() * 4) as u64).to_le_bytes());
    out.reserve(words.len() * 4);
    for word in words {
        out.extend_from_slice(&word.to_le_bytes());
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn section(&mut self, name: &str) -> Result<&'a [u8], String> {
        let truncated = || format!("{name} section truncated");
        let len_bytes = self.bytes.get(self.at..self.at + 8).ok_or_else(truncated)?;
        let mut len = [0u8; 8];
        len.copy_from_slice(len_bytes);
        let len = usize::try_from(u64::from_le_bytes(len)).map_err(|_| truncated())?;
        let start = self.at + 8;
        let end = start.checked_add(len).ok_or_else(truncated)?;
        let body = self.bytes.get(start..end).ok_or_else(truncated)?;
        self.at = end;
        Ok(body)
    }

    fn table<T: Row>(&mut self, name: &str) -> Result<Vec<T>, String> {
        let body = self.section(name)?;
        let row_bytes = T::WORDS * 4;
        if body.len() % row_bytes != 0 {
            return Err(format!("{name} table has a partial row"));
        }
        let mut words = Vec::with_capacity(T::WORDS);
        let mut rows = Vec::with_capacity(body.len() / row_bytes);
        for chunk in body.chunks_exact(row_bytes) {
            words.clear();
            words.extend(
                chunk
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            rows.push(T::get(&words));
        }
        Ok(rows)
    }
}

// ---- building ---------------------------------------------------------------------------

/// What the caller knows about a build (the crate reads no clock).
#[derive(Debug, Clone, Default)]
pub struct BuildMeta {
    /// RFC 3339 time of the build.
    pub built_at: String,
    pub sources: Vec<String>,
}

/// Accumulates records into the index tables.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    strings: String,
    interned: HashMap<String, Str>,
    /// (ecosystem base, normalised name, affected row) before grouping.
    keyed: Vec<(Str, Str, AffectedRow)>,
    ranges: Vec<RangeRow>,
    events: Vec<EventRow>,
    versions: Vec<Str>,
    lists: Vec<Str>,
    records: Vec<RecordRow>,
    details: Vec<u8>,
    ecosystems: BTreeMap<String, u64>,
    withdrawn: u64,
    overflow: Option<&'static str>,
}

impl IndexBuilder {
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// Number of records added so far.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn intern(&mut self, text: &str) -> Str {
        if text.is_empty() {
            return Str::default();
        }
        if let Some(&found) = self.interned.get(text) {
            return found;
        }
        let (Ok(off), Ok(len)) = (u32::try_from(self.strings.len()), u32::try_from(text.len()))
        else {
            self.overflow = Some("4 GiB of strings");
            return Str::default();
        };
        if off.checked_add(len).is_none() {
            self.overflow = Some("4 GiB of strings");
            return Str::default();
        }
        self.strings.push_str(text);
        let r = Str { off, len };
        self.interned.insert(text.to_owned(), r);
        r
    }

    fn span(&mut self, first: usize, end: usize) -> Span {
        match (u32::try_from(first), u32::try_from(end - first)) {
            (Ok(first), Ok(count)) => Span { first, count },
            _ => {
                self.overflow = Some("2^32 table rows");
                Span::default()
            }
        }
    }

    fn intern_list(&mut self, items: &[String]) -> Span {
        let first = self.lists.len();
        for item in items {
            let r = self.intern(item);
            self.lists.push(r);
        }
        self.span(first, self.lists.len())
    }

    /// Adds one record. Records with the same id are kept apart; import each once.
    pub fn add(&mut self, record: &Record) {
        let Ok(record_index) = u32::try_from(self.records.len()) else {
            self.overflow = Some("2^32 records");
            return;
        };
        let id = self.intern(&record.id);
        let summary = self.intern(record.summary.as_deref().unwrap_or(""));
        let url = self.intern(&advisory_url(record));
        let aliases = self.intern_list(&record.aliases);
        let upstream = self.intern_list(&record.upstream);
        let details = record.details.as_deref().unwrap_or("").as_bytes();
        let details_off = self.details.len() as u64;
        let details_len = u32::try_from(details.len()).unwrap_or(0);
        if details_len > 0 {
            self.details.extend_from_slice(details);
        }
        let withdrawn = record.withdrawn.is_some();
        if withdrawn {
            self.withdrawn += 1;
        }
        self.records.push(RecordRow {
            id,
            summary,
            url,
            aliases,
            upstream,
            withdrawn: u32::from(withdrawn),
            details_off_lo: details_off as u32,
            details_off_hi: (details_off >> 32) as u32,
            details_len,
        });

        let mut counted: Vec<&str> = Vec::new();
        for affected in &record.affected {
            let Some(package) = &affected.package else {
                continue;
            };
            let base = package.ecosystem.split(':').next().unwrap_or("");
            if !counted.contains(&base) {
                counted.push(base);
                *self.ecosystems.entry(base.to_owned()).or_default() += 1;
            }
            let row = self.affected_row(record_index, record, affected);
            let key_eco = self.intern(base);
            let key_name = self.intern(&normalize_name(base, &package.name));
            self.keyed.push((key_eco, key_name, row));
        }
    }

    fn affected_row(
        &mut self,
        record_index: u32,
        record: &Record,
        affected: &Affected,
    ) -> AffectedRow {
        let package = affected.package.as_ref();
        let ecosystem = self.intern(package.map_or("", |p| p.ecosystem.as_str()));
        let name = self.intern(package.map_or("", |p| p.name.as_str()));
        let ranges_first = self.ranges.len();
        for range in &affected.ranges {
            let events_first = self.events.len();
            for event in &range.events {
                let kind = match event {
                    Event::Introduced(_) => EV_INTRODUCED,
                    Event::Fixed(_) => EV_FIXED,
                    Event::LastAffected(_) => EV_LAST_AFFECTED,
                    Event::Limit(_) => EV_LIMIT,
                };
                let version = self.intern(event.version());
                // The rank is settled in `try_finish`, once every version of the key is known.
                self.events.push(EventRow {
                    kind,
                    version,
                    rank: 0,
                });
            }
            let events = self.span(events_first, self.events.len());
            let kind = match range.kind {
                RangeType::Semver => RANGE_SEMVER,
                RangeType::Ecosystem => RANGE_ECOSYSTEM,
                RangeType::Git => RANGE_GIT,
            };
            self.ranges.push(RangeRow { kind, events });
        }
        let ranges = self.span(ranges_first, self.ranges.len());
        // Sorted by content (and deduplicated) so that matching can binary-search them.
        let versions_first = self.versions.len();
        let mut sorted: Vec<&str> = affected.versions.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        for version in sorted {
            let r = self.intern(version);
            self.versions.push(r);
        }
        let versions = self.span(versions_first, self.versions.len());
        let assessed = assess_severity(record, affected);
        let vector = self.intern(assessed.vector.as_deref().unwrap_or(""));
        let informational = affected
            .database_specific
            .as_ref()
            .and_then(|d| d.get("informational"))
            .and_then(|i| i.as_str())
            .is_some_and(|i| !i.is_empty());
        AffectedRow {
            record: record_index,
            key: 0,
            ecosystem,
            name,
            ranges,
            versions,
            severity: severity_code(assessed.severity),
            score10: assessed
                .score
                .map_or(NO_SCORE, |s| (s * 10.0).round().clamp(0.0, 100.0) as u32),
            vector,
            flags: if informational { FLAG_INFORMATIONAL } else { 0 },
        }
    }

    /// Sorts and groups the rows into the final tables.
    pub fn finish(self, meta: BuildMeta) -> Database {
        self.try_finish(meta).unwrap_or_else(|_| Database::empty())
    }

    /// Like [`IndexBuilder::finish`], but reports a table that outgrew the format.
    pub fn try_finish(mut self, meta: BuildMeta) -> Result<Database, IndexError> {
        if let Some(what) = self.overflow {
            return Err(IndexError::Overflow { what });
        }
        let strings = std::mem::take(&mut self.strings);
        let key_of = |r: Str| {
            let start = r.off as usize;
            strings.get(start..start + r.len as usize).unwrap_or("")
        };
        // Stable: rows of one key stay in import order.
        self.keyed.sort_by(|a, b| {
            key_of(a.0)
                .cmp(key_of(b.0))
                .then(key_of(a.1).cmp(key_of(b.1)))
        });
        let mut keys: Vec<KeyRow> = Vec::new();
        let mut affected = Vec::with_capacity(self.keyed.len());
        for (eco, name, row) in self.keyed {
            let index = u32::try_from(affected.len())
                .map_err(|_| IndexError::Overflow { what: "2^32 rows" })?;
            affected.push(row);
            match keys.last_mut() {
                Some(last)
                    if key_of(last.ecosystem) == key_of(eco)
                        && key_of(last.name) == key_of(name) =>
                {
                    last.affected.count += 1;
                }
                _ => keys.push(KeyRow {
                    ecosystem: eco,
                    name,
                    affected: Span {
                        first: index,
                        count: 1,
                    },
                    ..KeyRow::default()
                }),
            }
        }
        let order = rank_event_versions(
            &strings,
            &mut keys,
            &mut affected,
            &self.ranges,
            &mut self.events,
        )?;
        let info = DbInfo {
            format_version: FORMAT_VERSION,
            built_at: meta.built_at,
            records: self.records.len() as u64,
            withdrawn: self.withdrawn,
            ecosystems: self.ecosystems,
            sources: meta.sources,
        };
        Ok(Database {
            info,
            strings,
            keys,
            affected,
            ranges: self.ranges,
            events: self.events,
            versions: self.versions,
            lists: self.lists,
            records: self.records,
            order,
            details: Details::Memory(self.details),
        })
    }
}

impl Database {
    fn empty() -> Database {
        Database {
            info: DbInfo {
                format_version: FORMAT_VERSION,
                ..DbInfo::default()
            },
            strings: String::new(),
            keys: Vec::new(),
            affected: Vec::new(),
            ranges: Vec::new(),
            events: Vec::new(),
            versions: Vec::new(),
            lists: Vec::new(),
            records: Vec::new(),
            order: Vec::new(),
            details: Details::Memory(Vec::new()),
        }
    }
}

/// Sorts, per key and scheme, the distinct versions that SEMVER / ECOSYSTEM events name,
/// records each event's rank in that order, and links every affected row to its key.
/// Returns the `order` table.
fn rank_event_versions(
    strings: &str,
    keys: &mut [KeyRow],
    affected: &mut [AffectedRow],
    ranges: &[RangeRow],
    events: &mut [EventRow],
) -> Result<Vec<OrderRow>, IndexError> {
    let text = |r: Str| {
        let start = r.off as usize;
        strings.get(start..start + r.len as usize).unwrap_or("")
    };
    let overflow = || IndexError::Overflow { what: "2^32 rows" };
    let mut order: Vec<OrderRow> = Vec::new();
    // Reused per key: event rows of each list, distinct versions, (offset, class) pairs.
    let mut ecosystem_events: Vec<usize> = Vec::new();
    let mut semver_events: Vec<usize> = Vec::new();
    let mut distinct: Vec<Str> = Vec::new();
    let mut classes: Vec<((u32, u32), u32)> = Vec::new();
    for (key_index, key) in keys.iter_mut().enumerate() {
        let key_index = u32::try_from(key_index).map_err(|_| overflow())?;
        let ecosystem_scheme = Scheme::for_ecosystem(text(key.ecosystem));
        ecosystem_events.clear();
        semver_events.clear();
        for row in affected.get_mut(key.affected.range()).unwrap_or(&mut []) {
            row.key = key_index;
            for range in ranges.get(row.ranges.range()).unwrap_or(&[]) {
                let list = match range.kind {
                    RANGE_SEMVER => &mut semver_events,
                    RANGE_ECOSYSTEM if ecosystem_scheme == Some(Scheme::SemVer) => {
                        &mut semver_events
                    }
                    RANGE_ECOSYSTEM if ecosystem_scheme.is_some() => &mut ecosystem_events,
                    _ => continue,
                };
                list.extend(range.events.range());
            }
        }
        let lists = [
            (Scheme::SemVer, &semver_events),
            (
                ecosystem_scheme.unwrap_or(Scheme::SemVer),
                &ecosystem_events,
            ),
        ];
        for (which, (scheme, list)) in lists.into_iter().enumerate() {
            distinct.clear();
            distinct.extend(
                list.iter()
                    .filter_map(|&e| events.get(e))
                    .map(|e| e.version),
            );
            distinct.sort_unstable_by_key(|v| (v.off, v.len));
            distinct.dedup();
            // A merge sort: whatever a scheme answers for odd versions, it ends.
            merge_sort_by(&mut distinct, |a, b| compare(scheme, text(*a), text(*b)));
            let first = order.len();
            classes.clear();
            let mut class = 0u32;
            let mut previous: Option<Str> = None;
            for &version in &distinct {
                if let Some(previous) = previous
                    && compare(scheme, text(previous), text(version)) != std::cmp::Ordering::Equal
                {
                    class += 1;
                }
                previous = Some(version);
                order.push(OrderRow { version, class });
                classes.push(((version.off, version.len), class));
            }
            classes.sort_unstable();
            for &e in list {
                if let Some(event) = events.get_mut(e)
                    && let Ok(found) = classes
                        .binary_search_by_key(&(event.version.off, event.version.len), |c| c.0)
                    && let Some(&(_, class)) = classes.get(found)
                {
                    event.rank = class
                        .checked_mul(2)
                        .and_then(|r| r.checked_add(1))
                        .ok_or_else(overflow)?;
                }
            }
            let span = Span {
                first: u32::try_from(first).map_err(|_| overflow())?,
                count: u32::try_from(order.len() - first).map_err(|_| overflow())?,
            };
            if which == 0 {
                key.order_semver = span;
                if ecosystem_scheme == Some(Scheme::SemVer) {
                    key.order_ecosystem = span;
                }
            } else if ecosystem_scheme.is_some_and(|s| s != Scheme::SemVer) {
                key.order_ecosystem = span;
            }
        }
    }
    Ok(order)
}

/// The advisory's web page: the database's own `url`, an ADVISORY reference naming the id,
/// or the osv.dev page.
fn advisory_url(record: &Record) -> String {
    if let Some(url) = record
        .database_specific
        .as_ref()
        .and_then(|d| d.get("url"))
        .and_then(|u| u.as_str())
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    {
        return url.to_owned();
    }
    if let Some(reference) = record
        .references
        .iter()
        .find(|r| r.kind == "ADVISORY" && r.url.contains(record.id.as_str()))
    {
        return reference.url.clone();
    }
    format!("https://osv.dev/vulnerability/{}", record.id)
}

// ---- severity ---------------------------------------------------------------------------

pub(crate) fn severity_code(severity: Severity) -> u32 {
    match severity {
        Severity::Unknown => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

pub(crate) fn severity_from_code(code: u32) -> Severity {
    match code {
        1 => Severity::Low,
        2 => Severity::Medium,
        3 => Severity::High,
        4 => Severity::Critical,
        _ => Severity::Unknown,
    }
}

/// Severity of one affected entry, with the score and vector it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessed {
    pub severity: Severity,
    pub score: Option<f64>,
    pub vector: Option<String>,
}

/// Decides the severity of `affected` (an entry of `record`): a CVSS v4 or v3.x vector
/// (the entry's own `severity` first, else the record's), else the GHSA
/// `database_specific.severity` label, else a Debian urgency / Ubuntu priority label, else a
/// CVSS v2 vector, else unknown.
pub fn assess_severity(record: &Record, affected: &Affected) -> Assessed {
    let scores: &[SeverityScore] = if affected.severity.is_empty() {
        &record.severity
    } else {
        &affected.severity
    };
    for wanted in [SeverityType::CvssV4, SeverityType::CvssV3] {
        for entry in scores.iter().filter(|s| s.kind == wanted) {
            if let Some(assessed) = cvss_score(&entry.score) {
                return assessed;
            }
        }
    }
    let label_sources = [
        record.database_specific.as_ref(),
        affected.database_specific.as_ref(),
        affected.ecosystem_specific.as_ref(),
    ];
    for source in label_sources.into_iter().flatten() {
        for key in ["severity", "urgency", "priority", "ubuntu_priority"] {
            if let Some(severity) = source
                .get(key)
                .and_then(|v| v.as_str())
                .and_then(severity_label)
            {
                return Assessed {
                    severity,
                    score: None,
                    vector: None,
                };
            }
        }
    }
    for entry in scores.iter().filter(|s| s.kind == SeverityType::Ubuntu) {
        if let Some(severity) = severity_label(&entry.score) {
            return Assessed {
                severity,
                score: None,
                vector: None,
            };
        }
    }
    for entry in scores.iter().filter(|s| s.kind == SeverityType::CvssV2) {
        if let Some(assessed) = cvss_score(&entry.score) {
            return assessed;
        }
    }
    Assessed {
        severity: Severity::Unknown,
        score: None,
        vector: None,
    }
}

/// Scores a CVSS vector (v2, v3.0, v3.1 base score; v4.0 score).
pub fn cvss_score(vector: &str) -> Option<Assessed> {
    let vector = vector.trim();
    let parsed: cvss::Cvss = vector.parse().ok()?;
    let score = parsed.score();
    if !score.is_finite() {
        return None;
    }
    // One decimal, as every CVSS calculator prints it.
    let score = (score * 10.0).round() / 10.0;
    let severity = match parsed {
        cvss::Cvss::CvssV20(_) => {
            // CVSS v2 has no "critical": NVD's v2 bands.
            if score >= 7.0 {
                Severity::High
            } else if score >= 4.0 {
                Severity::Medium
            } else if score > 0.0 {
                Severity::Low
            } else {
                Severity::Unknown
            }
        }
        _ => Severity::from_score(score),
    };
    Some(Assessed {
        severity,
        score: Some(score),
        vector: Some(vector.to_owned()),
    })
}

/// A severity or priority label from GHSA, Debian or Ubuntu.
pub fn severity_label(label: &str) -> Option<Severity> {
    Some(match label.trim().to_ascii_lowercase().as_str() {
        "critical" => Severity::Critical,
        "high" | "important" => Severity::High,
        "moderate" | "medium" => Severity::Medium,
        "low" | "negligible" | "unimportant" => Severity::Low,
        _ => return None,
    })
}
