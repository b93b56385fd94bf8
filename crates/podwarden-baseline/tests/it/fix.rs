//! Fixes: golden before/after files (regenerate with `PODWARDEN_BLESS=1`), byte-for-byte
//! preservation of comments and untouched documents, refusals, and re-check invariants.

use podwarden_baseline::{
    FindingKey, FixMode, FixOutcome, Level, Options, PssVersion, check_source, fix, split_documents,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fix")
}

fn bless() -> bool {
    std::env::var_os("PODWARDEN_BLESS").is_some()
}

fn log(outcome: &FixOutcome) -> String {
    let mut lines = Vec::new();
    for a in &outcome.applied {
        let container = a
            .location
            .container
            .as_ref()
            .map(|c| format!(" [{}]", c.name))
            .unwrap_or_default();
        lines.push(format!(
            "fixed {:?} {} {}{container}: {}",
            a.safety, a.check_id, a.location.object, a.description
        ));
    }
    for n in &outcome.not_fixed {
        let container = n
            .location
            .container
            .as_ref()
            .map(|c| format!(" [{}]", c.name))
            .unwrap_or_default();
        lines.push(format!(
            "not fixed {} {}{container}: {}",
            n.check_id, n.location.object, n.reason
        ));
    }
    lines.join("\n") + "\n"
}

fn golden(path: &Path, got: &str) {
    if bless() {
        std::fs::write(path, got)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let want = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with PODWARDEN_BLESS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        got,
        want,
        "{} differs (PODWARDEN_BLESS=1 regenerates it)",
        path.display()
    );
}

fn keys(text: &str, options: &Options) -> BTreeSet<FindingKey> {
    check_source("x", text, options)
        .findings
        .iter()
        .map(|f| f.key())
        .collect()
}

/// Runs one case: fixes `<name>.in.<ext>` and compares with `<name>.<mode>.out.<ext>` and
/// `<name>.<mode>.log`; then checks the invariants every fix must keep.
fn check(name: &str, ext: &str, options: &Options, mode: FixMode) {
    let input_path = dir().join(format!("{name}.in.{ext}"));
    let input = std::fs::read_to_string(&input_path).expect("case input");
    let report = check_source(&input_path.display().to_string(), &input, options);
    assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
    let outcome = fix(
        &input_path.display().to_string(),
        &input,
        &report.findings,
        mode,
        options,
    );
    let mode_name = match mode {
        FixMode::Safe => "safe",
        FixMode::Risky => "risky",
    };
    golden(
        &dir().join(format!("{name}.{mode_name}.out.{ext}")),
        &outcome.text,
    );
    golden(
        &dir().join(format!("{name}.{mode_name}.log")),
        &log(&outcome),
    );
    assert_eq!(outcome.changed, outcome.text != input);

    // Nothing introduced; everything applied is gone.
    let before = keys(&input, options);
    let after = keys(&outcome.text, options);
    let introduced: Vec<_> = after.difference(&before).collect();
    assert!(
        introduced.is_empty(),
        "{name}: fixing introduced {introduced:?}"
    );
    for applied in &outcome.applied {
        assert!(
            !after.iter().any(|k| k.check_id == applied.check_id
                && k.document == applied.location.document
                && k.path == applied.location.path),
            "{name}: {} still there after its fix",
            applied.check_id
        );
    }
    // Untouched documents are byte-for-byte the same; comments all survive.
    let fixed_docs: BTreeSet<usize> = outcome
        .applied
        .iter()
        .map(|a| a.location.document)
        .collect();
    let old = split_documents(&input);
    let new = split_documents(&outcome.text);
    assert_eq!(old.len(), new.len(), "{name}: document count changed");
    for (o, n) in old.iter().zip(&new) {
        if !fixed_docs.contains(&o.index) {
            assert_eq!(
                o.text, n.text,
                "{name}: document {} changed without a fix",
                o.index
            );
        }
    }
    for line in input.lines().filter(|l| l.contains('#')) {
        let comment = &line[line.find('#').unwrap_or(0)..];
        assert!(
            outcome.text.contains(comment),
            "{name}: lost comment {comment:?}"
        );
    }
    // Fixing again changes nothing.
    let again = fix(
        "again",
        &outcome.text,
        &check_source("again", &outcome.text, options).findings,
        mode,
        options,
    );
    assert!(
        again.applied.is_empty(),
        "{name}: second pass applied {:?}",
        again.applied.len()
    );
    assert_eq!(again.text, outcome.text);
}

fn at(level: Level) -> Options {
    Options {
        level,
        ..Options::default()
    }
}

