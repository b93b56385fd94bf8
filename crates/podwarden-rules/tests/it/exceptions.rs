//! Rule exceptions: fields, comps and values as Falco defines them, appended and replaced.

use crate::support::*;

fn rule_with(exceptions: &str) -> String {
    format!(
        "- rule: R\n  desc: d\n  condition: evt.type = execve and proc.name in (sh, bash, zsh)\n  output: o\n  priority: INFO\n  exceptions:\n{exceptions}"
    )
}

#[test]
fn exceptions_exclude_matching_tuples() {
    let single_field =
        rule_with("    - name: shells\n      fields: proc.name\n      values: [zsh]\n");
    let tuples = rule_with(
        "    - name: parent_and_cmd\n      fields: [proc.pname, proc.cmdline]\n      comps: [=, startswith]\n      values:\n        - [cron, \"sh -c run-parts\"]\n        - [node, \"bash -c npm\"]\n",
    );
    let list_value = rule_with(
        "    - name: parents\n      fields: [proc.pname]\n      comps: [in]\n      values:\n        - [[cron, systemd]]\n",
    );
    let default_comps = rule_with(
        "    - name: eq\n      fields: [proc.name, user.name]\n      values:\n        - [bash, root]\n",
    );
    let no_values = rule_with("    - name: empty\n      fields: [proc.name]\n");
    let sh_cron = exec("/bin/sh", &["sh", "-c", "run-parts /etc/cron.daily"])
        .parent("/usr/sbin/cron", &["cron"])
        .build();
    let sh_web = exec("/bin/sh", &["sh", "-c", "run-parts x"])
        .parent("/usr/sbin/nginx", &["nginx"])
        .build();
    let bash_node = exec("/bin/bash", &["bash", "-c", "npm test"])
        .parent("/usr/bin/node", &["node"])
        .build();
    let zsh = exec("/bin/zsh", &["zsh"]).build();
    let bash_root = exec("/bin/bash", &["bash"]).user(0, "root").build();
    for (what, rules, event, fires) in [
        ("single field excepts", &single_field, &zsh, false),
        ("single field leaves others", &single_field, &sh_web, true),
        ("tuple 1", &tuples, &sh_cron, false),
        ("tuple 2", &tuples, &bash_node, false),
        ("tuple needs both fields", &tuples, &sh_web, true),
        ("list value", &list_value, &sh_cron, false),
        ("list value leaves others", &list_value, &sh_web, true),
        ("default comps are =", &default_comps, &bash_root, false),
        (
            "default comps are = (other user)",
            &default_comps,
            &bash_node,
            true,
        ),
        ("no values, no effect", &no_values, &zsh, true),
    ] {
        let set = compile_clean(&[rules]);
        assert_eq!(!fired(&set, event).is_empty(), fires, "{what}");
    }
}

#[test]
fn appended_exception_values_join_their_exception() {
    let base = rule_with("    - name: shells\n      fields: proc.name\n      values: [zsh]\n");
    let legacy =
        "- rule: R\n  exceptions:\n    - name: shells\n      values: [sh]\n  append: true\n";
    let modern = "- rule: R\n  exceptions:\n    - name: parents\n      fields: [proc.pname]\n      values:\n        - [nginx]\n  override:\n    exceptions: append\n";
    let sh_web = exec("/bin/sh", &["sh"])
        .parent("/usr/sbin/nginx", &["nginx"])
        .build();
    let bash = exec("/bin/bash", &["bash"]).build();
    let set = compile_clean(&[&base, legacy]);
    assert!(
        fired(&set, &sh_web).is_empty(),
        "sh appended to the shells exception"
    );
    assert!(fired(&set, &exec("/bin/zsh", &["zsh"]).build()).is_empty());
    assert_eq!(fired(&set, &bash), ["R"]);
    let set = compile_clean(&[&base, modern]);
    assert!(fired(&set, &sh_web).is_empty(), "new exception added");
    assert_eq!(fired(&set, &bash), ["R"]);
}

#[test]
fn malformed_exceptions_disable_the_rule_with_a_diagnostic() {
    for (what, exceptions) in [
        (
            "comps count",
            "    - name: x\n      fields: [proc.name, proc.pname]\n      comps: [=]\n      values:\n        - [a, b]\n",
        ),
        (
            "tuple size",
            "    - name: x\n      fields: [proc.name, proc.pname]\n      values:\n        - [a]\n",
        ),
        (
            "bad comp",
            "    - name: x\n      fields: [proc.name]\n      comps: [like]\n      values:\n        - [a]\n",
        ),
        ("no fields", "    - name: x\n      values: [a]\n"),
    ] {
        let (set, diagnostics) = compile(&[&rule_with(exceptions)]);
        assert_eq!(
            diagnostics
                .iter()
                .map(|d| d.code.as_str())
                .collect::<Vec<_>>(),
            ["R017"],
            "{what}"
        );
        assert_eq!(set.summary().failed, 1, "{what}");
    }
}
