//! npm packages: `package-lock.json`/`npm-shrinkwrap.json`, installed `node_modules`, `yarn.lock`
//! (classic and berry) and `pnpm-lock.yaml` (lockfile versions 5, 6 and 9).

use super::{Collector, looks_like_version, read_text};
use crate::inventory::purl::purl;
use crate::inventory::{DetectContext, Detected, Detector, Ecosystem, FileContents, FileInfo};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The purl of an npm package; a scope (`@types/node`) becomes the namespace.
pub fn npm_purl(name: &str, version: &str) -> String {
    match name.split_once('/') {
        Some((scope, bare)) if scope.starts_with('@') => {
            purl("npm", Some(scope), bare, version, &[])
        }
        _ => purl("npm", None, name, version, &[]),
    }
}

/// Splits an npm specifier `name@range` (`@scope/name@range`) at the `@` after the name.
fn split_specifier(spec: &str) -> (&str, &str) {
    match spec.get(1..).and_then(|rest| rest.find('@')) {
        Some(at) => (&spec[..at + 1], &spec[at + 2..]),
        None => (spec, ""),
    }
}

/// Whether a specifier's range points at local code rather than a registry package.
fn is_local_range(range: &str) -> bool {
    ["workspace:", "link:", "file:", "portal:"]
        .iter()
        .any(|prefix| range.starts_with(prefix))
}

fn parse_json(text: &str, what: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| {
        format!(
            "invalid {what} at line {}, column {}: {e}",
            e.line(),
            e.column()
        )
    })
}

/// `package-lock.json` and `npm-shrinkwrap.json`, lockfile versions 1 to 3.
pub struct PackageLockDetector;

/// Nesting depth of v1 `dependencies` beyond which entries are not followed.
const MAX_V1_DEPTH: usize = 128;

impl Detector for PackageLockDetector {
    fn name(&self) -> &'static str {
        "npm-package-lock"
    }

    fn may_want(&self, _path: &str, file_name: &str) -> bool {
        matches!(file_name, "package-lock.json" | "npm-shrinkwrap.json")
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
        let lock = parse_json(&text, file.file_name)?;
        let Some(lock) = lock.as_object() else {
            return Err(format!("invalid {}: not a JSON object", file.file_name));
        };
        let mut out = Collector::new(Ecosystem::Npm, file.path);
        if let Some(packages) = lock.get("packages").and_then(Value::as_object) {
            read_packages_map(packages, &mut out);
        } else if let Some(dependencies) = lock.get("dependencies").and_then(Value::as_object) {
            read_v1_dependencies(dependencies, 0, &mut out);
        } else if !lock.contains_key("lockfileVersion") {
            return Err(format!(
                "invalid {}: no `lockfileVersion`, `packages` or `dependencies`",
                file.file_name
            ));
        }
        Ok(out.finish())
    }
}

/// Lockfile v2/v3: `packages` keyed by install path (`node_modules/a/node_modules/@s/b`).
fn read_packages_map(packages: &serde_json::Map<String, Value>, out: &mut Collector<'_>) {
    for (key, entry) in packages {
        // "" is the project itself; keys without node_modules/ are workspace folders.
        let Some(pos) = key.rfind("node_modules/") else {
            continue;
        };
        let Some(entry) = entry.as_object() else {
            out.warn(format!("packages[\"{key}\"] is not an object"));
            continue;
        };
        if entry.get("link").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&key[pos + "node_modules/".len()..]);
        let Some(version) = entry.get("version").and_then(Value::as_str) else {
            out.warn(format!("packages[\"{key}\"] has no `version`"));
            continue;
        };
        if name.is_empty() || !looks_like_version(version) {
            continue; // a git, tarball or file dependency: not a registry release
        }
        out.package(name, version, npm_purl(name, version));
    }
}

/// Lockfile v1: nested `dependencies` maps; `version` may be an alias `npm:real@1.2.3`.
fn read_v1_dependencies(
    dependencies: &serde_json::Map<String, Value>,
    depth: usize,
    out: &mut Collector<'_>,
) {
    if depth > MAX_V1_DEPTH {
        out.warn(format!(
            "`dependencies` nested deeper than {MAX_V1_DEPTH} levels; the rest is skipped"
        ));
        return;
    }
    for (key, entry) in dependencies {
        let Some(entry) = entry.as_object() else {
            out.warn(format!("dependencies[\"{key}\"] is not an object"));
            continue;
        };
        match entry.get("version").and_then(Value::as_str) {
            None => out.warn(format!("dependencies[\"{key}\"] has no `version`")),
            Some(version) => {
                let (name, version) = match version.strip_prefix("npm:") {
                    Some(alias) => split_specifier(alias),
                    None => (key.as_str(), version),
                };
                if looks_like_version(version) && !name.is_empty() {
                    out.package(name, version, npm_purl(name, version));
                }
            }
        }
        if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
            read_v1_dependencies(nested, depth + 1, out);
        }
    }
}

