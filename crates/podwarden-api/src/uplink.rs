//! Wire types of what an agent uploads after enrolment and what the center asks of it:
//! detections (`/agent/v1/events`), inventories (`/agent/v1/inventory`), the pod spec, agent
//! status, and commands with their results (`/agent/v1/commands`).
//!
//! Every upload carries ids made by the agent, so a retried batch is stored once.

use crate::event::{Container, Event};
use serde::{Deserialize, Serialize};

/// The three alert types of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AlertType {
    /// A webshell file, or webshell behaviour (a shell spawned by a web process).
    Webshell,
    /// Abnormal network connection (reverse shell, mining pool, unexpected listener, ...).
    Network,
    /// Suspicious process (miner, download-and-execute, run from /tmp, escalation, ...).
    Process,
}

/// Alert severity, most severe last so that `Ord` sorts by gravity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// A file involved in a detection (a webshell written to a web root, a binary run from /tmp).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileEvidence {
    /// Absolute path inside the workload container's filesystem.
    pub path: String,
    /// SHA-256 of the content, hex.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    /// Webshell rules that matched, with a short excerpt each.
    #[serde(default)]
    pub matches: Vec<ContentMatch>,
    /// Webshell score (0-100) when the content scanner judged the file.
    #[serde(default)]
    pub score: Option<u32>,
}

/// One content rule hit inside a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContentMatch {
    pub rule: String,
    #[serde(default)]
    pub line: Option<u32>,
    /// A short printable excerpt (bounded by the agent).
    #[serde(default)]
    pub excerpt: String,
}

/// Something the agent detected: becomes (or adds to) an alert at the center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Detection {
    /// Agent-made id, unique for this agent forever (the idempotency key).
    pub id: String,
    /// When it was seen, Unix milliseconds (agent clock).
    pub ts: u64,
    pub alert_type: AlertType,
    pub severity: AlertSeverity,
    /// Stable id of the rule (`PW-PROC-001`, a Falco rule name, a YARA rule name).
    pub rule_id: String,
    /// Human title of the rule.
    pub rule_name: String,
    /// What happened, rendered by the rule (Falco `output` style).
    pub description: String,
    /// What to do about it.
    #[serde(default)]
    pub advice: Option<String>,
    /// The runtime event that triggered it (carries the process and its ancestors, the
    /// connection, the file). None for a detection from a file sweep.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub event: Option<Event>,
    /// The file, when one is involved.
    #[serde(default)]
    pub file: Option<FileEvidence>,
    /// Container context when the event has none of its own.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub container: Option<Container>,
}

/// `POST /agent/v1/events` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventBatch {
    pub detections: Vec<Detection>,
    /// Detections the agent had to drop (spool full) since it last reported a loss; the center
    /// records the loss so that it is never silent.
    #[serde(default)]
    pub dropped: Option<LossReport>,
}

/// Detections lost by the agent, by severity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LossReport {
    pub info: u64,
    pub low: u64,
    pub medium: u64,
    pub high: u64,
    pub critical: u64,
    /// Oldest and newest timestamps (Unix ms) among the dropped detections.
    pub from_ts: u64,
    pub to_ts: u64,
}

/// `POST /agent/v1/events` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventBatchResponse {
    /// Detections stored now.
    pub accepted: u32,
    /// Detections already stored earlier (a retried batch).
    pub duplicates: u32,
    /// Detections suppressed by a whitelist rule (stored as suppressed, not raised).
    pub suppressed: u32,
    /// Detections dropped because protection is not active for the asset (switched off,
    /// paused, tenant overdue, asset not bound); `dropped_reason` says which.
    #[serde(default)]
    pub dropped: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_reason: Option<String>,
}

/// `POST /agent/v1/inventory` and `POST /agent/v1/podspec` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadResponse {
    /// The upload id was seen before (a retry): nothing changed.
    pub duplicate: bool,
    /// The upload was stored (false for a duplicate, a stale upload older than the stored
    /// one, or when the asset is not protected).
    pub stored: bool,
    /// Why it was not stored or not checked, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Findings (vulnerabilities or baseline risks) the upload produced.
    #[serde(default)]
    pub findings: u32,
}

/// `GET /agent/v1/commands` answer: the commands to run, oldest first. Each is delivered
/// again after a lease (default 5 minutes) until its result is posted, at most 3 times.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandList {
    pub commands: Vec<Command>,
}

/// `POST /agent/v1/commands` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandResultsResponse {
    /// Results recorded now.
    pub recorded: u32,
    /// Results already recorded (a retry).
    pub duplicates: u32,
    /// Results naming a command this agent was never given.
    pub unknown: u32,
}

