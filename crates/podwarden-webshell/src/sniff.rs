//! File typing: which server-side language a file holds (by extension and content), and
//! cheap binary detection.

use memchr::memmem;
use regex::bytes::{Regex, RegexBuilder};
use std::path::Path;
use std::sync::OnceLock;

/// Server-side language of a file, as far as the scanner can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Php,
    Jsp,
    Asp,
    /// Perl, Python or shell script (CGI).
    Cgi,
    /// `<% ... %>` server page whose language could not be told.
    ServerPage,
    /// Not server-side web code.
    None,
}

impl Language {
    /// The webshell category this language maps to.
    pub fn category(self) -> crate::Category {
        match self {
            Language::Php => crate::Category::Php,
            Language::Jsp => crate::Category::Jsp,
            Language::Asp => crate::Category::Asp,
            Language::Cgi => crate::Category::Cgi,
            Language::ServerPage | Language::None => crate::Category::Other,
        }
    }
}

/// How much of the head is looked at for NUL bytes.
const BINARY_PROBE: usize = 8192;

/// Extensions of compressed or compiled formats, skipped without reading: they cannot hold
/// readable script text.
pub fn is_opaque_extension(path: &Path) -> bool {
    const OPAQUE: &[&str] = &[
        "zip", "jar", "war", "ear", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "woff", "woff2",
        "ttf", "otf", "eot", "class", "so", "o", "a", "dll", "exe", "pyc", "mo", "mp3", "mp4",
        "ogg", "webm", "avi", "mov", "flac", "wav", "pdf", "z", "deb", "rpm", "sqlite", "db",
    ];
    extension(path).is_some_and(|ext| OPAQUE.contains(&ext.as_str()))
}

/// True when the head of `data` holds a NUL byte (text files never do).
pub fn looks_binary(data: &[u8]) -> bool {
    let head = data.get(..BINARY_PROBE).unwrap_or(data);
    memchr::memchr(0, head).is_some()
}

/// True when binary `data` carries an embedded PHP open tag (`<?php` or `<?=`), the classic
/// payload hidden in an image's comment or metadata.
pub fn has_embedded_php(data: &[u8]) -> bool {
    memmem::find_iter(data, b"<?").any(|at| {
        let next = data.get(at + 2..at + 5).unwrap_or_default();
        next.eq_ignore_ascii_case(b"php") || next.first() == Some(&b'=')
    })
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|ext| ext.to_str())
        .map(|ext| ext.to_ascii_lowercase())
}

/// Language by extension alone.
pub fn language_by_extension(path: &Path) -> Language {
    let Some(ext) = extension(path) else {
        return Language::None;
    };
    match ext.as_str() {
        "php" | "php3" | "php4" | "php5" | "php7" | "php8" | "phtml" | "pht" | "phps" | "phar"
        | "inc" => Language::Php,
        "jsp" | "jspx" | "jspf" | "jsw" | "jsv" | "jhtml" => Language::Jsp,
        "asp" | "aspx" | "ashx" | "asmx" | "ascx" | "asa" | "asax" | "cer" | "cdx" | "svc" => {
            Language::Asp
        }
        "cgi" | "pl" | "pm" | "py" | "sh" | "bash" | "fcgi" => Language::Cgi,
        _ => Language::None,
    }
}

/// Language by content markers: PHP open tags, `<% %>` server pages, CGI shebangs.
pub fn language_by_content(data: &[u8]) -> Language {
    if data.starts_with(b"#!") {
        let first_line = data.get(..memchr::memchr(b'\n', data).unwrap_or(data.len()).min(128));
        let first_line = first_line.unwrap_or_default();
        for interpreter in [&b"perl"[..], b"python", b"sh", b"ruby"] {
            if memmem::find(first_line, interpreter).is_some() {
                return Language::Cgi;
            }
        }
    }
    if has_php_tag(data) {
        return Language::Php;
    }
    if memmem::find(data, b"<%").is_some()
        || memmem::find(data, b"<jsp:").is_some()
        || server_control_marker().is_match(data)
    {
        return server_page_language(data);
    }
    Language::None
}

fn has_php_tag(data: &[u8]) -> bool {
    memmem::find_iter(data, b"<?").any(|at| {
        let next = data.get(at + 2..at + 5).unwrap_or_default();
        next.eq_ignore_ascii_case(b"php")
            || next.first() == Some(&b'=')
            || (next.first().is_some_and(|b| b.is_ascii_whitespace())
                && !data
                    .get(at..at + 6)
                    .is_some_and(|tag| tag.starts_with(b"<?xml")))
    }) || php_script_marker().is_match(data)
}

