//! Same-length "code views" of source text for the taint pass: comments and text outside
//! code blocks blanked, and inside string literals the characters that would fake a call
//! (`(`, `)`, `;`, and `$` in PHP single quotes) blanked. Offsets stay valid, so hits found
//! in a view point at the same place in the original.

/// Comment and string syntax of a language family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// PHP: `<?php ... ?>` blocks, `//`, `#`, `/* */`, quotes, heredoc.
    Php,
    /// Java / C#: `//`, `/* */`, double quotes.
    CLike,
    /// Perl, Python, shell: whole-line `#` comments.
    Hash,
    /// VBScript: whole-line `'` comments (plus C-like for pages mixing C# and VB).
    Basic,
}

/// The code view of `data` for `syntax` (same length as `data`).
pub fn code_view(data: &[u8], syntax: Syntax) -> Vec<u8> {
    match syntax {
        Syntax::Php => php_view(data),
        Syntax::CLike => c_like_view(data),
        Syntax::Hash => line_comment_view(data, b"#"),
        Syntax::Basic => line_comment_view(&c_like_view(data), b"'"),
    }
}

fn blank(byte: u8) -> u8 {
    if byte == b'\n' { b'\n' } else { b' ' }
}

/// Inside a string literal: neutralise what would look like calls or statement ends.
fn in_string(byte: u8, single_quoted_php: bool) -> u8 {
    match byte {
        b'(' | b')' | b';' => b' ',
        b'$' if single_quoted_php => b' ',
        other => other,
    }
}

fn php_view(data: &[u8]) -> Vec<u8> {
    #[derive(PartialEq)]
    enum State {
        Html,
        Code,
        LineComment,
        BlockComment,
        Single,
        Double,
        Heredoc,
    }
    let mut out = data.to_vec();
    let has_tag = memchr::memmem::find(data, b"<?").is_some();
    let mut state = if has_tag { State::Html } else { State::Code };
    let mut heredoc_end: Vec<u8> = Vec::new();
    let mut i = 0;
    let at = |i: usize| data.get(i).copied().unwrap_or(0);
    while i < data.len() {
        let byte = at(i);
        match state {
            State::Html => {
                if byte == b'<' && at(i + 1) == b'?' {
                    state = State::Code;
                    i += 2;
                    continue;
                }
                if let Some(slot) = out.get_mut(i) {
                    *slot = blank(byte);
                }
            }
            State::Code => match byte {
                b'?' if at(i + 1) == b'>' => {
                    state = State::Html;
                    i += 2;
                    continue;
                }
                b'/' if at(i + 1) == b'/' => {
                    state = State::LineComment;
                    if let Some(slot) = out.get_mut(i) {
                        *slot = b' ';
                    }
                }
                b'#' if at(i + 1) != b'[' => {
                    state = State::LineComment;
                    if let Some(slot) = out.get_mut(i) {
                        *slot = b' ';
                    }
                }
                b'/' if at(i + 1) == b'*' => {
                    state = State::BlockComment;
                    if let Some(slot) = out.get_mut(i..i + 2) {
                        slot.copy_from_slice(b"  ");
                    }
                    i += 2;
                    continue;
                }
                b'\'' => state = State::Single,
                b'"' => state = State::Double,
                b'<' if at(i + 1) == b'<' && at(i + 2) == b'<' => {
                    let rest = data.get(i + 3..).unwrap_or_default();
                    let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                    let label: Vec<u8> = rest
                        .get(..line_end)
                        .unwrap_or_default()
                        .iter()
                        .filter(|b| b.is_ascii_alphanumeric() || **b == b'_')
                        .copied()
                        .collect();
                    if !label.is_empty() {
                        heredoc_end = label;
                        state = State::Heredoc;
                        i += 3 + line_end;
                        continue;
                    }
                }
                _ => {}
            },
            State::LineComment => {
                if byte == b'\n' {
                    state = State::Code;
                } else if byte == b'?' && at(i + 1) == b'>' {
                    state = State::Html;
                    i += 2;
                    continue;
                } else if let Some(slot) = out.get_mut(i) {
                    *slot = b' ';
                }
            }
            State::BlockComment => {
                if byte == b'*' && at(i + 1) == b'/' {
                    if let Some(slot) = out.get_mut(i..i + 2) {
                        slot.copy_from_slice(b"  ");
                    }
                    state = State::Code;
                    i += 2;
                    continue;
                }
                if let Some(slot) = out.get_mut(i) {
                    *slot = blank(byte);
                }
            }
            State::Single | State::Double => {
                let quote = if state == State::Single { b'\'' } else { b'"' };
                if byte == b'\\' {
                    i += 2;
                    continue;
                }
                if byte == quote {
                    state = State::Code;
                } else if let Some(slot) = out.get_mut(i) {
                    *slot = in_string(byte, state == State::Single);
                }
            }
            State::Heredoc => {
                let line_start = i == 0 || at(i - 1) == b'\n';
                if line_start {
                    let rest = data.get(i..).unwrap_or_default();
                    let trimmed = rest
                        .iter()
                        .position(|b| !b.is_ascii_whitespace() || *b == b'\n');
                    let body = rest.get(trimmed.unwrap_or(0)..).unwrap_or_default();
                    if body.starts_with(&heredoc_end) {
                        state = State::Code;
                        continue;
                    }
                }
                if let Some(slot) = out.get_mut(i) {
                    *slot = in_string(byte, false);
                }
            }
        }
        i += 1;
    }
    out
}

