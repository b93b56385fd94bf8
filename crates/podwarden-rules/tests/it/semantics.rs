//! Falco semantics: field meanings, list and macro expansion, append/override, evaluation of
//! every matching rule, the evt.type index, output rendering.

use crate::support::*;
use podwarden_api::event::Event;
use podwarden_rules::{CompileOptions, Priority, RuleSet, RuleSource, RuleStatus};

/// Compile `texts` cleanly and list which of the events fire which rules.
fn check(texts: &[&str], event: &Event, expected: &[&str]) {
    let set = compile_clean(texts);
    assert_eq!(fired(&set, event), expected, "sources: {texts:?}");
}

#[test]
fn proc_name_is_the_fifteen_byte_comm_and_cmdline_is_name_plus_args() {
    let event = exec(
        "/usr/lib/apt/apt.systemd.daily.helper",
        &[
            "/usr/lib/apt/apt.systemd.daily.helper",
            "update",
            "",
            "--quiet",
        ],
    )
    .build();
    let table = [
        ("proc.name = apt.systemd.dai", true),
        ("proc.name = apt.systemd.daily.helper", false),
        ("proc.exe = /usr/lib/apt/apt.systemd.daily.helper", true),
        ("proc.exepath = /usr/lib/apt/apt.systemd.daily.helper", true),
        // Empty arguments are skipped in cmdline, kept in args.
        ("proc.cmdline = \"apt.systemd.dai update --quiet\"", true),
        ("proc.args = \"update  --quiet\"", true),
        ("proc.cwd = /var/www/html/", true),
    ];
    for (condition, expected) in table {
        let set = compile_clean(&[&rule_yaml("t", condition)]);
        assert_eq!(!fired(&set, &event).is_empty(), expected, "{condition}");
    }
    // A hand-written event with a long name is cut the same way.
    let long = exec("/x", &["x"])
        .name("unattended-upgrade-shutdown")
        .build();
    check(
        &[&rule_yaml("t", "proc.name = unattended-upgr")],
        &long,
        &["t"],
    );
}

#[test]
fn lists_expand_nested_and_quoted_items() {
    let rules = r#"
- list: inner
  items: [bash, '"(systemd)"']
- list: outer
  items: [inner, zsh]
- rule: nested
  desc: d
  condition: proc.name in (outer)
  output: o
  priority: INFO
- rule: quoted name is not expanded
  desc: d
  condition: proc.name in ("outer")
  output: o
  priority: INFO
"#;
    check(&[rules], &exec("/bin/bash", &["bash"]).build(), &["nested"]);
    check(
        &[rules],
        &exec("/x", &["x"]).name("(systemd)").build(),
        &["nested"],
    );
    check(
        &[rules],
        &exec("/x", &["x"]).name("outer").build(),
        &["quoted name is not expanded"],
    );
}

#[test]
fn macros_substitute_recursively_and_spawned_process_works() {
    let rules = r#"
- macro: spawned_process
  condition: (evt.type in (execve, execveat))
- list: shell_binaries
  items: [bash, sh]
- macro: shell_procs
  condition: (proc.name in (shell_binaries))
- macro: shell_spawn
  condition: spawned_process and shell_procs
- rule: shell
  desc: d
  condition: shell_spawn and not proc.pname = sshd
  output: o
  priority: INFO
"#;
    check(
        &[rules],
        &exec("/bin/bash", &["bash"])
            .parent("/usr/bin/node", &["node"])
            .build(),
        &["shell"],
    );
    check(
        &[rules],
        &exec("/bin/bash", &["bash"])
            .parent("/usr/sbin/sshd", &["sshd"])
            .build(),
        &[],
    );
    check(&[rules], &exit("/bin/bash", &["bash"]).build(), &[]);
}

const BASE: &str = r#"
- list: names
  items: [a1]
- macro: is_named
  condition: proc.name in (names)
- rule: R
  desc: base
  condition: is_named
  output: R fired
  priority: WARNING
  tags: [one]
"#;

#[test]
fn append_and_override_follow_falco() {
    let a1 = exec("/x/a1", &["a1"]).build();
    let a2 = exec("/x/a2", &["a2"]).build();
    let cases: [(&str, &str, bool, bool); 8] = [
        (
            "legacy list append",
            "- list: names\n  items: [a2]\n  append: true\n",
            true,
            true,
        ),
        (
            "override list append",
            "- list: names\n  items: [a2]\n  override:\n    items: append\n",
            true,
            true,
        ),
        (
            "override list replace",
            "- list: names\n  items: [a2]\n  override:\n    items: replace\n",
            false,
            true,
        ),
        (
            "redefinition replaces",
            "- list: names\n  items: [a2]\n",
            false,
            true,
        ),
        (
            "macro condition append",
            "- macro: is_named\n  condition: or proc.name = a2\n  override:\n    condition: append\n",
            true,
            true,
        ),
        (
            "legacy rule append",
            "- rule: R\n  condition: and proc.pid = 1\n  append: true\n",
            false,
            false,
        ),
        (
            "rule condition replace",
            "- rule: R\n  condition: proc.name = a2\n  override:\n    condition: replace\n",
            false,
            true,
        ),
        (
            "rule disabled",
            "- rule: R\n  enabled: false\n",
            false,
            false,
        ),
    ];
    for (what, update, fires_a1, fires_a2) in cases {
        let set = compile_clean(&[BASE, update]);
        assert_eq!(!fired(&set, &a1).is_empty(), fires_a1, "{what}: a1");
        assert_eq!(!fired(&set, &a2).is_empty(), fires_a2, "{what}: a2");
    }
}

