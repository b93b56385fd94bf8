//! Compiled comparison operators: each check's right-hand side turned once into a form that
//! compares without allocating (hash sets, prefix sets, glob programs, compiled regexes).

use crate::condition::{Literal, Op};
use crate::fields::ValueType;
use memchr::memmem;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

/// A field's value for one event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val<'a> {
    /// The field has no value for this event (unknown process, no container...).
    Missing,
    Str(&'a str),
    Num(i128),
    Bool(bool),
    Ip(IpAddr),
}

/// Falco's numeric comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A compiled right-hand side.
#[derive(Debug)]
pub(crate) enum Matcher {
    Exists,
    StrEq(Box<str>),
    StrNe(Box<str>),
    StrIn(StrSet),
    /// Any of the substrings (one for a plain `contains`).
    Contains(Box<[Needle]>),
    /// Any of several prefixes.
    StartsWithAny(Vec<Box<[u8]>>),
    /// Any of the substrings, ASCII case-insensitively (needles lower-case).
    IContains(Box<[Needle]>),
    StartsWith(Box<[u8]>),
    EndsWith(Box<[u8]>),
    Glob(Glob),
    Regex(regex::Regex),
    PMatch(PathSet),
    Num(NumOp, i128),
    NumIn(Vec<i128>),
    BoolEq(bool),
    IpIn(Vec<IpNet>),
    IpNotIn(Vec<IpNet>),
}

impl Matcher {
    /// Compare a value; a missing value matches nothing but `exists`'s negation.
    #[inline(always)]
    pub(crate) fn matches(&self, value: Val<'_>) -> bool {
        match (self, value) {
            (Matcher::Exists, v) => v != Val::Missing,
            (_, Val::Missing) => false,
            (Matcher::StrEq(expected), Val::Str(s)) => s == &**expected,
            (Matcher::StrNe(expected), Val::Str(s)) => s != &**expected,
            (Matcher::StrIn(set), Val::Str(s)) => set.contains(s),
            (Matcher::Contains(needles), Val::Str(s)) => {
                needles.iter().any(|n| n.find(s.as_bytes()))
            }
            (Matcher::IContains(needles), Val::Str(s)) => {
                needles.iter().any(|n| icontains(s.as_bytes(), &n.bytes))
            }
            (Matcher::StartsWithAny(prefixes), Val::Str(s)) => {
                prefixes.iter().any(|p| s.as_bytes().starts_with(p))
            }
            (Matcher::StartsWith(prefix), Val::Str(s)) => s.as_bytes().starts_with(prefix),
            (Matcher::EndsWith(suffix), Val::Str(s)) => s.as_bytes().ends_with(suffix),
            (Matcher::Glob(glob), Val::Str(s)) => glob.matches(s),
            (Matcher::Regex(regex), Val::Str(s)) => regex.is_match(s),
            (Matcher::PMatch(paths), Val::Str(s)) => paths.matches(s),
            (Matcher::Num(op, expected), Val::Num(n)) => match op {
                NumOp::Eq => n == *expected,
                NumOp::Ne => n != *expected,
                NumOp::Lt => n < *expected,
                NumOp::Le => n <= *expected,
                NumOp::Gt => n > *expected,
                NumOp::Ge => n >= *expected,
            },
            (Matcher::NumIn(values), Val::Num(n)) => values.binary_search(&n).is_ok(),
            (Matcher::BoolEq(expected), Val::Bool(b)) => b == *expected,
            (Matcher::IpIn(nets), Val::Ip(ip)) => nets.iter().any(|net| net.contains(ip)),
            (Matcher::IpNotIn(nets), Val::Ip(ip)) => !nets.iter().any(|net| net.contains(ip)),
            _ => false,
        }
    }

    /// Whether this matcher can use a haystack byte mask.
    pub(crate) fn uses_mask(&self) -> bool {
        matches!(self, Matcher::Contains(_) | Matcher::IContains(_))
    }

