//! Vulnerability matching: OSV records, the local index, and findings for an inventory.

pub mod catalog;
pub mod index;
pub mod load;
pub mod matcher;
pub mod osv;
pub mod version;

pub use index::{Database, DbInfo, IndexError};

use serde::Serialize;

/// Severity of a finding, from the record's CVSS score or its own severity label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// CVSS v3/v4 qualitative rating of a base score.
    pub fn from_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Unknown
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One vulnerable package: what is installed, what advisory says so, and what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub package: crate::inventory::Package,
    /// The advisory id (`GHSA-...`, `RUSTSEC-...`, `DSA-...`, `CVE-...`).
    pub id: String,
    /// Other ids of the same vulnerability (CVE first), merged from `aliases` and `upstream`.
    pub aliases: Vec<String>,
    pub summary: String,
    pub severity: Severity,
    /// CVSS base score when the record gives a vector or a score.
    pub cvss_score: Option<f64>,
    pub cvss_vector: Option<String>,
    /// Versions that fix it, in ascending order (empty: no fix available yet).
    pub fixed_versions: Vec<String>,
    /// One sentence: `upgrade openssl to >= 3.0.7` or `no fix available yet`.
    pub remediation: String,
    /// Advisory web page.
    pub url: Option<String>,
}
