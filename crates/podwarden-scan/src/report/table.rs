//! The human-readable report: one row per finding, most severe first, fitted to a width.
//!
//! Columns: package, installed version, fixed version(s), advisory (the CVE first when the
//! advisory has one, so it survives narrowing: `CVE-2021-44228 (GHSA-jfh8-…)`) and
//! severity. Cells too long for their column end in `…`; no line is wider than the width
//! asked for (counted in characters). A summary and at most a few inventory warnings follow.

use super::{ScanReport, SeverityCounts, cve_of, os_label, sorted_findings};
use crate::vuln::Finding;
use std::fmt::Write as _;

/// Inventory warnings listed before "N more".
const WARNINGS_SHOWN: usize = 3;
const GAP: &str = "  ";
const HEADERS: [&str; 5] = ["PACKAGE", "INSTALLED", "FIXED", "ADVISORY", "SEVERITY"];
/// Columns are not narrowed below these widths (while the width allows).
const MIN_WIDTHS: [usize; 5] = [10, 9, 9, 14, 8];
/// Below the comfortable minimums (very narrow widths), columns shrink down to these; the
/// severity stays whole.
const HARD_MIN_WIDTHS: [usize; 5] = [4, 4, 4, 4, 8];

/// Renders the report for a terminal `width` characters wide (80 reads well).
pub fn table(report: &ScanReport<'_>, width: usize) -> String {
    let mut out = Output {
        width,
        text: String::new(),
    };
    out.line(&format!("Target: {}", report.target));
    out.line(&format!("Scanned: {}", report.generated_at));
    if let Some(db) = report.database {
        let mut line = format!("Database: {} advisories", db.advisories);
        if let Some(built_at) = &db.built_at {
            let _ = write!(line, ", built {built_at}");
        }
        out.line(&line);
    }
    out.line("");

    let inventory = report.inventory;
    let findings = sorted_findings(report.findings);
    if !findings.is_empty() {
        for row in finding_rows(&findings, width) {
            out.line(&row);
        }
    } else if inventory.packages.is_empty() {
        out.line(&format!(
            "No packages found in {}: nothing could be checked for vulnerabilities.",
            report.target
        ));
    } else {
        out.line(&format!(
            "No known vulnerabilities in the {} packages found.",
            inventory.packages.len()
        ));
    }
    out.line("");

    for line in wrap_words(&summary_words(report), width) {
        out.line(&line);
    }

    if !inventory.warnings.is_empty() {
        out.line(&format!("Warnings ({}):", inventory.warnings.len()));
        for warning in inventory.warnings.iter().take(WARNINGS_SHOWN) {
            out.line(&format!("  {}: {}", warning.path, warning.message));
        }
        let more = inventory.warnings.len().saturating_sub(WARNINGS_SHOWN);
        if more > 0 {
            out.line(&format!("  … and {more} more (all are in the JSON report)"));
        }
    }
    out.text
}

/// Collects lines, cleaned of control characters and elided to the width.
struct Output {
    width: usize,
    text: String,
}

impl Output {
    fn line(&mut self, line: &str) {
        self.text
            .push_str(elide(&clean(line), self.width).trim_end());
        self.text.push('\n');
    }
}

/// The header and one row per finding, columns fitted into `width`.
fn finding_rows(findings: &[&Finding], width: usize) -> Vec<String> {
    let cells: Vec<[String; 5]> = findings
        .iter()
        .map(|f| {
            [
                clean(&f.package.name),
                clean(&f.package.version),
                if f.fixed_versions.is_empty() {
                    "no fix".to_string()
                } else {
                    clean(&f.fixed_versions.join(", "))
                },
                clean(&advisory_cell(f)),
                f.severity.as_str().to_string(),
            ]
        })
        .collect();
    let mut natural = HEADERS.map(|h| h.chars().count());
    for row in &cells {
        for (n, cell) in natural.iter_mut().zip(row) {
            *n = (*n).max(cell.chars().count());
        }
    }
    let available = width.saturating_sub(GAP.len() * (HEADERS.len() - 1));
    let widths = fit_columns(natural, available);

    let header = HEADERS.map(String::from);
    std::iter::once(&header)
        .chain(&cells)
        .map(|row| render_row(row, &widths))
        .collect()
}

/// `CVE-… (advisory id)` when the advisory is not itself the CVE, else the id alone.
fn advisory_cell(finding: &Finding) -> String {
    match cve_of(finding) {
        Some(cve) if cve != finding.id => format!("{cve} ({})", finding.id),
        _ => finding.id.clone(),
    }
}

