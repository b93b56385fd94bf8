//! Agent sidecar injection: pure functions over manifests (`serde_json::Value`), shared by the
//! admission webhook ([`webhook`], served over TLS by [`tls`]) and `podwarden inject`.
//!
//! A pod template asks for the agent with the annotation `podwarden.io/agent: "enabled"` (or one
//! of the two aliases in [`ALIAS_ANNOTATIONS`] set to `"true"`), on the pod template's metadata
//! or on the workload's own metadata; the most specific metadata that says anything decides, so
//! `podwarden.io/agent: "disabled"` on a template opts it out of an enabled workload.
//!
//! What an injected pod gets:
//! - `shareProcessNamespace: true`, so the agent sees the workload's processes in `/proc`;
//! - a container `podwarden-agent` (appended to `containers`; for run-to-completion pods,
//!   `restartPolicy` `Never`/`OnFailure`, a *native sidecar*: the first `initContainers` entry
//!   with `restartPolicy: Always`, which stops when the workload ends instead of keeping a Job
//!   pod alive for ever — needs Kubernetes 1.29 or later);
//! - its environment: `PODWARDEN_CONTAINER_TYPE=sidecar`, the center's address, the enrolment
//!   token from a Secret in the pod's namespace (`secretKeyRef`, `optional: true` so a missing
//!   Secret never keeps the workload from starting), the pod's name, namespace and uid from the
//!   downward API, a downward-API volume with the labels and annotations, and the pod spec
//!   itself (`PODWARDEN_POD_SPEC`, for baseline checks; left out above 32 KiB);
//! - an `emptyDir` for the agent's state (credential, spool, outbox, quarantine vault), since
//!   its root filesystem is read-only;
//! - small resource requests and limits (configurable).
//!
//! Privileges: the agent runs as root with every capability dropped but `SYS_PTRACE`, no
//! privilege escalation, the runtime's default seccomp profile and a read-only root filesystem.
//! `SYS_PTRACE` is what reading another container's `/proc/<pid>/{exe,fd,root,environ}` takes
//! (the kernel's ptrace access check, `PTRACE_MODE_READ`): without it access is granted only
//! to a process of the *same* uid whose capabilities are a subset of the agent's, so a
//! workload running as another user, or as root with the default capability set, would be
//! invisible beyond `cmdline` and `stat`. The connection tables need nothing extra (a pod
//! shares one network namespace). Not granted by default, and configurable: `KILL` (killing a
//! workload process of another uid), `DAC_OVERRIDE` and `FOWNER` (quarantining a file the agent
//! may not otherwise move), `NET_ADMIN` (the netlink process connector; without it the agent
//! polls `/proc`). `SYS_PTRACE` is outside the Pod Security Standards' baseline level, so a
//! namespace enforcing `baseline` or `restricted` rejects injected pods.
//!
//! Refusals ([`RefusalCode`]) leave the pod unchanged and say why: Windows pods, `hostPID`
//! pods (the API server forbids `hostPID` with `shareProcessNamespace`), pods that set
//! `shareProcessNamespace: false` explicitly, a container named `podwarden-agent` with another
//! image, volume names already taken, malformed specs. Injecting twice changes nothing.

pub mod patch;
pub mod settings;
pub mod tls;
pub mod webhook;
pub mod webhook_config;

use serde_json::{Map, Value, json};

/// The annotation that asks for the agent (`"enabled"`; `"disabled"` opts out).
pub const ANNOTATION: &str = "podwarden.io/agent";
/// The commercial product's annotations, accepted as aliases (value `"true"`).
pub const ALIAS_ANNOTATIONS: [&str; 2] = [
    "k8s.aliyun.com/eci-aliyundun-enabled",
    "security.alibabacloud.com/aliyundun-enabled",
];
/// Extra web roots for the agent (`:`- or `,`-separated absolute paths).
pub const WEB_ROOTS_ANNOTATION: &str = "podwarden.io/web-roots";
/// kubectl's default container; set to the first workload container when absent.
pub const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";
/// Name of the injected container.
pub const AGENT_CONTAINER: &str = "podwarden-agent";
/// Name of the agent's state volume (`emptyDir`).
pub const STATE_VOLUME: &str = "podwarden-agent-state";
/// Name of the downward-API volume.
pub const PODINFO_VOLUME: &str = "podwarden-podinfo";
/// Where the state volume is mounted in the agent container.
pub const STATE_DIR: &str = "/var/lib/podwarden-agent";
/// Where the downward-API volume is mounted in the agent container.
pub const PODINFO_DIR: &str = "/etc/podinfo";
/// Largest pod spec passed inline in `PODWARDEN_POD_SPEC`, bytes.
pub const MAX_POD_SPEC_ENV: usize = 32 * 1024;
/// Default Secret holding the enrolment token (what `POST /api/v1/enrollment-tokens` makes).
pub const DEFAULT_SECRET_NAME: &str = crate::api::tokens::ENROLLMENT_SECRET_NAME;
/// Default key of the token in that Secret.
pub const DEFAULT_SECRET_KEY: &str = crate::api::tokens::ENROLLMENT_SECRET_KEY;
/// Default address of the center as seen from pods.
pub const DEFAULT_SERVER_URL: &str = "http://podwarden.podwarden.svc:8080";

