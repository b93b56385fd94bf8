//! Packagist (Composer) ordering: PHP's `version_compare` after its canonicalisation, as
//! Composer compares versions, plus a leading `v`/`V` dropped.
//!
//! The version splits at `.`, `-`, `_`, `+` and at every digit/non-digit boundary. Numbers
//! compare as integers; words by their special form: `dev < alpha = a < beta = b < RC = rc
//! < # < pl = p` (matched as prefixes; any other word sorts below `dev`); a number is ranked
//! as `#`. When one list runs out, a following number makes the longer greater, a following
//! word is compared against `#`.

use super::digits::{cmp_digits, is_number, skip1};
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let mut ia = Components::new(strip_v(a.as_bytes()));
    let mut ib = Components::new(strip_v(b.as_bytes()));
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (Some(x), Some(y)) => {
                let order = match (is_number(x), is_number(y)) {
                    (true, true) => cmp_digits(x, y),
                    (false, false) => special_rank(x).cmp(&special_rank(y)),
                    (true, false) => special_rank(b"#").cmp(&special_rank(y)),
                    (false, true) => special_rank(x).cmp(&special_rank(b"#")),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
            (Some(x), None) => return cmp_tail(x, ia),
            (None, Some(y)) => return cmp_tail(y, ib).reverse(),
        }
    }
}

fn strip_v(v: &[u8]) -> &[u8] {
    match v.first() {
        Some(b'v' | b'V') => skip1(v),
        _ => v,
    }
}

/// Orders the leftover components of the longer version against the end of the shorter.
fn cmp_tail<'a>(first: &'a [u8], rest: impl Iterator<Item = &'a [u8]>) -> Ordering {
    for component in std::iter::once(first).chain(rest) {
        if is_number(component) {
            return Ordering::Greater;
        }
        let order = special_rank(component).cmp(&special_rank(b"#"));
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// PHP's `compare_special_version_forms`: the first form that is a prefix of the word.
fn special_rank(word: &[u8]) -> i8 {
    const FORMS: [(&[u8], i8); 10] = [
        (b"dev", 0),
        (b"alpha", 1),
        (b"a", 1),
        (b"beta", 2),
        (b"b", 2),
        (b"RC", 3),
        (b"rc", 3),
        (b"#", 4),
        (b"pl", 5),
        (b"p", 5),
    ];
    FORMS
        .iter()
        .find(|(form, _)| word.starts_with(form))
        .map_or(-1, |&(_, rank)| rank)
}

fn is_separator(c: u8) -> bool {
    matches!(c, b'.' | b'-' | b'_' | b'+')
}

/// The components of the canonical form; consecutive separators give empty components.
struct Components<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> Components<'a> {
    fn new(version: &'a [u8]) -> Components<'a> {
        Components {
            rest: version,
            done: version.is_empty(),
        }
    }
}

impl<'a> Iterator for Components<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let digit = self.rest.first().is_some_and(u8::is_ascii_digit);
        let end = self
            .rest
            .iter()
            .position(|&c| is_separator(c) || c.is_ascii_digit() != digit)
            .unwrap_or(self.rest.len());
        let (component, after) = self.rest.split_at(end);
        match after.first() {
            None => self.done = true,
            Some(&c) if is_separator(c) => self.rest = skip1(after),
            Some(_) => self.rest = after,
        }
        Some(component)
    }
}