/// A package's own `package.json` directly under `node_modules/<name>/` or
/// `node_modules/@scope/<name>/`.
pub struct NodeModulesDetector;

/// Installed manifests larger than this are not package manifests worth reading.
const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

fn is_installed_manifest(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    let (Some("package.json"), Some(name), Some(parent)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if name.is_empty() || name.starts_with(['.', '@']) {
        return false;
    }
    if parent == "node_modules" {
        return true;
    }
    parent.len() > 1 && parent.starts_with('@') && parts.next() == Some("node_modules")
}

impl Detector for NodeModulesDetector {
    fn name(&self) -> &'static str {
        "npm-installed"
    }

    fn may_want(&self, path: &str, file_name: &str) -> bool {
        file_name == "package.json" && is_installed_manifest(path)
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.size <= MAX_MANIFEST_BYTES && self.may_want(file.path, file.file_name)
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        _ctx: &DetectContext,
    ) -> Result<Detected, String> {
        let text = super::read_text_limited(contents, MAX_MANIFEST_BYTES)?;
        let manifest = parse_json(&text, "package.json")?;
        let field = |key: &str| manifest.get(key).and_then(Value::as_str);
        let (Some(name), Some(version)) = (field("name"), field("version")) else {
            return Err("package.json has no string `name` and `version`".to_string());
        };
        let mut out = Collector::new(Ecosystem::Npm, file.path);
        if !name.is_empty() && looks_like_version(version) {
            out.package(name, version, npm_purl(name, version));
        }
        Ok(out.finish())
    }
}

/// `yarn.lock`, both the classic v1 format and the YAML-like berry (v2+) format.
pub struct YarnLockDetector;

/// One top-level block of a yarn.lock: its header specifiers and its 2-space fields.
struct YarnEntry<'a> {
    line: usize,
    specifiers: Vec<&'a str>,
    fields: Vec<(&'a str, &'a str)>,
}

impl YarnEntry<'_> {
    fn field(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

fn parse_yarn_entries(text: &str, berry: bool) -> Result<Vec<YarnEntry<'_>>, String> {
    let mut entries: Vec<YarnEntry<'_>> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim_end();
        if line.trim_start().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            let Some(header) = line.strip_suffix(':') else {
                return Err(format!(
                    "invalid yarn.lock at line {line_no}: expected `specifier:`"
                ));
            };
            let header = if berry { unquote(header) } else { header };
            let specifiers = header
                .split(',')
                .map(unquote)
                .filter(|s| !s.is_empty())
                .collect();
            entries.push(YarnEntry {
                line: line_no,
                specifiers,
                fields: Vec::new(),
            });
            continue;
        }
        let Some(field) = line.strip_prefix("  ").filter(|f| !f.starts_with(' ')) else {
            continue; // deeper lines: dependencies, peer metadata, ...
        };
        let Some(entry) = entries.last_mut() else {
            return Err(format!(
                "invalid yarn.lock at line {line_no}: field before the first entry"
            ));
        };
        let split = if berry {
            field.split_once(':').map(|(k, v)| (k, v.trim()))
        } else {
            field.split_once(' ').map(|(k, v)| (k, v.trim()))
        };
        if let Some((key, value)) = split {
            entry.fields.push((unquote(key), unquote(value)));
        }
    }
    Ok(entries)
}

impl Detector for YarnLockDetector {
    fn name(&self) -> &'static str {
        "yarn-lock"
    }

    fn may_want(&self, _path: &str, file_name: &str) -> bool {
        file_name == "yarn.lock"
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
        let berry = text.lines().any(|l| l.starts_with("__metadata:"));
        let entries = parse_yarn_entries(&text, berry)?;
        let mut out = Collector::new(Ecosystem::Npm, file.path);
        for entry in &entries {
            let Some(first) = entry.specifiers.first() else {
                out.warn(format!("entry at line {} has no specifier", entry.line));
                continue;
            };
            if berry && *first == "__metadata" {
                continue;
            }
            let resolved = if berry {
                berry_package(entry, first)
            } else {
                classic_package(entry, first)
            };
            match resolved {
                Ok(Some((name, version))) => out.package(name, version, npm_purl(name, version)),
                Ok(None) => {}
                Err(message) => out.warn(format!("entry at line {}: {message}", entry.line)),
            }
        }
        Ok(out.finish())
    }
}

