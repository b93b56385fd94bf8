//! The kube-rs client of one cluster: built from stored kubeconfig text, it lists pods across
//! all namespaces page by page (`limit` + `continue`), the nodes (to tell virtual nodes apart)
//! and the owners of ReplicaSets and Jobs (to name the Deployment or CronJob a pod belongs
//! to), and turns each pod into an [`ObservedPod`] plus the Pod document kept for baseline
//! checks.

use super::error_chain;
use crate::assets::{AssetStatus, ObservedPod, SourceKind};
use crate::clusters::kubeconfig::{self, KubeconfigError};
use crate::clusters::settings::{ClusterSettings, VirtualNodeRules};
use crate::metering::{Millicores, parse_cpu_quantity};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, Node, Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, ListParams};
use kube::config::KubeConfigOptions;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Owner lookups (ReplicaSet → Deployment, Job → CronJob) run at most this many at a time.
const OWNER_LOOKUP_CONCURRENCY: usize = 16;
/// The owner cache is emptied when it grows past this many entries.
const OWNER_CACHE_MAX: usize = 500_000;

/// Why a cluster could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    #[error("{what}: the API server answered HTTP {code}{reason}: {message}")]
    Api {
        what: String,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("{what}: {message}")]
    Request { what: String, message: String },
    #[error("the cluster has more than {max} pods (setting cluster_max_pods)")]
    TooManyPods { max: usize },
    #[error("the cluster was not read within {secs} s (setting cluster_sync_timeout_secs)")]
    TimedOut { secs: u64 },
}

impl FetchError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// `what` failed with `err`.
pub fn api_error(what: &str, err: kube::Error) -> FetchError {
    match err {
        kube::Error::Api(status) => FetchError::Api {
            what: what.to_string(),
            code: status.code,
            // kube-rs says "Failed to parse error data" for bodies that are not a Status.
            reason: if status.reason.is_empty() || status.reason.starts_with("Failed to parse") {
                String::new()
            } else {
                format!(" ({})", status.reason)
            },
            message: status.message.clone(),
        },
        other => FetchError::Request {
            what: what.to_string(),
            message: error_chain(&other),
        },
    }
}

/// A client for the cluster a kubeconfig points at (checked again: inline credentials only),
/// with the configured timeouts and response size bound.
pub async fn client(
    kubeconfig_text: &str,
    settings: &ClusterSettings,
) -> Result<kube::Client, FetchError> {
    let (parsed, _) = kubeconfig::parse(kubeconfig_text)?;
    let mut config = kube::Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default())
        .await
        .map_err(|err| KubeconfigError::Client(error_chain(&err)))?;
    config.connect_timeout = Some(settings.connect_timeout);
    config.read_timeout = Some(settings.read_timeout);
    config.write_timeout = Some(settings.read_timeout);
    let max = settings.max_response_bytes;
    let builder = kube::client::ClientBuilder::try_from(config)
        .map_err(|err| KubeconfigError::Client(error_chain(&err)))?;
    let bounded = tower::util::MapResponseLayer::new(
        move |response: http::Response<Box<kube::client::DynBody>>| {
            response.map(|body| http_body_util::Limited::new(body, max))
        },
    );
    Ok(builder.with_layer(&bounded).build())
}

/// The cluster being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterTarget {
    pub id: i64,
    pub name: String,
    pub source_kind: SourceKind,
}

/// One pod read from a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPod {
    pub observed: ObservedPod,
    /// The Pod object kept for baseline checks (JSON: apiVersion, kind, metadata without
    /// managedFields and resourceVersion, spec; no status).
    pub document: String,
}

/// What a cluster read returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Pods that are assets of this source.
    pub pods: Vec<FetchedPod>,
    /// Pods the API server listed.
    pub listed: usize,
    /// Pages read.
    pub pages: usize,
    /// Pods left out because they do not run on a virtual node (`k8s-virtual-node` sources).
    pub not_on_virtual_node: usize,
    /// Problems that did not stop the read (owner lookups that failed).
    pub warnings: Vec<String>,
}

