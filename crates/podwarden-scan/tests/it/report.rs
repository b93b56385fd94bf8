//! Reports (table, JSON, SARIF, CycloneDX) of a hand-built scan: golden files under
//! `tests/it/golden/` (rewritten with `PODWARDEN_BLESS=1`, never by hand), line widths, and
//! validation of SARIF and CycloneDX against their official schemas (`tests/data/`).

use podwarden_scan::inventory::purl::purl;
use podwarden_scan::inventory::{Ecosystem, Inventory, OsRelease, Package, SourcePackage, Warning};
use podwarden_scan::report::{self, DatabaseSummary, ScanReport};
use podwarden_scan::vuln::{Finding, Severity};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

const GENERATED_AT: &str = "2024-05-01T12:00:00Z";
const SERIAL: &str = "3e671687-395b-41f5-a30f-a58921a69b79";

fn manifest_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Compares `actual` with the golden file, or rewrites it when `PODWARDEN_BLESS=1`.
fn check_golden(name: &str, actual: &str) {
    let path = manifest_path("tests/it/golden").join(name);
    if std::env::var("PODWARDEN_BLESS").is_ok_and(|v| v == "1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "golden file {} unreadable ({e}); run with PODWARDEN_BLESS=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the output (rerun with PODWARDEN_BLESS=1 if the change is intended, \
         then review the diff)\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

fn pretty(value: &Value) -> String {
    let mut text =
        serde_json::to_string_pretty(value).unwrap_or_else(|e| panic!("serialising: {e}"));
    text.push('\n');
    text
}

struct PackageSpec {
    ecosystem: Ecosystem,
    namespace: Option<&'static str>,
    name: &'static str,
    version: &'static str,
    location: &'static str,
    source: Option<(&'static str, Option<&'static str>)>,
}

fn package(spec: PackageSpec) -> Package {
    let (kind, release, qualifiers): (&str, Option<String>, Vec<(&str, &str)>) =
        match spec.ecosystem {
            Ecosystem::Debian => (
                "deb",
                Some("12".into()),
                vec![("distro", "debian-12"), ("arch", "amd64")],
            ),
            Ecosystem::Maven => ("maven", None, vec![]),
            Ecosystem::Npm => ("npm", None, vec![]),
            Ecosystem::PyPI => ("pypi", None, vec![]),
            Ecosystem::CratesIo => ("cargo", None, vec![]),
            other => panic!("no purl type set up for {other}"),
        };
    let namespace = spec.namespace.or((kind == "deb").then_some("debian"));
    let full_name = match spec.namespace {
        Some(group) if kind == "maven" => format!("{group}:{}", spec.name),
        _ => spec.name.to_string(),
    };
    Package {
        ecosystem: spec.ecosystem,
        release,
        name: full_name,
        version: spec.version.to_string(),
        source: spec.source.map(|(name, version)| SourcePackage {
            name: name.to_string(),
            version: version.map(String::from),
        }),
        location: spec.location.to_string(),
        purl: purl(kind, namespace, spec.name, spec.version, &qualifiers),
    }
}

fn inventory() -> Inventory {
    let specs = [
        PackageSpec {
            ecosystem: Ecosystem::Debian,
            namespace: None,
            name: "openssl",
            version: "3.0.11-1~deb12u1",
            location: "var/lib/dpkg/status",
            source: None,
        },
        PackageSpec {
            ecosystem: Ecosystem::Debian,
            namespace: None,
            name: "libssl3",
            version: "3.0.11-1~deb12u1",
            location: "var/lib/dpkg/status",
            source: Some(("openssl", None)),
        },
        PackageSpec {
            ecosystem: Ecosystem::Debian,
            namespace: None,
            name: "zlib1g",
            version: "1:1.2.13.dfsg-1",
            location: "var/lib/dpkg/status",
            source: Some(("zlib", Some("1:1.2.13.dfsg-1"))),
        },
        PackageSpec {
            ecosystem: Ecosystem::Maven,
            namespace: Some("org.apache.logging.log4j"),
            name: "log4j-core",
            version: "2.14.1",
            location: "srv/app.war!/WEB-INF/lib/log4j-core-2.14.1.jar",
            source: None,
        },
        PackageSpec {
            ecosystem: Ecosystem::Maven,
            namespace: Some("org.apache.logging.log4j"),
            name: "log4j-core",
            version: "2.14.1",
            location: "opt/legacy tools/log4j-core-2.14.1.jar",
            source: None,
        },
        PackageSpec {
            ecosystem: Ecosystem::Npm,
            namespace: None,
            name: "lodash",
            version: "4.17.20",
            location: "srv/web/package-lock.json",
            source: None,
        },
        PackageSpec {
            ecosystem: Ecosystem::PyPI,
            namespace: None,
            name: "an-extraordinarily-long-python-distribution-name",
            version: "1.0.0.dev0+local.build.with.a.very.long.suffix",
            location: "usr/lib/python3/dist-packages/long.dist-info/METADATA",
            source: None,
        },
        PackageSpec {
            ecosystem: Ecosystem::CratesIo,
            namespace: None,
            name: "serde",
            version: "1.0.200",
            location: "usr/local/bin/tool",
            source: None,
        },
    ];
    Inventory {
        os: Some(OsRelease {
            id: "debian".into(),
            id_like: vec![],
            version_id: Some("12".into()),
            version_codename: Some("bookworm".into()),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        }),
        packages: specs.into_iter().map(package).collect(),
        warnings: (1..=5)
            .map(|n| Warning {
                path: format!("srv/broken-{n}.jar"),
                message: format!("not a zip archive (entry {n})"),
            })
            .collect(),
        files_seen: 4321,
    }
}

struct FindingSpec {
    package: &'static str,
    location: &'static str,
    id: &'static str,
    aliases: &'static [&'static str],
    summary: &'static str,
    severity: Severity,
    score: Option<f64>,
    vector: Option<&'static str>,
    fixed: &'static [&'static str],
    url: Option<&'static str>,
}

