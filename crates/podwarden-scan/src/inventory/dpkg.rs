//! dpkg: installed Debian/Ubuntu packages from `var/lib/dpkg/status` and, in distroless images,
//! from the one-paragraph files in `var/lib/dpkg/status.d/`.

use super::os_release::{distro_qualifier, osv_ecosystem};
use super::purl::purl;
use super::{
    DetectContext, Detected, Detector, Ecosystem, FileContents, FileInfo, OsRelease, Package,
    SourcePackage, Warning,
};

const STATUS: &str = "var/lib/dpkg/status";
const STATUS_DIR: &str = "var/lib/dpkg/status.d/";
/// The largest status file read.
const MAX_STATUS_SIZE: u64 = 64 << 20;

/// Finds packages in dpkg status databases.
#[derive(Debug, Default)]
pub struct DpkgDetector;

impl Detector for DpkgDetector {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn may_want(&self, path: &str, file_name: &str) -> bool {
        is_status_path(path, file_name)
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        is_status_path(file.path, file.file_name)
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        ctx: &DetectContext,
    ) -> Result<Detected, String> {
        let bytes = contents
            .read_all(MAX_STATUS_SIZE)
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&bytes);
        // status.d files carry no Status field: everything listed there is installed.
        let require_status = file.path == STATUS;
        Ok(parse_status(
            &text,
            file.path,
            ctx.os.as_ref(),
            require_status,
        ))
    }
}

fn is_status_path(path: &str, file_name: &str) -> bool {
    if path == STATUS {
        return true;
    }
    match path.strip_prefix(STATUS_DIR) {
        Some(rest) => {
            !rest.contains('/') && !file_name.ends_with(".md5sums") && !file_name.starts_with('.')
        }
        None => false,
    }
}

/// One paragraph's fields of interest.
#[derive(Default)]
struct Paragraph<'a> {
    first_line: usize,
    package: Option<&'a str>,
    version: Option<&'a str>,
    architecture: Option<&'a str>,
    status: Option<&'a str>,
    source: Option<&'a str>,
}

/// Parses a status file; `require_status` drops paragraphs whose package is not on disk.
pub fn parse_status(
    text: &str,
    location: &str,
    os: Option<&OsRelease>,
    require_status: bool,
) -> Detected {
    let mut detected = Detected::default();
    let naming = Naming::new(os);
    let mut paragraph = Paragraph::default();
    let mut in_paragraph = false;
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if in_paragraph {
                finish(&paragraph, location, &naming, require_status, &mut detected);
            }
            paragraph = Paragraph::default();
            in_paragraph = false;
            continue;
        }
        if !in_paragraph {
            paragraph.first_line = index + 1;
            in_paragraph = true;
        }
        if line.starts_with([' ', '\t']) {
            continue; // continuation of a multi-line field (Description, Conffiles, ...)
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Package" => paragraph.package = Some(value),
            "Version" => paragraph.version = Some(value),
            "Architecture" => paragraph.architecture = Some(value),
            "Status" => paragraph.status = Some(value),
            "Source" => paragraph.source = Some(value),
            _ => {}
        }
    }
    if in_paragraph {
        finish(&paragraph, location, &naming, require_status, &mut detected);
    }
    detected
}

/// Whether a `Status:` value (`want flag state`) means the package's files are on disk.
fn is_installed(status: &str) -> bool {
    matches!(
        status.split_whitespace().nth(2),
        Some(
            "installed" | "triggers-pending" | "triggers-awaited" | "half-configured" | "unpacked"
        )
    )
}

fn finish(
    p: &Paragraph<'_>,
    location: &str,
    naming: &Naming,
    require_status: bool,
    detected: &mut Detected,
) {
    let warn = |detected: &mut Detected, message: String| {
        detected.warnings.push(Warning {
            path: location.to_string(),
            message: format!("line {}: {message}", p.first_line),
        })
    };
    let Some(name) = p.package.filter(|n| !n.is_empty()) else {
        // Paragraphs without a package name carry nothing for us (distroless .md5sums-like
        // files, stray blank-separated comments); say so unless the paragraph is empty of
        // fields we know.
        if p.version.is_some() {
            warn(
                detected,
                "paragraph has a Version but no Package".to_string(),
            );
        }
        return;
    };
    match p.status {
        Some(status) if !is_installed(status) => return,
        None if require_status => {
            warn(
                detected,
                format!("package {name} has no Status field; skipped"),
            );
            return;
        }
        _ => {}
    }
    let Some(version) = p.version.filter(|v| !v.is_empty()) else {
        warn(detected, format!("package {name} has no Version; skipped"));
        return;
    };
    let source = p.source.map(|s| parse_source(s, name));
    let mut upstream = String::new();
    if let Some(source) = &source
        && (source.name != name || source.version.is_some())
    {
        upstream.push_str(&source.name);
        if let Some(v) = &source.version {
            upstream.push('@');
            upstream.push_str(v);
        }
    }
    let arch = p.architecture.unwrap_or("");
    detected.packages.push(Package {
        ecosystem: naming.ecosystem,
        release: naming.release.clone(),
        name: name.to_string(),
        version: version.to_string(),
        source: Some(source.unwrap_or_else(|| SourcePackage {
            name: name.to_string(),
            version: None,
        })),
        location: location.to_string(),
        purl: purl(
            "deb",
            Some(&naming.namespace),
            name,
            version,
            &[
                ("arch", arch),
                ("distro", &naming.distro),
                ("upstream", &upstream),
            ],
        ),
    });
}

