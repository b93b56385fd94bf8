//! The machine-readable report, a stable JSON document (`schema_version` 1):
//!
//! ```text
//! {
//!   "schema_version": 1,
//!   "target": "registry.example/app:1.0",
//!   "generated_at": "2024-05-01T12:00:00Z",
//!   "os": null | {"id", "id_like": [..], "version_id", "version_codename", "pretty_name"},
//!   "database": null | {"advisories": n, "built_at": null | "...",
//!                       "ecosystems": [{"ecosystem": "Debian", "advisories": n}, ..]},
//!   "summary": {"by_severity": {"critical": n, "high": n, "medium": n, "low": n,
//!                               "unknown": n},
//!               "findings": n, "packages": n, "warnings": n},
//!   "findings": [{"id", "aliases": [..], "cve": null | "CVE-...", "summary", "severity",
//!                 "cvss": null | {"score": null | x, "vector": null | "..."},
//!                 "package": <package>, "fixed_versions": [..], "remediation",
//!                 "url": null | "..."}],
//!   "packages": [<package>],
//!   "warnings": [{"path", "message"}]
//! }
//! <package> = {"ecosystem": "Debian" (OSV spelling), "release": null | "12", "name",
//!              "version", "purl", "location",
//!              "source": null | {"name", "version": null | "..."}}
//! ```
//!
//! Findings are most severe first (then package, version, location, id); packages by
//! ecosystem, name, version, location; warnings as the inventory gave them. Absent values
//! are `null`, never missing keys.

use super::{ScanReport, SeverityCounts, cve_of, sorted_findings, sorted_packages};
use crate::inventory::Package;
use crate::vuln::Finding;
use serde_json::{Value, json};

/// Renders the report as the JSON document described in this module's documentation.
pub fn json(report: &ScanReport<'_>) -> Value {
    let inventory = report.inventory;
    let counts = SeverityCounts::of(report.findings);
    json!({
        "schema_version": 1,
        "target": report.target,
        "generated_at": report.generated_at,
        "os": inventory.os.as_ref().map(|os| json!({
            "id": os.id,
            "id_like": os.id_like,
            "version_id": os.version_id,
            "version_codename": os.version_codename,
            "pretty_name": os.pretty_name,
        })),
        "database": report.database.map(|db| {
            let mut ecosystems: Vec<&(String, u64)> = db.ecosystems.iter().collect();
            ecosystems.sort();
            json!({
                "advisories": db.advisories,
                "built_at": db.built_at,
                "ecosystems": ecosystems
                    .iter()
                    .map(|(name, n)| json!({"ecosystem": name, "advisories": n}))
                    .collect::<Vec<_>>(),
            })
        }),
        "summary": {
            "by_severity": {
                "critical": counts.critical,
                "high": counts.high,
                "medium": counts.medium,
                "low": counts.low,
                "unknown": counts.unknown,
            },
            "findings": report.findings.len(),
            "packages": inventory.packages.len(),
            "warnings": inventory.warnings.len(),
        },
        "findings": sorted_findings(report.findings).into_iter().map(finding_json).collect::<Vec<_>>(),
        "packages": sorted_packages(&inventory.packages).into_iter().map(package_json).collect::<Vec<_>>(),
        "warnings": inventory.warnings.iter().map(|w| json!({
            "path": w.path,
            "message": w.message,
        })).collect::<Vec<_>>(),
    })
}

fn finding_json(finding: &Finding) -> Value {
    let cvss = (finding.cvss_score.is_some() || finding.cvss_vector.is_some()).then(|| {
        json!({
            "score": finding.cvss_score,
            "vector": finding.cvss_vector,
        })
    });
    json!({
        "id": finding.id,
        "aliases": finding.aliases,
        "cve": cve_of(finding),
        "summary": finding.summary,
        "severity": finding.severity.as_str(),
        "cvss": cvss,
        "package": package_json(&finding.package),
        "fixed_versions": finding.fixed_versions,
        "remediation": finding.remediation,
        "url": finding.url,
    })
}

fn package_json(package: &Package) -> Value {
    json!({
        "ecosystem": package.ecosystem.osv_name(),
        "release": package.release,
        "name": package.name,
        "version": package.version,
        "purl": package.purl,
        "location": package.location,
        "source": package.source.as_ref().map(|s| json!({
            "name": s.name,
            "version": s.version,
        })),
    })
}
