//! The matcher compares versions through ranks settled when the index is built; these tests
//! check it against a plain evaluation of the OSV schema's algorithm (sort the events, walk
//! them, then the limits), comparing version texts directly, on the real slice and on
//! generated ranges over every ecosystem's fixture versions.

use crate::matching::pkg;
use crate::osv::{record, slice_records};
use podwarden_scan::inventory::Ecosystem;
use podwarden_scan::vuln::Database;
use podwarden_scan::vuln::osv::{Event, RangeType, Record};
use podwarden_scan::vuln::version::{Scheme, compare, merge_sort_by};
use serde_json::json;
use std::cmp::Ordering;
use std::path::PathBuf;

/// The schema's evaluation of one entry for `version`, comparing texts with `compare`.
fn reference_affected(record: &Record, ecosystem: &str, name: &str, version: &str) -> bool {
    let Some(ecosystem_scheme) = Scheme::for_ecosystem(ecosystem) else {
        return false;
    };
    record.affected.iter().any(|affected| {
        let applies = affected
            .package
            .as_ref()
            .is_some_and(|p| p.ecosystem == ecosystem && p.name == name);
        if !applies {
            return false;
        }
        if affected.versions.iter().any(|v| v == version) {
            return true;
        }
        affected.ranges.iter().any(|range| {
            let scheme = match range.kind {
                RangeType::Semver => Scheme::SemVer,
                RangeType::Ecosystem => ecosystem_scheme,
                RangeType::Git => return false,
            };
            let is_zero = |e: &Event| matches!(e, Event::Introduced(v) if v == "0");
            let mut events: Vec<&Event> = range.events.iter().collect();
            merge_sort_by(&mut events, |a, b| match (is_zero(a), is_zero(b)) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => compare(scheme, a.version(), b.version()),
            });
            let mut affected = false;
            for event in &events {
                let order = compare(scheme, version, event.version());
                match event {
                    Event::Introduced(at) if at == "0" || order != Ordering::Less => {
                        affected = true
                    }
                    Event::Fixed(_) if order != Ordering::Less => affected = false,
                    Event::LastAffected(_) if order == Ordering::Greater => affected = false,
                    _ => {}
                }
            }
            let limits: Vec<&str> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Limit(at) => Some(at.as_str()),
                    _ => None,
                })
                .collect();
            affected
                && (limits.is_empty()
                    || limits
                        .iter()
                        .any(|&at| at == "*" || compare(scheme, version, at) == Ordering::Less))
        })
    })
}

/// Matches every `(version, expected)` against a database of `records` and returns the
/// disagreements.
fn disagreements(
    records: &[Record],
    ecosystem: Ecosystem,
    name: &str,
    versions: &[String],
) -> Vec<String> {
    let db = Database::from_records(records);
    let mut out = Vec::new();
    for version in versions {
        let expected = records
            .iter()
            .filter(|r| reference_affected(r, ecosystem.osv_name(), name, version))
            .map(|r| r.id.clone())
            .collect::<Vec<_>>();
        let mut got: Vec<String> = db
            .match_package(&pkg(ecosystem, name, version))
            .into_iter()
            .map(|f| f.id)
            .collect();
        got.sort();
        let mut expected = expected;
        expected.sort();
        if got != expected {
            out.push(format!(
                "{} {name} {version}: matcher {got:?}, schema {expected:?}",
                ecosystem.osv_name()
            ));
        }
    }
    out
}

fn language_ecosystem(osv: &str) -> Option<Ecosystem> {
    Some(match osv {
        "crates.io" => Ecosystem::CratesIo,
        "Go" => Ecosystem::Go,
        "PyPI" => Ecosystem::PyPI,
        "npm" => Ecosystem::Npm,
        "Maven" => Ecosystem::Maven,
        _ => return None,
    })
}

