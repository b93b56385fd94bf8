//! Matching packages against OSV records as the schema's evaluation rules say, on the real
//! slice and on hand-made records for what the slice lacks.

use crate::osv::{record, slice_records};
use podwarden_scan::inventory::{Ecosystem, Package, SourcePackage};
use podwarden_scan::vuln::osv::Record;
use podwarden_scan::vuln::{Database, Finding, Severity};
use serde_json::json;

/// A package of `ecosystem` found at "test" (no release, source or purl).
pub(crate) fn pkg(ecosystem: Ecosystem, name: &str, version: &str) -> Package {
    Package {
        ecosystem,
        release: None,
        name: name.into(),
        version: version.into(),
        source: None,
        location: "test".into(),
        purl: String::new(),
    }
}

/// An OS package: `source` is `(name, version)` of the source package.
fn os_pkg(
    ecosystem: Ecosystem,
    release: &str,
    name: &str,
    version: &str,
    source: Option<(&str, Option<&str>)>,
) -> Package {
    Package {
        release: Some(release.into()),
        source: source.map(|(name, version)| SourcePackage {
            name: name.into(),
            version: version.map(Into::into),
        }),
        ..pkg(ecosystem, name, version)
    }
}

fn findings(records: &[Record], packages: &[Package]) -> Vec<Finding> {
    Database::from_records(records).matches_packages(packages)
}

/// Matching `packages` against `records` yields exactly the advisory ids `expected`.
fn check(records: &[Record], packages: &[Package], expected: &[&str]) {
    let mut got: Vec<String> = findings(records, packages)
        .into_iter()
        .map(|f| f.id)
        .collect();
    got.sort();
    let mut want: Vec<&str> = expected.to_vec();
    want.sort();
    assert_eq!(got, want, "packages: {packages:?}");
}

/// A single-affected record: `ranges` as OSV JSON, `versions` explicit.
fn simple(
    id: &str,
    ecosystem: &str,
    name: &str,
    ranges: serde_json::Value,
    versions: &[&str],
) -> Record {
    record(json!({
        "id": id,
        "modified": "2024-01-01T00:00:00Z",
        "affected": [{
            "package": {"ecosystem": ecosystem, "name": name},
            "ranges": ranges,
            "versions": versions,
        }],
    }))
}

#[test]
fn cargo_audit_oracle_on_the_slice() {
    // The Cargo.lock of the slice README, audited by cargo-audit 0.22.2.
    let packages = [
        pkg(Ecosystem::CratesIo, "smallvec", "0.6.13"),
        pkg(Ecosystem::CratesIo, "hyper", "0.14.9"),
        pkg(Ecosystem::CratesIo, "time", "0.1.43"),
        pkg(Ecosystem::CratesIo, "openssl", "0.10.20"),
        pkg(Ecosystem::CratesIo, "tokio", "1.0.0"),
    ];
    check(
        &slice_records("crates.io"),
        &packages,
        &[
            "RUSTSEC-2020-0071",
            "RUSTSEC-2021-0003",
            "RUSTSEC-2021-0072",
            "RUSTSEC-2021-0124",
            "RUSTSEC-2021-0078",
            "RUSTSEC-2021-0079",
            "RUSTSEC-2023-0022",
            "RUSTSEC-2023-0023",
            "RUSTSEC-2023-0024",
            "RUSTSEC-2023-0044",
            "RUSTSEC-2024-0357",
            "RUSTSEC-2025-0004",
        ],
    );
}

