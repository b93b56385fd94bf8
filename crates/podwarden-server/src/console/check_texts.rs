//! The baseline checks' texts in the console's language: title, rationale, remediation, the
//! per-risk violation message, why a risk has no automatic fix, the fix's description and why
//! it is risky come in English from `podwarden_baseline` (and are stored that way with each
//! risk); Japanese pages show the translations of `i18n/checks.ja.toml` (embedded, parsed
//! once), looked up by check id, the variable texts matched by English template. The fix
//! page's conflict messages (written by the store) are translated here too. Tests keep the
//! file complete.

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
    /// The check's fix descriptions.
    pub fixes: Vec<Translation>,
    /// The check's violation messages.
    pub messages: Vec<Translation>,
    /// Why the check's risks have no automatic fix.
    pub no_fix_reasons: Vec<Translation>,
    /// Why the check's fixes are risky.
    pub risks: Vec<Translation>,
    /// Items of a list a message carries (`all keys of Secret {name}`), translated where a
    /// placeholder's value lists them (split at `; ` and `, `).
    pub items: Vec<Translation>,
}

/// Which of a check's variable texts a translation is for (and its key in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TextKind {
    Message,
    NoFixReason,
    Fix,
    Risk,
    Item,
}

impl TextKind {
    pub const ALL: [TextKind; 5] = [
        TextKind::Message,
        TextKind::NoFixReason,
        TextKind::Fix,
        TextKind::Risk,
        TextKind::Item,
    ];

    /// The key of the kind's table in a check-text file.
    pub fn key(self) -> &'static str {
        match self {
            TextKind::Message => "message",
            TextKind::NoFixReason => "no_fix",
            TextKind::Fix => "fix",
            TextKind::Risk => "risk",
            TextKind::Item => "item",
        }
    }
}

impl CheckText {
    /// The check's translations of one kind.
    pub fn translations(&self, kind: TextKind) -> &[Translation] {
        match kind {
            TextKind::Message => &self.messages,
            TextKind::NoFixReason => &self.no_fix_reasons,
            TextKind::Fix => &self.fixes,
            TextKind::Risk => &self.risks,
            TextKind::Item => &self.items,
        }
    }
}

/// A text with `{name}` placeholders, in English and translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
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
    #[error("{file}: [{check}] {kind} {template:?}: {message}")]
    Template {
        file: &'static str,
        check: String,
        kind: &'static str,
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

    /// The literal texts between the placeholders, in order.
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Text(text) => Some(text.as_str()),
            Piece::Value(_) => None,
        })
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

/// The translation among `translations` whose English template reads `text` with the least
/// text left to its placeholders (the most specific one: `… drop=["ALL"]; container {c} must
/// not include {names} …` rather than `… {c} must not include {names} …`), and the values.
pub fn best_match<'a, 't>(
    translations: &'a [Translation],
    text: &'t str,
) -> Option<(&'a Translation, Vec<(&'a str, &'t str)>)> {
    translations
        .iter()
        .filter_map(|t| t.english.matches(text).map(|values| (t, values)))
        .min_by_key(|(_, values)| values.iter().map(|(_, v)| v.len()).sum::<usize>())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    title: String,
    rationale: String,
    remediation: String,
    #[serde(default)]
    fix: BTreeMap<String, String>,
    #[serde(default)]
    message: BTreeMap<String, String>,
    #[serde(default)]
    no_fix: BTreeMap<String, String>,
    #[serde(default)]
    risk: BTreeMap<String, String>,
    #[serde(default)]
    item: BTreeMap<String, String>,
}

impl RawEntry {
    fn table(&self, kind: TextKind) -> &BTreeMap<String, String> {
        match kind {
            TextKind::Message => &self.message,
            TextKind::NoFixReason => &self.no_fix,
            TextKind::Fix => &self.fix,
            TextKind::Risk => &self.risk,
            TextKind::Item => &self.item,
        }
    }
}

/// One `kind."<English template>" = "<translated template>"` entry, checked.
fn parse_translation(
    file: &'static str,
    check: &str,
    kind: TextKind,
    english: &str,
    translated: &str,
) -> Result<Translation, CheckTextsError> {
    let error = |message: String| CheckTextsError::Template {
        file,
        check: check.to_string(),
        kind: kind.key(),
        template: english.to_string(),
        message,
    };
    let english_template = Template::parse(english).map_err(&error)?;
    let translated_template = Template::parse(translated).map_err(&error)?;
    if translated.trim().is_empty() {
        return Err(error("the translation is empty".to_string()));
    }
    if english_template.placeholders() != translated_template.placeholders() {
        return Err(error(format!(
            "placeholders differ: {:?} in English, {:?} translated",
            english_template.placeholders(),
            translated_template.placeholders()
        )));
    }
    Ok(Translation {
        english: english_template,
        translated: translated_template,
    })
}