/// The workloads owning ReplicaSets and Jobs, by cluster and owner uid, kept across syncs
/// (an object's controller owner does not change).
#[derive(Debug, Default)]
pub struct OwnerCache {
    map: Mutex<HashMap<(i64, String), Workload>>,
}

/// The workload a pod belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Workload {
    pub kind: String,
    pub name: String,
}

impl OwnerCache {
    fn get(&self, cluster: i64, uid: &str) -> Option<Workload> {
        self.map
            .lock()
            .ok()
            .and_then(|map| map.get(&(cluster, uid.to_string())).cloned())
    }

    fn put(&self, cluster: i64, uid: String, workload: Workload) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= OWNER_CACHE_MAX {
                map.clear();
            }
            map.insert((cluster, uid), workload);
        }
    }
}

/// Reads the pods of a cluster that are assets of `target`. `progress` counts listed pods.
pub async fn fetch(
    client: &kube::Client,
    target: &ClusterTarget,
    settings: &ClusterSettings,
    owners: &OwnerCache,
    progress: &AtomicUsize,
) -> Result<Fetched, FetchError> {
    let virtual_nodes = if target.source_kind == SourceKind::K8sVirtualNode {
        Some(virtual_node_names(client, settings).await?)
    } else {
        None
    };
    let mut fetched = Fetched::default();
    let api: Api<Pod> = Api::all(client.clone());
    let mut params = ListParams::default().limit(settings.page_size);
    let mut pods: Vec<Pod> = Vec::new();
    loop {
        let page = api
            .list(&params)
            .await
            .map_err(|err| api_error("listing pods", err))?;
        fetched.pages += 1;
        fetched.listed += page.items.len();
        if fetched.listed > settings.max_pods {
            return Err(FetchError::TooManyPods {
                max: settings.max_pods,
            });
        }
        for mut pod in page.items {
            pod.metadata.managed_fields = None;
            if let Some(names) = &virtual_nodes {
                let on_virtual = pod
                    .spec
                    .as_ref()
                    .and_then(|spec| spec.node_name.as_deref())
                    .is_some_and(|node| names.contains(node));
                if !on_virtual {
                    fetched.not_on_virtual_node += 1;
                    continue;
                }
            }
            pods.push(pod);
        }
        progress.store(fetched.listed, Ordering::Relaxed);
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    let workloads = resolve_owners(client, target.id, &pods, owners, &mut fetched.warnings).await;
    fetched.pods.reserve(pods.len());
    for pod in pods {
        let owner = controller_owner(&pod).cloned();
        let workload = owner.as_ref().map(|owner| {
            workloads
                .get(&owner.uid)
                .cloned()
                .unwrap_or_else(|| Workload {
                    kind: owner.kind.clone(),
                    name: owner.name.clone(),
                })
        });
        if let Some(observed) = observe(&pod, &target.name, target.source_kind, workload) {
            fetched.pods.push(FetchedPod {
                observed,
                document: pod_document(pod),
            });
        }
    }
    Ok(fetched)
}

/// Names of the nodes that are virtual nodes (every node is listed, page by page).
async fn virtual_node_names(
    client: &kube::Client,
    settings: &ClusterSettings,
) -> Result<HashSet<String>, FetchError> {
    let api: Api<Node> = Api::all(client.clone());
    let mut params = ListParams::default().limit(settings.page_size);
    let mut names = HashSet::new();
    let mut seen = 0usize;
    loop {
        let page = api
            .list(&params)
            .await
            .map_err(|err| api_error("listing nodes", err))?;
        seen += page.items.len();
        if seen > settings.max_pods {
            return Err(FetchError::TooManyPods {
                max: settings.max_pods,
            });
        }
        for node in &page.items {
            if is_virtual_node(node, &settings.virtual_nodes)
                && let Some(name) = &node.metadata.name
            {
                names.insert(name.clone());
            }
        }
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    Ok(names)
}

/// Whether a node is a virtual node: a configured label, name prefix or taint says so.
pub fn is_virtual_node(node: &Node, rules: &VirtualNodeRules) -> bool {
    let by_label = node.metadata.labels.as_ref().is_some_and(|labels| {
        rules
            .labels
            .iter()
            .any(|(key, value)| labels.get(key) == Some(value))
    });
    let by_name = node.metadata.name.as_deref().is_some_and(|name| {
        rules
            .name_prefixes
            .iter()
            .any(|prefix| name.starts_with(prefix.as_str()))
    });
    let by_taint = node
        .spec
        .as_ref()
        .and_then(|spec| spec.taints.as_ref())
        .is_some_and(|taints| {
            taints
                .iter()
                .any(|taint| rules.taint_keys.contains(&taint.key))
        });
    by_label || by_name || by_taint
}

/// The controller owner of a pod (or its first owner when none is marked controller).
pub fn controller_owner(pod: &Pod) -> Option<&OwnerReference> {
    let owners = pod.metadata.owner_references.as_ref()?;
    owners
        .iter()
        .find(|owner| owner.controller == Some(true))
        .or_else(|| owners.first())
}

/// The Deployments and CronJobs above the pods' ReplicaSets and Jobs, by ReplicaSet/Job uid.
/// A lookup that fails leaves the ReplicaSet or Job as the pod's workload (with a warning).
async fn resolve_owners(
    client: &kube::Client,
    cluster: i64,
    pods: &[Pod],
    cache: &OwnerCache,
    warnings: &mut Vec<String>,
) -> HashMap<String, Workload> {
    let mut resolved: HashMap<String, Workload> = HashMap::new();
    let mut wanted: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    for pod in pods {
        let Some(owner) = controller_owner(pod) else {
            continue;
        };
        if owner.kind != "ReplicaSet" && owner.kind != "Job" {
            continue;
        }
        if let Some(workload) = cache.get(cluster, &owner.uid) {
            resolved.insert(owner.uid.clone(), workload);
            continue;
        }
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        wanted.insert((
            owner.uid.clone(),
            owner.kind.clone(),
            namespace,
            owner.name.clone(),
        ));
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(OWNER_LOOKUP_CONCURRENCY));
    let mut lookups = tokio::task::JoinSet::new();
    for (uid, kind, namespace, name) in wanted {
        let client = client.clone();
        let limit = limit.clone();
        lookups.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let found = owner_of(&client, &kind, &namespace, &name).await;
            (uid, kind, namespace, name, found)
        });
    }
    let mut failures: Vec<String> = Vec::new();
    while let Some(joined) = lookups.join_next().await {
        let Ok((uid, kind, namespace, name, found)) = joined else {
            continue;
        };
        match found {
            Ok(Some(workload)) => {
                cache.put(cluster, uid.clone(), workload.clone());
                resolved.insert(uid, workload);
            }
            Ok(None) => {
                let own = Workload { kind, name };
                cache.put(cluster, uid.clone(), own.clone());
                resolved.insert(uid, own);
            }
            // Deleted meanwhile: its pods go with it.
            Err(err) if err.status() == Some(404) => {}
            Err(err) => failures.push(format!("{kind} {namespace}/{name}: {err}")),
        }
    }
    if let Some(first) = failures.first() {
        warnings.push(format!(
            "{} owner lookups failed, those pods are listed under their ReplicaSet or Job \
             (first: {first})",
            failures.len()
        ));
    }
    resolved
}