fn c_like_view(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let at = |i: usize| data.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while i < data.len() {
        match at(i) {
            b'/' if at(i + 1) == b'/' => {
                // A `//` right after `:` is a URL, not a comment.
                if i > 0 && at(i - 1) == b':' {
                    i += 2;
                    continue;
                }
                while i < data.len() && at(i) != b'\n' {
                    if let Some(slot) = out.get_mut(i) {
                        *slot = b' ';
                    }
                    i += 1;
                }
            }
            b'/' if at(i + 1) == b'*' => {
                while i < data.len() && !(at(i) == b'*' && at(i + 1) == b'/') {
                    if let Some(slot) = out.get_mut(i) {
                        *slot = blank(at(i));
                    }
                    i += 1;
                }
                if let Some(slot) = out.get_mut(i..i + 2) {
                    slot.copy_from_slice(b"  ");
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < data.len() && at(i) != b'"' && at(i) != b'\n' {
                    if at(i) == b'\\' {
                        i += 2;
                        continue;
                    }
                    if let Some(slot) = out.get_mut(i) {
                        *slot = in_string(at(i), false);
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Blanks lines whose first non-blank characters are `marker`.
fn line_comment_view(data: &[u8], marker: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut line_start = 0;
    for end in memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len())) {
        let line = data.get(line_start..end).unwrap_or_default();
        let indent = line
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        let is_shebang = line_start == 0 && line.starts_with(b"#!");
        if line
            .get(indent..)
            .is_some_and(|rest| rest.starts_with(marker))
            && !is_shebang
        {
            for slot in out.get_mut(line_start + indent..end).unwrap_or_default() {
                *slot = b' ';
            }
        }
        line_start = end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(syntax: Syntax, input: &str, expected: &str) {
        let view = code_view(input.as_bytes(), syntax);
        assert_eq!(view.len(), input.len());
        assert_eq!(String::from_utf8_lossy(&view), expected, "{input}");
    }

    #[test]
    fn views() {
        check(
            Syntax::Php,
            "<b>(x)</b><?php $a($b); // $c(\n?>",
            "          <?php $a($b);       \n?>",
        );
        check(
            Syntax::Php,
            "<?php $s = \"$f(\" . '$g(';",
            "<?php $s = \"$f \" . ' g ';",
        );
        check(
            Syntax::Php,
            "<?php /* $x( */ $y();",
            "<?php           $y();",
        );
        check(
            Syntax::Php,
            "<?php $h = <<<EOT\n$z(1)\nEOT;\n$w();",
            "<?php $h = <<<EOT\n$z 1 \nEOT;\n$w();",
        );
        check(Syntax::Php, "$_SERVER['HTTP_X'];", "$_SERVER['HTTP_X'];");
        check(
            Syntax::CLike,
            "a(); // b(\n\"c(\" /* d( */",
            "a();      \n\"c \"         ",
        );
        check(Syntax::CLike, "\"http://x\"; x();", "\"http://x\"; x();");
        check(
            Syntax::Hash,
            "#!/usr/bin/perl\n  # eval($x)\nsystem($y);",
            "#!/usr/bin/perl\n            \nsystem($y);",
        );
        check(
            Syntax::Basic,
            "' Execute x\nExecute y",
            "           \nExecute y",
        );
    }
}