/// Parses a check-text file: `["check.id"]` tables with `title`, `rationale`, `remediation`
/// and `<kind>."<English template>" = "<translated template>"` entries, kind being `message`,
/// `no_fix`, `fix`, `risk` or `item`.
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
        let mut kinds: BTreeMap<TextKind, Vec<Translation>> = BTreeMap::new();
        for kind in TextKind::ALL {
            let table = entry.table(kind);
            let mut translations = Vec::with_capacity(table.len());
            for (english, translated) in table {
                translations.push(parse_translation(file, &check, kind, english, translated)?);
            }
            kinds.insert(kind, translations);
        }
        let mut take = |kind| kinds.remove(&kind).unwrap_or_default();
        let text = CheckText {
            fixes: take(TextKind::Fix),
            messages: take(TextKind::Message),
            no_fix_reasons: take(TextKind::NoFixReason),
            risks: take(TextKind::Risk),
            items: take(TextKind::Item),
            title: entry.title,
            rationale: entry.rationale,
            remediation: entry.remediation,
        };
        out.insert(check, text);
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

/// `value` with every item (between `; ` and `, `) that an item template reads translated.
fn translate_items<'v>(
    items: &'v [Translation],
    value: &str,
    used: &mut dyn FnMut(TextKind, &'v Translation),
) -> String {
    value
        .split("; ")
        .map(|part| {
            part.split(", ")
                .map(|item| match best_match(items, item) {
                    Some((translation, values)) => {
                        used(TextKind::Item, translation);
                        translation.translated.fill(&values)
                    }
                    None => item.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The translation of `english`, a text of `kind` of the check, telling `used` which
/// translations it took (the text's own, and those of items in its values).
pub fn translate_recording<'c>(
    texts: &'c CheckText,
    kind: TextKind,
    english: &str,
    used: &mut dyn FnMut(TextKind, &'c Translation),
) -> Option<String> {
    let (translation, values) = best_match(texts.translations(kind), english)?;
    used(kind, translation);
    if kind == TextKind::Item || texts.items.is_empty() {
        return Some(translation.translated.fill(&values));
    }
    let values: Vec<(&str, String)> = values
        .into_iter()
        .map(|(name, value)| (name, translate_items(&texts.items, value, used)))
        .collect();
    let values: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
    Some(translation.translated.fill(&values))
}

/// The translation of `english`, a text of `kind` of the check, if the file has it.
pub fn translate(texts: &CheckText, kind: TextKind, english: &str) -> Option<String> {
    translate_recording(texts, kind, english, &mut |_, _| {})
}

/// A variable text of the check (as `podwarden_baseline` wrote it) in `lang`.
fn text<'a>(lang: Lang, check_id: &str, kind: TextKind, english: &'a str) -> Cow<'a, str> {
    let Some(texts) = translated(lang, check_id) else {
        return Cow::Borrowed(english);
    };
    match translate(texts, kind, english) {
        Some(text) => Cow::Owned(text),
        None => {
            tracing::warn!(
                check_id,
                kind = kind.key(),
                english,
                "no translation of the baseline text"
            );
            Cow::Borrowed(english)
        }
    }
}

/// A risk's violation message in `lang`.
pub fn message<'a>(lang: Lang, check_id: &str, english: &'a str) -> Cow<'a, str> {
    text(lang, check_id, TextKind::Message, english)
}

/// Why a risk has no automatic fix, in `lang`.
pub fn no_fix_reason<'a>(lang: Lang, check_id: &str, english: &'a str) -> Cow<'a, str> {
    text(lang, check_id, TextKind::NoFixReason, english)
}

/// A fix description of the check in `lang`.
pub fn fix_description<'a>(lang: Lang, check_id: &str, english: &'a str) -> Cow<'a, str> {
    text(lang, check_id, TextKind::Fix, english)
}

