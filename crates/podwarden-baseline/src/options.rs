//! What to check and how: level, Pod Security Standards version, custom pod-bearing kinds,
//! exemptions, and the configuration file that sets them.

use crate::exempt::{ExemptionRule, Exemptions};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Exactly the Pod Security Standards Baseline profile.
    Baseline,
    /// Exactly the Pod Security Standards Restricted profile (which includes Baseline).
    Restricted,
    /// Restricted plus Podwarden's hardening checks.
    #[default]
    All,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
            Level::All => "all",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        match text.trim().to_ascii_lowercase().as_str() {
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            "all" => Some(Level::All),
            _ => None,
        }
    }
}

/// A Pod Security Standards policy version `v1.<minor>` (what
/// `pod-security.kubernetes.io/enforce-version` selects).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct PssVersion {
    minor: u32,
}

impl PssVersion {
    /// The newest policy version this build knows; `latest` means this one, and newer
    /// versions are evaluated as this one (like upstream does).
    pub const LATEST: PssVersion = PssVersion { minor: 37 };

    pub fn new(minor: u32) -> PssVersion {
        PssVersion { minor }
    }

    /// The minor number, capped at [`PssVersion::LATEST`].
    pub fn minor(self) -> u32 {
        self.minor.min(Self::LATEST.minor)
    }

    /// Parses `latest`, `v1.N` or `1.N`.
    pub fn parse(text: &str) -> Result<PssVersion, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("latest") {
            return Ok(Self::LATEST);
        }
        let bare = text.strip_prefix('v').unwrap_or(text);
        let minor = bare
            .strip_prefix("1.")
            .and_then(|m| m.parse::<u32>().ok())
            .filter(|m| *m < 1000)
            .ok_or_else(|| {
                format!("invalid Pod Security Standards version {text:?}: expected latest or v1.N")
            })?;
        Ok(PssVersion { minor })
    }
}

impl Default for PssVersion {
    fn default() -> Self {
        Self::LATEST
    }
}

impl fmt::Display for PssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v1.{}", self.minor)
    }
}

impl From<PssVersion> for String {
    fn from(v: PssVersion) -> String {
        v.to_string()
    }
}

impl TryFrom<String> for PssVersion {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        PssVersion::parse(&s)
    }
}

/// A custom resource kind that carries a pod template, e.g. Argo Rollout → `spec.template`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomKind {
    /// API group (`argoproj.io`) or full apiVersion (`argoproj.io/v1alpha1`); any group when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: String,
    /// Dotted path to a PodTemplateSpec (an object with `metadata` and `spec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_path: Option<String>,
    /// Dotted path to a bare PodSpec (an object with `containers`), for kinds that embed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_spec_path: Option<String>,
}

impl CustomKind {
    /// `kind` in API group `group` (any version) with its pod template at `template_path`.
    pub fn template(group: &str, kind: &str, template_path: &str) -> CustomKind {
        CustomKind {
            api_version: Some(group.to_string()),
            kind: kind.to_string(),
            template_path: Some(template_path.to_string()),
            pod_spec_path: None,
        }
    }

    /// Whether this entry describes objects of `api_version` / `kind`.
    pub fn matches(&self, api_version: &str, kind: &str) -> bool {
        if self.kind != kind {
            return false;
        }
        match &self.api_version {
            None => true,
            Some(want) if want.contains('/') => want == api_version,
            Some(group) => api_version.split('/').next() == Some(group.as_str()),
        }
    }
}

/// The custom kinds known without configuration.
pub fn default_custom_kinds() -> Vec<CustomKind> {
    vec![
        CustomKind::template("argoproj.io", "Rollout", "spec.template"),
        CustomKind::template("apps.kruise.io", "CloneSet", "spec.template"),
        CustomKind::template("serving.knative.dev", "Service", "spec.template"),
        CustomKind::template("serving.knative.dev", "Configuration", "spec.template"),
    ]
}

/// Everything that steers a check run. `Options::default()` is level `all` at the latest
/// Pod Security Standards version with the default custom kinds and no exemptions.
#[derive(Debug, Clone)]
pub struct Options {
    pub level: Level,
    pub pss_version: PssVersion,
    pub custom_kinds: Vec<CustomKind>,
    pub exemptions: Exemptions,
    /// "Now", for exemption expiry. The library reads no clock: with `None`, expiry dates are
    /// not evaluated and every exemption is active.
    pub now: Option<jiff::Timestamp>,
    /// Relax runAsNonRoot and runAsUser for pods with `hostUsers: false`, as upstream does when
    /// the `UserNamespacesPodSecurityStandards` feature gate is on (off by default upstream).
    pub relax_user_namespace_pods: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            level: Level::All,
            pss_version: PssVersion::LATEST,
            custom_kinds: default_custom_kinds(),
            exemptions: Exemptions::default(),
            now: None,
            relax_user_namespace_pods: false,
        }
    }
}

impl Options {
    /// Options for exactly one Pod Security Standards level and version.
    pub fn pss(level: Level, version: PssVersion) -> Options {
        Options {
            level,
            pss_version: version,
            ..Options::default()
        }
    }

    /// Adds a configuration file's settings to these options.
    pub fn apply_config(&mut self, config: Config) {
        if let Some(honour) = config.annotations {
            self.exemptions.honour_annotations = honour;
        }
        self.exemptions.rules.extend(config.exemptions);
        self.custom_kinds.extend(config.custom_kinds);
        if let Some(relax) = config.relax_user_namespace_pods {
            self.relax_user_namespace_pods = relax;
        }
    }
}

/// The configuration file (YAML or JSON):
///
/// ```yaml
/// annotations: true              # honour podwarden.io/skip annotations (default true)
/// exemptions:
///   - checks: [pss.hostNamespaces, hardening.root-container]   # ids; `*` and `pss.*` globs
///     namespace: monitoring      # each matcher optional; `*` globs allowed
///     kind: DaemonSet
///     name: node-exporter
///     container: exporter
///     reason: node metrics need the host network
///     expires: 2026-12-31        # date (end of that day, UTC) or RFC 3339 time
/// customKinds:
///   - apiVersion: argoproj.io    # group or group/version; optional
///     kind: Rollout
///     templatePath: spec.template      # PodTemplateSpec; or podSpecPath for a bare PodSpec
/// relaxUserNamespacePods: false
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub annotations: Option<bool>,
    #[serde(default)]
    pub exemptions: Vec<ExemptionRule>,
    #[serde(default)]
    pub custom_kinds: Vec<CustomKind>,
    #[serde(default)]
    pub relax_user_namespace_pods: Option<bool>,
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ConfigError {
    pub origin: String,
    pub message: String,
}

impl Config {
    /// Parses a configuration file's text; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError {
            origin: origin.to_string(),
            message,
        };
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        let config: Config = if trimmed.starts_with('{') {
            serde_json::from_str(trimmed).map_err(|e| err(e.to_string()))?
        } else if trimmed.is_empty() {
            Config::default()
        } else {
            serde_saphyr::from_str_with_options(text, crate::manifest::yaml_options())
                .map_err(|e| err(crate::manifest::one_line(&e.to_string())))?
        };
        for (i, rule) in config.exemptions.iter().enumerate() {
            rule.validate()
                .map_err(|m| err(format!("exemptions[{i}]: {m}")))?;
        }
        for (i, kind) in config.custom_kinds.iter().enumerate() {
            if kind.template_path.is_some() == kind.pod_spec_path.is_some() {
                return Err(err(format!(
                    "customKinds[{i}] ({}): set exactly one of templatePath and podSpecPath",
                    kind.kind
                )));
            }
        }
        Ok(config)
    }
}
