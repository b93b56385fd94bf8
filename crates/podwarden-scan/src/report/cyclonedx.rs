//! CycloneDX 1.5 JSON: the inventory as components and the findings as vulnerabilities.
//!
//! `metadata` names the tool and the scanned target (a `container` component); the detected
//! OS is an `operating-system` component. Every package is a `library` component whose
//! `bom-ref` is its purl (made unique with the location when two packages share a purl),
//! with `podwarden:*` properties for the location, ecosystem and source package. Each
//! advisory is one vulnerability whose `affects` lists the components it was found in, with
//! CVSS ratings (`CVSSv2`/`CVSSv3`/`CVSSv31`/`CVSSv4` from the vector), the remediation as
//! the recommendation, the advisory page, and its aliases as references.

use super::{ScanReport, TOOL_NAME, TOOL_VERSION, os_label, sorted_findings, sorted_packages};
use crate::inventory::Package;
use crate::vuln::{Finding, Severity};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The `bom-ref` of the detected operating system component.
const OS_REF: &str = "podwarden:os";
/// The `bom-ref` of the scanned target (the BOM's subject).
const TARGET_REF: &str = "podwarden:target";

/// Renders the report as a CycloneDX 1.5 BOM; `serial` is a UUID (`urn:uuid:` is added).
pub fn cyclonedx(report: &ScanReport<'_>, serial: &str) -> Value {
    let inventory = report.inventory;
    let packages = sorted_packages(&inventory.packages);
    let refs = BomRefs::assign(&packages);

    let mut components: Vec<Value> = Vec::with_capacity(packages.len() + 1);
    if let Some(os) = &inventory.os {
        let mut component = json!({
            "type": "operating-system",
            "bom-ref": OS_REF,
            "name": os.id,
        });
        if let Some(version) = &os.version_id {
            component["version"] = json!(version);
        }
        if let Some(pretty) = &os.pretty_name {
            component["description"] = json!(pretty);
        }
        components.push(component);
    }
    components.extend(packages.iter().map(|p| component(p, refs.of(p))));

    let mut metadata_component = json!({
        "type": "container",
        "bom-ref": TARGET_REF,
        "name": report.target,
    });
    if let Some(os) = &inventory.os {
        metadata_component["description"] = json!(format!("root filesystem of {}", os_label(os)));
    }

    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {
            "timestamp": report.generated_at,
            "tools": {
                "components": [{
                    "type": "application",
                    "name": TOOL_NAME,
                    "version": TOOL_VERSION,
                }],
            },
            "component": metadata_component,
        },
        "components": components,
        "vulnerabilities": vulnerabilities(report.findings, &refs),
    })
}

/// Unique, stable `bom-ref`s for packages: the purl, qualified by location when shared.
struct BomRefs {
    by_package: HashMap<PackageKey, String>,
}

/// What identifies a package in the inventory for the purpose of its `bom-ref`.
#[derive(Hash, PartialEq, Eq)]
struct PackageKey {
    purl: String,
    name: String,
    version: String,
    location: String,
}

impl PackageKey {
    fn of(package: &Package) -> PackageKey {
        PackageKey {
            purl: package.purl.clone(),
            name: package.name.clone(),
            version: package.version.clone(),
            location: package.location.clone(),
        }
    }
}

impl BomRefs {
    fn assign(sorted: &[&Package]) -> BomRefs {
        let base = |p: &Package| {
            if p.purl.is_empty() {
                format!("{}:{}@{}", p.ecosystem.osv_name(), p.name, p.version)
            } else {
                p.purl.clone()
            }
        };
        let mut base_counts: HashMap<String, usize> = HashMap::new();
        for p in sorted {
            *base_counts.entry(base(p)).or_default() += 1;
        }
        let mut used: HashSet<String> = HashSet::new();
        let mut by_package = HashMap::new();
        for p in sorted {
            let key = PackageKey::of(p);
            if by_package.contains_key(&key) {
                continue;
            }
            let base = base(p);
            let mut candidate = if base_counts.get(&base).copied().unwrap_or(0) > 1 {
                format!("{base}#{}", p.location)
            } else {
                base
            };
            let stem = candidate.clone();
            let mut n = 1;
            while used.contains(&candidate) {
                n += 1;
                candidate = format!("{stem}#{n}");
            }
            used.insert(candidate.clone());
            by_package.insert(key, candidate);
        }
        BomRefs { by_package }
    }

    fn of(&self, package: &Package) -> String {
        self.by_package
            .get(&PackageKey::of(package))
            .cloned()
            .unwrap_or_else(|| package.purl.clone())
    }
}

fn component(package: &Package, bom_ref: String) -> Value {
    let mut properties = vec![
        json!({"name": "podwarden:package:ecosystem", "value": package.ecosystem.osv_name()}),
        json!({"name": "podwarden:package:location", "value": package.location}),
    ];
    if let Some(release) = &package.release {
        properties.push(json!({"name": "podwarden:package:release", "value": release}));
    }
    if let Some(source) = &package.source {
        properties.push(json!({"name": "podwarden:package:source_name", "value": source.name}));
        if let Some(version) = &source.version {
            properties.push(json!({"name": "podwarden:package:source_version", "value": version}));
        }
    }
    let mut component = json!({
        "type": "library",
        "bom-ref": bom_ref,
        "name": package.name,
        "version": package.version,
        "properties": properties,
    });
    if !package.purl.is_empty() {
        component["purl"] = json!(package.purl);
    }
    component
}

