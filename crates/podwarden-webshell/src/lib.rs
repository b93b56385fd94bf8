//! Webshell content scanner: YARA rules (yara-x) plus heuristics over web code.
//!
//! [`Scanner`] compiles the shipped rules (`rules/yara/*.yar`, embedded) together with any
//! extra rule sources once, shares the compiled set behind an `Arc`, and scores each file by
//! combining rule hits with heuristics (request input reaching a sink through variables,
//! function names hidden by concatenation or escapes, long encoded blobs, entropy, script code
//! hidden in images or text files). A file whose score reaches the threshold is a
//! [`Detection`]. [`Scanner::scan_tree`] walks a directory in parallel, never follows
//! symlinks, bounds file sizes and skips binaries cheaply.

mod codeview;
mod detection;
mod excerpt;
mod heuristics;
mod rules;
mod scanner;
mod sniff;

pub use detection::{Category, Detection, FileError, RuleHit, ScanSummary, SkipCounts};
pub use rules::{RuleError, RuleSource, builtin_rule_sources};
pub use scanner::{DEFAULT_MAX_FILE_SIZE, DEFAULT_THRESHOLD, ScanOptions, Scanner};
pub use sniff::Language;