/// The Deployment owning a ReplicaSet, or the CronJob owning a Job; None when it has none.
async fn owner_of(
    client: &kube::Client,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<Workload>, FetchError> {
    let what = format!("reading {kind} {namespace}/{name}");
    let (owners, parent_kind) = if kind == "ReplicaSet" {
        let api: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
        let object = api.get(name).await.map_err(|err| api_error(&what, err))?;
        (object.metadata.owner_references, "Deployment")
    } else {
        let api: Api<Job> = Api::namespaced(client.clone(), namespace);
        let object = api.get(name).await.map_err(|err| api_error(&what, err))?;
        (object.metadata.owner_references, "CronJob")
    };
    Ok(owners.and_then(|owners| {
        owners
            .into_iter()
            .find(|owner| owner.controller == Some(true) && owner.kind == parent_kind)
            .map(|owner| Workload {
                kind: owner.kind,
                name: owner.name,
            })
    }))
}

/// CPU millicores a resource list asks for (`limits` or `requests`).
fn cpu(resources: Option<&ResourceRequirements>, limits: bool) -> Option<Millicores> {
    let resources = resources?;
    let list = if limits {
        resources.limits.as_ref()
    } else {
        resources.requests.as_ref()
    };
    list.and_then(|list| list.get("cpu"))
        .and_then(|quantity| parse_cpu_quantity(&quantity.0))
}

/// Sum over containers of those that set the value; None when none does.
fn sum_cpu<'a>(
    containers: impl Iterator<Item = &'a Container>,
    limits: bool,
) -> Option<Millicores> {
    containers
        .filter_map(|c| cpu(c.resources.as_ref(), limits))
        .fold(None, |total, m| {
            Some(total.unwrap_or(0i64).saturating_add(m))
        })
}

