//! `podwarden scan k8s`: baseline checks of Kubernetes manifests, with fixes.

use crate::output::{Format, GateArgs, OutputArgs};
use anyhow::{Context, bail};
use podwarden_baseline::sarif::{InputProblem, SarifWriter};
use podwarden_baseline::{
    AppliedFix, Config, FileResult, Finding, FixMode, FixSafety, Level, NotFixed, Options,
    PssVersion, Report, Severity, check_files_with, check_source, fix, manifest_paths,
    read_manifest, read_manifest_from,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const CONFIG_HELP: &str = "\
Levels:
  baseline     exactly the Pod Security Standards Baseline profile
  restricted   exactly the Restricted profile (Baseline included)
  all          Restricted plus Podwarden's hardening checks (default)
A pod that the chosen Pod Security Standards level admits gives no finding at
baseline or restricted.

Fixes:
  --fix          applies safe fixes (e.g. allowPrivilegeEscalation: false,
                 seccompProfile RuntimeDefault) and rewrites files in place,
                 keeping comments, key order and untouched documents byte-for-byte
  --fix=risky    also applies risky fixes (runAsNonRoot, drop ALL, ...); each
                 shows why it is risky
Every fix is re-checked: a fix that the API server would reject, that introduces
a finding or that cannot be written faithfully is refused and listed as not
fixed. With `-` (standard input) the fixed manifests go to standard output and
the report to standard error (or --output).

Configuration (--config, --exemptions and --custom-kinds all read this format,
YAML or JSON; use one file or several):
  annotations: true          # honour podwarden.io/skip annotations (default)
  exemptions:
    - checks: [pss.hostNamespaces, hardening.*]   # ids or globs
      namespace: monitoring  # matchers are optional; `*` globs
      kind: DaemonSet
      name: node-exporter
      container: exporter
      reason: node metrics need the host network  # required
      expires: 2026-12-31    # optional: date (through that day, UTC) or RFC 3339
  customKinds:
    - apiVersion: argoproj.io   # group or group/version (optional)
      kind: Rollout
      templatePath: spec.template   # PodTemplateSpec; or podSpecPath: <PodSpec>
Annotations on a workload or its pod template:
  podwarden.io/skip: \"pss.runAsNonRoot,hardening.readonly-rootfs\"
  podwarden.io/skip.<container>: \"hardening.capabilities\"
  podwarden.io/skip-reason: \"why\"
Exempted findings are listed and counted as exempted; they do not fail.

Exit codes: 0 no findings (at the selected severities), N with --exit-code N
when findings remain, 2 for usage errors and unreadable input (a document that
does not parse, e.g. an unrendered template, is reported with file, document
and line, and makes the exit code 2).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LevelArg {
    Baseline,
    Restricted,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FixArg {
    Safe,
    Risky,
}

/// Baseline check of Kubernetes manifests: Pod Security Standards and hardening checks, with
/// fixes.
#[derive(Debug, clap::Args)]
#[command(after_long_help = CONFIG_HELP)]
pub struct Args {
    /// Manifest file, directory, or `-` for standard input.
    pub path: PathBuf,
    /// Checks to run: a Pod Security Standards level exactly, or `all` (adds hardening).
    #[arg(long, value_enum, default_value = "all")]
    pub level: LevelArg,
    /// Pod Security Standards version, `v1.N` or `latest`.
    #[arg(long, value_name = "VERSION", default_value = "latest")]
    pub pss_version: String,
    /// Apply fixes: `--fix` (safe fixes) or `--fix=risky` (safe and risky).
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, require_equals = true,
          default_missing_value = "safe")]
    pub fix: Option<FixArg>,
    /// Configuration file: exemptions, annotation switch, custom kinds (format below).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Exemptions file (same format as --config).
    #[arg(long, value_name = "FILE")]
    pub exemptions: Option<PathBuf>,
    /// Custom pod-bearing kinds file (same format as --config).
    #[arg(long, value_name = "FILE")]
    pub custom_kinds: Option<PathBuf>,
    /// Ignore podwarden.io/skip annotations.
    #[arg(long)]
    pub no_annotations: bool,
    /// Relax runAsNonRoot and runAsUser for `hostUsers: false` pods, like upstream's
    /// UserNamespacesPodSecurityStandards feature gate.
    #[arg(long)]
    pub relax_user_namespace_pods: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// Largest configuration file read.
const MAX_CONFIG_BYTES: u64 = 4 << 20;

fn options(args: &Args) -> anyhow::Result<Options> {
    let mut options = Options {
        level: match args.level {
            LevelArg::Baseline => Level::Baseline,
            LevelArg::Restricted => Level::Restricted,
            LevelArg::All => Level::All,
        },
        pss_version: PssVersion::parse(&args.pss_version).map_err(anyhow::Error::msg)?,
        now: Some(podwarden_baseline::jiff::Timestamp::now()),
        relax_user_namespace_pods: args.relax_user_namespace_pods,
        ..Options::default()
    };
    for file in [&args.config, &args.exemptions, &args.custom_kinds]
        .into_iter()
        .flatten()
    {
        let name = file.display().to_string();
        let handle = std::fs::File::open(file).with_context(|| format!("cannot read {name}"))?;
        let text = read_bounded(handle, &name)?;
        options.apply_config(Config::parse(&name, &text)?);
    }
    if args.no_annotations {
        options.exemptions.honour_annotations = false;
    }
    Ok(options)
}

fn read_bounded(reader: impl std::io::Read, name: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    reader
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {name} as UTF-8 text"))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        bail!("{name}: larger than {MAX_CONFIG_BYTES} bytes");
    }
    Ok(text)
}

