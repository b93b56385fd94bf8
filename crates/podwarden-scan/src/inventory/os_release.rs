//! `os-release` parsing and the mapping from a distribution to its OSV ecosystem and release.

use super::{Ecosystem, OsRelease};

/// Where os-release lives, in the order the spec says to look.
pub const OS_RELEASE_PATHS: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];

/// Parses an os-release file (`KEY=value` lines, values optionally quoted with `"` or `'`,
/// backslash escapes inside double quotes, `#` comments). Returns None when there is no `ID`.
pub fn parse_os_release(text: &str) -> Option<OsRelease> {
    let mut os = OsRelease::default();
    let mut has_id = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        match key.trim() {
            "ID" => {
                os.id = value.to_ascii_lowercase();
                has_id = !os.id.is_empty();
            }
            "ID_LIKE" => {
                os.id_like = value
                    .split_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect();
            }
            "VERSION_ID" => os.version_id = non_empty(value),
            "VERSION_CODENAME" => os.version_codename = non_empty(value),
            "PRETTY_NAME" => os.pretty_name = non_empty(value),
            _ => {}
        }
    }
    has_id.then_some(os)
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Removes shell-style quotes: `"a \"b\""` → `a "b"`, `'a b'` → `a b`; an unquoted value ends at
/// an unescaped `#` comment preceded by whitespace.
fn unquote(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            (None, '#') if prev_space => break,
            (_, c) => out.push(c),
        }
        prev_space = c.is_whitespace();
    }
    if quote.is_none() {
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
    }
    out
}

/// The OSV ecosystem and release (`affected[].package.ecosystem` after the `:`) of a
/// distribution: Debian `12`, Ubuntu `22.04`, Alpine `v3.20`, Red Hat / AlmaLinux / Rocky `9`.
/// Unknown distributions are tried through `ID_LIKE`; None when nothing fits or the version is
/// missing.
pub fn osv_ecosystem(os: &OsRelease) -> Option<(Ecosystem, String)> {
    std::iter::once(os.id.as_str())
        .chain(os.id_like.iter().map(String::as_str))
        .find_map(|id| ecosystem_for_id(id, os))
}

fn ecosystem_for_id(id: &str, os: &OsRelease) -> Option<(Ecosystem, String)> {
    let version = os.version_id.as_deref().map(str::trim).unwrap_or("");
    let major = || {
        let major = version.split('.').next().unwrap_or("");
        (!major.is_empty() && major.bytes().all(|b| b.is_ascii_digit())).then(|| major.to_string())
    };
    match id {
        "debian" => Some((Ecosystem::Debian, major()?)),
        "ubuntu" => {
            let mut parts = version.split('.');
            let (y, m) = (parts.next()?, parts.next()?);
            let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            (numeric(y) && numeric(m)).then(|| (Ecosystem::Ubuntu, format!("{y}.{m}")))
        }
        "alpine" => {
            let mut parts = version.split('.');
            let (major, minor) = (parts.next()?, parts.next()?);
            let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            (numeric(major) && numeric(minor))
                .then(|| (Ecosystem::Alpine, format!("v{major}.{minor}")))
        }
        "rhel" => Some((Ecosystem::RedHat, major()?)),
        "almalinux" => Some((Ecosystem::AlmaLinux, major()?)),
        "rocky" => Some((Ecosystem::RockyLinux, major()?)),
        _ => None,
    }
}

/// The purl namespace of a distribution's packages (`pkg:deb/debian/...`).
pub fn purl_namespace(os: Option<&OsRelease>, fallback: &str) -> String {
    match os {
        Some(os) if !os.id.is_empty() => os.id.clone(),
        _ => fallback.to_string(),
    }
}

/// The `distro` purl qualifier: `<id>-<version_id>` (`debian-12`, `alpine-3.20.3`).
pub fn distro_qualifier(os: Option<&OsRelease>) -> String {
    match os {
        Some(os) => match &os.version_id {
            Some(v) => format!("{}-{}", os.id, v),
            None => os.id.clone(),
        },
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (id, version_id, OSV ecosystem and release)
    type Expected = Option<(
        &'static str,
        Option<&'static str>,
        Option<(Ecosystem, &'static str)>,
    )>;

    fn check(text: &str, expected: Expected) {
        let parsed = parse_os_release(text);
        let got = parsed
            .as_ref()
            .map(|os| (os.id.as_str(), os.version_id.as_deref(), osv_ecosystem(os)));
        let want = expected.map(|(id, v, e)| (id, v, e.map(|(e, r)| (e, r.to_string()))));
        assert_eq!(got, want, "os-release:\n{text}");
    }

    #[test]
    fn maps_real_os_release_files() {
        let cases: &[(&str, Expected)] = &[
            (
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
                Some(("debian", Some("12"), Some((Ecosystem::Debian, "12")))),
            ),
            (
                "NAME=\"Ubuntu\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n",
                Some(("ubuntu", Some("22.04"), Some((Ecosystem::Ubuntu, "22.04")))),
            ),
            (
                "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n",
                Some(("alpine", Some("3.20.3"), Some((Ecosystem::Alpine, "v3.20")))),
            ),
            (
                "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.4 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\n",
                Some(("rhel", Some("9.4"), Some((Ecosystem::RedHat, "9")))),
            ),
            (
                "NAME=\"AlmaLinux\"\nID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n",
                Some(("almalinux", Some("9.4"), Some((Ecosystem::AlmaLinux, "9")))),
            ),
            (
                "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"8.10\"\n",
                Some(("rocky", Some("8.10"), Some((Ecosystem::RockyLinux, "8")))),
            ),
            // A derivative found through ID_LIKE.
            (
                "ID=raspbian\nID_LIKE=debian\nVERSION_ID=\"11\"\n",
                Some(("raspbian", Some("11"), Some((Ecosystem::Debian, "11")))),
            ),
            // Debian testing has no VERSION_ID: no release to match against.
            (
                "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nID=debian\n",
                Some(("debian", None, None)),
            ),
            (
                "ID=fedora\nVERSION_ID=40\n",
                Some(("fedora", Some("40"), None)),
            ),
            (
                "# comment\n  ID='Alpine' # trailing comment\nVERSION_ID=\"3.19.1\"\n",
                Some(("alpine", Some("3.19.1"), Some((Ecosystem::Alpine, "v3.19")))),
            ),
            ("NAME=nothing\n", None),
            ("garbage without equals\n\n", None),
        ];
        for (text, expected) in cases {
            check(text, *expected);
        }
    }

    #[test]
    fn unquotes_like_a_shell() {
        let cases = [
            ("\"a \\\"b\\\"\"", "a \"b\""),
            ("'x y'", "x y"),
            ("plain", "plain"),
            ("\"trailing\" # c", "trailing"),
            ("a#b", "a#b"),
        ];
        for (raw, want) in cases {
            assert_eq!(unquote(raw), want, "{raw}");
        }
    }
}