fn findings(inventory: &Inventory) -> Vec<Finding> {
    const LOG4J: &str = "org.apache.logging.log4j:log4j-core";
    const LOG4J_SUMMARY: &str = "Remote code injection in Log4j";
    const LOG4J_VECTOR: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H";
    const LOG4J_URL: &str = "https://github.com/advisories/GHSA-jfh8-c2jp-5v3q";
    let specs = [
        FindingSpec {
            package: "lodash",
            location: "srv/web/package-lock.json",
            id: "GHSA-29mw-wpgm-hmr9",
            aliases: &["CVE-2020-28500"],
            summary: "Regular Expression Denial of Service (ReDoS) in lodash",
            severity: Severity::Medium,
            score: Some(5.3),
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"),
            fixed: &["4.17.21"],
            url: Some("https://github.com/advisories/GHSA-29mw-wpgm-hmr9"),
        },
        FindingSpec {
            package: LOG4J,
            location: "srv/app.war!/WEB-INF/lib/log4j-core-2.14.1.jar",
            id: "GHSA-jfh8-c2jp-5v3q",
            aliases: &["CVE-2021-44228"],
            summary: LOG4J_SUMMARY,
            severity: Severity::Critical,
            score: Some(10.0),
            vector: Some(LOG4J_VECTOR),
            fixed: &["2.15.0"],
            url: Some(LOG4J_URL),
        },
        FindingSpec {
            package: "zlib1g",
            location: "var/lib/dpkg/status",
            id: "CVE-2023-45853",
            aliases: &[],
            summary: "MiniZip in zlib through 1.3 has an integer overflow",
            severity: Severity::Low,
            score: None,
            vector: None,
            fixed: &[],
            url: None,
        },
        FindingSpec {
            package: "openssl",
            location: "var/lib/dpkg/status",
            id: "DSA-5532-1",
            aliases: &["CVE-2023-5363"],
            summary: "openssl -- security update",
            severity: Severity::High,
            score: Some(7.5),
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),
            fixed: &["3.0.11-1~deb12u2"],
            url: Some("https://security-tracker.debian.org/tracker/DSA-5532-1"),
        },
        FindingSpec {
            package: LOG4J,
            location: "opt/legacy tools/log4j-core-2.14.1.jar",
            id: "GHSA-jfh8-c2jp-5v3q",
            aliases: &["CVE-2021-44228"],
            summary: LOG4J_SUMMARY,
            severity: Severity::Critical,
            score: Some(10.0),
            vector: Some(LOG4J_VECTOR),
            fixed: &["2.15.0"],
            url: Some(LOG4J_URL),
        },
        FindingSpec {
            package: "an-extraordinarily-long-python-distribution-name",
            location: "usr/lib/python3/dist-packages/long.dist-info/METADATA",
            id: "PYSEC-2024-9999",
            aliases: &[],
            summary: "A summary spanning\ntwo lines\twith a tab",
            severity: Severity::Medium,
            score: Some(6.9),
            vector: Some("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N"),
            fixed: &["0.9.9.post1", "1.0.0"],
            url: None,
        },
        FindingSpec {
            package: "libssl3",
            location: "var/lib/dpkg/status",
            id: "DEBIAN-CVE-2024-2511",
            aliases: &["CVE-2024-2511"],
            summary: "Unbounded memory growth with session handling in TLSv1.3",
            severity: Severity::Unknown,
            score: None,
            vector: None,
            fixed: &[],
            url: None,
        },
    ];
    specs
        .into_iter()
        .map(|spec| {
            let package = inventory
                .packages
                .iter()
                .find(|p| p.name == spec.package && p.location == spec.location)
                .unwrap_or_else(|| panic!("no package {} at {}", spec.package, spec.location))
                .clone();
            let remediation = match spec.fixed.first() {
                Some(first) => format!("upgrade {} to >= {first}", package.name),
                None => "no fix available yet".to_string(),
            };
            Finding {
                package,
                id: spec.id.into(),
                aliases: spec.aliases.iter().map(|a| a.to_string()).collect(),
                summary: spec.summary.into(),
                severity: spec.severity,
                cvss_score: spec.score,
                cvss_vector: spec.vector.map(String::from),
                fixed_versions: spec.fixed.iter().map(|v| v.to_string()).collect(),
                remediation,
                url: spec.url.map(String::from),
            }
        })
        .collect()
}

