//! Asset domain: instance types, statuses, what a cluster sync observes, and the rules that
//! classify an asset (sandboxed or standard, protectable or not, cores metered).

use crate::config::Settings;
use crate::metering::Millicores;
pub use podwarden_api::agent::{Capabilities, SourceKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Annotation that marks a pod as sandboxed when its runtime class does not say so.
pub const SANDBOXED_ANNOTATION: &str = "podwarden.io/sandboxed";
/// Annotation naming a pod's instance type (`podwarden.io/instance-type: sandboxed`).
pub const INSTANCE_TYPE_ANNOTATION: &str = "podwarden.io/instance-type";

/// A standard container instance or a sandboxed one (gVisor, Kata, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InstanceType {
    Standard,
    Sandboxed,
}

impl InstanceType {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceType::Standard => "standard",
            InstanceType::Sandboxed => "sandboxed",
        }
    }

    pub fn parse(text: &str) -> Option<InstanceType> {
        match text {
            "standard" => Some(InstanceType::Standard),
            "sandboxed" => Some(InstanceType::Sandboxed),
            _ => None,
        }
    }

    /// The protections this instance type gets: standard all three, sandboxed alerts only.
    pub fn capabilities(self) -> Capabilities {
        match self {
            InstanceType::Standard => Capabilities {
                alerts: true,
                vulnerability: true,
                baseline: true,
            },
            InstanceType::Sandboxed => Capabilities {
                alerts: true,
                vulnerability: false,
                baseline: false,
            },
        }
    }
}

/// Lifecycle of an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AssetStatus {
    Running,
    Pending,
    /// The pod ended (succeeded or failed) but still exists.
    Terminated,
    Unknown,
    /// The pod no longer exists at its source.
    Gone,
}

impl AssetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetStatus::Running => "running",
            AssetStatus::Pending => "pending",
            AssetStatus::Terminated => "terminated",
            AssetStatus::Unknown => "unknown",
            AssetStatus::Gone => "gone",
        }
    }

    pub fn parse(text: &str) -> Option<AssetStatus> {
        [
            AssetStatus::Running,
            AssetStatus::Pending,
            AssetStatus::Terminated,
            AssetStatus::Unknown,
            AssetStatus::Gone,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Whether the center can protect an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Protectable {
    /// All protections of its instance type.
    Yes,
    /// Sandboxed: alert detection only.
    AlertsOnly,
    /// Cannot be protected (never bound, never metered).
    No,
}

impl Protectable {
    pub fn as_str(self) -> &'static str {
        match self {
            Protectable::Yes => "yes",
            Protectable::AlertsOnly => "alerts-only",
            Protectable::No => "no",
        }
    }

    pub fn parse(text: &str) -> Option<Protectable> {
        match text {
            "yes" => Some(Protectable::Yes),
            "alerts-only" => Some(Protectable::AlertsOnly),
            "no" => Some(Protectable::No),
            _ => None,
        }
    }
}

/// Reason given for app-engine instances too small to protect.
pub const APP_ENGINE_TOO_SMALL: &str =
    "app engine instances with 0.5 core or less cannot be protected (stability)";
/// Reason given for sandboxed instances.
pub const SANDBOXED_ALERTS_ONLY: &str =
    "sandboxed runtime: alert detection only (no vulnerability scan or baseline check)";

/// The protectable verdict and its reason.
pub fn protectable_verdict(
    source_kind: SourceKind,
    instance_type: InstanceType,
    millicores: Millicores,
) -> (Protectable, Option<&'static str>) {
    if source_kind == SourceKind::AppEngine && millicores <= 500 {
        return (Protectable::No, Some(APP_ENGINE_TOO_SMALL));
    }
    match instance_type {
        InstanceType::Sandboxed => (Protectable::AlertsOnly, Some(SANDBOXED_ALERTS_ONLY)),
        InstanceType::Standard => (Protectable::Yes, None),
    }
}

/// Sandboxed when the runtime class is one of the configured sandboxed classes or the pod
/// carries `podwarden.io/sandboxed: "true"` or `podwarden.io/instance-type: sandboxed`.
pub fn classify_instance_type(
    runtime_class: Option<&str>,
    annotations: &BTreeMap<String, String>,
    settings: &Settings,
) -> InstanceType {
    let by_class = runtime_class.is_some_and(|class| {
        settings.sandboxed_runtime_classes.contains(class)
            || class.starts_with("kata")
            || class.starts_with("gvisor")
    });
    let by_annotation = annotations
        .get(SANDBOXED_ANNOTATION)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || annotations
            .get(INSTANCE_TYPE_ANNOTATION)
            .is_some_and(|v| v.eq_ignore_ascii_case("sandboxed"));
    if by_class || by_annotation {
        InstanceType::Sandboxed
    } else {
        InstanceType::Standard
    }
}

/// Cores metered: the CPU limit, else the request, else the configured default.
pub fn effective_millicores(
    limit: Option<Millicores>,
    request: Option<Millicores>,
    default: Millicores,
) -> Millicores {
    limit
        .filter(|m| *m > 0)
        .or(request.filter(|m| *m > 0))
        .unwrap_or(default)
}

/// One pod as a source (cluster) reports it; the input of
/// [`Store::upsert_assets_from_source`](crate::store::Store::upsert_assets_from_source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedPod {
    pub uid: String,
    pub name: String,
    pub namespace: String,
    pub cluster: String,
    pub source_kind: SourceKind,
    pub owner_kind: Option<String>,
    pub owner_name: Option<String>,
    pub node_name: Option<String>,
    pub runtime_class: Option<String>,
    pub images: Vec<String>,
    /// CPU limit in millicores (sum over the pod's containers), if any container has one.
    pub cpu_limit_millicores: Option<Millicores>,
    /// CPU request in millicores (sum over the pod's containers), if any.
    pub cpu_request_millicores: Option<Millicores>,
    pub annotations: BTreeMap<String, String>,
    /// Running, pending, terminated or unknown (never gone: the store decides that).
    pub status: AssetStatus,
    pub restart_count: i64,
    /// When the pod was created (Unix ms), if known.
    pub created_at_ms: Option<i64>,
}

