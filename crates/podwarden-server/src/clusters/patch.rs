//! Applying baseline fixes to cluster workloads: a fix is a JSON Patch over the asset's Pod;
//! [`KubePatcher`] rebases it onto the pod template of the workload that owns the pod
//! (`/spec/...` becomes `/spec/template/spec/...`, or `/spec/jobTemplate/spec/template/spec/...`
//! for a CronJob), maps container indexes by container name (a webhook may have injected
//! containers into the pod that the template does not have), guards each mapped container
//! with a `test` operation, and sends it as `application/json-patch+json`.
//!
//! A bare Pod is refused (a pod's spec is immutable after creation, save a few fields), and so
//! is a Job (its pod template is immutable); the user applies the returned patch to the
//! manifest instead.

use super::cluster_of_source;
use super::kube_client;
use crate::findings::patcher::{PatchApplied, PatchRefused, WorkloadPatcher, WorkloadTarget};
use crate::state::BoxFuture;
use crate::store::Store;
use podwarden_baseline::PatchOp;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};

/// Where a kind of workload lives in the API and where its pod template is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadKind {
    /// `/apis/apps/v1` or `/apis/batch/v1`.
    pub api: &'static str,
    /// Resource name in URLs (`deployments`, ...).
    pub plural: &'static str,
    /// JSON Pointer of the pod template (`/spec/template`, ...).
    pub template: &'static str,
}

/// The workload kind of an owner, or why it cannot be patched.
pub fn workload_kind(owner_kind: Option<&str>) -> Result<WorkloadKind, String> {
    let apps = |plural| WorkloadKind {
        api: "/apis/apps/v1",
        plural,
        template: "/spec/template",
    };
    match owner_kind {
        Some("Deployment") => Ok(apps("deployments")),
        Some("StatefulSet") => Ok(apps("statefulsets")),
        Some("DaemonSet") => Ok(apps("daemonsets")),
        Some("ReplicaSet") => Ok(apps("replicasets")),
        Some("CronJob") => Ok(WorkloadKind {
            api: "/apis/batch/v1",
            plural: "cronjobs",
            template: "/spec/jobTemplate/spec/template",
        }),
        Some("Job") => Err(
            "the pod belongs to a Job, whose pod template cannot be changed after creation: \
             apply the patch to the Job's manifest and create the Job again"
                .to_string(),
        ),
        None | Some("") => Err(
            "the pod has no owning workload, and a pod's spec cannot be changed after creation: \
             apply the patch to the pod's manifest and create the pod again"
                .to_string(),
        ),
        Some(other) => Err(format!(
            "the pod belongs to a {other}, which the center does not patch: apply the patch to \
             its pod template yourself"
        )),
    }
}

