//! `podwarden scan webshell`: webshell content scan of a directory tree.

use crate::output::{Format, GateArgs, OutputArgs};
use anyhow::{Context, bail};
use podwarden_webshell::{Detection, RuleSource, ScanOptions, ScanSummary, Scanner};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Largest user rule file read.
const MAX_RULE_FILE: u64 = 16 * 1024 * 1024;
/// Width the table fits in.
const TABLE_WIDTH: usize = 80;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory tree (or single file) to scan.
    pub path: PathBuf,
    /// Extra YARA rule file (repeatable); metas `score` (0-100), `category`, `description`.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Skip files larger than BYTES (counted in the summary).
    #[arg(long, value_name = "BYTES", default_value_t = podwarden_webshell::DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,
    /// Report files whose combined score reaches N (1-100).
    #[arg(long, value_name = "N", default_value_t = podwarden_webshell::DEFAULT_THRESHOLD,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub threshold: u32,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// Severity of a detection, from its score (for `--severity` and SARIF levels).
fn severity(score: u32) -> &'static str {
    match score {
        90.. => "critical",
        75..=89 => "high",
        60..=74 => "medium",
        _ => "low",
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.output.format == Format::Cyclonedx {
        bail!("--format cyclonedx does not apply to webshell scans (use table, json or sarif)");
    }
    let severities = parse_severities(&args.gate.severity)?;
    std::fs::symlink_metadata(&args.path)
        .with_context(|| format!("cannot scan {}", args.path.display()))?;
    let mut sources = Vec::with_capacity(args.rules.len());
    for file in &args.rules {
        sources.push(RuleSource::new(
            file.display().to_string(),
            read_rule_file(file)?,
        ));
    }
    let scanner = Scanner::new(&sources).context("invalid YARA rules")?;
    let options = ScanOptions {
        max_file_size: args.max_file_size,
        threshold: args.threshold,
    };
    let mut summary = scanner.scan_tree(&args.path, &options);
    if !severities.is_empty() {
        summary
            .detections
            .retain(|d| severities.contains(&severity(d.score)));
    }

    let mut out = args.output.writer()?;
    match args.output.format {
        Format::Table => write_table(&mut out, &summary, &args.path)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &summary).context("cannot write the report")?;
            writeln!(out)?;
        }
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut out, &sarif(&summary, &args.path))
                .context("cannot write the report")?;
            writeln!(out)?;
        }
        Format::Cyclonedx => bail!("--format cyclonedx does not apply to webshell scans"),
    }
    out.flush().context("cannot write the report")?;
    if !args.output.quiet {
        for error in &summary.errors {
            eprintln!(
                "podwarden: warning: {}: {}",
                error.path.display(),
                error.message
            );
        }
    }
    if summary.detections.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(args.gate.exit_code))
    }
}

fn parse_severities(list: &[String]) -> anyhow::Result<Vec<&'static str>> {
    list.iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .map(|s| {
            Ok(match s.as_str() {
                "low" => "low",
                "medium" => "medium",
                "high" => "high",
                "critical" => "critical",
                _ => bail!("--severity: unknown severity {s:?} (use low, medium, high, critical)"),
            })
        })
        .collect()
}

fn read_rule_file(path: &Path) -> anyhow::Result<String> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read rule file {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_RULE_FILE + 1)
        .read_to_string(&mut text)
        .with_context(|| {
            format!(
                "cannot read rule file {} (UTF-8 text expected)",
                path.display()
            )
        })?;
    if u64::try_from(text.len()).unwrap_or(u64::MAX) > MAX_RULE_FILE {
        bail!(
            "rule file {} is larger than {MAX_RULE_FILE} bytes",
            path.display()
        );
    }
    Ok(text)
}

/// Path shown in reports: relative to the scanned directory when possible.
fn shown_path(path: &Path, root: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(relative) if !relative.as_os_str().is_empty() => relative.display().to_string(),
        _ => path.display().to_string(),
    }
}

/// Cuts `text` to `width` characters, marking the cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let kept: String = text.chars().take(width.saturating_sub(3)).collect();
    format!("{kept}...")
}

fn write_table(out: &mut dyn Write, summary: &ScanSummary, root: &Path) -> anyhow::Result<()> {
    if !summary.detections.is_empty() {
        writeln!(out, "SCORE  CATEGORY  PATH")?;
    }
    for detection in &summary.detections {
        let path = shown_path(&detection.path, root);
        writeln!(
            out,
            "{:>5}  {:<8}  {}",
            detection.score,
            detection.category.as_str(),
            path
        )?;
        for hit in &detection.rules {
            let place = hit
                .line
                .map(|line| format!(" line {line}"))
                .unwrap_or_default();
            let head = format!("{} ({}){place}", hit.name, hit.score);
            writeln!(out, "       {}", fit(&head, TABLE_WIDTH - 7))?;
            if !hit.excerpt.is_empty() {
                writeln!(out, "         {}", fit(&hit.excerpt, TABLE_WIDTH - 9))?;
            }
        }
    }
    let skipped = &summary.skipped;
    writeln!(
        out,
        "{} detection(s) in {} file(s) scanned ({} bytes); skipped: {} too large, {} binary, {} not web code, {} symlinks, {} special; {} error(s)",
        summary.detections.len(),
        summary.files_scanned,
        summary.bytes_scanned,
        skipped.too_large,
        skipped.binary,
        skipped.not_web_code,
        skipped.symlinks,
        skipped.special,
        summary.errors.len(),
    )?;
    Ok(())
}

/// SARIF 2.1.0: one result per detection, located at the file (and the strongest hit's line).
fn sarif(summary: &ScanSummary, root: &Path) -> serde_json::Value {
    let mut rules: BTreeMap<&str, &str> = BTreeMap::new();
    for detection in &summary.detections {
        for hit in &detection.rules {
            rules
                .entry(hit.name.as_str())
                .or_insert(hit.description.as_str());
        }
    }
    let rule_list: Vec<serde_json::Value> = rules
        .iter()
        .map(|(id, description)| {
            json!({"id": id, "shortDescription": {"text": if description.is_empty() { *id } else { *description }}})
        })
        .collect();
    let results: Vec<serde_json::Value> = summary
        .detections
        .iter()
        .map(|detection| sarif_result(detection, root))
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "podwarden",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_list,
            }},
            "results": results,
        }],
    })
}

fn sarif_result(detection: &Detection, root: &Path) -> serde_json::Value {
    let names: Vec<&str> = detection
        .rules
        .iter()
        .map(|hit| hit.name.as_str())
        .collect();
    let strongest = detection.rules.first();
    let uri = shown_path(&detection.path, root)
        .replace('\\', "/")
        .replace(' ', "%20");
    let mut location = json!({"physicalLocation": {"artifactLocation": {"uri": uri}}});
    if let Some(line) = strongest.and_then(|hit| hit.line) {
        location["physicalLocation"]["region"] = json!({
            "startLine": line,
            "snippet": {"text": strongest.map(|hit| hit.excerpt.as_str()).unwrap_or_default()},
        });
    }
    json!({
        "ruleId": strongest.map(|hit| hit.name.as_str()).unwrap_or("webshell"),
        "level": if detection.score >= 75 { "error" } else { "warning" },
        "message": {"text": format!(
            "webshell ({}, score {}): {}", detection.category, detection.score, names.join(", ")
        )},
        "locations": [location],
        "properties": {
            "score": detection.score,
            "category": detection.category,
            "severity": severity(detection.score),
            "rules": detection.rules,
        },
    })
}