/// A pod as an asset of `cluster` (None for a pod without uid or name).
pub fn observe(
    pod: &Pod,
    cluster: &str,
    source_kind: SourceKind,
    workload: Option<Workload>,
) -> Option<ObservedPod> {
    let uid = pod.metadata.uid.clone().filter(|u| !u.is_empty())?;
    let name = pod.metadata.name.clone().filter(|n| !n.is_empty())?;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    // App containers and native sidecars (init containers that keep running).
    let running: Vec<&Container> = spec
        .map(|spec| {
            spec.containers
                .iter()
                .chain(
                    spec.init_containers
                        .iter()
                        .flatten()
                        .filter(|c| c.restart_policy.as_deref() == Some("Always")),
                )
                .collect()
        })
        .unwrap_or_default();
    let pod_level = spec.and_then(|spec| spec.resources.as_ref());
    let cpu_limit = cpu(pod_level, true).or_else(|| sum_cpu(running.iter().copied(), true));
    let cpu_request = cpu(pod_level, false).or_else(|| sum_cpu(running.iter().copied(), false));
    let mut images: Vec<String> = Vec::new();
    if let Some(spec) = spec {
        for container in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            if let Some(image) = &container.image
                && !images.contains(image)
            {
                images.push(image.clone());
            }
        }
    }
    let phase = status.and_then(|s| s.phase.as_deref());
    let asset_status = match phase {
        Some("Running") => AssetStatus::Running,
        Some("Pending") => AssetStatus::Pending,
        Some("Succeeded" | "Failed") => AssetStatus::Terminated,
        _ => AssetStatus::Unknown,
    };
    let restart_count = status
        .map(|s| {
            s.container_statuses
                .iter()
                .flatten()
                .chain(s.init_container_statuses.iter().flatten())
                .map(|c| i64::from(c.restart_count.max(0)))
                .sum::<i64>()
        })
        .unwrap_or(0);
    let created_at_ms = pod
        .metadata
        .creation_timestamp
        .as_ref()
        .or_else(|| status.and_then(|s| s.start_time.as_ref()))
        .map(|time| time.0.as_millisecond());
    Some(ObservedPod {
        uid,
        name,
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        cluster: cluster.to_string(),
        source_kind,
        owner_kind: workload.as_ref().map(|w| w.kind.clone()),
        owner_name: workload.map(|w| w.name),
        node_name: spec.and_then(|spec| spec.node_name.clone()),
        runtime_class: spec.and_then(|spec| spec.runtime_class_name.clone()),
        images,
        cpu_limit_millicores: cpu_limit,
        cpu_request_millicores: cpu_request,
        annotations: pod.metadata.annotations.clone().unwrap_or_default(),
        status: asset_status,
        restart_count,
        created_at_ms,
    })
}