fn parse_severities(list: &[String]) -> anyhow::Result<Vec<Severity>> {
    list.iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            Severity::parse(s).with_context(|| {
                format!("unknown severity {s:?} (use critical, high, medium, low, info)")
            })
        })
        .collect()
}

/// Totals over the whole run.
#[derive(Default)]
struct Totals {
    files: usize,
    documents: usize,
    pods: usize,
    by_severity: BTreeMap<Severity, usize>,
    exempted: usize,
    fixed: usize,
    not_fixed: usize,
    problems: Vec<InputProblem>,
}

impl Totals {
    fn findings(&self) -> usize {
        self.by_severity.values().sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Table,
    Json,
    Sarif,
}

/// One file's results, rendered in a worker thread; the main thread only writes them out.
#[derive(Default)]
struct FileOutput {
    /// Table text, or comma-separated JSON/SARIF objects.
    rendered: Vec<u8>,
    documents: usize,
    pods: usize,
    by_severity: BTreeMap<Severity, usize>,
    exempted: usize,
    problems: Vec<InputProblem>,
    applied: Vec<AppliedFix>,
    not_fixed: Vec<NotFixed>,
    /// A failure that stops the run (e.g. a fixed file that cannot be written).
    fatal: Option<anyhow::Error>,
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn pad(text: &str, width: usize) -> String {
    format!("{text:<width$}")
}

fn problem_line(p: &InputProblem) -> String {
    match p.line {
        Some(line) => format!("{}:{line}: error: {}\n", p.file, p.message),
        None => format!("{}: error: {}\n", p.file, p.message),
    }
}

/// Renders one file's report (after fixing, when fixing) for the chosen output.
fn render(
    kind: Kind,
    severities: &[Severity],
    report: &Report,
    applied: Vec<AppliedFix>,
    not_fixed: Vec<NotFixed>,
) -> anyhow::Result<FileOutput> {
    let mut out = FileOutput {
        documents: report.documents,
        pods: report.pods,
        ..FileOutput::default()
    };
    for e in &report.errors {
        out.problems.push(InputProblem {
            file: e.file.clone(),
            line: Some(e.line),
            message: format!("document {}: {}", e.document, e.message),
        });
    }
    let findings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| severities.is_empty() || severities.contains(&f.severity))
        .collect();
    out.rendered.reserve(findings.len() * 640);
    for f in &findings {
        if f.is_exempted() {
            out.exempted += 1;
        } else {
            *out.by_severity.entry(f.severity).or_default() += 1;
        }
    }
    match kind {
        Kind::Table => {
            for p in &out.problems {
                out.rendered.extend_from_slice(problem_line(p).as_bytes());
            }
            table(&mut out.rendered, &findings, &applied, &not_fixed)?;
        }
        Kind::Json => {
            for (i, f) in findings.iter().enumerate() {
                if i > 0 {
                    out.rendered.push(b',');
                }
                out.rendered.push(b'\n');
                serde_json::to_writer(&mut out.rendered, f)?;
            }
        }
        Kind::Sarif => {
            for (i, f) in findings.iter().enumerate() {
                if i > 0 {
                    out.rendered.push(b',');
                }
                out.rendered.push(b'\n');
                serde_json::to_writer(&mut out.rendered, &podwarden_baseline::sarif::result(f))?;
            }
        }
    }
    out.applied = applied;
    out.not_fixed = not_fixed;
    Ok(out)
}

/// Writes the rendered files in order and keeps the totals.
struct Run {
    kind: Kind,
    out: Box<dyn Write>,
    sarif: Option<SarifWriter<Box<dyn Write>>>,
    first_object: bool,
    totals: Totals,
    applied: Vec<AppliedFix>,
    not_fixed: Vec<NotFixed>,
}

impl Run {
    fn begin(kind: Kind, mut out: Box<dyn Write>, options: &Options) -> anyhow::Result<Run> {
        let mut sarif = None;
        match kind {
            Kind::Table => {}
            Kind::Json => write!(
                out,
                "{{\"tool\":\"podwarden\",\"version\":{},\"level\":{},\"pss_version\":{},\"findings\":[",
                json!(env!("CARGO_PKG_VERSION")),
                json!(options.level.as_str()),
                json!(options.pss_version.to_string())
            )?,
            Kind::Sarif => {
                sarif = Some(SarifWriter::begin(out, env!("CARGO_PKG_VERSION"))?);
                out = Box::new(std::io::sink());
            }
        }
        Ok(Run {
            kind,
            out,
            sarif,
            first_object: true,
            totals: Totals::default(),
            applied: Vec::new(),
            not_fixed: Vec::new(),
        })
    }