/// Container lists whose indexes are mapped by name.
const CONTAINER_LISTS: [&str; 2] = ["containers", "initContainers"];

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Rebases a pod-relative patch onto the template at `template` of `workload`. `pod` is the
/// Pod the patch was made for. Returns the operations to send, guards first.
pub fn rebase(
    pod: &Value,
    workload: &Value,
    template: &str,
    patch: &[PatchOp],
) -> Result<Vec<Value>, String> {
    let mut guards: BTreeSet<(String, usize, String)> = BTreeSet::new();
    let mut created: HashSet<String> = HashSet::new();
    let mut ops: Vec<Value> = Vec::new();
    for op in patch {
        let path = op.path();
        let rebased = if let Some(rest) = path.strip_prefix("/spec/") {
            let mut segments: Vec<String> = rest.split('/').map(str::to_string).collect();
            let list = segments.first().cloned().unwrap_or_default();
            if list == "ephemeralContainers" {
                return Err(format!(
                    "{path}: ephemeral containers are not part of a pod template"
                ));
            }
            if CONTAINER_LISTS.contains(&list.as_str()) && segments.len() > 1 {
                let index: usize = segments[1].parse().map_err(|_| {
                    format!("{path}: expected a container index after /spec/{list}")
                })?;
                let name = pod
                    .pointer(&format!("/spec/{list}/{index}/name"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{path}: the pod has no container {index} in {list}"))?;
                let position = workload
                    .pointer(&format!("{template}/spec/{list}"))
                    .and_then(Value::as_array)
                    .and_then(|items| {
                        items
                            .iter()
                            .position(|c| c.get("name").and_then(Value::as_str) == Some(name))
                    })
                    .ok_or_else(|| {
                        format!(
                            "container {name:?} of the pod is not in the workload's pod template \
                             (injected by an admission webhook?): apply that part yourself"
                        )
                    })?;
                segments[1] = position.to_string();
                guards.insert((list.clone(), position, name.to_string()));
            }
            format!("{template}/spec/{}", segments.join("/"))
        } else if path.starts_with("/metadata/annotations") || path.starts_with("/metadata/labels")
        {
            format!("{template}{path}")
        } else {
            return Err(format!(
                "{path} has no counterpart in a workload's pod template"
            ));
        };
        match op {
            PatchOp::Add { value, .. } | PatchOp::Replace { value, .. } => {
                ensure_parents(workload, &rebased, &mut created, &mut ops)?;
                let exists = workload.pointer(&rebased).is_some() || created.contains(&rebased);
                let verb = match op {
                    PatchOp::Replace { .. } if exists => "replace",
                    _ => "add",
                };
                ops.push(json!({"op": verb, "path": rebased, "value": value}));
            }
            PatchOp::Remove { .. } => {
                if workload.pointer(&rebased).is_some() {
                    ops.push(json!({"op": "remove", "path": rebased}));
                }
            }
            PatchOp::Test { value, .. } => {
                ops.push(json!({"op": "test", "path": rebased, "value": value}));
            }
        }
    }
    let mut out: Vec<Value> = guards
        .into_iter()
        .map(|(list, position, name)| {
            json!({"op": "test", "path": format!("{template}/spec/{list}/{position}/name"), "value": name})
        })
        .collect();
    out.extend(ops);
    Ok(out)
}

/// Adds `{}` for every missing object on the way to `path` (JSON Patch `add` needs the parent).
fn ensure_parents(
    workload: &Value,
    path: &str,
    created: &mut HashSet<String>,
    ops: &mut Vec<Value>,
) -> Result<(), String> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut pointer = String::new();
    for segment in segments.iter().take(segments.len().saturating_sub(1)) {
        pointer.push('/');
        pointer.push_str(segment);
        if workload.pointer(&pointer).is_some() || created.contains(&pointer) {
            continue;
        }
        if unescape(segment).parse::<usize>().is_ok() || *segment == "-" {
            return Err(format!(
                "{path}: the workload has no list item at {pointer}"
            ));
        }
        ops.push(json!({"op": "add", "path": pointer, "value": {}}));
        created.insert(pointer.clone());
    }
    Ok(())
}

/// A DNS-1123 name or namespace (safe in a URL path).
fn is_object_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// Applies fixes with the cluster client of the asset's cluster.
#[derive(Clone)]
pub struct KubePatcher {
    store: Store,
}

impl KubePatcher {
    pub fn new(store: Store) -> KubePatcher {
        KubePatcher { store }
    }

    async fn apply_patch(
        &self,
        target: &WorkloadTarget,
        patch: &[PatchOp],
    ) -> Result<PatchApplied, PatchRefused> {
        let unavailable = |message: String| PatchRefused::Unavailable(message);
        let Some(cluster_id) = cluster_of_source(&target.source) else {
            return Err(unavailable(
                "this asset was registered by its agent, not synced from a cluster: apply the \
                 returned patch to the workload's manifest yourself"
                    .to_string(),
            ));
        };
        let kind = workload_kind(target.owner_kind.as_deref()).map_err(unavailable)?;
        let owner_kind = target.owner_kind.clone().unwrap_or_default();
        let owner_name = target.owner_name.clone().unwrap_or_default();
        if !is_object_name(&owner_name) || !is_object_name(&target.namespace) {
            return Err(unavailable(format!(
                "{owner_kind} {:?} in namespace {:?} is not a valid object name",
                owner_name, target.namespace
            )));
        }
        let access = self
            .store
            .cluster_access(target.tenant, cluster_id)
            .await
            .map_err(|err| {
                unavailable(format!(
                    "the asset's cluster cannot be reached ({err}): apply the patch yourself"
                ))
            })?;
        let pod = self
            .store
            .asset_pod_document(target.tenant, target.asset_id)
            .await
            .map_err(|err| PatchRefused::Failed(err.to_string()))?
            .ok_or_else(|| unavailable("the asset's pod spec is not stored".to_string()))?;
        let described = format!(
            "{owner_kind} {}/{owner_name} in cluster {}",
            target.namespace, access.name
        );
        let settings = &self.store.settings().clusters;
        let client = kube_client::client(&access.kubeconfig, settings)
            .await
            .map_err(|err| PatchRefused::Failed(err.to_string()))?;
        let url = format!(
            "{}/namespaces/{}/{}/{owner_name}",
            kind.api, target.namespace, kind.plural
        );
        let get = http::Request::get(&url)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|err| PatchRefused::Failed(err.to_string()))?;
        let workload: Value = client.request(get).await.map_err(|err| {
            PatchRefused::Failed(
                kube_client::api_error(&format!("reading {described}"), err).to_string(),
            )
        })?;
        let ops = rebase(&pod, &workload, kind.template, patch).map_err(unavailable)?;
        let body = serde_json::to_vec(&ops).map_err(|err| PatchRefused::Failed(err.to_string()))?;
        let request = http::Request::patch(&url)
            .header(http::header::CONTENT_TYPE, "application/json-patch+json")
            .header(http::header::ACCEPT, "application/json")
            .body(body)
            .map_err(|err| PatchRefused::Failed(err.to_string()))?;
        let _patched: Value = client.request(request).await.map_err(|err| {
            PatchRefused::Failed(
                kube_client::api_error(&format!("patching {described}"), err).to_string(),
            )
        })?;
        tracing::info!(tenant = %target.tenant, asset = target.asset_id, workload = %described,
            operations = ops.len(), "baseline fix applied");
        Ok(PatchApplied {
            target: described.clone(),
            message: format!(
                "patched {described} ({} operations); it replaces its pods with the fixed template",
                ops.len()
            ),
        })
    }
}

