//! Manifest reading: multi-document YAML, `kind: List`, JSON, documents that fail to parse
//! (unrendered templates), custom kinds, and the locations findings point at.

use podwarden_baseline::{CustomKind, Level, Options, Report, check_source};

fn restricted() -> Options {
    Options {
        level: Level::Restricted,
        ..Options::default()
    }
}

/// (document, line, List item, "Kind/name", container) of a finding.
type Located = (usize, usize, Option<usize>, String, Option<String>);

/// What a report says about one source: per finding (document, line, item, kind/name,
/// container) and per error (document, line).
#[derive(Debug, PartialEq)]
struct Summary {
    documents: usize,
    objects: usize,
    pods: usize,
    /// (document, line, item, "Kind/name", container) of the pss.runAsNonRoot findings.
    located: Vec<Located>,
    errors: Vec<(usize, usize)>,
}

fn summarize(report: &Report) -> Summary {
    Summary {
        documents: report.documents,
        objects: report.objects,
        pods: report.pods,
        located: report
            .findings
            .iter()
            .filter(|f| f.check_id == "pss.runAsNonRoot")
            .map(|f| {
                let l = &f.location;
                (
                    l.document,
                    l.line,
                    l.item,
                    format!(
                        "{}/{}",
                        l.object.kind,
                        l.object.name.clone().unwrap_or_default()
                    ),
                    l.container.as_ref().map(|c| c.name.clone()),
                )
            })
            .collect(),
        errors: report.errors.iter().map(|e| (e.document, e.line)).collect(),
    }
}

fn check(name: &str, text: &str, options: &Options, expected: Summary) {
    let report = check_source(name, text, options);
    assert_eq!(summarize(&report), expected, "{name}: {:#?}", report.errors);
    assert!(report.findings.iter().all(|f| f.location.file == name));
}

