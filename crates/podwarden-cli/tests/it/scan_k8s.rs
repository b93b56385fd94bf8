//! End-to-end tests of `podwarden scan k8s`: the real binary on files, directories and
//! standard input; table, JSON and SARIF output; exit codes; fixes; exemptions; custom kinds.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn podwarden(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(["scan", "k8s"])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podwarden runs");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("podwarden finishes");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn psa(rel: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/psa");
    assert!(
        root.is_dir(),
        "Pod Security Standards fixtures missing at {}",
        root.display()
    );
    root.join(rel).display().to_string()
}

const DEPLOYMENT: &str = "\
# the web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: web   # serves HTTP
        image: nginx:1.25
        securityContext:
          privileged: true
";

const TEMPLATE: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
}

/// (args, stdin, expected exit code, texts the stdout must contain)
fn check(args: &[&str], stdin: Option<&str>, code: i32, contains: &[&str]) -> Run {
    let run = podwarden(args, stdin);
    assert_eq!(
        run.code, code,
        "{args:?}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    for text in contains {
        assert!(
            run.stdout.contains(text),
            "{args:?}: stdout lacks {text:?}:\n{}",
            run.stdout
        );
    }
    run
}

#[test]
fn levels_and_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "web.yaml", DEPLOYMENT);
    let file = file.to_str().expect("utf-8 path");
    check(
        &[file],
        None,
        0,
        &[
            "web.yaml:2  Deployment shop/web",
            "CRITICAL",
            "pss.privileged",
            "hardening.root-container",
        ],
    );
    check(
        &[file, "--exit-code", "4"],
        None,
        4,
        &["1 pod checked (all level"],
    );
    let baseline = check(
        &[file, "--level", "baseline", "--exit-code", "4"],
        None,
        4,
        &["pss.privileged"],
    );
    assert!(
        !baseline.stdout.contains("hardening."),
        "{}",
        baseline.stdout
    );
    assert!(
        !baseline.stdout.contains("pss.runAsNonRoot"),
        "{}",
        baseline.stdout
    );
    check(
        &[file, "--severity", "high", "--exit-code", "4"],
        None,
        4,
        &["hardening.root-container"],
    );
    let only_info = check(
        &[file, "--severity", "info", "--exit-code", "4"],
        None,
        0,
        &["no findings"],
    );
    assert!(!only_info.stdout.contains("pss.privileged"));
    // A pod the standard admits gives no finding at that level.
    check(
        &[
            &psa("restricted/v1.37/pass"),
            "--level",
            "restricted",
            "--exit-code",
            "4",
        ],
        None,
        0,
        &["23 pods checked", "no findings"],
    );
    check(
        &[
            &psa("baseline/v1.37/fail"),
            "--level",
            "baseline",
            "--exit-code",
            "4",
            "-q",
        ],
        None,
        4,
        &[],
    );
    // Version-aware: runAsUser: 0 is allowed by restricted v1.22, denied from v1.23.
    let uid0 = psa("restricted/v1.23/fail/runasuser0.yaml");
    check(
        &[
            &uid0,
            "--level",
            "restricted",
            "--pss-version",
            "v1.22",
            "--exit-code",
            "4",
        ],
        None,
        0,
        &[],
    );
    check(
        &[
            &uid0,
            "--level",
            "restricted",
            "--pss-version",
            "1.23",
            "--exit-code",
            "4",
        ],
        None,
        4,
        &["pss.runAsUser"],
    );
    // Usage errors.
    for bad in [
        vec![file, "--pss-version", "2.1"],
        vec![file, "--severity", "urgent"],
        vec![file, "--format", "cyclonedx"],
        vec!["/no/such/dir"],
        vec![file, "--level", "extreme"],
    ] {
        let run = podwarden(&bad, None);
        assert_eq!(run.code, 2, "{bad:?}: {}", run.stderr);
        assert!(!run.stderr.is_empty(), "{bad:?} says nothing");
    }
}

#[test]
fn stdin_streams_and_unparseable_documents() {
    let stream = format!("{DEPLOYMENT}---\n{TEMPLATE}");
    let run = check(
        &["-"],
        Some(&stream),
        2,
        &[
            "-:2  Deployment shop/web",
            "-:19: error: document 1:",
            "unrendered template",
        ],
    );
    assert!(run.stderr.contains("1 input error"), "{}", run.stderr);
    let report = json(&check(&["-", "--format", "json"], Some(&stream), 2, &[]));
    assert_eq!(report["summary"]["input_errors"], 1);
    assert_eq!(report["errors"][0]["line"], 19);
    assert_eq!(report["summary"]["pods"], 1);
}