/// One package as the agent's inventory found it (mirrors the scan crate's `Package`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackageRecord {
    /// OSV ecosystem name without release (`Debian`, `Alpine`, `PyPI`, `crates.io`, ...).
    pub ecosystem: String,
    /// OS release as OSV appends it (`12`, `v3.20`, `22.04`), for OS packages.
    #[serde(default)]
    pub release: Option<String>,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub source_name: Option<String>,
    #[serde(default)]
    pub source_version: Option<String>,
    /// File it was found in, relative to the container's root.
    pub location: String,
    pub purl: String,
}

/// The OS of a scanned container root (`/etc/os-release`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OsInfo {
    pub id: String,
    #[serde(default)]
    pub version_id: Option<String>,
    #[serde(default)]
    pub pretty_name: Option<String>,
}

/// `POST /agent/v1/inventory` body: one container's packages; replaces the previous inventory
/// of that container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryUpload {
    /// Agent-made id of this upload (idempotency key).
    pub id: String,
    /// Unix ms when the inventory was taken.
    pub scanned_at: u64,
    /// Container name (sidecar mode) or hostname (host mode).
    pub container: String,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub os: Option<OsInfo>,
    pub packages: Vec<PackageRecord>,
    /// Files that could not be read, with the reason.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// `POST /agent/v1/podspec` body: the pod's spec as the agent sees it (downward API / file),
/// for baseline checks of assets the center cannot read from a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PodSpecUpload {
    pub id: String,
    pub observed_at: u64,
    /// A Kubernetes Pod object (apiVersion, kind, metadata, spec).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub pod: serde_json::Value,
}

/// What the agent can do and how it is doing; sent with heartbeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentStatus {
    /// Collectors in use (`proc-poll`, `netlink-proc-connector`, `inotify`, `fanotify`, ...).
    #[serde(default)]
    pub collectors: Vec<String>,
    /// Process-poll interval in milliseconds.
    #[serde(default)]
    pub poll_interval_ms: u64,
    /// Detections waiting in the spool.
    #[serde(default)]
    pub spooled: u64,
    /// Detections dropped since start because the spool was full.
    #[serde(default)]
    pub dropped_total: u64,
    /// The agent's own resident memory and CPU use, for footprint monitoring.
    #[serde(default)]
    pub rss_bytes: u64,
    #[serde(default)]
    pub cpu_millis_total: u64,
    /// Web roots being watched for webshells.
    #[serde(default)]
    pub web_roots: Vec<String>,
}

/// A command the center queued for an agent (`GET /agent/v1/commands`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Command {
    /// Center-made id; the result names it.
    pub id: i64,
    pub action: CommandAction,
    /// The alert the command handles, if any.
    #[serde(default)]
    pub alert_id: Option<i64>,
}

/// What a command asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommandAction {
    /// Move a file into the agent's quarantine vault.
    Quarantine { path: String },
    /// Kill a process, only if it is still the same one (pid and start time).
    Kill { pid: u32, start_ts: u64 },
    /// Put a quarantined file back.
    Restore {
        vault_id: String,
        #[serde(default)]
        overwrite: bool,
    },
    /// Run a scan now.
    Rescan { scan: RescanKind },
}

/// Which scan a rescan command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RescanKind {
    Vulnerability,
    Baseline,
    Webshell,
}

/// `POST /agent/v1/commands` body: results of commands the agent ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandResults {
    pub results: Vec<CommandResult>,
}

/// The outcome of one command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandResult {
    pub command_id: i64,
    pub ok: bool,
    /// What happened, for people (`moved /var/www/x.php to the vault as 3f2a...`).
    pub message: String,
    /// For a quarantine: the vault id and SHA-256 of the file.
    #[serde(default)]
    pub vault_id: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    /// Unix ms when it ran.
    pub finished_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_actions_use_tagged_snake_case() {
        let cmd = Command {
            id: 7,
            action: CommandAction::Kill {
                pid: 42,
                start_ts: 1000,
            },
            alert_id: Some(3),
        };
        let json = serde_json::to_value(&cmd).unwrap_or_default();
        assert_eq!(json["action"]["kind"], "kill");
        assert_eq!(json["action"]["pid"], 42);
        let back: Command = serde_json::from_value(json).unwrap_or(Command {
            id: 0,
            action: CommandAction::Rescan {
                scan: RescanKind::Webshell,
            },
            alert_id: None,
        });
        assert_eq!(back, cmd);
    }

    #[test]
    fn severities_order_by_gravity() {
        assert!(AlertSeverity::Critical > AlertSeverity::High);
        assert!(AlertSeverity::Low > AlertSeverity::Info);
    }
}
