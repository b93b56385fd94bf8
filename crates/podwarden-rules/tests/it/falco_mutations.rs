//! Robustness on rule files nobody here wrote: Falco's stable rules (read in place from
//! shared/compat) cut short, with values of the wrong type, unknown keys and deep nesting must
//! load with diagnostics pointing inside the file, never a panic, and the set must still
//! evaluate events.

use crate::support::*;
use podwarden_rules::{CompileOptions, Diagnostic, RuleSet, RuleSource};

const FILE: &str = "falco_rules.yaml";

fn stable_text() -> String {
    let path = compat("falco/falco_rules.yaml");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// Compile `text` as Falco's file, run a few events through the result, and check that every
/// diagnostic names the file and a line inside it.
fn load(label: &str, text: &str) -> (RuleSet, Vec<Diagnostic>) {
    let (set, diagnostics) = RuleSet::compile(
        &[RuleSource::new(FILE, text.to_string())],
        &CompileOptions::default(),
    );
    let lines = text.lines().count().max(1);
    for d in &diagnostics {
        assert_eq!(d.file, FILE, "{label}: diagnostic names another file: {d}");
        assert!(
            (1..=lines + 1).contains(&d.line),
            "{label}: diagnostic line {} outside the {lines}-line text: {d}",
            d.line
        );
    }
    for event in [
        exec("/bin/bash", &["bash", "-i"])
            .parent("/usr/sbin/nginx", &["nginx"])
            .tty(34816)
            .container("nginx:1.25")
            .build(),
        connect("/usr/bin/curl", &["curl", "x"], "203.0.113.5:443").build(),
        file_created("/bin/sh", &["sh"], "/etc/cron.d/x").build(),
    ] {
        let _ = set.matches(&event);
    }
    (set, diagnostics)
}

/// `text` with the first occurrence of `anchor` replaced; the line (1-based) of the change.
fn mutate(text: &str, anchor: &str, replacement: &str) -> (String, usize) {
    let at = text
        .find(anchor)
        .unwrap_or_else(|| panic!("anchor {anchor:?} not in Falco's stable rules (file changed?)"));
    let line = text.get(..at).unwrap_or_default().matches('\n').count() + 1;
    let mut out = String::with_capacity(text.len() + replacement.len());
    out.push_str(text.get(..at).unwrap_or_default());
    out.push_str(replacement);
    out.push_str(text.get(at + anchor.len()..).unwrap_or_default());
    (out, line)
}

/// A mutation of the stable file must give a diagnostic with `code` within `slack` lines of
/// the changed line (a rule's problem is reported at the rule's or key's line); the failure
/// message otherwise.
fn check(label: &str, anchor: &str, replacement: &str, code: &str, slack: usize) -> Option<String> {
    let text = stable_text();
    let (mutated, line) = mutate(&text, anchor, replacement);
    let (_, diagnostics) = load(label, &mutated);
    if diagnostics
        .iter()
        .any(|d| d.code.as_str() == code && d.line + slack >= line && d.line <= line + slack)
    {
        return None;
    }
    let near: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.line + 40 >= line && d.line <= line + 40)
        .map(ToString::to_string)
        .collect();
    Some(format!(
        "{label}: expected {code} near line {line}, got nearby:\n{}",
        near.join("\n")
    ))
}

#[test]
fn truncated_anywhere_loads_with_diagnostics() {
    let text = stable_text();
    let (full, _) = load("whole file", &text);
    let total = full.rules().len();
    // Cut at 61 points spread over the file, on and off line boundaries, inside multi-byte
    // characters' neighbours too (cuts land on char boundaries).
    let points = 61;
    for i in 1..points {
        let mut cut = text.len() * i / points;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let head = text.get(..cut).unwrap_or_default();
        let (set, _) = load(&format!("cut at byte {cut}"), head);
        assert!(
            set.rules().len() <= total,
            "cut at byte {cut}: {} rules from a prefix of a file of {total}",
            set.rules().len()
        );
    }
}

#[test]
fn wrong_types_unknown_keys_and_nesting_are_diagnosed() {
    let rule = "- rule: Terminal shell in container\n";
    let list = "- list: shell_binaries\n  items: [ash, bash, csh, ksh, sh, tcsh, zsh, dash]\n";
    let deep_condition = format!(
        "  condition: >\n    {}spawned_process{}\n  output: A shell was spawned",
        "(".repeat(3000),
        ")".repeat(3000)
    );
    let deep_items = format!(
        "- list: shell_binaries\n  items: {}ash{}\n",
        "[".repeat(3000),
        "]".repeat(3000)
    );
    let table: &[(&str, &str, String, &str, usize)] = &[
        (
            "priority is a list",
            "  priority: NOTICE\n  tags: [maturity_stable, container, shell",
            "  priority: [NOTICE, WARNING]\n  tags: [maturity_stable, container, shell".into(),
            "R016",
            20,
        ),
        (
            "priority unknown",
            "  priority: NOTICE\n  tags: [maturity_stable, container, shell",
            "  priority: LOUD\n  tags: [maturity_stable, container, shell".into(),
            "R016",
            20,
        ),
        (
            "condition is a mapping",
            "  condition: >\n    spawned_process\n    and container\n    and shell_procs\n    and proc.tty != 0",
            "  condition: {spawned_process: container}\n  x_rest: >\n    and proc.tty != 0".into(),
            "R002",
            20,
        ),
        (
            "unknown key in a rule",
            rule,
            format!("{rule}  colour: blue\n"),
            "R003",
            2,
        ),
        (
            "list items is a scalar",
            list,
            "- list: shell_binaries\n  items: bash\n".into(),
            "R002",
            2,
        ),
        (
            "list items is a mapping",
            list,
            "- list: shell_binaries\n  items: {a: b}\n".into(),
            "R002",
            2,
        ),
        (
            "rule name is a sequence",
            rule,
            "- rule: [Terminal, shell]\n".into(),
            "R002",
            2,
        ),
        (
            "exceptions is a scalar",
            "  priority: NOTICE\n  tags: [maturity_stable, container, shell",
            "  exceptions: sometimes\n  priority: NOTICE\n  tags: [maturity_stable, container, shell"
                .into(),
            "R017",
            20,
        ),
        (
            "enabled is not a boolean",
            "  priority: NOTICE\n  tags: [maturity_stable, container, shell",
            "  enabled: perhaps\n  priority: NOTICE\n  tags: [maturity_stable, container, shell"
                .into(),
            "R002",
            20,
        ),
        (
            "condition nested 3000 deep",
            "  condition: >\n    spawned_process\n    and container\n    and shell_procs\n    and proc.tty != 0\n    and container_entrypoint\n    and not user_expected_terminal_shell_in_container_conditions\n  output: A shell was spawned",
            deep_condition,
            "R004",
            20,
        ),
        (
            "list items nested 3000 deep",
            list,
            deep_items,
            "R001",
            2,
        ),
        (
            "unterminated flow sequence",
            list,
            "- list: shell_binaries\n  items: [ash, bash\n".into(),
            "R001",
            3,
        ),
    ];
    let failures: Vec<String> = table
        .iter()
        .filter_map(|(label, anchor, replacement, code, slack)| {
            check(label, anchor, replacement, code, *slack)
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