/// Why a fix of the check is risky, in `lang`.
pub fn fix_risk<'a>(lang: Lang, check_id: &str, english: &'a str) -> Cow<'a, str> {
    text(lang, check_id, TextKind::Risk, english)
}

/// Why the store computes no fix for a risk (`StoreError::Conflict` of
/// `Store::baseline_fix`): English template and Japanese. `{check}` is a check id, `{reason}`
/// its no-fix reason and `{remediation}` its remediation, both translated by check id.
const FIX_CONFLICTS: [(&str, &str); 4] = [
    (
        "{check} has no automatic fix ({reason}); remediation: {remediation}",
        "{check} には自動修正がありません({reason})。強化の提案: {remediation}",
    ),
    (
        "{check} has no automatic fix; remediation: {remediation}",
        "{check} には自動修正がありません。強化の提案: {remediation}",
    ),
    (
        "the asset's pod spec is no longer stored",
        "この資産の Pod spec はもう保存されていません。",
    ),
    (
        "the fix no longer applies to the stored pod spec ({error}); re-run the baseline check",
        "保存されている Pod spec にはこの修正を適用できなくなりました({error})。ベースラインチェックを再実行してください。",
    ),
];

fn fix_conflicts() -> &'static [Translation] {
    static CONFLICTS: OnceLock<Vec<Translation>> = OnceLock::new();
    CONFLICTS.get_or_init(|| {
        FIX_CONFLICTS
            .iter()
            .filter_map(|(english, japanese)| {
                parse_translation(
                    "console/check_texts.rs",
                    "fix conflict",
                    TextKind::Message,
                    english,
                    japanese,
                )
                .map_err(|err| tracing::error!(error = %err, "fix conflict text unreadable"))
                .ok()
            })
            .collect()
    })
}

