//! Unit tests of the pure injection: which templates are injected, refusals, idempotence, and
//! what the sidecar looks like.

use super::*;
use serde_json::json;

fn refused(code: RefusalCode) -> Outcome {
    Outcome::Refused(Refusal {
        code,
        message: String::new(),
    })
}

const INJECTED: Outcome = Outcome::Injected {
    native_sidecar: false,
};
const NATIVE: Outcome = Outcome::Injected {
    native_sidecar: true,
};

/// Injects into `input` and compares `(pointer, outcome)` per template (refusal messages are
/// not compared, only codes); returns the result for further checks. Also checks that a second
/// injection changes nothing.
fn check(
    input: Value,
    config: &InjectConfig,
    selection: Selection,
    expected: &[(&str, Outcome)],
) -> Value {
    let mut object = input.clone();
    let reports = inject(&mut object, config, selection);
    let got: Vec<(String, Outcome)> = reports
        .iter()
        .map(|r| {
            let outcome = match &r.outcome {
                Outcome::Refused(refusal) => {
                    assert!(!refusal.message.is_empty(), "refusal without a reason");
                    assert!(
                        refusal.message.chars().count() <= 80,
                        "reason too long for a warning: {}",
                        refusal.message
                    );
                    refused(refusal.code)
                }
                other => other.clone(),
            };
            (r.pointer.clone(), outcome)
        })
        .collect();
    let want: Vec<(String, Outcome)> = expected
        .iter()
        .map(|(p, o)| (p.to_string(), o.clone()))
        .collect();
    assert_eq!(got, want, "reports for {input}");
    if !reports
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Injected { .. }))
    {
        assert_eq!(object, input, "nothing injected, yet the object changed");
    }
    let mut again = object.clone();
    let second = inject(&mut again, config, selection);
    assert_eq!(again, object, "a second injection changed the object");
    assert!(
        second
            .iter()
            .all(|r| !matches!(r.outcome, Outcome::Injected { .. })),
        "a second injection injected again: {second:?}"
    );
    object
}

fn pod(annotations: Value, spec: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}, "annotations": annotations},
        "spec": spec
    })
}

fn web_spec() -> Value {
    json!({"containers": [{"name": "web", "image": "nginx:1.27"}]})
}

fn workload(
    kind: &str,
    api_version: &str,
    outer: Value,
    template_annotations: Value,
    spec: Value,
) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "web", "annotations": outer},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}, "annotations": template_annotations}, "spec": spec}}
    })
}

fn enabled() -> Value {
    json!({"podwarden.io/agent": "enabled"})
}

#[test]
fn which_templates_are_injected() {
    let config = InjectConfig::default();
    let a = Selection::Annotated;
    check(pod(enabled(), web_spec()), &config, a, &[("", INJECTED)]);
    check(
        pod(json!({"podwarden.io/agent": " Enabled "}), web_spec()),
        &config,
        a,
        &[("", INJECTED)],
    );
    check(
        pod(
            json!({"k8s.aliyun.com/eci-aliyundun-enabled": "true"}),
            web_spec(),
        ),
        &config,
        a,
        &[("", INJECTED)],
    );
    check(
        pod(
            json!({"security.alibabacloud.com/aliyundun-enabled": "true"}),
            web_spec(),
        ),
        &config,
        a,
        &[("", INJECTED)],
    );
    check(
        pod(
            json!({"security.alibabacloud.com/aliyundun-enabled": "false"}),
            web_spec(),
        ),
        &config,
        a,
        &[("", Outcome::NotRequested)],
    );
    check(
        pod(json!({}), web_spec()),
        &config,
        a,
        &[("", Outcome::NotRequested)],
    );
    check(
        pod(json!({"podwarden.io/agent": "maybe"}), web_spec()),
        &config,
        a,
        &[("", Outcome::NotRequested)],
    );
    // The podwarden annotation wins over an alias on the same metadata.
    check(
        pod(
            json!({"podwarden.io/agent": "disabled", "k8s.aliyun.com/eci-aliyundun-enabled": "true"}),
            web_spec(),
        ),
        &config,
        a,
        &[("", Outcome::NotRequested)],
    );
    // Workloads: the template's annotations, then the workload's own.
    for (kind, api) in [
        ("Deployment", "apps/v1"),
        ("StatefulSet", "apps/v1"),
        ("DaemonSet", "apps/v1"),
        ("ReplicaSet", "apps/v1"),
        ("ReplicationController", "v1"),
        ("Deployment", "extensions/v1beta1"),
    ] {
        check(
            workload(kind, api, json!({}), enabled(), web_spec()),
            &config,
            a,
            &[("/spec/template", INJECTED)],
        );
        check(
            workload(kind, api, enabled(), json!({}), web_spec()),
            &config,
            a,
            &[("/spec/template", INJECTED)],
        );
        check(
            workload(kind, api, json!({}), json!({}), web_spec()),
            &config,
            a,
            &[("/spec/template", Outcome::NotRequested)],
        );
    }
    check(
        workload(
            "Deployment",
            "apps/v1",
            enabled(),
            json!({"podwarden.io/agent": "disabled"}),
            web_spec(),
        ),
        &config,
        a,
        &[("/spec/template", Outcome::NotRequested)],
    );
    check(
        workload(
            "Deployment",
            "apps/v1",
            json!({"podwarden.io/agent": "disabled"}),
            enabled(),
            web_spec(),
        ),
        &config,
        a,
        &[("/spec/template", INJECTED)],
    );
    // Unknown kinds and look-alikes of other API groups pass untouched.
    check(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "annotations": enabled()}}),
        &config,
        a,
        &[],
    );
    check(
        workload(
            "Deployment",
            "example.com/v1",
            enabled(),
            enabled(),
            web_spec(),
        ),
        &config,
        a,
        &[],
    );
    check(json!("text"), &config, a, &[]);
    // Selection::All injects unannotated templates, not those that opt out.
    check(
        pod(json!({}), web_spec()),
        &config,
        Selection::All,
        &[("", INJECTED)],
    );
    check(
        pod(json!({"podwarden.io/agent": "disabled"}), web_spec()),
        &config,
        Selection::All,
        &[("", Outcome::NotRequested)],
    );
}

