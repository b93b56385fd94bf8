//! Diagnostics: stable codes pointing at file and line, with the rule and field concerned; bad
//! input disables what it must and never panics.

use crate::support::*;
use podwarden_rules::Severity;

/// `(code, file:line, rule, field)` of each diagnostic, in order.
fn check(texts: &[&str], expected: &[(&str, &str, Option<&str>, Option<&str>)]) {
    let (_, diagnostics) = compile(texts);
    let got: Vec<(String, String, Option<String>, Option<String>)> = diagnostics
        .iter()
        .map(|d| {
            (
                d.code.as_str().to_string(),
                format!("{}:{}", d.file, d.line),
                d.rule.clone(),
                d.field.clone(),
            )
        })
        .collect();
    let expected: Vec<(String, String, Option<String>, Option<String>)> = expected
        .iter()
        .map(|(c, at, r, f)| {
            (
                c.to_string(),
                at.to_string(),
                r.map(str::to_string),
                f.map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        got,
        expected,
        "{:#?}",
        diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
}

#[test]
fn unsupported_and_unknown_fields_point_at_their_line() {
    let rules = r#"- macro: reads
  condition: evt.is_open_read=true
- rule: Reads
  desc: d
  condition: >
    evt.type = openat
    and reads
  output: o
  priority: INFO
- rule: Plugin field
  desc: d
  condition: >
    evt.type = execve and
    ka.verb = create
  output: o
  priority: INFO
"#;
    check(
        &[rules],
        &[
            (
                "R008",
                "test-0.yaml:2",
                Some("Reads"),
                Some("evt.is_open_read"),
            ),
            (
                "R007",
                "test-0.yaml:14",
                Some("Plugin field"),
                Some("ka.verb"),
            ),
        ],
    );
}

#[test]
fn yaml_errors_name_the_line_and_skip_only_that_file() {
    let broken = "- rule: A\n  desc: d\n  condition: evt.type = execve\n  output: [unclosed\n  priority: INFO\n";
    let good = rule_yaml("B", "evt.type = execve");
    let (set, diagnostics) = compile(&[broken, &good]);
    assert_eq!(diagnostics.len(), 1);
    let d = &diagnostics[0];
    assert_eq!(
        (d.code.as_str(), d.file.as_str(), d.severity),
        ("R001", "test-0.yaml", Severity::Error)
    );
    assert!(
        d.line >= 4,
        "line {} should be at or after the unclosed bracket",
        d.line
    );
    assert_eq!(set.summary().enabled, 1);
}

#[test]
fn condition_problems() {
    check(
        &[&[
            rule_yaml("Syntax", "proc.name = bash and"),
            rule_yaml("Undefined macro", "evt.type = execve and no_such_macro"),
            rule_yaml("Bad number", "proc.pid > lots"),
            rule_yaml("Bad regex", "proc.name regex '('"),
            rule_yaml("Bad operator", "proc.name > 3"),
            rule_yaml("Bad argument", "proc.aname[x] = bash"),
            rule_yaml(
                "Never produced",
                "evt.type in (symlink, symlinkat) and proc.name = ln",
            ),
            rule_yaml("Transformer", "tolower(proc.name) = bash"),
        ]
        .concat()],
        &[
            ("R004", "test-0.yaml:4", Some("Syntax"), None),
            ("R005", "test-0.yaml:10", Some("Undefined macro"), None),
            (
                "R012",
                "test-0.yaml:16",
                Some("Bad number"),
                Some("proc.pid"),
            ),
            (
                "R012",
                "test-0.yaml:22",
                Some("Bad regex"),
                Some("proc.name"),
            ),
            (
                "R012",
                "test-0.yaml:28",
                Some("Bad operator"),
                Some("proc.name"),
            ),
            (
                "R012",
                "test-0.yaml:34",
                Some("Bad argument"),
                Some("proc.aname[x]"),
            ),
            ("R011", "test-0.yaml:37", Some("Never produced"), None),
            ("R004", "test-0.yaml:46", Some("Transformer"), None),
        ],
    );
}

#[test]
fn macro_cycles_are_caught() {
    let rules = "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: R\n  desc: d\n  condition: a\n  output: o\n  priority: INFO\n";
    check(&[rules], &[("R006", "test-0.yaml:1", Some("R"), None)]);
}

#[test]
fn item_problems() {
    let rules = r#"- rule: Unknown key
  desc: d
  condition: evt.type = execve
  output: o
  priority: INFO
  colour: red
- rule: Bad priority
  desc: d
  condition: evt.type = execve
  output: o
  priority: URGENT
- rule: No output
  desc: d
  condition: evt.type = execve
  priority: INFO
- rule: Missing
  condition: and x
  append: true
- list: nothing
  items: [a]
  override:
    items: append
- rule: Both
  condition: x
  append: true
  override:
    condition: append
- rule: Unlisted
  condition: x
  output: y
  override:
    condition: append
- just: a mapping
- plain scalar
- required_engine_version: 99.0.0
- required_plugin_versions:
    - name: container
      version: 0.4.0
    - name: k8saudit
      version: 0.1.0
- rule: Audit
  desc: d
  condition: ka.verb = create
  output: o
  priority: INFO
  source: k8s_audit
"#;
    check(
        &[rules],
        &[
            ("R003", "test-0.yaml:6", Some("Unknown key"), None),
            ("R002", "test-0.yaml:12", Some("No output"), None),
            ("R010", "test-0.yaml:16", Some("Missing"), None),
            ("R010", "test-0.yaml:19", None, None),
            ("R018", "test-0.yaml:23", Some("Both"), None),
            ("R018", "test-0.yaml:30", Some("Unlisted"), None),
            ("R003", "test-0.yaml:33", None, None),
            ("R002", "test-0.yaml:34", None, None),
            ("R014", "test-0.yaml:35", None, None),
            ("R015", "test-0.yaml:37", None, None),
            ("R015", "test-0.yaml:39", None, None),
            ("R016", "test-0.yaml:11", Some("Bad priority"), None),
            ("R009", "test-0.yaml:41", Some("Audit"), None),
        ],
    );
}

#[test]
fn hostile_input_never_panics() {
    let deep = format!("{}proc.name = a{}", "(".repeat(5000), ")".repeat(5000));
    let nots = format!("{}proc.name = a", "not ".repeat(5000));
    let alias_bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    for text in [
        rule_yaml("deep", &deep),
        rule_yaml("nots", &nots),
        alias_bomb.to_string(),
        "\u{0}\u{1}garbage: [".to_string(),
        "- rule: [a]\n".to_string(),
        "- rule: x\n  condition: {a: b}\n  output: o\n  priority: INFO\n".to_string(),
        "- list: l\n  items: {a: b}\n".to_string(),
        "- rule: x\n  desc: d\n  condition: proc.name = \"\u{e9}\u{e9}\"\n  output: \"%\"\n  priority: info\n".to_string(),
        String::new(),
        "---\n...\n".to_string(),
    ] {
        let (set, _) = compile(&[&text]);
        let _ = set.matches(&exec("/bin/sh", &["sh"]).build());
    }
}
