//! `podwarden rules check|test`: compile rule files and report diagnostics; replay recorded
//! events (JSON lines) through the rules and print the alerts.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use podwarden_api::event::Event;
use podwarden_rules::{CompileOptions, Diagnostic, RuleSet, RuleSource, Severity, Summary};
use serde::Serialize;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Largest rule file read.
const MAX_RULE_FILE: u64 = 16 << 20;
/// Longest event line read; longer lines are reported and skipped.
const MAX_EVENT_LINE: usize = 1 << 20;

/// Output formats of the rules commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// Human-readable text.
    Table,
    /// JSON (`check`: one document; `test`: one alert per line).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile rule files (Falco format) and report diagnostics.
    ///
    /// Exit status: 0 when every item and rule compiled (warnings allowed), 1 when some rule
    /// or item was disabled or skipped (see the errors), 2 when a file cannot be read or is
    /// not YAML.
    Check {
        /// Rule files (YAML), loaded in order: later files append to and override earlier ones.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Load Podwarden's built-in rules first (to check files that extend them).
        #[arg(long)]
        with_builtin: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
        /// Print only errors and the summary.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Replay recorded events (JSON lines) through Podwarden's rules and any given rule files.
    ///
    /// Malformed lines are reported on standard error with their line number and skipped.
    /// Exit status: 0, or the `--exit-code` value when alerts were raised; 2 when a file cannot
    /// be read.
    Test {
        /// Recorded events, one JSON object per line (`-` for standard input).
        #[arg(long, value_name = "FILE.jsonl")]
        events: PathBuf,
        /// Extra rule files loaded after the built-in rules.
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// Do not load the built-in rules (only the `--rules` files).
        #[arg(long)]
        no_builtin: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
        /// Exit with N when at least one alert was raised.
        #[arg(long, value_name = "N", default_value_t = 0)]
        exit_code: u8,
    },
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check {
            files,
            with_builtin,
            format,
            quiet,
        } => check(&files, with_builtin, format, quiet),
        Command::Test {
            events,
            rules,
            no_builtin,
            format,
            exit_code,
        } => test(&events, &rules, !no_builtin, format, exit_code),
    }
}

/// Read a rule file, bounded.
fn read_rule_file(path: &Path) -> anyhow::Result<RuleSource> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read rule file {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_RULE_FILE + 1)
        .read_to_string(&mut text)
        .with_context(|| {
            format!(
                "cannot read rule file {} (is it UTF-8 text?)",
                path.display()
            )
        })?;
    if text.len() as u64 > MAX_RULE_FILE {
        anyhow::bail!(
            "rule file {} is larger than {} MiB",
            path.display(),
            MAX_RULE_FILE >> 20
        );
    }
    Ok(RuleSource::new(path.display().to_string(), text))
}

fn load_sources(builtin: bool, files: &[PathBuf]) -> anyhow::Result<Vec<RuleSource>> {
    let mut sources = if builtin {
        RuleSet::builtin_sources()
    } else {
        Vec::new()
    };
    for path in files {
        sources.push(read_rule_file(path)?);
    }
    Ok(sources)
}

#[derive(Serialize)]
struct RuleReport<'a> {
    name: &'a str,
    id: &'a str,
    status: podwarden_rules::RuleStatus,
    priority: podwarden_rules::Priority,
    alert_type: podwarden_rules::AlertType,
    event_types: &'a [&'static str],
    file: &'a str,
    line: usize,
}

#[derive(Serialize)]
struct CheckReport<'a> {
    summary: Summary,
    errors: usize,
    warnings: usize,
    diagnostics: &'a [Diagnostic],
    rules: Vec<RuleReport<'a>>,
}

