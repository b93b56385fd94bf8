//! Pub (Dart) version ordering: SemVer precedence, then build metadata, which Pub does not
//! ignore: a version with build metadata sorts after the same version without, and build
//! identifiers compare like pre-release identifiers.

use super::semver::{SemVer, cmp_identifiers};
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let a = SemVer::parse(a.as_bytes());
    let b = SemVer::parse(b.as_bytes());
    a.cmp_precedence(&b)
        .then_with(|| match (a.build.is_empty(), b.build.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => cmp_identifiers(a.build, b.build, false),
        })
}