#[test]
fn override_replaces_priority_tags_output_and_enabled() {
    let update = r#"
- rule: R
  priority: CRITICAL
  tags: [two]
  output: "%proc.name is bad"
  override:
    priority: replace
    tags: append
    output: replace
- rule: R
  enabled: false
  override:
    enabled: replace
- rule: R
  enabled: true
"#;
    let set = compile_clean(&[BASE, update]);
    let rule = set.rule("R");
    assert_eq!(rule.map(|r| r.priority), Some(Priority::Critical));
    assert_eq!(
        rule.map(|r| r.tags.clone()),
        Some(vec!["one".to_string(), "two".to_string()])
    );
    assert_eq!(rule.map(|r| r.status), Some(RuleStatus::Enabled));
    let alerts = set.matches(&exec("/x/a1", &["a1"]).build());
    assert_eq!(
        alerts.iter().map(|a| a.output.as_str()).collect::<Vec<_>>(),
        ["a1 is bad"]
    );
}

#[test]
fn override_condition_append_with_exceptions_replace() {
    let base = r#"
- rule: R
  desc: d
  condition: proc.name in (a1, a2, a3)
  output: o
  priority: INFO
  exceptions:
    - name: by_name
      fields: proc.name
      values: [a1]
"#;
    let update = r#"
- rule: R
  condition: and proc.pid = 4242
  exceptions:
    - name: by_name
      fields: proc.name
      values: [a2]
  override:
    condition: append
    exceptions: replace
"#;
    let set = compile_clean(&[base, update]);
    assert_eq!(
        fired(&set, &exec("/x/a1", &["a1"]).build()),
        ["R"],
        "a1 no longer excepted"
    );
    assert!(
        fired(&set, &exec("/x/a2", &["a2"]).build()).is_empty(),
        "a2 excepted now"
    );
    assert_eq!(fired(&set, &exec("/x/a3", &["a3"]).build()), ["R"]);
}

#[test]
fn every_matching_rule_fires_in_definition_order() {
    let rules = [
        rule_yaml("first", "proc.name = bash"),
        rule_yaml("other", "proc.name = zsh"),
        rule_yaml("second", "evt.type = execve and proc.pname = node"),
    ]
    .concat();
    check(
        &[&rules],
        &exec("/bin/bash", &["bash"])
            .parent("/usr/bin/node", &["node"])
            .build(),
        &["first", "second"],
    );
}

#[test]
fn rules_are_indexed_by_event_type() {
    let rules = [
        rule_yaml(
            "exec",
            "evt.type in (execve, execveat) and proc.name = bash",
        ),
        rule_yaml("net", "evt.type = connect and fd.sport = 443"),
        rule_yaml(
            "files",
            "evt.type in (open, openat, openat2) and evt.is_open_write = true",
        ),
        rule_yaml("any", "proc.name = bash"),
    ]
    .concat();
    let set = compile_clean(&[&rules]);
    assert_eq!(set.rules_for_event_type("execve"), ["exec", "any"]);
    assert_eq!(set.rules_for_event_type("connect"), ["net", "any"]);
    assert_eq!(set.rules_for_event_type("openat"), ["files", "any"]);
    assert_eq!(set.rules_for_event_type("symlink"), Vec::<&str>::new());
    assert_eq!(
        set.rule("net").map(|r| r.event_types.clone()),
        Some(vec!["connect"])
    );
}

#[test]
fn container_and_kubernetes_fields() {
    let in_pod = exec("/bin/sh", &["sh"])
        .container("registry.example:5000/shop/web:1.4")
        .privileged()
        .build();
    let host = exec("/bin/sh", &["sh"]).build();
    for (condition, pod, on_host) in [
        ("container.id = 3f2a9c1b7d4e", true, false),
        ("container.id = host", false, true),
        ("container.id != host", true, false),
        (
            "container.full_id = 3f2a9c1b7d4e5f60718293a4b5c6d7e8",
            true,
            false,
        ),
        (
            "container.image.repository = registry.example:5000/shop/web",
            true,
            false,
        ),
        ("container.image.tag = \"1.4\"", true, false),
        ("container.privileged = true", true, false),
        ("k8s.pod.name = web-0 and k8s.ns.name = shop", true, false),
        ("k8s.pod.label[app] = web", true, false),
        ("container.image exists", true, false),
    ] {
        let set = compile_clean(&[&rule_yaml("t", condition)]);
        assert_eq!(
            !fired(&set, &in_pod).is_empty(),
            pod,
            "{condition} in a pod"
        );
        assert_eq!(
            !fired(&set, &host).is_empty(),
            on_host,
            "{condition} on the host"
        );
    }
}

