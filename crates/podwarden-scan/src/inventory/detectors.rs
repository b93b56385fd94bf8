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
    ];
    detectors
}