    /// [`Matcher::matches`] for a substring matcher, skipping needles the haystack's byte mask
    /// rules out.
    #[inline]
    pub(crate) fn matches_masked(&self, value: Val<'_>, mask: &ByteMask) -> bool {
        let Val::Str(s) = value else { return false };
        let hay = s.as_bytes();
        match self {
            Matcher::Contains(needles) => needles
                .iter()
                .any(|n| may_contain(mask, &n.mask) && n.find(hay)),
            Matcher::IContains(needles) => needles
                .iter()
                .any(|n| may_contain(mask, &n.mask) && icontains(hay, &n.bytes)),
            _ => self.matches(value),
        }
    }

    /// The values of an equality, substring or prefix matcher, tagged by its kind (0 `=`,
    /// 1 `contains`, 2 `icontains`, 3 `startswith`), for merging alternatives.
    pub(crate) fn alternatives(&self) -> Option<(u8, Vec<Vec<u8>>)> {
        Some(match self {
            Matcher::StrEq(value) => (0, vec![value.as_bytes().to_vec()]),
            Matcher::StrIn(set) => (
                0,
                set.values()
                    .into_iter()
                    .map(|v| v.as_bytes().to_vec())
                    .collect(),
            ),
            Matcher::Contains(needles) => (1, needles.iter().map(|n| n.bytes.to_vec()).collect()),
            Matcher::IContains(needles) => (2, needles.iter().map(|n| n.bytes.to_vec()).collect()),
            Matcher::StartsWith(prefix) => (3, vec![prefix.to_vec()]),
            Matcher::StartsWithAny(prefixes) => (3, prefixes.iter().map(|p| p.to_vec()).collect()),
            _ => return None,
        })
    }

    /// One matcher for all `values` of a kind from [`Matcher::alternatives`].
    pub(crate) fn any_of(kind: u8, values: Vec<Vec<u8>>) -> Option<Matcher> {
        match kind {
            0 => Some(Matcher::StrIn(StrSet::new(
                values
                    .into_iter()
                    .map(|v| String::from_utf8(v).ok())
                    .collect::<Option<Vec<_>>>()?,
            ))),
            1 => Some(Matcher::Contains(
                values.iter().map(|v| Needle::new(v, false)).collect(),
            )),
            2 => Some(Matcher::IContains(
                values.iter().map(|v| Needle::new(v, true)).collect(),
            )),
            3 => Some(Matcher::StartsWithAny(
                values.into_iter().map(Vec::into_boxed_slice).collect(),
            )),
            _ => None,
        }
    }

    /// Compile `op rhs` for a field of type `ty`.
    pub(crate) fn compile(ty: ValueType, op: Op, values: &[Literal]) -> Result<Matcher, String> {
        if op == Op::Exists {
            return Ok(Matcher::Exists);
        }
        let single = || -> Result<&str, String> {
            match values {
                [one] => Ok(one.text.as_str()),
                _ => Err(format!("`{}` takes one value", op.as_str())),
            }
        };
        match ty {
            ValueType::Str => compile_str(op, values, single),
            ValueType::U64 | ValueType::I64 => {
                let parse = |text: &str| parse_number(text, ty);
                match op {
                    Op::In | Op::Intersects => {
                        let mut numbers = values
                            .iter()
                            .map(|v| parse(&v.text))
                            .collect::<Result<Vec<_>, _>>()?;
                        numbers.sort_unstable();
                        numbers.dedup();
                        Ok(Matcher::NumIn(numbers))
                    }
                    Op::Eq => Ok(Matcher::Num(NumOp::Eq, parse(single()?)?)),
                    Op::Ne => Ok(Matcher::Num(NumOp::Ne, parse(single()?)?)),
                    Op::Lt => Ok(Matcher::Num(NumOp::Lt, parse(single()?)?)),
                    Op::Le => Ok(Matcher::Num(NumOp::Le, parse(single()?)?)),
                    Op::Gt => Ok(Matcher::Num(NumOp::Gt, parse(single()?)?)),
                    Op::Ge => Ok(Matcher::Num(NumOp::Ge, parse(single()?)?)),
                    _ => Err(format!(
                        "operator `{}` does not apply to numbers",
                        op.as_str()
                    )),
                }
            }
            ValueType::Bool => {
                let parse = |text: &str| match text.to_ascii_lowercase().as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(format!("`{text}` is not true or false")),
                };
                match op {
                    Op::Eq => Ok(Matcher::BoolEq(parse(single()?)?)),
                    Op::Ne => Ok(Matcher::BoolEq(!parse(single()?)?)),
                    Op::In | Op::Intersects => {
                        let wanted = values
                            .iter()
                            .map(|v| parse(&v.text))
                            .collect::<Result<Vec<_>, _>>()?;
                        match (wanted.contains(&true), wanted.contains(&false)) {
                            (true, true) => Ok(Matcher::Exists),
                            (true, false) => Ok(Matcher::BoolEq(true)),
                            (false, true) => Ok(Matcher::BoolEq(false)),
                            (false, false) => Ok(Matcher::StrIn(StrSet::new(Vec::new()))),
                        }
                    }
                    _ => Err(format!(
                        "operator `{}` does not apply to booleans",
                        op.as_str()
                    )),
                }
            }
            ValueType::Ip => {
                let nets = || {
                    values
                        .iter()
                        .map(|v| IpNet::parse(&v.text))
                        .collect::<Result<Vec<_>, _>>()
                };
                match op {
                    Op::Eq | Op::In | Op::Intersects => Ok(Matcher::IpIn(nets()?)),
                    Op::Ne => Ok(Matcher::IpNotIn(nets()?)),
                    _ => Err(format!(
                        "operator `{}` does not apply to addresses",
                        op.as_str()
                    )),
                }
            }
        }
    }
}