/// The Pod document stored for baseline checks: no status, managedFields, resourceVersion or
/// generation, so it changes only when the pod's spec or identity does.
pub fn pod_document(mut pod: Pod) -> String {
    pod.metadata.managed_fields = None;
    pod.metadata.resource_version = None;
    pod.metadata.generation = None;
    pod.status = None;
    serde_json::to_string(&pod).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("pod: {e}"))
    }

    /// (limit, request, restarts, status, images) of a pod.
    type Seen = (Option<i64>, Option<i64>, i64, AssetStatus, Vec<String>);

    fn check(value: serde_json::Value, expected: Option<Seen>) {
        let observed = observe(&pod(value.clone()), "c", SourceKind::K8sServerless, None);
        let got = observed.map(|o| {
            (
                o.cpu_limit_millicores,
                o.cpu_request_millicores,
                o.restart_count,
                o.status,
                o.images,
            )
        });
        assert_eq!(got, expected, "{value}");
    }

    #[test]
    fn pods_become_observed_pods() {
        let container = |name: &str, image: &str, limit: Option<&str>, request: Option<&str>| {
            let mut resources = serde_json::Map::new();
            if let Some(l) = limit {
                resources.insert("limits".into(), json!({"cpu": l, "memory": "128Mi"}));
            }
            if let Some(r) = request {
                resources.insert("requests".into(), json!({"cpu": r}));
            }
            json!({"name": name, "image": image, "resources": resources})
        };
        let meta = json!({"name": "p", "namespace": "ns", "uid": "u1"});
        check(
            json!({"metadata": meta, "spec": {"containers": [
                container("a", "nginx:1", Some("500m"), Some("250m")),
                container("b", "busybox", Some("1"), None),
                container("c", "nginx:1", None, Some("100m"))]},
                "status": {"phase": "Running", "containerStatuses": [
                    {"name": "a", "restartCount": 2, "ready": true, "image": "nginx:1", "imageID": ""},
                    {"name": "b", "restartCount": 1, "ready": true, "image": "busybox", "imageID": ""}]}}),
            Some((
                Some(1500),
                Some(350),
                3,
                AssetStatus::Running,
                vec!["nginx:1".into(), "busybox".into()],
            )),
        );
        // Pod-level resources win; native sidecars count, plain init containers do not.
        check(
            json!({"metadata": meta, "spec": {
                "resources": {"limits": {"cpu": "2"}},
                "initContainers": [
                    {"name": "init", "image": "init:1", "resources": {"limits": {"cpu": "4"}}},
                    {"name": "side", "image": "side:1", "restartPolicy": "Always",
                     "resources": {"requests": {"cpu": "100m"}}}],
                "containers": [container("a", "app:1", Some("250m"), Some("250m"))]},
                "status": {"phase": "Succeeded"}}),
            Some((
                Some(2000),
                Some(350),
                0,
                AssetStatus::Terminated,
                vec!["app:1".into(), "init:1".into(), "side:1".into()],
            )),
        );
        check(
            json!({"metadata": meta, "spec": {"containers": [container("a", "x", None, None)]}}),
            Some((None, None, 0, AssetStatus::Unknown, vec!["x".into()])),
        );
        check(
            json!({"metadata": {"name": "p"}, "spec": {"containers": []}}),
            None,
        );
    }

    #[test]
    fn virtual_nodes_by_label_name_or_taint() {
        let rules = VirtualNodeRules::default();
        let node = |value: serde_json::Value| -> Node {
            serde_json::from_value(value).unwrap_or_else(|e| panic!("node: {e}"))
        };
        let cases = [
            (
                json!({"metadata": {"name": "n1", "labels": {"type": "virtual-kubelet"}}}),
                true,
            ),
            (
                json!({"metadata": {"name": "virtual-kubelet-cn-hangzhou-i"}}),
                true,
            ),
            (
                json!({"metadata": {"name": "vk"}, "spec": {"taints": [
                    {"key": "virtual-kubelet.io/provider", "value": "alibabacloud", "effect": "NoSchedule"}]}}),
                true,
            ),
            (
                json!({"metadata": {"name": "worker-1", "labels": {"type": "normal"}}}),
                false,
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                is_virtual_node(&node(value.clone()), &rules),
                expected,
                "{value}"
            );
        }
    }

    #[test]
    fn documents_drop_volatile_fields() {
        let value = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "uid": "u",
            "resourceVersion": "42", "managedFields": [{"manager": "kubelet"}]},
            "spec": {"containers": [{"name": "a", "image": "x"}]},
            "status": {"phase": "Running"}});
        let doc: serde_json::Value =
            serde_json::from_str(&pod_document(pod(value))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            doc,
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "uid": "u"},
                "spec": {"containers": [{"name": "a", "image": "x"}]}})
        );
    }
}
