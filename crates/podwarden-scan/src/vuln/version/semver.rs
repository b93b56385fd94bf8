//! SemVer 2.0 ordering for npm, crates.io, Go and Hex.
//!
//! Leniencies of real advisories are kept: a leading `v` (Go), missing minor/patch (zero),
//! numbers of any size. Pre-release identifiers compare per SemVer (numeric ones as integers
//! and below alphanumeric ones); build metadata (`+incompatible`, `+build`) is ignored, as is
//! anything after the third number. Go pseudo-versions are ordinary pre-releases.

use super::digits::{cmp_digits, is_number, skip1, take_digits};
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let a = SemVer::parse(a.as_bytes());
    let b = SemVer::parse(b.as_bytes());
    a.cmp_precedence(&b)
}

/// A leniently parsed SemVer version; all parts borrow from the input.
pub(super) struct SemVer<'a> {
    pub(super) core: [&'a [u8]; 3],
    pub(super) pre: Option<&'a [u8]>,
    /// Build metadata without its `+`, or whatever followed the third number.
    pub(super) build: &'a [u8],
}

impl<'a> SemVer<'a> {
    pub(super) fn parse(v: &'a [u8]) -> SemVer<'a> {
        let mut rest = v.strip_prefix(b"v").unwrap_or(v);
        let mut core: [&[u8]; 3] = [b""; 3];
        for (i, slot) in core.iter_mut().enumerate() {
            if i > 0 {
                match (rest.first(), rest.get(1)) {
                    (Some(b'.'), Some(c)) if c.is_ascii_digit() => rest = skip1(rest),
                    _ => break,
                }
            }
            let (digits, after) = take_digits(rest);
            *slot = digits;
            rest = after;
        }
        let mut pre = None;
        if let Some(after_dash) = rest.strip_prefix(b"-") {
            let plus = after_dash
                .iter()
                .position(|&c| c == b'+')
                .unwrap_or(after_dash.len());
            let (p, after) = after_dash.split_at(plus);
            pre = Some(p);
            rest = after;
        }
        let build = rest.strip_prefix(b"+").unwrap_or(rest);
        SemVer { core, pre, build }
    }

    /// Order of precedence: core numbers, then a pre-release below none; build ignored.
    pub(super) fn cmp_precedence(&self, other: &SemVer<'_>) -> Ordering {
        self.core
            .iter()
            .zip(other.core.iter())
            .map(|(x, y)| cmp_digits(x, y))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
            .then_with(|| match (self.pre, other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => cmp_identifiers(x, y, false),
            })
    }
}

/// Compares dot-separated identifier lists: numeric identifiers as integers and below
/// alphanumeric ones, alphanumeric ones byte-wise (or ignoring ASCII case), a shorter list
/// that is a prefix of the other first.
pub(super) fn cmp_identifiers(a: &[u8], b: &[u8], ignore_case: bool) -> Ordering {
    let mut ia = a.split(|&c| c == b'.');
    let mut ib = b.split(|&c| c == b'.');
    loop {
        let (x, y) = match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => (x, y),
        };
        let order = match (is_number(x), is_number(y)) {
            (true, true) => cmp_digits(x, y),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) if ignore_case => super::digits::cmp_ignore_ascii_case(x, y),
            (false, false) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
}