/// Classic (v1) entry: `name@range` headers, `version "x"`; `alias@npm:real@range` aliases.
fn classic_package<'a>(
    entry: &'a YarnEntry<'a>,
    first: &'a str,
) -> Result<Option<(&'a str, &'a str)>, String> {
    let (mut name, range) = split_specifier(first);
    if is_local_range(range) {
        return Ok(None);
    }
    if let Some(aliased) = range.strip_prefix("npm:") {
        let (real, _) = split_specifier(aliased);
        if !real.is_empty()
            && !real.starts_with(|c: char| c.is_ascii_digit() || c == '^' || c == '~')
        {
            name = real;
        }
    }
    let Some(version) = entry.field("version") else {
        return Err(format!("`{first}` has no version"));
    };
    Ok((looks_like_version(version) && !name.is_empty()).then_some((name, version)))
}

/// Berry entry: the `resolution: "name@npm:1.2.3"` field names the real package; anything not
/// resolved from the registry (`workspace:`, `patch:`, `link:`, git, ...) is skipped.
fn berry_package<'a>(
    entry: &'a YarnEntry<'a>,
    first: &'a str,
) -> Result<Option<(&'a str, &'a str)>, String> {
    let (name, range) = match entry.field("resolution") {
        Some(resolution) => split_specifier(resolution),
        None => split_specifier(first),
    };
    let Some(version) = range.strip_prefix("npm:") else {
        return Ok(None);
    };
    let version = if looks_like_version(version) {
        version
    } else {
        // An unresolved header range: take the `version` field instead.
        match entry.field("version") {
            Some(v) => v,
            None => return Err(format!("`{first}` has no version")),
        }
    };
    Ok((looks_like_version(version) && !name.is_empty()).then_some((name, version)))
}

/// `pnpm-lock.yaml`: the `packages` map, keyed `/name/1.0.0_peer` (v5), `/name@1.0.0(peer)`
/// (v6) or `name@1.0.0` (v9).
pub struct PnpmLockDetector;

/// Any YAML scalar (string, number, bool) kept as its text.
#[derive(Debug, Clone)]
pub(crate) struct Scalar(pub(crate) String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl serde::de::Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

#[derive(Deserialize)]
struct PnpmLock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<Scalar>,
    packages: Option<BTreeMap<String, Option<PnpmPackage>>>,
}

#[derive(Deserialize)]
struct PnpmPackage {
    name: Option<Scalar>,
    version: Option<Scalar>,
}

/// Parses a pnpm `packages` key into (name, version); `slash_style` is the v5 `/name/1.0.0`.
fn parse_pnpm_key(key: &str, slash_style: bool) -> Option<(&str, &str)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    if slash_style {
        let scoped = key.starts_with('@');
        let mut slashes = key.match_indices('/').map(|(i, _)| i);
        let name_end = if scoped {
            slashes.nth(1)?
        } else {
            slashes.next()?
        };
        let rest = &key[name_end + 1..];
        let version = rest.split(['_', '/', '(']).next()?;
        Some((&key[..name_end], version))
    } else {
        let key = key.split('(').next()?;
        let (name, version) = split_specifier(key);
        Some((name, version))
    }
}

impl Detector for PnpmLockDetector {
    fn name(&self) -> &'static str {
        "pnpm-lock"
    }

    fn may_want(&self, _path: &str, file_name: &str) -> bool {
        file_name == "pnpm-lock.yaml"
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
        let lock: PnpmLock = serde_saphyr::from_str(&text)
            .map_err(|e| format!("invalid pnpm-lock.yaml: {}", first_line(&e.to_string())))?;
        let major = lock.lockfile_version.as_ref().and_then(|v| {
            v.0.trim_start_matches('\'')
                .split('.')
                .next()?
                .parse::<u32>()
                .ok()
        });
        let mut out = Collector::new(Ecosystem::Npm, file.path);
        for (key, entry) in lock.packages.iter().flatten() {
            // v5 keys are `/name/version`; v6+ `name@version`. Without a version, guess.
            let slash_style = match major {
                Some(m) => m < 6,
                None => !key
                    .trim_start_matches('/')
                    .get(1..)
                    .is_some_and(|k| k.contains('@')),
            };
            let fields = entry
                .as_ref()
                .and_then(|e| Some((e.name.as_ref()?.0.as_str(), e.version.as_ref()?.0.as_str())));
            let found = fields.or_else(|| parse_pnpm_key(key, slash_style));
            match found {
                Some((name, version)) if !name.is_empty() && looks_like_version(version) => {
                    out.package(name, version, npm_purl(name, version));
                }
                Some(_) => {} // a git or tarball dependency
                None => out.warn(format!("packages key `{key}` is not `name@version`")),
            }
        }
        Ok(out.finish())
    }
}

/// The first line of a multi-line parser message (the rest is a source snippet).
pub(crate) fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message)
}
