//! Rendering scan results: table, JSON, SARIF 2.1.0 and CycloneDX 1.5.
//!
//! Every renderer is a pure function of a [`ScanReport`]: the caller passes the time and the
//! BOM serial number in, findings and packages are put in a fixed order, so the same scan
//! renders byte for byte the same output.

mod cyclonedx;
mod json;
mod sarif;
mod table;

pub use cyclonedx::cyclonedx;
pub use json::json;
pub use sarif::sarif;
pub use table::table;

use crate::inventory::{Inventory, OsRelease, Package};
use crate::vuln::{Finding, Severity};
use std::cmp::Reverse;

/// Everything a report shows about one scan.
#[derive(Debug, Clone, Copy)]
pub struct ScanReport<'a> {
    /// What was scanned: a directory, an image reference or an archive path.
    pub target: &'a str,
    /// When the scan ran, RFC 3339 (passed in: this crate reads no clock).
    pub generated_at: &'a str,
    pub inventory: &'a Inventory,
    pub findings: &'a [Finding],
    /// The advisory database the findings came from, when one was used.
    pub database: Option<&'a DatabaseSummary>,
}

/// What the advisory database held when the scan matched against it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseSummary {
    pub advisories: u64,
    /// When the database was built, RFC 3339.
    pub built_at: Option<String>,
    /// Advisories per ecosystem.
    pub ecosystems: Vec<(String, u64)>,
}

/// The tool name written into SARIF and CycloneDX output.
const TOOL_NAME: &str = "podwarden";
/// The tool version written into SARIF and CycloneDX output.
const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Findings most severe first, then by package, version, location and advisory id.
fn sorted_findings(findings: &[Finding]) -> Vec<&Finding> {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| {
        Reverse(a.severity)
            .cmp(&Reverse(b.severity))
            .then_with(|| a.package.name.cmp(&b.package.name))
            .then_with(|| a.package.version.cmp(&b.package.version))
            .then_with(|| a.package.location.cmp(&b.package.location))
            .then_with(|| a.id.cmp(&b.id))
    });
    sorted
}

/// Packages by ecosystem, name, version and location.
fn sorted_packages(packages: &[Package]) -> Vec<&Package> {
    let mut sorted: Vec<&Package> = packages.iter().collect();
    sorted.sort_by(|a, b| {
        a.ecosystem
            .osv_name()
            .cmp(b.ecosystem.osv_name())
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.version.cmp(&b.version))
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.purl.cmp(&b.purl))
    });
    sorted
}

/// How many findings there are of each severity, most severe first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SeverityCounts {
    critical: u64,
    high: u64,
    medium: u64,
    low: u64,
    unknown: u64,
}

impl SeverityCounts {
    fn of(findings: &[Finding]) -> SeverityCounts {
        let mut counts = SeverityCounts::default();
        for finding in findings {
            *match finding.severity {
                Severity::Critical => &mut counts.critical,
                Severity::High => &mut counts.high,
                Severity::Medium => &mut counts.medium,
                Severity::Low => &mut counts.low,
                Severity::Unknown => &mut counts.unknown,
            } += 1;
        }
        counts
    }

    /// `(severity, count)` pairs, most severe first.
    fn pairs(&self) -> [(Severity, u64); 5] {
        [
            (Severity::Critical, self.critical),
            (Severity::High, self.high),
            (Severity::Medium, self.medium),
            (Severity::Low, self.low),
            (Severity::Unknown, self.unknown),
        ]
    }
}

/// The CVE id of a finding: its own id when it is one, else its first CVE alias.
fn cve_of(finding: &Finding) -> Option<&str> {
    std::iter::once(&finding.id)
        .chain(&finding.aliases)
        .map(String::as_str)
        .find(|id| id.starts_with("CVE-"))
}

/// A short name for the detected OS: `debian 12`, `alpine 3.20.3`.
fn os_label(os: &OsRelease) -> String {
    match &os.version_id {
        Some(version) => format!("{} {version}", os.id),
        None => os.id.clone(),
    }
}