fn compile_str<'v>(
    op: Op,
    values: &'v [Literal],
    single: impl Fn() -> Result<&'v str, String>,
) -> Result<Matcher, String> {
    Ok(match op {
        Op::Eq => Matcher::StrEq(single()?.into()),
        Op::Ne => Matcher::StrNe(single()?.into()),
        Op::In | Op::Intersects => {
            Matcher::StrIn(StrSet::new(values.iter().map(|v| v.text.clone()).collect()))
        }
        Op::Contains => Matcher::Contains(Box::new([Needle::new(single()?.as_bytes(), false)])),
        Op::BContains => Matcher::Contains(Box::new([Needle::new(&decode_hex(single()?)?, false)])),
        Op::IContains => Matcher::IContains(Box::new([Needle::new(single()?.as_bytes(), true)])),
        Op::StartsWith => Matcher::StartsWith(single()?.as_bytes().into()),
        Op::BStartsWith => Matcher::StartsWith(decode_hex(single()?)?.into()),
        Op::EndsWith => Matcher::EndsWith(single()?.as_bytes().into()),
        Op::Glob => Matcher::Glob(Glob::new(single()?, false)),
        Op::IGlob => Matcher::Glob(Glob::new(single()?, true)),
        Op::Regex => {
            let pattern = single()?;
            let regex = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
                .size_limit(1 << 20)
                .build()
                .map_err(|err| format!("invalid regex `{pattern}`: {err}"))?;
            Matcher::Regex(regex)
        }
        Op::PMatch => Matcher::PMatch(PathSet::new(values.iter().map(|v| v.text.as_str()))),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            return Err(format!(
                "operator `{}` does not apply to strings",
                op.as_str()
            ));
        }
        Op::Exists => Matcher::Exists,
    })
}

fn parse_number(text: &str, ty: ValueType) -> Result<i128, String> {
    let trimmed = text.trim();
    let parsed = if let Some(hex) = trimmed.strip_prefix("0x") {
        i128::from_str_radix(hex, 16)
    } else {
        trimmed.parse::<i128>()
    };
    let n = parsed.map_err(|_| format!("`{text}` is not a number"))?;
    let fits = match ty {
        ValueType::U64 => (0..=i128::from(u64::MAX)).contains(&n),
        _ => (i128::from(i64::MIN)..=i128::from(i64::MAX)).contains(&n),
    };
    if !fits {
        return Err(format!("`{text}` is out of range for this field"));
    }
    Ok(n)
}

fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(format!("`{text}` is not an even number of hex digits"));
    }
    bytes
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("`{text}` is not hex"))
        })
        .collect()
}