#[test]
fn pypi_records_with_git_ranges_still_match_on_their_other_ranges() {
    let pypi = slice_records("PyPI");
    let django: Vec<Record> = pypi
        .iter()
        .filter(|r| r.id == "PYSEC-2012-7")
        .cloned()
        .collect();
    assert_eq!(django.len(), 1);
    let cases: &[(&str, &str, &[&str])] = &[
        // In the explicit versions list.
        ("django", "1.3.1", &["PYSEC-2012-7"]),
        // Only in the ECOSYSTEM range, which comes after a GIT range.
        ("Django", "1.4.1.post1", &["PYSEC-2012-7"]),
        ("django", "1.3.4", &[]),
        ("django", "1.4.2", &[]),
        ("django", "1.2.7", &[]),
    ];
    for (name, version, want) in cases {
        check(&django, &[pkg(Ecosystem::PyPI, name, version)], want);
    }

    // A GIT range first, then a range that alone decides; no versions list.
    let git_first = simple(
        "HAND-GIT-1",
        "PyPI",
        "Some_Package",
        json!([
            {"type": "GIT", "repo": "https://example.invalid/repo",
             "events": [{"introduced": "0"}, {"fixed": "abcdef0123"}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.5"}]}
        ]),
        &[],
    );
    for (name, version, want) in [
        ("some-package", "2.1", &["HAND-GIT-1"][..]),
        ("some.package", "2.5", &[]),
        ("some_package", "1.9", &[]),
    ] {
        check(
            std::slice::from_ref(&git_first),
            &[pkg(Ecosystem::PyPI, name, version)],
            want,
        );
    }
}

#[test]
fn withdrawn_records_never_match() {
    let go = slice_records("Go");
    let withdrawn: Vec<Record> = go
        .iter()
        .filter(|r| r.id == "GO-2025-3543")
        .cloned()
        .collect();
    assert!(withdrawn[0].withdrawn.is_some());
    let runc = [pkg(
        Ecosystem::Go,
        "github.com/opencontainers/runc",
        "v1.1.0",
    )];
    check(&withdrawn, &runc, &[]);
    // The same record, not withdrawn, would match: the check above can fail.
    let mut restored = withdrawn.clone();
    restored[0].withdrawn = None;
    check(&restored, &runc, &["GO-2025-3543"]);
}

#[test]
fn go_introduced_zero_pseudo_versions_and_stdlib() {
    let go = slice_records("Go");
    let pick = |id: &str| -> Vec<Record> { go.iter().filter(|r| r.id == id).cloned().collect() };
    let crypto = pick("GO-2020-0012");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "golang.org/x/crypto",
            "v0.0.0-20191011191535-87dc89f01550",
            &["GO-2020-0012"],
        ),
        (
            "golang.org/x/crypto",
            "v0.0.0-20200220183623-bac4c82f6975",
            &[],
        ),
        ("golang.org/x/crypto", "v0.1.0", &[]),
        (
            "golang.org/x/crypto",
            "v0.0.0-20180904163835-0709b304e793",
            &["GO-2020-0012"],
        ),
    ];
    for (name, version, want) in cases {
        check(&crypto, &[pkg(Ecosystem::Go, name, version)], want);
    }
    let stdlib = pick("GO-2022-0969");
    let cases: &[(&str, &[&str])] = &[
        ("go1.18.5", &["GO-2022-0969"]),
        ("go1.18.6", &[]),
        ("1.19.0", &["GO-2022-0969"]),
        ("go1.19.1", &[]),
        ("go1.20", &[]),
    ];
    for (version, want) in cases {
        check(&stdlib, &[pkg(Ecosystem::Go, "stdlib", version)], want);
    }
    let gin = pick("GO-2020-0001");
    check(
        &gin,
        &[pkg(Ecosystem::Go, "github.com/gin-gonic/gin", "v1.5.0")],
        &["GO-2020-0001"],
    );
    check(
        &gin,
        &[pkg(Ecosystem::Go, "github.com/gin-gonic/gin", "v1.6.0")],
        &[],
    );
}

