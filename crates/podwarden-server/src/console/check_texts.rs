//! The baseline checks' texts in the console's language: title, rationale, remediation and
//! automatic-fix descriptions come in English from `podwarden_baseline` (and are stored that
//! way with each risk); Japanese pages show the translations of `i18n/checks.ja.toml`
//! (embedded, parsed once), looked up by check id. Tests keep that file complete.

use crate::console::i18n::Lang;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const JAPANESE_SOURCE: &str = include_str!("i18n/checks.ja.toml");
const JAPANESE_FILE: &str = "console/i18n/checks.ja.toml";

/// One check's texts in a language other than English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckText {
    pub title: String,
    pub rationale: String,
    pub remediation: String,
    /// The check's fix descriptions: English template to translated template.
    pub fixes: Vec<FixText>,
}

/// A fix description with `{name}` placeholders, in English and translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixText {
    pub english: Template,
    pub translated: Template,
}

/// Translated check texts by check id.
pub type CheckTexts = BTreeMap<String, CheckText>;

/// Why a check-text file cannot be read (a build of the binary with a broken file).
#[derive(Debug, thiserror::Error)]
pub enum CheckTextsError {
    #[error("{file}: {message}")]
    Syntax { file: &'static str, message: String },
    #[error("{file}: [{check}] {field} is empty")]
    Empty {
        file: &'static str,
        check: String,
        field: String,
    },
    #[error("{file}: [{check}] fix {template:?}: {message}")]
    Fix {
        file: &'static str,
        check: String,
        template: String,
        message: String,
    },
}

/// A piece of a template: literal text or a `{name}` placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Value(String),
}

/// A text with `{name}` placeholders (`remove {names} from securityContext.capabilities.add`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

impl Template {
    /// Splits `source` at its placeholders; a `{` without a closing `}` or two placeholders
    /// with no text between them (which could not be told apart) are refused.
    pub fn parse(source: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            let (text, after) = rest.split_at(open);
            let Some(close) = after.find('}') else {
                return Err(format!(
                    "unclosed {{ at byte {}",
                    source.len() - after.len()
                ));
            };
            let name = &after[1..close];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("bad placeholder {{{name}}}"));
            }
            if text.is_empty() && matches!(pieces.last(), Some(Piece::Value(_))) {
                return Err("two placeholders with no text between them".to_string());
            }
            if !text.is_empty() {
                pieces.push(Piece::Text(text.to_string()));
            }
            pieces.push(Piece::Value(name.to_string()));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template {
            source: source.to_string(),
            pieces,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Placeholder names, sorted.
    pub fn placeholders(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Value(name) => Some(name.as_str()),
                Piece::Text(_) => None,
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The placeholder values that make this template read `text`, if it can. A placeholder
    /// stands for at least one character and ends at the first following literal text (at
    /// the end of `text` for the last literal).
    pub fn matches<'t>(&self, text: &'t str) -> Option<Vec<(&str, &'t str)>> {
        let mut values = Vec::new();
        let mut rest = text;
        let mut pending: Option<&str> = None;
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                Piece::Value(name) => pending = Some(name),
                Piece::Text(literal) => {
                    let last = i + 1 == self.pieces.len();
                    match pending.take() {
                        None => rest = rest.strip_prefix(literal.as_str())?,
                        Some(name) => {
                            let at = if last {
                                rest.strip_suffix(literal.as_str())?.len()
                            } else {
                                rest.find(literal.as_str())?
                            };
                            if at == 0 {
                                return None;
                            }
                            values.push((name, &rest[..at]));
                            rest = &rest[at + literal.len()..];
                        }
                    }
                }
            }
        }
        match pending {
            Some(name) if !rest.is_empty() => {
                values.push((name, rest));
                Some(values)
            }
            Some(_) => None,
            None => rest.is_empty().then_some(values),
        }
    }

    /// The template with its placeholders filled from `values` (unknown names stay as
    /// written).
    pub fn fill(&self, values: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(self.source.len() + 32);
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Value(name) => match values.iter().find(|(n, _)| n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                },
            }
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    title: String,
    rationale: String,
    remediation: String,
    #[serde(default)]
    fix: BTreeMap<String, String>,
}

