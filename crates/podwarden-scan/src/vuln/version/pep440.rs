//! PyPI ordering: PEP 440 (epoch, release, pre, post, dev, local; case-insensitive with the
//! spelling variants PEP 440 normalises), and the legacy `setuptools` ordering of
//! `packaging.version.LegacyVersion` for strings that are not PEP 440, which sort before
//! every PEP 440 version.

use super::digits::{cmp_digits, is_zero, skip, skip1, take_digits};
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    match (Pep440::parse(a.as_bytes()), Pep440::parse(b.as_bytes())) {
        (Some(x), Some(y)) => x.cmp(&y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => legacy_key(a).cmp(&legacy_key(b)),
    }
}

/// Pre-release phases in PEP 440 order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Alpha,
    Beta,
    Candidate,
}

struct Pep440<'a> {
    epoch: &'a [u8],
    /// Dot-separated digit runs.
    release: &'a [u8],
    pre: Option<(Phase, &'a [u8])>,
    post: Option<&'a [u8]>,
    dev: Option<&'a [u8]>,
    /// Local segments, separated by any of `-_.`.
    local: Option<&'a [u8]>,
}

fn is_separator(c: u8) -> bool {
    matches!(c, b'-' | b'_' | b'.')
}

/// A cursor over the version with the helpers the PEP 440 grammar needs.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn eat(&mut self, c: u8) -> bool {
        if self.rest.first() == Some(&c) {
            self.rest = skip1(self.rest);
            true
        } else {
            false
        }
    }

    fn digits(&mut self) -> &'a [u8] {
        let (digits, rest) = take_digits(self.rest);
        self.rest = rest;
        digits
    }

    /// Eats the first of `labels` (longest listed first) the input starts with, any case.
    fn label<T: Copy>(&mut self, labels: &[(&[u8], T)]) -> Option<T> {
        let &(text, value) = labels
            .iter()
            .find(|(text, _)| super::digits::starts_with_ignore_case(self.rest, text))?;
        self.rest = skip(self.rest, text.len());
        Some(value)
    }

    /// `[-_.]?[0-9]*` after a label, as the reference regex reads it: a separator is taken
    /// with the digits after it, or alone when only `+local` or the end follow.
    fn label_number(&mut self) -> &'a [u8] {
        let digits = self.digits();
        if !digits.is_empty() {
            return digits;
        }
        if self.rest.first().copied().is_some_and(is_separator) {
            let after = skip1(self.rest);
            let (digits, tail) = take_digits(after);
            if !digits.is_empty() {
                self.rest = tail;
                return digits;
            }
            if after.is_empty() || after.first() == Some(&b'+') {
                self.rest = after;
            }
        }
        b"0"
    }

    /// An optional separator followed by one of `labels`; restores the cursor on failure.
    fn separated_label<T: Copy>(&mut self, labels: &[(&[u8], T)]) -> Option<T> {
        let saved = self.rest;
        if self.rest.first().copied().is_some_and(is_separator) {
            self.rest = skip1(self.rest);
        }
        let found = self.label(labels);
        if found.is_none() {
            self.rest = saved;
        }
        found
    }
}

impl<'a> Pep440<'a> {
    fn parse(version: &'a [u8]) -> Option<Pep440<'a>> {
        let mut c = Cursor { rest: version };
        if !c.eat(b'v') {
            c.eat(b'V');
        }

        let saved = c.rest;
        let epoch_digits = c.digits();
        let epoch: &[u8] = if !epoch_digits.is_empty() && c.eat(b'!') {
            epoch_digits
        } else {
            c.rest = saved;
            b"0"
        };

        let release_start = c.rest;
        if c.digits().is_empty() {
            return None;
        }
        loop {
            let saved = c.rest;
            if c.eat(b'.') && !c.digits().is_empty() {
                continue;
            }
            c.rest = saved;
            break;
        }
        let release = release_start.split_at(release_start.len() - c.rest.len()).0;

        const PRE: [(&[u8], Phase); 8] = [
            (b"alpha", Phase::Alpha),
            (b"a", Phase::Alpha),
            (b"beta", Phase::Beta),
            (b"b", Phase::Beta),
            (b"preview", Phase::Candidate),
            (b"pre", Phase::Candidate),
            (b"rc", Phase::Candidate),
            (b"c", Phase::Candidate),
        ];
        let pre = c
            .separated_label(&PRE)
            .map(|phase| (phase, c.label_number()));

        let saved = c.rest;
        let post = if c.eat(b'-') && !c.digits().is_empty() {
            Some(saved.get(1..saved.len() - c.rest.len()).unwrap_or_default())
        } else {
            c.rest = saved;
            const POST: [(&[u8], ()); 3] = [(b"post", ()), (b"rev", ()), (b"r", ())];
            c.separated_label(&POST).map(|()| c.label_number())
        };

        const DEV: [(&[u8], ()); 1] = [(b"dev", ())];
        let dev = c.separated_label(&DEV).map(|()| c.label_number());

        let local = if c.eat(b'+') {
            let local = c.rest;
            let well_formed = !local.is_empty()
                && local.split(|&ch| is_separator(ch)).all(|segment| {
                    !segment.is_empty() && segment.iter().all(u8::is_ascii_alphanumeric)
                });
            if !well_formed {
                return None;
            }
            c.rest = b"";
            Some(local)
        } else {
            None
        };

        if !c.rest.is_empty() {
            return None;
        }
        Some(Pep440 {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    fn cmp(&self, other: &Pep440<'_>) -> Ordering {
        cmp_digits(self.epoch, other.epoch)
            .then_with(|| cmp_release(self.release, other.release))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| cmp_optional(self.post, other.post, Ordering::Less))
            .then_with(|| cmp_optional(self.dev, other.dev, Ordering::Greater))
            .then_with(|| match (self.local, other.local) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => cmp_local(x, y),
            })
    }

    /// `packaging`'s pre-release key: a dev-only release sorts before every pre-release, a
    /// release without pre-release after all of them.
    fn pre_key(&self) -> PreKey<'a> {
        match self.pre {
            Some((phase, n)) => PreKey::Pre(phase, Number(n)),
            None if self.post.is_none() && self.dev.is_some() => PreKey::BeforeAll,
            None => PreKey::AfterAll,
        }
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PreKey<'a> {
    BeforeAll,
    Pre(Phase, Number<'a>),
    AfterAll,
}

/// A digit run ordered as an integer.
#[derive(PartialEq, Eq)]
struct Number<'a>(&'a [u8]);

impl Ord for Number<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(self.0, other.0)
    }
}

