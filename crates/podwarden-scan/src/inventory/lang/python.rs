//! Python packages: installed `*.dist-info/METADATA` and `*.egg-info` (`PKG-INFO`), `poetry.lock`,
//! `Pipfile.lock` and pinned `requirements*.txt`.

use super::{Collector, read_text};
use crate::inventory::purl::purl;
use crate::inventory::{DetectContext, Detected, Detector, Ecosystem, FileContents, FileInfo};
use serde::Deserialize;
use serde_json::Value;

/// Normalises a distribution name as PEP 503 does: lower-case, runs of `-`, `_`, `.` become `-`.
pub fn normalize_pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator = false;
        }
    }
    out
}

/// The purl of a PyPI distribution (the name PEP 503-normalised).
pub fn pypi_purl(name: &str, version: &str) -> String {
    purl("pypi", None, &normalize_pypi_name(name), version, &[])
}

/// Whether `name` is a valid distribution name (PEP 508: letters, digits, `-_.`, alphanumeric
/// at both ends).
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Whether `version` is made of the characters a PEP 440 version (or a legacy one) uses.
fn is_plain_version(version: &str) -> bool {
    !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '!' | '+' | '-' | '_'))
}

/// Installed distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and `*.egg-info`
/// files (what `setup.py install` leaves for a single-module distribution).
pub struct PythonMetadataDetector;

/// Header bytes read from a metadata file; the long description body after them is not needed.
const METADATA_PREFIX_BYTES: usize = 256 * 1024;

impl Detector for PythonMetadataDetector {
    fn name(&self) -> &'static str {
        "python-metadata"
    }

    fn may_want(&self, path: &str, file_name: &str) -> bool {
        path.ends_with(".dist-info/METADATA")
            || path.ends_with(".egg-info/PKG-INFO")
            || file_name.ends_with(".egg-info")
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        self.may_want(file.path, file.file_name)
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        _ctx: &DetectContext,
    ) -> Result<Detected, String> {
        let mut prefix = vec![0u8; METADATA_PREFIX_BYTES.min(contents.len() as usize)];
        let mut filled = 0;
        while filled < prefix.len() {
            let n = contents
                .read_at(filled as u64, &mut prefix[filled..])
                .map_err(|e| format!("cannot read: {e}"))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        prefix.truncate(filled);
        let text = String::from_utf8_lossy(&prefix);
        let (name, version) = parse_metadata_headers(&text)?;
        let mut out = Collector::new(Ecosystem::PyPI, file.path);
        out.package(name, version, pypi_purl(name, version));
        Ok(out.finish())
    }
}

/// Reads `Name` and `Version` from the email-style header block (up to the first blank line).
pub fn parse_metadata_headers(text: &str) -> Result<(&str, &str), String> {
    let mut name = None;
    let mut version = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break; // the body (long description) starts here
        }
        if line.starts_with([' ', '\t']) {
            continue; // a folded continuation of the previous header
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("line {}: not a `Key: value` header", index + 1));
        };
        let value = value.trim();
        if key.eq_ignore_ascii_case("name") && name.is_none() {
            name = Some(value);
        } else if key.eq_ignore_ascii_case("version") && version.is_none() {
            version = Some(value);
        }
    }
    match (name, version) {
        (Some(n), Some(v)) if is_valid_name(n) && is_plain_version(v) => Ok((n, v)),
        (Some(n), Some(v)) => Err(format!("invalid Name `{n}` or Version `{v}` header")),
        _ => Err("no `Name` and `Version` headers".to_string()),
    }
}

/// `poetry.lock`: every `[[package]]` except local directory sources.
pub struct PoetryLockDetector;

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<toml::Table>,
}

impl Detector for PoetryLockDetector {
    fn name(&self) -> &'static str {
        "poetry-lock"
    }

    fn may_want(&self, _path: &str, file_name: &str) -> bool {
        file_name == "poetry.lock"
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        self.may_want(file.path, file.file_name)
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        _ctx: &DetectContext,
    ) -> Result<Detected, String> {
        let text = read_text(contents)?;
        let lock: PoetryLock = toml::from_str(&text).map_err(|e| {
            format!(
                "invalid poetry.lock: {}",
                super::cargo::toml_error(&e, &text)
            )
        })?;
        let mut out = Collector::new(Ecosystem::PyPI, file.path);
        for (index, entry) in lock.package.iter().enumerate() {
            let field = |key: &str| entry.get(key).and_then(|v| v.as_str());
            let (Some(name), Some(version)) = (field("name"), field("version")) else {
                out.warn(format!(
                    "[[package]] #{} has no string `name` and `version`",
                    index + 1
                ));
                continue;
            };
            let source_type = entry
                .get("source")
                .and_then(|s| s.get("type"))
                .and_then(|t| t.as_str());
            if source_type == Some("directory") {
                continue; // a local project, not a PyPI release
            }
            out.package(name, version, pypi_purl(name, version));
        }
        Ok(out.finish())
    }
}

/// `Pipfile.lock`: the `default` and `develop` sections, `"version": "==1.2.3"`.
pub struct PipfileLockDetector;