/// The default agent image (the `podwarden` binary as its entrypoint or on `PATH`).
pub fn default_image() -> String {
    format!("podwarden/podwarden:{}", env!("CARGO_PKG_VERSION"))
}

/// Resource requests and limits of the agent container; `None` leaves one out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarResources {
    pub cpu_request: Option<String>,
    pub memory_request: Option<String>,
    pub cpu_limit: Option<String>,
    pub memory_limit: Option<String>,
}

impl Default for SidecarResources {
    fn default() -> SidecarResources {
        SidecarResources {
            cpu_request: Some("50m".to_string()),
            memory_request: Some("64Mi".to_string()),
            cpu_limit: Some("200m".to_string()),
            memory_limit: Some("128Mi".to_string()),
        }
    }
}

/// What the injected sidecar looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectConfig {
    pub image: String,
    /// `Always`, `IfNotPresent` or `Never`; `None` leaves the cluster default.
    pub image_pull_policy: Option<String>,
    /// The container's command (default `podwarden agent`).
    pub command: Vec<String>,
    /// The center's address as the pods reach it.
    pub server_url: String,
    /// Secret (in the pod's namespace) and key holding the enrolment token.
    pub secret_name: String,
    pub secret_key: String,
    pub resources: SidecarResources,
    /// Capabilities added after dropping all (default `SYS_PTRACE`).
    pub capabilities: Vec<String>,
    /// `PODWARDEN_CLUSTER` for the agent (a hint naming the cluster).
    pub cluster: Option<String>,
    /// `PODWARDEN_SOURCE_KIND` for the agent (`k8s-virtual-node`, ...).
    pub source_kind: Option<String>,
    /// Pass the pod spec inline in `PODWARDEN_POD_SPEC` (when at most [`MAX_POD_SPEC_ENV`]).
    pub pod_spec_env: bool,
    /// Inject run-to-completion pods as native sidecars; when off they are refused.
    pub native_sidecar_for_jobs: bool,
}

impl Default for InjectConfig {
    fn default() -> InjectConfig {
        InjectConfig {
            image: default_image(),
            image_pull_policy: None,
            command: vec!["podwarden".to_string(), "agent".to_string()],
            server_url: DEFAULT_SERVER_URL.to_string(),
            secret_name: DEFAULT_SECRET_NAME.to_string(),
            secret_key: DEFAULT_SECRET_KEY.to_string(),
            resources: SidecarResources::default(),
            capabilities: vec!["SYS_PTRACE".to_string()],
            cluster: None,
            source_kind: None,
            pod_spec_env: true,
            native_sidecar_for_jobs: true,
        }
    }
}