/// Parses a check-text file: `["check.id"]` tables with `title`, `rationale`, `remediation`
/// and `fix."<English template>" = "<translated template>"` entries.
pub fn parse_check_texts(file: &'static str, text: &str) -> Result<CheckTexts, CheckTextsError> {
    let raw: BTreeMap<String, RawEntry> =
        toml::from_str(text).map_err(|err| CheckTextsError::Syntax {
            file,
            message: err.to_string(),
        })?;
    let mut out = CheckTexts::new();
    for (check, entry) in raw {
        for (field, value) in [
            ("title", &entry.title),
            ("rationale", &entry.rationale),
            ("remediation", &entry.remediation),
        ] {
            if value.trim().is_empty() {
                return Err(CheckTextsError::Empty {
                    file,
                    check,
                    field: field.to_string(),
                });
            }
        }
        let mut fixes = Vec::with_capacity(entry.fix.len());
        for (english, translated) in &entry.fix {
            let fix_error = |message: String| CheckTextsError::Fix {
                file,
                check: check.clone(),
                template: english.clone(),
                message,
            };
            let english_template = Template::parse(english).map_err(&fix_error)?;
            let translated_template = Template::parse(translated).map_err(&fix_error)?;
            if translated.trim().is_empty() {
                return Err(fix_error("the translation is empty".to_string()));
            }
            if english_template.placeholders() != translated_template.placeholders() {
                return Err(fix_error(format!(
                    "placeholders differ: {:?} in English, {:?} translated",
                    english_template.placeholders(),
                    translated_template.placeholders()
                )));
            }
            fixes.push(FixText {
                english: english_template,
                translated: translated_template,
            });
        }
        out.insert(
            check,
            CheckText {
                title: entry.title,
                rationale: entry.rationale,
                remediation: entry.remediation,
                fixes,
            },
        );
    }
    Ok(out)
}

/// The Japanese texts (empty, with an error logged, if the embedded file is broken; a unit
/// test keeps it readable).
pub fn japanese() -> &'static CheckTexts {
    static JAPANESE: OnceLock<CheckTexts> = OnceLock::new();
    JAPANESE.get_or_init(|| {
        parse_check_texts(JAPANESE_FILE, JAPANESE_SOURCE).unwrap_or_else(|err| {
            tracing::error!(error = %err, "baseline check texts unreadable");
            CheckTexts::new()
        })
    })
}

fn translated(lang: Lang, check_id: &str) -> Option<&'static CheckText> {
    match lang {
        Lang::En => None,
        Lang::Ja => {
            let found = japanese().get(check_id);
            if found.is_none() {
                tracing::warn!(check_id, "no Japanese text for baseline check");
            }
            found
        }
    }
}

/// The check's title in `lang` (`english`, the stored catalogue text, on English pages and for
/// a check without a translation).
pub fn title<'a>(lang: Lang, check_id: &str, english: &'a str) -> &'a str {
    translated(lang, check_id).map_or(english, |t| t.title.as_str())
}

/// The check's rationale in `lang`.
pub fn rationale<'a>(lang: Lang, check_id: &str, english: &'a str) -> &'a str {
    translated(lang, check_id).map_or(english, |t| t.rationale.as_str())
}

/// The check's remediation (the console's hardening suggestion) in `lang`.
pub fn remediation<'a>(lang: Lang, check_id: &str, english: &'a str) -> &'a str {
    translated(lang, check_id).map_or(english, |t| t.remediation.as_str())
}

/// The translation of one of the check's fix descriptions, if the file has it.
pub fn translate_fix(texts: &CheckText, english: &str) -> Option<String> {
    texts.fixes.iter().find_map(|fix| {
        fix.english
            .matches(english)
            .map(|values| fix.translated.fill(&values))
    })
}

