//! The pod identity from the environment and the downward API.

use podwarden_agent::config::{Identity, parse_downward_labels};
use podwarden_agent::scan::{parse_pod, workload_containers};
use std::collections::{BTreeMap, HashMap};

fn identity(vars: &[(&str, &str)]) -> Identity {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Identity::from_env(|name| env.get(name).cloned())
}

#[test]
fn identity_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("labels"),
        "app=\"shop\"\ntier=\"web \\\"front\\\"\"\n",
    )
    .unwrap();
    let spec = dir.path().join("pod.yaml");
    std::fs::write(
        &spec,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-0\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n  - name: podwarden-agent\n    image: podwarden:0.1\n    env:\n    - name: PODWARDEN_CONTAINER_TYPE\n      value: sidecar\n",
    )
    .unwrap();
    let podinfo = dir.path().to_string_lossy().into_owned();
    let spec_path = spec.to_string_lossy().into_owned();
    let id = identity(&[
        ("POD_NAME", "web-0"),
        ("POD_NAMESPACE", "shop"),
        ("POD_UID", "6f1c"),
        ("PODWARDEN_CLUSTER", "prod-eu"),
        ("PODWARDEN_SOURCE_KIND", "k8s-serverless"),
        ("PODWARDEN_PODINFO_DIR", &podinfo),
        ("PODWARDEN_POD_SPEC_FILE", &spec_path),
        ("HOSTNAME", "web-0"),
    ]);
    assert_eq!(
        (
            id.pod_name.as_str(),
            id.namespace.as_str(),
            id.pod_uid.as_str()
        ),
        ("web-0", "shop", "6f1c")
    );
    assert_eq!(id.cluster, "prod-eu");
    assert_eq!(id.source_kind.map(|k| k.as_str()), Some("k8s-serverless"));
    assert_eq!(
        id.labels.get("tier").map(String::as_str),
        Some("web \"front\"")
    );
    assert!(id.warnings.is_empty(), "{:?}", id.warnings);
    let pod = id.pod_identity();
    assert_eq!(
        pod.containers,
        vec![("app".to_string(), Some("nginx:1.27".to_string()))]
    );
    let request = id.enroll_request(podwarden_api::agent::AgentMode::Sidecar, "cid".into());
    assert_eq!(
        (request.pod_uid.as_str(), request.cluster_hint.as_str()),
        ("6f1c", "prod-eu")
    );
}

#[test]
fn problems_are_warnings_not_failures() {
    let id = identity(&[
        ("PODWARDEN_POD_SPEC_FILE", "/nonexistent/pod.yaml"),
        ("PODWARDEN_PODINFO_DIR", "/nonexistent"),
    ]);
    assert_eq!(id.warnings.len(), 1, "{:?}", id.warnings);
    assert!(id.pod_spec.is_none());
    let id = identity(&[
        ("PODWARDEN_POD_SPEC", "[1, 2]"),
        ("PODWARDEN_PODINFO_DIR", "/nonexistent"),
    ]);
    assert!(
        id.warnings[0].contains("PODWARDEN_POD_SPEC"),
        "{:?}",
        id.warnings
    );
    let id = identity(&[
        ("PODWARDEN_SOURCE_KIND", "mainframe"),
        ("PODWARDEN_PODINFO_DIR", "/nonexistent"),
    ]);
    assert_eq!(id.source_kind, None);
}

#[test]
fn downward_labels_and_pod_specs() {
    let check = |text: &str, expected: &[(&str, &str)]| {
        let want: BTreeMap<String, String> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(parse_downward_labels(text), want, "{text:?}");
    };
    check(
        "a=\"1\"\nb=\"two words\"\n",
        &[("a", "1"), ("b", "two words")],
    );
    check("noequals\n=\"x\"\nc=plain\n", &[("c", "plain")]);
    check("", &[]);
    // A bare PodSpec is wrapped into a Pod.
    let pod = parse_pod(r#"{"containers":[{"name":"app","image":"php:8"}]}"#).unwrap();
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(
        workload_containers(&pod),
        vec![("app".to_string(), Some("php:8".to_string()))]
    );
    assert!(parse_pod("kind: ConfigMap\ndata: {}\n").is_err());
    assert!(parse_pod(": : :").is_err());
}
