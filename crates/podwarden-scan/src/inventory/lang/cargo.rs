//! Rust crates from `Cargo.lock` (lockfile versions 1 to 4).

use super::{Collector, read_text};
use crate::inventory::purl::purl;
use crate::inventory::{DetectContext, Detected, Detector, Ecosystem, FileContents, FileInfo};
use serde::Deserialize;

/// Reads `Cargo.lock`: every `[[package]]` with a registry or git `source`. Packages without a
/// source are the workspace's own members (or path dependencies) and are skipped.
pub struct CargoLockDetector;

#[derive(Deserialize)]
struct CargoLock {
    #[serde(default)]
    package: Vec<toml::Table>,
}

/// The crates.io index, as Cargo writes it in `source` (git index and sparse protocol).
const CRATES_IO_SOURCES: &[&str] = &[
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

impl Detector for CargoLockDetector {
    fn name(&self) -> &'static str {
        "cargo-lock"
    }

    fn may_want(&self, _path: &str, file_name: &str) -> bool {
        file_name == "Cargo.lock"
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
        let lock: CargoLock = toml::from_str(&text)
            .map_err(|e| format!("invalid Cargo.lock: {}", toml_error(&e, &text)))?;
        let mut out = Collector::new(Ecosystem::CratesIo, file.path);
        for (index, entry) in lock.package.iter().enumerate() {
            let field = |key: &str| entry.get(key).and_then(|v| v.as_str());
            let (Some(name), Some(version)) = (field("name"), field("version")) else {
                out.warn(format!(
                    "[[package]] #{} has no string `name` and `version`",
                    index + 1
                ));
                continue;
            };
            let Some(source) = field("source") else {
                continue; // a workspace member or path dependency: the project itself
            };
            let qualifiers: Vec<(&str, &str)> = if CRATES_IO_SOURCES.contains(&source) {
                Vec::new()
            } else if let Some(registry) = source
                .strip_prefix("registry+")
                .or_else(|| source.strip_prefix("sparse+"))
            {
                vec![("repository_url", registry)]
            } else if let Some(git) = source.strip_prefix("git+") {
                vec![("vcs_url", git)]
            } else {
                out.warn(format!(
                    "package {name} {version}: unknown source kind `{source}`"
                ));
                continue;
            };
            out.package(
                name,
                version,
                purl("cargo", None, name, version, &qualifiers),
            );
        }
        Ok(out.finish())
    }
}

/// Formats a TOML error with its line, which `toml` only carries as a byte span.
pub(crate) fn toml_error(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim_end();
    match error.span() {
        Some(span) => format!("line {}: {message}", super::line_of(text, span.start)),
        None => message.to_string(),
    }
}
