//! Maven ordering, per Maven's version-order specification (`ComparableVersion`).
//!
//! The version splits into tokens at `.`, `-` and digit/letter transitions (a transition
//! counts as `-`); each token keeps its prefix. Empty tokens are `0`. Aliases: `a`, `b`, `m`
//! directly followed by a digit are `alpha`, `beta`, `milestone`; `cr` is `rc`; `ga`,
//! `final` and `release` are the empty qualifier. Null tokens (`0`, the empty qualifier)
//! are trimmed from the end and before every `-`. Tokens then compare pairwise, the shorter
//! version padded with nulls: same prefix: numbers numerically, a number above a qualifier,
//! qualifiers `alpha < beta < milestone < rc < snapshot < "" < sp < (others, alphabetical)`;
//! different prefixes: `.qualifier < -qualifier < -number < .number`.

use super::digits::{cmp_digits, is_zero};
use std::cmp::Ordering;

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    let mut buf_a = Vec::new();
    let mut buf_b = Vec::new();
    let a = tokenize(a.as_bytes(), &mut buf_a);
    let b = tokenize(b.as_bytes(), &mut buf_b);
    for i in 0..a.len().max(b.len()) {
        let order = match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(x), None) => x.cmp(&x.padding()),
            (None, Some(y)) => y.padding().cmp(y),
            (None, None) => Ordering::Equal,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Dot,
    Dash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value<'a> {
    Number(&'a [u8]),
    /// A lower-cased qualifier (a slice of the lower-cased copy, or an alias).
    Qualifier(&'a [u8]),
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    prefix: Prefix,
    value: Value<'a>,
}

impl Token<'_> {
    fn is_null(&self) -> bool {
        match self.value {
            Value::Number(n) => is_zero(n),
            Value::Qualifier(q) => q.is_empty(),
        }
    }

    /// The null token that stands in for a missing one opposite `self`.
    fn padding(&self) -> Token<'static> {
        Token {
            prefix: self.prefix,
            value: match self.value {
                Value::Number(_) => Value::Number(b"0"),
                Value::Qualifier(_) => Value::Qualifier(b""),
            },
        }
    }

    /// `.qualifier < -qualifier < -number < .number`.
    fn kind_rank(&self) -> u8 {
        match (self.prefix, self.value) {
            (Prefix::Dot, Value::Qualifier(_)) => 1,
            (Prefix::Dash, Value::Qualifier(_)) => 2,
            (Prefix::Dash, Value::Number(_)) => 3,
            (Prefix::Dot, Value::Number(_)) => 4,
        }
    }

    fn cmp(&self, other: &Token<'_>) -> Ordering {
        if self.prefix != other.prefix {
            return self.kind_rank().cmp(&other.kind_rank());
        }
        match (self.value, other.value) {
            (Value::Number(x), Value::Number(y)) => cmp_digits(x, y),
            (Value::Number(_), Value::Qualifier(_)) => Ordering::Greater,
            (Value::Qualifier(_), Value::Number(_)) => Ordering::Less,
            (Value::Qualifier(x), Value::Qualifier(y)) => {
                match (qualifier_rank(x), qualifier_rank(y)) {
                    (Some(rx), Some(ry)) => rx.cmp(&ry),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => x.cmp(y),
                }
            }
        }
    }
}

fn qualifier_rank(q: &[u8]) -> Option<u8> {
    Some(match q {
        b"alpha" => 0,
        b"beta" => 1,
        b"milestone" => 2,
        b"rc" => 3,
        b"snapshot" => 4,
        b"" => 5,
        b"sp" => 6,
        _ => return None,
    })
}

fn alias(q: &[u8], followed_by_digit: bool) -> &[u8] {
    match q {
        b"a" if followed_by_digit => b"alpha",
        b"b" if followed_by_digit => b"beta",
        b"m" if followed_by_digit => b"milestone",
        b"cr" => b"rc",
        b"ga" | b"final" | b"release" => b"",
        _ => q,
    }
}

/// Splits `version` into normalised tokens. `lowered` holds the lower-cased copy the
/// qualifier tokens borrow from.
fn tokenize<'a>(version: &[u8], lowered: &'a mut Vec<u8>) -> Vec<Token<'a>> {
    lowered.clear();
    lowered.extend(version.iter().map(u8::to_ascii_lowercase));
    let s: &'a [u8] = lowered;
    let mut tokens = Vec::new();
    let mut prefix = Prefix::Dot;
    let mut start = 0;
    let push = |tokens: &mut Vec<Token<'a>>, prefix, start: usize, end: usize| {
        let text = s.get(start..end).unwrap_or_default();
        let followed_by_digit = s.get(end).is_some_and(u8::is_ascii_digit);
        let value = if text.is_empty() {
            Value::Number(b"0")
        } else if text.first().is_some_and(u8::is_ascii_digit) {
            Value::Number(text)
        } else {
            Value::Qualifier(alias(text, followed_by_digit))
        };
        tokens.push(Token { prefix, value });
    };
    let mut i = 0;
    while i < s.len() {
        let c = s.get(i).copied().unwrap_or_default();
        if c == b'.' || c == b'-' {
            push(&mut tokens, prefix, start, i);
            prefix = if c == b'.' { Prefix::Dot } else { Prefix::Dash };
            start = i + 1;
        } else if i > start {
            let previous_digit = s.get(i - 1).is_some_and(u8::is_ascii_digit);
            if previous_digit != c.is_ascii_digit() {
                push(&mut tokens, prefix, start, i);
                prefix = Prefix::Dash;
                start = i;
            }
        }
        i += 1;
    }
    push(&mut tokens, prefix, start, s.len());
    normalize(&mut tokens);
    tokens
}

/// Trims null tokens from the end, then before each `-` token, from the end to the start
/// (one backward pass: after a kept `-` token, the nulls right before it go too).
fn normalize(tokens: &mut Vec<Token<'_>>) {
    let mut trimming = true;
    let mut kept = 0;
    for i in (0..tokens.len()).rev() {
        let Some(token) = tokens.get(i).copied() else {
            continue;
        };
        if trimming && token.is_null() {
            continue;
        }
        trimming = token.prefix == Prefix::Dash;
        // Compact kept tokens towards the end, preserving their order.
        let slot = tokens.len() - 1 - kept;
        if let Some(target) = tokens.get_mut(slot) {
            *target = token;
        }
        kept += 1;
    }
    let removed = tokens.len() - kept;
    tokens.drain(..removed);
}