impl PartialOrd for Number<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares optional numbers; `missing` is how an absent one orders against a present one.
fn cmp_optional(a: Option<&[u8]>, b: Option<&[u8]>, missing: Ordering) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => missing,
        (Some(_), None) => missing.reverse(),
        (Some(x), Some(y)) => cmp_digits(x, y),
    }
}

/// Release segments compare as integers with missing (trailing) segments as zero.
fn cmp_release(a: &[u8], b: &[u8]) -> Ordering {
    let mut ia = a.split(|&c| c == b'.');
    let mut ib = b.split(|&c| c == b'.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let (x, y) = (x.unwrap_or(b"0"), y.unwrap_or(b"0"));
                if is_zero(x) && is_zero(y) {
                    continue;
                }
                let order = cmp_digits(x, y);
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// Local segments: numeric ones as integers and above alphanumeric ones, which compare
/// case-insensitively; a shorter list that is a prefix of the other first.
fn cmp_local(a: &[u8], b: &[u8]) -> Ordering {
    let mut ia = a.split(|&c| is_separator(c));
    let mut ib = b.split(|&c| is_separator(c));
    loop {
        let (x, y) = match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => (x, y),
        };
        let numeric = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        let order = match (numeric(x), numeric(y)) {
            (true, true) => cmp_digits(x, y),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x
                .iter()
                .map(u8::to_ascii_lowercase)
                .cmp(y.iter().map(u8::to_ascii_lowercase)),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
}

/// `packaging.version.LegacyVersion`'s key (epoch -1, then these parts), built only for
/// strings that are not PEP 440. Its size is bounded by the input's.
fn legacy_key(version: &str) -> Vec<String> {
    let lowered = version.to_lowercase();
    let mut parts: Vec<String> = Vec::new();
    for part in legacy_parts(&lowered).chain(std::iter::once("*final".to_string())) {
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts
}

/// `_parse_version_parts`: splits on `\d+|[a-z]+|\.|-` keeping the separators and the text
/// between matches, maps the pre-release spellings, pads numbers to eight digits and marks
/// everything else with `*`.
fn legacy_parts(s: &str) -> impl Iterator<Item = String> + '_ {
    let mut rest = s;
    std::iter::from_fn(move || {
        loop {
            let first = rest.chars().next()?;
            let len = if first.is_ascii_digit() {
                rest.find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len())
            } else if first.is_ascii_lowercase() {
                rest.find(|c: char| !c.is_ascii_lowercase())
                    .unwrap_or(rest.len())
            } else if first == '.' || first == '-' {
                1
            } else {
                rest.find(|c: char| {
                    c.is_ascii_digit() || c.is_ascii_lowercase() || c == '.' || c == '-'
                })
                .unwrap_or(rest.len())
            };
            let (part, after) = rest.split_at(len);
            rest = after;
            let part = match part {
                "pre" | "preview" | "rc" => "c",
                "-" => "final-",
                "dev" => "@",
                other => other,
            };
            if part.is_empty() || part == "." {
                continue;
            }
            return Some(if part.starts_with(|c: char| c.is_ascii_digit()) {
                format!("{part:0>8}")
            } else {
                format!("*{part}")
            });
        }
    })
}
