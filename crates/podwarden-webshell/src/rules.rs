//! The YARA rule set: shipped rules embedded from `rules/yara/`, plus extra sources, compiled once.

use std::sync::Arc;

/// One YARA source text and where it came from (a file path, or `builtin:<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    pub origin: String,
    pub text: String,
}

impl RuleSource {
    pub fn new(origin: impl Into<String>, text: impl Into<String>) -> Self {
        RuleSource {
            origin: origin.into(),
            text: text.into(),
        }
    }
}

/// A rule source that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Syntax or semantic error, located in the source.
    #[error("{origin}:{line}: {message}")]
    Compile {
        origin: String,
        line: usize,
        message: String,
    },
}

const BUILTIN: &[(&str, &str)] = &[
    (
        "builtin:php.yar",
        include_str!("../../../rules/yara/php.yar"),
    ),
    (
        "builtin:jsp.yar",
        include_str!("../../../rules/yara/jsp.yar"),
    ),
    (
        "builtin:asp.yar",
        include_str!("../../../rules/yara/asp.yar"),
    ),
    (
        "builtin:cgi.yar",
        include_str!("../../../rules/yara/cgi.yar"),
    ),
    (
        "builtin:generic.yar",
        include_str!("../../../rules/yara/generic.yar"),
    ),
];

/// The rules shipped with Podwarden (`rules/yara/*.yar`).
pub fn builtin_rule_sources() -> Vec<RuleSource> {
    BUILTIN
        .iter()
        .map(|(origin, text)| RuleSource::new(*origin, *text))
        .collect()
}

/// Compiles the shipped rules and `extra` (each extra source in its own namespace, so its
/// rule names cannot clash with ours) into one immutable rule set.
pub fn compile(extra: &[RuleSource]) -> Result<Arc<yara_x::Rules>, RuleError> {
    let mut compiler = yara_x::Compiler::new();
    for source in builtin_rule_sources() {
        add(&mut compiler, &source)?;
    }
    for (index, source) in extra.iter().enumerate() {
        compiler.new_namespace(&format!("user{index}"));
        add(&mut compiler, source)?;
    }
    Ok(Arc::new(compiler.build()))
}

fn add(compiler: &mut yara_x::Compiler<'_>, source: &RuleSource) -> Result<(), RuleError> {
    let code = yara_x::SourceCode::from(source.text.as_str()).with_origin(source.origin.as_str());
    compiler
        .add_source(code)
        .map(|_| ())
        .map_err(|err| located(source, &err))
}

/// Turns a yara-x error into file + line + one-line message.
fn located(source: &RuleSource, err: &yara_x::errors::CompileError) -> RuleError {
    let mut line = 0;
    let mut message = err.title().to_string();
    if let Some(label) = err.labels().next() {
        let offset = usize::try_from(label.span().0.start).unwrap_or(usize::MAX);
        line = crate::excerpt::line_of(source.text.as_bytes(), offset);
        if !label.text().is_empty() {
            message = format!("{message}: {}", label.text());
        }
    }
    RuleError::Compile {
        origin: source.origin.clone(),
        line,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_compile() {
        let rules = compile(&[]).unwrap_or_else(|err| panic!("shipped rules: {err}"));
        assert!(
            rules.iter().count() > 20,
            "only {} rules",
            rules.iter().count()
        );
    }

    fn check(text: &str, expected: Result<(), (usize, &str)>) {
        let got = compile(&[RuleSource::new("user.yar", text)]).map(|_| ());
        match (got, expected) {
            (Ok(()), Ok(())) => {}
            (
                Err(RuleError::Compile {
                    origin,
                    line,
                    message,
                }),
                Err((want_line, fragment)),
            ) => {
                assert_eq!(origin, "user.yar");
                assert_eq!(line, want_line, "{message}");
                assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
            }
            (got, expected) => panic!("got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn extra_sources_report_file_and_line() {
        check("rule ok { strings: $a = \"x\" condition: $a }", Ok(()));
        check("rule a {\n condition:\n   true and\n}\n", Err((4, "")));
        check(
            "rule b {\n strings:\n  $a = \"x\"\n condition:\n  $b\n}",
            Err((5, "unknown pattern")),
        );
        // Our own rule names can be reused in a user file (own namespace).
        check(
            "rule php_eval_of_request_input { condition: false }",
            Ok(()),
        );
    }
}