#[test]
fn last_affected_and_limit_events() {
    let last = simple(
        "HAND-LAST-1",
        "crates.io",
        "foo",
        json!([{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"last_affected": "1.2.0"}]}]),
        &[],
    );
    for (version, want) in [
        ("0.9.0", &[][..]),
        ("1.0.0", &["HAND-LAST-1"][..]),
        ("1.2.0", &["HAND-LAST-1"][..]),
        ("1.2.1", &[][..]),
    ] {
        check(
            std::slice::from_ref(&last),
            &[pkg(Ecosystem::CratesIo, "foo", version)],
            want,
        );
    }

    let limited = simple(
        "HAND-LIMIT-1",
        "PyPI",
        "bar",
        json!([{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"limit": "2.0"}]}]),
        &[],
    );
    for (version, want) in [
        ("0.5", &[][..]),
        ("1.5", &["HAND-LIMIT-1"][..]),
        ("2.0", &[][..]),
        ("2.5", &[][..]),
    ] {
        check(
            std::slice::from_ref(&limited),
            &[pkg(Ecosystem::PyPI, "bar", version)],
            want,
        );
    }

    // Events given out of order are evaluated in version order.
    let unordered = simple(
        "HAND-ORDER-1",
        "npm",
        "baz",
        json!([{"type": "SEMVER", "events": [
            {"fixed": "2.0.0"}, {"introduced": "1.5.0"}, {"fixed": "1.0.0"}, {"introduced": "0"}
        ]}]),
        &[],
    );
    for (version, want) in [
        ("0.1.0", &["HAND-ORDER-1"][..]),
        ("1.2.0", &[][..]),
        ("1.6.0", &["HAND-ORDER-1"][..]),
        ("2.0.0", &[][..]),
    ] {
        check(
            std::slice::from_ref(&unordered),
            &[pkg(Ecosystem::Npm, "baz", version)],
            want,
        );
    }
}

fn distro(id: &str, ecosystem: &str, name: &str, fixed: &str) -> Record {
    simple(
        id,
        ecosystem,
        name,
        json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]),
        &[],
    )
}

#[test]
fn os_release_suffixes_select_the_right_records() {
    let records = [
        distro("DEBIAN-11", "Debian:11", "openssl", "1.1.1w-0+deb11u1"),
        distro("DEBIAN-12", "Debian:12", "openssl", "3.0.11-1~deb12u2"),
        distro("ALPINE-320", "Alpine:v3.20", "openssl", "3.3.2-r0"),
        distro("ALPINE-319", "Alpine:v3.19", "openssl", "3.1.7-r0"),
        distro(
            "USN-2204",
            "Ubuntu:22.04:LTS",
            "openssl",
            "3.0.2-0ubuntu1.18",
        ),
        distro(
            "USN-PRO-2204",
            "Ubuntu:Pro:22.04:LTS",
            "openssl",
            "3.0.2-0ubuntu1.18+esm1",
        ),
        distro(
            "USN-2004",
            "Ubuntu:20.04:LTS",
            "openssl",
            "1.1.1f-1ubuntu2.23",
        ),
        distro("USN-2410", "Ubuntu:24.10", "openssl", "3.3.1-2ubuntu2.1"),
        distro(
            "RHSA-9",
            "Red Hat:enterprise_linux:9::appstream",
            "openssl-libs",
            "1:3.0.7-27.el9",
        ),
        distro(
            "RHSA-8",
            "Red Hat:enterprise_linux:8::baseos",
            "openssl-libs",
            "1:1.1.1k-12.el8_9",
        ),
        distro(
            "RHSA-EUS",
            "Red Hat:rhel_eus:9.2::baseos",
            "openssl-libs",
            "1:3.0.7-99.el9_2",
        ),
        distro("ALSA-9", "AlmaLinux:9", "openssl", "1:3.0.7-27.el9"),
        distro("ALSA-8", "AlmaLinux:8", "openssl", "1:1.1.1k-12.el8_9"),
        distro("RLSA-9", "Rocky Linux:9", "openssl", "1:3.0.7-27.el9"),
    ];
    let cases: Vec<(Package, &[&str])> = vec![
        (
            os_pkg(
                Ecosystem::Debian,
                "12",
                "libssl3",
                "3.0.9-1",
                Some(("openssl", None)),
            ),
            &["DEBIAN-12"],
        ),
        (
            os_pkg(
                Ecosystem::Debian,
                "11",
                "openssl",
                "1.1.1n-0+deb11u5",
                Some(("openssl", None)),
            ),
            &["DEBIAN-11"],
        ),
        (
            os_pkg(
                Ecosystem::Alpine,
                "v3.20",
                "libcrypto3",
                "3.3.1-r0",
                Some(("openssl", None)),
            ),
            &["ALPINE-320"],
        ),
        (
            os_pkg(
                Ecosystem::Alpine,
                "3.20.3",
                "libssl3",
                "3.3.1-r0",
                Some(("openssl", None)),
            ),
            &["ALPINE-320"],
        ),
        (
            os_pkg(
                Ecosystem::Ubuntu,
                "22.04",
                "libssl3",
                "3.0.2-0ubuntu1.10",
                Some(("openssl", None)),
            ),
            &["USN-2204", "USN-PRO-2204"],
        ),
        (
            os_pkg(
                Ecosystem::Ubuntu,
                "24.10",
                "openssl",
                "3.3.1-2ubuntu2",
                None,
            ),
            &["USN-2410"],
        ),
        (
            os_pkg(
                Ecosystem::RedHat,
                "9.4",
                "openssl-libs",
                "1:3.0.7-24.el9",
                Some(("openssl", Some("1:3.0.7-24.el9"))),
            ),
            &["RHSA-9"],
        ),
        (
            os_pkg(Ecosystem::AlmaLinux, "9", "openssl", "1:3.0.7-24.el9", None),
            &["ALSA-9"],
        ),
        (
            os_pkg(
                Ecosystem::RockyLinux,
                "9.3",
                "openssl",
                "1:3.0.7-24.el9",
                None,
            ),
            &["RLSA-9"],
        ),
        // Fixed versions are not affected.
        (
            os_pkg(
                Ecosystem::Debian,
                "12",
                "libssl3",
                "3.0.11-1~deb12u2",
                Some(("openssl", None)),
            ),
            &[],
        ),
    ];
    for (package, want) in cases {
        check(&records, &[package], want);
    }
}