fn loc(doc: usize, line: usize, item: Option<usize>, object: &str, container: &str) -> Located {
    (
        doc,
        line,
        item,
        object.to_string(),
        Some(container.to_string()),
    )
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: nginx:1.25\n";

#[test]
fn multi_document_streams() {
    let text = format!(
        "# Source: chart/templates/cm.yaml\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n---\n# Source: chart/templates/pod.yaml\n{POD}---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      initContainers:\n      - name: init\n        image: busybox:1\n      containers:\n      - name: web\n        image: nginx:1.25\n"
    );
    check(
        "stream.yaml",
        &text,
        &restricted(),
        Summary {
            documents: 4,
            objects: 3,
            pods: 2,
            located: vec![
                loc(1, 9, None, "Pod/p", "app"),
                loc(3, 19, None, "Deployment/web", "init"),
                loc(3, 19, None, "Deployment/web", "web"),
            ],
            errors: vec![],
        },
    );
}

#[test]
fn lists_and_json() {
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec:\n    containers: [{name: c, image: x}]\n- apiVersion: batch/v1\n  kind: CronJob\n  metadata:\n    name: cj\n  spec:\n    jobTemplate:\n      spec:\n        template:\n          spec:\n            containers:\n            - name: job\n              image: x\n";
    check(
        "list.yaml",
        list,
        &restricted(),
        Summary {
            documents: 1,
            objects: 2,
            pods: 2,
            located: vec![
                loc(0, 4, Some(0), "Pod/a", "c"),
                loc(0, 9, Some(1), "CronJob/cj", "job"),
            ],
            errors: vec![],
        },
    );
    let json = "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"j\"},\n \"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"x\"}]}}\n{\"apiVersion\": \"v1\", \"kind\": \"PodList\", \"items\": [\n{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"k\"}, \"spec\": {\"containers\": [{\"name\": \"d\", \"image\": \"x\"}]}}]}\n";
    check(
        "pods.json",
        json,
        &restricted(),
        Summary {
            documents: 2,
            objects: 2,
            pods: 2,
            located: vec![
                loc(0, 1, None, "Pod/j", "c"),
                loc(1, 3, Some(0), "Pod/k", "d"),
            ],
            errors: vec![],
        },
    );
}

#[test]
fn unparseable_documents_are_reported_not_skipped() {
    let text = format!(
        "{POD}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {{{{ .Release.Name }}}}\nspec:\n  containers: {{{{ toYaml .Values.containers }}}}\n---\n{POD}---\n- just\n- a list\n"
    );
    let report = check_source("chart.yaml", &text, &restricted());
    assert_eq!(
        summarize(&report),
        Summary {
            documents: 4,
            objects: 2,
            pods: 2,
            located: vec![
                loc(0, 1, None, "Pod/p", "app"),
                loc(2, 17, None, "Pod/p", "app")
            ],
            errors: vec![(1, 13), (3, 26)],
        }
    );
    assert!(
        report.errors[0].message.contains("unrendered template"),
        "{}",
        report.errors[0]
    );
    assert_eq!(report.errors[0].file, "chart.yaml");
    assert!(report.errors[1].message.contains("not a Kubernetes object"));
    let broken_json = check_source("x.json", "{\"kind\": \"Pod\"}\n{\"kind\": ", &restricted());
    assert_eq!(broken_json.errors.len(), 1, "{broken_json:?}");
    assert_eq!(
        (broken_json.errors[0].document, broken_json.errors[0].line),
        (1, 2)
    );
}

#[test]
fn custom_kinds_carry_pods() {
    let rollout = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: r\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: x\n";
    let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  runner:\n    containers:\n    - name: run\n      image: x\n";
    let text = format!("{rollout}---\n{widget}");
    // Rollout is known by default; Widget only once configured.
    check(
        "crd.yaml",
        &text,
        &restricted(),
        Summary {
            documents: 2,
            objects: 2,
            pods: 1,
            located: vec![loc(0, 1, None, "Rollout/r", "app")],
            errors: vec![],
        },
    );
    let mut options = restricted();
    options.custom_kinds.push(CustomKind {
        api_version: Some("example.com".into()),
        kind: "Widget".into(),
        template_path: None,
        pod_spec_path: Some("spec.runner".into()),
    });
    check(
        "crd.yaml",
        &text,
        &options,
        Summary {
            documents: 2,
            objects: 2,
            pods: 2,
            located: vec![
                loc(0, 1, None, "Rollout/r", "app"),
                loc(1, 12, None, "Widget/w", "run"),
            ],
            errors: vec![],
        },
    );
}

#[test]
fn yaml_1_1_booleans_count_like_kubernetes_reads_them() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: yes\n  containers:\n  - name: c\n    image: x\n    securityContext:\n      privileged: on\n";
    let report = check_source(
        "b.yaml",
        text,
        &Options::pss(Level::Baseline, Default::default()),
    );
    let mut ids: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.check_id.as_str())
        .collect();
    ids.sort();
    assert_eq!(ids, ["pss.hostNamespaces", "pss.privileged"]);
}

#[test]
fn byte_order_marks_empty_sources_and_bare_pod_specs() {
    let with_bom = format!("\u{feff}{POD}");
    let report = check_source("bom.yaml", &with_bom, &restricted());
    assert_eq!(
        (report.pods, report.errors.len()),
        (1, 0),
        "{:?}",
        report.errors
    );
    for empty in ["", "\n\n", "# only a comment\n", "---\n---\n# nothing\n"] {
        let report = check_source("empty.yaml", empty, &restricted());
        assert!(
            report.findings.is_empty() && report.errors.is_empty(),
            "{empty:?}: {report:?}"
        );
    }
    let spec = serde_json::json!({"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}]});
    let findings = podwarden_baseline::check_pod_spec(
        &spec,
        None,
        &Options::pss(Level::Baseline, Default::default()),
    );
    let got: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.check_id.as_str(), f.location.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [(
            "pss.privileged",
            "/spec/containers/0/securityContext/privileged"
        )]
    );
}
