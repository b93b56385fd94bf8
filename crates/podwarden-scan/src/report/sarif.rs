//! SARIF 2.1.0 output, for code-scanning dashboards.
//!
//! One rule per advisory id (short description = the advisory summary, `helpUri` = its page,
//! `properties.security-severity` = the CVSS score as a string, or a representative score of
//! the severity when the advisory gives none), one result per finding: `level` from the
//! severity (critical and high: `error`, medium: `warning`, else `note`), a message naming
//! the package, installed and fixed versions and the remediation, the package's location as
//! a relative artifact URI under the `TARGET` base, and a `partialFingerprints` entry that
//! stays the same for the same advisory, package and location across scans.

use super::{ScanReport, TOOL_NAME, TOOL_VERSION, cve_of, sorted_findings};
use crate::vuln::{Finding, Severity};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The `uriBaseId` every artifact location is relative to: the scanned root.
const BASE_ID: &str = "TARGET";
/// The `partialFingerprints` key; bump the version if the fingerprint input ever changes.
const FINGERPRINT_KEY: &str = "podwardenFinding/v1";

/// Renders the report as a SARIF 2.1.0 log with a single run.
pub fn sarif(report: &ScanReport<'_>) -> Value {
    let findings = sorted_findings(report.findings);
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    for finding in &findings {
        if !rule_index.contains_key(finding.id.as_str()) {
            rule_index.insert(&finding.id, rules.len());
            rules.push(rule(finding));
        }
    }
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            result(
                f,
                rule_index.get(f.id.as_str()).copied().unwrap_or_default(),
            )
        })
        .collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": TOOL_NAME,
                    "version": TOOL_VERSION,
                    "semanticVersion": TOOL_VERSION,
                    "rules": rules,
                },
            },
            "originalUriBaseIds": {
                BASE_ID: {"description": {"text": format!("The scanned root: {}", report.target)}},
            },
            "invocations": [{
                "executionSuccessful": true,
                "endTimeUtc": report.generated_at,
            }],
            "results": results,
            "properties": {"target": report.target},
        }],
    })
}

fn rule(finding: &Finding) -> Value {
    let summary = if finding.summary.trim().is_empty() {
        finding.id.clone()
    } else {
        finding.summary.clone()
    };
    let mut tags = vec![
        "security".to_string(),
        "vulnerability".to_string(),
        finding.severity.as_str().to_string(),
    ];
    tags.extend(finding.aliases.iter().cloned());
    let mut properties = json!({ "tags": tags });
    if let Some(score) = security_severity(finding) {
        properties["security-severity"] = json!(score);
    }
    let mut rule = json!({
        "id": finding.id,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": full_description(finding)},
        "help": {"text": format!("{}. {}", summary, finding.remediation)},
        "properties": properties,
    });
    if let Some(url) = &finding.url {
        rule["helpUri"] = json!(url);
    }
    rule
}

fn full_description(finding: &Finding) -> String {
    let mut text = finding.id.clone();
    if !finding.aliases.is_empty() {
        let _ = write!(text, " (also {})", finding.aliases.join(", "));
    }
    if !finding.summary.is_empty() {
        let _ = write!(text, ": {}", finding.summary);
    }
    text
}

/// The score GitHub-style dashboards rank by: the CVSS score, else one typical of the level.
fn security_severity(finding: &Finding) -> Option<String> {
    let score = finding.cvss_score.or(match finding.severity {
        Severity::Critical => Some(9.0),
        Severity::High => Some(7.0),
        Severity::Medium => Some(4.0),
        Severity::Low => Some(0.1),
        Severity::Unknown => None,
    })?;
    Some(format!("{score:.1}"))
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

fn result(finding: &Finding, rule_index: usize) -> Value {
    let package = &finding.package;
    let fixed = if finding.fixed_versions.is_empty() {
        "no fixed version yet".to_string()
    } else {
        format!("fixed in {}", finding.fixed_versions.join(", "))
    };
    let advisory = match cve_of(finding) {
        Some(cve) if cve != finding.id => format!("{} ({cve})", finding.id),
        _ => finding.id.clone(),
    };
    let message = format!(
        "{} {} ({}) is affected by {advisory}: {}. Installed {}, {fixed}. Remediation: {}.",
        package.name,
        package.version,
        package.ecosystem.osv_name(),
        finding.summary.trim_end_matches('.'),
        package.version,
        finding.remediation.trim_end_matches('.'),
    );
    let mut result = json!({
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": level(finding.severity),
        "message": {"text": message},
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding)},
        "properties": {
            "package": package.name,
            "ecosystem": package.ecosystem.osv_name(),
            "installedVersion": package.version,
            "fixedVersions": finding.fixed_versions,
            "purl": package.purl,
            "severity": finding.severity.as_str(),
        },
    });
    result["locations"] = if package.location.is_empty() {
        json!([])
    } else {
        json!([{
            "physicalLocation": {
                "artifactLocation": {
                    "uri": uri_reference(&package.location),
                    "uriBaseId": BASE_ID,
                },
            },
        }])
    };
    result
}

/// SHA-256 over the advisory id, the package's ecosystem and name, and its location: the
/// same vulnerable package in the same file keeps its fingerprint when versions change.
fn fingerprint(finding: &Finding) -> String {
    let package = &finding.package;
    let mut hasher = Sha256::new();
    for field in [
        finding.id.as_str(),
        package.ecosystem.osv_name(),
        package.name.as_str(),
        package.location.as_str(),
    ] {
        hasher.update(field.as_bytes());
        hasher.update([0]);
    }
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// A relative URI reference for a `/`-separated path: characters outside RFC 3986's
/// unreserved set, sub-delimiters, `@` and `/` are percent-encoded (`:` too, so no segment
/// reads as a scheme); a leading `/` is dropped so the reference stays relative.
fn uri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.trim_start_matches('/').bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b'@'
            | b'/' => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::uri_reference;

    #[test]
    fn locations_become_relative_uri_references() {
        let check =
            |path: &str, expected: &str| assert_eq!(uri_reference(path), expected, "{path}");
        check("var/lib/dpkg/status", "var/lib/dpkg/status");
        check(
            "/srv/app.war!/WEB-INF/lib/a b.jar",
            "srv/app.war!/WEB-INF/lib/a%20b.jar",
        );
        check("opt/é#?%", "opt/%C3%A9%23%3F%25");
        check("c:/x", "c%3A/x");
    }
}
