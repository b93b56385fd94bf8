//! The console's message catalogues (English and Japanese, `i18n/{en,ja}.toml`, embedded),
//! language negotiation from `Accept-Language` and the `pw_lang` cookie, and number
//! formatting. Templates never hold text: they look every string up here by key.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    /// Every language, in the order the switcher shows them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ja];

    /// The BCP 47 tag (`en`, `ja`), used in `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ja => "日本語",
        }
    }

    /// A language by its code (`en`, `ja`, `ja-JP`, ...).
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next().unwrap_or_default();
        Lang::ALL
            .into_iter()
            .find(|lang| primary.eq_ignore_ascii_case(lang.code()))
    }

    /// The best language for an `Accept-Language` header (English when nothing matches).
    pub fn negotiate(accept_language: &str) -> Lang {
        let mut best: Option<(u32, Lang)> = None;
        for (position, item) in accept_language.split(',').take(32).enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1000, |q| {
                    q.trim()
                        .parse::<f32>()
                        .map_or(0, |v| (v.clamp(0.0, 1.0) * 1000.0) as u32)
                });
            let Some(lang) = Lang::parse(tag) else {
                continue;
            };
            // Equal qualities keep the header's order.
            let score = quality * 64 + (63 - position.min(63) as u32);
            if quality > 0 && best.is_none_or(|(s, _)| score > s) {
                best = Some((score, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::Ja => 1,
        }
    }
}

const SOURCES: [(&str, &str); 2] = [
    ("en", include_str!("i18n/en.toml")),
    ("ja", include_str!("i18n/ja.toml")),
];

/// A parsed catalogue: dotted keys (`nav.assets`) to text.
pub type Catalogue = HashMap<String, String>;

/// Why a catalogue cannot be read (a build of the binary with a broken file).
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("console/i18n/{file}.toml: {message}")]
    Syntax { file: &'static str, message: String },
    #[error("console/i18n/{file}.toml: key {key:?} is not a string")]
    NotText { file: &'static str, key: String },
}

fn flatten(
    file: &'static str,
    prefix: &str,
    table: &toml::Table,
    out: &mut Catalogue,
) -> Result<(), CatalogueError> {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::String(text) => {
                out.insert(full, text.clone());
            }
            toml::Value::Table(inner) => flatten(file, &full, inner, out)?,
            _ => return Err(CatalogueError::NotText { file, key: full }),
        }
    }
    Ok(())
}

/// Parses one catalogue file.
pub fn parse_catalogue(file: &'static str, text: &str) -> Result<Catalogue, CatalogueError> {
    let table: toml::Table = toml::from_str(text).map_err(|err| CatalogueError::Syntax {
        file,
        message: err.to_string(),
    })?;
    let mut out = Catalogue::new();
    flatten(file, "", &table, &mut out)?;
    Ok(out)
}

fn catalogues() -> &'static [Catalogue; 2] {
    static CATALOGUES: OnceLock<[Catalogue; 2]> = OnceLock::new();
    CATALOGUES.get_or_init(|| {
        SOURCES.map(|(file, text)| {
            parse_catalogue(file, text).unwrap_or_else(|err| {
                // The files are embedded and tested; a broken one is a build defect. Fall back
                // to an empty catalogue (keys show through) rather than take the server down.
                tracing::error!(error = %err, "console message catalogue unreadable");
                Catalogue::new()
            })
        })
    })
}

/// The catalogue of `lang`.
pub fn catalogue(lang: Lang) -> &'static Catalogue {
    &catalogues()[lang.index()]
}

/// The text of `key` in `lang`, English when missing there, the key itself when missing
/// everywhere (a test keeps both catalogues complete).
pub fn text(lang: Lang, key: &str) -> &'static str {
    let all = catalogues();
    if let Some(found) = all[lang.index()].get(key) {
        return found.as_str();
    }
    if let Some(found) = all[Lang::En.index()].get(key) {
        return found.as_str();
    }
    tracing::warn!(key, "console message key missing");
    // Leak-free fallback: keys used in the code are string literals.
    "?"
}

/// `text` with `{name}` placeholders replaced.
pub fn format(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut out = text(lang, key).to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// An integer with thousands separators (`12,345`; both languages use commas).
pub fn number(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        let cases = [
            ("", Lang::En),
            ("ja", Lang::Ja),
            ("ja-JP,ja;q=0.9,en;q=0.8", Lang::Ja),
            ("en-US,en;q=0.9,ja;q=0.8", Lang::En),
            ("fr-FR,ja;q=0.5,en;q=0.4", Lang::Ja),
            ("fr, de", Lang::En),
            ("en;q=0.2, ja;q=0.7", Lang::Ja),
            ("ja;q=0", Lang::En),
            ("*", Lang::En),
        ];
        for (header, expected) in cases {
            assert_eq!(Lang::negotiate(header), expected, "{header:?}");
        }
    }

    #[test]
    fn numbers() {
        for (value, expected) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1234567, "1,234,567"),
            (-10000, "-10,000"),
        ] {
            assert_eq!(number(value), expected);
        }
    }

    #[test]
    fn placeholders() {
        let en = catalogue(Lang::En);
        let (key, template) = en
            .iter()
            .find(|(_, v)| v.contains("{n}"))
            .unwrap_or_else(|| panic!("no catalogue entry with {{n}}"));
        let formatted = format(Lang::En, key, &[("n", "42")]);
        assert_eq!(formatted, template.replace("{n}", "42"));
        assert!(!formatted.contains("{n}"));
    }
}