impl WorkloadPatcher for KubePatcher {
    fn apply<'a>(
        &'a self,
        target: &'a WorkloadTarget,
        patch: &'a [PatchOp],
    ) -> BoxFuture<'a, Result<PatchApplied, PatchRefused>> {
        Box::pin(self.apply_patch(target, patch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(path: &str, value: Value) -> PatchOp {
        PatchOp::Add {
            path: path.to_string(),
            value,
        }
    }

    fn check(patch: Vec<PatchOp>, template: &str, expected: Result<Value, &str>) {
        let pod = json!({"spec": {"containers": [{"name": "istio-proxy"}, {"name": "app"}],
            "initContainers": [{"name": "init"}]}});
        let deployment = json!({"spec": {"template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "securityContext": {"runAsUser": 0}}],
                "initContainers": [{"name": "init"}]}}}});
        let cronjob = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "app"}]}}}}}});
        let workload = if template == "/spec/template" {
            deployment
        } else {
            cronjob
        };
        match (rebase(&pod, &workload, template, &patch), expected) {
            (Ok(ops), Ok(want)) => assert_eq!(Value::Array(ops), want),
            (Err(message), Err(fragment)) => {
                assert!(message.contains(fragment), "{message:?} lacks {fragment:?}")
            }
            (got, want) => panic!("{patch:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn patches_are_rebased_onto_templates() {
        // Container 1 of the pod is container 0 of the template (a sidecar was injected).
        check(
            vec![PatchOp::Replace {
                path: "/spec/containers/1/securityContext/runAsUser".into(),
                value: json!(1000),
            }],
            "/spec/template",
            Ok(json!([
                {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "app"},
                {"op": "replace", "path": "/spec/template/spec/containers/0/securityContext/runAsUser", "value": 1000}
            ])),
        );
        // Missing parents are created; CronJobs nest the template deeper.
        check(
            vec![add(
                "/spec/containers/1/securityContext/allowPrivilegeEscalation",
                json!(false),
            )],
            "/spec/jobTemplate/spec/template",
            Ok(json!([
                {"op": "test", "path": "/spec/jobTemplate/spec/template/spec/containers/0/name", "value": "app"},
                {"op": "add", "path": "/spec/jobTemplate/spec/template/spec/containers/0/securityContext", "value": {}},
                {"op": "add", "path": "/spec/jobTemplate/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation", "value": false}
            ])),
        );
        check(
            vec![
                add(
                    "/spec/securityContext/seccompProfile",
                    json!({"type": "RuntimeDefault"}),
                ),
                add("/metadata/annotations/example.com~1x", json!("y")),
            ],
            "/spec/template",
            Ok(json!([
                {"op": "add", "path": "/spec/template/spec/securityContext", "value": {}},
                {"op": "add", "path": "/spec/template/spec/securityContext/seccompProfile", "value": {"type": "RuntimeDefault"}},
                {"op": "add", "path": "/spec/template/metadata/annotations", "value": {}},
                {"op": "add", "path": "/spec/template/metadata/annotations/example.com~1x", "value": "y"}
            ])),
        );
        check(
            vec![PatchOp::Remove {
                path: "/spec/initContainers/0/securityContext".into(),
            }],
            "/spec/template",
            Ok(json!([
                {"op": "test", "path": "/spec/template/spec/initContainers/0/name", "value": "init"}
            ])),
        );
        check(
            vec![add("/spec/containers/0/securityContext", json!({}))],
            "/spec/template",
            Err("\"istio-proxy\" of the pod is not in the workload's pod template"),
        );
        check(
            vec![add("/spec/containers/7/image", json!("x"))],
            "/spec/template",
            Err("no container 7"),
        );
        check(
            vec![add("/status/phase", json!("x"))],
            "/spec/template",
            Err("no counterpart"),
        );
    }

    #[test]
    fn only_workloads_with_mutable_templates_are_patched() {
        let cases: &[(Option<&str>, Result<&str, &str>)] = &[
            (Some("Deployment"), Ok("/spec/template")),
            (Some("StatefulSet"), Ok("/spec/template")),
            (Some("DaemonSet"), Ok("/spec/template")),
            (Some("ReplicaSet"), Ok("/spec/template")),
            (Some("CronJob"), Ok("/spec/jobTemplate/spec/template")),
            (Some("Job"), Err("cannot be changed after creation")),
            (None, Err("no owning workload")),
            (Some("Rollout"), Err("does not patch")),
        ];
        for (kind, expected) in cases {
            match (workload_kind(*kind), expected) {
                (Ok(found), Ok(template)) => assert_eq!(found.template, *template),
                (Err(message), Err(fragment)) => assert!(message.contains(fragment), "{message}"),
                (got, want) => panic!("{kind:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