#[test]
fn jobs_lists_and_templates() {
    let config = InjectConfig::default();
    let a = Selection::Annotated;
    let job_spec =
        json!({"restartPolicy": "Never", "containers": [{"name": "task", "image": "busybox"}]});
    check(
        workload("Job", "batch/v1", json!({}), enabled(), job_spec.clone()),
        &config,
        a,
        &[("/spec/template", NATIVE)],
    );
    let cronjob = json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {
            "metadata": {"annotations": enabled()},
            "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "initContainers": [{"name": "prep", "image": "busybox"}], "containers": [{"name": "task", "image": "busybox"}]}}}
        }}
    });
    let out = check(
        cronjob,
        &config,
        a,
        &[("/spec/jobTemplate/spec/template", NATIVE)],
    );
    let init = out
        .pointer("/spec/jobTemplate/spec/template/spec/initContainers")
        .cloned()
        .unwrap_or_default();
    assert_eq!(init.pointer("/0/name"), Some(&json!(AGENT_CONTAINER)));
    assert_eq!(init.pointer("/0/restartPolicy"), Some(&json!("Always")));
    assert_eq!(init.pointer("/1/name"), Some(&json!("prep")));
    let no_native = InjectConfig {
        native_sidecar_for_jobs: false,
        ..InjectConfig::default()
    };
    check(
        workload("Job", "batch/v1", json!({}), enabled(), job_spec),
        &no_native,
        a,
        &[("/spec/template", refused(RefusalCode::RunToCompletion))],
    );
    let template = json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": {"metadata": {"annotations": enabled()}, "spec": web_spec()}});
    check(template, &config, a, &[("/template", INJECTED)]);
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
        pod(enabled(), web_spec()),
        workload("Deployment", "apps/v1", json!({}), json!({}), web_spec()),
        {"apiVersion": "v1", "kind": "PodList", "items": [pod(enabled(), web_spec())]}
    ]});
    check(
        list,
        &config,
        a,
        &[
            ("/items/1", INJECTED),
            ("/items/2/spec/template", Outcome::NotRequested),
            ("/items/3/items/0", INJECTED),
        ],
    );
}

