//! Exemptions: central rules (namespace, kind, name, container, check id, reason, expiry) and
//! `podwarden.io/skip` annotations; exempted findings stay listed and counted.

use podwarden_baseline::{Config, ExemptionSource, Level, Options, check_source, jiff};

const WORKLOAD: &str = "\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
  namespace: monitoring
spec:
  template:
    spec:
      hostNetwork: true
      containers:
      - name: exporter
        image: exporter:1
      - name: sidecar
        image: sidecar:1
";

fn with_annotations(target: &str, annotations: &str) -> String {
    match target {
        "workload" => WORKLOAD.replace(
            "  namespace: monitoring\n",
            &format!("  namespace: monitoring\n  annotations:\n{annotations}"),
        ),
        _ => WORKLOAD.replace(
            "    spec:\n      hostNetwork",
            &format!(
                "    metadata:\n      annotations:\n{annotations}    spec:\n      hostNetwork"
            ),
        ),
    }
}

fn options(config: &str, now: Option<&str>) -> Options {
    let mut options = Options {
        level: Level::Restricted,
        now: now.map(|n| n.parse::<jiff::Timestamp>().expect("time")),
        ..Options::default()
    };
    options.apply_config(Config::parse("test-config.yaml", config).expect("config parses"));
    options
}

/// (check id, container, exempted by) for the runAsNonRoot and hostNamespaces findings.
fn check(
    text: &str,
    options: &Options,
    expected: &[(&str, Option<&str>, Option<ExemptionSource>)],
) {
    let report = check_source("ds.yaml", text, options);
    let mut got: Vec<(String, Option<String>, Option<ExemptionSource>)> = report
        .findings
        .iter()
        .filter(|f| f.check_id == "pss.runAsNonRoot" || f.check_id == "pss.hostNamespaces")
        .map(|f| {
            (
                f.check_id.clone(),
                f.location.container.as_ref().map(|c| c.name.clone()),
                f.exemption.as_ref().map(|e| e.source),
            )
        })
        .collect();
    got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let want: Vec<(String, Option<String>, Option<ExemptionSource>)> = expected
        .iter()
        .map(|(id, c, e)| (id.to_string(), c.map(str::to_string), *e))
        .collect();
    assert_eq!(got, want);
    // Exempted findings are listed, and every exemption carries a reason.
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.exemption.as_ref().is_none_or(|e| !e.reason.is_empty()))
    );
}

const FILE: Option<ExemptionSource> = Some(ExemptionSource::File);
const ANNOTATION: Option<ExemptionSource> = Some(ExemptionSource::Annotation);

#[test]
fn central_rules() {
    let none: Vec<(&str, Option<&str>, Option<ExemptionSource>)> = vec![
        ("pss.hostNamespaces", None, None),
        ("pss.runAsNonRoot", Some("exporter"), None),
        ("pss.runAsNonRoot", Some("sidecar"), None),
    ];
    check(WORKLOAD, &options("", None), &none);
    let rule = "exemptions:\n- checks: [pss.hostNamespaces, pss.runAsNonRoot]\n  namespace: monitoring\n  kind: daemonset\n  name: node-*\n  container: exporter\n  reason: node metrics need the host network\n";
    // The container matcher leaves pod-level findings and other containers alone.
    check(
        WORKLOAD,
        &options(rule, None),
        &[
            ("pss.hostNamespaces", None, None),
            ("pss.runAsNonRoot", Some("exporter"), FILE),
            ("pss.runAsNonRoot", Some("sidecar"), None),
        ],
    );
    let pod_wide = "exemptions:\n- checks: 'pss.*'\n  namespace: monitoring\n  reason: audited\n  expires: 2026-06-30\n";
    let all_exempt = [
        ("pss.hostNamespaces", None, FILE),
        ("pss.runAsNonRoot", Some("exporter"), FILE),
        ("pss.runAsNonRoot", Some("sidecar"), FILE),
    ];
    check(
        WORKLOAD,
        &options(pod_wide, Some("2026-06-30T23:00:00Z")),
        &all_exempt,
    );
    check(
        WORKLOAD,
        &options(pod_wide, Some("2026-07-01T00:00:00Z")),
        &none,
    );
    check(WORKLOAD, &options(pod_wide, None), &all_exempt);
    let other_namespace = "exemptions:\n- checks: '*'\n  namespace: kube-system\n  reason: r\n";
    check(WORKLOAD, &options(other_namespace, None), &none);
}

#[test]
fn annotations() {
    let pod_level = "    podwarden.io/skip: pss.hostNamespaces, pss.runAsNonRoot\n    podwarden.io/skip-reason: host agent\n";
    let expected_all = [
        ("pss.hostNamespaces", None, ANNOTATION),
        ("pss.runAsNonRoot", Some("exporter"), ANNOTATION),
        ("pss.runAsNonRoot", Some("sidecar"), ANNOTATION),
    ];
    check(
        &with_annotations("workload", pod_level),
        &options("", None),
        &expected_all,
    );
    let template_level = pod_level.replace("    podwarden", "        podwarden");
    check(
        &with_annotations("template", &template_level),
        &options("", None),
        &expected_all,
    );
    let per_container = "    podwarden.io/skip.sidecar: pss.runAsNonRoot\n";
    check(
        &with_annotations("workload", per_container),
        &options("", None),
        &[
            ("pss.hostNamespaces", None, None),
            ("pss.runAsNonRoot", Some("exporter"), None),
            ("pss.runAsNonRoot", Some("sidecar"), ANNOTATION),
        ],
    );
    // The central configuration can switch annotations off.
    check(
        &with_annotations("workload", pod_level),
        &options("annotations: false\n", None),
        &[
            ("pss.hostNamespaces", None, None),
            ("pss.runAsNonRoot", Some("exporter"), None),
            ("pss.runAsNonRoot", Some("sidecar"), None),
        ],
    );
    let report = check_source(
        "ds.yaml",
        &with_annotations("workload", pod_level),
        &options("", None),
    );
    let reasons: Vec<&str> = report
        .findings
        .iter()
        .filter_map(|f| f.exemption.as_ref())
        .map(|e| e.reason.as_str())
        .collect();
    assert!(reasons.iter().all(|r| *r == "host agent"), "{reasons:?}");
}

#[test]
fn bad_configuration_is_rejected_with_its_place() {
    for (config, expected) in [
        (
            "exemptions:\n- checks: [pss.privileged]\n  reason: ''\n",
            "exemptions[0]: reason must not be empty",
        ),
        (
            "exemptions:\n- checks: [x]\n  reason: r\n  expires: soon\n",
            "exemptions[0]: expires \"soon\"",
        ),
        ("exemptions:\n- reason: r\n", "checks"),
        (
            "customKinds:\n- kind: Foo\n",
            "customKinds[0] (Foo): set exactly one of templatePath and podSpecPath",
        ),
        ("colour: blue\n", "colour"),
    ] {
        let message = Config::parse("cfg.yaml", config)
            .expect_err(config)
            .to_string();
        assert!(message.starts_with("cfg.yaml: "), "{message}");
        assert!(message.contains(expected), "{config:?} gave {message}");
    }
}