/// The fix page's message for a risk the store computes no fix for, in `lang`.
pub fn fix_conflict<'a>(lang: Lang, english: &'a str) -> Cow<'a, str> {
    if lang == Lang::En {
        return Cow::Borrowed(english);
    }
    let Some((translation, values)) = best_match(fix_conflicts(), english) else {
        tracing::warn!(english, "no translation of the fix conflict");
        return Cow::Borrowed(english);
    };
    let check = values
        .iter()
        .find(|(name, _)| *name == "check")
        .map_or("", |(_, v)| *v);
    let values: Vec<(&str, Cow<'_, str>)> = values
        .iter()
        .map(|&(name, value)| {
            let value = match name {
                // The reason sits in parentheses: no sentence end inside them.
                "reason" => match no_fix_reason(lang, check, value) {
                    Cow::Owned(text) => Cow::Owned(text.trim_end_matches('。').to_string()),
                    borrowed => borrowed,
                },
                "remediation" => Cow::Borrowed(remediation(lang, check, value)),
                _ => Cow::Borrowed(value),
            };
            (name, value)
        })
        .collect();
    let values: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    Cow::Owned(translation.translated.fill(&values))
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

    fn japanese_file() -> CheckTexts {
        parse_check_texts(JAPANESE_FILE, JAPANESE_SOURCE).unwrap_or_else(|e| panic!("{e}"))
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

    /// Of several templates reading a text, the one leaving the least to its placeholders is
    /// taken; `None`: none reads it.
    #[test]
    fn the_most_specific_template_wins() {
        let check = |templates: &[&str], text: &str, expected: Option<&str>| {
            let translations: Vec<Translation> = templates
                .iter()
                .map(|t| {
                    parse_translation("test", "c", TextKind::Message, t, t)
                        .unwrap_or_else(|e| panic!("{e}"))
                })
                .collect();
            let got = best_match(&translations, text).map(|(t, _)| t.english.source());
            assert_eq!(got, expected, "{templates:?} reading {text:?}");
        };
        let capabilities = [
            "caps ({c} must drop ALL)",
            "caps ({c} must not add {names})",
            "caps ({c} must drop ALL; {c} must not add {names})",
        ];
        check(
            &capabilities,
            "caps (a must drop ALL; a must not add X, Y)",
            Some("caps ({c} must drop ALL; {c} must not add {names})"),
        );
        check(
            &capabilities,
            "caps (a must not add X)",
            Some("caps ({c} must not add {names})"),
        );
        check(
            &capabilities,
            "caps (a must drop ALL)",
            Some("caps ({c} must drop ALL)"),
        );
        check(&capabilities, "caps (a)", None);
        let ports = ["{c} uses hostPort {ports}", "{c} uses hostPorts {ports}"];
        check(
            &ports,
            "app uses hostPorts 80, 81",
            Some("{c} uses hostPorts {ports}"),
        );
        check(
            &ports,
            "app uses hostPort 80",
            Some("{c} uses hostPort {ports}"),
        );
    }

    #[test]
    fn broken_files_are_refused_with_the_place() {
        const HEAD: &str = "[a]\ntitle = \"t\"\nrationale = \"w\"\nremediation = \"r\"\n";
        let cases = [
            ("[x\n".to_string(), "checks.test.toml: "),
            (
                "[a]\ntitle = \"t\"\nrationale = \" \"\nremediation = \"r\"\n".to_string(),
                "[a] rationale is empty",
            ),
            (
                format!("{HEAD}fix.\"set {{f}} on\" = \"{{g}} を設定\"\n"),
                "[a] fix \"set {f} on\": placeholders differ",
            ),
            (
                format!("{HEAD}fix.\"set {{f}}{{g}}\" = \"{{f}}{{g}}\"\n"),
                "two placeholders",
            ),
            (
                format!("{HEAD}message.\"x {{c}} y\" = \"{{c}} と {{d}}\"\n"),
                "[a] message \"x {c} y\": placeholders differ",
            ),
            (
                format!("{HEAD}no_fix.\"by hand\" = \" \"\n"),
                "[a] no_fix \"by hand\": the translation is empty",
            ),
            (
                format!("{HEAD}risk.\"it {{breaks\" = \"壊れる\"\n"),
                "[a] risk \"it {breaks\": unclosed {",
            ),
            (
                format!("{HEAD}item.\"{{a b}}\" = \"{{a b}}\"\n"),
                "[a] item \"{a b}\": bad placeholder",
            ),
            (format!("{HEAD}summary = \"s\"\n"), "unknown field"),
        ];
        for (text, expected) in cases {
            let err = parse_check_texts("checks.test.toml", &text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(expected), "{text:?}: {err:?}");
        }
    }

    /// Every check of the catalogue has a complete Japanese entry, every text of the file is
    /// Japanese, and the file names no check the catalogue does not have.
    #[test]
    fn japanese_covers_exactly_the_catalogue() {
        let texts = japanese_file();
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
            for kind in TextKind::ALL {
                for translation in text.translations(kind) {
                    assert!(
                        translation.translated.source().chars().any(is_japanese),
                        "{}: {} {:?} is not translated",
                        check.id,
                        kind.key(),
                        translation.english.source()
                    );
                }
            }
        }
        assert_eq!(japanese().len(), CATALOGUE.len(), "the embedded file loads");
    }

    fn pod(spec: Value, annotations: Value, namespace: Option<&str>) -> Value {
        let mut metadata = json!({"name": "p", "annotations": annotations});
        if let Some(namespace) = namespace {
            metadata["namespace"] = json!(namespace);
        }
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
    }

    /// Pods that between them take every path of the baseline crate that writes a message, a
    /// no-fix reason, a fix or a fix's risk.
    fn test_pods() -> Vec<Value> {
        let wide_open = json!({
            "hostNetwork": true, "hostPID": true, "hostIPC": true,
            "securityContext": {
                "runAsNonRoot": false,
                "appArmorProfile": {"type": "Unconfined"},
                "seLinuxOptions": {"user": "root_u", "role": "sysadm_r"},
                "seccompProfile": {"type": "Unconfined"},
                "sysctls": [{"name": "kernel.msgmax", "value": "1"},
                    {"name": "vm.swappiness", "value": "1"}]
            },
            "volumes": [
                {"name": "logs", "hostPath": {"path": "/var/log"}},
                {"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}},
                {"name": "runtime", "hostPath": {"path": "/run/containerd"}},
                {"name": "odd", "someFutureSource": {"size": 1}}
            ],
            "containers": [{
                "name": "app", "image": "nginx",
                "ports": [{"containerPort": 80, "hostPort": 8080}],
                "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80, "path": "/"}},
                "lifecycle": {"preStop": {"tcpSocket": {"host": "10.0.0.2", "port": 81}}},
                "volumeMounts": [{"name": "logs", "mountPath": "/logs"},
                    {"name": "sock", "mountPath": "/var/run/docker.sock", "readOnly": true}],
                "env": [{"name": "DB_PASSWORD", "value": "hunter2"},
                    {"name": "API_TOKEN",
                        "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}],
                "envFrom": [{"secretRef": {"name": "db"}}],
                "securityContext": {
                    "privileged": true,
                    "runAsNonRoot": false,
                    "procMount": "Unmasked",
                    "capabilities": {"add": ["SYS_ADMIN", "NET_RAW"]},
                    "appArmorProfile": {"type": "Unconfined"},
                    "seLinuxOptions": {"type": "spc_t", "user": "u"},
                    "seccompProfile": {"type": "Unconfined"}
                }
            }, {
                "name": "sidecar", "image": "busybox:latest",
                "ports": [{"containerPort": 90, "hostPort": 9090},
                    {"containerPort": 91, "hostPort": 9091}]
            }]
        });
        let roots = json!({
            "securityContext": {"runAsNonRoot": false},
            "containers": [
                {"name": "zero", "image": "app:1", "securityContext": {"runAsUser": 0}},
                {"name": "denied", "image": "app:1",
                    "securityContext": {"runAsNonRoot": false}},
                {"name": "denied-root", "image": "app:1",
                    "securityContext": {"runAsNonRoot": false, "runAsUser": 0}},
                {"name": "odd-uid", "image": "app:1", "securityContext": {"runAsUser": -1}},
                {"name": "sysadmin", "image": "app:1", "securityContext":
                    {"capabilities": {"add": ["SYS_ADMIN"], "drop": ["ALL"]}}}
            ]
        });
        let pod_root = json!({
            "securityContext": {"runAsUser": 0, "runAsNonRoot": true},
            "containers": [{"name": "app", "image": "app:1"}]
        });
        let unset = json!({
            "containers": [{"name": "web", "image": "nginx:1.25"}]
        });
        let annotated = json!({
            "containers": [{"name": "app", "image": "nginx:1.25",
                "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]
        });
        let windows = json!({
            "os": {"name": "windows"},
            "securityContext": {"windowsOptions": {"hostProcess": true}},
            "containers": [{"name": "win", "image": "nanoserver:ltsc2022",
                "securityContext": {"windowsOptions": {"hostProcess": true}}}]
        });
        vec![
            pod(wide_open, json!({}), Some("default")),
            pod(roots, json!({}), Some("shop")),
            pod(pod_root, json!({}), Some("shop")),
            pod(unset.clone(), json!({}), Some("shop")),
            pod(unset, json!({}), None),
            pod(
                annotated,
                json!({
                    "container.apparmor.security.beta.kubernetes.io/app": "unconfined",
                    "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                    "container.seccomp.security.alpha.kubernetes.io/app": "unconfined"
                }),
                Some("shop"),
            ),
            pod(windows, json!({}), Some("shop")),
        ]
    }

    /// Three words of ASCII letters in a row: English prose left in a translation (field
    /// names, values and ids are single words or carry other characters).
    fn english_phrase(text: &str) -> Option<String> {
        let words: Vec<&str> = text.split(' ').collect();
        words
            .windows(3)
            .find(|run| {
                run.iter()
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic()))
            })
            .map(|run| run.join(" "))
    }

    /// (check id, kind, text) of every message, no-fix reason, fix description and fix risk
    /// the baseline crate writes for the test pods: as the server checks them, at policy
    /// version v1.18 (whose seccomp annotations have checks of their own) and at v1.24 (where
    /// Windows pods still meet the Restricted checks they cannot fix).
    fn produced_texts() -> Vec<(String, TextKind, String)> {
        let mut out = Vec::new();
        let mut add = |check_id: &str,
                       message: String,
                       no_fix_reason: Option<String>,
                       fix: Option<podwarden_baseline::Fix>| {
            out.push((check_id.to_string(), TextKind::Message, message));
            if let Some(reason) = no_fix_reason {
                out.push((check_id.to_string(), TextKind::NoFixReason, reason));
            }
            if let Some(fix) = fix {
                out.push((check_id.to_string(), TextKind::Fix, fix.description));
                if let Some(risk) = fix.risk {
                    out.push((check_id.to_string(), TextKind::Risk, risk));
                }
            }
        };
        for pod in test_pods() {
            for row in check_pod(&pod) {
                add(&row.check_id, row.message, row.no_fix_reason, row.fix);
            }
            for minor in [18, 24] {
                let options = Options::pss(Level::All, PssVersion::new(minor));
                for finding in podwarden_baseline::check_document(&pod, &options) {
                    add(
                        &finding.check_id,
                        finding.message,
                        finding.no_fix_reason,
                        finding.fix,
                    );
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Every text the baseline crate writes for the test pods has a Japanese translation under
    /// its check, English pages keep it as written, and every translation in the file is used
    /// by one.
    #[test]
    fn every_text_the_baseline_crate_writes_is_translated() {
        for (text, phrase) in [
            ("role may not be set", Some("role may not")),
            ("user は設定できません; role may not", Some("role may not")),
            ("type \"spc_t\" は許可されていません", None),
            ("`crane digest` など", None),
            ("Secret \"db\" のすべてのキー, API_TOKEN", None),
        ] {
            assert_eq!(english_phrase(text).as_deref(), phrase, "{text:?}");
        }
        let texts = japanese_file();
        let mut used: BTreeSet<(String, TextKind, String)> = BTreeSet::new();
        let mut untranslated = Vec::new();
        let produced = produced_texts();
        for (check_id, kind, english) in &produced {
            let Some(entry) = texts.get(check_id) else {
                untranslated.push(format!("[{check_id}] has no entry"));
                continue;
            };
            let mut hits = Vec::new();
            let japanese = translate_recording(entry, *kind, english, &mut |kind, t| {
                hits.push((kind, t.english.source().to_string()));
            });
            match japanese {
                Some(japanese) => {
                    assert!(
                        japanese != *english
                            && japanese.chars().any(is_japanese)
                            && !japanese.contains('{'),
                        "[{check_id}] {} {english:?} reads {japanese:?}",
                        kind.key()
                    );
                    if let Some(phrase) = english_phrase(&japanese) {
                        untranslated.push(format!(
                            "[{check_id}] {}.{english:?} keeps {phrase:?}: {japanese:?}",
                            kind.key()
                        ));
                    }
                    assert_eq!(
                        text(Lang::Ja, check_id, *kind, english),
                        japanese,
                        "Japanese pages show the file's text"
                    );
                }
                None => untranslated.push(format!("[{check_id}] {}.{english:?}", kind.key())),
            }
            used.extend(
                hits.into_iter()
                    .map(|(kind, source)| (check_id.clone(), kind, source)),
            );
            assert_eq!(
                &text(Lang::En, check_id, *kind, english),
                english,
                "English pages keep the crate's text"
            );
        }
        for (kind, at_least) in [
            (TextKind::Message, 80),
            (TextKind::NoFixReason, 20),
            (TextKind::Fix, 20),
            (TextKind::Risk, 20),
        ] {
            let count = produced.iter().filter(|(_, k, _)| *k == kind).count();
            assert!(
                count >= at_least,
                "the pods produced only {count} texts of kind {}",
                kind.key()
            );
        }
        assert!(
            untranslated.is_empty(),
            "texts without a Japanese translation in {JAPANESE_FILE}: {untranslated:#?}"
        );
        let unused: Vec<String> = texts
            .iter()
            .flat_map(|(check, text)| {
                TextKind::ALL.into_iter().flat_map(move |kind| {
                    text.translations(kind)
                        .iter()
                        .map(move |t| (check.clone(), kind, t.english.source().to_string()))
                })
            })
            .filter(|key| !used.contains(key))
            .map(|(check, kind, english)| format!("[{check}] {}.{english:?}", kind.key()))
            .collect();
        assert!(
            unused.is_empty(),
            "texts no test pod produces (a stale entry, or a pod missing here): {unused:#?}"
        );
    }

    /// The string literals of Rust source code before its `#[cfg(test)]` module, comments
    /// skipped, escapes resolved.
    fn string_literals(source: &str) -> Vec<String> {
        let code = source.split("#[cfg(test)]").next().unwrap_or(source);
        let mut out = Vec::new();
        let mut chars = code.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '/' if chars.peek() == Some(&'/') => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                '"' => {
                    let mut literal = String::new();
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '\\' => match chars.next() {
                                Some('n') => literal.push('\n'),
                                Some('\n') => {
                                    while chars.next_if(|c| c.is_whitespace()).is_some() {}
                                }
                                Some(other) => literal.push(other),
                                None => {}
                            },
                            c => literal.push(c),
                        }
                    }
                    out.push(literal);
                }
                _ => {}
            }
        }
        out
    }

    /// The literal pieces of a `format!` string (split at its `{…}` arguments).
    fn format_pieces(literal: &str) -> Vec<&str> {
        let mut pieces = Vec::new();
        let mut rest = literal;
        while let Some(open) = rest.find('{') {
            pieces.push(&rest[..open]);
            rest = rest[open..]
                .find('}')
                .map_or("", |close| &rest[open + close + 1..]);
        }
        pieces.push(rest);
        pieces.retain(|p| !p.is_empty());
        pieces
    }

    /// Whether `text` holds every piece, in order.
    fn holds_in_order(text: &str, pieces: &[&str]) -> bool {
        let mut rest = text;
        pieces.iter().all(|piece| match rest.find(piece) {
            Some(at) => {
                rest = &rest[at + piece.len()..];
                true
            }
            None => false,
        })
    }

    /// Every text-like string literal of the checks' source (a reason or risk constant, a
    /// message or its format string) is in some English text of the file, so a new
    /// `no_fix("…")`, risk or message fails here even before a test pod reaches it.
    #[test]
    fn every_text_literal_of_the_checks_is_in_the_file() {
        let texts = japanese_file();
        let english: Vec<&str> = texts
            .values()
            .flat_map(|text| {
                TextKind::ALL
                    .into_iter()
                    .flat_map(move |kind| text.translations(kind).iter())
            })
            .map(|t| t.english.source())
            .collect();
        let mut scanned = 0;
        let mut missing = Vec::new();
        for file in ["pss.rs", "hardening.rs"] {
            let path = format!(
                "{}/../podwarden-baseline/src/{file}",
                env!("CARGO_MANIFEST_DIR")
            );
            let source = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read the baseline checks at {path}: {e}"));
            for literal in string_literals(&source) {
                if !(literal.contains(' ') && literal.chars().any(|c| c.is_ascii_alphabetic())) {
                    continue;
                }
                scanned += 1;
                let pieces = format_pieces(&literal);
                if !english.iter().any(|e| holds_in_order(e, &pieces)) {
                    missing.push(format!("{file}: {literal:?}"));
                }
            }
        }
        assert!(scanned > 90, "only {scanned} text literals found");
        assert!(
            missing.is_empty(),
            "texts of the checks' source with no English text in {JAPANESE_FILE}: {missing:#?}"
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

    /// Texts the crate writes for the test pods, in Japanese as a reader expects them: values
    /// kept, the most specific template taken, list items translated.
    #[test]
    fn variable_texts_read_in_japanese() {
        let check = |check_id: &str, kind: TextKind, english: &str, expected: &str| {
            let produced = produced_texts();
            assert!(
                produced
                    .iter()
                    .any(|(c, k, t)| c == check_id && *k == kind && t == english),
                "the crate does not write [{check_id}] {} {english:?}",
                kind.key()
            );
            assert_eq!(text(Lang::Ja, check_id, kind, english), expected);
            assert_eq!(text(Lang::En, check_id, kind, english), english);
        };
        let cases = [
            (
                "pss.capabilities_restricted",
                TextKind::Message,
                "unrestricted capabilities (container \"app\" must set securityContext.capabilities.drop=[\"ALL\"]; container \"app\" must not include \"NET_RAW\", \"SYS_ADMIN\" in securityContext.capabilities.add)",
                "制限されていないケーパビリティ(コンテナ \"app\" で securityContext.capabilities.drop=[\"ALL\"] を設定する必要があり、securityContext.capabilities.add に \"NET_RAW\", \"SYS_ADMIN\" を含めてはいけません)",
            ),
            (
                "pss.capabilities_restricted",
                TextKind::Message,
                "unrestricted capabilities (container \"sysadmin\" must not include \"SYS_ADMIN\" in securityContext.capabilities.add)",
                "制限されていないケーパビリティ(コンテナ \"sysadmin\" の securityContext.capabilities.add に \"SYS_ADMIN\" を含めてはいけません)",
            ),
            (
                "pss.hostPorts",
                TextKind::Message,
                "hostPort (container \"sidecar\" uses hostPorts 9090, 9091)",
                "hostPort(コンテナ \"sidecar\" が hostPort 9090, 9091 を使用しています)",
            ),
            (
                "pss.seLinuxOptions",
                TextKind::Message,
                "seLinuxOptions (container \"app\" set forbidden securityContext.seLinuxOptions: type \"spc_t\"; user may not be set)",
                "seLinuxOptions(コンテナ \"app\" で禁止されている securityContext.seLinuxOptions が設定されています: type \"spc_t\" は許可されていません; user は設定できません)",
            ),
            (
                "hardening.secret-env",
                TextKind::Message,
                "container \"app\" takes secrets as environment variables: API_TOKEN, all keys of Secret \"db\"",
                "コンテナ \"app\" がシークレットを環境変数として受け取っています: API_TOKEN, Secret \"db\" のすべてのキー",
            ),
            (
                "hardening.root-container",
                TextKind::Message,
                "container \"odd-uid\" may run as root: runAsNonRoot is not true and runAsUser -1 is not a valid UID (0 to 2147483647), so the user is the image's USER, which is unknown here",
                "コンテナ \"odd-uid\" は root で実行される可能性があります。runAsNonRoot が true ではなく、runAsUser -1 は有効な UID(0〜2147483647)ではないため、ユーザーはイメージの USER で決まりますが、それはここでは分かりません",
            ),
            (
                "pss.runAsNonRoot",
                TextKind::NoFixReason,
                "the container sets runAsUser: 0; choose a non-root UID first",
                "コンテナが runAsUser: 0 を設定しています。先に root 以外の UID を選んでください。",
            ),
            (
                "pss.hostPorts",
                TextKind::Risk,
                "clients that reach the pod through the node's port lose access; expose it through a Service",
                "ノードのポート経由で Pod にアクセスしているクライアントはアクセスできなくなります。Service を通じて公開してください。",
            ),
        ];
        for (check_id, kind, english, expected) in cases {
            check(check_id, kind, english, expected);
        }
        assert_eq!(
            message(Lang::Ja, "pss.privileged", "a message from a newer crate"),
            "a message from a newer crate",
            "an unknown text shows as written"
        );
    }

    #[test]
    fn fix_conflicts_read_in_japanese() {
        let Some(host_path) = podwarden_baseline::check("pss.hostPathVolumes") else {
            panic!("pss.hostPathVolumes is in the catalogue");
        };
        let Some(default_namespace) = podwarden_baseline::check("hardening.default-namespace")
        else {
            panic!("hardening.default-namespace is in the catalogue");
        };
        let cases = [
            (
                format!(
                    "pss.hostPathVolumes has no automatic fix (replace the hostPath volume with another volume type by hand); remediation: {}",
                    host_path.remediation
                ),
                "pss.hostPathVolumes には自動修正がありません(hostPath ボリュームを手作業で別の種類のボリュームに置き換えてください)。強化の提案: hostPath ボリュームを emptyDir、configMap、secret、persistentVolumeClaim、CSI のいずれかのボリュームに置き換えてください。".to_string(),
            ),
            (
                format!(
                    "hardening.default-namespace has no automatic fix; remediation: {}",
                    default_namespace.remediation
                ),
                "hardening.default-namespace には自動修正がありません。強化の提案: metadata.namespace に専用の名前空間を設定してください。".to_string(),
            ),
            (
                "the asset's pod spec is no longer stored".to_string(),
                "この資産の Pod spec はもう保存されていません。".to_string(),
            ),
            (
                "the fix no longer applies to the stored pod spec (path /spec/x does not exist); re-run the baseline check".to_string(),
                "保存されている Pod spec にはこの修正を適用できなくなりました(path /spec/x does not exist)。ベースラインチェックを再実行してください。".to_string(),
            ),
            ("something else".to_string(), "something else".to_string()),
        ];
        for (english, japanese) in &cases {
            assert_eq!(&fix_conflict(Lang::Ja, english), japanese);
            assert_eq!(&fix_conflict(Lang::En, english), english);
        }
        assert_eq!(fix_conflicts().len(), FIX_CONFLICTS.len(), "all parse");
    }

    /// The store still writes the conflicts these templates read (their words, between the
    /// values, parentheses and semicolons, are in `store/baseline.rs`).
    #[test]
    fn fix_conflicts_are_the_stores() {
        let path = format!("{}/src/store/baseline.rs", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read the store at {path}: {e}"));
        for (english, _) in FIX_CONFLICTS {
            let Ok(template) = Template::parse(english) else {
                panic!("{english:?} parses");
            };
            for literal in template.literals() {
                for words in literal.split(['(', ')', ';']).map(str::trim) {
                    assert!(
                        words.is_empty() || source.contains(words),
                        "{path} no longer writes {words:?} ({english:?})"
                    );
                }
            }
        }
    }
}