#[test]
fn refusals() {
    let config = InjectConfig::default();
    let a = Selection::Annotated;
    let cases = [
        (
            json!({"os": {"name": "windows"}, "containers": [{"name": "w", "image": "iis"}]}),
            RefusalCode::Windows,
        ),
        (
            json!({"nodeSelector": {"kubernetes.io/os": "windows"}, "containers": [{"name": "w", "image": "iis"}]}),
            RefusalCode::Windows,
        ),
        (
            json!({"hostPID": true, "containers": [{"name": "w", "image": "x"}]}),
            RefusalCode::HostPid,
        ),
        (
            json!({"shareProcessNamespace": false, "containers": [{"name": "w", "image": "x"}]}),
            RefusalCode::ShareProcessNamespaceDisabled,
        ),
        (
            json!({"containers": [{"name": "w", "image": "x"}, {"name": AGENT_CONTAINER, "image": "other/agent:9"}]}),
            RefusalCode::ContainerNameTaken,
        ),
        (
            json!({"containers": [{"name": "w", "image": "x"}], "initContainers": [{"name": AGENT_CONTAINER, "image": format!("registry.example.com/{}/agent:1", "a".repeat(200))}]}),
            RefusalCode::ContainerNameTaken,
        ),
        (
            json!({"containers": [{"name": "w", "image": "x"}], "volumes": [{"name": STATE_VOLUME, "emptyDir": {}}]}),
            RefusalCode::VolumeNameTaken,
        ),
        (json!({"containers": {"name": "w"}}), RefusalCode::Malformed),
        (
            json!({"initContainers": "no", "containers": []}),
            RefusalCode::Malformed,
        ),
        (json!({}), RefusalCode::Malformed),
    ];
    for (spec, code) in cases {
        check(pod(enabled(), spec), &config, a, &[("", refused(code))]);
    }
    check(
        pod(enabled(), json!("not an object")),
        &config,
        a,
        &[("", refused(RefusalCode::Malformed))],
    );
    check(
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "annotations": enabled()}, "spec": {}}),
        &config,
        a,
        &[("/spec/template", refused(RefusalCode::Malformed))],
    );
    // hostNetwork is fine.
    check(
        pod(
            enabled(),
            json!({"hostNetwork": true, "containers": [{"name": "w", "image": "x"}]}),
        ),
        &config,
        a,
        &[("", INJECTED)],
    );
    // Same name and image: already injected.
    let spec = json!({"containers": [{"name": "w", "image": "x"}, {"name": AGENT_CONTAINER, "image": config.image}]});
    check(
        pod(enabled(), spec),
        &config,
        a,
        &[("", Outcome::AlreadyInjected)],
    );
}

