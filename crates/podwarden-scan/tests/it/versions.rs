//! Conformance of `vuln::version::compare` with OSV's per-ecosystem version-ordering fixtures
//! (`shared/compat/osv-versions/*.txt`, read in place).

use podwarden_scan::vuln::version::{Scheme, compare};
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/osv-versions"
    ))
}

/// The ecosystem whose comparator a fixture file exercises, from its name.
fn ecosystem_of(file_name: &str) -> Option<&'static str> {
    let stem = file_name.strip_suffix(".txt")?;
    let stem = stem.strip_suffix("-generated").unwrap_or(stem);
    Some(match stem.strip_suffix("-versions")? {
        "alpine" => "Alpine",
        "cran" => "CRAN",
        "debian" => "Debian",
        "hackage" => "Hackage",
        "maven" => "Maven",
        "nuget" => "NuGet",
        "packagist" => "Packagist",
        "pub" => "Pub",
        "pypi" => "PyPI",
        "redhat" => "Red Hat",
        "rubygems" => "RubyGems",
        "semver" => "npm",
        _ => return None,
    })
}

fn parse_op(op: &str) -> Option<Ordering> {
    match op {
        "<" => Some(Ordering::Less),
        "=" => Some(Ordering::Equal),
        ">" => Some(Ordering::Greater),
        _ => None,
    }
}

fn symbol(order: Ordering) -> &'static str {
    match order {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

/// Checks one fixture line in both directions; returns a description of each failure.
fn check(scheme: Scheme, a: &str, expected: Ordering, b: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let forward = compare(scheme, a, b);
    if forward != expected {
        failures.push(format!(
            "{a} {} {b} expected, got {a} {} {b}",
            symbol(expected),
            symbol(forward)
        ));
    }
    let backward = compare(scheme, b, a);
    if backward != expected.reverse() {
        failures.push(format!(
            "{b} {} {a} expected (mirrored), got {b} {} {a}",
            symbol(expected.reverse()),
            symbol(backward)
        ));
    }
    failures
}

#[test]
fn every_osv_version_fixture_orders_as_upstream() {
    let dir = fixtures_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "OSV version fixtures missing at {} ({e}); they ship in shared/compat/osv-versions",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 19,
        "expected the 19 OSV fixture files in {}, found {}",
        dir.display(),
        files.len()
    );

    let mut report = String::new();
    let mut failures = 0usize;
    let mut total = 0usize;
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let Some(ecosystem) = ecosystem_of(name) else {
            panic!("no ecosystem known for fixture file {}", path.display());
        };
        let scheme = Scheme::for_ecosystem(ecosystem)
            .unwrap_or_else(|| panic!("no scheme for ecosystem {ecosystem} ({name})"));
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let (mut cases, mut failed) = (0usize, 0usize);
        let mut lines_report = String::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with("# ") || line.starts_with("// ") {
                continue;
            }
            cases += 1;
            let fields: Vec<&str> = line.split(' ').collect();
            let problems = match fields.as_slice() {
                [a, op, b] => match parse_op(op) {
                    Some(expected) => check(scheme, a, expected, b),
                    None => vec![format!("unknown operator in {line:?}")],
                },
                _ => vec![format!("line does not split into three fields: {line:?}")],
            };
            if !problems.is_empty() {
                failed += 1;
                for problem in problems {
                    let _ = writeln!(lines_report, "  {name}:{}: {problem}", index + 1);
                }
            }
        }
        assert!(cases > 0, "{} holds no comparison", path.display());
        total += cases;
        failures += failed;
        let _ = writeln!(
            report,
            "{name} ({scheme:?}): {failed} of {cases} lines fail"
        );
        report.push_str(&lines_report);
    }
    assert!(
        failures == 0,
        "{failures} of {total} fixture lines fail:\n{report}"
    );
}

#[test]
fn ecosystems_sharing_semver_select_it() {
    for ecosystem in ["npm", "crates.io", "Go", "Hex"] {
        assert_eq!(
            Scheme::for_ecosystem(ecosystem),
            Some(Scheme::SemVer),
            "{ecosystem}"
        );
    }
    for ecosystem in ["Debian:12", "Ubuntu:22.04:LTS"] {
        assert_eq!(
            Scheme::for_ecosystem(ecosystem),
            Some(Scheme::Dpkg),
            "{ecosystem}"
        );
    }
}
