//! Ruby gems: `Gemfile.lock` (`GEM` and `GIT` specs) and installed `specifications/*.gemspec`.

use super::{Collector, looks_like_version, read_text, read_text_limited};
use crate::inventory::purl::purl;
use crate::inventory::{DetectContext, Detected, Detector, Ecosystem, FileContents, FileInfo};

/// The purl of a gem.
pub fn gem_purl(name: &str, version: &str) -> String {
    purl("gem", None, name, version, &[])
}

/// `Gemfile.lock`: the 4-space `name (version)` lines under `specs:` of the `GEM` and `GIT`
/// sections. `PATH` sections are the project's own gems. A platform suffix
/// (`1.15.4-x86_64-linux`) is dropped from the version.
pub struct GemfileLockDetector;

/// `gems.locked` is Bundler's other name for the lockfile.
const LOCKFILE_NAMES: &[&str] = &["Gemfile.lock", "gems.locked"];

impl Detector for GemfileLockDetector {
    fn name(&self) -> &'static str {
        "gemfile-lock"
    }

    fn may_want(&self, _path: &str, file_name: &str) -> bool {
        LOCKFILE_NAMES.contains(&file_name)
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
        let mut out = Collector::new(Ecosystem::RubyGems, file.path);
        let mut section = "";
        let mut in_specs = false;
        let mut saw_section = false;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            if !line.starts_with(' ') {
                section = line.trim();
                in_specs = false;
                saw_section = true;
                continue;
            }
            if line.trim_end() == "  specs:" {
                in_specs = true;
                continue;
            }
            let Some(spec) = line.strip_prefix("    ") else {
                continue; // `  remote:`, `  revision:`, ...
            };
            if !in_specs || spec.starts_with(' ') || !matches!(section, "GEM" | "GIT") {
                continue; // a dependency of the gem above (6 spaces), or another section
            }
            match parse_spec_line(spec) {
                Some((name, version)) => out.package(name, version, gem_purl(name, version)),
                None => out.warn(format!(
                    "line {}: `{}` is not `name (version)`",
                    index + 1,
                    spec
                )),
            }
        }
        if !saw_section {
            return Err(
                "invalid Gemfile.lock: no section headers (GEM, DEPENDENCIES, ...)".to_string(),
            );
        }
        Ok(out.finish())
    }
}

/// `nokogiri (1.15.4-x86_64-linux)` → (`nokogiri`, `1.15.4`).
fn parse_spec_line(spec: &str) -> Option<(&str, &str)> {
    let (name, rest) = spec.trim().split_once(" (")?;
    let version = rest.strip_suffix(')')?;
    let version = version.split('-').next()?;
    (is_gem_name(name) && looks_like_version(version)).then_some((name, version))
}

fn is_gem_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Installed gem specifications (`.../specifications/<name>-<version>.gemspec`), as RubyGems
/// writes them: `s.name = "rake".freeze`, `s.version = "13.0.6"`.
pub struct GemspecDetector;

const MAX_GEMSPEC_BYTES: u64 = 1024 * 1024;

impl Detector for GemspecDetector {
    fn name(&self) -> &'static str {
        "gemspec"
    }

    fn may_want(&self, path: &str, file_name: &str) -> bool {
        file_name.ends_with(".gemspec") && path.contains("specifications/")
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.size <= MAX_GEMSPEC_BYTES && self.may_want(file.path, file.file_name)
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        _ctx: &DetectContext,
    ) -> Result<Detected, String> {
        let text = read_text_limited(contents, MAX_GEMSPEC_BYTES)?;
        let mut name = None;
        let mut version = None;
        for line in text.lines() {
            let line = line.trim();
            let Some((lhs, rhs)) = line.split_once('=') else {
                continue;
            };
            let attribute = lhs.trim().rsplit('.').next().unwrap_or("");
            let receiver_is_spec = lhs.trim().split('.').count() == 2;
            if !receiver_is_spec {
                continue;
            }
            match attribute {
                "name" if name.is_none() => name = first_string_literal(rhs),
                "version" if version.is_none() => version = first_string_literal(rhs),
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            return Err("gemspec sets no string `name` and `version`".to_string());
        };
        if !is_gem_name(name) || !looks_like_version(version) {
            return Err(format!(
                "gemspec name `{name}` or version `{version}` is invalid"
            ));
        }
        let mut out = Collector::new(Ecosystem::RubyGems, file.path);
        out.package(name, version, gem_purl(name, version));
        Ok(out.finish())
    }
}

/// The first `"..."` or `'...'` literal in a Ruby expression (`"1.0".freeze`,
/// `Gem::Version.new("1.0")`).
fn first_string_literal(expr: &str) -> Option<&str> {
    let start = expr.find(['"', '\''])?;
    let quote = expr[start..].chars().next()?;
    let rest = &expr[start + 1..];
    let end = rest.find(quote)?;
    Some(&rest[..end])
}