/// A file of a directory scan whose second document is an unrendered template (shaped like
/// Kubernetes' own cluster/addons manifests): reported with file, document and line in every
/// format, the other documents and files still checked, exit code 2.
#[test]
fn unparseable_documents_in_files_name_file_document_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addon = format!(
        "{DEPLOYMENT}---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: proxy
spec:
  template:
    spec:
      {{{{ if .Values.hostNetwork }}}}hostNetwork: true{{{{ end }}}}
      containers:
      - name: proxy
        image: {{{{ .Values.image }}}}
"
    );
    let addon_path = write(dir.path(), "addon.yaml", &addon);
    let addon_path = addon_path.to_str().expect("utf-8 path");
    write(dir.path(), "web.yaml", DEPLOYMENT);
    let root = dir.path().to_str().expect("utf-8 path");
    let table = check(
        &[root],
        None,
        2,
        &[
            &format!("{addon_path}:23: error: document 1:"),
            "unrendered template",
            "addon.yaml:2  Deployment shop/web  (document 0)",
            "web.yaml:2  Deployment shop/web  (document 0)",
            "2 files, 3 documents, 2 pods checked",
            "1 input error",
        ],
    );
    assert!(table.stderr.contains("1 input error"), "{}", table.stderr);
    let report = json(&check(&[root, "--format", "json"], None, 2, &[]));
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["file"], addon_path);
    assert_eq!(errors[0]["line"], 23);
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("document 1: ")),
        "{errors:?}"
    );
    assert_eq!(report["summary"]["pods"], 2);
    let sarif = check(
        &[root, "--format", "sarif"],
        None,
        2,
        &["addon.yaml", "document 1"],
    );
    json(&sarif);
}

#[test]
fn json_and_sarif_point_at_file_document_object_and_container() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n---\n{DEPLOYMENT}"),
    );
    write(dir.path(), "notes.txt", "not a manifest");
    let root = dir.path().to_str().expect("utf-8");
    let report = json(&check(
        &[root, "--format", "json", "--level", "baseline"],
        None,
        0,
        &[],
    ));
    assert_eq!(report["level"], "baseline");
    assert_eq!(report["summary"]["files"], 1);
    let finding = &report["findings"][0];
    assert_eq!(finding["check_id"], "pss.privileged");
    assert_eq!(finding["location"]["document"], 1);
    assert_eq!(finding["location"]["line"], 6);
    assert_eq!(finding["location"]["object"]["kind"], "Deployment");
    assert_eq!(finding["location"]["container"]["name"], "web");
    assert_eq!(finding["fix"]["patch"][0]["op"], "replace");
    let sarif = json(&check(&[root, "--format", "sarif"], None, 0, &[]));
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert!(
        run["tool"]["driver"]["rules"]
            .as_array()
            .is_some_and(|r| r.len() >= 19)
    );
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        let location = &r["locations"][0]["physicalLocation"];
        assert!(
            location["artifactLocation"]["uri"]
                .as_str()
                .is_some_and(|u| u.ends_with("a.yaml"))
        );
        assert_eq!(location["region"]["startLine"], 6);
    }
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "pss.privileged" && r["level"] == "error")
    );
}