impl InjectConfig {
    /// Checks every field; the error names the field (as in the config file's `[inject]`).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.image.trim().is_empty() || self.image.chars().any(char::is_whitespace) {
            return Err((
                "image",
                format!("{:?} is not an image reference", self.image),
            ));
        }
        if let Some(policy) = &self.image_pull_policy
            && !matches!(policy.as_str(), "Always" | "IfNotPresent" | "Never")
        {
            return Err((
                "image_pull_policy",
                format!("{policy:?}: expected Always, IfNotPresent or Never"),
            ));
        }
        if self.command.is_empty() || self.command.iter().any(|c| c.is_empty()) {
            return Err((
                "command",
                "must be a non-empty list of non-empty words".into(),
            ));
        }
        let url = self.server_url.as_str();
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if rest.is_none_or(|host| host.is_empty() || host.chars().any(char::is_whitespace)) {
            return Err((
                "server_url",
                format!("{url:?}: expected an http:// or https:// URL"),
            ));
        }
        if !is_dns_subdomain(&self.secret_name) {
            return Err((
                "secret_name",
                format!("{:?} is not a Secret name", self.secret_name),
            ));
        }
        if !is_config_key(&self.secret_key) {
            return Err((
                "secret_key",
                format!("{:?} is not a Secret key", self.secret_key),
            ));
        }
        let quantities = [
            ("cpu_request", &self.resources.cpu_request, true),
            ("cpu_limit", &self.resources.cpu_limit, true),
            ("memory_request", &self.resources.memory_request, false),
            ("memory_limit", &self.resources.memory_limit, false),
        ];
        for (key, value, cpu) in quantities {
            if let Some(text) = value {
                let ok = if cpu {
                    crate::metering::parse_cpu_quantity(text).is_some_and(|m| m > 0)
                } else {
                    is_memory_quantity(text)
                };
                if !ok {
                    return Err((key, format!("{text:?} is not a Kubernetes quantity")));
                }
            }
        }
        for cap in &self.capabilities {
            if cap.is_empty() || !cap.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                return Err((
                    "capabilities",
                    format!("{cap:?}: expected a name like SYS_PTRACE"),
                ));
            }
        }
        if let Some(kind) = &self.source_kind
            && podwarden_api::agent::SourceKind::parse(kind).is_none()
        {
            return Err((
                "source_kind",
                format!(
                    "{kind:?}: expected k8s-virtual-node, k8s-serverless, container-compute or app-engine"
                ),
            ));
        }
        Ok(())
    }
}

fn is_dns_subdomain(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn is_config_key(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A memory quantity: a decimal number with an optional binary or decimal suffix.
fn is_memory_quantity(text: &str) -> bool {
    const SUFFIXES: [&str; 13] = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E", "",
    ];
    SUFFIXES.iter().any(|suffix| {
        text.strip_suffix(suffix).is_some_and(|number| {
            let mut parts = number.splitn(2, '.');
            let whole = parts.next().unwrap_or("");
            let fraction = parts.next();
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
                && number.bytes().any(|b| b != b'0' && b != b'.')
        })
    })
}

/// Which pod templates to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Those whose annotations ask for the agent.
    Annotated,
    /// All of them, except those annotated `podwarden.io/agent: "disabled"` (or an alias
    /// `"false"`).
    All,
}

/// Why a pod template was not injected although it asked for the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalCode {
    /// `spec.os.name: windows` or a Windows node selector.
    Windows,
    /// `hostPID: true` (cannot be combined with `shareProcessNamespace`).
    HostPid,
    /// `shareProcessNamespace: false` set explicitly.
    ShareProcessNamespaceDisabled,
    /// A container named `podwarden-agent` with another image.
    ContainerNameTaken,
    /// A volume named like the agent's volumes.
    VolumeNameTaken,
    /// A run-to-completion pod while native sidecars are turned off.
    RunToCompletion,
    /// The pod spec is not shaped like one.
    Malformed,
}

impl RefusalCode {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::Windows => "windows",
            RefusalCode::HostPid => "host-pid",
            RefusalCode::ShareProcessNamespaceDisabled => "share-process-namespace-disabled",
            RefusalCode::ContainerNameTaken => "container-name-taken",
            RefusalCode::VolumeNameTaken => "volume-name-taken",
            RefusalCode::RunToCompletion => "run-to-completion",
            RefusalCode::Malformed => "malformed",
        }
    }
}

/// A refusal: its code and a one-line reason (short enough for an admission warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: RefusalCode,
    pub message: String,
}

/// What happened to one pod template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The sidecar was added (as a native sidecar in `initContainers` when `native_sidecar`).
    Injected { native_sidecar: bool },
    /// The sidecar was there already (same image): nothing changed.
    AlreadyInjected,
    /// The annotations do not ask for the agent (or opt out).
    NotRequested,
    /// Asked for, but the pod cannot take it; nothing changed.
    Refused(Refusal),
}