    /// A file that could not be read at all.
    fn unreadable(&mut self, file: String, message: String) -> anyhow::Result<()> {
        let problem = InputProblem {
            file,
            line: None,
            message,
        };
        if self.kind == Kind::Table {
            self.out.write_all(problem_line(&problem).as_bytes())?;
        }
        self.totals.problems.push(problem);
        Ok(())
    }

    fn file(&mut self, file: FileOutput) -> anyhow::Result<()> {
        if let Some(fatal) = file.fatal {
            return Err(fatal);
        }
        let t = &mut self.totals;
        t.files += 1;
        t.documents += file.documents;
        t.pods += file.pods;
        t.exempted += file.exempted;
        for (s, n) in file.by_severity {
            *t.by_severity.entry(s).or_default() += n;
        }
        t.fixed += file.applied.len();
        t.not_fixed += file.not_fixed.len();
        t.problems.extend(file.problems);
        if !file.rendered.is_empty() {
            match (self.kind, &mut self.sarif) {
                (Kind::Sarif, Some(writer)) => writer.raw_results(&file.rendered)?,
                (Kind::Json, _) => {
                    if !self.first_object {
                        self.out.write_all(b",")?;
                    }
                    self.first_object = false;
                    self.out.write_all(&file.rendered)?;
                }
                _ => self.out.write_all(&file.rendered)?,
            }
        }
        if self.kind == Kind::Json {
            self.applied.extend(file.applied);
            self.not_fixed.extend(file.not_fixed);
        }
        Ok(())
    }

