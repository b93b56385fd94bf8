//! `podwarden inject`: prints manifests with the agent sidecar injected, the offline twin of
//! the admission webhook (same code: `podwarden_server::inject`), for GitOps repositories; and
//! `--webhook-config`, the `MutatingWebhookConfiguration` that registers the webhook.

use anyhow::{Context, bail};
use podwarden_baseline::{Format as DocFormat, parse_document, split_documents};
use podwarden_server::config::ConfigFile;
use podwarden_server::inject::settings::InjectSettings;
use podwarden_server::inject::webhook_config::{
    WebhookTarget, parse_service, webhook_configuration,
};
use podwarden_server::inject::{InjectConfig, Outcome, Selection, TemplateReport, inject};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Largest manifest stream read.
const MAX_INPUT_BYTES: u64 = 64 << 20;
/// Largest CA bundle read.
const MAX_CA_BYTES: u64 = 1 << 20;

const HELP: &str = "\
Which pod templates: those annotated podwarden.io/agent: \"enabled\" (or
k8s.aliyun.com/eci-aliyundun-enabled / security.alibabacloud.com/aliyundun-enabled:
\"true\"), on the pod template or on the workload; --all injects every pod
template except those annotated podwarden.io/agent: \"disabled\". Kinds: Pod,
Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
CronJob, PodTemplate, and List (or *List) of them.

Output: the input in its order, YAML in -> YAML out, JSON in -> JSON out.
Documents that change nothing are copied byte-for-byte; injected documents are
written anew (keys in their order, comments inside them are not kept; comment
lines before and after them are). Pods that ask for the agent but cannot take it
(Windows, hostPID, shareProcessNamespace: false, a podwarden-agent container with
another image, ...) are left unchanged and reported on standard error.

Settings: --config reads the [inject] table of a server config file (what the
webhook injects); the flags override it. The enrolment token comes from a Secret
in each pod's namespace (POST /api/v1/enrollment-tokens gives one to apply).

Webhook registration:
  podwarden inject --webhook-config --ca-bundle ca.crt --service podwarden/podwarden-webhook:8443
  podwarden inject --webhook-config --ca-bundle ca.crt --url https://10.0.0.5:8443/admission/mutate

Exit codes: 0 done, N with --exit-code N when a pod template asked for the agent
and was refused, 2 for usage errors and unreadable input (with file, document
index from 0, and line).";

#[derive(Debug, clap::Args)]
#[command(after_long_help = HELP)]
pub struct Args {
    /// Manifest file (YAML or JSON, multi-document), or `-` for standard input.
    #[arg(value_name = "FILE", required_unless_present = "webhook_config")]
    pub input: Option<PathBuf>,
    /// Inject every pod template, annotated or not (except those that opt out).
    #[arg(long)]
    pub all: bool,
    /// Server config file whose `[inject]` table gives the defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    // Boxed: the flags are many, the other commands' arguments few.
    #[command(flatten)]
    pub sidecar: Box<SidecarFlags>,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print nothing on standard error.
    #[arg(long, short)]
    pub quiet: bool,
    /// Exit with N when a pod template asked for the agent and was refused.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub exit_code: u8,
    /// Print the MutatingWebhookConfiguration registering the webhook instead.
    #[arg(long, conflicts_with_all = ["input", "all"])]
    pub webhook_config: bool,
    #[command(flatten)]
    pub webhook: Box<WebhookFlags>,
}

