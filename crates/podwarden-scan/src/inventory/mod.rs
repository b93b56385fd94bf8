//! Package inventory: what is installed in a root filesystem (a directory or an image tarball).
//!
//! The walker (`walk`) offers each file to every [`Detector`]; detectors turn the files they
//! want into [`Package`]s. Detectors never touch the filesystem themselves: they read through
//! [`FileContents`], so the same detector works on a directory and inside an image layer.

use serde::Serialize;
use std::fmt;

/// The OSV ecosystem a package belongs to, without the release suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Ecosystem {
    Debian,
    Ubuntu,
    Alpine,
    RedHat,
    AlmaLinux,
    RockyLinux,
    CratesIo,
    Npm,
    PyPI,
    Go,
    Maven,
    Packagist,
    RubyGems,
    NuGet,
}

impl Ecosystem {
    /// The ecosystem's name as OSV writes it (`affected[].package.ecosystem`, before any `:`).
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::Debian => "Debian",
            Ecosystem::Ubuntu => "Ubuntu",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::RedHat => "Red Hat",
            Ecosystem::AlmaLinux => "AlmaLinux",
            Ecosystem::RockyLinux => "Rocky Linux",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
            Ecosystem::Maven => "Maven",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::NuGet => "NuGet",
        }
    }

    /// Whether packages of this ecosystem come from an OS package manager.
    pub fn is_os(self) -> bool {
        matches!(
            self,
            Ecosystem::Debian
                | Ecosystem::Ubuntu
                | Ecosystem::Alpine
                | Ecosystem::RedHat
                | Ecosystem::AlmaLinux
                | Ecosystem::RockyLinux
        )
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

/// `/etc/os-release` (or `/usr/lib/os-release`) of the scanned root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OsRelease {
    /// `ID`, lower-case (`debian`, `ubuntu`, `alpine`, `rhel`, `almalinux`, `rocky`, ...).
    pub id: String,
    /// `ID_LIKE`, split on whitespace.
    pub id_like: Vec<String>,
    /// `VERSION_ID` (`12`, `22.04`, `3.20.3`, `9.4`).
    pub version_id: Option<String>,
    pub version_codename: Option<String>,
    pub pretty_name: Option<String>,
}

/// The source package a binary package was built from (distro advisories name these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourcePackage {
    pub name: String,
    /// Source version when it differs from the binary version (dpkg `Source: foo (1.2-3)`).
    pub version: Option<String>,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    /// OS release the package belongs to, in the form OSV appends after `:`
    /// (`12` for Debian, `v3.20` for Alpine, `22.04` for Ubuntu, `9` for AlmaLinux); None for
    /// language packages.
    pub release: Option<String>,
    pub name: String,
    pub version: String,
    pub source: Option<SourcePackage>,
    /// The file the package was found in, relative to the scanned root, `/`-separated; a file
    /// inside an archive is written `outer.war!/WEB-INF/lib/inner.jar!/META-INF/...`.
    pub location: String,
    /// Package URL (https://github.com/package-url/purl-spec).
    pub purl: String,
}

/// A problem with one input file; the scan goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The file, relative to the scanned root (archive members as in [`Package::location`]).
    pub path: String,
    pub message: String,
}

/// The result of inventorying one root.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    pub os: Option<OsRelease>,
    pub packages: Vec<Package>,
    pub warnings: Vec<Warning>,
    pub files_seen: u64,
}

/// Facts about a file the walker offers to detectors.
#[derive(Debug, Clone, Copy)]
pub struct FileInfo<'a> {
    /// Path relative to the root, `/`-separated, no leading `/`.
    pub path: &'a str,
    /// The last path component.
    pub file_name: &'a str,
    pub size: u64,
    /// Any execute bit set.
    pub executable: bool,
}

/// Random-access, bounded reading of one file's contents, wherever it lives.
pub trait FileContents {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (0 at the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
    /// Reads the whole file, refusing files larger than `limit` bytes.
    fn read_all(&self, limit: u64) -> std::io::Result<Vec<u8>> {
        let len = self.len();
        if len > limit {
            return Err(std::io::Error::other(format!(
                "file is {len} bytes, over the {limit}-byte limit"
            )));
        }
        let mut out = vec![0u8; len as usize];
        let mut done = 0;
        while done < out.len() {
            let n = self.read_at(done as u64, &mut out[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        out.truncate(done);
        Ok(out)
    }
}

impl FileContents for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = (offset as usize).min(<[u8]>::len(self));
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

/// What the walker knows before detectors run.
#[derive(Debug, Clone, Default)]
pub struct DetectContext {
    pub os: Option<OsRelease>,
}

/// The outcome of one detector on one file.
#[derive(Debug, Default)]
pub struct Detected {
    pub packages: Vec<Package>,
    /// Problems that did not stop the file being read (e.g. one bad entry of many).
    pub warnings: Vec<Warning>,
}

/// Finds packages in files of one kind (a dpkg status file, a Cargo.lock, a jar, ...).
pub trait Detector: Send + Sync {
    /// A short stable name (`dpkg`, `cargo-lock`, `go-binary`, ...).
    fn name(&self) -> &'static str;
    /// Whether this detector wants to read the file; decided from the name, size and mode only.
    fn wants(&self, file: &FileInfo<'_>) -> bool;
    /// A cheap pre-check made before the walker pays for a `stat`: returning false promises
    /// that [`Detector::wants`] would refuse the file whatever its size and mode. The default
    /// says "maybe", so the walker stats the file and asks `wants`.
    fn may_want(&self, path: &str, file_name: &str) -> bool {
        let _ = (path, file_name);
        true
    }
    /// Reads the file. An `Err` becomes a [`Warning`] naming the file; it never stops the scan.
    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        ctx: &DetectContext,
    ) -> Result<Detected, String>;
}

pub mod apk;
pub mod detectors;
pub mod dpkg;
pub mod image;
pub mod lang;
pub mod os_release;
pub mod purl;
pub mod rootfs;
pub mod rpm;
pub mod walk;

pub use image::inventory_image;
pub use walk::{InventoryError, ScanOptions, inventory_dir};
