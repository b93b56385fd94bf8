//! Pod Security Standards conformance: every upstream pod-security-admission fixture gives the
//! expected verdict at its level and version, and a failing fixture is denied by the check its
//! file name names.

use podwarden_baseline::{Level, Options, PssVersion, check_source};
use std::path::{Path, PathBuf};

fn fixtures_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/psa");
    assert!(
        root.join("baseline").is_dir(),
        "the Pod Security Standards fixtures are missing: expected them at {}",
        root.display()
    );
    root
}

/// `capabilities_restricted3.yaml` → `capabilities_restricted`; `base*.yaml` → None.
fn fixture_check(file_stem: &str) -> Option<String> {
    if file_stem.starts_with("base") {
        return None;
    }
    Some(
        file_stem
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .to_string(),
    )
}

/// Our check id → the fixture (upstream) id: `pss.seccompProfile_baseline` →
/// `seccompprofile_baseline`.
fn upstream_id(check_id: &str) -> Option<String> {
    check_id.strip_prefix("pss.").map(str::to_ascii_lowercase)
}

/// Checks one fixture; `None` when it behaves as expected, else a description of the mismatch.
fn check(path: &Path, level: Level, version: PssVersion, expect_pass: bool) -> Option<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Some(format!("{}: cannot read: {e}", path.display())),
    };
    let report = check_source(
        &path.display().to_string(),
        &text,
        &Options::pss(level, version),
    );
    if !report.errors.is_empty() {
        return Some(format!(
            "{}: parse errors {:?}",
            path.display(),
            report.errors
        ));
    }
    if report.pods != 1 {
        return Some(format!(
            "{}: expected one pod, checked {}",
            path.display(),
            report.pods
        ));
    }
    let mut denying: Vec<String> = report
        .findings
        .iter()
        .filter_map(|f| upstream_id(&f.check_id))
        .collect();
    denying.sort();
    denying.dedup();
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    match (expect_pass, fixture_check(stem)) {
        (true, _) if denying.is_empty() => None,
        (true, _) => Some(format!(
            "{}: expected allowed, got denied by {denying:?}",
            path.display()
        )),
        (false, Some(expected)) if denying.contains(&expected) => None,
        (false, expected) => Some(format!(
            "{}: expected denied by {expected:?}, got denied by {denying:?}",
            path.display()
        )),
    }
}

#[test]
fn every_fixture_gets_the_expected_verdict() {
    let root = fixtures_root();
    let mut total = 0usize;
    let mut mismatches = Vec::new();
    for (level_dir, level) in [
        ("baseline", Level::Baseline),
        ("restricted", Level::Restricted),
    ] {
        let mut versions: Vec<PathBuf> = std::fs::read_dir(root.join(level_dir))
            .expect("level directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        versions.sort();
        for version_dir in versions {
            let name = version_dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("");
            let version = PssVersion::parse(name).expect("version folder name is v1.N");
            for (verdict, expect_pass) in [("pass", true), ("fail", false)] {
                let dir = version_dir.join(verdict);
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                    .collect();
                files.sort();
                for file in files {
                    total += 1;
                    if let Some(mismatch) = check(&file, level, version, expect_pass) {
                        mismatches.push(mismatch);
                    }
                }
            }
        }
    }
    assert_eq!(
        total,
        4537,
        "fixture count changed under {}",
        root.display()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {total} fixtures mismatch:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