/// Flags shaping the sidecar (they override `--config`).
#[derive(Debug, clap::Args)]
pub struct SidecarFlags {
    /// The center's address as the pods reach it.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Agent image.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Image pull policy of the agent container.
    #[arg(long, value_name = "POLICY", value_parser = ["Always", "IfNotPresent", "Never"])]
    pub image_pull_policy: Option<String>,
    /// Secret (in the pod's namespace) holding the enrolment token.
    #[arg(long, value_name = "NAME")]
    pub secret_name: Option<String>,
    /// Key of the token in that Secret.
    #[arg(long, value_name = "KEY")]
    pub secret_key: Option<String>,
    /// CPU request of the agent container (`""` leaves it out).
    #[arg(long, value_name = "QUANTITY")]
    pub cpu_request: Option<String>,
    /// Memory request of the agent container.
    #[arg(long, value_name = "QUANTITY")]
    pub memory_request: Option<String>,
    /// CPU limit of the agent container.
    #[arg(long, value_name = "QUANTITY")]
    pub cpu_limit: Option<String>,
    /// Memory limit of the agent container.
    #[arg(long, value_name = "QUANTITY")]
    pub memory_limit: Option<String>,
    /// Capabilities to add after dropping all (replaces the default SYS_PTRACE; repeatable or
    /// comma-separated; `--capability ''` adds none).
    #[arg(long = "capability", value_name = "CAP", value_delimiter = ',')]
    pub capabilities: Option<Vec<String>>,
    /// Cluster name given to the agents (PODWARDEN_CLUSTER).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Source kind given to the agents (PODWARDEN_SOURCE_KIND).
    #[arg(long, value_name = "KIND", value_parser = ["k8s-virtual-node", "k8s-serverless", "container-compute", "app-engine"])]
    pub source_kind: Option<String>,
    /// Do not pass the pod spec to the agent (PODWARDEN_POD_SPEC).
    #[arg(long)]
    pub no_pod_spec_env: bool,
    /// Refuse run-to-completion pods instead of injecting a native sidecar (Kubernetes < 1.29).
    #[arg(long)]
    pub no_native_sidecar: bool,
}

/// Where the API server reaches the webhook (with `--webhook-config`).
#[derive(Debug, clap::Args)]
pub struct WebhookFlags {
    /// PEM CA bundle the API server trusts for the webhook (with --webhook-config).
    #[arg(long, value_name = "FILE", requires = "webhook_config")]
    pub ca_bundle: Option<PathBuf>,
    /// Webhook URL, https://HOST:PORT/admission/mutate (with --webhook-config).
    #[arg(
        long,
        value_name = "URL",
        requires = "webhook_config",
        conflicts_with = "service"
    )]
    pub url: Option<String>,
    /// Webhook Service, NAMESPACE/NAME[:PORT] (with --webhook-config).
    #[arg(long, value_name = "SERVICE", requires = "webhook_config")]
    pub service: Option<String>,
}

/// The sidecar settings: defaults, then `--config`'s `[inject]` table, then the flags.
pub fn inject_config(args: &Args) -> anyhow::Result<InjectConfig> {
    let mut config = match &args.config {
        Some(path) => {
            InjectSettings::from_file(&ConfigFile::load(path)?)
                .with_context(|| format!("--config {}", path.display()))?
                .config
        }
        None => InjectConfig::default(),
    };
    let flags = &args.sidecar;
    let text = |value: &Option<String>| value.as_ref().map(|v| v.trim().to_string());
    let optional = |value: &Option<String>| text(value).map(|v| Some(v).filter(|v| !v.is_empty()));
    if let Some(v) = text(&flags.server) {
        config.server_url = v;
    }
    if let Some(v) = text(&flags.image) {
        config.image = v;
    }
    if let Some(v) = text(&flags.image_pull_policy) {
        config.image_pull_policy = Some(v);
    }
    if let Some(v) = text(&flags.secret_name) {
        config.secret_name = v;
    }
    if let Some(v) = text(&flags.secret_key) {
        config.secret_key = v;
    }
    let r = &mut config.resources;
    for (slot, value) in [
        (&mut r.cpu_request, &flags.cpu_request),
        (&mut r.memory_request, &flags.memory_request),
        (&mut r.cpu_limit, &flags.cpu_limit),
        (&mut r.memory_limit, &flags.memory_limit),
    ] {
        if let Some(v) = optional(value) {
            *slot = v;
        }
    }
    if let Some(caps) = &flags.capabilities {
        config.capabilities = caps
            .iter()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
    }
    if let Some(v) = optional(&flags.cluster) {
        config.cluster = v;
    }
    if let Some(v) = optional(&flags.source_kind) {
        config.source_kind = v;
    }
    if flags.no_pod_spec_env {
        config.pod_spec_env = false;
    }
    if flags.no_native_sidecar {
        config.native_sidecar_for_jobs = false;
    }
    if let Err((field, message)) = config.validate() {
        let flag = match field {
            "server_url" => "server".to_string(),
            "capabilities" => "capability".to_string(),
            other => other.replace('_', "-"),
        };
        bail!("--{flag}: {message}");
    }
    Ok(config)
}

