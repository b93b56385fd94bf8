//! RPM version ordering (Red Hat, AlmaLinux, Rocky, SUSE, ...): `rpmvercmp` over
//! `[epoch:]version[-release]`, including `~` (sorts before anything) and `^` (sorts after
//! the base version but before anything else appended to it).

use super::digits::{cmp_digits, skip1, take_while};
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let a = Evr::parse(a.as_bytes());
    let b = Evr::parse(b.as_bytes());
    cmp_digits(a.epoch, b.epoch)
        .then_with(|| rpmvercmp(a.version, b.version))
        .then_with(|| match (a.release, b.release) {
            (None, None) => Ordering::Equal,
            // A version without a release sorts before the same version with one.
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(ra), Some(rb)) => rpmvercmp(ra, rb),
        })
}

struct Evr<'a> {
    epoch: &'a [u8],
    version: &'a [u8],
    release: Option<&'a [u8]>,
}

impl<'a> Evr<'a> {
    /// As rpm's `parseEVR`: an epoch only when the string starts with digits then `:`;
    /// the release after the last `-` following it.
    fn parse(evr: &'a [u8]) -> Evr<'a> {
        let (digits, after_digits) = take_while(evr, |c| c.is_ascii_digit());
        let (epoch, rest) = if after_digits.first() == Some(&b':') {
            (digits, skip1(after_digits))
        } else {
            (&b""[..], evr)
        };
        let (version, release) = match rest.iter().rposition(|&c| c == b'-') {
            Some(dash) => {
                let (version, release) = rest.split_at(dash);
                (version, Some(skip1(release)))
            }
            None => (rest, None),
        };
        Evr {
            epoch,
            version,
            release,
        }
    }
}

fn is_separator(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// rpm's `rpmvercmp` (rpm 4.15+, with caret support).
fn rpmvercmp(mut one: &[u8], mut two: &[u8]) -> Ordering {
    if one == two {
        return Ordering::Equal;
    }
    loop {
        one = take_while(one, is_separator).1;
        two = take_while(two, is_separator).1;
        let (c1, c2) = (one.first().copied(), two.first().copied());
        if c1.is_none() && c2.is_none() {
            return Ordering::Equal;
        }
        if c1 == Some(b'~') || c2 == Some(b'~') {
            if c1 != Some(b'~') {
                return Ordering::Greater;
            }
            if c2 != Some(b'~') {
                return Ordering::Less;
            }
            one = skip1(one);
            two = skip1(two);
            continue;
        }
        if c1 == Some(b'^') || c2 == Some(b'^') {
            if c1.is_none() {
                return Ordering::Less;
            }
            if c2.is_none() {
                return Ordering::Greater;
            }
            if c1 != Some(b'^') {
                return Ordering::Greater;
            }
            if c2 != Some(b'^') {
                return Ordering::Less;
            }
            one = skip1(one);
            two = skip1(two);
            continue;
        }
        let (Some(c1), Some(_)) = (c1, c2) else {
            break;
        };
        let is_num = c1.is_ascii_digit();
        let class = |c: u8| {
            if is_num {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (seg1, rest1) = take_while(one, class);
        let (seg2, rest2) = take_while(two, class);
        if seg2.is_empty() {
            // Segments of different kinds: numeric is newer than alphabetic.
            return if is_num {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let order = if is_num {
            cmp_digits(seg1, seg2)
        } else {
            seg1.cmp(seg2)
        };
        if order != Ordering::Equal {
            return order;
        }
        one = rest1;
        two = rest2;
    }
    // All segments equal: whichever has characters left over wins.
    match (one.is_empty(), two.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}