#[test]
fn ranked_matching_agrees_with_the_schema_on_the_slice() {
    let records: Vec<Record> = slice_records("")
        .into_iter()
        .filter(|r| r.withdrawn.is_none())
        .filter(|r| {
            // Informational RustSec notices are never findings; they are tested elsewhere.
            !r.affected.iter().any(|a| {
                a.database_specific
                    .as_ref()
                    .and_then(|d| d.get("informational"))
                    .is_some_and(|i| i.as_str().is_some_and(|i| !i.is_empty()))
            })
        })
        .collect();
    assert!(records.len() > 400, "{} records", records.len());
    let mut checked = 0;
    let mut problems = Vec::new();
    for record in &records {
        for affected in &record.affected {
            let Some(p) = &affected.package else { continue };
            let Some(ecosystem) = language_ecosystem(&p.ecosystem) else {
                continue;
            };
            // Every version the entry names, and neighbours of each.
            let mut versions: Vec<String> = vec!["0".into(), "0.0.1".into(), "999.0.0".into()];
            let named = affected
                .ranges
                .iter()
                .flat_map(|r| r.events.iter().map(Event::version))
                .chain(affected.versions.iter().map(String::as_str));
            for v in named {
                versions.extend([
                    v.to_owned(),
                    format!("{v}.1"),
                    format!("{v}-rc1"),
                    format!("{v}0"),
                ]);
            }
            versions.sort();
            versions.dedup();
            checked += versions.len();
            problems.extend(disagreements(
                std::slice::from_ref(record),
                ecosystem,
                &p.name,
                &versions,
            ));
        }
    }
    assert!(checked > 5_000, "only {checked} versions checked");
    assert!(
        problems.is_empty(),
        "{} disagreements, first: {:#?}",
        problems.len(),
        &problems[..problems.len().min(20)]
    );
}

/// A tiny deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Every version named in one `osv-versions` fixture file (read in place).
fn fixture_versions(file: &str) -> Vec<String> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/osv-versions"
    ))
    .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "OSV version fixtures missing at {} ({e}); they ship in shared/compat/osv-versions",
            path.display()
        )
    });
    let mut versions: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("# ") && !l.starts_with("// "))
        .flat_map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            match fields.as_slice() {
                [a, _, b] => vec![a.to_string(), b.to_string()],
                _ => Vec::new(),
            }
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

#[test]
fn ranked_matching_agrees_with_the_schema_on_generated_ranges() {
    let files = [
        ("alpine-versions.txt", Ecosystem::Alpine),
        ("debian-versions.txt", Ecosystem::Debian),
        ("redhat-versions.txt", Ecosystem::RedHat),
        ("pypi-versions.txt", Ecosystem::PyPI),
        ("semver-versions.txt", Ecosystem::Npm),
        ("maven-versions.txt", Ecosystem::Maven),
        ("rubygems-versions.txt", Ecosystem::RubyGems),
        ("nuget-versions.txt", Ecosystem::NuGet),
        ("packagist-versions.txt", Ecosystem::Packagist),
    ];
    let mut rng = Rng(0x005E_ED0F_0511);
    let mut problems = Vec::new();
    for (file, ecosystem) in files {
        let versions = fixture_versions(file);
        assert!(versions.len() > 10, "{file}: {} versions", versions.len());
        // Forty records per file, each with one or two ranges of random events over the
        // fixture's versions (so equal-comparing spellings and odd versions meet), some
        // with SEMVER ranges beside the ecosystem's own, and all evaluated together.
        let mut records = Vec::new();
        for n in 0..40 {
            let pick = |rng: &mut Rng| versions[rng.below(versions.len())].clone();
            let mut ranges = Vec::new();
            for r in 0..1 + rng.below(2) {
                let mut events = vec![
                    json!({"introduced": if rng.below(3) == 0 { "0".to_string() } else { pick(&mut rng) }}),
                ];
                for _ in 0..rng.below(4) {
                    let event = match rng.below(6) {
                        0 | 1 => json!({"fixed": pick(&mut rng)}),
                        2 => json!({"introduced": pick(&mut rng)}),
                        3 => json!({"last_affected": pick(&mut rng)}),
                        _ => {
                            json!({"limit": if rng.below(4) == 0 { "*".to_string() } else { pick(&mut rng) }})
                        }
                    };
                    events.push(event);
                }
                let kind = if r == 1 && rng.below(2) == 0 {
                    "SEMVER"
                } else {
                    "ECOSYSTEM"
                };
                ranges.push(json!({"type": kind, "events": events}));
            }
            let listed: Vec<String> = (0..rng.below(3)).map(|_| pick(&mut rng)).collect();
            records.push(record(json!({
                "id": format!("GEN-{file}-{n}"),
                "modified": "2024-01-01T00:00:00Z",
                "affected": [{
                    "package": {"ecosystem": ecosystem.osv_name(), "name": "pkg"},
                    "ranges": ranges,
                    "versions": listed,
                }],
            })));
        }
        problems.extend(disagreements(&records, ecosystem, "pkg", &versions));
    }
    assert!(
        problems.is_empty(),
        "{} disagreements, first: {:#?}",
        problems.len(),
        &problems[..problems.len().min(20)]
    );
}
