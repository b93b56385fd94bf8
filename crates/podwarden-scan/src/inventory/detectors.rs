//! The registry of every detector the scanner runs, OS package managers first.

use super::Detector;

/// All detectors, in a fixed order (OS package databases, then language ecosystems).
pub fn default_detectors() -> Vec<Box<dyn Detector>> {
    let detectors: Vec<Box<dyn Detector>> = vec![
        // OS package databases (dpkg, apk, rpm) are registered here.
        Box::new(super::dpkg::DpkgDetector),
        Box::new(super::apk::ApkDetector),
        Box::new(super::rpm::RpmDetector),
        // Language ecosystems (lockfiles, installed metadata, binaries, archives) follow.
        Box::new(super::lang::cargo::CargoLockDetector),
        Box::new(super::lang::npm::PackageLockDetector),
        Box::new(super::lang::npm::NodeModulesDetector),
        Box::new(super::lang::npm::YarnLockDetector),
        Box::new(super::lang::npm::PnpmLockDetector),
        Box::new(super::lang::python::PythonMetadataDetector),
        Box::new(super::lang::python::PoetryLockDetector),
        Box::new(super::lang::python::PipfileLockDetector),
        Box::new(super::lang::python::RequirementsDetector),
        Box::new(super::lang::golang::GoModDetector),
        Box::new(super::lang::golang::GoBinaryDetector),
        Box::new(super::lang::maven::JavaArchiveDetector),
        Box::new(super::lang::php::ComposerDetector),
        Box::new(super::lang::ruby::GemfileLockDetector),
        Box::new(super::lang::ruby::GemspecDetector),
    ];
    detectors
}