#[test]
fn golden_fixes() {
    let restricted = at(Level::Restricted);
    check("restricted-multidoc", "yaml", &restricted, FixMode::Safe);
    check("restricted-multidoc", "yaml", &restricted, FixMode::Risky);
    check("privileged", "yaml", &restricted, FixMode::Safe);
    check("privileged", "yaml", &restricted, FixMode::Risky);
    check("pod", "json", &restricted, FixMode::Risky);
    check("list", "yaml", &restricted, FixMode::Safe);
    check("anchors", "yaml", &restricted, FixMode::Safe);
    check("crlf", "yaml", &restricted, FixMode::Safe);
    check("hardening", "yaml", &at(Level::All), FixMode::Risky);
    let windows = Options {
        pss_version: PssVersion::new(24),
        ..at(Level::All)
    };
    check("windows", "yaml", &windows, FixMode::Risky);
}

#[test]
fn refusals_are_listed_with_their_reason() {
    let options = at(Level::Restricted);
    let reason = |name: &str, mode: FixMode, check_id: &str, container: &str| -> String {
        let path = dir().join(name);
        let text = std::fs::read_to_string(&path).expect("case");
        let report = check_source(name, &text, &options);
        let outcome = fix(name, &text, &report.findings, mode, &options);
        outcome
            .not_fixed
            .iter()
            .find(|n| {
                n.check_id == check_id
                    && n.location
                        .container
                        .as_ref()
                        .is_some_and(|c| c.name == container)
            })
            .map(|n| n.reason.clone())
            .unwrap_or_else(|| {
                panic!(
                    "{name}: {check_id} [{container}] was fixed: {:#?}",
                    outcome.applied
                )
            })
    };
    // The API server rejects allowPrivilegeEscalation: false with privileged or SYS_ADMIN.
    assert!(
        reason(
            "privileged.in.yaml",
            FixMode::Safe,
            "pss.allowPrivilegeEscalation",
            "debug"
        )
        .contains("privileged")
    );
    assert!(
        reason(
            "privileged.in.yaml",
            FixMode::Safe,
            "pss.allowPrivilegeEscalation",
            "admin"
        )
        .contains("SYS_ADMIN")
    );
    // Risky fixes wait for --fix=risky and say why they are risky.
    assert!(
        reason(
            "privileged.in.yaml",
            FixMode::Safe,
            "pss.privileged",
            "debug"
        )
        .contains("use --fix=risky")
    );
    // A field shared through a YAML alias cannot be edited in one place: editing the anchor
    // would change both containers, and the alias cannot be edited at all.
    assert!(
        reason(
            "anchors.in.yaml",
            FixMode::Safe,
            "pss.allowPrivilegeEscalation",
            "a"
        )
        .starts_with("fix refused: cannot rewrite the text faithfully")
    );
    assert!(
        reason(
            "anchors.in.yaml",
            FixMode::Safe,
            "pss.allowPrivilegeEscalation",
            "b"
        )
        .starts_with("fix refused: cannot rewrite the text")
    );
}

#[test]
fn exempted_findings_are_not_fixed() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    podwarden.io/skip: pss.allowPrivilegeEscalation\nspec:\n  containers:\n  - name: c\n    image: x\n";
    let options = at(Level::Restricted);
    let report = check_source("p.yaml", text, &options);
    let outcome = fix("p.yaml", text, &report.findings, FixMode::Safe, &options);
    assert!(
        outcome
            .applied
            .iter()
            .all(|a| a.check_id != "pss.allowPrivilegeEscalation")
    );
    assert!(
        !outcome.text.contains("allowPrivilegeEscalation: false"),
        "{}",
        outcome.text
    );
    assert!(outcome.text.contains("seccompProfile"), "{}", outcome.text);
}

#[test]
fn truncated_and_garbled_sources_never_break_the_fixer() {
    let options = at(Level::All);
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(dir()).expect("fix cases") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().contains(".in.") {
            inputs.push(std::fs::read_to_string(&path).expect("case"));
        }
    }
    let mut runs = 0;
    for input in &inputs {
        let cuts = (0..input.len())
            .step_by(11)
            .filter(|i| input.is_char_boundary(*i));
        for cut in cuts {
            for text in [input[..cut].to_string(), input[..cut].replace(": ", ":\t")] {
                let report = check_source("cut.yaml", &text, &options);
                let outcome = fix(
                    "cut.yaml",
                    &text,
                    &report.findings,
                    FixMode::Risky,
                    &options,
                );
                runs += 1;
                if outcome.changed {
                    let again = check_source("cut.yaml", &outcome.text, &options);
                    assert!(
                        again.errors.len() <= report.errors.len(),
                        "fixing made {text:?} unreadable:\n{}",
                        outcome.text
                    );
                }
            }
        }
    }
    assert!(runs > 100, "only {runs} runs");
}