fn database() -> DatabaseSummary {
    DatabaseSummary {
        advisories: 123_456,
        built_at: Some("2024-05-01T06:00:00Z".into()),
        ecosystems: vec![
            ("npm".into(), 3000),
            ("Debian".into(), 50_000),
            ("Maven".into(), 5000),
        ],
    }
}

/// Runs `render` on the standard scan (inventory, findings, database).
fn with_report<T>(render: impl FnOnce(&ScanReport<'_>) -> T) -> T {
    let inventory = inventory();
    let findings = findings(&inventory);
    let database = database();
    render(&ScanReport {
        target: "registry.example/shop/web:1.4.2",
        generated_at: GENERATED_AT,
        inventory: &inventory,
        findings: &findings,
        database: Some(&database),
    })
}

#[test]
fn table_matches_golden_at_several_widths() {
    for width in [40, 80, 120] {
        let table = with_report(|r| report::table(r, width));
        check_golden(&format!("table-{width}.txt"), &table);
    }
}

#[test]
fn table_lines_never_exceed_the_width() {
    for width in [0, 1, 10, 24, 40, 57, 80, 100, 132, 200] {
        let table = with_report(|r| report::table(r, width));
        for line in table.lines() {
            assert!(
                line.chars().count() <= width,
                "line wider than {width}: {line:?}\n{table}"
            );
        }
    }
}

#[test]
fn table_lists_most_severe_first_and_summarises() {
    let table = with_report(|r| report::table(r, 200));
    let order: Vec<usize> = ["critical", "high", "medium", "low", "unknown"]
        .iter()
        .map(|severity| {
            table
                .lines()
                .position(|line| line.ends_with(severity))
                .unwrap_or_else(|| panic!("no {severity} row in\n{table}"))
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "severity order {order:?} in\n{table}"
    );
    for expected in [
        "7 findings: 2 critical, 1 high, 2 medium, 1 low, 1 unknown;",
        "8 packages inventoried",
        "OS: debian 12",
        "5 warnings",
        "… and 2 more",
        "CVE-2021-44228 (GHSA-jfh8-c2jp-5v3q)",
    ] {
        assert!(
            table.contains(expected),
            "{expected:?} missing from\n{table}"
        );
    }
}

#[test]
fn table_says_when_nothing_was_found() {
    let inventory = inventory();
    let no_findings = report::table(
        &ScanReport {
            target: "/srv/rootfs",
            generated_at: GENERATED_AT,
            inventory: &inventory,
            findings: &[],
            database: None,
        },
        80,
    );
    assert!(
        no_findings.contains("No known vulnerabilities in the 8 packages found."),
        "{no_findings}"
    );
    check_golden("table-no-findings.txt", &no_findings);

    let empty = Inventory::default();
    let nothing = report::table(
        &ScanReport {
            target: "/srv/empty",
            generated_at: GENERATED_AT,
            inventory: &empty,
            findings: &[],
            database: None,
        },
        80,
    );
    assert!(
        nothing.contains("No packages found in /srv/empty"),
        "{nothing}"
    );
    assert!(nothing.contains("OS: not detected"), "{nothing}");
    check_golden("table-empty.txt", &nothing);
}

#[test]
fn json_matches_golden_and_documented_shape() {
    let value = with_report(report::json);
    for key in [
        "target",
        "generated_at",
        "os",
        "database",
        "summary",
        "findings",
        "packages",
        "warnings",
    ] {
        assert!(value.get(key).is_some(), "JSON report lacks {key}");
    }
    assert_eq!(value["summary"]["by_severity"]["critical"], 2);
    assert_eq!(value["summary"]["packages"], 8);
    assert_eq!(value["findings"][0]["severity"], "critical");
    assert_eq!(value["findings"][0]["cve"], "CVE-2021-44228");
    check_golden("report.json", &pretty(&value));
}

#[test]
fn sarif_matches_golden() {
    check_golden("report.sarif.json", &pretty(&with_report(report::sarif)));
}

#[test]
fn cyclonedx_matches_golden() {
    check_golden(
        "report.cdx.json",
        &pretty(&with_report(|r| report::cyclonedx(r, SERIAL))),
    );
}

#[test]
fn sarif_has_one_rule_per_advisory_and_stable_fingerprints() {
    let sarif = with_report(report::sarif);
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let results = run["results"].as_array().cloned().unwrap_or_default();
    let rule_ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(rule_ids.len(), 6, "rules: {rule_ids:?}");
    assert_eq!(
        rule_ids.iter().collect::<HashSet<_>>().len(),
        6,
        "duplicate rules: {rule_ids:?}"
    );
    assert_eq!(results.len(), 7);
    let check_level = |rule: &str, level: &str| {
        let result = results
            .iter()
            .find(|r| r["ruleId"] == rule)
            .unwrap_or_else(|| panic!("no result for {rule}"));
        assert_eq!(result["level"], level, "{rule}");
        let index = result["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(
            rule_ids.get(index).copied(),
            Some(rule),
            "ruleIndex of {rule}"
        );
    };
    check_level("GHSA-jfh8-c2jp-5v3q", "error");
    check_level("DSA-5532-1", "error");
    check_level("GHSA-29mw-wpgm-hmr9", "warning");
    check_level("CVE-2023-45853", "note");
    check_level("DEBIAN-CVE-2024-2511", "note");

    let fingerprints: HashSet<String> = results
        .iter()
        .map(|r| r["partialFingerprints"]["podwardenFinding/v1"].to_string())
        .collect();
    assert_eq!(
        fingerprints.len(),
        7,
        "fingerprints must differ per finding"
    );

    // A new installed version of the same package in the same place keeps its fingerprint.
    let inventory = inventory();
    let mut bumped = findings(&inventory);
    for f in &mut bumped {
        f.package.version.push_str(".1");
    }
    let again = report::sarif(&ScanReport {
        target: "registry.example/shop/web:1.4.2",
        generated_at: "2030-01-01T00:00:00Z",
        inventory: &inventory,
        findings: &bumped,
        database: None,
    });
    let again: HashSet<String> = again["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["partialFingerprints"]["podwardenFinding/v1"].to_string())
        .collect();
    assert_eq!(fingerprints, again);
}

#[test]
fn cyclonedx_refs_are_unique_and_resolve() {
    let bom = with_report(|r| report::cyclonedx(r, SERIAL));
    let refs: Vec<&str> = bom["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["bom-ref"].as_str())
        .collect();
    assert_eq!(refs.len(), 9, "OS + 8 packages: {refs:?}");
    let unique: HashSet<&str> = refs.iter().copied().collect();
    assert_eq!(unique.len(), refs.len(), "duplicate bom-refs: {refs:?}");
    let vulnerabilities = bom["vulnerabilities"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(vulnerabilities.len(), 6, "one per advisory");
    let mut affected_per_id: HashMap<String, usize> = HashMap::new();
    for v in &vulnerabilities {
        for affect in v["affects"].as_array().into_iter().flatten() {
            let r = affect["ref"].as_str().unwrap_or_default();
            assert!(unique.contains(r), "affects ref {r} is no component");
            *affected_per_id.entry(v["id"].to_string()).or_default() += 1;
        }
    }
    assert_eq!(affected_per_id.get("\"GHSA-jfh8-c2jp-5v3q\""), Some(&2));
    assert_eq!(bom["serialNumber"], format!("urn:uuid:{SERIAL}"));
    assert_eq!(bom["metadata"]["timestamp"], GENERATED_AT);
    let methods: HashSet<&str> = vulnerabilities
        .iter()
        .filter_map(|v| v["ratings"][0]["method"].as_str())
        .collect();
    assert!(
        methods.contains("CVSSv31") && methods.contains("CVSSv4"),
        "{methods:?}"
    );
}

/// Serves the vendored schema files for the `$ref`s between them (no network).
struct VendoredSchemas(HashMap<String, Value>);

impl jsonschema::Retrieve for VendoredSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.as_str().rsplit('/').next().unwrap_or_default();
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| format!("schema {} is not vendored in tests/data", uri.as_str()).into())
    }
}

/// The SARIF schema's language-tag pattern has a stray `]` that ECMAScript (without the `u`
/// flag) reads as a literal and the validator rejects; escaping it keeps the meaning.
const SARIF_STRAY_BRACKET: (&str, &str) = (
    r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
    r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$",
);

fn load_schema(file: &str) -> Value {
    let path = manifest_path("tests/data").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let text = if file == SARIF_SCHEMA {
        let (stray, escaped) = SARIF_STRAY_BRACKET;
        let stray_json = serde_json::to_string(stray).unwrap_or_default();
        assert!(
            text.contains(&stray_json),
            "the SARIF schema no longer has the stray-bracket pattern"
        );
        text.replace(
            &stray_json,
            &serde_json::to_string(escaped).unwrap_or_default(),
        )
    } else {
        text
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Every schema violation of `instance`, as `path: message` lines.
fn violations(schema_file: &str, referenced: &[&str], instance: &Value) -> Vec<String> {
    let schema = load_schema(schema_file);
    let retriever = VendoredSchemas(
        referenced
            .iter()
            .map(|f| (f.to_string(), load_schema(f)))
            .collect(),
    );
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .with_retriever(retriever)
        .build(&schema)
        .unwrap_or_else(|e| panic!("compiling {schema_file}: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

const CYCLONEDX_SCHEMA: &str = "bom-1.5.SNAPSHOT.schema.json";
const CYCLONEDX_REFS: [&str; 2] = ["spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"];
const SARIF_SCHEMA: &str = "sarif-2.1.0-rtm.5.json";

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let sarif = with_report(report::sarif);
    let errors = violations(SARIF_SCHEMA, &[], &sarif);
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );

    // The validator does reject a broken log.
    let mut broken = sarif;
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(
        !violations(SARIF_SCHEMA, &[], &broken).is_empty(),
        "a bad level must be rejected"
    );
}

#[test]
fn cyclonedx_validates_against_the_cyclonedx_1_5_schema() {
    let bom = with_report(|r| report::cyclonedx(r, SERIAL));
    let errors = violations(CYCLONEDX_SCHEMA, &CYCLONEDX_REFS, &bom);
    assert!(
        errors.is_empty(),
        "CycloneDX schema violations:\n{}",
        errors.join("\n")
    );

    let mut broken = bom;
    broken["components"][1]["type"] = Value::from("gadget");
    assert!(
        !violations(CYCLONEDX_SCHEMA, &CYCLONEDX_REFS, &broken).is_empty(),
        "a bad type must be rejected"
    );
}

#[test]
fn empty_scans_render_valid_documents() {
    let empty = Inventory::default();
    let scan = ScanReport {
        target: "/srv/empty",
        generated_at: GENERATED_AT,
        inventory: &empty,
        findings: &[],
        database: None,
    };
    let sarif_errors = violations(SARIF_SCHEMA, &[], &report::sarif(&scan));
    assert!(sarif_errors.is_empty(), "{}", sarif_errors.join("\n"));
    let bom_errors = violations(
        CYCLONEDX_SCHEMA,
        &CYCLONEDX_REFS,
        &report::cyclonedx(&scan, SERIAL),
    );
    assert!(bom_errors.is_empty(), "{}", bom_errors.join("\n"));
    let json = report::json(&scan);
    assert_eq!(json["os"], Value::Null);
    assert_eq!(json["database"], Value::Null);
    assert_eq!(json["summary"]["findings"], 0);
}
