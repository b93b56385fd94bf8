//! rpm: installed packages of RHEL-family roots from the SQLite rpm database
//! (`var/lib/rpm/rpmdb.sqlite`, `usr/lib/sysimage/rpm/rpmdb.sqlite`), read with a pure-Rust
//! SQLite reader. BerkeleyDB (`Packages`) and NDB (`Packages.db`) databases are recognised and
//! reported as unsupported.

pub mod header;
pub mod sqlite;

use super::os_release::{distro_qualifier, osv_ecosystem};
use super::purl::purl;
use super::{
    DetectContext, Detected, Detector, Ecosystem, FileContents, FileInfo, OsRelease, Package,
    SourcePackage, Warning,
};
use header::{RpmHeader, parse_header, split_source_rpm};
use sqlite::{Database, Value};

const DB_DIRS: [&str; 2] = ["var/lib/rpm/", "usr/lib/sysimage/rpm/"];

/// What kind of rpm database a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbKind {
    Sqlite,
    BerkeleyDb,
    Ndb,
}

fn db_kind(path: &str) -> Option<DbKind> {
    let file = DB_DIRS.iter().find_map(|dir| path.strip_prefix(dir))?;
    match file {
        "rpmdb.sqlite" => Some(DbKind::Sqlite),
        "Packages" => Some(DbKind::BerkeleyDb),
        "Packages.db" => Some(DbKind::Ndb),
        _ => None,
    }
}

/// Finds packages in rpm databases.
#[derive(Debug, Default)]
pub struct RpmDetector;

impl Detector for RpmDetector {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn may_want(&self, path: &str, _file_name: &str) -> bool {
        db_kind(path).is_some()
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        db_kind(file.path).is_some()
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        ctx: &DetectContext,
    ) -> Result<Detected, String> {
        match db_kind(file.path) {
            Some(DbKind::Sqlite) => read_sqlite_db(contents, file.path, ctx.os.as_ref()),
            Some(DbKind::BerkeleyDb) => Err(
                "BerkeleyDB rpm database (RHEL/CentOS 7-8 era) is not supported; its packages are not listed"
                    .to_string(),
            ),
            Some(DbKind::Ndb) => Err(
                "NDB rpm database (SUSE) is not supported; its packages are not listed".to_string(),
            ),
            None => Ok(Detected::default()),
        }
    }
}

/// Lists the packages of an SQLite rpm database. Broken rows become warnings; a database that
/// cannot be read at all is an error.
pub fn read_sqlite_db(
    contents: &dyn FileContents,
    location: &str,
    os: Option<&OsRelease>,
) -> Result<Detected, String> {
    let db = Database::open(contents).map_err(|e| e.to_string())?;
    let root = db
        .table_root("Packages")
        .map_err(|e| format!("reading the schema: {e}"))?
        .ok_or("the database has no Packages table")?;
    let naming = Naming::new(os);
    let mut detected = Detected::default();
    let warn = |detected: &mut Detected, message: String| {
        detected.warnings.push(Warning {
            path: location.to_string(),
            message,
        })
    };
    let walk = db.scan_table(root, &mut |rowid, row| {
        let blob = match row {
            Ok(columns) => match columns.into_iter().nth(1) {
                Some(Value::Blob(blob)) => blob,
                _ => {
                    warn(
                        &mut detected,
                        format!("Packages row {rowid}: no header blob"),
                    );
                    return true;
                }
            },
            Err(e) => {
                warn(&mut detected, format!("Packages row {rowid}: {e}"));
                return true;
            }
        };
        match parse_header(&blob) {
            Ok(header) if header.name == "gpg-pubkey" => {}
            Ok(header) => detected.packages.push(naming.package(&header, location)),
            Err(e) => warn(&mut detected, format!("Packages row {rowid}: {e}")),
        }
        true
    });
    if let Err(e) = walk {
        if detected.packages.is_empty() {
            return Err(format!("reading the Packages table: {e}"));
        }
        warn(
            &mut detected,
            format!("reading the Packages table stopped early: {e}"),
        );
    }
    Ok(detected)
}

struct Naming {
    ecosystem: Ecosystem,
    release: Option<String>,
    namespace: String,
    distro: String,
}

impl Naming {
    fn new(os: Option<&OsRelease>) -> Naming {
        let mapped = os.and_then(osv_ecosystem).filter(|(e, _)| {
            matches!(
                e,
                Ecosystem::RedHat | Ecosystem::AlmaLinux | Ecosystem::RockyLinux
            )
        });
        let (ecosystem, release) = match mapped {
            Some((e, r)) => (e, Some(r)),
            None => (Ecosystem::RedHat, None),
        };
        let namespace = match (os.map(|o| o.id.as_str()), ecosystem) {
            (Some("rhel"), _) | (None, _) | (Some(""), _) => "redhat".to_string(),
            (Some(id), _) => id.to_string(),
        };
        Naming {
            ecosystem,
            release,
            namespace,
            distro: distro_qualifier(os),
        }
    }

