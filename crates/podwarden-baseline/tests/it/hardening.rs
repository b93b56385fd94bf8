//! Hardening checks: each case mutates a workload that passes every check and lists the
//! hardening findings (check id, container) it must produce.

use podwarden_baseline::{CATALOGUE, Level, Options, PatchOp, apply_patch, check, check_document};
use serde_json::{Value, json};

fn good() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"template": {"spec": {
            "automountServiceAccountToken": false,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{
                "name": "init",
                "image": "registry.example/init:1.0@sha256:1234",
                "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}}
            }],
            "containers": [{
                "name": "app",
                "image": "registry.example/app:1.2@sha256:abcd",
                "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
                "livenessProbe": {"httpGet": {"path": "/", "port": 8080}},
                "readinessProbe": {"httpGet": {"path": "/", "port": 8080}}
            }]
        }}}
    })
}

const POD: &str = "/spec/template/spec";
const APP: &str = "/spec/template/spec/containers/0";

fn set(path: &str, value: Value) -> PatchOp {
    PatchOp::Add {
        path: path.to_string(),
        value,
    }
}

fn remove(path: &str) -> PatchOp {
    PatchOp::Remove {
        path: path.to_string(),
    }
}

/// Applies `mutation` to the good workload and compares its hardening findings.
fn check_case(name: &str, mutation: &[PatchOp], expected: &[(&str, Option<&str>)]) {
    let doc = apply_patch(&good(), mutation).unwrap_or_else(|e| panic!("{name}: {e}"));
    let findings = check_document(&doc, &Options::default());
    let mut got: Vec<(String, Option<String>)> = findings
        .iter()
        .filter(|f| f.check_id.starts_with("hardening."))
        .map(|f| {
            (
                f.check_id.clone(),
                f.location.container.as_ref().map(|c| c.name.clone()),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, Option<String>)> = expected
        .iter()
        .map(|(id, c)| (id.to_string(), c.map(str::to_string)))
        .collect();
    want.sort();
    assert_eq!(got, want, "case {name}");
    for f in &findings {
        assert!(
            check(&f.check_id).is_some(),
            "{} is not in the catalogue",
            f.check_id
        );
    }
}

#[test]
fn hardening_cases() {
    let app = Some("app");
    let init = Some("init");
    check_case("good", &[], &[]);
    check_case(
        "uid 0",
        &[set(&format!("{POD}/securityContext/runAsUser"), json!(0))],
        &[
            ("hardening.root-container", init),
            ("hardening.root-container", app),
        ],
    );
    check_case(
        "no user settings",
        &[
            remove(&format!("{POD}/securityContext/runAsUser")),
            remove(&format!("{POD}/securityContext/runAsNonRoot")),
        ],
        &[
            ("hardening.root-container", init),
            ("hardening.root-container", app),
        ],
    );
    check_case(
        "runAsNonRoot without uid",
        &[remove(&format!("{POD}/securityContext/runAsUser"))],
        &[],
    );
    // Found cross-checking with checkov on Kubernetes' own test data: a negative runAsUser
    // (which the API server rejects) was taken for a non-root user.
    for bad_uid in [
        json!(-5),
        json!(2_147_483_648_i64),
        json!(1000.5),
        json!("1000"),
    ] {
        check_case(
            &format!("invalid uid {bad_uid} without runAsNonRoot"),
            &[
                set(&format!("{POD}/securityContext/runAsUser"), bad_uid),
                remove(&format!("{POD}/securityContext/runAsNonRoot")),
            ],
            &[
                ("hardening.root-container", init),
                ("hardening.root-container", app),
            ],
        );
    }
    check_case(
        "invalid uid with runAsNonRoot",
        &[set(&format!("{POD}/securityContext/runAsUser"), json!(-5))],
        &[],
    );
    check_case(
        "largest valid uid",
        &[
            set(
                &format!("{POD}/securityContext/runAsUser"),
                json!(2_147_483_647_i64),
            ),
            remove(&format!("{POD}/securityContext/runAsNonRoot")),
        ],
        &[],
    );
    check_case(
        "container uid overrides",
        &[set(&format!("{APP}/securityContext/runAsUser"), json!(0))],
        &[("hardening.root-container", app)],
    );
    check_case(
        "keeps capabilities",
        &[remove(&format!("{APP}/securityContext/capabilities"))],
        &[("hardening.capabilities", app)],
    );
    // Found cross-checking with checkov on Kubernetes' coredns addon (`drop: [all]`): the
    // runtimes drop every capability for "all" in any case, so the hardening check passes; the
    // standard's restricted check stays exact (see pss_levels_report_nothing_but_the_standard).
    check_case(
        "drops all in lower case",
        &[set(
            &format!("{APP}/securityContext/capabilities/drop"),
            json!(["all"]),
        )],
        &[],
    );
    check_case(
        "drops only NET_RAW",
        &[set(
            &format!("{APP}/securityContext/capabilities/drop"),
            json!(["NET_RAW"]),
        )],
        &[("hardening.capabilities", app)],
    );
    check_case(
        "adds dangerous capabilities",
        &[set(
            &format!("{APP}/securityContext/capabilities/add"),
            json!(["NET_BIND_SERVICE", "CAP_SYS_ADMIN", "NET_RAW"]),
        )],
        &[("hardening.dangerous-capabilities", app)],
    );
    check_case(
        "writable root",
        &[set(
            &format!("{APP}/securityContext/readOnlyRootFilesystem"),
            json!(false),
        )],
        &[("hardening.readonly-rootfs", app)],
    );
    check_case(
        "no resources",
        &[remove(&format!("{APP}/resources"))],
        &[
            ("hardening.cpu-requests", app),
            ("hardening.cpu-limits", app),
            ("hardening.memory-requests", app),
            ("hardening.memory-limits", app),
        ],
    );
    check_case(
        "limits imply requests",
        &[remove(&format!("{APP}/resources/requests"))],
        &[],
    );
    check_case(
        "untagged image",
        &[set(&format!("{APP}/image"), json!("nginx"))],
        &[
            ("hardening.image-tag", app),
            ("hardening.image-digest", app),
        ],
    );
    check_case(
        "latest image",
        &[set(
            &format!("{APP}/image"),
            json!("localhost:5000/nginx:latest"),
        )],
        &[
            ("hardening.image-tag", app),
            ("hardening.image-digest", app),
        ],
    );
    check_case(
        "tagged image",
        &[set(&format!("{APP}/image"), json!("nginx:1.25"))],
        &[("hardening.image-digest", app)],
    );
    check_case(
        "digest only",
        &[set(&format!("{APP}/image"), json!("nginx@sha256:abcd"))],
        &[],
    );
    check_case(
        "token automount",
        &[remove(&format!("{POD}/automountServiceAccountToken"))],
        &[("hardening.sa-token-automount", None)],
    );
    check_case(
        "secret env",
        &[set(
            &format!("{APP}/env"),
            json!([
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                {"name": "PASSWORD_FILE", "value": "/run/secrets/pw"},
                {"name": "MODE", "value": "prod"}
            ]),
        )],
        &[("hardening.secret-env", app)],
    );
    check_case(
        "envFrom secret",
        &[set(
            &format!("{APP}/envFrom"),
            json!([{"secretRef": {"name": "all"}}]),
        )],
        &[("hardening.secret-env", app)],
    );
    check_case(
        "literal secret",
        &[set(
            &format!("{APP}/env"),
            json!([{"name": "API_TOKEN", "value": "s3cr3t-value"}]),
        )],
        &[("hardening.plaintext-secret-env", app)],
    );
    check_case(
        "docker socket",
        &[
            set(
                &format!("{POD}/volumes"),
                json!([{"name": "sock", "hostPath": {"path": "/var/run/docker.sock/"}}]),
            ),
            set(
                &format!("{APP}/volumeMounts"),
                json!([{"name": "sock", "mountPath": "/var/run/docker.sock"}]),
            ),
        ],
        &[
            ("hardening.runtime-socket", app),
            ("hardening.writable-hostpath", app),
        ],
    );
    check_case(
        "read-only runtime directory",
        &[
            set(
                &format!("{POD}/volumes"),
                json!([{"name": "run", "hostPath": {"path": "/run/containerd"}}]),
            ),
            set(
                &format!("{APP}/volumeMounts"),
                json!([{"name": "run", "mountPath": "/host", "readOnly": true}]),
            ),
        ],
        &[("hardening.runtime-socket", app)],
    );
    check_case(
        "unmounted socket volume",
        &[set(
            &format!("{POD}/volumes"),
            json!([{"name": "sock", "hostPath": {"path": "/run/crio/crio.sock"}}]),
        )],
        &[("hardening.runtime-socket", None)],
    );
    check_case(
        "read-only data hostPath",
        &[
            set(
                &format!("{POD}/volumes"),
                json!([{"name": "data", "hostPath": {"path": "/data"}}]),
            ),
            set(
                &format!("{APP}/volumeMounts"),
                json!([{"name": "data", "mountPath": "/data", "readOnly": true}]),
            ),
        ],
        &[],
    );
    check_case(
        "default namespace",
        &[set("/metadata/namespace", json!("default"))],
        &[("hardening.default-namespace", None)],
    );
    check_case(
        "no namespace",
        &[remove("/metadata/namespace")],
        &[("hardening.default-namespace", None)],
    );
    check_case(
        "no probes",
        &[
            remove(&format!("{APP}/livenessProbe")),
            remove(&format!("{APP}/readinessProbe")),
        ],
        &[
            ("hardening.liveness-probe", app),
            ("hardening.readiness-probe", app),
        ],
    );
    check_case(
        "jobs need no probes",
        &[
            set("/kind", json!("Job")),
            set("/apiVersion", json!("batch/v1")),
            remove(&format!("{APP}/livenessProbe")),
            remove(&format!("{APP}/readinessProbe")),
        ],
        &[],
    );
    check_case(
        "windows pods have no Linux users or capabilities",
        &[
            set(&format!("{POD}/os"), json!({"name": "windows"})),
            remove(&format!("{POD}/securityContext/runAsUser")),
            remove(&format!("{POD}/securityContext/runAsNonRoot")),
            remove(&format!("{APP}/securityContext/capabilities")),
            remove(&format!("{APP}/securityContext/readOnlyRootFilesystem")),
        ],
        &[],
    );
}

#[test]
fn pss_levels_report_nothing_but_the_standard() {
    // The good workload is admitted by Restricted: no finding at baseline or restricted.
    for level in [Level::Baseline, Level::Restricted] {
        let findings = check_document(
            &good(),
            &Options {
                level,
                ..Options::default()
            },
        );
        assert!(findings.is_empty(), "{level:?}: {findings:#?}");
    }
    // A workload that Restricted admits but hardening does not like: still nothing at
    // restricted, hardening findings at all.
    let loose = apply_patch(
        &good(),
        &[
            remove(&format!("{APP}/resources")),
            remove("/metadata/namespace"),
        ],
    )
    .expect("patch");
    assert!(
        check_document(
            &loose,
            &Options {
                level: Level::Restricted,
                ..Options::default()
            }
        )
        .is_empty()
    );
    assert!(!check_document(&loose, &Options::default()).is_empty());
    // The standard wants "ALL" exactly (upstream compares case-sensitively), even though the
    // runtimes accept "all" and hardening.capabilities does too.
    let lower_all = apply_patch(
        &good(),
        &[set(
            &format!("{APP}/securityContext/capabilities/drop"),
            json!(["all"]),
        )],
    )
    .expect("patch");
    let ids: Vec<String> = check_document(
        &lower_all,
        &Options {
            level: Level::Restricted,
            ..Options::default()
        },
    )
    .into_iter()
    .map(|f| f.check_id)
    .collect();
    assert_eq!(ids, ["pss.capabilities_restricted"]);
}

#[test]
fn catalogue_is_complete_and_names_the_headline_checks() {
    let title = |id: &str| check(id).map(|c| c.title);
    assert_eq!(
        title("hardening.root-container"),
        Some("Minimise root containers")
    );
    assert_eq!(
        title("hardening.capabilities"),
        Some("Minimise containers with capabilities")
    );
    let pss = CATALOGUE
        .iter()
        .filter(|c| c.id.starts_with("pss."))
        .count();
    assert_eq!(pss, 19);
    for c in CATALOGUE {
        assert!(
            !c.title.is_empty() && !c.rationale.is_empty() && !c.remediation.is_empty(),
            "{} lacks text",
            c.id
        );
        if let Some(upstream) = c.upstream_id {
            assert_eq!(c.id, format!("pss.{upstream}"));
        }
    }
    let mut ids: Vec<&str> = CATALOGUE.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), CATALOGUE.len(), "duplicate check ids");
}
