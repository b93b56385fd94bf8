//! `podwarden scan webshell` end to end: formats, exit codes, user rules, errors.

use std::fs;
use std::path::Path;
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn podwarden(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(args)
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A web root with one PHP shell, one JSP shell and clean files.
fn web_root() -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    fs::create_dir_all(root.join("uploads")).unwrap();
    fs::write(
        root.join("index.php"),
        "<?php echo 'hello ' . htmlspecialchars($_GET['n']);\n",
    )
    .unwrap();
    fs::write(root.join("uploads/x.php"), "<?php\n\n@eval($_POST['k']);\n").unwrap();
    fs::write(
        root.join("cmd.jsp"),
        "<% Process p = Runtime.getRuntime().exec(request.getParameter(\"c\")); %>\n",
    )
    .unwrap();
    fs::write(root.join("app.js"), "console.log(1);\n").unwrap();
    temp
}

/// Runs the command on `root` with `args` and checks the exit code and output fragments.
fn check(root: &Path, args: &[&str], code: i32, stdout_has: &[&str], stderr_has: &[&str]) -> Run {
    let root_arg = root.to_str().unwrap();
    let mut full = vec!["scan", "webshell", root_arg];
    full.extend_from_slice(args);
    let run = podwarden(&full);
    assert_eq!(
        run.code, code,
        "{args:?}\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    for fragment in stdout_has {
        assert!(
            run.stdout.contains(fragment),
            "{args:?}: stdout lacks {fragment:?}:\n{}",
            run.stdout
        );
    }
    for fragment in stderr_has {
        assert!(
            run.stderr.contains(fragment),
            "{args:?}: stderr lacks {fragment:?}:\n{}",
            run.stderr
        );
    }
    run
}

#[test]
fn table_lists_detections_within_80_columns() {
    let temp = web_root();
    let run = check(
        temp.path(),
        &[],
        0,
        &[
            "uploads/x.php",
            "cmd.jsp",
            "php_eval_of_request_input",
            "line 3",
            "@eval($_POST['k']);",
            "2 detection(s)",
        ],
        &[],
    );
    assert!(!run.stdout.contains("index.php"), "{}", run.stdout);
    for line in run
        .stdout
        .lines()
        .filter(|l| !l.contains("detection(s) in"))
    {
        assert!(line.chars().count() <= 80, "line over 80 columns: {line:?}");
    }
}

#[test]
fn exit_codes() {
    let temp = web_root();
    check(temp.path(), &["--exit-code", "3"], 3, &[], &[]);
    fs::remove_file(temp.path().join("uploads/x.php")).unwrap();
    fs::remove_file(temp.path().join("cmd.jsp")).unwrap();
    check(
        temp.path(),
        &["--exit-code", "3"],
        0,
        &["0 detection(s)"],
        &[],
    );
    check(
        &temp.path().join("missing"),
        &[],
        2,
        &[],
        &["cannot scan", "missing"],
    );
    check(
        temp.path(),
        &["--format", "cyclonedx"],
        2,
        &[],
        &["cyclonedx"],
    );
    check(temp.path(), &["--threshold", "0"], 2, &[], &["threshold"]);
}

#[test]
fn json_report() {
    let temp = web_root();
    let run = check(temp.path(), &["--format", "json"], 0, &[], &[]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let detections = report["detections"].as_array().unwrap();
    let categories: Vec<&str> = detections
        .iter()
        .map(|d| d["category"].as_str().unwrap())
        .collect();
    assert_eq!(categories, vec!["jsp", "php"]);
    assert_eq!(detections[1]["rules"][0]["line"], 3);
    assert!(detections[1]["score"].as_u64().unwrap() >= 60);
    assert_eq!(report["files_scanned"], 3);
    assert_eq!(report["skipped"]["not_web_code"], 1);
}

#[test]
fn sarif_results_are_located_at_files() {
    let temp = web_root();
    let out = temp.path().join("report.sarif");
    let out_arg = out.to_str().unwrap().to_string();
    let scanned = temp.path().join("uploads");
    let run = check(
        &scanned,
        &["--format", "sarif", "--output", &out_arg],
        0,
        &[],
        &[],
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["version"], "2.1.0");
    let results = report["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let location = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "x.php");
    assert_eq!(location["region"]["startLine"], 3);
    assert_eq!(results[0]["level"], "error");
    let rule_ids: Vec<&str> = report["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        rule_ids.contains(&results[0]["ruleId"].as_str().unwrap()),
        "{rule_ids:?}"
    );
}

#[test]
fn user_rules_and_their_errors() {
    let temp = web_root();
    let rules = temp.path().join("acme.yar");
    fs::write(
        &rules,
        "rule acme_marker {\n meta:\n  score = 95\n  category = \"php\"\n strings:\n  $m = \"hello \"\n condition:\n  $m\n}\n",
    )
    .unwrap();
    let rules_arg = rules.to_str().unwrap().to_string();
    check(
        temp.path(),
        &["--rules", &rules_arg],
        0,
        &["index.php", "user0.acme_marker"],
        &[],
    );

    let broken = temp.path().join("broken.yar");
    fs::write(
        &broken,
        "rule ok { condition: true }\nrule bad {\n  condition: $nope\n}\n",
    )
    .unwrap();
    let broken_arg = broken.to_str().unwrap().to_string();
    check(
        temp.path(),
        &["--rules", &broken_arg],
        2,
        &[],
        &["broken.yar:3:"],
    );
    check(
        temp.path(),
        &["--rules", "/nonexistent/r.yar"],
        2,
        &[],
        &["/nonexistent/r.yar"],
    );
}

#[test]
fn size_bound_and_severity_filter() {
    let temp = web_root();
    // With a 20-byte bound the shells are skipped and counted.
    check(
        temp.path(),
        &["--max-file-size", "20"],
        0,
        &["0 detection(s)", "too large"],
        &[],
    );
    let run = check(
        temp.path(),
        &["--severity", "low", "--format", "json"],
        0,
        &[],
        &[],
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["detections"].as_array().unwrap().len(), 0);
    check(
        temp.path(),
        &["--severity", "bogus"],
        2,
        &[],
        &["--severity"],
    );
}