#[test]
fn the_sidecar() {
    let config = InjectConfig {
        cluster: Some("prod-eu".into()),
        source_kind: Some("k8s-serverless".into()),
        image_pull_policy: Some("IfNotPresent".into()),
        ..InjectConfig::default()
    };
    let annotations = json!({"podwarden.io/agent": "enabled", "podwarden.io/web-roots": "/var/www/html, /srv/app:relative"});
    let mut spec = web_spec();
    spec["securityContext"] = json!({"runAsNonRoot": true, "runAsUser": 1000});
    let out = check(
        pod(annotations, spec),
        &config,
        Selection::Annotated,
        &[("", INJECTED)],
    );
    assert_eq!(
        out.pointer("/spec/shareProcessNamespace"),
        Some(&json!(true))
    );
    assert_eq!(out.pointer("/spec/containers/0/name"), Some(&json!("web")));
    assert_eq!(
        out.pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container"),
        Some(&json!("web"))
    );
    let agent = out
        .pointer("/spec/containers/1")
        .cloned()
        .unwrap_or_default();
    assert_eq!(agent["name"], json!(AGENT_CONTAINER));
    assert_eq!(agent["image"], json!(config.image));
    assert_eq!(agent["imagePullPolicy"], json!("IfNotPresent"));
    assert_eq!(agent["command"], json!(["podwarden", "agent"]));
    let env: Vec<(String, Value)> = agent["env"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|v| {
                    (
                        v["name"].as_str().unwrap_or("").to_string(),
                        v.get("value")
                            .or_else(|| v.get("valueFrom"))
                            .cloned()
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let get = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(get("PODWARDEN_CONTAINER_TYPE"), Some(json!("sidecar")));
    assert_eq!(get("PODWARDEN_SERVER"), Some(json!(DEFAULT_SERVER_URL)));
    assert_eq!(
        get("PODWARDEN_TOKEN"),
        Some(
            json!({"secretKeyRef": {"name": "podwarden-enrollment", "key": "token", "optional": true}})
        )
    );
    assert_eq!(
        get("POD_NAME"),
        Some(json!({"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}))
    );
    assert_eq!(
        get("POD_NAMESPACE"),
        Some(json!({"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}))
    );
    assert_eq!(
        get("POD_UID"),
        Some(json!({"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.uid"}}))
    );
    assert_eq!(get("PODWARDEN_STATE_DIR"), Some(json!(STATE_DIR)));
    assert_eq!(get("PODWARDEN_PODINFO_DIR"), Some(json!(PODINFO_DIR)));
    assert_eq!(get("PODWARDEN_CLUSTER"), Some(json!("prod-eu")));
    assert_eq!(get("PODWARDEN_SOURCE_KIND"), Some(json!("k8s-serverless")));
    assert_eq!(
        get("PODWARDEN_WEB_ROOTS"),
        Some(json!("/var/www/html:/srv/app"))
    );
    // The inline pod spec is the injected pod, without itself.
    let spec_text = get("PODWARDEN_POD_SPEC")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let inline: Value = serde_json::from_str(&spec_text).unwrap_or_default();
    assert_eq!(
        inline.pointer("/spec/containers/1/name"),
        Some(&json!(AGENT_CONTAINER))
    );
    assert_eq!(inline.pointer("/metadata/labels/app"), Some(&json!("web")));
    assert!(!spec_text.contains("PODWARDEN_POD_SPEC"));
    assert_eq!(
        agent["resources"],
        json!({"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}})
    );
    assert_eq!(
        agent["securityContext"],
        json!({"runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": false, "privileged": false,
               "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
               "capabilities": {"drop": ["ALL"], "add": ["SYS_PTRACE"]},
               "seccompProfile": {"type": "RuntimeDefault"}})
    );
    assert_eq!(
        agent["volumeMounts"],
        json!([
            {"name": STATE_VOLUME, "mountPath": STATE_DIR},
            {"name": PODINFO_VOLUME, "mountPath": PODINFO_DIR, "readOnly": true}
        ])
    );
    assert_eq!(
        out.pointer("/spec/volumes/0"),
        Some(&json!({"name": STATE_VOLUME, "emptyDir": {}}))
    );
    assert_eq!(
        out.pointer("/spec/volumes/1/downwardAPI/items/0/path"),
        Some(&json!("labels"))
    );
    assert_eq!(agent.get("restartPolicy"), None);
}

#[test]
fn options_shape_the_sidecar() {
    let config = InjectConfig {
        pod_spec_env: false,
        capabilities: Vec::new(),
        resources: SidecarResources {
            cpu_request: None,
            memory_request: None,
            cpu_limit: Some("1".into()),
            memory_limit: None,
        },
        ..InjectConfig::default()
    };
    let out = check(
        pod(enabled(), web_spec()),
        &config,
        Selection::Annotated,
        &[("", INJECTED)],
    );
    let agent = out
        .pointer("/spec/containers/1")
        .cloned()
        .unwrap_or_default();
    assert_eq!(agent["resources"], json!({"limits": {"cpu": "1"}}));
    assert_eq!(
        agent.pointer("/securityContext/capabilities"),
        Some(&json!({"drop": ["ALL"]}))
    );
    let names: Vec<&str> = agent["env"]
        .as_array()
        .map(|e| e.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(!names.contains(&"PODWARDEN_POD_SPEC"));
    // A pod spec too large for an environment variable is left out.
    let big: Vec<Value> = (0..1000).map(|i| json!({"name": format!("c{i}"), "image": format!("registry.example/team/image-{i}:1.0.0")})).collect();
    let out = check(
        pod(enabled(), json!({"containers": big})),
        &InjectConfig::default(),
        Selection::Annotated,
        &[("", INJECTED)],
    );
    let agent = out
        .pointer("/spec/containers/1000")
        .cloned()
        .unwrap_or_default();
    assert_eq!(agent["name"], json!(AGENT_CONTAINER));
    let names: Vec<&str> = agent["env"]
        .as_array()
        .map(|e| e.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(!names.contains(&"PODWARDEN_POD_SPEC"));
}

#[test]
fn config_validation() {
    let check_config = |edit: fn(&mut InjectConfig), expected: Result<(), &str>| {
        let mut config = InjectConfig::default();
        edit(&mut config);
        assert_eq!(config.validate().map_err(|(key, _)| key), expected);
    };
    check_config(|_| {}, Ok(()));
    check_config(|c| c.image = "a b".into(), Err("image"));
    check_config(|c| c.command.clear(), Err("command"));
    check_config(|c| c.server_url = "https://".into(), Err("server_url"));
    check_config(|c| c.secret_name = "-x".into(), Err("secret_name"));
    check_config(|c| c.secret_key = "a/b".into(), Err("secret_key"));
    check_config(
        |c| c.resources.cpu_limit = Some("0".into()),
        Err("cpu_limit"),
    );
    check_config(|c| c.resources.memory_limit = Some("1.5Gi".into()), Ok(()));
    check_config(
        |c| c.resources.memory_limit = Some("0Mi".into()),
        Err("memory_limit"),
    );
    check_config(
        |c| c.capabilities = vec!["sys_ptrace".into()],
        Err("capabilities"),
    );
}