fn read_bounded(reader: impl Read, limit: u64, name: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {name}"))?;
    if bytes.len() as u64 > limit {
        bail!("{name}: larger than {} MiB", limit >> 20);
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name}: not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn read_input(path: &Path) -> anyhow::Result<(String, String)> {
    if path.as_os_str() == "-" {
        let text = read_bounded(std::io::stdin().lock(), MAX_INPUT_BYTES, "standard input")?;
        return Ok(("<stdin>".to_string(), text));
    }
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {name}"))?;
    let text = read_bounded(file, MAX_INPUT_BYTES, &name)?;
    Ok((name, text))
}

/// Counts of what happened, for the summary and the exit code.
#[derive(Debug, Default)]
struct Tally {
    injected: usize,
    already: usize,
    refused: usize,
    not_requested: usize,
}

/// The result of [`inject_stream`].
struct Injected {
    /// The output text.
    text: String,
    /// Each pod template's report, with the index of its document.
    reports: Vec<(usize, TemplateReport)>,
    tally: Tally,
}

/// Injects into every document of `text`; returns the new text, the per-document reports and
/// the tally. Fails on the first document that does not parse (nothing is written then).
fn inject_stream(
    origin: &str,
    text: &str,
    config: &InjectConfig,
    selection: Selection,
) -> anyhow::Result<Injected> {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut reports = Vec::new();
    let mut tally = Tally::default();
    for doc in split_documents(text) {
        let Some(value) = parse_document(origin, &doc)? else {
            out.push_str(doc.text);
            continue;
        };
        let mut mutated = value.clone();
        let doc_reports = inject(&mut mutated, config, selection);
        for report in doc_reports {
            match &report.outcome {
                Outcome::Injected { .. } => tally.injected += 1,
                Outcome::AlreadyInjected => tally.already += 1,
                Outcome::Refused(_) => tally.refused += 1,
                Outcome::NotRequested => tally.not_requested += 1,
            }
            reports.push((doc.index, report));
        }
        if mutated == value {
            out.push_str(doc.text);
            continue;
        }
        match doc.format {
            DocFormat::Json => out.push_str(&render_json(doc.text, &mutated)?),
            DocFormat::Yaml => out.push_str(&render_yaml(doc.text, &mutated)?),
        }
    }
    Ok(Injected {
        text: out,
        reports,
        tally,
    })
}

/// A JSON document written anew, keeping the whitespace around it and its compactness.
fn render_json(original: &str, value: &Value) -> anyhow::Result<String> {
    let body = original.trim();
    let lead = &original[..original.len() - original.trim_start().len()];
    let trail = &original[original.trim_end().len()..];
    let json = if body.contains('\n') {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    Ok(format!("{lead}{json}{trail}"))
}

/// Whether a line of a YAML stream is outside any document content: blank, a comment at
/// column 0, a directive, or a bare `---` / `...` marker (with an optional comment).
fn is_frame_line(line: &str) -> bool {
    let trimmed = line.trim_end();
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('%') {
        return true;
    }
    for marker in ["---", "..."] {
        if let Some(rest) = trimmed.strip_prefix(marker)
            && (rest.is_empty() || rest.starts_with(" #") || rest.starts_with("\t#"))
        {
            return true;
        }
    }
    false
}

/// A YAML document written anew: the comment and marker lines before and after its content
/// stay as they were.
fn render_yaml(original: &str, value: &Value) -> anyhow::Result<String> {
    let lines: Vec<&str> = original.split_inclusive('\n').collect();
    let head = lines.iter().take_while(|l| is_frame_line(l)).count();
    let tail = lines[head..]
        .iter()
        .rev()
        .take_while(|l| is_frame_line(l))
        .count();
    let mut out = String::with_capacity(original.len() * 2);
    let head_text: String = lines[..head].concat();
    out.push_str(&head_text);
    if let Some(first) = lines.get(head)
        && first.starts_with("---")
    {
        // The marker shares its line with content (`--- !tag`): keep a bare marker.
        out.push_str("---\n");
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let yaml = serde_saphyr::to_string(value).context("cannot write YAML")?;
    out.push_str(&yaml);
    if !yaml.ends_with('\n') {
        out.push('\n');
    }
    let tail_text: String = lines[lines.len() - tail..].concat();
    out.push_str(&tail_text);
    Ok(out)
}

fn describe(report: &TemplateReport) -> String {
    if report.name.is_empty() {
        report.kind.clone()
    } else {
        format!("{} {}", report.kind, report.name)
    }
}

fn webhook_config(args: &Args) -> anyhow::Result<ExitCode> {
    let ca_path = args
        .webhook
        .ca_bundle
        .as_ref()
        .context("--webhook-config needs --ca-bundle FILE (the PEM CA that signed the webhook's certificate)")?;
    let name = ca_path.display().to_string();
    let file =
        std::fs::File::open(ca_path).with_context(|| format!("cannot open --ca-bundle {name}"))?;
    let ca = read_bounded(file, MAX_CA_BYTES, &name)?;
    let target = match (&args.webhook.url, &args.webhook.service) {
        (Some(url), None) => WebhookTarget::Url(url.clone()),
        (None, Some(service)) => parse_service(service)?,
        _ => bail!("--webhook-config needs --url URL or --service NAMESPACE/NAME[:PORT]"),
    };
    let config =
        webhook_configuration(&target, &ca).with_context(|| format!("--ca-bundle {name}"))?;
    let yaml = serde_saphyr::to_string(&config).context("cannot write YAML")?;
    write_output(args, &yaml)?;
    Ok(ExitCode::SUCCESS)
}

fn write_output(args: &Args, text: &str) -> anyhow::Result<()> {
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.webhook_config {
        return webhook_config(&args);
    }
    let config = inject_config(&args)?;
    let input = args
        .input
        .as_deref()
        .context("give a manifest FILE or `-`")?;
    let (origin, text) = read_input(input)?;
    let selection = if args.all {
        Selection::All
    } else {
        Selection::Annotated
    };
    let Injected {
        text: out,
        reports,
        tally,
    } = inject_stream(&origin, &text, &config, selection)?;
    write_output(&args, &out)?;
    if !args.quiet {
        let mut err = std::io::stderr().lock();
        for (index, report) in &reports {
            let what = describe(report);
            let line = match &report.outcome {
                Outcome::Injected {
                    native_sidecar: true,
                } => {
                    format!("{origin}: document {index}: {what}: injected (native sidecar)")
                }
                Outcome::Injected { .. } => format!("{origin}: document {index}: {what}: injected"),
                Outcome::AlreadyInjected => {
                    format!("{origin}: document {index}: {what}: already injected")
                }
                Outcome::Refused(refusal) => format!(
                    "warning: {origin}: document {index}: {what}: not injected ({}): {}",
                    refusal.code.as_str(),
                    refusal.message
                ),
                Outcome::NotRequested => continue,
            };
            writeln!(err, "{line}")?;
        }
        writeln!(
            err,
            "podwarden inject: {} injected, {} already injected, {} refused, {} not asking for the agent{}",
            tally.injected,
            tally.already,
            tally.refused,
            tally.not_requested,
            if tally.not_requested > 0 && !args.all {
                " (annotate podwarden.io/agent: \"enabled\", or use --all)"
            } else {
                ""
            }
        )?;
    }
    if tally.refused > 0 && args.exit_code != 0 {
        return Ok(ExitCode::from(args.exit_code));
    }
    Ok(ExitCode::SUCCESS)
}
