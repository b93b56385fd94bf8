//! `podwarden scan fs|image`: package inventory and vulnerability matching.

use crate::output::{Format, GateArgs, OutputArgs};
use anyhow::{Context, bail};
use podwarden_scan::inventory::detectors::default_detectors;
use podwarden_scan::inventory::image::inventory_image;
use podwarden_scan::inventory::walk::{ScanOptions, inventory_dir};
use podwarden_scan::inventory::{Inventory, Package};
use podwarden_scan::report::{self, DatabaseSummary, ScanReport};
use podwarden_scan::vuln::{Database, IndexError, Severity};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct FsArgs {
    /// Root filesystem to scan.
    pub path: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    /// Vulnerability database directory (see `podwarden db`).
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ImageArgs {
    /// Image tarball (`docker save`) or OCI layout (directory or tarball).
    pub tarball: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    /// Vulnerability database directory (see `podwarden db`).
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,
}

pub fn run_fs(args: FsArgs) -> anyhow::Result<ExitCode> {
    let severities = parse_severities(&args.gate.severity)?;
    let path = &args.path;
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot scan {}", path.display()))?;
    if !meta.is_dir() {
        bail!(
            "{}: not a directory (for an image tarball use `podwarden scan image`)",
            path.display()
        );
    }
    let inventory = inventory_dir(path, &default_detectors(), &ScanOptions::default())
        .with_context(|| format!("cannot scan {}", path.display()))?;
    let target = path.display().to_string();
    finish(
        &target,
        inventory,
        &args.output,
        &args.gate,
        &severities,
        args.db,
    )
}

pub fn run_image(args: ImageArgs) -> anyhow::Result<ExitCode> {
    let severities = parse_severities(&args.gate.severity)?;
    let path = &args.tarball;
    std::fs::metadata(path).with_context(|| format!("cannot scan {}", path.display()))?;
    let inventory = inventory_image(path, &default_detectors(), &ScanOptions::default())
        .with_context(|| format!("cannot scan {}", path.display()))?;
    let target = path.display().to_string();
    finish(
        &target,
        inventory,
        &args.output,
        &args.gate,
        &severities,
        args.db,
    )
}

/// `--severity` values; an unknown one is a usage error.
fn parse_severities(list: &[String]) -> anyhow::Result<Vec<Severity>> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            Ok(match s.to_ascii_lowercase().as_str() {
                "unknown" => Severity::Unknown,
                "low" => Severity::Low,
                "medium" => Severity::Medium,
                "high" => Severity::High,
                "critical" => Severity::Critical,
                _ => bail!(
                    "--severity: unknown severity {s:?} (use unknown, low, medium, high, critical)"
                ),
            })
        })
        .collect()
}

/// Inventory warnings printed on stderr before pointing at the report for the rest.
const WARNINGS_ON_STDERR: usize = 20;

fn finish(
    target: &str,
    inventory: Inventory,
    output: &OutputArgs,
    gate: &GateArgs,
    severities: &[Severity],
    db: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let dir = super::db::db_dir(db)?;
    let database = match Database::open(&dir) {
        Ok(database) => Some(database),
        Err(IndexError::NotFound { .. }) => {
            eprintln!(
                "podwarden: notice: no vulnerability database is loaded (none in {}); \
                 only the inventory is reported. Run `podwarden db update` or \
                 `podwarden db import PATH`.",
                dir.display()
            );
            None
        }
        Err(err) => return Err(err.into()),
    };
    let mut findings = database
        .as_ref()
        .map(|db| db.matches(&inventory))
        .unwrap_or_default();
    if !severities.is_empty() {
        findings.retain(|f| severities.contains(&f.severity));
    }
    if !output.quiet {
        for warning in inventory.warnings.iter().take(WARNINGS_ON_STDERR) {
            eprintln!("podwarden: warning: {}: {}", warning.path, warning.message);
        }
        let more = inventory.warnings.len().saturating_sub(WARNINGS_ON_STDERR);
        if more > 0 {
            eprintln!("podwarden: warning: ... and {more} more (all are in the JSON report)");
        }
    }
    let summary = database.as_ref().map(|db| {
        let info = db.info();
        DatabaseSummary {
            advisories: info.records,
            built_at: Some(info.built_at.clone()).filter(|b| !b.is_empty()),
            ecosystems: info
                .ecosystems
                .iter()
                .map(|(name, count)| (name.clone(), *count))
                .collect(),
        }
    });
    let generated_at = super::db::now();
    let scan = ScanReport {
        target,
        generated_at: &generated_at,
        inventory: &inventory,
        findings: &findings,
        database: summary.as_ref(),
    };
    let mut out = output.writer()?;
    match output.format {
        Format::Table if database.is_none() => write_inventory_table(&mut out, &scan)?,
        Format::Table => out.write_all(report::table(&scan, terminal_width()).as_bytes())?,
        Format::Json => write_json(&mut out, &report::json(&scan))?,
        Format::Sarif => write_json(&mut out, &report::sarif(&scan))?,
        Format::Cyclonedx => write_json(&mut out, &report::cyclonedx(&scan, &random_uuid()?))?,
    }
    out.flush().context("cannot write the report")?;
    if !findings.is_empty() && gate.exit_code != 0 {
        return Ok(ExitCode::from(gate.exit_code));
    }
    Ok(ExitCode::SUCCESS)
}

fn write_json(out: &mut dyn Write, value: &serde_json::Value) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).context("cannot write the report")?;
    writeln!(out)?;
    Ok(())
}

/// `$COLUMNS` when set, else 120.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w >= 40)
        .unwrap_or(120)
}

/// A random (version 4) UUID for the CycloneDX serial number.
fn random_uuid() -> anyhow::Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|err| anyhow::anyhow!("no randomness for a BOM serial: {err}"))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// Without a database there are no findings to show: list the inventory instead.
fn write_inventory_table(out: &mut dyn Write, scan: &ScanReport<'_>) -> anyhow::Result<()> {
    let inventory = scan.inventory;
    let os = inventory
        .os
        .as_ref()
        .and_then(|os| os.pretty_name.clone())
        .unwrap_or_else(|| "unknown OS".to_owned());
    writeln!(out, "Target: {}", scan.target)?;
    writeln!(
        out,
        "{} packages ({}); no vulnerability database loaded",
        inventory.packages.len(),
        os
    )?;
    writeln!(out)?;
    let mut packages: Vec<&Package> = inventory.packages.iter().collect();
    packages.sort_by(|a, b| {
        (a.ecosystem.osv_name(), &a.name, &a.version, &a.location).cmp(&(
            b.ecosystem.osv_name(),
            &b.name,
            &b.version,
            &b.location,
        ))
    });
    let rows: Vec<[String; 4]> = packages
        .iter()
        .map(|p| {
            [
                p.ecosystem.to_string(),
                clean(&p.name),
                clean(&p.version),
                clean(&p.location),
            ]
        })
        .collect();
    write_rows(out, ["ECOSYSTEM", "PACKAGE", "VERSION", "LOCATION"], &rows)
}

/// Control characters from scanned files never reach the terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn write_rows<const N: usize>(
    out: &mut dyn Write,
    header: [&str; N],
    rows: &[[String; N]],
) -> anyhow::Result<()> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render = |cells: [&str; N]| {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        line
    };
    writeln!(out, "{}", render(header))?;
    for row in rows {
        writeln!(out, "{}", render(row.each_ref().map(String::as_str)))?;
    }
    Ok(())
}
