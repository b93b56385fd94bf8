//! End-to-end tests of `podwarden inject`: the real binary on files and standard input, YAML
//! and JSON streams, byte-for-byte pass-through of untouched documents, flags, refusals,
//! errors with file and document index, idempotence, and `--webhook-config`.

use podwarden_baseline::{parse_document, split_documents};
use podwarden_server::inject::{InjectConfig, Selection, inject};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn podwarden(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .arg("inject")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("podwarden runs: {e}"));
    if let Some(input) = stdin
        && let Some(mut pipe) = child.stdin.take()
    {
        pipe.write_all(input.as_bytes())
            .unwrap_or_else(|e| panic!("write stdin: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("podwarden finishes: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The documents of a stream as values (`None` for empty documents).
fn values(text: &str) -> Vec<Option<Value>> {
    split_documents(text)
        .iter()
        .map(|doc| {
            parse_document("output", doc)
                .unwrap_or_else(|e| panic!("output does not parse: {e}\n{text}"))
        })
        .collect()
}

/// What the library makes of each document of `input`.
fn expected(input: &str, config: &InjectConfig, selection: Selection) -> Vec<Option<Value>> {
    values(input)
        .into_iter()
        .map(|value| {
            value.map(|mut v| {
                inject(&mut v, config, selection);
                v
            })
        })
        .collect()
}

const SERVICE: &str = "\
# shop manifests
apiVersion: v1
kind: Service
metadata:
  name: web   # the front
spec:
  ports: [{port: 80}]
";

const DEPLOYMENT: &str = "\
---
# the web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    podwarden.io/agent: \"enabled\"
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env:
        - {name: A, value: \"yes\"}
        - {name: B, value: \"0755\"}
        - {name: C, value: \"on\"}
        - {name: D, value: \"\"}
        - {name: E, value: \"1e3\"}
        - name: F
          value: |
            line one
            line two
# a comment kept after the document
";

const CONFIGMAP: &str = "\
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}   # flow style, kept as is
data:
  greeting:   'hello'
";

const PLAIN_POD: &str = "\
---
apiVersion: v1
kind: Pod
metadata:
  name: plain
spec:
  containers:
  - name: app
    image: app:1
";

const WINDOWS_POD: &str = "\
---
apiVersion: v1
kind: Pod
metadata:
  name: iis
  annotations: {podwarden.io/agent: enabled}
spec:
  os: {name: windows}
  containers:
  - {name: iis, image: iis:ltsc2022}
";

/// Runs `inject` on `input` (standard input) with `args`, checks the exit code, that every
/// output document equals the library's injection of the input document, and that the
/// documents in `untouched` appear in the output byte-for-byte; returns the run.
fn check(
    input: &str,
    args: &[&str],
    config: &InjectConfig,
    selection: Selection,
    code: i32,
    untouched: &[&str],
) -> Run {
    let mut full_args = vec!["-"];
    full_args.extend_from_slice(args);
    let run = podwarden(&full_args, Some(input));
    assert_eq!(run.code, code, "stderr: {}", run.stderr);
    assert_eq!(
        values(&run.stdout),
        expected(input, config, selection),
        "output:\n{}",
        run.stdout
    );
    for text in untouched {
        assert!(
            run.stdout.contains(text),
            "{text:?} not kept byte-for-byte in:\n{}",
            run.stdout
        );
    }
    run
}

#[test]
fn yaml_streams() {
    let stream = format!("{SERVICE}{DEPLOYMENT}{CONFIGMAP}{PLAIN_POD}");
    let config = InjectConfig::default();
    let run = check(
        &stream,
        &[],
        &config,
        Selection::Annotated,
        0,
        &[SERVICE, CONFIGMAP, PLAIN_POD],
    );
    assert!(run.stdout.starts_with(SERVICE));
    assert!(run.stdout.ends_with(PLAIN_POD));
    assert!(
        run.stdout
            .contains("---\n# the web tier\napiVersion: apps/v1\nkind: Deployment\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("# a comment kept after the document\n---\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("- name: podwarden-agent\n"));
    assert!(
        run.stderr
            .contains("<stdin>: document 1: Deployment web: injected"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("1 injected, 0 already injected, 0 refused, 1 not asking"),
        "{}",
        run.stderr
    );
    // Injecting the output again changes nothing, byte for byte.
    let again = podwarden(&["-"], Some(&run.stdout));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, run.stdout);
    assert!(
        again.stderr.contains("0 injected, 1 already injected"),
        "{}",
        again.stderr
    );
    // --all also injects the plain pod; the service and config map stay as they were.
    check(
        &stream,
        &["--all"],
        &config,
        Selection::All,
        0,
        &[SERVICE, CONFIGMAP],
    );
}

#[test]
fn json_documents() {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "annotations": {"k8s.aliyun.com/eci-aliyundun-enabled": "true"}},
         "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "t", "image": "busybox"}]}}}}}}
    ]});
    let pretty = format!(
        "{}\n",
        serde_json::to_string_pretty(&list).unwrap_or_default()
    );
    let config = InjectConfig::default();
    let run = check(&pretty, &[], &config, Selection::Annotated, 0, &[]);
    let out: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", run.stdout));
    assert_eq!(
        out.pointer("/items/1/spec/jobTemplate/spec/template/spec/initContainers/0/name"),
        Some(&json!("podwarden-agent"))
    );
    assert!(
        run.stdout.starts_with("{\n  \"apiVersion\""),
        "pretty in, pretty out: {}",
        run.stdout
    );
    // A compact JSON stream: untouched values stay byte-for-byte, injected ones stay compact.
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"podwarden.io/agent":"enabled"}},"spec":{"containers":[{"name":"a","image":"x"}]}}"#;
    let other = r#"{"apiVersion": "v1",   "kind": "Secret", "metadata": {"name": "s"}}"#;
    let stream = format!("{other}\n{pod}\n{other}\n");
    let run = check(&stream, &[], &config, Selection::Annotated, 0, &[other]);
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with(&format!("{other}\n{{\"apiVersion\":\"v1\"")),
        "{}",
        run.stdout
    );
}

#[test]
fn flags_shape_the_sidecar() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let config_file = dir.path().join("podwarden.toml");
    std::fs::write(&config_file, "[inject]\nimage = \"from-config/agent:2\"\nsecret_name = \"from-config\"\ncluster = \"c1\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let config_path = config_file.display().to_string();
    let config = InjectConfig {
        image: "registry.example/agent:9".into(),
        server_url: "https://center.example:8443".into(),
        secret_name: "from-config".into(),
        cluster: Some("c1".into()),
        source_kind: Some("k8s-virtual-node".into()),
        image_pull_policy: Some("Always".into()),
        capabilities: vec!["SYS_PTRACE".into(), "KILL".into()],
        pod_spec_env: false,
        ..InjectConfig::default()
    };
    let config = InjectConfig {
        resources: podwarden_server::inject::SidecarResources {
            cpu_limit: Some("1".into()),
            memory_request: None,
            ..config.resources.clone()
        },
        ..config
    };
    let args = [
        "--config",
        &config_path,
        "--image",
        "registry.example/agent:9",
        "--server",
        "https://center.example:8443",
        "--source-kind",
        "k8s-virtual-node",
        "--image-pull-policy",
        "Always",
        "--capability",
        "sys_ptrace,KILL",
        "--cpu-limit",
        "1",
        "--memory-request",
        "",
        "--no-pod-spec-env",
    ];
    let run = check(DEPLOYMENT, &args, &config, Selection::Annotated, 0, &[]);
    assert!(
        run.stdout.contains("image: registry.example/agent:9"),
        "{}",
        run.stdout
    );
    // Written to a file with --output.
    let out = dir.path().join("out.yaml");
    let out_path = out.display().to_string();
    let run = podwarden(&["-", "--output", &out_path, "--quiet"], Some(DEPLOYMENT));
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
    let written = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(
        values(&written),
        expected(DEPLOYMENT, &InjectConfig::default(), Selection::Annotated)
    );
}

#[test]
fn refusals_and_errors() {
    let config = InjectConfig::default();
    let stream = format!("{SERVICE}{WINDOWS_POD}");
    let run = check(
        &stream,
        &[],
        &config,
        Selection::Annotated,
        0,
        &[SERVICE, WINDOWS_POD],
    );
    assert!(
        run.stderr
            .contains("warning: <stdin>: document 1: Pod iis: not injected (windows)"),
        "{}",
        run.stderr
    );
    check(
        &stream,
        &["--exit-code", "3"],
        &config,
        Selection::Annotated,
        3,
        &[SERVICE, WINDOWS_POD],
    );

    // Unparseable input: file, document index and line; nothing on standard output.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        format!("{SERVICE}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let broken_path = broken.display().to_string();
    let cases: Vec<(Vec<&str>, Option<&str>, String)> = vec![
        (
            vec![&broken_path],
            None,
            format!("{broken_path}: document 1 (line 11)"),
        ),
        (
            vec!["-"],
            Some("{\"kind\": \"Pod\", \"spec\": [}"),
            "<stdin>: document 0".to_string(),
        ),
        (
            vec!["/nonexistent/manifest.yaml"],
            None,
            "cannot open /nonexistent/manifest.yaml".to_string(),
        ),
        (
            vec!["-", "--cpu-limit", "lots"],
            Some(SERVICE),
            "--cpu-limit".to_string(),
        ),
        (
            vec!["-", "--server", "ftp://x"],
            Some(SERVICE),
            "--server".to_string(),
        ),
        (
            vec!["-", "--secret-name", "Not_A_Name"],
            Some(SERVICE),
            "--secret-name".to_string(),
        ),
        (vec![], None, "FILE".to_string()),
        (
            vec!["--webhook-config", "--service", "podwarden/webhook"],
            None,
            "--ca-bundle".to_string(),
        ),
    ];
    for (args, stdin, fragment) in cases {
        let run = podwarden(&args, stdin);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(
            run.stderr.contains(&fragment),
            "{args:?}: {:?} lacks {fragment:?}",
            run.stderr
        );
    }
}

#[test]
fn webhook_configuration() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let ca = dir.path().join("ca.crt");
    let pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
    std::fs::write(&ca, pem).unwrap_or_else(|e| panic!("{e}"));
    let ca_path = ca.display().to_string();
    let cases: [(&[&str], i32, &str, Value); 3] = [
        (
            &["--service", "podwarden/podwarden-webhook:8443"],
            0,
            "/webhooks/0/clientConfig/service",
            json!({"namespace": "podwarden", "name": "podwarden-webhook", "path": "/admission/mutate", "port": 8443}),
        ),
        (
            &["--url", "https://10.0.0.5:8443/admission/mutate"],
            0,
            "/webhooks/0/clientConfig/url",
            json!("https://10.0.0.5:8443/admission/mutate"),
        ),
        (
            &["--url", "http://10.0.0.5/admission/mutate"],
            2,
            "",
            Value::Null,
        ),
    ];
    for (extra, code, pointer, value) in cases {
        let mut args = vec!["--webhook-config", "--ca-bundle", &ca_path];
        args.extend_from_slice(extra);
        let run = podwarden(&args, None);
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        if code != 0 {
            continue;
        }
        let docs = values(&run.stdout);
        let Some(Some(config)) = docs.first() else {
            panic!("no document: {}", run.stdout);
        };
        assert_eq!(config["kind"], json!("MutatingWebhookConfiguration"));
        assert_eq!(config.pointer(pointer), Some(&value), "{}", run.stdout);
        assert_eq!(
            config.pointer("/webhooks/0/rules/0/resources"),
            Some(&json!(["pods"]))
        );
        assert_eq!(
            config.pointer("/webhooks/0/failurePolicy"),
            Some(&json!("Ignore"))
        );
    }
}