#[test]
fn process_details_capabilities_stdio_and_users() {
    let event = exec("/bin/bash", &["bash", "-i"])
        .user(0, "root")
        .tty(34816)
        .caps((1 << 21) | (1 << 1))
        .cwd("/dev/shm")
        .stdio_on_socket("203.0.113.7:4444")
        .build();
    for condition in [
        "user.name = root and user.uid = 0",
        "proc.tty != 0",
        "thread.cap_effective contains CAP_SYS_ADMIN",
        "thread.cap_effective icontains dac_override",
        "thread.cap_effective = \"CAP_DAC_OVERRIDE CAP_SYS_ADMIN\"",
        "proc.cwd startswith /dev/shm/",
        "proc.stdin.type = ipv4 and proc.stdout.type in (ipv4, ipv6)",
        "proc.stdin.name = \"10.1.2.3:40002->203.0.113.7:4444\"",
        "not proc.stderr.type exists",
        "group.name = www-data and group.gid = 33",
    ] {
        check(&[&rule_yaml("t", condition)], &event, &["t"]);
    }
}

#[test]
fn both_time_formats_in_one_event() {
    let event = exec("/bin/sh", &["sh"]).build();
    for condition in [
        "evt.time = \"22:13:20.000000000\" and evt.time.iso8601 = \"2023-11-14T22:13:20.000000000Z\"",
        "evt.time.iso8601 startswith 2023-11-14T and evt.time startswith \"22:13\"",
    ] {
        check(&[&rule_yaml("t", condition)], &event, &["t"]);
    }
}

#[test]
fn outputs_render_fields_and_na() {
    let rules = r#"
- rule: R
  desc: d
  condition: evt.type = execve
  output: "%proc.name by %proc.pname (gp=%proc.aname[2]) %evt.type fd=%fd.name flags=%evt.arg.flags at %evt.time.iso8601 100%"
  priority: INFO
"#;
    let (set, diagnostics) = compile(&[rules]);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let alerts = set.matches(
        &exec("/bin/sh", &["sh"])
            .parent("/usr/bin/node", &["node"])
            .build(),
    );
    assert_eq!(
        alerts.iter().map(|a| a.output.as_str()).collect::<Vec<_>>(),
        ["sh by node (gp=<NA>) execve fd=<NA> flags=<NA> at 2023-11-14T22:13:20.000000000Z 100%"]
    );
}

#[test]
fn compile_options_switch_rules_off_without_dropping_them() {
    let rules = r#"
- rule: Noisy
  desc: d
  condition: evt.type = execve
  output: o
  priority: DEBUG
  tags: [noisy]
- rule: Loud
  desc: d
  condition: evt.type = execve
  output: o
  priority: CRITICAL
"#;
    let sources = [RuleSource::new("r.yaml", rules)];
    let options = CompileOptions {
        min_priority: Some(Priority::Warning),
        ..CompileOptions::default()
    };
    let (set, _) = RuleSet::compile(&sources, &options);
    assert_eq!(fired(&set, &exec("/bin/sh", &["sh"]).build()), ["Loud"]);
    assert_eq!(set.rule("Noisy").map(|r| r.status), Some(RuleStatus::Off));
    let options = CompileOptions {
        disabled_tags: vec!["noisy".to_string()],
        ..CompileOptions::default()
    };
    let (set, _) = RuleSet::compile(&sources, &options);
    assert_eq!(set.summary().off, 1);
}

#[test]
fn packet_dup_ptrace_and_exit_events_map_to_falco_types() {
    for (event, condition) in [
        (
            packet_socket("/usr/sbin/tcpdump", &["tcpdump"]).build(),
            "evt.type = socket and evt.arg.domain contains AF_PACKET and evt.args contains SOCK_RAW",
        ),
        (
            stdio_socket("/bin/sh", &["sh"], 1, "203.0.113.7:4444").build(),
            "evt.type in (dup, dup2, dup3) and evt.rawres in (0, 1, 2) and fd.type = ipv4 and fd.num = 1",
        ),
        (
            ptrace("/usr/sbin/sshd", &["sshd"], "gdb").build(),
            "evt.type = ptrace and podwarden.proc.tracer_pid = 5000 and podwarden.tracer.name = gdb and evt.arg.pid = 4242",
        ),
        (
            exit("/bin/sh", &["sh"]).build(),
            "evt.type = procexit and evt.dir = > and not evt.res exists",
        ),
        (
            accept(
                "/usr/sbin/nginx",
                &["nginx"],
                "10.1.2.3:443",
                "198.51.100.1:5000",
            )
            .build(),
            "evt.type = accept and fd.sip = 10.1.2.3 and fd.cip = 198.51.100.1 and fd.is_server = true and fd.lport = 443",
        ),
        (
            listen(
                "/usr/sbin/nginx",
                &["nginx"],
                "0.0.0.0:80",
                podwarden_api::event::L4Protocol::Tcp,
            )
            .build(),
            "evt.type = listen and fd.name = \"0.0.0.0:80\" and fd.lport = 80",
        ),
    ] {
        check(&[&rule_yaml("t", condition)], &event, &["t"]);
    }
}
