//! CRAN (R `package_version`) ordering: integers separated by `.` or `-`, compared one by
//! one; when one list is a prefix of the other, the longer is greater (`0.1.0 < 0.1.0.0`).

use super::digits::cmp_digits;
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    cmp_integer_lists(a.as_bytes(), b.as_bytes(), |c| c == b'.' || c == b'-')
}

/// Compares lists of digit runs split by `separator`; non-digit bytes inside a run are
/// skipped (R and Cabal reject them; this keeps ordering total without failing).
pub(super) fn cmp_integer_lists(a: &[u8], b: &[u8], separator: impl Fn(u8) -> bool) -> Ordering {
    // An empty version has no components (not one empty component).
    let mut ia = a.split(|&c| separator(c)).filter(|_| !a.is_empty());
    let mut ib = b.split(|&c| separator(c)).filter(|_| !b.is_empty());
    loop {
        let order = match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => cmp_digits(digits_of(x), digits_of(y)),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
}

/// The leading digits of a component (the whole component when well-formed).
fn digits_of(component: &[u8]) -> &[u8] {
    super::digits::take_digits(component).0
}