/// One vulnerability per advisory id, affecting every component it was found in.
fn vulnerabilities(findings: &[Finding], refs: &BomRefs) -> Vec<Value> {
    let mut by_id: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for finding in sorted_findings(findings) {
        let entry = by_id.entry(&finding.id).or_default();
        if entry.is_empty() {
            order.push(&finding.id);
        }
        entry.push(finding);
    }
    order
        .into_iter()
        .filter_map(|id| by_id.get(id))
        .filter_map(|group| vulnerability(group, refs))
        .collect()
}

fn vulnerability(group: &[&Finding], refs: &BomRefs) -> Option<Value> {
    let first = group.first()?;
    let (source_name, source_url) = source_of(&first.id);
    let mut source = json!({"name": source_name});
    if let Some(url) = first.url.clone().or(source_url) {
        source["url"] = json!(url);
    }
    let mut affects: Vec<Value> = Vec::new();
    let mut affected_refs: HashSet<String> = HashSet::new();
    let mut recommendations: Vec<&str> = Vec::new();
    for finding in group {
        let bom_ref = refs.of(&finding.package);
        if affected_refs.insert(bom_ref.clone()) {
            let mut versions =
                vec![json!({"version": finding.package.version, "status": "affected"})];
            versions.extend(
                finding
                    .fixed_versions
                    .iter()
                    .map(|v| json!({"version": v, "status": "unaffected"})),
            );
            affects.push(json!({"ref": bom_ref, "versions": versions}));
        }
        if !recommendations.contains(&finding.remediation.as_str()) {
            recommendations.push(&finding.remediation);
        }
    }
    let mut vulnerability = json!({
        "bom-ref": format!("podwarden:vulnerability:{}", first.id),
        "id": first.id,
        "source": source,
        "ratings": [rating(first)],
        "description": first.summary,
        "recommendation": recommendations.join("; "),
        "affects": affects,
    });
    if let Some(url) = &first.url {
        vulnerability["advisories"] = json!([{"title": first.id, "url": url}]);
    }
    if !first.aliases.is_empty() {
        vulnerability["references"] = first
            .aliases
            .iter()
            .map(|alias| {
                let (name, url) = source_of(alias);
                let mut source = json!({"name": name});
                if let Some(url) = url {
                    source["url"] = json!(url);
                }
                json!({"id": alias, "source": source})
            })
            .collect();
    }
    Some(vulnerability)
}

fn rating(finding: &Finding) -> Value {
    let mut rating = json!({"severity": severity_name(finding.severity)});
    if let Some(score) = finding.cvss_score {
        rating["score"] = json!(score);
    }
    match &finding.cvss_vector {
        Some(vector) => {
            rating["method"] = json!(cvss_method(vector));
            rating["vector"] = json!(vector);
        }
        None if finding.cvss_score.is_some() => rating["method"] = json!("other"),
        None => {}
    }
    rating
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Unknown => "unknown",
    }
}

/// The CycloneDX rating method for a CVSS vector string.
fn cvss_method(vector: &str) -> &'static str {
    if vector.starts_with("CVSS:4.") {
        "CVSSv4"
    } else if vector.starts_with("CVSS:3.1/") {
        "CVSSv31"
    } else if vector.starts_with("CVSS:3.") {
        "CVSSv3"
    } else if vector.starts_with("AV:") || vector.starts_with("(AV:") {
        "CVSSv2"
    } else {
        "other"
    }
}

/// Who publishes an id, and its page when the id alone determines it.
fn source_of(id: &str) -> (&'static str, Option<String>) {
    let prefix = id.split('-').next().unwrap_or("");
    match prefix {
        "CVE" => (
            "NVD",
            Some(format!("https://nvd.nist.gov/vuln/detail/{id}")),
        ),
        "GHSA" => (
            "GitHub",
            Some(format!("https://github.com/advisories/{id}")),
        ),
        "RUSTSEC" => (
            "RustSec",
            Some(format!("https://rustsec.org/advisories/{id}")),
        ),
        "GO" => ("Go", Some(format!("https://pkg.go.dev/vuln/{id}"))),
        "PYSEC" => ("PyPA", Some(format!("https://osv.dev/vulnerability/{id}"))),
        "DSA" | "DLA" | "DTSA" | "DEBIAN" => (
            "Debian",
            Some(format!("https://osv.dev/vulnerability/{id}")),
        ),
        "USN" | "UBUNTU" => (
            "Ubuntu",
            Some(format!("https://osv.dev/vulnerability/{id}")),
        ),
        "RHSA" | "RHBA" | "RHEA" => (
            "Red Hat",
            Some(format!("https://access.redhat.com/errata/{id}")),
        ),
        "ALSA" | "ALBA" | "ALEA" => (
            "AlmaLinux",
            Some(format!("https://osv.dev/vulnerability/{id}")),
        ),
        "RLSA" | "RXSA" => (
            "Rocky Linux",
            Some(format!("https://osv.dev/vulnerability/{id}")),
        ),
        "ALPINE" => (
            "Alpine",
            Some(format!("https://osv.dev/vulnerability/{id}")),
        ),
        _ => ("OSV", Some(format!("https://osv.dev/vulnerability/{id}"))),
    }
}