/// A substring to search for, with its byte mask.
#[derive(Debug)]
pub(crate) struct Needle {
    /// The bytes (lower-case for case-insensitive search).
    pub bytes: Box<[u8]>,
    finder: memmem::Finder<'static>,
    pub mask: ByteMask,
}

impl Needle {
    fn new(bytes: &[u8], lower: bool) -> Needle {
        let bytes: Box<[u8]> = if lower {
            bytes.to_ascii_lowercase().into()
        } else {
            bytes.into()
        };
        Needle {
            finder: memmem::Finder::new(&bytes).into_owned(),
            mask: byte_mask(&bytes),
            bytes,
        }
    }

    #[inline]
    fn find(&self, haystack: &[u8]) -> bool {
        self.finder.find(haystack).is_some()
    }
}

/// The set of bytes in `bytes`, ASCII letters folded to lower case: a needle whose (folded)
/// bytes are not all in a haystack's mask cannot occur in it.
pub(crate) type ByteMask = [u64; 4];

pub(crate) fn byte_mask(bytes: &[u8]) -> ByteMask {
    let mut mask = [0u64; 4];
    for &b in bytes {
        let b = b.to_ascii_lowercase();
        if let Some(word) = mask.get_mut(usize::from(b >> 6)) {
            *word |= 1 << (b & 63);
        }
    }
    mask
}

#[inline]
fn may_contain(haystack: &ByteMask, needle: &ByteMask) -> bool {
    haystack.iter().zip(needle).all(|(h, n)| n & !h == 0)
}

/// ASCII case-insensitive substring search; `needle` is lower-case.
fn icontains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    if haystack.len() < needle.len() {
        return false;
    }
    let upper = first.to_ascii_uppercase();
    let last_start = haystack.len() - needle.len();
    let mut start = 0;
    while start <= last_start {
        let window = haystack.get(start..=last_start).unwrap_or_default();
        let Some(offset) = memchr::memchr2(first, upper, window) else {
            return false;
        };
        let at = start + offset;
        let candidate = haystack.get(at + 1..at + needle.len()).unwrap_or_default();
        if candidate.eq_ignore_ascii_case(rest) {
            return true;
        }
        start = at + 1;
    }
    false
}

/// A fast, non-cryptographic hasher for short strings (rule value sets are not attacker-chosen
/// keys, and the event strings only probe them).
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        if let Some(slot) = tail.get_mut(..rest.len()) {
            slot.copy_from_slice(rest);
        }
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(tail) ^ bytes.len() as u64)
            .wrapping_mul(SEED);
        self.0 = hash;
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(SEED);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FastBuild = BuildHasherDefault<FastHasher>;

/// A set of strings: a short vector when small, a hash set when not; a length and first-byte
/// filter answers most misses without hashing.
#[derive(Debug)]
pub(crate) struct StrSet {
    lengths: u64,
    first_bytes: [u64; 4],
    has_empty_or_long: bool,
    values: StrValues,
}

#[derive(Debug)]
enum StrValues {
    Small(Vec<Box<str>>),
    Hashed(HashSet<Box<str>, FastBuild>),
}

impl StrSet {
    pub(crate) fn new(mut values: Vec<String>) -> StrSet {
        values.sort();
        values.dedup();
        let mut lengths = 0u64;
        let mut first_bytes = [0u64; 4];
        let mut has_empty_or_long = false;
        for value in &values {
            match value.as_bytes().first() {
                Some(&b) if value.len() < 64 => {
                    lengths |= 1 << value.len();
                    if let Some(word) = first_bytes.get_mut(usize::from(b / 64)) {
                        *word |= 1 << (b % 64);
                    }
                }
                _ => has_empty_or_long = true,
            }
        }
        let values = if values.len() <= 6 {
            StrValues::Small(values.into_iter().map(String::into_boxed_str).collect())
        } else {
            StrValues::Hashed(values.into_iter().map(String::into_boxed_str).collect())
        };
        StrSet {
            lengths,
            first_bytes,
            has_empty_or_long,
            values,
        }
    }

    /// The values.
    pub(crate) fn values(&self) -> Vec<&str> {
        match &self.values {
            StrValues::Small(values) => values.iter().map(|v| &**v).collect(),
            StrValues::Hashed(set) => set.iter().map(|v| &**v).collect(),
        }
    }

