//! Findings: what a check reports, where it points (file, document, object, container) and how
//! it can be fixed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses `critical`, `high`, `medium`, `low` or `info` (any case).
    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Kubernetes object a finding belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.as_deref().unwrap_or("<unnamed>");
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, name),
            None => write!(f, "{} {}", self.kind, name),
        }
    }
}

/// Which list of the pod spec a container comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerKind {
    /// The pod spec field holding containers of this kind.
    pub fn field(self) -> &'static str {
        match self {
            ContainerKind::Init => "initContainers",
            ContainerKind::Regular => "containers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }
}

/// A container inside the pod spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContainerRef {
    pub name: String,
    pub kind: ContainerKind,
    /// Index in the pod spec list named by `kind`.
    pub index: usize,
}

/// Where a finding points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Location {
    /// The source name given to `check_source` (a path, or `-` for standard input).
    pub file: String,
    /// Index of the YAML (or JSON) document in the file, from 0.
    pub document: usize,
    /// Line (from 1) where the object starts.
    pub line: usize,
    /// Index of the object in the `items` of a `kind: List` document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    pub object: ObjectRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerRef>,
    /// JSON pointer (RFC 6901) of the offending field, relative to the document.
    pub path: String,
}

/// Whether `--fix` applies a fix by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixSafety {
    /// Does not change what the workload can do in practice; applied by `--fix`.
    Safe,
    /// May break the workload; applied only with `--fix=risky`.
    Risky,
}

/// One RFC 6902 JSON Patch operation; paths are relative to the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum PatchOp {
    Add {
        path: String,
        value: serde_json::Value,
    },
    Remove {
        path: String,
    },
    Replace {
        path: String,
        value: serde_json::Value,
    },
    Test {
        path: String,
        value: serde_json::Value,
    },
}

impl PatchOp {
    pub fn path(&self) -> &str {
        match self {
            PatchOp::Add { path, .. }
            | PatchOp::Remove { path }
            | PatchOp::Replace { path, .. }
            | PatchOp::Test { path, .. } => path,
        }
    }
}

/// A proposed fix for one finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    pub safety: FixSafety,
    /// What the patch does, in words.
    pub description: String,
    /// Why the fix is risky (only for risky fixes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    /// The minimal JSON Patch.
    pub patch: Vec<PatchOp>,
}

/// Where an exemption came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExemptionSource {
    /// An entry of the central exemptions file.
    File,
    /// A `podwarden.io/skip` annotation on the workload or its pod template.
    Annotation,
}

/// Why a finding is exempted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemption {
    pub source: ExemptionSource,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// One result of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id from the catalogue (`pss.<upstream id>` or `hardening.<name>`).
    pub check_id: String,
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// Why there is no automatic fix, when there is a specific reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_fix_reason: Option<String>,
    /// Set when an exemption matches: the finding is counted and listed, but does not fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<Exemption>,
}

impl Finding {
    /// Identity of a finding across a re-check: same check, object and container.
    pub fn key(&self) -> FindingKey {
        FindingKey {
            check_id: self.check_id.clone(),
            document: self.location.document,
            item: self.location.item,
            container: self
                .location
                .container
                .as_ref()
                .map(|c| (c.kind, c.name.clone())),
            path: self.location.path.clone(),
        }
    }

    pub fn is_exempted(&self) -> bool {
        self.exemption.is_some()
    }
}

/// See [`Finding::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FindingKey {
    pub check_id: String,
    pub document: usize,
    pub item: Option<usize>,
    pub container: Option<(ContainerKind, String)>,
    pub path: String,
}

impl PartialOrd for ContainerKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ContainerKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}
