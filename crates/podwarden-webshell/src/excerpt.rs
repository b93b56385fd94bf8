//! Bounded, printable excerpts of matching text, with their line numbers.

/// Longest excerpt kept, in characters.
pub const MAX_EXCERPT: usize = 100;
/// Context kept before the match start when the line is long.
const LEAD: usize = 24;

/// 1-based line number of byte `offset` in `data`.
pub fn line_of(data: &[u8], offset: usize) -> usize {
    let end = offset.min(data.len());
    data.get(..end)
        .map_or(0, |head| memchr::memchr_iter(b'\n', head).count())
        + 1
}

/// The excerpt around `offset`: the line holding it, cut to [`MAX_EXCERPT`] characters around
/// the match, control and non-ASCII bytes shown as `\xNN`, runs of whitespace collapsed.
pub fn excerpt_at(data: &[u8], offset: usize) -> String {
    let offset = offset.min(data.len());
    let head = data.get(..offset).unwrap_or_default();
    let tail = data.get(offset..).unwrap_or_default();
    let line_start = memchr::memrchr(b'\n', head).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', tail).map_or(data.len(), |i| offset + i);
    // Skip leading indentation of the line.
    let mut start = line_start;
    while start < offset && data.get(start).is_some_and(|b| b.is_ascii_whitespace()) {
        start += 1;
    }
    let indent_end = start;
    if offset - start > LEAD {
        start = offset - LEAD;
    }
    let window = data.get(start..line_end).unwrap_or_default();
    let mut out = String::new();
    let mut chars = 0usize;
    let mut last_space = false;
    if start > indent_end {
        out.push_str("...");
    }
    for &byte in window {
        if chars >= MAX_EXCERPT {
            out.push_str("...");
            break;
        }
        if byte.is_ascii_whitespace() {
            if !last_space {
                out.push(' ');
                chars += 1;
            }
            last_space = true;
            continue;
        }
        last_space = false;
        if byte.is_ascii_graphic() {
            out.push(char::from(byte));
            chars += 1;
        } else {
            out.push_str(&format!("\\x{byte:02x}"));
            chars += 4;
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(data: &str, offset: usize, expected_line: usize, expected: &str) {
        assert_eq!(
            line_of(data.as_bytes(), offset),
            expected_line,
            "line of {offset}"
        );
        assert_eq!(excerpt_at(data.as_bytes(), offset), expected);
    }

    #[test]
    fn excerpts() {
        check("a\n   eval($x);\nb", 5, 2, "eval($x);");
        check("x", 0, 1, "x");
        check("", 0, 1, "");
        check("one\ttwo   three", 4, 1, "one two three");
        let long = format!("{}eval(1){}", "a".repeat(200), "b".repeat(200));
        let got = excerpt_at(long.as_bytes(), 200);
        assert!(got.starts_with("...aaaa"), "{got}");
        assert!(got.contains("eval(1)"), "{got}");
        assert!(got.len() <= MAX_EXCERPT + 6, "{}", got.len());
        check("a\u{1}b", 0, 1, "a\\x01b");
        // Offsets past the end are clamped.
        check("ab\ncd", 99, 2, "cd");
    }
}
