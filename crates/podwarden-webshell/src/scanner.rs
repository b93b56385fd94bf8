//! The scanner: compiled rules + heuristics, scoring, and the parallel tree walk.

use crate::detection::{Category, Detection, FileError, RuleHit, ScanSummary};
use crate::excerpt::{excerpt_at, line_of};
use crate::heuristics::{FileKind, HeuristicHit, Heuristics};
use crate::rules::{RuleError, RuleSource, compile};
use crate::sniff::{self, Language};
use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files larger than this are skipped (and counted) by default: 5 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;
/// Combined score at or above which a file is reported.
pub const DEFAULT_THRESHOLD: u32 = 60;
/// Score of a user rule that carries no `score` meta.
const USER_RULE_DEFAULT_SCORE: u32 = 75;
/// Matches kept per pattern: enough for excerpts and counts, bounded on huge files.
const MAX_MATCHES_PER_PATTERN: usize = 1000;

/// Options of a tree scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Files larger than this are skipped and counted in `skipped.too_large`.
    pub max_file_size: u64,
    /// Report files whose combined score reaches this (0-100).
    pub threshold: u32,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// Compiled rules and heuristics; cheap to clone and share between threads.
#[derive(Clone)]
pub struct Scanner {
    rules: Arc<yara_x::Rules>,
    heuristics: Arc<Heuristics>,
    threshold: u32,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// What became of one file of a tree.
enum Outcome {
    Clean { bytes: u64 },
    Detected { bytes: u64, detection: Detection },
    TooLarge,
    Binary,
    NotWebCode,
    Failed(FileError),
}

impl Scanner {
    /// Compiles the shipped rules plus `extra_rule_sources` (user YARA files). A source that
    /// does not compile gives an error naming its origin and line.
    pub fn new(extra_rule_sources: &[RuleSource]) -> Result<Scanner, RuleError> {
        Ok(Scanner {
            rules: compile(extra_rule_sources)?,
            heuristics: Arc::new(Heuristics::new()),
            threshold: DEFAULT_THRESHOLD,
        })
    }

    /// The same scanner reporting at another score threshold (clamped to 1..=100).
    pub fn with_threshold(mut self, threshold: u32) -> Scanner {
        self.threshold = threshold.clamp(1, 100);
        self
    }

    /// Scans one file's content. `path_hint` gives the extension used for typing and is
    /// copied into the detection. Binary content is scanned only when it embeds PHP.
    pub fn scan_bytes(&self, path_hint: &Path, data: &[u8]) -> Option<Detection> {
        let mut yara = yara_x::Scanner::new(&self.rules);
        yara.max_matches_per_pattern(MAX_MATCHES_PER_PATTERN);
        self.scan_with(&mut yara, path_hint, data).ok().flatten()
    }

    /// Types the file and, when it is web code, scans it. `Err` means "not web code" or
    /// "binary", with the reason.
    fn scan_with(
        &self,
        yara: &mut yara_x::Scanner<'_>,
        path: &Path,
        data: &[u8],
    ) -> Result<Option<Detection>, Skip> {
        let by_extension = sniff::language_by_extension(path);
        let language = if sniff::looks_binary(data) || sniff::is_opaque_extension(path) {
            if !sniff::has_embedded_php(data) {
                return Err(Skip::Binary);
            }
            Language::Php
        } else {
            sniff::language_of(path, data)
        };
        if language == Language::None {
            return Err(Skip::NotWebCode);
        }
        let kind = FileKind {
            language,
            by_extension,
            inert_extension: is_inert_extension(path),
        };
        Ok(self.evaluate(yara, path, kind, data))
    }

    fn evaluate(
        &self,
        yara: &mut yara_x::Scanner<'_>,
        path: &Path,
        kind: FileKind,
        data: &[u8],
    ) -> Option<Detection> {
        let mut hits: Vec<(RuleHit, Option<Category>)> = Vec::new();
        // A scan error (timeouts are not set) leaves the heuristics to judge alone.
        if let Ok(results) = yara.scan(data) {
            for rule in results.matching_rules() {
                hits.push(rule_hit(&rule, data));
            }
        }
        for hit in self.heuristics.run(kind, data) {
            hits.push((heuristic_hit(&hit, data), None));
        }
        if hits.is_empty() {
            return None;
        }
        hits.sort_by(|a, b| {
            b.0.score
                .cmp(&a.0.score)
                .then_with(|| a.0.name.cmp(&b.0.name))
        });
        let score = combined_score(hits.iter().map(|(hit, _)| hit.score));
        if score < self.threshold {
            return None;
        }
        let category = hits
            .iter()
            .find_map(|(_, category)| *category)
            .unwrap_or_else(|| kind.language.category());
        Some(Detection {
            path: path.to_path_buf(),
            score,
            category,
            rules: hits.into_iter().map(|(hit, _)| hit).collect(),
        })
    }

