//! Wire types of the agent channel (`/agent/v1/enroll`, `/agent/v1/heartbeat`): what an agent
//! sends to the center to enrol and stay online, and what the center answers.
//!
//! Authentication is not part of the bodies: enrolment carries the tenant's enrolment token in
//! `Authorization: Bearer pwe_...`; every later call carries the per-agent credential returned
//! by enrolment (`Authorization: Bearer pwa_...`).

use serde::{Deserialize, Serialize};

/// How the agent runs: inside the pod as a sidecar, or as a plain process on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AgentMode {
    /// A sidecar container sharing the pod's process namespace.
    Sidecar,
    /// A plain process on a machine (development, non-Kubernetes use).
    Host,
}

impl AgentMode {
    /// The wire name (`sidecar`, `host`).
    pub fn as_str(self) -> &'static str {
        match self {
            AgentMode::Sidecar => "sidecar",
            AgentMode::Host => "host",
        }
    }
}

/// Where an asset comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// Pods a normal cluster schedules onto a virtual node.
    K8sVirtualNode,
    /// Pods of a serverless cluster.
    K8sServerless,
    /// Pods of a container compute service.
    ContainerCompute,
    /// Instances of a serverless application engine.
    AppEngine,
}

impl SourceKind {
    /// Every kind, in display order.
    pub const ALL: [SourceKind; 4] = [
        SourceKind::K8sVirtualNode,
        SourceKind::K8sServerless,
        SourceKind::ContainerCompute,
        SourceKind::AppEngine,
    ];

    /// The wire name (`k8s-virtual-node`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::K8sVirtualNode => "k8s-virtual-node",
            SourceKind::K8sServerless => "k8s-serverless",
            SourceKind::ContainerCompute => "container-compute",
            SourceKind::AppEngine => "app-engine",
        }
    }

    /// Parses a wire name; `None` when it is not one of the four kinds.
    pub fn parse(text: &str) -> Option<SourceKind> {
        SourceKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// Which protections apply to an asset (by its instance type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capabilities {
    /// Real-time alert detection (webshells, network, processes).
    pub alerts: bool,
    /// Periodic vulnerability scan.
    pub vulnerability: bool,
    /// Periodic baseline check.
    pub baseline: bool,
}

/// `POST /agent/v1/enroll` body: who the agent is and where it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// Name of the pod the agent protects (downward API); empty in host mode.
    #[serde(default)]
    pub pod_name: String,
    /// Namespace of the pod; empty in host mode.
    #[serde(default)]
    pub pod_namespace: String,
    /// UID of the pod; the asset key. Empty in host mode, where the hostname keys the asset.
    #[serde(default)]
    pub pod_uid: String,
    /// A hint naming the cluster (e.g. from an env var set by the injector).
    #[serde(default)]
    pub cluster_hint: String,
    /// The source kind when the agent knows it; the center assumes `container-compute`
    /// for pods and keeps what a cluster sync found when the asset already exists.
    #[serde(default)]
    pub source_kind: Option<SourceKind>,
    /// Container id of the agent's container (sidecar) or empty.
    #[serde(default)]
    pub container_id: String,
    /// The agent's version (`podwarden --version`).
    pub agent_version: String,
    /// Sidecar or host process.
    pub mode: AgentMode,
    /// Hostname as seen by the agent.
    #[serde(default)]
    pub hostname: String,
}

/// `POST /agent/v1/enroll` answer: the per-agent credential (shown once) and the cadence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    /// Id of the agent record.
    pub agent_id: i64,
    /// Id of the asset the agent protects (created or attached to).
    pub asset_id: i64,
    /// The agent's own credential (`pwa_...`); keep it, it is not shown again.
    pub credential: String,
    /// Send a heartbeat this often.
    pub heartbeat_interval_secs: u64,
    /// Without a heartbeat for this long the agent counts as offline.
    pub online_window_secs: u64,
    /// The center's wire format version.
    pub wire_version: u32,
}

/// `POST /agent/v1/heartbeat` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    /// The agent's version (it may change after an upgrade without re-enrolling).
    pub agent_version: String,
    /// How the agent is doing (collectors, spool, footprint); shown in the asset's detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<crate::uplink::AgentStatus>,
}

/// `POST /agent/v1/heartbeat` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatResponse {
    /// Id of the asset this agent protects.
    pub asset_id: i64,
    /// Send the next heartbeat after this many seconds.
    pub heartbeat_interval_secs: u64,
    /// Whether protection is active for this asset now (switch on, not paused, tenant not
    /// overdue, asset bound and protectable). When false the agent only heartbeats.
    pub protection_active: bool,
    /// Which protections apply to this asset (by its instance type).
    pub capabilities: Capabilities,
    /// Commands waiting for this agent at `/agent/v1/commands`.
    pub pending_commands: u64,
    /// The center's clock (Unix milliseconds), for diagnostics.
    pub server_time_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_kind_round_trips_its_wire_names() {
        for kind in SourceKind::ALL {
            assert_eq!(SourceKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(SourceKind::parse("k8s"), None);
    }

    #[test]
    fn enroll_request_refuses_unknown_fields() {
        let good = r#"{"agent_version":"0.1.0","mode":"host","hostname":"h"}"#;
        let parsed: Result<EnrollRequest, _> = serde_json::from_str(good);
        assert!(parsed.is_ok(), "{parsed:?}");
        let bad = r#"{"agent_version":"0.1.0","mode":"host","surprise":1}"#;
        let parsed: Result<EnrollRequest, _> = serde_json::from_str(bad);
        assert!(parsed.is_err());
    }
}
