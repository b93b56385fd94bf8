//! NuGet version ordering: SemVer 2.0 with up to four numbers (`1.0.0.1`), missing numbers
//! zero, pre-release identifiers compared ignoring ASCII case, build metadata ignored.

use super::digits::{cmp_digits, skip1, take_digits};
use super::semver::cmp_identifiers;
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let a = NuGet::parse(a.as_bytes());
    let b = NuGet::parse(b.as_bytes());
    a.numbers
        .iter()
        .zip(b.numbers.iter())
        .map(|(x, y)| cmp_digits(x, y))
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
        .then_with(|| match (a.pre, b.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => cmp_identifiers(x, y, true),
        })
}

struct NuGet<'a> {
    numbers: [&'a [u8]; 4],
    pre: Option<&'a [u8]>,
}

impl<'a> NuGet<'a> {
    fn parse(v: &'a [u8]) -> NuGet<'a> {
        let mut rest = v.strip_prefix(b"v").unwrap_or(v);
        let mut numbers: [&[u8]; 4] = [b""; 4];
        for (i, slot) in numbers.iter_mut().enumerate() {
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
        let pre = rest.strip_prefix(b"-").map(|p| {
            let plus = p.iter().position(|&c| c == b'+').unwrap_or(p.len());
            p.split_at(plus).0
        });
        NuGet { numbers, pre }
    }
}
