//! PHP packages: `composer.lock` (`packages` and `packages-dev`) and Composer's installed list
//! `vendor/composer/installed.json` (Composer 1 array or Composer 2 `{"packages": [...]}`).

use super::{Collector, read_text};
use crate::inventory::purl::purl;
use crate::inventory::{DetectContext, Detected, Detector, Ecosystem, FileContents, FileInfo};
use serde_json::Value;

/// The purl of a Composer package `vendor/name`.
pub fn composer_purl(name: &str, version: &str) -> String {
    match name.split_once('/') {
        Some((vendor, bare)) => purl("composer", Some(vendor), bare, version, &[]),
        None => purl("composer", None, name, version, &[]),
    }
}

/// Drops a leading `v`/`V` before a digit (`v5.4.0` → `5.4.0`), as Composer's version parser
/// does and as OSV's Packagist records write versions. Branch versions (`dev-main`) stay.
pub fn normalize_composer_version(version: &str) -> &str {
    match version.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => version,
    }
}

/// Reads `composer.lock` and `vendor/composer/installed.json`.
pub struct ComposerDetector;

impl Detector for ComposerDetector {
    fn name(&self) -> &'static str {
        "composer"
    }

    fn may_want(&self, path: &str, file_name: &str) -> bool {
        file_name == "composer.lock" || path.ends_with("vendor/composer/installed.json")
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
        let doc: Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "invalid {} at line {}, column {}: {e}",
                file.file_name,
                e.line(),
                e.column()
            )
        })?;
        let lists: Vec<(&str, &Vec<Value>)> = match &doc {
            Value::Array(list) => vec![("[]", list)], // Composer 1 installed.json
            Value::Object(map) => ["packages", "packages-dev"]
                .into_iter()
                .filter_map(|key| Some((key, map.get(key)?.as_array()?)))
                .collect(),
            _ => return Err(format!("invalid {}: not a JSON object", file.file_name)),
        };
        if lists.is_empty() && doc.get("packages").is_some() {
            return Err(format!(
                "invalid {}: `packages` is not a list",
                file.file_name
            ));
        }
        let mut out = Collector::new(Ecosystem::Packagist, file.path);
        for (key, list) in lists {
            for (index, entry) in list.iter().enumerate() {
                let field = |k: &str| entry.get(k).and_then(Value::as_str);
                let (Some(name), Some(version)) = (field("name"), field("version")) else {
                    out.warn(format!("{key}[{index}] has no string `name` and `version`"));
                    continue;
                };
                let version = normalize_composer_version(version);
                if name.is_empty() || version.is_empty() {
                    out.warn(format!("{key}[{index}] has an empty `name` or `version`"));
                    continue;
                }
                out.package(name, version, composer_purl(name, version));
            }
        }
        Ok(out.finish())
    }
}