/// Tells JSP from ASP in a `<% %>` page by the idioms each uses.
fn server_page_language(data: &[u8]) -> Language {
    const JSP: &[&[u8]] = &[
        b"<%@ page",
        b"<%@page",
        b"<jsp:",
        b"request.getParameter",
        b"java.",
        b"pageContext",
        b"out.println",
        b"getRuntime",
    ];
    const ASP: &[&[u8]] = &[
        b"Page Language",
        b"Page language",
        b"WebHandler",
        b"Response.Write",
        b"Request.Form",
        b"Request.QueryString",
        b"Request.Item",
        b"Request[",
        b"Server.CreateObject",
        b"System.",
        b"runat=",
        b"Language=\"VBScript\"",
        b"LANGUAGE=",
        b"Request(",
    ];
    let jsp = JSP
        .iter()
        .filter(|m| memmem::find(data, m).is_some())
        .count();
    let asp = ASP
        .iter()
        .filter(|m| memmem::find(data, m).is_some())
        .count();
    match (jsp, asp) {
        (0, 0) => Language::ServerPage,
        (j, a) if j > a => Language::Jsp,
        (j, a) if a > j => Language::Asp,
        _ => Language::ServerPage,
    }
}

/// Case-insensitive markers as byte regexes: their literal prefilter finds them about ten
/// times faster than scanning every `r`/`R` or `l`/`L` of a file (most files scanned here are
/// JavaScript, CSS and HTML that hold neither).
fn case_insensitive(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| {
        // Constant patterns, covered by this module's tests.
        RegexBuilder::new(pattern)
            .unicode(false)
            .case_insensitive(true)
            .build()
            .unwrap_or_else(|err| panic!("marker pattern {pattern:?}: {err}"))
    })
}

/// `runat="server"` / `runat=server` in any case: an ASP.NET server control.
fn server_control_marker() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    case_insensitive(&CELL, r#"runat=(?:"server"|server)"#)
}

/// `language="php"` in any case: `<script language="php">`.
fn php_script_marker() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    case_insensitive(&CELL, r#"language="php""#)
}

/// The language of a text file: its extension when that names one, else its content.
pub fn language_of(path: &Path, data: &[u8]) -> Language {
    match language_by_extension(path) {
        Language::None => language_by_content(data),
        Language::Cgi if has_php_tag(data) => Language::Php,
        known => known,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, data: &str, expected: Language) {
        assert_eq!(
            language_of(Path::new(path), data.as_bytes()),
            expected,
            "{path}: {data:?}"
        );
    }

    #[test]
    fn languages() {
        check("a.php", "", Language::Php);
        check("a.PHP5", "", Language::Php);
        check("a.jspx", "", Language::Jsp);
        check("a.aspx", "", Language::Asp);
        check("a.cgi", "", Language::Cgi);
        check("logo.txt", "GIF89a <?php echo 1; ?>", Language::Php);
        check("x", "#!/usr/bin/perl\nprint 1;", Language::Cgi);
        check("x", "#!/usr/bin/env python3\n", Language::Cgi);
        check(
            "x.html",
            "<% out.println(request.getParameter(\"a\")); %>",
            Language::Jsp,
        );
        check("x.txt", "<%@ Page Language=\"C#\" %>", Language::Asp);
        check(
            "x.txt",
            "<% Response.Write(Request(\"a\")) %>",
            Language::Asp,
        );
        check("x.xml", "<?xml version=\"1.0\"?><a/>", Language::None);
        check("x.html", "<asp:Label RUNAT=SERVER />", Language::ServerPage);
        check("x.html", "<form RunAt=\"Server\">", Language::ServerPage);
        check("x.html", "<form runat=\"client\">", Language::None);
        check("x.html", "<script LANGUAGE=\"PHP\">", Language::Php);
        check("x.js", "var a = 1;", Language::None);
        check(
            "x.html",
            "<script language=\"php\">system($x);</script>",
            Language::Php,
        );
    }

    #[test]
    fn binaries() {
        assert!(looks_binary(b"\x89PNG\r\n\x1a\n\0\0"));
        assert!(!looks_binary(b"<?php echo 1;"));
        assert!(has_embedded_php(b"\xff\xd8\0\0<?PHP system($_GET[1]);"));
        assert!(!has_embedded_php(b"\xff\xd8\0\0<?xml"));
        assert!(is_opaque_extension(Path::new("a/b.JAR")));
        assert!(!is_opaque_extension(Path::new("a/b.jpg")));
    }
}