fn check(
    files: &[PathBuf],
    with_builtin: bool,
    format: RulesFormat,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let sources = match load_sources(with_builtin, files) {
        Ok(sources) => sources,
        Err(err) => {
            eprintln!("podwarden: error: {err:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let (set, diagnostics) = RuleSet::compile(&sources, &CompileOptions::default());
    let summary = set.summary();
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        RulesFormat::Json => {
            let report = CheckReport {
                summary,
                errors,
                warnings,
                diagnostics: &diagnostics,
                rules: set
                    .rules()
                    .iter()
                    .map(|r| RuleReport {
                        name: &r.name,
                        id: &r.id,
                        status: r.status,
                        priority: r.priority,
                        alert_type: r.alert_type,
                        event_types: &r.event_types,
                        file: &r.file,
                        line: r.line,
                    })
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        RulesFormat::Table => {
            for d in &diagnostics {
                if quiet && d.severity != Severity::Error {
                    continue;
                }
                writeln!(out, "{d}")?;
                if let Some(field) = &d.field {
                    writeln!(out, "    field: {field}")?;
                }
            }
            writeln!(
                out,
                "{} rule(s): {} enabled, {} off, {} disabled by errors, {} skipped (other event source); {} error(s), {} warning(s)",
                summary.total,
                summary.enabled,
                summary.off,
                summary.failed,
                summary.skipped,
                errors,
                warnings
            )?;
        }
    }
    out.flush()?;
    let unparsable = diagnostics
        .iter()
        .any(|d| d.code == podwarden_rules::Code::YamlSyntax);
    Ok(if unparsable {
        ExitCode::from(2)
    } else if errors > 0 || summary.failed > 0 || summary.skipped > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Serialize)]
struct AlertLine<'a> {
    line: usize,
    event_id: u64,
    rule: &'a str,
    id: &'a str,
    priority: podwarden_rules::Priority,
    severity: &'a str,
    alert_type: podwarden_rules::AlertType,
    tags: &'a [String],
    output: &'a str,
}

fn test(
    events: &Path,
    rule_files: &[PathBuf],
    builtin: bool,
    format: RulesFormat,
    exit_code: u8,
) -> anyhow::Result<ExitCode> {
    let sources = match load_sources(builtin, rule_files) {
        Ok(sources) => sources,
        Err(err) => {
            eprintln!("podwarden: error: {err:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let (set, diagnostics) = RuleSet::compile(&sources, &CompileOptions::default());
    for d in diagnostics.iter().filter(|d| d.severity != Severity::Info) {
        eprintln!("{d}");
    }
    if diagnostics
        .iter()
        .any(|d| d.code == podwarden_rules::Code::YamlSyntax)
    {
        return Ok(ExitCode::from(2));
    }
    let reader: Box<dyn BufRead> = if events == Path::new("-") {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        match std::fs::File::open(events) {
            Ok(file) => Box::new(BufReader::new(file)),
            Err(err) => {
                eprintln!(
                    "podwarden: error: cannot read events file {}: {err}",
                    events.display()
                );
                return Ok(ExitCode::from(2));
            }
        }
    };
    let label = events.display().to_string();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut count, mut alerts, mut skipped) = (0usize, 0usize, 0usize);
    let mut failure: Option<std::io::Error> = None;
    read_lines(reader, &label, &mut skipped, |line_no, event| {
        count += 1;
        set.evaluate(&event, &mut |m| {
            alerts += 1;
            let written = match format {
                RulesFormat::Json => {
                    let line = AlertLine {
                        line: line_no,
                        event_id: event.id,
                        rule: &m.rule.name,
                        id: &m.rule.id,
                        priority: m.rule.priority,
                        severity: m.rule.priority.severity(),
                        alert_type: m.rule.alert_type,
                        tags: &m.rule.tags,
                        output: m.output,
                    };
                    serde_json::to_writer(&mut out, &line)
                        .map_err(std::io::Error::from)
                        .and_then(|()| writeln!(out))
                }
                RulesFormat::Table => writeln!(
                    out,
                    "line {line_no}  {:<13} {:<12} {}\n    {}",
                    m.rule.priority.as_str(),
                    m.rule.id,
                    m.rule.name,
                    m.output
                ),
            };
            if let Err(err) = written {
                failure.get_or_insert(err);
            }
        });
    })
    .with_context(|| format!("cannot read events file {label}"))?;
    if let Some(err) = failure {
        return Err(err).context("cannot write the report");
    }
    if format == RulesFormat::Table {
        writeln!(
            out,
            "{count} event(s), {alerts} alert(s), {skipped} malformed line(s) skipped"
        )?;
    } else {
        eprintln!("{count} event(s), {alerts} alert(s), {skipped} malformed line(s) skipped");
    }
    out.flush()?;
    Ok(if alerts > 0 && exit_code != 0 {
        ExitCode::from(exit_code)
    } else {
        ExitCode::SUCCESS
    })
}

/// Call `each` with every well-formed event; report malformed or oversized lines on stderr.
fn read_lines(
    mut reader: impl BufRead,
    label: &str,
    skipped: &mut usize,
    mut each: impl FnMut(usize, Event),
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut line_no = 0usize;
    loop {
        buffer.clear();
        line_no += 1;
        let read = (&mut reader)
            .take(MAX_EVENT_LINE as u64 + 1)
            .read_until(b'\n', &mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        if buffer.len() > MAX_EVENT_LINE && !buffer.ends_with(b"\n") {
            // Skip the rest of the oversized line.
            loop {
                let chunk = reader.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                match chunk.iter().position(|b| *b == b'\n') {
                    Some(at) => {
                        reader.consume(at + 1);
                        break;
                    }
                    None => {
                        let len = chunk.len();
                        reader.consume(len);
                    }
                }
            }
            *skipped += 1;
            eprintln!("{label}:{line_no}: skipped: line longer than {MAX_EVENT_LINE} bytes");
            continue;
        }
        let text = match std::str::from_utf8(&buffer) {
            Ok(text) => text.trim(),
            Err(_) => {
                *skipped += 1;
                eprintln!("{label}:{line_no}: skipped: not UTF-8");
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        match Event::from_json_line(text) {
            Ok(event) => each(line_no, event),
            Err(err) => {
                *skipped += 1;
                eprintln!("{label}:{line_no}: skipped: {err}");
            }
        }
    }
}
