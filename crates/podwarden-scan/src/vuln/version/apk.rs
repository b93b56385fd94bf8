//! Alpine (apk) version ordering: `number{.number}[letter]{_suffix[number]}[~hash][-rN]`.
//!
//! Suffixes order `alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p`. Number
//! components after the first compare as strings when either starts with `0` (as apk does).
//! Text that does not fit the grammar is kept as a remainder that sorts below no remainder
//! (two remainders compare byte-wise) after the valid parts, and a `-...` tail that is not `-rN` sorts below any valid (or absent) build
//! number, which is how OSV's reference comparator orders such malformed versions.

use super::digits::{cmp_digits, skip, skip1, take_digits, take_while};
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let a = Apk::parse(a.as_bytes());
    let b = Apk::parse(b.as_bytes());
    cmp_numbers(a.numbers, b.numbers)
        .then_with(|| a.letter.cmp(&b.letter))
        .then_with(|| cmp_suffixes(a.suffixes, b.suffixes))
        .then_with(|| a.hash.cmp(&b.hash))
        .then_with(|| cmp_remainders(a.remainder, b.remainder))
        .then_with(|| a.build.cmp(&b.build))
}

struct Apk<'a> {
    /// `1.2.3`: digit runs separated by single dots.
    numbers: &'a [u8],
    letter: Option<u8>,
    /// `_alpha1_p2`: zero or more well-formed suffixes.
    suffixes: &'a [u8],
    hash: Option<&'a [u8]>,
    remainder: &'a [u8],
    build: Build<'a>,
}

#[derive(PartialEq, Eq)]
enum Build<'a> {
    /// A `-...` tail that is not `-r<digits>`.
    Invalid,
    /// `-rN`; an absent build number is `-r0`.
    Number(&'a [u8]),
}

impl Ord for Build<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Build::Invalid, Build::Invalid) => Ordering::Equal,
            (Build::Invalid, Build::Number(_)) => Ordering::Less,
            (Build::Number(_), Build::Invalid) => Ordering::Greater,
            (Build::Number(a), Build::Number(b)) => cmp_digits(a, b),
        }
    }
}

impl PartialOrd for Build<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Suffix names in ascending order, with the position of "no suffix" between `rc` and `cvs`.
const SUFFIXES: [&[u8]; 9] = [
    b"alpha", b"beta", b"pre", b"rc", b"cvs", b"svn", b"git", b"hg", b"p",
];
const NO_SUFFIX_RANK: usize = 4;

fn suffix_rank(name: &[u8]) -> usize {
    let index = SUFFIXES.iter().position(|s| *s == name).unwrap_or(0);
    if index >= NO_SUFFIX_RANK {
        index + 1
    } else {
        index
    }
}

impl<'a> Apk<'a> {
    fn parse(v: &'a [u8]) -> Apk<'a> {
        // Numbers: `\d+(\.\d+)*`.
        let mut end = take_digits(v).0.len();
        if end > 0 {
            loop {
                let rest = skip(v, end);
                let digits = take_digits(skip1(rest)).0;
                if rest.first() == Some(&b'.') && !digits.is_empty() {
                    end += 1 + digits.len();
                } else {
                    break;
                }
            }
        }
        let (numbers, mut rest) = v.split_at(end);

        let letter = rest.first().copied().filter(u8::is_ascii_lowercase);
        if letter.is_some() {
            rest = skip1(rest);
        }

        let suffix_start = rest;
        while let Some((_, len)) = next_suffix(rest) {
            rest = skip(rest, len);
        }
        let suffixes = suffix_start.split_at(suffix_start.len() - rest.len()).0;

        let mut hash = None;
        if rest.first() == Some(&b'~') {
            let (hex, after) = take_while(skip1(rest), |c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
            if !hex.is_empty() {
                hash = Some(hex);
                rest = after;
            }
        }

        let dash = rest.iter().position(|&c| c == b'-').unwrap_or(rest.len());
        let (remainder, tail) = rest.split_at(dash);
        let build = if tail.is_empty() {
            Build::Number(b"0")
        } else {
            match tail.strip_prefix(b"-r") {
                // `-r` alone is `-r0`.
                Some(n) if n.iter().all(u8::is_ascii_digit) => Build::Number(n),
                _ => Build::Invalid,
            }
        };
        Apk {
            numbers,
            letter,
            suffixes,
            hash,
            remainder,
            build,
        }
    }
}

/// The suffix at the start of `s` (`_name[digits]`): its rank, number and byte length.
fn next_suffix(s: &[u8]) -> Option<((usize, &[u8]), usize)> {
    let body = s.strip_prefix(b"_")?;
    // `pre` is listed before `p`, so `_pre` is never read as `_p` followed by `re`.
    let name = SUFFIXES.iter().find(|name| body.starts_with(name))?;
    let number = take_digits(skip(body, name.len())).0;
    Some(((suffix_rank(name), number), 1 + name.len() + number.len()))
}

/// Unparsed text sorts below none at all; two remainders compare byte-wise.
fn cmp_remainders(a: &[u8], b: &[u8]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.cmp(b),
    }
}

fn cmp_numbers(a: &[u8], b: &[u8]) -> Ordering {
    let mut ia = a.split(|&c| c == b'.').filter(|_| !a.is_empty());
    let mut ib = b.split(|&c| c == b'.').filter(|_| !b.is_empty());
    let mut first = true;
    loop {
        let order = match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                if !first && (x.first() == Some(&b'0') || y.first() == Some(&b'0')) {
                    x.cmp(y)
                } else {
                    cmp_digits(x, y)
                }
            }
        };
        if order != Ordering::Equal {
            return order;
        }
        first = false;
    }
}

fn cmp_suffixes(mut a: &[u8], mut b: &[u8]) -> Ordering {
    const NONE: (usize, &[u8]) = (NO_SUFFIX_RANK, b"");
    loop {
        let na = next_suffix(a);
        let nb = next_suffix(b);
        if na.is_none() && nb.is_none() {
            return Ordering::Equal;
        }
        let (sa, la) = na.unwrap_or((NONE, 0));
        let (sb, lb) = nb.unwrap_or((NONE, 0));
        let order = sa.0.cmp(&sb.0).then_with(|| cmp_digits(sa.1, sb.1));
        if order != Ordering::Equal {
            return order;
        }
        a = skip(a, la);
        b = skip(b, lb);
    }
}
