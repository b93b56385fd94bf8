//! Package URLs (purl-spec): `pkg:type/namespace/name@version?qualifiers`, percent-encoded.

use std::fmt::Write;

/// Builds a purl. `namespace` segments are `/`-separated and each is encoded on its own;
/// qualifiers are emitted sorted by key, empty values skipped, as the spec requires.
pub fn purl(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut out = String::with_capacity(16 + name.len() + version.len());
    out.push_str("pkg:");
    out.push_str(kind);
    out.push('/');
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
        for segment in ns.split('/').filter(|s| !s.is_empty()) {
            encode_into(&mut out, segment);
            out.push('/');
        }
    }
    encode_into(&mut out, name);
    if !version.is_empty() {
        out.push('@');
        encode_into(&mut out, version);
    }
    let mut quals: Vec<&(&str, &str)> = qualifiers.iter().filter(|(_, v)| !v.is_empty()).collect();
    quals.sort_by_key(|(k, _)| *k);
    for (i, (key, value)) in quals.into_iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(key);
        out.push('=');
        encode_into(&mut out, value);
    }
    out
}

/// Percent-encodes everything but unreserved characters (RFC 3986) plus `:` which purl keeps.
fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::purl;

    #[test]
    fn encodes_like_the_spec_examples() {
        let cases: &[(String, &str)] = &[
            (
                purl("npm", Some("@angular"), "core", "16.0.0", &[]),
                "pkg:npm/%40angular/core@16.0.0",
            ),
            (
                purl(
                    "deb",
                    Some("debian"),
                    "curl",
                    "7.88.1-10+deb12u5",
                    &[("distro", "debian-12"), ("arch", "amd64")],
                ),
                "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12",
            ),
            (
                purl(
                    "maven",
                    Some("org.apache.logging.log4j"),
                    "log4j-core",
                    "2.14.1",
                    &[],
                ),
                "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            ),
            (
                purl("golang", Some("github.com/gin-gonic"), "gin", "v1.9.1", &[]),
                "pkg:golang/github.com/gin-gonic/gin@v1.9.1",
            ),
            (
                purl(
                    "rpm",
                    Some("redhat"),
                    "bash",
                    "5.1.8-6.el9",
                    &[("epoch", "")],
                ),
                "pkg:rpm/redhat/bash@5.1.8-6.el9",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