/// One pod template of an object and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateReport {
    /// Kind and name of the object holding the template (a `List` item's own).
    pub kind: String,
    pub name: String,
    /// JSON pointer of the pod template in the document (`""` for a Pod).
    pub pointer: String,
    pub outcome: Outcome,
}

/// Where an object kind keeps its pod template.
struct PodLayout {
    /// Pointer of the template (an object with `metadata` and `spec`); `""` for a Pod.
    template: &'static str,
    /// Pointers of enclosing metadata whose annotations also count, most specific first.
    outer_metadata: &'static [&'static str],
}

/// The layout of a supported pod-bearing kind, checking the API group when one is given.
fn layout_of(object: &Value) -> Option<PodLayout> {
    let kind = object.get("kind")?.as_str()?;
    let api_version = object.get("apiVersion").and_then(Value::as_str);
    let group = api_version.map(|v| v.rsplit_once('/').map_or("", |(group, _)| group));
    let group_is = |allowed: &[&str]| group.is_none_or(|g| allowed.contains(&g));
    let workload = |template| PodLayout {
        template,
        outer_metadata: &["/metadata"],
    };
    match kind {
        "Pod" if group_is(&[""]) => Some(PodLayout {
            template: "",
            outer_metadata: &[],
        }),
        "PodTemplate" if group_is(&[""]) => Some(workload("/template")),
        "ReplicationController" if group_is(&[""]) => Some(workload("/spec/template")),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet"
            if group_is(&["apps", "extensions"]) =>
        {
            Some(workload("/spec/template"))
        }
        "Job" if group_is(&["batch"]) => Some(workload("/spec/template")),
        "CronJob" if group_is(&["batch"]) => Some(PodLayout {
            template: "/spec/jobTemplate/spec/template",
            outer_metadata: &["/spec/jobTemplate/metadata", "/metadata"],
        }),
        _ => None,
    }
}

/// Whether an object holds pod templates this module knows (a `List` counts when an item does).
pub fn is_pod_bearing(object: &Value) -> bool {
    if let Some(items) = list_items(object) {
        return items.iter().any(is_pod_bearing);
    }
    layout_of(object).is_some()
}

fn list_items(object: &Value) -> Option<&Vec<Value>> {
    let kind = object.get("kind")?.as_str()?;
    if kind.ends_with("List") {
        object.get("items")?.as_array()
    } else {
        None
    }
}

/// Injects the agent into every pod template of `object` that asks for it (or all of them
/// with [`Selection::All`]); `kind: List` (and `*List`) items are visited in order. Objects of
/// other kinds are left alone and yield no report.
pub fn inject(
    object: &mut Value,
    config: &InjectConfig,
    selection: Selection,
) -> Vec<TemplateReport> {
    let mut reports = Vec::new();
    inject_into(object, "", config, selection, &mut reports);
    reports
}

fn inject_into(
    object: &mut Value,
    base: &str,
    config: &InjectConfig,
    selection: Selection,
    reports: &mut Vec<TemplateReport>,
) {
    if list_items(object).is_some() {
        if let Some(items) = object.get_mut("items").and_then(Value::as_array_mut) {
            for (index, item) in items.iter_mut().enumerate() {
                inject_into(
                    item,
                    &format!("{base}/items/{index}"),
                    config,
                    selection,
                    reports,
                );
            }
        }
        return;
    }
    let Some(layout) = layout_of(object) else {
        return;
    };
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = object_name(object);
    let outer: Vec<Map<String, Value>> = layout
        .outer_metadata
        .iter()
        .filter_map(|p| object.pointer(p)?.get("annotations")?.as_object().cloned())
        .collect();
    let pointer = format!("{base}{}", layout.template);
    let outcome = match object.pointer_mut(layout.template) {
        Some(template) if template.is_object() => {
            inject_template(template, &outer, config, selection)
        }
        // A workload without a template: asked for only if its own metadata says so.
        _ if requested(&[], &outer, selection) => Outcome::Refused(Refusal {
            code: RefusalCode::Malformed,
            message: format!("no pod template at {}", display_pointer(layout.template)),
        }),
        _ => Outcome::NotRequested,
    };
    reports.push(TemplateReport {
        kind,
        name,
        pointer,
        outcome,
    });
}