impl Detector for PipfileLockDetector {
    fn name(&self) -> &'static str {
        "pipfile-lock"
    }

    fn may_want(&self, _path: &str, file_name: &str) -> bool {
        file_name == "Pipfile.lock"
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        self.may_want(file.path, file.file_name)
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        _ctx: &DetectContext,
    ) -> Result<Detected, String> {
        let text = read_text(contents)?;
        let lock: Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "invalid Pipfile.lock at line {}, column {}: {e}",
                e.line(),
                e.column()
            )
        })?;
        if !lock.is_object() {
            return Err("invalid Pipfile.lock: not a JSON object".to_string());
        }
        let mut out = Collector::new(Ecosystem::PyPI, file.path);
        for section in ["default", "develop"] {
            let Some(entries) = lock.get(section).and_then(Value::as_object) else {
                continue;
            };
            for (name, entry) in entries {
                let Some(version) = entry.get("version").and_then(Value::as_str) else {
                    continue; // editable, path or VCS requirement: no released version
                };
                match version.strip_prefix("==") {
                    Some(v) if is_valid_name(name) && is_plain_version(v.trim()) => {
                        let v = v.trim();
                        out.package(name, v, pypi_purl(name, v));
                    }
                    _ => out.warn(format!(
                        "{section}.{name}: version `{version}` is not `==X`"
                    )),
                }
            }
        }
        Ok(out.finish())
    }
}

/// `requirements*.txt` (and `*.txt` under a `requirements/` folder): only `name==version` lines
/// are packages; ranges, URLs, paths and options are not.
pub struct RequirementsDetector;

impl Detector for RequirementsDetector {
    fn name(&self) -> &'static str {
        "python-requirements"
    }

    fn may_want(&self, path: &str, file_name: &str) -> bool {
        file_name.ends_with(".txt")
            && (file_name.starts_with("requirements") || path.contains("requirements/"))
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        self.may_want(file.path, file.file_name)
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        _ctx: &DetectContext,
    ) -> Result<Detected, String> {
        let text = read_text(contents)?;
        let mut out = Collector::new(Ecosystem::PyPI, file.path);
        for (line_no, line) in logical_lines(&text) {
            match parse_requirement(&line) {
                Requirement::Pinned(name, version) => {
                    out.package(name, version, pypi_purl(name, version));
                }
                Requirement::NotPinned => {}
                Requirement::Invalid(why) => out.warn(format!("line {line_no}: {why}")),
            }
        }
        Ok(out.finish())
    }
}

/// Joins `\`-continued lines; yields (first physical line number, logical line).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (index, line) in text.lines().enumerate() {
        if current.is_empty() {
            start = index + 1;
        }
        let line = line.trim_end_matches('\r');
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push((start, std::mem::take(&mut current)));
            }
        }
    }
    if !current.trim().is_empty() {
        out.push((start, current));
    }
    out
}

enum Requirement<'a> {
    Pinned(&'a str, &'a str),
    NotPinned,
    Invalid(String),
}

fn parse_requirement(line: &str) -> Requirement<'_> {
    // A comment starts at `#` at the line start or after whitespace.
    let mut end = line.len();
    for (i, _) in line.match_indices('#') {
        if i == 0 || line[..i].ends_with([' ', '\t']) {
            end = i;
            break;
        }
    }
    let line = line[..end].trim();
    if line.is_empty() || line.starts_with('-') {
        return Requirement::NotPinned; // blank, or an option: -r, -c, -e, --index-url, ...
    }
    if line.contains("://") || line.starts_with(['.', '/']) {
        return Requirement::NotPinned; // a URL or a local path
    }
    // Environment markers after `;`, per-requirement options such as `--hash=...`.
    let line = line.split(';').next().unwrap_or("");
    let line = line.split(" -").next().unwrap_or("").trim();
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !is_valid_name(name) {
        return Requirement::Invalid(format!("`{line}` is not a requirement"));
    }
    let mut rest = line[name_end..].trim_start();
    if let Some(after_extras) = rest.strip_prefix('[') {
        let Some(close) = after_extras.find(']') else {
            return Requirement::Invalid(format!("unclosed extras in `{line}`"));
        };
        rest = after_extras[close + 1..].trim_start();
    }
    if rest.is_empty() || rest.starts_with('@') {
        return Requirement::NotPinned; // no version, or `name @ url`
    }
    let Some(pinned) = rest.strip_prefix("===").or_else(|| rest.strip_prefix("==")) else {
        if rest.starts_with(['<', '>', '~', '!', '=']) {
            return Requirement::NotPinned;
        }
        return Requirement::Invalid(format!("`{line}` is not a requirement"));
    };
    let version = pinned.trim();
    if version.contains([',', '*']) {
        return Requirement::NotPinned; // a range or a wildcard
    }
    if !is_plain_version(version) {
        return Requirement::Invalid(format!("`{version}` is not a version"));
    }
    Requirement::Pinned(name, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_names_like_pep_503() {
        let cases = [
            ("Django", "django"),
            ("zope.interface", "zope-interface"),
            ("ruamel.yaml.clib", "ruamel-yaml-clib"),
            ("typing_extensions", "typing-extensions"),
            ("A__B--c..D", "a-b-c-d"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_pypi_name(input), want, "{input}");
        }
    }
}
