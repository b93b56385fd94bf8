//! `podwarden rules check|test` end to end: diagnostics, summaries, exit codes, replayed alerts.

use std::path::{Path, PathBuf};
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
        .unwrap_or_else(|err| panic!("cannot run podwarden: {err}"));
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Run with `args`; check the exit code and fragments of stdout and stderr.
fn check(args: &[&str], code: i32, stdout_has: &[&str], stderr_has: &[&str]) -> Run {
    let run = podwarden(args);
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

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, text)
        .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
    path.display().to_string()
}

fn falco_stable() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/falco/falco_rules.yaml");
    assert!(
        path.exists(),
        "conformance data missing: {}",
        path.display()
    );
    path.display().to_string()
}

const GOOD: &str = "- rule: Shell in pod\n  desc: d\n  condition: evt.type = execve and proc.name = bash\n  output: \"bash started (%proc.cmdline)\"\n  priority: NOTICE\n";

#[test]
fn check_reports_and_exits_by_outcome() {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let good = write(dir.path(), "good.yaml", GOOD);
    check(
        &["rules", "check", &good],
        0,
        &["1 rule(s): 1 enabled", "0 error(s)"],
        &[],
    );

    let unsupported = write(
        dir.path(),
        "reads.yaml",
        "- rule: Reads\n  desc: d\n  condition: >\n    evt.type = openat and\n    evt.is_open_read = true\n  output: o\n  priority: INFO\n",
    );
    check(
        &["rules", "check", &unsupported],
        1,
        &[
            &format!("{unsupported}:5: error[R008]"),
            "field: evt.is_open_read",
            "1 disabled by errors",
        ],
        &[],
    );

    let broken = write(dir.path(), "broken.yaml", "- rule: A\n  condition: [x\n");
    check(
        &["rules", "check", &broken],
        2,
        &[&format!("{broken}:"), "R001"],
        &[],
    );
    check(
        &[
            "rules",
            "check",
            &dir.path().join("missing.yaml").display().to_string(),
        ],
        2,
        &[],
        &["missing.yaml"],
    );
}

#[test]
fn check_reads_falcos_stable_rules() {
    let run = check(
        &["rules", "check", &falco_stable()],
        1,
        &[
            "25 rule(s): 14 enabled, 0 off, 11 disabled by errors",
            "R008",
            "fd.sip.name",
            "R011",
        ],
        &[],
    );
    assert!(run.stdout.contains("falco_rules.yaml:"), "{}", run.stdout);
    let quiet = check(&["rules", "check", "--quiet", &falco_stable()], 1, &[], &[]);
    assert!(
        !quiet.stdout.contains("R013"),
        "--quiet hides warnings:\n{}",
        quiet.stdout
    );
}

#[test]
fn check_json_and_builtin_extension() {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let extension = write(
        dir.path(),
        "blocklist.yaml",
        "- list: pw_blocked_addresses\n  items: [203.0.113.66]\n  override:\n    items: append\n",
    );
    check(&["rules", "check", &extension], 1, &["R010"], &[]);
    let run = check(
        &[
            "rules",
            "check",
            "--with-builtin",
            "--format",
            "json",
            &extension,
        ],
        0,
        &[],
        &[],
    );
    let report: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|err| panic!("{err}: {}", run.stdout));
    assert_eq!(report["errors"], 0);
    assert_eq!(report["summary"]["failed"], 0);
    let enabled = report["summary"]["enabled"].as_u64().unwrap_or(0);
    assert!(enabled >= 29, "{enabled}");
    let rules = report["rules"].as_array().cloned().unwrap_or_default();
    assert!(rules.iter().any(|r| r["id"] == "PW-WEB-001"
        && r["event_types"][0] == "execve"
        && r["alert_type"] == "webshell"));
}

const EVENTS: &str = r#"{"v":1,"id":1,"ts":1700000000000000000,"kind":"process_exec","process":{"pid":20,"ppid":10,"name":"sh","exe":"/bin/sh","argv":["sh","-c","id"],"uid":33,"user":"www-data","gid":33,"ancestors":[{"pid":10,"name":"php-fpm8.2","exe":"/usr/sbin/php-fpm8.2","argv":["php-fpm: pool www"]}]}}
this is not json
{"v":1,"id":3,"ts":1700000000000000000,"kind":"process_exec","process":{"pid":21,"name":"ls","exe":"/bin/ls","argv":["ls"],"uid":0,"gid":0}}

{"v":1,"id":4,"ts":1700000000000000000,"kind":"process_exec","process":{"pid":22,"name":"bash","exe":"/bin/bash","argv":["bash","-i"],"uid":0,"gid":0}}
"#;

#[test]
fn test_replays_events_and_skips_malformed_lines() {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let events = write(dir.path(), "events.jsonl", EVENTS);
    check(
        &["rules", "test", "--events", &events],
        0,
        &[
            "line 1",
            "CRITICAL",
            "PW-WEB-001",
            "Shell spawned by a web application (command=sh -c id parent=php-fpm8.2",
            "3 event(s)",
            "1 malformed line(s) skipped",
        ],
        &[&format!("{events}:2: skipped:")],
    );
    check(
        &["rules", "test", "--events", &events, "--exit-code", "3"],
        3,
        &[],
        &[],
    );

    let extra = write(dir.path(), "extra.yaml", GOOD);
    let run = check(
        &[
            "rules", "test", "--events", &events, "--rules", &extra, "--format", "json",
        ],
        0,
        &[],
        &["1 malformed line(s) skipped"],
    );
    let alerts: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|err| panic!("{err}: {l}")))
        .collect();
    let seen: Vec<(u64, String)> = alerts
        .iter()
        .map(|a| {
            (
                a["line"].as_u64().unwrap_or(0),
                a["rule"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, "Shell spawned by a web application".to_string()),
            (5, "Shell in pod".to_string())
        ]
    );
    assert_eq!(alerts[1]["output"], "bash started (bash -i)");
    assert_eq!(alerts[0]["alert_type"], "webshell");
    assert_eq!(alerts[0]["id"], "PW-WEB-001");

    let only_extra = check(
        &[
            "rules",
            "test",
            "--events",
            &events,
            "--no-builtin",
            "--rules",
            &extra,
        ],
        0,
        &["Shell in pod", "1 alert(s)"],
        &[],
    );
    assert!(
        !only_extra.stdout.contains("PW-WEB-001"),
        "{}",
        only_extra.stdout
    );

    check(
        &[
            "rules",
            "test",
            "--events",
            &dir.path().join("none.jsonl").display().to_string(),
        ],
        2,
        &[],
        &["none.jsonl"],
    );
    check(
        &[
            "rules",
            "test",
            "--events",
            &events,
            "--rules",
            &dir.path().join("none.yaml").display().to_string(),
        ],
        2,
        &[],
        &["none.yaml"],
    );
}