#[test]
fn distro_advisories_match_on_the_source_package() {
    let records = [
        distro("DEBIAN-CVE-1", "Debian:12", "openssl", "3.0.11-1~deb12u2"),
        distro("DEBIAN-CVE-2", "Debian:12", "libssl3", "9.9.9-1"),
        distro(
            "RHSA-1",
            "Red Hat:enterprise_linux:9::baseos",
            "openssl-libs",
            "1:3.0.7-27.el9",
        ),
        distro(
            "RHSA-2",
            "Red Hat:enterprise_linux:9::baseos",
            "openssl",
            "1:3.0.7-27.el9",
        ),
    ];
    let cases: Vec<(Package, &[&str])> = vec![
        // Debian advisories name source packages: the binary name is not looked up.
        (
            os_pkg(
                Ecosystem::Debian,
                "12",
                "libssl3",
                "3.0.9-1",
                Some(("openssl", None)),
            ),
            &["DEBIAN-CVE-1"],
        ),
        // Without a source, the binary name is the source name.
        (
            os_pkg(Ecosystem::Debian, "12", "libssl3", "3.0.9-1", None),
            &["DEBIAN-CVE-2"],
        ),
        // The source version is compared when it differs (a binNMU here).
        (
            os_pkg(
                Ecosystem::Debian,
                "12",
                "libssl3",
                "3.0.9-1+b1",
                Some(("openssl", Some("3.0.11-1~deb12u2"))),
            ),
            &[],
        ),
        // Red Hat advisories name binary RPMs: both names are looked up.
        (
            os_pkg(
                Ecosystem::RedHat,
                "9",
                "openssl-libs",
                "1:3.0.7-24.el9",
                Some(("openssl", None)),
            ),
            &["RHSA-1", "RHSA-2"],
        ),
    ];
    for (package, want) in cases {
        check(&records, &[package], want);
    }
}

#[test]
fn package_names_are_normalised_per_ecosystem() {
    let records = [
        distro("PY-1", "PyPI", "Foo_Bar.baz", "2.0"),
        distro("NPM-1", "npm", "@angular/core", "16.0.0"),
        distro("NUGET-1", "NuGet", "Newtonsoft.Json", "13.0.1"),
    ];
    let cases: Vec<(Package, &[&str])> = vec![
        (pkg(Ecosystem::PyPI, "foo-bar-baz", "1.0"), &["PY-1"]),
        (pkg(Ecosystem::PyPI, "FOO__bar--Baz", "1.0"), &["PY-1"]),
        (pkg(Ecosystem::Npm, "@angular/core", "15.2.0"), &["NPM-1"]),
        (pkg(Ecosystem::Npm, "core", "15.2.0"), &[]),
        (
            pkg(Ecosystem::NuGet, "newtonsoft.json", "12.0.3"),
            &["NUGET-1"],
        ),
        // Same name, other ecosystem.
        (pkg(Ecosystem::CratesIo, "foo-bar-baz", "1.0.0"), &[]),
    ];
    for (package, want) in cases {
        check(&records, &[package], want);
    }

    let maven = slice_records("Maven");
    let jackson = "com.fasterxml.jackson.core:jackson-databind";
    check(
        &maven,
        &[pkg(Ecosystem::Maven, jackson, "2.12.6")],
        &["GHSA-57j2-w4cx-62h2"],
    );
    check(&maven, &[pkg(Ecosystem::Maven, jackson, "2.13.2.1")], &[]);
    check(
        &maven,
        &[pkg(Ecosystem::Maven, "jackson-databind", "2.12.6")],
        &[],
    );
}