fn display_pointer(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

fn object_name(object: &Value) -> String {
    let metadata = object.get("metadata");
    let text = |key| metadata?.get(key)?.as_str().map(str::to_string);
    text("name")
        .or_else(|| text("generateName").map(|g| format!("{g}*")))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wish {
    Enable,
    Disable,
}

fn wish_of(annotations: &Map<String, Value>) -> Option<Wish> {
    let value = |key: &str| {
        annotations
            .get(key)
            .and_then(Value::as_str)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if let Some(v) = value(ANNOTATION) {
        match v.as_str() {
            "enabled" | "true" => return Some(Wish::Enable),
            "disabled" | "false" => return Some(Wish::Disable),
            _ => {}
        }
    }
    let mut alias_wish = None;
    for alias in ALIAS_ANNOTATIONS {
        match value(alias).as_deref() {
            Some("true") => return Some(Wish::Enable),
            Some("false") => alias_wish = Some(Wish::Disable),
            _ => {}
        }
    }
    alias_wish
}

/// Whether the template's annotations, then the outer ones, ask for the agent.
fn requested(
    template: &[&Map<String, Value>],
    outer: &[Map<String, Value>],
    selection: Selection,
) -> bool {
    let wish = template
        .iter()
        .copied()
        .chain(outer.iter())
        .find_map(wish_of);
    match wish {
        Some(Wish::Enable) => true,
        Some(Wish::Disable) => false,
        None => selection == Selection::All,
    }
}

/// The web roots annotation, most specific first, as the agent's `:`-separated list.
fn web_roots(
    template: Option<&Map<String, Value>>,
    outer: &[Map<String, Value>],
) -> Option<String> {
    let text = template
        .into_iter()
        .chain(outer.iter())
        .find_map(|a| a.get(WEB_ROOTS_ANNOTATION)?.as_str())?;
    let roots: Vec<&str> = text
        .split([':', ','])
        .map(str::trim)
        .filter(|r| r.starts_with('/') && !r.chars().any(char::is_control))
        .collect();
    (!roots.is_empty()).then(|| roots.join(":"))
}

fn refuse(code: RefusalCode, message: impl Into<String>) -> Outcome {
    Outcome::Refused(Refusal {
        code,
        message: message.into(),
    })
}

fn named<'a>(list: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    list?
        .as_array()?
        .iter()
        .find(|item| item.get("name").and_then(Value::as_str) == Some(name))
}

/// Injects into one template (`{metadata, spec}`), after the checks.
fn inject_template(
    template: &mut Value,
    outer: &[Map<String, Value>],
    config: &InjectConfig,
    selection: Selection,
) -> Outcome {
    let own_annotations = template
        .pointer("/metadata/annotations")
        .and_then(Value::as_object);
    if !requested(
        &own_annotations.into_iter().collect::<Vec<_>>(),
        outer,
        selection,
    ) {
        return Outcome::NotRequested;
    }
    let roots = web_roots(own_annotations, outer);
    let Some(spec) = template.get("spec").filter(|s| s.is_object()) else {
        return refuse(RefusalCode::Malformed, "the pod template has no spec");
    };
    if let Some(verdict) = check_spec(spec, config) {
        return verdict;
    }
    let native = matches!(
        spec.get("restartPolicy").and_then(Value::as_str),
        Some("Never" | "OnFailure")
    );
    let first_container = spec
        .pointer("/containers/0/name")
        .and_then(Value::as_str)
        .map(str::to_string);

    // Mutations: every shape was checked above, so the lookups below find what they expect;
    // they still never panic.
    if let Some(first) = first_container
        && let Some(annotations) =
            ensure_object(template, "metadata").and_then(|m| ensure_object_in(m, "annotations"))
        && !annotations.contains_key(DEFAULT_CONTAINER_ANNOTATION)
    {
        annotations.insert(
            DEFAULT_CONTAINER_ANNOTATION.to_string(),
            Value::String(first),
        );
    }
    let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) else {
        return refuse(RefusalCode::Malformed, "the pod template has no spec");
    };
    spec.insert("shareProcessNamespace".to_string(), Value::Bool(true));
    let container = sidecar_container(config, roots, native);
    if native {
        let init = spec
            .entry("initContainers")
            .or_insert_with(|| Value::Array(Vec::new()));
        if init.is_null() {
            *init = Value::Array(Vec::new());
        }
        if let Some(init) = init.as_array_mut() {
            init.insert(0, container);
        }
    } else if let Some(containers) = spec.get_mut("containers").and_then(Value::as_array_mut) {
        containers.push(container);
    }
    let volumes = spec
        .entry("volumes")
        .or_insert_with(|| Value::Array(Vec::new()));
    if volumes.is_null() {
        *volumes = Value::Array(Vec::new());
    }
    if let Some(volumes) = volumes.as_array_mut() {
        volumes.push(json!({"name": STATE_VOLUME, "emptyDir": {}}));
        volumes.push(json!({
            "name": PODINFO_VOLUME,
            "downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}},
                {"path": "annotations", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"}}
            ]}
        }));
    }
    if config.pod_spec_env {
        add_pod_spec_env(template, native);
    }
    Outcome::Injected {
        native_sidecar: native,
    }
}