    fn finish(self, level: Level, version: PssVersion, quiet: bool) -> anyhow::Result<Totals> {
        let Run {
            kind,
            mut out,
            sarif,
            totals,
            applied,
            not_fixed,
            ..
        } = self;
        match kind {
            Kind::Table => {
                let counts: Vec<String> = Severity::ALL
                    .iter()
                    .filter_map(|s| totals.by_severity.get(s).map(|n| format!("{n} {s}")))
                    .collect();
                let findings = match totals.findings() {
                    0 => "no findings".to_string(),
                    n => format!("{} ({})", count(n, "finding"), counts.join(", ")),
                };
                if !quiet || totals.findings() > 0 {
                    let level = level.as_str();
                    let fixes = if totals.fixed + totals.not_fixed > 0 {
                        format!(", {} fixed, {} not fixed", totals.fixed, totals.not_fixed)
                    } else {
                        String::new()
                    };
                    writeln!(
                        out,
                        "{}, {}, {} checked ({level} level, Pod Security Standards {version}): {findings}, {} exempted, {}{fixes}",
                        count(totals.files, "file"),
                        count(totals.documents, "document"),
                        count(totals.pods, "pod"),
                        totals.exempted,
                        count(totals.problems.len(), "input error")
                    )?;
                }
                out.flush()?;
            }
            Kind::Json => {
                let summary = json!({
                    "files": totals.files,
                    "documents": totals.documents,
                    "pods": totals.pods,
                    "findings": totals.findings(),
                    "by_severity": totals.by_severity.iter().map(|(s, n)| (s.as_str(), *n)).collect::<BTreeMap<_, _>>(),
                    "exempted": totals.exempted,
                    "input_errors": totals.problems.len(),
                    "fixed": totals.fixed,
                    "not_fixed": totals.not_fixed,
                });
                let errors: Vec<_> = totals
                    .problems
                    .iter()
                    .map(|p| json!({"file": p.file, "line": p.line, "message": p.message}))
                    .collect();
                write!(
                    out,
                    "\n],\"errors\":{},\"fixes\":{{\"applied\":{},\"not_fixed\":{}}},\"summary\":{}}}\n",
                    serde_json::to_string(&errors)?,
                    serde_json::to_string(&applied)?,
                    serde_json::to_string(&not_fixed)?,
                    summary
                )?;
                out.flush()?;
            }
            Kind::Sarif => {
                if let Some(writer) = sarif {
                    writer.finish(&totals.problems)?;
                }
            }
        }
        Ok(totals)
    }
}

fn table(
    out: &mut Vec<u8>,
    findings: &[&Finding],
    applied: &[AppliedFix],
    not_fixed: &[NotFixed],
) -> anyhow::Result<()> {
    let mut last_object: Option<(String, usize, Option<usize>)> = None;
    for f in findings {
        let loc = &f.location;
        let object = (loc.file.clone(), loc.document, loc.item);
        if last_object.as_ref() != Some(&object) {
            writeln!(
                out,
                "{}:{}  {}  (document {})",
                loc.file, loc.line, loc.object, loc.document
            )?;
            last_object = Some(object);
        }
        let severity = if f.is_exempted() {
            "EXEMPTED".to_string()
        } else {
            f.severity.as_str().to_ascii_uppercase()
        };
        let mut line = format!(
            "  {} {} {}",
            pad(&severity, 9),
            pad(&f.check_id, 34),
            f.message
        );
        if let Some(exemption) = &f.exemption {
            line.push_str(&format!("  [exempted: {}]", exemption.reason));
        } else if let Some(fix) = &f.fix {
            line.push_str(match fix.safety {
                FixSafety::Safe => "  [safe fix]",
                FixSafety::Risky => "  [risky fix]",
            });
        }
        writeln!(out, "{line}")?;
    }
    let container = |c: &Option<podwarden_baseline::ContainerRef>| {
        c.as_ref()
            .map(|c| format!(" container {:?}", c.name))
            .unwrap_or_default()
    };
    for a in applied {
        writeln!(
            out,
            "  fixed     {} {}{}: {}",
            pad(&a.check_id, 34),
            a.location.object,
            container(&a.location.container),
            a.description
        )?;
    }
    for n in not_fixed {
        writeln!(
            out,
            "  not fixed {} {}{}: {}",
            pad(&n.check_id, 34),
            n.location.object,
            container(&n.location.container),
            n.reason
        )?;
    }
    Ok(())
}

/// Writes `text` to `path` through a temporary file in the same directory.
fn write_in_place(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.podwarden-fix"));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&tmp, meta.permissions()).ok();
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// Fixes one source: returns the fixed text (if changed), the re-checked report and the lists.
fn fix_source(
    name: &str,
    text: &str,
    report: Report,
    mode: FixMode,
    options: &Options,
    severities: &[Severity],
) -> (Option<String>, Report, Vec<AppliedFix>, Vec<NotFixed>) {
    let wanted: Vec<Finding> = report
        .findings
        .iter()
        .filter(|f| severities.is_empty() || severities.contains(&f.severity))
        .cloned()
        .collect();
    if wanted.iter().all(|f| f.is_exempted()) {
        return (None, report, Vec::new(), Vec::new());
    }
    let outcome = fix(name, text, &wanted, mode, options);
    if !outcome.changed {
        return (None, report, outcome.applied, outcome.not_fixed);
    }
    let rechecked = check_source(name, &outcome.text, options);
    (
        Some(outcome.text),
        rechecked,
        outcome.applied,
        outcome.not_fixed,
    )
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let kind = match args.output.format {
        Format::Table => Kind::Table,
        Format::Json => Kind::Json,
        Format::Sarif => Kind::Sarif,
        Format::Cyclonedx => {
            bail!("--format cyclonedx does not apply to manifest checks (use table, json or sarif)")
        }
    };
    let severities = parse_severities(&args.gate.severity)?;
    let options = options(&args)?;
    let mode = args.fix.map(|f| match f {
        FixArg::Safe => FixMode::Safe,
        FixArg::Risky => FixMode::Risky,
    });
    let stdin = args.path.as_os_str() == "-";
    let paths = if stdin {
        Vec::new()
    } else {
        manifest_paths(&args.path)
            .with_context(|| format!("cannot scan {}", args.path.display()))?
    };
    // With --fix on standard input, standard output carries the fixed manifests.
    let out: Box<dyn Write> = if stdin && mode.is_some() && args.output.output.is_none() {
        Box::new(std::io::BufWriter::new(std::io::stderr()))
    } else {
        args.output.writer()?
    };
    let mut run = Run::begin(kind, out, &options)?;
    if stdin {
        let text = read_manifest_from(std::io::stdin().lock(), "-")
            .context("cannot read standard input")?;
        let report = check_source("-", &text, &options);
        let (fixed, report, applied, not_fixed) = match mode {
            None => (None, report, Vec::new(), Vec::new()),
            Some(mode) => fix_source("-", &text, report, mode, &options, &severities),
        };
        if mode.is_some() {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(fixed.as_deref().unwrap_or(&text).as_bytes())?;
            stdout.flush()?;
        }
        run.file(render(kind, &severities, &report, applied, not_fixed)?)?;
    } else {
        if paths.is_empty() && !args.output.quiet {
            eprintln!(
                "podwarden: no manifest files (.yaml, .yml, .json) under {}",
                args.path.display()
            );
        }
        let process =
            |FileResult { path, report }: FileResult| -> Result<FileOutput, (String, String)> {
                let report = report.map_err(|e| (path.display().to_string(), e.to_string()))?;
                let step = || -> anyhow::Result<FileOutput> {
                    let (report, applied, not_fixed) = match mode {
                        None => (report, Vec::new(), Vec::new()),
                        Some(mode) => {
                            let name = path.display().to_string();
                            let text = read_manifest(&path)?;
                            let (fixed, report, applied, not_fixed) =
                                fix_source(&name, &text, report, mode, &options, &severities);
                            if let Some(fixed) = fixed {
                                write_in_place(&path, &fixed)?;
                            }
                            (report, applied, not_fixed)
                        }
                    };
                    render(kind, &severities, &report, applied, not_fixed)
                };
                Ok(step().unwrap_or_else(|e| FileOutput {
                    fatal: Some(e),
                    ..FileOutput::default()
                }))
            };
        let mut failure: Option<anyhow::Error> = None;
        check_files_with(&paths, &options, process, |result| {
            if failure.is_some() {
                return;
            }
            let step = match result {
                Ok(file) => run.file(file),
                Err((file, message)) => run.unreadable(file, message),
            };
            if let Err(e) = step {
                failure = Some(e);
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
    }
    let quiet = args.output.quiet;
    let totals = run.finish(options.level, options.pss_version, quiet)?;
    if !quiet && !totals.problems.is_empty() {
        eprintln!(
            "podwarden: {} input error(s): documents or files that could not be read are listed in the report",
            totals.problems.len()
        );
    }
    Ok(if !totals.problems.is_empty() {
        ExitCode::from(crate::output::EXIT_USAGE)
    } else if totals.findings() > 0 {
        ExitCode::from(args.gate.exit_code)
    } else {
        ExitCode::SUCCESS
    })
}
