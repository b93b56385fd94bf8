//! Debian and Ubuntu version ordering, as `dpkg --compare-versions` does it.
//!
//! `[epoch:]upstream[-revision]`: epochs compare as integers, upstream and revision with
//! dpkg's `verrevcmp` (non-digit runs by a modified ASCII order where `~` sorts before
//! everything, even the end of the string; digit runs as integers).

use super::digits::{cmp_digits, skip1, take_digits};
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let a = Evr::parse(a.as_bytes());
    let b = Evr::parse(b.as_bytes());
    cmp_digits(a.epoch, b.epoch)
        .then_with(|| verrevcmp(a.upstream, b.upstream))
        .then_with(|| verrevcmp(a.revision, b.revision))
}

struct Evr<'a> {
    epoch: &'a [u8],
    upstream: &'a [u8],
    revision: &'a [u8],
}

impl<'a> Evr<'a> {
    fn parse(version: &'a [u8]) -> Evr<'a> {
        // dpkg takes the epoch up to the first `:` and rejects a non-numeric one; we then treat
        // the whole string as the upstream version instead of failing.
        let (epoch, rest) = match version.iter().position(|&c| c == b':') {
            Some(colon) => {
                let (epoch, rest) = version.split_at(colon);
                if epoch.iter().all(u8::is_ascii_digit) {
                    (epoch, skip1(rest))
                } else {
                    (&b""[..], version)
                }
            }
            None => (&b""[..], version),
        };
        let (upstream, revision) = match rest.iter().rposition(|&c| c == b'-') {
            Some(dash) => {
                let (upstream, revision) = rest.split_at(dash);
                (upstream, skip1(revision))
            }
            None => (rest, &b""[..]),
        };
        Evr {
            epoch,
            upstream,
            revision,
        }
    }
}

/// dpkg's character weight: `~` first, then the end of string and digits, letters, the rest.
fn weight(c: Option<&u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(*c),
        Some(c) => i32::from(*c) + 256,
    }
}

fn verrevcmp(mut a: &[u8], mut b: &[u8]) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        loop {
            let ca = a.first().filter(|c| !c.is_ascii_digit());
            let cb = b.first().filter(|c| !c.is_ascii_digit());
            if ca.is_none() && cb.is_none() {
                break;
            }
            let order = weight(ca).cmp(&weight(cb));
            if order != Ordering::Equal {
                return order;
            }
            a = skip1(a);
            b = skip1(b);
        }
        let (da, rest_a) = take_digits(a);
        let (db, rest_b) = take_digits(b);
        let order = cmp_digits(da, db);
        if order != Ordering::Equal {
            return order;
        }
        a = rest_a;
        b = rest_b;
    }
    Ordering::Equal
}
