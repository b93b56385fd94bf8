//! RubyGems ordering, as `Gem::Version#<=>`: segments are digit runs (integers) and letter
//! runs (strings, below any integer); `-` reads as `.pre.`; trailing zeros of the leading
//! numeric part are dropped (`1.0.a` = `1.a`) and missing segments count as zero.

use super::digits::{cmp_digits, is_zero, skip, take_while};
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let mut ia = Canonical::new(a.as_bytes());
    let mut ib = Canonical::new(b.as_bytes());
    loop {
        let (x, y) = match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => (x.unwrap_or(Segment::ZERO), y.unwrap_or(Segment::ZERO)),
        };
        let order = match (x, y) {
            (Segment::Number(x), Segment::Number(y)) => cmp_digits(x, y),
            (Segment::Text(_), Segment::Number(_)) => Ordering::Less,
            (Segment::Number(_), Segment::Text(_)) => Ordering::Greater,
            (Segment::Text(x), Segment::Text(y)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
}

#[derive(Clone, Copy)]
enum Segment<'a> {
    Number(&'a [u8]),
    Text(&'a [u8]),
}

impl Segment<'_> {
    const ZERO: Segment<'static> = Segment::Number(b"0");

    fn is_zero_number(self) -> bool {
        matches!(self, Segment::Number(n) if is_zero(n))
    }
}

/// The raw segments of a gem version, as `version.gsub("-", ".pre.").scan(/[0-9]+|[a-z]+/i)`.
#[derive(Clone)]
struct Segments<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        loop {
            let &c = self.rest.first()?;
            if c == b'-' {
                self.rest = skip(self.rest, 1);
                return Some(Segment::Text(b"pre"));
            }
            if c.is_ascii_digit() {
                let (run, rest) = take_while(self.rest, |c| c.is_ascii_digit());
                self.rest = rest;
                return Some(Segment::Number(run));
            }
            if c.is_ascii_alphabetic() {
                let (run, rest) = take_while(self.rest, |c| c.is_ascii_alphabetic());
                self.rest = rest;
                return Some(Segment::Text(run));
            }
            self.rest = skip(self.rest, 1);
        }
    }
}

/// `Gem::Version#canonical_segments`: the segments with the zeros that end the leading
/// numeric part removed (zeros ending the whole version do not matter: missing is zero).
struct Canonical<'a> {
    segments: Segments<'a>,
    in_numeric_prefix: bool,
    /// Zeros are known to be followed by a non-zero number while more than this many bytes
    /// remain (keeps long runs of zeros linear instead of re-scanning ahead for each).
    zeros_kept_above: usize,
}

impl<'a> Canonical<'a> {
    fn new(version: &'a [u8]) -> Canonical<'a> {
        Canonical {
            segments: Segments { rest: version },
            in_numeric_prefix: true,
            zeros_kept_above: usize::MAX,
        }
    }
}

impl<'a> Iterator for Canonical<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        let segment = self.segments.next()?;
        if !self.in_numeric_prefix {
            return Some(segment);
        }
        if let Segment::Text(_) = segment {
            self.in_numeric_prefix = false;
            return Some(segment);
        }
        let kept =
            self.zeros_kept_above != usize::MAX && self.segments.rest.len() > self.zeros_kept_above;
        if segment.is_zero_number() && !kept {
            // Look ahead: if only zeros remain before the first string (or the end), drop them.
            let mut ahead = self.segments.clone();
            loop {
                match ahead.next() {
                    Some(s) if s.is_zero_number() => continue,
                    Some(Segment::Number(_)) => {
                        self.zeros_kept_above = ahead.rest.len();
                        return Some(segment);
                    }
                    Some(text @ Segment::Text(_)) => {
                        self.segments = ahead;
                        self.in_numeric_prefix = false;
                        return Some(text);
                    }
                    None => {
                        self.segments = ahead;
                        return None;
                    }
                }
            }
        }
        Some(segment)
    }
}
