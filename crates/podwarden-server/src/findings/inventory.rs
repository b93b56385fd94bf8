//! Inventories: validating an uploaded inventory, turning its package records into the scan
//! crate's packages, and matching them into vulnerability rows.

use super::{check_id, check_text};
use crate::findings::detections::MAX_UPLOAD_ID;
use podwarden_api::uplink::{InventoryUpload, PackageRecord};
use podwarden_scan::inventory::{Ecosystem, Package, SourcePackage};
use podwarden_scan::vuln::version::{Scheme, compare};
use podwarden_scan::vuln::{Database, Finding, Severity};
use std::cmp::Ordering;

/// Most packages one inventory may list.
pub const MAX_PACKAGES: usize = 100_000;

/// Every ecosystem the scan crate matches.
const ECOSYSTEMS: [Ecosystem; 14] = [
    Ecosystem::Debian,
    Ecosystem::Ubuntu,
    Ecosystem::Alpine,
    Ecosystem::RedHat,
    Ecosystem::AlmaLinux,
    Ecosystem::RockyLinux,
    Ecosystem::CratesIo,
    Ecosystem::Npm,
    Ecosystem::PyPI,
    Ecosystem::Go,
    Ecosystem::Maven,
    Ecosystem::Packagist,
    Ecosystem::RubyGems,
    Ecosystem::NuGet,
];

/// The scan crate's ecosystem for an OSV name (`Debian`, `crates.io`, ...).
pub fn ecosystem(name: &str) -> Option<Ecosystem> {
    ECOSYSTEMS.into_iter().find(|e| e.osv_name() == name)
}

/// Why an inventory is refused (nothing is stored).
pub fn validate(upload: &InventoryUpload) -> Result<(), String> {
    check_id("id", &upload.id, MAX_UPLOAD_ID)?;
    check_id("container", &upload.container, 253)?;
    if let Some(image) = &upload.image {
        check_text("image", image, 1024)?;
    }
    i64::try_from(upload.scanned_at).map_err(|_| "scanned_at is out of range".to_string())?;
    if upload.packages.len() > MAX_PACKAGES {
        return Err(format!(
            "an inventory lists at most {MAX_PACKAGES} packages, this one {}",
            upload.packages.len()
        ));
    }
    if upload.warnings.len() > 10_000 {
        return Err("more than 10000 warnings".to_string());
    }
    for (index, package) in upload.packages.iter().enumerate() {
        validate_package(package).map_err(|message| format!("packages[{index}]: {message}"))?;
    }
    Ok(())
}

fn validate_package(p: &PackageRecord) -> Result<(), String> {
    check_id("ecosystem", &p.ecosystem, 64)?;
    check_id("name", &p.name, 512)?;
    check_id("version", &p.version, 256)?;
    check_text("location", &p.location, 4096)?;
    check_text("purl", &p.purl, 4096)?;
    for (name, value) in [
        ("release", &p.release),
        ("source_name", &p.source_name),
        ("source_version", &p.source_version),
    ] {
        if let Some(value) = value {
            check_text(name, value, 256)?;
        }
    }
    Ok(())
}

/// The scan crate's package for a record; None for an ecosystem the matcher does not know.
pub fn package(record: &PackageRecord) -> Option<Package> {
    Some(Package {
        ecosystem: ecosystem(&record.ecosystem)?,
        release: record.release.clone().filter(|r| !r.is_empty()),
        name: record.name.clone(),
        version: record.version.clone(),
        source: record.source_name.clone().map(|name| SourcePackage {
            name,
            version: record.source_version.clone(),
        }),
        location: record.location.clone(),
        purl: record.purl.clone(),
    })
}

/// One vulnerability finding, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct VulnRow {
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    pub location: String,
    pub purl: String,
    pub advisory_id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    pub severity: &'static str,
    pub severity_rank: i64,
    pub cvss_score10: Option<i64>,
    pub fixed_version: Option<String>,
    pub fixed_versions: Vec<String>,
    pub remediation: String,
    pub url: Option<String>,
}

/// Sortable rank of a vulnerability severity (unknown 0 … critical 4).
pub fn severity_rank(severity: Severity) -> i64 {
    match severity {
        Severity::Unknown => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

/// The version the remediation suggests (`upgrade x to >= 1.2.3`), else the first fixed
/// version above the installed one.
fn fixed_version(finding: &Finding) -> Option<String> {
    if let Some((_, to)) = finding.remediation.rsplit_once(" to >= ") {
        return Some(to.trim().to_string());
    }
    let scheme = Scheme::for_ecosystem(finding.package.ecosystem.osv_name());
    finding
        .fixed_versions
        .iter()
        .find(|fixed| {
            scheme.is_none_or(|s| compare(s, &finding.package.version, fixed) == Ordering::Less)
        })
        .cloned()
}

/// Matches `records` against `db`: the findings as rows, and how many records name an
/// ecosystem the matcher does not know.
pub fn match_records(db: &Database, records: &[PackageRecord]) -> (Vec<VulnRow>, usize) {
    let mut unknown = 0;
    let packages: Vec<Package> = records
        .iter()
        .filter_map(|r| {
            let p = package(r);
            if p.is_none() {
                unknown += 1;
            }
            p
        })
        .collect();
    let rows = db
        .matches_packages(&packages)
        .into_iter()
        .map(|f| VulnRow {
            ecosystem: f.package.ecosystem.osv_name().to_string(),
            fixed_version: fixed_version(&f),
            package: f.package.name.clone(),
            version: f.package.version.clone(),
            location: f.package.location.clone(),
            purl: f.package.purl.clone(),
            advisory_id: f.id.clone(),
            aliases: f.aliases.clone(),
            summary: f.summary.clone(),
            severity: f.severity.as_str(),
            severity_rank: severity_rank(f.severity),
            cvss_score10: f.cvss_score.map(|s| (s * 10.0).round() as i64),
            fixed_versions: f.fixed_versions.clone(),
            remediation: f.remediation.clone(),
            url: f.url.clone(),
        })
        .collect();
    (rows, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ecosystem: &str, name: &str) -> PackageRecord {
        PackageRecord {
            ecosystem: ecosystem.to_string(),
            release: None,
            name: name.to_string(),
            version: "1.0".to_string(),
            source_name: None,
            source_version: None,
            location: "lib/x".to_string(),
            purl: format!("pkg:x/{name}@1.0"),
        }
    }

    #[test]
    fn ecosystems_and_validation() {
        for eco in ECOSYSTEMS {
            assert_eq!(ecosystem(eco.osv_name()), Some(eco));
        }
        assert!(package(&record("Hex", "plug")).is_none());
        assert_eq!(
            package(&record("crates.io", "regex")).map(|p| p.ecosystem),
            Some(Ecosystem::CratesIo)
        );
        let upload = |packages: Vec<PackageRecord>| InventoryUpload {
            id: "inv-1".to_string(),
            scanned_at: 1,
            container: "app".to_string(),
            image: None,
            os: None,
            packages,
            warnings: Vec::new(),
        };
        assert_eq!(validate(&upload(vec![record("PyPI", "django")])), Ok(()));
        let bad = validate(&upload(vec![record("PyPI", "")]));
        assert_eq!(bad, Err("packages[0]: name is empty".to_string()));
        let mut no_container = upload(Vec::new());
        no_container.container = String::new();
        assert_eq!(
            validate(&no_container),
            Err("container is empty".to_string())
        );
    }
}