#[test]
fn aliases_of_each_other_merge_into_one_finding() {
    let fix = json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}]}]);
    let mut rustsec = simple("RUSTSEC-2099-0001", "crates.io", "foo", fix.clone(), &[]);
    rustsec.aliases = vec!["CVE-2099-1".into(), "GHSA-aaaa-bbbb-cccc".into()];
    let mut ghsa = simple("GHSA-aaaa-bbbb-cccc", "crates.io", "foo", fix.clone(), &[]);
    ghsa.aliases = vec!["CVE-2099-1".into()];
    let mut other = simple("RUSTSEC-2099-0002", "crates.io", "foo", fix.clone(), &[]);
    other.aliases = vec!["CVE-2099-2".into()];
    // Two Debian records for one CVE: the DSA names it upstream, as Debian does.
    let mut dsa = distro("DSA-9999-1", "Debian:12", "openssl", "3.0.11-1~deb12u2");
    dsa.upstream = vec!["CVE-2099-3".into()];
    let mut debian = distro(
        "DEBIAN-CVE-2099-3",
        "Debian:12",
        "openssl",
        "3.0.11-1~deb12u2",
    );
    debian.upstream = vec!["CVE-2099-3".into()];

    let records = [ghsa, rustsec, other, dsa, debian];
    let packages = [
        pkg(Ecosystem::CratesIo, "foo", "1.0.0"),
        os_pkg(Ecosystem::Debian, "12", "openssl", "3.0.9-1", None),
    ];
    let got: Vec<(String, Vec<String>)> = findings(&records, &packages)
        .into_iter()
        .map(|f| (f.id, f.aliases))
        .collect();
    let want = vec![
        (
            "DEBIAN-CVE-2099-3".to_owned(),
            vec!["CVE-2099-3".to_owned(), "DSA-9999-1".to_owned()],
        ),
        (
            "RUSTSEC-2099-0001".to_owned(),
            vec!["CVE-2099-1".to_owned(), "GHSA-aaaa-bbbb-cccc".to_owned()],
        ),
        (
            "RUSTSEC-2099-0002".to_owned(),
            vec!["CVE-2099-2".to_owned()],
        ),
    ];
    assert_eq!(got, want);
}

/// `(package, expected fixed versions, expected remediation)` against `records`.
fn check_fix(records: &[Record], package: Package, fixed: &[&str], remediation: &str) {
    let found = findings(records, std::slice::from_ref(&package));
    assert_eq!(found.len(), 1, "{package:?}: {found:?}");
    assert_eq!(found[0].fixed_versions, fixed, "{package:?}");
    assert_eq!(found[0].remediation, remediation, "{package:?}");
}