    /// Scans every regular file under `root` (or `root` itself when it is a file) in
    /// parallel. Symlinks are never followed; unreadable entries become per-file errors.
    pub fn scan_tree(&self, root: &Path, options: &ScanOptions) -> ScanSummary {
        let scanner = self.clone().with_threshold(options.threshold);
        let mut summary = ScanSummary::default();
        let mut files = Vec::new();
        walk(root, &mut files, &mut summary);
        let outcomes: Vec<Outcome> = files
            .par_iter()
            .map_init(
                // One yara-x scanner and one read buffer per worker, reused for every file.
                || {
                    let mut yara = yara_x::Scanner::new(&scanner.rules);
                    yara.max_matches_per_pattern(MAX_MATCHES_PER_PATTERN);
                    (yara, Vec::new())
                },
                |(yara, buffer), path| scanner.scan_path(yara, buffer, path, options.max_file_size),
            )
            .collect();
        for outcome in outcomes {
            match outcome {
                Outcome::Clean { bytes } => {
                    summary.files_scanned += 1;
                    summary.bytes_scanned += bytes;
                }
                Outcome::Detected { bytes, detection } => {
                    summary.files_scanned += 1;
                    summary.bytes_scanned += bytes;
                    summary.detections.push(detection);
                }
                Outcome::TooLarge => summary.skipped.too_large += 1,
                Outcome::Binary => summary.skipped.binary += 1,
                Outcome::NotWebCode => summary.skipped.not_web_code += 1,
                Outcome::Failed(error) => summary.errors.push(error),
            }
        }
        summary.detections.sort_by(|a, b| a.path.cmp(&b.path));
        summary.errors.sort_by(|a, b| a.path.cmp(&b.path));
        summary
    }

    fn scan_path(
        &self,
        yara: &mut yara_x::Scanner<'_>,
        buffer: &mut Vec<u8>,
        path: &Path,
        max_size: u64,
    ) -> Outcome {
        if sniff::is_opaque_extension(path) {
            return Outcome::Binary;
        }
        let data = match read_bounded(path, max_size, buffer) {
            Ok(true) => buffer.as_slice(),
            Ok(false) => return Outcome::TooLarge,
            Err(err) => {
                return Outcome::Failed(FileError {
                    path: path.to_path_buf(),
                    message: format!("cannot read: {err}"),
                });
            }
        };
        let bytes = u64::try_from(data.len()).unwrap_or(u64::MAX);
        match self.scan_with(yara, path, data) {
            Ok(Some(detection)) => Outcome::Detected { bytes, detection },
            Ok(None) => Outcome::Clean { bytes },
            Err(Skip::Binary) => Outcome::Binary,
            Err(Skip::NotWebCode) => Outcome::NotWebCode,
        }
    }
}

enum Skip {
    Binary,
    NotWebCode,
}

/// Reads the whole file into `buffer` (replacing its content) when it holds at most
/// `max_size` bytes; `Ok(false)` when it is larger. The read stays bounded even when the
/// file grows after its size was looked at.
fn read_bounded(path: &Path, max_size: u64, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
    buffer.clear();
    let file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    if length > max_size {
        return Ok(false);
    }
    buffer.reserve(usize::try_from(length).unwrap_or(0).saturating_add(1));
    file.take(max_size.saturating_add(1)).read_to_end(buffer)?;
    Ok(u64::try_from(buffer.len()).unwrap_or(u64::MAX) <= max_size)
}

/// Collects regular files under `root` without following symlinks. Entries are typed from
/// the directory listing (no stat per file).
fn walk(root: &Path, files: &mut Vec<PathBuf>, summary: &mut ScanSummary) {
    let mut pending = Vec::new();
    match std::fs::symlink_metadata(root) {
        Ok(metadata) => sort_entry(
            root.to_path_buf(),
            metadata.file_type(),
            &mut pending,
            files,
            summary,
        ),
        Err(err) => summary.errors.push(FileError {
            path: root.to_path_buf(),
            message: format!("cannot stat: {err}"),
        }),
    }
    while let Some(directory) = pending.pop() {
        let entries = match std::fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(err) => {
                summary.errors.push(FileError {
                    path: directory,
                    message: format!("cannot list directory: {err}"),
                });
                continue;
            }
        };
        for entry in entries {
            match entry {
                Ok(entry) => match entry.file_type() {
                    Ok(kind) => sort_entry(entry.path(), kind, &mut pending, files, summary),
                    Err(err) => summary.errors.push(FileError {
                        path: entry.path(),
                        message: format!("cannot stat: {err}"),
                    }),
                },
                Err(err) => summary.errors.push(FileError {
                    path: directory.clone(),
                    message: format!("cannot list directory: {err}"),
                }),
            }
        }
    }
}