#[test]
fn fixes_rewrite_files_in_place_and_stdin_to_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let other = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web   # keep me\nspec:\n  ports:\n  - port: 80\n";
    let original = format!("{other}---\n{DEPLOYMENT}");
    let file = write(dir.path(), "web.yaml", &original);
    let path = file.to_str().expect("utf-8");
    let run = check(
        &[path, "--fix", "--level", "restricted"],
        None,
        0,
        &["fixed", "not fixed", "use --fix=risky"],
    );
    let fixed = std::fs::read_to_string(&file).expect("read back");
    assert!(
        fixed.starts_with(other),
        "untouched document changed:\n{fixed}"
    );
    assert!(
        fixed.contains("# the web tier") && fixed.contains("# serves HTTP"),
        "{fixed}"
    );
    assert!(fixed.contains("seccompProfile"), "{fixed}");
    // The privileged container cannot get allowPrivilegeEscalation: false.
    assert!(!fixed.contains("allowPrivilegeEscalation"), "{fixed}");
    assert!(run.stdout.contains("privileged"), "{}", run.stdout);
    // Risky: privileged goes, then allowPrivilegeEscalation can be set.
    check(
        &[path, "--fix=risky", "--level", "restricted"],
        None,
        0,
        &["fixed"],
    );
    let risky = std::fs::read_to_string(&file).expect("read back");
    assert!(
        risky.contains("privileged: false") && risky.contains("allowPrivilegeEscalation: false"),
        "{risky}"
    );
    let after = json(&check(
        &[path, "--level", "restricted", "--format", "json"],
        None,
        0,
        &[],
    ));
    let remaining: Vec<&str> = after["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["check_id"].as_str())
        .collect();
    assert!(
        !remaining.contains(&"pss.privileged")
            && !remaining.contains(&"pss.allowPrivilegeEscalation"),
        "{remaining:?}"
    );
    // Standard input: fixed manifests on stdout, the report on stderr.
    let run = podwarden(&["-", "--fix", "--level", "restricted"], Some(&original));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(other) && run.stdout.contains("seccompProfile"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("fixed") && run.stderr.contains("checked"),
        "{}",
        run.stderr
    );
}

#[test]
fn exemptions_and_custom_kinds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "web.yaml", DEPLOYMENT);
    let path = file.to_str().expect("utf-8");
    let exemptions = write(
        dir.path(),
        "exemptions.yaml",
        "exemptions:\n- checks: [pss.privileged]\n  namespace: shop\n  kind: Deployment\n  name: web\n  container: web\n  reason: needs raw devices\n  expires: 2999-01-01\n",
    );
    let run = check(
        &[
            path,
            "--level",
            "baseline",
            "--exemptions",
            exemptions.to_str().expect("utf-8"),
            "--exit-code",
            "4",
        ],
        None,
        0,
        &["EXEMPTED", "needs raw devices", "no findings, 1 exempted"],
    );
    assert!(!run.stdout.contains("CRITICAL"), "{}", run.stdout);
    let sarif = json(&check(
        &[
            path,
            "--level",
            "baseline",
            "--exemptions",
            exemptions.to_str().expect("utf-8"),
            "--format",
            "sarif",
        ],
        None,
        0,
        &[],
    ));
    assert_eq!(
        sarif["runs"][0]["results"][0]["suppressions"][0]["justification"],
        "needs raw devices"
    );
    let expired = write(
        dir.path(),
        "expired.yaml",
        "exemptions:\n- checks: '*'\n  reason: old\n  expires: 2001-01-01\n",
    );
    check(
        &[
            path,
            "--level",
            "baseline",
            "--exemptions",
            expired.to_str().expect("utf-8"),
            "--exit-code",
            "4",
        ],
        None,
        4,
        &["CRITICAL"],
    );
    let bad = write(dir.path(), "bad.yaml", "exemptions:\n- checks: [x]\n");
    let run = podwarden(&[path, "--config", bad.to_str().expect("utf-8")], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.yaml"), "{}", run.stderr);

    let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  pod:\n    template:\n      spec:\n        containers:\n        - name: c\n          image: x\n          securityContext: {privileged: true}\n";
    let widget_file = write(dir.path(), "widget.yaml", widget);
    let widget_path = widget_file.to_str().expect("utf-8");
    check(
        &[widget_path, "--level", "baseline", "--exit-code", "4"],
        None,
        0,
        &["0 pods checked"],
    );
    let kinds = write(
        dir.path(),
        "kinds.yaml",
        "customKinds:\n- apiVersion: example.com\n  kind: Widget\n  templatePath: spec.pod.template\n",
    );
    check(
        &[
            widget_path,
            "--level",
            "baseline",
            "--custom-kinds",
            kinds.to_str().expect("utf-8"),
            "--exit-code",
            "4",
        ],
        None,
        4,
        &["Widget w", "pss.privileged"],
    );
}

#[test]
fn help_documents_the_configuration() {
    let run = Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(["scan", "k8s", "--help"])
        .output()
        .expect("help");
    let text = String::from_utf8_lossy(&run.stdout);
    for needle in [
        "--level",
        "--pss-version",
        "--fix",
        "--exemptions",
        "--custom-kinds",
        "customKinds:",
        "podwarden.io/skip",
        "Exit codes",
    ] {
        assert!(text.contains(needle), "help lacks {needle}:\n{text}");
    }
}