#[test]
fn fixed_versions_and_remediation() {
    let crates = slice_records("crates.io");
    let smallvec: Vec<Record> = crates
        .iter()
        .filter(|r| r.id == "RUSTSEC-2021-0003")
        .cloned()
        .collect();
    check_fix(
        &smallvec,
        pkg(Ecosystem::CratesIo, "smallvec", "0.6.13"),
        &["0.6.14", "1.6.1"],
        "upgrade smallvec to >= 0.6.14",
    );
    check_fix(
        &smallvec,
        pkg(Ecosystem::CratesIo, "smallvec", "1.2.0"),
        &["0.6.14", "1.6.1"],
        "upgrade smallvec to >= 1.6.1",
    );
    let no_fix = simple(
        "HAND-NOFIX-1",
        "npm",
        "left-pad",
        json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"last_affected": "1.3.0"}]}]),
        &[],
    );
    check_fix(
        &[no_fix],
        pkg(Ecosystem::Npm, "left-pad", "1.1.0"),
        &[],
        "no fix available yet",
    );
    check_fix(
        &[distro(
            "DEBIAN-CVE-1",
            "Debian:12",
            "openssl",
            "3.0.11-1~deb12u2",
        )],
        os_pkg(
            Ecosystem::Debian,
            "12",
            "libssl3",
            "3.0.9-1",
            Some(("openssl", None)),
        ),
        &["3.0.11-1~deb12u2"],
        "upgrade libssl3 (source package openssl) to >= 3.0.11-1~deb12u2",
    );
    // Fixes sort in the ecosystem's order, not as strings.
    check_fix(
        &[simple(
            "HAND-MULTI-1",
            "PyPI",
            "multi",
            json!([{"type": "ECOSYSTEM", "events": [
                {"introduced": "0"}, {"fixed": "1.10"},
                {"introduced": "2.0"}, {"fixed": "2.9"}
            ]}]),
            &[],
        )],
        pkg(Ecosystem::PyPI, "multi", "1.9"),
        &["1.10", "2.9"],
        "upgrade multi to >= 1.10",
    );
}