    #[inline]
    pub(crate) fn contains(&self, value: &str) -> bool {
        if !self.has_empty_or_long {
            let Some(&b) = value.as_bytes().first() else {
                return false;
            };
            if value.len() >= 64
                || self.lengths & (1 << value.len()) == 0
                || self
                    .first_bytes
                    .get(usize::from(b / 64))
                    .is_none_or(|w| w & (1 << (b % 64)) == 0)
            {
                return false;
            }
        }
        match &self.values {
            StrValues::Small(values) => values.iter().any(|v| &**v == value),
            StrValues::Hashed(set) => set.contains(value),
        }
    }
}

/// `pmatch`: the value equals one of the paths or lies below one.
#[derive(Debug)]
pub(crate) struct PathSet {
    paths: HashSet<Box<str>, FastBuild>,
    /// Bit `n` set when a path of `n` bytes is in the set (bit 63: one of 63 bytes or more),
    /// so most prefixes of a value are ruled out without hashing.
    lengths: u64,
    root: bool,
}

impl PathSet {
    fn new<'a>(paths: impl Iterator<Item = &'a str>) -> PathSet {
        let mut set = PathSet {
            paths: HashSet::default(),
            lengths: 0,
            root: false,
        };
        for path in paths {
            let trimmed = path.trim_end_matches('/');
            if trimmed.is_empty() {
                set.root = true;
            } else {
                set.lengths |= length_bit(trimmed.len());
                set.paths.insert(trimmed.into());
            }
        }
        set
    }

    /// Whether `prefix` is one of the paths.
    #[inline]
    fn has(&self, prefix: &str) -> bool {
        self.lengths & length_bit(prefix.len()) != 0 && self.paths.contains(prefix)
    }

    fn matches(&self, value: &str) -> bool {
        if self.root && value.starts_with('/') {
            return true;
        }
        if self.has(value.trim_end_matches('/')) {
            return true;
        }
        memchr::memchr_iter(b'/', value.as_bytes())
            .any(|at| at > 0 && self.has(value.get(..at).unwrap_or_default()))
    }
}

/// The bit of [`PathSet::lengths`] for a path of `len` bytes.
#[inline]
fn length_bit(len: usize) -> u64 {
    1u64 << len.min(63)
}

