//! The agent's settings and the pod identity it reads from the environment.
//!
//! Environment of an injected sidecar (all optional):
//!
//! | variable | meaning |
//! |---|---|
//! | `POD_NAME`, `POD_NAMESPACE`, `POD_UID` | the pod (downward API `metadata.name`, `metadata.namespace`, `metadata.uid`) |
//! | `PODWARDEN_CLUSTER` | a hint naming the cluster, passed to the center at enrolment |
//! | `PODWARDEN_SOURCE_KIND` | `k8s-virtual-node`, `k8s-serverless`, `container-compute` or `app-engine` |
//! | `PODWARDEN_CONTAINER_TYPE` | `sidecar` makes sidecar mode the default |
//! | `PODWARDEN_PODINFO_DIR` | a downward API volume (default `/etc/podinfo`); its `labels` file gives the pod labels |
//! | `PODWARDEN_POD_SPEC_FILE` | a mounted pod manifest (JSON or YAML), uploaded for baseline checks |
//! | `PODWARDEN_POD_SPEC` | the same, inline JSON |
//! | `HOSTNAME` | the host name (the pod name in a pod) |

use crate::collect::container::PodIdentity;
use podwarden_api::agent::{AgentMode, EnrollRequest, SourceKind};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Largest pod spec or labels file read.
const MAX_POD_FILE: u64 = 1 << 20;

/// Everything the agent runs with.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Base URL of the center; `None` when uploads are off.
    pub server: Option<String>,
    /// The tenant's enrolment token.
    pub token: Option<String>,
    pub mode: AgentMode,
    /// Extra web roots (container paths in sidecar mode).
    pub web_roots: Vec<String>,
    /// Credential, spool, outbox and vault live here.
    pub state_dir: PathBuf,
    pub ca_file: Option<PathBuf>,
    pub poll_interval: Duration,
    pub spool_max_bytes: u64,
    /// With uploads off, detections are written here as JSON lines (`None`: standard output).
    pub events_out: Option<PathBuf>,
    /// Where procfs is mounted.
    pub proc_path: PathBuf,
    /// Extra rule files (Falco format or Podwarden's).
    pub rule_files: Vec<PathBuf>,
    /// Extra YARA rule files for the webshell scanner.
    pub yara_files: Vec<PathBuf>,
    /// Inventory interval when the center does not say.
    pub inventory_interval: Duration,
    /// Delay before the first inventory.
    pub inventory_delay: Duration,
    /// Sweep of the web roots (changed files only).
    pub sweep_interval: Duration,
    /// Use the netlink process connector where allowed.
    pub netlink: bool,
    /// Pod identity.
    pub identity: Identity,
}

impl AgentConfig {
    /// Defaults for a mode, uploading to `server`.
    pub fn new(
        mode: AgentMode,
        server: Option<String>,
        token: Option<String>,
        state_dir: PathBuf,
    ) -> AgentConfig {
        AgentConfig {
            server,
            token,
            mode,
            web_roots: Vec::new(),
            state_dir,
            ca_file: None,
            poll_interval: Duration::from_millis(100),
            spool_max_bytes: 64 << 20,
            events_out: None,
            proc_path: PathBuf::from("/proc"),
            rule_files: Vec::new(),
            yara_files: Vec::new(),
            inventory_interval: Duration::from_secs(24 * 3600),
            inventory_delay: Duration::from_secs(60),
            sweep_interval: Duration::from_secs(600),
            netlink: true,
            identity: Identity::default(),
        }
    }
}

/// Who and where the agent is.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub pod_name: String,
    pub namespace: String,
    pub pod_uid: String,
    pub cluster: String,
    pub source_kind: Option<SourceKind>,
    pub labels: BTreeMap<String, String>,
    /// The pod object, when mounted or given.
    pub pod_spec: Option<serde_json::Value>,
    /// Problems reading the pod spec (reported in the log, never fatal).
    pub warnings: Vec<String>,
    pub hostname: String,
}

impl Identity {
    /// Reads the identity through `env` (a lookup of environment variables) and the files
    /// they name.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Identity {
        let var = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut identity = Identity {
            pod_name: var("POD_NAME").unwrap_or_default(),
            namespace: var("POD_NAMESPACE").unwrap_or_default(),
            pod_uid: var("POD_UID").unwrap_or_default(),
            cluster: var("PODWARDEN_CLUSTER").unwrap_or_default(),
            source_kind: var("PODWARDEN_SOURCE_KIND").and_then(|k| SourceKind::parse(&k)),
            hostname: var("HOSTNAME")
                .or_else(|| {
                    std::fs::read_to_string("/etc/hostname")
                        .ok()
                        .map(|h| h.trim().to_string())
                })
                .unwrap_or_default(),
            ..Identity::default()
        };
        let podinfo = PathBuf::from(
            var("PODWARDEN_PODINFO_DIR").unwrap_or_else(|| "/etc/podinfo".to_string()),
        );
        if let Some(text) = read_bounded(&podinfo.join("labels")) {
            identity.labels = parse_downward_labels(&text);
        }
        let spec_text = match var("PODWARDEN_POD_SPEC_FILE") {
            Some(path) => match read_bounded(&PathBuf::from(&path)) {
                Some(text) => Some((path, text)),
                None => {
                    identity
                        .warnings
                        .push(format!("PODWARDEN_POD_SPEC_FILE {path}: cannot read it"));
                    None
                }
            },
            None => var("PODWARDEN_POD_SPEC").map(|text| ("PODWARDEN_POD_SPEC".to_string(), text)),
        };
        if let Some((origin, text)) = spec_text {
            match crate::scan::parse_pod(&text) {
                Ok(pod) => identity.pod_spec = Some(pod),
                Err(e) => identity.warnings.push(format!("{origin}: {e}")),
            }
        }
        if identity.labels.is_empty()
            && let Some(labels) = identity
                .pod_spec
                .as_ref()
                .and_then(|p| p.pointer("/metadata/labels"))
                .and_then(|l| l.as_object())
        {
            identity.labels = labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect();
        }
        identity
    }

    /// The identity copied into events.
    pub fn pod_identity(&self) -> PodIdentity {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        PodIdentity {
            pod_name: some(&self.pod_name),
            namespace: some(&self.namespace),
            pod_uid: some(&self.pod_uid),
            labels: self.labels.clone(),
            containers: self
                .pod_spec
                .as_ref()
                .map(crate::scan::workload_containers)
                .unwrap_or_default(),
        }
    }

    /// The enrolment request.
    pub fn enroll_request(&self, mode: AgentMode, container_id: String) -> EnrollRequest {
        EnrollRequest {
            pod_name: self.pod_name.clone(),
            pod_namespace: self.namespace.clone(),
            pod_uid: self.pod_uid.clone(),
            cluster_hint: self.cluster.clone(),
            source_kind: self.source_kind,
            container_id,
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            mode,
            hostname: self.hostname.clone(),
        }
    }
}

fn read_bounded(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_POD_FILE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// Parses a downward API `labels` file: `key="value"` per line, values quoted and escaped.
pub fn parse_downward_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .map(|v| v.replace("\\\"", "\"").replace("\\\\", "\\"))
            .unwrap_or_else(|| value.to_string());
        if !key.trim().is_empty() {
            labels.insert(key.trim().to_string(), value);
        }
    }
    labels
}
