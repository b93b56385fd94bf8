//! Hackage (Haskell `Data.Version`) ordering: dot-separated integers compared one by one;
//! when one list is a prefix of the other, the longer is greater (`1.0 < 1.0.0`).

use super::cran::cmp_integer_lists;
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    cmp_integer_lists(a.as_bytes(), b.as_bytes(), |c| c == b'.')
}
