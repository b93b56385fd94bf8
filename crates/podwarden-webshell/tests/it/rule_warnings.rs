//! yara-x compiles every shipped rule file (`rules/yara/*.yar`) without a single warning
//! (unintended pattern sets, slow patterns, invariant expressions, ...), and the check itself
//! does report the warnings it is meant to catch.

use podwarden_webshell::{RuleSource, builtin_rule_sources};

/// Compiles `source` alone and returns the codes of yara-x's warnings, each with its text.
fn warnings(source: &RuleSource) -> Vec<(&'static str, String)> {
    let mut compiler = yara_x::Compiler::new();
    let code = yara_x::SourceCode::from(source.text.as_str()).with_origin(source.origin.as_str());
    if let Err(err) = compiler.add_source(code) {
        panic!("{}: does not compile: {err}", source.origin);
    }
    compiler
        .warnings()
        .iter()
        .map(|warning| (warning.code(), warning.to_string()))
        .collect()
}

fn check(source: &RuleSource, expected_codes: &[&str]) {
    let got = warnings(source);
    let codes: Vec<&str> = got.iter().map(|(code, _)| *code).collect();
    assert_eq!(
        codes,
        expected_codes,
        "{}: yara-x warnings:\n{}",
        source.origin,
        got.iter()
            .map(|(_, text)| text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn shipped_rules_compile_without_warnings() {
    let sources = builtin_rule_sources();
    assert!(sources.len() >= 5, "only {} rule files", sources.len());
    for source in &sources {
        check(source, &[]);
    }
}

#[test]
fn warnings_are_reported() {
    let table: &[(&str, &[&str])] = &[
        (r#"rule clean { strings: $a = "abcd" condition: $a }"#, &[]),
        // `$req` is part of the set `$r*` as well as named on its own.
        (
            r#"rule overlap {
                strings: $r1 = "abcd" $r2 = "efgh" $req = "ijkl"
                condition: 2 of ($r*) and $req
            }"#,
            &["unintended_pattern_in_set"],
        ),
    ];
    for (text, expected_codes) in table {
        check(&RuleSource::new("test.yar", *text), expected_codes);
    }
}