/// Files to scan, directories to list, symlinks and special files counted.
fn sort_entry(
    path: PathBuf,
    kind: std::fs::FileType,
    pending: &mut Vec<PathBuf>,
    files: &mut Vec<PathBuf>,
    summary: &mut ScanSummary,
) {
    if kind.is_symlink() {
        summary.skipped.symlinks += 1;
    } else if kind.is_file() {
        files.push(path);
    } else if kind.is_dir() {
        pending.push(path);
    } else {
        summary.skipped.special += 1;
    }
}

/// Image, text and style extensions: PHP inside them is out of place.
fn is_inert_extension(path: &Path) -> bool {
    const INERT: &[&str] = &[
        "jpg", "jpeg", "png", "gif", "ico", "bmp", "webp", "svg", "txt", "log", "css", "md", "csv",
        "json", "xml",
    ];
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| INERT.contains(&ext.to_ascii_lowercase().as_str()))
}

/// Strongest hit counts fully, the next half, the next a quarter...; capped at 100. Several
/// weak signals can add up, but never as fast as one strong one.
fn combined_score(scores: impl Iterator<Item = u32>) -> u32 {
    let mut total = 0u32;
    for (index, score) in scores.enumerate().take(8) {
        total = total.saturating_add(score.min(100) >> index);
    }
    total.min(100)
}

fn rule_hit(rule: &yara_x::Rule<'_, '_>, data: &[u8]) -> (RuleHit, Option<Category>) {
    let mut score = None;
    let mut category = None;
    let mut description = String::new();
    for (key, value) in rule.metadata() {
        match (key, value) {
            ("score", yara_x::MetaValue::Integer(n)) => {
                score = Some(u32::try_from(n.clamp(0, 100)).unwrap_or(0));
            }
            ("score", yara_x::MetaValue::String(text)) => score = text.trim().parse::<u32>().ok(),
            ("category", yara_x::MetaValue::String(text)) => category = Category::from_meta(text),
            ("description", yara_x::MetaValue::String(text)) => description = text.to_string(),
            _ => {}
        }
    }
    let offset = rule
        .patterns()
        .filter_map(|pattern| pattern.matches().next().map(|m| m.range().start))
        .next();
    let name = match rule.namespace() {
        "default" => rule.identifier().to_string(),
        namespace => format!("{namespace}.{}", rule.identifier()),
    };
    let hit = RuleHit {
        name,
        description,
        score: score.unwrap_or(USER_RULE_DEFAULT_SCORE).min(100),
        excerpt: offset.map(|at| excerpt_at(data, at)).unwrap_or_default(),
        line: offset.map(|at| line_of(data, at)),
    };
    (hit, category)
}

fn heuristic_hit(hit: &HeuristicHit, data: &[u8]) -> RuleHit {
    RuleHit {
        name: format!("heuristic.{}", hit.name),
        description: hit.description.to_string(),
        score: hit.score,
        excerpt: hit
            .offset
            .map(|at| excerpt_at(data, at))
            .unwrap_or_default(),
        line: hit.offset.map(|at| line_of(data, at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_combine_with_decreasing_weights() {
        let check = |scores: &[u32], expected: u32| {
            assert_eq!(
                combined_score(scores.iter().copied()),
                expected,
                "{scores:?}"
            );
        };
        check(&[], 0);
        check(&[95], 95);
        check(&[45, 30], 60);
        check(&[90, 85, 60], 100);
        check(&[30, 25, 15], 45);
        check(&[250], 100);
    }
}