/// What a sync changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncCounts {
    pub added: u64,
    pub updated: u64,
    pub gone: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let cases = [
            (
                SourceKind::AppEngine,
                InstanceType::Standard,
                500,
                Protectable::No,
            ),
            (
                SourceKind::AppEngine,
                InstanceType::Standard,
                501,
                Protectable::Yes,
            ),
            (
                SourceKind::AppEngine,
                InstanceType::Sandboxed,
                250,
                Protectable::No,
            ),
            (
                SourceKind::K8sServerless,
                InstanceType::Sandboxed,
                250,
                Protectable::AlertsOnly,
            ),
            (
                SourceKind::ContainerCompute,
                InstanceType::Standard,
                100,
                Protectable::Yes,
            ),
        ];
        for (kind, instance, millicores, expected) in cases {
            assert_eq!(protectable_verdict(kind, instance, millicores).0, expected);
        }
    }

    #[test]
    fn cores_come_from_limit_then_request_then_default() {
        assert_eq!(effective_millicores(Some(500), Some(250), 1000), 500);
        assert_eq!(effective_millicores(None, Some(250), 1000), 250);
        assert_eq!(effective_millicores(None, None, 1000), 1000);
        assert_eq!(effective_millicores(Some(0), None, 1000), 1000);
    }

    #[test]
    fn sandboxed_by_class_or_annotation() {
        let settings = Settings::defaults();
        let none = BTreeMap::new();
        let marked = BTreeMap::from([(SANDBOXED_ANNOTATION.to_string(), "true".to_string())]);
        assert_eq!(
            classify_instance_type(Some("gvisor"), &none, &settings),
            InstanceType::Sandboxed
        );
        assert_eq!(
            classify_instance_type(Some("kata-qemu"), &none, &settings),
            InstanceType::Sandboxed
        );
        assert_eq!(
            classify_instance_type(Some("runc"), &none, &settings),
            InstanceType::Standard
        );
        assert_eq!(
            classify_instance_type(None, &marked, &settings),
            InstanceType::Sandboxed
        );
        assert_eq!(
            classify_instance_type(None, &none, &settings),
            InstanceType::Standard
        );
    }
}