/// The refusals and the already-injected case; `None` when the spec can take the sidecar.
fn check_spec(spec: &Value, config: &InjectConfig) -> Option<Outcome> {
    let containers = spec.get("containers");
    if !containers.is_some_and(Value::is_array) {
        return Some(refuse(
            RefusalCode::Malformed,
            "the pod spec has no containers list",
        ));
    }
    for key in ["initContainers", "volumes"] {
        if spec.get(key).is_some_and(|v| !v.is_array() && !v.is_null()) {
            return Some(refuse(
                RefusalCode::Malformed,
                format!("the pod spec's {key} is not a list"),
            ));
        }
    }
    let existing = named(containers, AGENT_CONTAINER)
        .or_else(|| named(spec.get("initContainers"), AGENT_CONTAINER));
    if let Some(existing) = existing {
        let image = existing.get("image").and_then(Value::as_str).unwrap_or("");
        if image == config.image {
            return Some(Outcome::AlreadyInjected);
        }
        let mut shown: String = image.chars().take(36).collect();
        if shown.len() < image.len() {
            shown.push_str("...");
        }
        return Some(refuse(
            RefusalCode::ContainerNameTaken,
            format!("{AGENT_CONTAINER} has another image, {shown:?}"),
        ));
    }
    let windows = spec.pointer("/os/name").and_then(Value::as_str) == Some("windows")
        || spec
            .pointer("/nodeSelector/kubernetes.io~1os")
            .and_then(Value::as_str)
            == Some("windows");
    if windows {
        return Some(refuse(
            RefusalCode::Windows,
            "Windows pods are not supported",
        ));
    }
    if spec.get("hostPID").and_then(Value::as_bool) == Some(true) {
        return Some(refuse(
            RefusalCode::HostPid,
            "hostPID pods cannot share a process namespace",
        ));
    }
    if spec.get("shareProcessNamespace").and_then(Value::as_bool) == Some(false) {
        return Some(refuse(
            RefusalCode::ShareProcessNamespaceDisabled,
            "the pod sets shareProcessNamespace: false",
        ));
    }
    for volume in [STATE_VOLUME, PODINFO_VOLUME] {
        if named(spec.get("volumes"), volume).is_some() {
            return Some(refuse(
                RefusalCode::VolumeNameTaken,
                format!("a volume named {volume} exists"),
            ));
        }
    }
    let run_to_completion = matches!(
        spec.get("restartPolicy").and_then(Value::as_str),
        Some("Never" | "OnFailure")
    );
    if run_to_completion && !config.native_sidecar_for_jobs {
        return Some(refuse(
            RefusalCode::RunToCompletion,
            "run-to-completion pod, native sidecars turned off",
        ));
    }
    None
}

/// `object[key]` as an object, created when absent or null; `None` when it is something else.
fn ensure_object<'a>(object: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    ensure_object_in(object.as_object_mut()?, key)
}

