//! Byte-scanning helpers shared by the comparators: unbounded digit-run ordering and splitting.

use std::cmp::Ordering;

/// Orders two runs of ASCII digits as unbounded non-negative integers (leading zeros ignored,
/// an empty run is zero), without parsing them into a fixed-width integer.
pub(super) fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = trim_leading_zeros(a);
    let b = trim_leading_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The run without its leading `0`s.
pub(super) fn trim_leading_zeros(run: &[u8]) -> &[u8] {
    take_while(run, |c| c == b'0').1
}

/// Whether a digit run is zero (an empty run counts as zero).
pub(super) fn is_zero(run: &[u8]) -> bool {
    run.iter().all(|&c| c == b'0')
}

/// Whether `s` is a non-empty run of ASCII digits.
pub(super) fn is_number(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

/// Splits `s` after its longest prefix whose bytes all satisfy `pred`.
pub(super) fn take_while(s: &[u8], pred: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let n = s.iter().position(|&c| !pred(c)).unwrap_or(s.len());
    s.split_at(n)
}

/// Splits `s` into its leading ASCII digits and the rest.
pub(super) fn take_digits(s: &[u8]) -> (&[u8], &[u8]) {
    take_while(s, |c| c.is_ascii_digit())
}

/// `s` without its first byte (empty stays empty).
pub(super) fn skip1(s: &[u8]) -> &[u8] {
    s.get(1..).unwrap_or_default()
}

/// `s` without its first `n` bytes (shorter stays empty).
pub(super) fn skip(s: &[u8], n: usize) -> &[u8] {
    s.get(n..).unwrap_or_default()
}

/// ASCII case-insensitive byte order (both sides upper-cased, as .NET's OrdinalIgnoreCase).
pub(super) fn cmp_ignore_ascii_case(a: &[u8], b: &[u8]) -> Ordering {
    a.iter()
        .map(u8::to_ascii_uppercase)
        .cmp(b.iter().map(u8::to_ascii_uppercase))
}

/// Whether `s` starts with `prefix`, ignoring ASCII case.
pub(super) fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_order_as_unbounded_integers() {
        let check = |a: &str, b: &str, expected: Ordering| {
            assert_eq!(
                cmp_digits(a.as_bytes(), b.as_bytes()),
                expected,
                "{a} vs {b}"
            );
        };
        check("0", "", Ordering::Equal);
        check("007", "7", Ordering::Equal);
        check("10", "9", Ordering::Greater);
        check(
            "999999999999999999999999999991",
            "999999999999999999999999999999",
            Ordering::Less,
        );
        check("00000000000000000000000000000001", "2", Ordering::Less);
    }
}
