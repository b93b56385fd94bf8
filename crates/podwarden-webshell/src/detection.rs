//! What a scan reports: detections with their rule hits, skip counts and per-file errors.

use serde::Serialize;
use std::path::PathBuf;

/// Kind of webshell, from the language of the code that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// PHP (any extension, including code hidden in images or text files).
    Php,
    /// JSP / JSPX.
    Jsp,
    /// Classic ASP and ASP.NET (ASPX, ASHX, ASMX).
    Asp,
    /// Script CGI: Perl, Python, shell.
    Cgi,
    /// Could not be attributed to one language.
    Other,
}

impl Category {
    /// The lowercase name used in rule metadata and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Php => "php",
            Category::Jsp => "jsp",
            Category::Asp => "asp",
            Category::Cgi => "cgi",
            Category::Other => "other",
        }
    }

    /// Parses a rule's `category` meta; `any` and unknown values give `None`.
    pub fn from_meta(value: &str) -> Option<Category> {
        match value.to_ascii_lowercase().as_str() {
            "php" => Some(Category::Php),
            "jsp" | "jspx" | "java" => Some(Category::Jsp),
            "asp" | "aspx" | "asp.net" | "dotnet" => Some(Category::Asp),
            "cgi" | "perl" | "python" | "shell" => Some(Category::Cgi),
            _ => None,
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule (YARA rule or heuristic) that matched a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleHit {
    /// Rule name; heuristics are named `heuristic.<name>`.
    pub name: String,
    /// What the rule looks for.
    pub description: String,
    /// Weight of this hit alone (0-100).
    pub score: u32,
    /// Short printable excerpt of the matching text (bounded).
    pub excerpt: String,
    /// 1-based line of the excerpt, when the hit points at a place in the file.
    pub line: Option<usize>,
}

/// A file judged to be a webshell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    pub path: PathBuf,
    /// Combined score (0-100) of all hits.
    pub score: u32,
    pub category: Category,
    /// Hits, strongest first.
    pub rules: Vec<RuleHit>,
}

/// A file that could not be read or scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileError {
    pub path: PathBuf,
    pub message: String,
}

/// Files left out of a tree scan, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SkipCounts {
    /// Larger than the size bound.
    pub too_large: u64,
    /// Binary content with no script code embedded.
    pub binary: u64,
    /// Text that is not server-side web code (no extension or content marker).
    pub not_web_code: u64,
    /// Symbolic links (never followed).
    pub symlinks: u64,
    /// Sockets, devices, FIFOs.
    pub special: u64,
}

/// Result of scanning a tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanSummary {
    /// Detections, sorted by path.
    pub detections: Vec<Detection>,
    /// Files whose content went through the rules.
    pub files_scanned: u64,
    /// Bytes of those files.
    pub bytes_scanned: u64,
    pub skipped: SkipCounts,
    /// Per-file read or scan errors, sorted by path.
    pub errors: Vec<FileError>,
}