/// `Source: glibc (2.36-9)` → glibc with version; `Source: glibc` → glibc.
fn parse_source(value: &str, binary: &str) -> SourcePackage {
    let value = value.trim();
    match value.split_once('(') {
        Some((name, rest)) => {
            let version = rest.trim_end().trim_end_matches(')').trim();
            let name = name.trim();
            SourcePackage {
                name: if name.is_empty() { binary } else { name }.to_string(),
                version: (!version.is_empty()).then(|| version.to_string()),
            }
        }
        None => SourcePackage {
            name: if value.is_empty() { binary } else { value }.to_string(),
            version: None,
        },
    }
}

/// How packages of this root are named: ecosystem, release, purl namespace and distro.
struct Naming {
    ecosystem: Ecosystem,
    release: Option<String>,
    namespace: String,
    distro: String,
}

impl Naming {
    fn new(os: Option<&OsRelease>) -> Naming {
        let mapped = os
            .and_then(osv_ecosystem)
            .filter(|(e, _)| matches!(e, Ecosystem::Debian | Ecosystem::Ubuntu));
        let (ecosystem, release) = match mapped {
            Some((e, r)) => (e, Some(r)),
            None => (
                if os.is_some_and(|o| o.id == "ubuntu" || o.id_like.iter().any(|l| l == "ubuntu")) {
                    Ecosystem::Ubuntu
                } else {
                    Ecosystem::Debian
                },
                None,
            ),
        };
        let namespace = match ecosystem {
            Ecosystem::Ubuntu => "ubuntu",
            _ => "debian",
        };
        Naming {
            ecosystem,
            release,
            namespace: namespace.to_string(),
            distro: distro_qualifier(os),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debian12() -> OsRelease {
        OsRelease {
            id: "debian".into(),
            version_id: Some("12".into()),
            ..OsRelease::default()
        }
    }

    /// (name, version, source name, source version, purl)
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static str,
    );

    fn check(text: &str, require_status: bool, expected: &[Row], expected_warnings: &[&str]) {
        let os = debian12();
        let got = parse_status(text, STATUS, Some(&os), require_status);
        let rows: Vec<(String, String, String, Option<String>, String)> = got
            .packages
            .iter()
            .map(|p| {
                let source = p
                    .source
                    .clone()
                    .expect("dpkg packages always carry a source");
                (
                    p.name.clone(),
                    p.version.clone(),
                    source.name,
                    source.version,
                    p.purl.clone(),
                )
            })
            .collect();
        let want: Vec<(String, String, String, Option<String>, String)> = expected
            .iter()
            .map(|(n, v, s, sv, p)| {
                (
                    n.to_string(),
                    v.to_string(),
                    s.to_string(),
                    sv.map(str::to_string),
                    p.to_string(),
                )
            })
            .collect();
        assert_eq!(rows, want);
        let warnings: Vec<&str> = got.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(warnings, expected_warnings);
        for p in &got.packages {
            assert_eq!(p.ecosystem, Ecosystem::Debian);
            assert_eq!(p.release.as_deref(), Some("12"));
            assert_eq!(p.location, STATUS);
        }
    }

    const STATUS_FILE: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12988
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u7
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
 .
 Package: not-a-real-field

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl (3.0.13-1~deb12u1)
Version: 3.0.14-1~deb12u2

Package: bash
Status: hold ok installed
Architecture: amd64
Version: 5.2.15-2+b7
Source: bash (5.2.15-2)

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1

Package: broken
Status: install ok installed
Architecture: amd64
";

    #[test]
    fn parses_a_status_file() {
        check(
            STATUS_FILE,
            true,
            &[
                (
                    "libc6",
                    "2.36-9+deb12u7",
                    "glibc",
                    None,
                    "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12&upstream=glibc",
                ),
                (
                    "libssl3",
                    "3.0.14-1~deb12u2",
                    "openssl",
                    Some("3.0.13-1~deb12u1"),
                    "pkg:deb/debian/libssl3@3.0.14-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl%403.0.13-1~deb12u1",
                ),
                (
                    "bash",
                    "5.2.15-2+b7",
                    "bash",
                    Some("5.2.15-2"),
                    "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2",
                ),
                (
                    "tzdata",
                    "2024a-0+deb12u1",
                    "tzdata",
                    None,
                    "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12",
                ),
            ],
            &["line 40: package broken has no Version; skipped"],
        );
    }

    #[test]
    fn distroless_status_d_files_have_no_status_line() {
        let text = "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n";
        check(
            text,
            false,
            &[(
                "base-files",
                "12.4+deb12u5",
                "base-files",
                None,
                "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12",
            )],
            &[],
        );
        check(
            text,
            true,
            &[],
            &["line 1: package base-files has no Status field; skipped"],
        );
    }

    #[test]
    fn handles_crlf_and_empty_input() {
        check("", true, &[], &[]);
        check(
            "Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n\r\n",
            true,
            &[("a", "1", "a", None, "pkg:deb/debian/a@1?distro=debian-12")],
            &[],
        );
    }

    #[test]
    fn wants_only_status_databases() {
        let cases = [
            ("var/lib/dpkg/status", true),
            ("var/lib/dpkg/status-old", false),
            ("var/lib/dpkg/status.d/libc6", true),
            ("var/lib/dpkg/status.d/libc6.md5sums", false),
            ("var/lib/dpkg/status.d/sub/x", false),
            ("usr/var/lib/dpkg/status", false),
        ];
        for (path, want) in cases {
            let name = path.rsplit('/').next().unwrap_or(path);
            assert_eq!(is_status_path(path, name), want, "{path}");
        }
    }
}