/// A fix description of the check (as `podwarden_baseline` wrote it) in `lang`.
pub fn fix_description<'a>(lang: Lang, check_id: &str, english: &'a str) -> Cow<'a, str> {
    let Some(texts) = translated(lang, check_id) else {
        return Cow::Borrowed(english);
    };
    match translate_fix(texts, english) {
        Some(text) => Cow::Owned(text),
        None => {
            tracing::warn!(check_id, english, "no translation of the fix description");
            Cow::Borrowed(english)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::baseline::check_pod;
    use podwarden_baseline::{CATALOGUE, Level, Options, PssVersion};
    use serde_json::{Value, json};
    use std::collections::BTreeSet;

    /// Kana or a CJK ideograph.
    fn is_japanese(c: char) -> bool {
        ('\u{3040}'..='\u{30ff}').contains(&c) || ('\u{4e00}'..='\u{9fff}').contains(&c)
    }

    /// Template, text, the placeholder values expected (`None`: no match).
    type MatchCase = (
        &'static str,
        &'static str,
        Option<&'static [(&'static str, &'static str)]>,
    );

    fn check_match(template: &str, text: &str, expected: Option<&[(&str, &str)]>) {
        let parsed = Template::parse(template).unwrap_or_else(|e| panic!("{template}: {e}"));
        let got = parsed.matches(text);
        assert_eq!(got.as_deref(), expected, "{template:?} against {text:?}");
    }

    #[test]
    fn templates_match_and_fill() {
        let cases: [MatchCase; 10] = [
            ("set a to b", "set a to b", Some(&[])),
            ("set a to b", "set a to c", None),
            ("set a to b", "set a to b!", None),
            (
                "set {field} to false",
                "set hostPID to false",
                Some(&[("field", "hostPID")]),
            ),
            ("set {field} to false", "set  to false", None),
            (
                "remove {names} from x.add",
                "remove SYS_ADMIN, NET_RAW from x.add",
                Some(&[("names", "SYS_ADMIN, NET_RAW")]),
            ),
            (
                "remove sysctls {names}",
                "remove sysctls kernel.msgmax, vm.swappiness",
                Some(&[("names", "kernel.msgmax, vm.swappiness")]),
            ),
            ("remove sysctls {names}", "remove sysctls ", None),
            (
                "{a} and {b}",
                "x and y and z",
                Some(&[("a", "x"), ("b", "y and z")]),
            ),
            (
                "{a} to {b} end",
                "p to q to r end",
                Some(&[("a", "p"), ("b", "q to r")]),
            ),
        ];
        for (template, text, expected) in cases {
            check_match(template, text, expected);
        }
        let filled = Template::parse("{field} を false に設定")
            .map(|t| t.fill(&[("field", "hostIPC")]))
            .unwrap_or_default();
        assert_eq!(filled, "hostIPC を false に設定");
    }

    #[test]
    fn broken_files_are_refused_with_the_place() {
        let cases = [
            ("[x\n", "checks.test.toml: "),
            (
                "[a]\ntitle = \"t\"\nrationale = \" \"\nremediation = \"r\"\n",
                "[a] rationale is empty",
            ),
            (
                "[a]\ntitle = \"t\"\nrationale = \"w\"\nremediation = \"r\"\nfix.\"set {f} on\" = \"{g} を設定\"\n",
                "placeholders differ",
            ),
            (
                "[a]\ntitle = \"t\"\nrationale = \"w\"\nremediation = \"r\"\nfix.\"set {f}{g}\" = \"{f}{g}\"\n",
                "two placeholders",
            ),
            (
                "[a]\ntitle = \"t\"\nrationale = \"w\"\nremediation = \"r\"\nsummary = \"s\"\n",
                "unknown field",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_check_texts("checks.test.toml", text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(expected), "{text:?}: {err:?}");
        }
    }

    /// Every check of the catalogue has a complete Japanese entry, and the file names no check
    /// the catalogue does not have.
    #[test]
    fn japanese_covers_exactly_the_catalogue() {
        let texts =
            parse_check_texts(JAPANESE_FILE, JAPANESE_SOURCE).unwrap_or_else(|e| panic!("{e}"));
        let catalogue: BTreeSet<&str> = CATALOGUE.iter().map(|c| c.id).collect();
        let file: BTreeSet<&str> = texts.keys().map(String::as_str).collect();
        let missing: Vec<_> = catalogue.difference(&file).collect();
        let unknown: Vec<_> = file.difference(&catalogue).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "{JAPANESE_FILE}: missing checks {missing:?}; checks not in the catalogue {unknown:?}"
        );
        for check in CATALOGUE {
            let text = &texts[check.id];
            for (field, english, japanese) in [
                ("title", check.title, &text.title),
                ("rationale", check.rationale, &text.rationale),
                ("remediation", check.remediation, &text.remediation),
            ] {
                assert_ne!(japanese, english, "{}: {field} is not translated", check.id);
                assert!(
                    japanese.chars().any(is_japanese),
                    "{}: {field} {japanese:?} is not Japanese",
                    check.id
                );
            }
            for fix in &text.fixes {
                assert!(
                    fix.translated.source().chars().any(is_japanese),
                    "{}: fix {:?} is not translated",
                    check.id,
                    fix.english.source()
                );
            }
        }
        assert_eq!(japanese().len(), CATALOGUE.len(), "the embedded file loads");
    }

    fn pod(spec: Value, annotations: Value, namespace: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": namespace, "annotations": annotations},
            "spec": spec})
    }

    /// Pods that between them take every path of the baseline crate that offers a fix.
    fn risky_pods() -> Vec<Value> {
        let wide_open = json!({
            "hostNetwork": true, "hostPID": true, "hostIPC": true,
            "securityContext": {
                "runAsNonRoot": false,
                "appArmorProfile": {"type": "Unconfined"},
                "seLinuxOptions": {"user": "root_u", "role": "sysadm_r"},
                "seccompProfile": {"type": "Unconfined"},
                "sysctls": [{"name": "kernel.msgmax", "value": "1"}]
            },
            "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}],
            "containers": [{
                "name": "app", "image": "nginx",
                "ports": [{"containerPort": 80, "hostPort": 8080}],
                "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80, "path": "/"}},
                "volumeMounts": [{"name": "logs", "mountPath": "/logs"}],
                "securityContext": {
                    "privileged": true,
                    "runAsNonRoot": false,
                    "procMount": "Unmasked",
                    "capabilities": {"add": ["SYS_ADMIN", "NET_RAW"]},
                    "appArmorProfile": {"type": "Unconfined"},
                    "seLinuxOptions": {"type": "spc_t"},
                    "seccompProfile": {"type": "Unconfined"}
                }
            }]
        });
        let unset = json!({
            "containers": [{"name": "web", "image": "nginx:1.25"}]
        });
        let annotated = json!({
            "containers": [{"name": "app", "image": "nginx:1.25",
                "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]
        });
        vec![
            pod(wide_open, json!({}), "default"),
            pod(unset, json!({}), "shop"),
            pod(
                annotated,
                json!({
                    "container.apparmor.security.beta.kubernetes.io/app": "unconfined",
                    "seccomp.security.alpha.kubernetes.io/pod": "unconfined"
                }),
                "shop",
            ),
        ]
    }

    /// (check id, fix description) of every fix the baseline crate offers for these pods: as
    /// the server checks them, and at policy version v1.18 (whose seccomp annotations have a
    /// fix of their own).
    fn fix_descriptions() -> Vec<(String, String)> {
        let mut out = Vec::new();
        for pod in risky_pods() {
            out.extend(
                check_pod(&pod)
                    .into_iter()
                    .filter_map(|row| row.fix.map(|fix| (row.check_id, fix.description))),
            );
            let v1_18 = Options::pss(Level::Baseline, PssVersion::new(18));
            out.extend(
                podwarden_baseline::check_document(&pod, &v1_18)
                    .into_iter()
                    .filter_map(|f| f.fix.map(|fix| (f.check_id, fix.description))),
            );
        }
        out
    }

    /// Every fix description the baseline crate writes for these pods has a Japanese
    /// translation under its check, and every translation in the file is used by one.
    #[test]
    fn every_fix_description_is_translated() {
        let texts =
            parse_check_texts(JAPANESE_FILE, JAPANESE_SOURCE).unwrap_or_else(|e| panic!("{e}"));
        let mut used: BTreeSet<(String, String)> = BTreeSet::new();
        let mut untranslated = Vec::new();
        let produced = fix_descriptions();
        for (check_id, description) in &produced {
            let hit = texts.get(check_id).and_then(|entry| {
                entry
                    .fixes
                    .iter()
                    .find(|f| f.english.matches(description).is_some())
            });
            match hit {
                Some(found) => {
                    used.insert((check_id.clone(), found.english.source().to_string()));
                    let japanese = fix_description(Lang::Ja, check_id, description);
                    assert_ne!(&japanese, description, "{check_id}");
                    assert!(!japanese.contains('{'), "{japanese}");
                }
                None => untranslated.push(format!("{check_id}: {description:?}")),
            }
            assert_eq!(
                &fix_description(Lang::En, check_id, description),
                description,
                "English pages keep the crate's text"
            );
        }
        let produced = produced.len();
        assert!(produced > 20, "the pods produced only {produced} fixes");
        assert!(
            untranslated.is_empty(),
            "fix descriptions without a Japanese text in {JAPANESE_FILE}: {untranslated:#?}"
        );
        let unused: Vec<String> = texts
            .iter()
            .flat_map(|(check, text)| {
                text.fixes
                    .iter()
                    .map(move |f| (check.clone(), f.english.source().to_string()))
            })
            .filter(|key| !used.contains(key))
            .map(|(check, english)| format!("{check}: {english:?}"))
            .collect();
        assert!(
            unused.is_empty(),
            "fix texts no test pod produces (a stale entry, or a pod missing here): {unused:#?}"
        );
    }

    #[test]
    fn pages_pick_the_text_of_their_language() {
        let Some(check) = podwarden_baseline::check("pss.hostNamespaces") else {
            panic!("pss.hostNamespaces is in the catalogue");
        };
        let cases = [
            (
                Lang::En,
                title(Lang::En, check.id, check.title),
                check.title,
            ),
            (
                Lang::Ja,
                title(Lang::Ja, check.id, check.title),
                "ホストの名前空間",
            ),
            (
                Lang::Ja,
                remediation(Lang::Ja, check.id, check.remediation),
                "Pod spec から hostNetwork、hostPID、hostIPC を削除するか、false に設定してください。",
            ),
            (
                Lang::En,
                rationale(Lang::En, check.id, check.rationale),
                check.rationale,
            ),
            (
                Lang::Ja,
                title(Lang::Ja, "custom.unknown", "Custom check"),
                "Custom check",
            ),
        ];
        for (lang, got, expected) in cases {
            assert_eq!(got, expected, "{lang:?}");
        }
        assert_eq!(
            fix_description(Lang::Ja, check.id, "set hostNetwork to false"),
            "hostNetwork を false に設定"
        );
        assert_eq!(
            fix_description(Lang::Ja, check.id, "something new"),
            "something new",
            "an unknown description shows as written"
        );
    }
}