/// [`ensure_object`] on a map.
fn ensure_object_in<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// The agent container.
fn sidecar_container(config: &InjectConfig, web_roots: Option<String>, native: bool) -> Value {
    let field = |name: &str, path: &str| json!({"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}});
    let value = |name: &str, value: &str| json!({"name": name, "value": value});
    let mut env = vec![
        value("PODWARDEN_CONTAINER_TYPE", "sidecar"),
        value("PODWARDEN_MODE", "sidecar"),
        value("PODWARDEN_SERVER", &config.server_url),
        json!({"name": "PODWARDEN_TOKEN", "valueFrom": {"secretKeyRef": {
            "name": config.secret_name, "key": config.secret_key, "optional": true
        }}}),
        value("PODWARDEN_STATE_DIR", STATE_DIR),
        value("PODWARDEN_PODINFO_DIR", PODINFO_DIR),
        field("POD_NAME", "metadata.name"),
        field("POD_NAMESPACE", "metadata.namespace"),
        field("POD_UID", "metadata.uid"),
    ];
    if let Some(cluster) = &config.cluster {
        env.push(value("PODWARDEN_CLUSTER", cluster));
    }
    if let Some(kind) = &config.source_kind {
        env.push(value("PODWARDEN_SOURCE_KIND", kind));
    }
    if let Some(roots) = &web_roots {
        env.push(value("PODWARDEN_WEB_ROOTS", roots));
    }
    let quantity_map = |cpu: &Option<String>, memory: &Option<String>| {
        let mut map = Map::new();
        if let Some(cpu) = cpu {
            map.insert("cpu".to_string(), Value::String(cpu.clone()));
        }
        if let Some(memory) = memory {
            map.insert("memory".to_string(), Value::String(memory.clone()));
        }
        map
    };
    let r = &config.resources;
    let mut resources = Map::new();
    let requests = quantity_map(&r.cpu_request, &r.memory_request);
    if !requests.is_empty() {
        resources.insert("requests".to_string(), Value::Object(requests));
    }
    let limits = quantity_map(&r.cpu_limit, &r.memory_limit);
    if !limits.is_empty() {
        resources.insert("limits".to_string(), Value::Object(limits));
    }
    let mut capabilities = Map::new();
    capabilities.insert("drop".to_string(), json!(["ALL"]));
    if !config.capabilities.is_empty() {
        capabilities.insert("add".to_string(), json!(config.capabilities));
    }
    let mut container = Map::new();
    container.insert("name".to_string(), json!(AGENT_CONTAINER));
    container.insert("image".to_string(), json!(config.image));
    if let Some(policy) = &config.image_pull_policy {
        container.insert("imagePullPolicy".to_string(), json!(policy));
    }
    container.insert("command".to_string(), json!(config.command));
    container.insert("env".to_string(), Value::Array(env));
    container.insert("resources".to_string(), Value::Object(resources));
    container.insert(
        "securityContext".to_string(),
        json!({
            "runAsUser": 0,
            "runAsGroup": 0,
            "runAsNonRoot": false,
            "privileged": false,
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": capabilities,
            "seccompProfile": {"type": "RuntimeDefault"}
        }),
    );
    container.insert(
        "volumeMounts".to_string(),
        json!([
            {"name": STATE_VOLUME, "mountPath": STATE_DIR},
            {"name": PODINFO_VOLUME, "mountPath": PODINFO_DIR, "readOnly": true}
        ]),
    );
    if native {
        container.insert("restartPolicy".to_string(), json!("Always"));
    }
    Value::Object(container)
}

/// Adds `PODWARDEN_POD_SPEC` (the pod as injected, without this variable, and without the
/// `last-applied-configuration` annotation) to the agent container when it is small enough.
fn add_pod_spec_env(template: &mut Value, native: bool) {
    let metadata = template.get("metadata");
    let mut snapshot_metadata = Map::new();
    for key in ["labels", "annotations"] {
        if let Some(Value::Object(map)) = metadata.and_then(|m| m.get(key)) {
            let mut map = map.clone();
            map.remove("kubectl.kubernetes.io/last-applied-configuration");
            snapshot_metadata.insert(key.to_string(), Value::Object(map));
        }
    }
    let Some(spec) = template.get("spec") else {
        return;
    };
    let snapshot = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": snapshot_metadata,
        "spec": spec,
    });
    let Ok(text) = serde_json::to_string(&snapshot) else {
        return;
    };
    if text.len() > MAX_POD_SPEC_ENV {
        return;
    }
    let list = if native {
        "initContainers"
    } else {
        "containers"
    };
    let env = template
        .get_mut("spec")
        .and_then(|s| s.get_mut(list))
        .and_then(Value::as_array_mut)
        .and_then(|containers| {
            containers
                .iter_mut()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(AGENT_CONTAINER))
        })
        .and_then(|c| c.get_mut("env"))
        .and_then(Value::as_array_mut);
    if let Some(env) = env {
        env.push(json!({"name": "PODWARDEN_POD_SPEC", "value": text}));
    }
}

#[cfg(test)]
mod tests;
