//! apk: installed Alpine (and other apk-based) packages from `lib/apk/db/installed`.
//!
//! The database is a list of blank-line separated records of `X:value` lines; we read `P`
//! (name), `V` (version), `A` (arch) and `o` (origin, the source package). File lists
//! (`F`, `R`, `a`, `M`, `Z`) and the rest are skipped.

use super::os_release::{distro_qualifier, osv_ecosystem};
use super::purl::purl;
use super::{
    DetectContext, Detected, Detector, Ecosystem, FileContents, FileInfo, OsRelease, Package,
    SourcePackage, Warning,
};

const INSTALLED: &str = "lib/apk/db/installed";
/// The largest database read.
const MAX_DB_SIZE: u64 = 64 << 20;

/// Finds packages in the apk database.
#[derive(Debug, Default)]
pub struct ApkDetector;

impl Detector for ApkDetector {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn may_want(&self, path: &str, _file_name: &str) -> bool {
        path == INSTALLED
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.path == INSTALLED
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        ctx: &DetectContext,
    ) -> Result<Detected, String> {
        let bytes = contents.read_all(MAX_DB_SIZE).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(parse_installed(&text, file.path, ctx.os.as_ref()))
    }
}

#[derive(Default)]
struct Record<'a> {
    first_line: usize,
    name: Option<&'a str>,
    version: Option<&'a str>,
    arch: Option<&'a str>,
    origin: Option<&'a str>,
}

/// Parses an apk `installed` database.
pub fn parse_installed(text: &str, location: &str, os: Option<&OsRelease>) -> Detected {
    let naming = Naming::new(os);
    let mut detected = Detected::default();
    let mut record = Record::default();
    let mut in_record = false;
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if in_record {
                naming.finish(&record, location, &mut detected);
            }
            record = Record::default();
            in_record = false;
            continue;
        }
        if !in_record {
            record.first_line = index + 1;
            in_record = true;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "P" => record.name = Some(value.trim()),
            "V" => record.version = Some(value.trim()),
            "A" => record.arch = Some(value.trim()),
            "o" => record.origin = Some(value.trim()),
            _ => {}
        }
    }
    if in_record {
        naming.finish(&record, location, &mut detected);
    }
    detected
}

struct Naming {
    release: Option<String>,
    namespace: String,
    distro: String,
}

impl Naming {
    fn new(os: Option<&OsRelease>) -> Naming {
        let release = os
            .and_then(osv_ecosystem)
            .filter(|(e, _)| *e == Ecosystem::Alpine)
            .map(|(_, r)| r);
        let namespace = match os {
            Some(os) if !os.id.is_empty() => os.id.clone(),
            _ => "alpine".to_string(),
        };
        Naming {
            release,
            namespace,
            distro: distro_qualifier(os),
        }
    }

    fn finish(&self, r: &Record<'_>, location: &str, detected: &mut Detected) {
        let Some(name) = r.name.filter(|n| !n.is_empty()) else {
            // File-list-only records carry no package; one with a version is broken.
            if r.version.is_some() {
                detected.warnings.push(Warning {
                    path: location.to_string(),
                    message: format!("line {}: record has a V: but no P:", r.first_line),
                });
            }
            return;
        };
        let Some(version) = r.version.filter(|v| !v.is_empty()) else {
            detected.warnings.push(Warning {
                path: location.to_string(),
                message: format!(
                    "line {}: package {name} has no V: (version); skipped",
                    r.first_line
                ),
            });
            return;
        };
        let origin = r.origin.filter(|o| !o.is_empty()).unwrap_or(name);
        let upstream = if origin != name { origin } else { "" };
        detected.packages.push(Package {
            ecosystem: Ecosystem::Alpine,
            release: self.release.clone(),
            name: name.to_string(),
            version: version.to_string(),
            source: Some(SourcePackage {
                name: origin.to_string(),
                version: None,
            }),
            location: location.to_string(),
            purl: purl(
                "apk",
                Some(&self.namespace),
                name,
                version,
                &[
                    ("arch", r.arch.unwrap_or("")),
                    ("distro", &self.distro),
                    ("upstream", upstream),
                ],
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[(&str, &str, &str, &str)], warnings: &[&str]) {
        let os = OsRelease {
            id: "alpine".into(),
            version_id: Some("3.20.3".into()),
            ..OsRelease::default()
        };
        let got = parse_installed(text, INSTALLED, Some(&os));
        let rows: Vec<(&str, &str, &str, &str)> = got
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.source.as_ref().map_or("", |s| s.name.as_str()),
                    p.purl.as_str(),
                )
            })
            .collect();
        assert_eq!(rows, expected);
        let got_warnings: Vec<&str> = got.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(got_warnings, warnings);
        assert!(
            got.packages
                .iter()
                .all(|p| p.release.as_deref() == Some("v3.20"))
        );
    }

    #[test]
    fn parses_records() {
        check(
            "P:busybox\nV:1.36.1-r29\nA:x86_64\no:busybox\nF:bin\nR:busybox\n\n\
             P:ssl_client\nV:1.36.1-r29\nA:x86_64\no:busybox\n\n\
             P:nover\nA:x86_64\n\nV:1\n\nF:etc\nR:x\n",
            &[
                (
                    "busybox",
                    "1.36.1-r29",
                    "busybox",
                    "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3",
                ),
                (
                    "ssl_client",
                    "1.36.1-r29",
                    "busybox",
                    "pkg:apk/alpine/ssl_client@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3&upstream=busybox",
                ),
            ],
            &[
                "line 13: package nover has no V: (version); skipped",
                "line 16: record has a V: but no P:",
            ],
        );
        check("", &[], &[]);
        check(
            "P:last\nV:2\n",
            &[(
                "last",
                "2",
                "last",
                "pkg:apk/alpine/last@2?distro=alpine-3.20.3",
            )],
            &[],
        );
    }
}