/// `(record severity JSON fields, expected severity, score, vector)`.
fn check_severity(
    fields: serde_json::Value,
    severity: Severity,
    score: Option<f64>,
    vector: Option<&str>,
) {
    let mut json = json!({
        "id": "SEV-1",
        "affected": [{
            "package": {"ecosystem": "npm", "name": "sev"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
        }],
    });
    if let (Some(target), Some(extra)) = (json.as_object_mut(), fields.as_object()) {
        for (k, v) in extra {
            if k == "affected_extra" {
                if let Some(entry) = target
                    .get_mut("affected")
                    .and_then(|a| a.get_mut(0))
                    .and_then(|a| a.as_object_mut())
                {
                    for (ak, av) in v.as_object().into_iter().flatten() {
                        entry.insert(ak.clone(), av.clone());
                    }
                }
            } else {
                target.insert(k.clone(), v.clone());
            }
        }
    }
    let found = findings(&[record(json)], &[pkg(Ecosystem::Npm, "sev", "1.0.0")]);
    assert_eq!(found.len(), 1);
    let f = &found[0];
    assert_eq!(
        (f.severity, f.cvss_score, f.cvss_vector.as_deref()),
        (severity, score, vector),
        "{fields}"
    );
}

#[test]
fn severity_from_cvss_vectors_and_labels() {
    let v31_shellshock = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    let v30_heartbleed = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N";
    let v31_express = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N";
    // CVSS v4.0 examples with their FIRST calculator scores.
    let v4_critical = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
    let v4_all_high = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H";
    let v4_threat = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:H/VA:N/SC:N/SI:N/SA:N/E:P";
    let cases: Vec<(serde_json::Value, Severity, Option<f64>, Option<&str>)> = vec![
        (
            json!({"severity": [{"type": "CVSS_V3", "score": v31_shellshock}]}),
            Severity::Critical,
            Some(9.8),
            Some(v31_shellshock),
        ),
        (
            json!({"severity": [{"type": "CVSS_V3", "score": v30_heartbleed}]}),
            Severity::High,
            Some(7.5),
            Some(v30_heartbleed),
        ),
        (
            json!({"severity": [{"type": "CVSS_V3", "score": v31_express}],
                   "database_specific": {"severity": "MODERATE"}}),
            Severity::Medium,
            Some(6.1),
            Some(v31_express),
        ),
        (
            json!({"severity": [{"type": "CVSS_V4", "score": v4_critical}]}),
            Severity::Critical,
            Some(9.3),
            Some(v4_critical),
        ),
        (
            json!({"severity": [{"type": "CVSS_V4", "score": v4_all_high}]}),
            Severity::Critical,
            Some(10.0),
            Some(v4_all_high),
        ),
        (
            json!({"severity": [{"type": "CVSS_V4", "score": v4_threat}]}),
            Severity::High,
            Some(7.7),
            Some(v4_threat),
        ),
        // The affected entry's own severity wins over the record's.
        (
            json!({"severity": [{"type": "CVSS_V3", "score": v30_heartbleed}],
                   "affected_extra": {"severity": [{"type": "CVSS_V3", "score": v31_shellshock}]}}),
            Severity::Critical,
            Some(9.8),
            Some(v31_shellshock),
        ),
        (
            json!({"database_specific": {"severity": "MODERATE"}}),
            Severity::Medium,
            None,
            None,
        ),
        (
            json!({"severity": [{"type": "CVSS_V3", "score": "not a vector"}],
                   "database_specific": {"severity": "CRITICAL"}}),
            Severity::Critical,
            None,
            None,
        ),
        (
            json!({"severity": [{"type": "Ubuntu", "score": "high"}]}),
            Severity::High,
            None,
            None,
        ),
        (
            json!({"affected_extra": {"ecosystem_specific": {"urgency": "low"}}}),
            Severity::Low,
            None,
            None,
        ),
        (
            json!({"affected_extra": {"ecosystem_specific": {"urgency": "not yet assigned"}}}),
            Severity::Unknown,
            None,
            None,
        ),
        (json!({}), Severity::Unknown, None, None),
    ];
    for (fields, severity, score, vector) in cases {
        check_severity(fields, severity, score, vector);
    }
}

#[test]
fn slice_records_carry_their_cvss_scores() {
    let crates = slice_records("crates.io");
    let found = findings(&crates, &[pkg(Ecosystem::CratesIo, "smallvec", "0.6.13")]);
    let smallvec = found
        .iter()
        .find(|f| f.id == "RUSTSEC-2021-0003")
        .expect("RUSTSEC-2021-0003");
    assert_eq!(smallvec.severity, Severity::Critical);
    assert_eq!(smallvec.cvss_score, Some(9.8));
    assert_eq!(smallvec.aliases, ["CVE-2021-25900", "GHSA-43w2-9j62-hq99"]);
    assert_eq!(
        smallvec.url.as_deref(),
        Some("https://rustsec.org/advisories/RUSTSEC-2021-0003.html")
    );
    assert_eq!(smallvec.summary, "Buffer overflow in SmallVec::insert_many");
}

#[test]
fn findings_are_sorted_and_deterministic() {
    let records = slice_records("");
    let packages = [
        pkg(Ecosystem::Npm, "minimist", "1.2.5"),
        pkg(Ecosystem::CratesIo, "tokio", "1.0.0"),
        pkg(Ecosystem::CratesIo, "hyper", "0.14.9"),
        pkg(Ecosystem::Npm, "express", "4.17.1"),
    ];
    let reversed: Vec<Package> = packages.iter().rev().cloned().collect();
    let a = findings(&records, &packages);
    let b = findings(&records, &reversed);
    assert_eq!(a, b);
    let keys: Vec<(String, String)> = a
        .iter()
        .map(|f| (f.package.name.clone(), f.id.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|x, y| {
        let eco = |name: &str| {
            if ["minimist", "express"].contains(&name) {
                1
            } else {
                0
            }
        };
        (eco(&x.0), &x.0, &x.1).cmp(&(eco(&y.0), &y.0, &y.1))
    });
    assert_eq!(keys, sorted);
    assert!(
        keys.iter()
            .any(|(n, id)| n == "minimist" && id == "GHSA-xvch-5gv4-984h")
    );
    assert!(
        keys.iter()
            .any(|(n, id)| n == "express" && id == "GHSA-rv95-896h-c2vc")
    );
}

#[test]
fn informational_advisories_are_not_findings() {
    // RustSec "unsound" notices: cargo-audit warns about them but does not count them as
    // vulnerabilities, and neither do we.
    let crates = slice_records("crates.io");
    let unsound: Vec<Record> = crates
        .iter()
        .filter(|r| r.id == "RUSTSEC-2023-0005")
        .cloned()
        .collect();
    let tokio = [pkg(Ecosystem::CratesIo, "tokio", "1.0.0")];
    check(&unsound, &tokio, &[]);
    let mut as_vulnerability = unsound.clone();
    for affected in &mut as_vulnerability[0].affected {
        affected.database_specific = None;
    }
    check(&as_vulnerability, &tokio, &["RUSTSEC-2023-0005"]);
}