/// A network (an address is a network of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub(crate) fn parse(text: &str) -> Result<IpNet, String> {
        let bad = || format!("`{text}` is not an IP address or network");
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad)?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A compiled glob (`*`, `?`, `[...]`, `\` escapes), as `fnmatch` without flags: `*` also
/// matches `/`.
#[derive(Debug)]
pub(crate) struct Glob {
    tokens: Vec<GlobToken>,
    case_insensitive: bool,
}

#[derive(Debug)]
enum GlobToken {
    Char(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    pub(crate) fn new(pattern: &str, case_insensitive: bool) -> Glob {
        let fold = |c: char| {
            if case_insensitive {
                c.to_ascii_lowercase()
            } else {
                c
            }
        };
        let mut tokens = Vec::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            i += 1;
            match c {
                '*' => {
                    if !matches!(tokens.last(), Some(GlobToken::Star)) {
                        tokens.push(GlobToken::Star);
                    }
                }
                '?' => tokens.push(GlobToken::Any),
                '\\' => match chars.get(i) {
                    Some(&escaped) => {
                        tokens.push(GlobToken::Char(fold(escaped)));
                        i += 1;
                    }
                    None => tokens.push(GlobToken::Char('\\')),
                },
                '[' => match parse_class(&chars, i, fold) {
                    Some((token, next)) => {
                        tokens.push(token);
                        i = next;
                    }
                    None => tokens.push(GlobToken::Char('[')),
                },
                other => tokens.push(GlobToken::Char(fold(other))),
            }
        }
        Glob {
            tokens,
            case_insensitive,
        }
    }

    fn token_matches(&self, token: &GlobToken, c: char) -> bool {
        let c = if self.case_insensitive {
            c.to_ascii_lowercase()
        } else {
            c
        };
        match token {
            GlobToken::Char(expected) => c == *expected,
            GlobToken::Any => true,
            GlobToken::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
            GlobToken::Star => false,
        }
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        // Iterative matching with one backtrack point for the last star: linear-ish, no recursion.
        let mut t = 0; // byte index in text
        let mut p = 0; // token index
        let mut star: Option<(usize, usize)> = None;
        loop {
            match self.tokens.get(p) {
                Some(GlobToken::Star) => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                Some(token) => {
                    if let Some(c) = text.get(t..).and_then(|rest| rest.chars().next())
                        && self.token_matches(token, c)
                    {
                        p += 1;
                        t += c.len_utf8();
                        continue;
                    }
                }
                None if t == text.len() => return true,
                None => {}
            }
            match star {
                Some((star_p, star_t)) => {
                    let Some(c) = text.get(star_t..).and_then(|rest| rest.chars().next()) else {
                        return false;
                    };
                    let next_t = star_t + c.len_utf8();
                    star = Some((star_p, next_t));
                    p = star_p + 1;
                    t = next_t;
                }
                None => return false,
            }
        }
    }
}

fn parse_class(
    chars: &[char],
    start: usize,
    fold: impl Fn(char) -> char,
) -> Option<(GlobToken, usize)> {
    let mut i = start;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(i)?;
        if c == ']' && !first {
            return Some((GlobToken::Class { negated, ranges }, i + 1));
        }
        first = false;
        i += 1;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
            let hi = *chars.get(i + 1)?;
            ranges.push((fold(c), fold(hi)));
            i += 2;
        } else {
            ranges.push((fold(c), fold(c)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let check = |pattern: &str, text: &str, expected: bool| {
            assert_eq!(
                Glob::new(pattern, false).matches(text),
                expected,
                "{pattern} ~ {text}"
            );
        };
        check("/home/*/.ssh/*", "/home/bob/.ssh/id_rsa", true);
        check("/home/*/.ssh/*", "/root/.ssh/id_rsa", false);
        check("*../*../*", "/var/www/../../etc/passwd", true);
        check("*../*../*", "/var/www/../etc", false);
        check("a?c", "abc", true);
        check("a?c", "ac", false);
        check("[a-c]x", "bx", true);
        check("[!a-c]x", "bx", false);
        check("*.php", "x/é.php", true);
        check("\\*", "*", true);
        check("", "", true);
        check("*", "", true);
        assert!(Glob::new("*.PHP", true).matches("a.php"));
    }

    #[test]
    fn icontains_ignores_ascii_case() {
        assert!(icontains(
            b"xx AWS_Secret_Access_Key yy",
            b"aws_secret_access_key"
        ));
        assert!(!icontains(b"aws", b"aws_secret"));
        assert!(icontains(b"abc", b""));
    }

    #[test]
    fn networks() {
        let net = |text: &str| {
            IpNet::parse(text).unwrap_or(IpNet {
                addr: IpAddr::from([255, 255, 255, 255]),
                prefix: 0,
            })
        };
        assert!(
            net("10.0.0.0/8").contains("10.1.2.3".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])))
        );
        assert!(
            !net("10.0.0.0/8").contains("11.1.2.3".parse().unwrap_or(IpAddr::from([10, 0, 0, 0])))
        );
        assert!(
            net("127.0.0.0/8").contains(
                "::ffff:127.0.0.1"
                    .parse()
                    .unwrap_or(IpAddr::from([0, 0, 0, 0]))
            )
        );
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert!(IpNet::parse("nope").is_err());
    }

    #[test]
    fn path_prefixes() {
        let set = PathSet::new(["/etc", "/usr/bin/"].into_iter());
        assert!(set.matches("/etc"));
        assert!(set.matches("/etc/shadow"));
        assert!(set.matches("/usr/bin/ls"));
        assert!(!set.matches("/etcetera"));
        assert!(!set.matches("/usr/sbin/x"));
        let long = format!("/{}", "d".repeat(70));
        let set = PathSet::new([long.as_str(), "/"].into_iter().take(1));
        assert!(set.matches(&format!("{long}/x")));
        assert!(!set.matches(&format!("{long}x/x")));
        assert!(PathSet::new(["/"].into_iter()).matches("/anything"));
    }
}
