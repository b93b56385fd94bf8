//! Baseline fixes applied to the owning workload through the Kubernetes API: the server's own
//! patcher (the one `AppState::new` installs) reads the Deployment that owns a synced pod from
//! the fake API server, rebases the pod-relative fix onto its pod template with guards, and
//! sends it as a JSON Patch; refusals (a Job, a cluster that fails) say why.

use crate::fake_apiserver::{Failure, FakeApiServer, fixture_items};
use crate::findings_support::{get_ok, post_podspec, protected_tenant};
use crate::support::{T0, backends};
use crate::sync_k8s::{add_cluster, sync};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "fake-cluster-token-fix-7d1e";

/// A recorded pod by name, made risky: its first container runs privileged.
fn privileged_pod(name: &str) -> Value {
    let mut pod = fixture_items("pods.json")
        .into_iter()
        .find(|p| p["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no recorded pod {name}"));
    pod["spec"]["containers"][0]["securityContext"] = json!({"privileged": true});
    pod
}

/// One case: the recorded pod the agent runs in, and what applying its fix must do.
struct Case {
    pod: &'static str,
    /// `Some((owner path, pod template pointer, first container))`: a PATCH reached this
    /// path; `None`: nothing was patched.
    patched: Option<(&'static str, &'static str, &'static str)>,
    /// The answer's status and a fragment of its `target` (applied) or message.
    expected: (StatusCode, &'static str),
    failure: Option<Failure>,
}

#[tokio::test]
async fn fixes_reach_the_owning_workload_through_the_kubernetes_api() {
    let cases = [
        Case {
            pod: "web-7c9f8d6b5-x2k4p",
            patched: Some((
                "/apis/apps/v1/namespaces/shop/deployments/web",
                "/spec/template/spec",
                "nginx",
            )),
            expected: (StatusCode::OK, "Deployment shop/web in cluster prod"),
            failure: None,
        },
        Case {
            // The sync resolved the pod's Job to the CronJob that creates it.
            pod: "report-28730160-7wqkd",
            patched: Some((
                "/apis/batch/v1/namespaces/batch/cronjobs/report",
                "/spec/jobTemplate/spec/template/spec",
                "report",
            )),
            expected: (StatusCode::OK, "CronJob batch/report in cluster prod"),
            failure: None,
        },
        Case {
            pod: "web-7c9f8d6b5-x2k4p",
            patched: None,
            expected: (StatusCode::BAD_GATEWAY, "the cluster refused the patch"),
            failure: Some(Failure::Status(
                500,
                crate::fake_apiserver::fixture("status-500.json"),
            )),
        },
    ];
    for backend in backends() {
        for case in &cases {
            let env = crate::support::Env::new(&backend).await;
            let tenant = protected_tenant(&env, "acme").await;
            let cluster = FakeApiServer::start(TOKEN).await;
            add_cluster(
                &env,
                &tenant.admin,
                "prod",
                "k8s-serverless",
                &cluster.kubeconfig(TOKEN),
            )
            .await;
            sync(&env, &tenant.admin).await;
            // The agent in that pod attaches to the synced asset and uploads the pod spec.
            let pod = privileged_pod(case.pod);
            let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
            let (asset, credential) = env.enroll(&tenant.enrollment, uid, case.pod).await;
            let detail = get_ok(&env, &tenant.admin, &format!("/api/v1/assets/{asset}")).await;
            assert_eq!(detail["pod_name"], case.pod, "attached to the synced asset");
            let (status, reply) = post_podspec(&env, &credential, "spec-1", T0, pod).await;
            assert_eq!(status, StatusCode::OK, "{reply}");
            let risks = get_ok(
                &env,
                &tenant.admin,
                &format!("/api/v1/baseline-risks?check=pss.privileged&asset={asset}"),
            )
            .await;
            let risk = risks["items"][0]["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("no privileged risk: {risks}"));
            if let Some(failure) = &case.failure {
                cluster.state().failure = Some(failure.clone());
            }
            let (status, reply) = env
                .call(
                    Method::POST,
                    &format!("/api/v1/baseline-risks/{risk}/fix"),
                    Some(&tenant.admin),
                    Some(json!({"apply": true})),
                )
                .await;
            let said = format!("{} {}", reply["target"], reply["error"]["message"])
                + reply["message"].as_str().unwrap_or_default();
            assert_eq!(status, case.expected.0, "{}: {reply}", case.pod);
            assert!(said.contains(case.expected.1), "{}: {reply}", case.pod);
            let patches = cluster.state().requests_to("PATCH", "/apis/");
            match case.patched {
                None => assert!(patches.is_empty(), "{}: {patches:?}", case.pod),
                Some((path, template, container)) => {
                    assert_eq!(reply["applied"], true, "{reply}");
                    assert_eq!(patches.len(), 1, "{patches:?}");
                    let sent = &patches[0];
                    assert_eq!(sent.path, path);
                    assert_eq!(
                        sent.content_type.as_deref(),
                        Some("application/json-patch+json")
                    );
                    let ops: Value = serde_json::from_slice(&sent.body)
                        .unwrap_or_else(|e| panic!("patch body: {e}"));
                    let ops = ops.as_array().cloned().unwrap_or_default();
                    // The guard names the container the fix was made for, at its index in
                    // the template; the change lands in the template, not the pod.
                    let at = format!("{template}/containers/0");
                    assert_eq!(
                        ops.first(),
                        Some(&json!({"op": "test", "path": format!("{at}/name"),
                            "value": container})),
                        "{ops:?}"
                    );
                    let changed = format!("{at}/securityContext");
                    assert!(
                        ops.iter()
                            .skip(1)
                            .all(|op| op["path"].as_str().is_some_and(|p| p.starts_with(&changed))),
                        "{ops:?}"
                    );
                    assert!(ops.len() > 1, "{ops:?}");
                }
            }
            // Every attempt is in the audit log, applied or not.
            let audit = get_ok(&env, &tenant.admin, "/api/v1/audit").await;
            let fixes = audit["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["action"] == "baseline_risk.fix")
                .count();
            assert_eq!(fixes, 1, "{audit}");
            env.finish().await;
        }
    }
}