    fn package(&self, h: &RpmHeader, location: &str) -> Package {
        let version_release = if h.release.is_empty() {
            h.version.clone()
        } else {
            format!("{}-{}", h.version, h.release)
        };
        let version = match h.epoch {
            Some(epoch) => format!("{epoch}:{version_release}"),
            None => version_release.clone(),
        };
        let source = h
            .source_rpm
            .as_deref()
            .and_then(split_source_rpm)
            .map(|(name, version)| SourcePackage {
                name: name.to_string(),
                version: Some(version),
            });
        let epoch = h.epoch.map(|e| e.to_string()).unwrap_or_default();
        let mut upstream = String::new();
        if let Some(src) = &h.source_rpm {
            upstream.push_str(src);
        }
        Package {
            ecosystem: self.ecosystem,
            release: self.release.clone(),
            name: h.name.clone(),
            version,
            source,
            location: location.to_string(),
            purl: purl(
                "rpm",
                Some(&self.namespace),
                &h.name,
                &version_release,
                &[
                    ("arch", h.arch.as_deref().unwrap_or("")),
                    ("epoch", &epoch),
                    ("distro", &self.distro),
                    ("upstream", &upstream),
                ],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_database_paths() {
        let cases = [
            ("var/lib/rpm/rpmdb.sqlite", Some(DbKind::Sqlite)),
            ("usr/lib/sysimage/rpm/rpmdb.sqlite", Some(DbKind::Sqlite)),
            ("var/lib/rpm/Packages", Some(DbKind::BerkeleyDb)),
            ("var/lib/rpm/Packages.db", Some(DbKind::Ndb)),
            ("var/lib/rpm/rpmdb.sqlite-shm", None),
            ("home/x/var/lib/rpm/rpmdb.sqlite", None),
        ];
        for (path, want) in cases {
            assert_eq!(db_kind(path), want, "{path}");
        }
    }

    #[test]
    fn names_packages_per_distribution() {
        let header = RpmHeader {
            name: "bash".into(),
            version: "5.1.8".into(),
            release: "6.el9".into(),
            epoch: None,
            arch: Some("x86_64".into()),
            source_rpm: Some("bash-5.1.8-6.el9.src.rpm".into()),
            ..RpmHeader::default()
        };
        let with_epoch = RpmHeader {
            name: "openssl".into(),
            version: "3.0.7".into(),
            release: "27.el9".into(),
            epoch: Some(1),
            arch: Some("x86_64".into()),
            source_rpm: Some("openssl-3.0.7-27.el9.src.rpm".into()),
            ..RpmHeader::default()
        };
        let os = |id: &str, v: &str| OsRelease {
            id: id.into(),
            version_id: Some(v.into()),
            ..OsRelease::default()
        };
        let cases = [
            (
                Some(os("rhel", "9.4")),
                &header,
                (Ecosystem::RedHat, Some("9"), "5.1.8-6.el9"),
                "pkg:rpm/redhat/bash@5.1.8-6.el9?arch=x86_64&distro=rhel-9.4&upstream=bash-5.1.8-6.el9.src.rpm",
            ),
            (
                Some(os("almalinux", "9.4")),
                &with_epoch,
                (Ecosystem::AlmaLinux, Some("9"), "1:3.0.7-27.el9"),
                "pkg:rpm/almalinux/openssl@3.0.7-27.el9?arch=x86_64&distro=almalinux-9.4&epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm",
            ),
            (
                Some(os("rocky", "8.10")),
                &header,
                (Ecosystem::RockyLinux, Some("8"), "5.1.8-6.el9"),
                "pkg:rpm/rocky/bash@5.1.8-6.el9?arch=x86_64&distro=rocky-8.10&upstream=bash-5.1.8-6.el9.src.rpm",
            ),
            (
                None,
                &header,
                (Ecosystem::RedHat, None, "5.1.8-6.el9"),
                "pkg:rpm/redhat/bash@5.1.8-6.el9?arch=x86_64&upstream=bash-5.1.8-6.el9.src.rpm",
            ),
        ];
        for (os, header, (ecosystem, release, version), want_purl) in cases {
            let p = Naming::new(os.as_ref()).package(header, "var/lib/rpm/rpmdb.sqlite");
            assert_eq!(
                (p.ecosystem, p.release.as_deref(), p.version.as_str()),
                (ecosystem, release, version)
            );
            assert_eq!(p.purl, want_purl);
            assert_eq!(
                p.source
                    .as_ref()
                    .map(|s| (s.name.as_str(), s.version.as_deref())),
                Some((
                    header.name.as_str(),
                    Some(&*format!("{}-{}", header.version, header.release))
                ))
            );
        }
    }
}