/// Narrows the widest column, one character at a time, until the row fits: first down to
/// the comfortable minimums, then (very narrow widths) down to [`HARD_MIN_WIDTHS`]; whatever
/// still does not fit is cut by the final elision of each line.
fn fit_columns(natural: [usize; 5], available: usize) -> [usize; 5] {
    let widths = narrow(natural, natural, MIN_WIDTHS, available);
    narrow(widths, natural, HARD_MIN_WIDTHS, available)
}

fn narrow(
    mut widths: [usize; 5],
    natural: [usize; 5],
    min_widths: [usize; 5],
    available: usize,
) -> [usize; 5] {
    let mins: Vec<usize> = min_widths
        .iter()
        .zip(natural)
        .map(|(&min, n)| min.min(n))
        .collect();
    while widths.iter().sum::<usize>() > available {
        let widest = widths
            .iter_mut()
            .zip(&mins)
            .filter(|(w, min)| **w > **min)
            .max_by_key(|(w, _)| **w);
        match widest {
            Some((w, _)) => *w -= 1,
            None => break,
        }
    }
    widths
}

fn render_row(cells: &[String; 5], widths: &[usize; 5]) -> String {
    let mut line = String::new();
    for (i, (cell, &width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str(GAP);
        }
        let shown = elide(cell, width);
        let padding = width.saturating_sub(shown.chars().count());
        line.push_str(&shown);
        line.extend(std::iter::repeat_n(' ', padding));
    }
    line.trim_end().to_string()
}

/// The summary, in the chunks it may wrap between: `7 findings: 2 critical, 1 high, ...;
/// 8 packages inventoried; OS: debian 12; 5 warnings`.
fn summary_words(report: &ScanReport<'_>) -> Vec<String> {
    let counts = SeverityCounts::of(report.findings);
    let mut by_severity: Vec<String> = counts
        .pairs()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(severity, n)| format!("{n} {},", severity.as_str()))
        .collect();
    let total = report.findings.len();
    let mut words = Vec::new();
    if let Some(last) = by_severity.last_mut() {
        last.pop();
        words.push(format!("{total} {}:", plural(total, "finding")));
        words.append(&mut by_severity);
    } else {
        words.push("0 findings".to_string());
    }
    if let Some(last) = words.last_mut() {
        last.push(';');
    }
    let packages = report.inventory.packages.len();
    let warnings = report.inventory.warnings.len();
    words.push(format!(
        "{packages} {} inventoried;",
        plural(packages, "package")
    ));
    words.push(match &report.inventory.os {
        Some(os) => format!("OS: {};", os_label(os)),
        None => "OS: not detected;".to_string(),
    });
    words.push(format!("{warnings} {}", plural(warnings, "warning")));
    words
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

/// Joins chunks with spaces, starting a new line (indented by two) where the next chunk
/// would not fit.
fn wrap_words(words: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in words {
        if current.is_empty() {
            current = word.clone();
        } else if current.chars().count() + 1 + word.chars().count() <= width {
            current.push(' ');
            current.push_str(word);
        } else {
            lines.push(current);
            current = format!("  {word}");
        }
    }
    lines.push(current);
    lines
}

/// Replaces control characters (newlines, tabs, escapes from untrusted data) with spaces.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Cuts `text` to at most `width` characters, the last being `…` when anything was cut.
fn elide(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::{elide, fit_columns, wrap_words};

    #[test]
    fn elides_to_the_width_in_characters() {
        let check = |text: &str, width: usize, expected: &str| {
            assert_eq!(elide(text, width), expected, "{text:?} in {width}");
        };
        check("openssl", 10, "openssl");
        check("openssl", 7, "openssl");
        check("openssl", 6, "opens…");
        check("ααααα", 3, "αα…");
        check("x", 0, "");
    }

    #[test]
    fn narrows_the_widest_column_first() {
        let check = |natural: [usize; 5], available: usize, expected: [usize; 5]| {
            assert_eq!(
                fit_columns(natural, available),
                expected,
                "{natural:?} in {available}"
            );
        };
        check([10, 10, 10, 14, 8], 80, [10, 10, 10, 14, 8]);
        check([30, 12, 12, 20, 8], 72, [20, 12, 12, 20, 8]);
        check([40, 40, 40, 40, 8], 72, [16, 16, 16, 16, 8]);
        // Narrower than the comfortable minimums, all columns but severity give way, to 4.
        check([40, 40, 40, 40, 8], 32, [6, 6, 6, 6, 8]);
        check([40, 40, 40, 40, 8], 10, [4, 4, 4, 4, 8]);
    }

    #[test]
    fn wraps_summary_words_that_do_not_fit() {
        let words = ["aaaa;".to_string(), "bbbb;".to_string(), "cccc".to_string()];
        assert_eq!(wrap_words(&words, 20), vec!["aaaa; bbbb; cccc"]);
        assert_eq!(wrap_words(&words, 12), vec!["aaaa; bbbb;", "  cccc"]);
    }
}
