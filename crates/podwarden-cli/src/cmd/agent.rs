//! `podwarden agent`: the in-pod (sidecar) or host agent. Every flag has an environment
//! variable so the injected sidecar is configured from the pod spec and a Secret; the pod
//! identity comes from the downward API (see `podwarden_agent::config`). Runs until SIGTERM or
//! Ctrl-C, then syncs the spool and exits cleanly.

use anyhow::Context;
use podwarden_agent::config::{AgentConfig, Identity};
use podwarden_agent::runtime::{self, Shutdown};
use podwarden_api::agent::AgentMode;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Inside a pod with `shareProcessNamespace: true`, watching the workload containers.
    Sidecar,
    /// A plain process watching its machine.
    Host,
}

const ENVIRONMENT_HELP: &str = "\
Pod identity (read from the environment, all optional):
  POD_NAME, POD_NAMESPACE, POD_UID   downward API metadata.name / namespace / uid
  PODWARDEN_CLUSTER                  a hint naming the cluster
  PODWARDEN_SOURCE_KIND              k8s-virtual-node | k8s-serverless | container-compute | app-engine
  PODWARDEN_CONTAINER_TYPE=sidecar   makes --mode sidecar the default
  PODWARDEN_PODINFO_DIR              downward API volume (default /etc/podinfo; its `labels` file)
  PODWARDEN_POD_SPEC_FILE            a mounted pod manifest (JSON or YAML) for baseline checks
  PODWARDEN_POD_SPEC                 the same, inline JSON
  PODWARDEN_LOG                      log filter (default info), e.g. podwarden_agent=debug

The state directory keeps the per-agent credential (mode 0600), the spool of detections not
yet delivered, the outbox (command results, inventories, pod spec) and the quarantine vault;
in a pod, mount an emptyDir there so a restarted agent neither enrols again nor loses events.";

#[derive(Debug, clap::Args)]
#[command(after_long_help = ENVIRONMENT_HELP)]
pub struct Args {
    /// URL of the center, e.g. https://podwarden.example:8443.
    #[arg(
        long,
        value_name = "URL",
        env = "PODWARDEN_SERVER",
        required_unless_present = "no_upload"
    )]
    pub server: Option<String>,
    /// The tenant's enrolment token (`pwe_...`); needed until the agent holds its credential.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "PODWARDEN_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Sidecar or host mode (default: sidecar when PODWARDEN_CONTAINER_TYPE=sidecar, else host).
    #[arg(long, value_enum, env = "PODWARDEN_MODE")]
    pub mode: Option<ModeArg>,
    /// A directory to watch for webshells besides those found automatically (repeatable;
    /// container paths in sidecar mode; the variable takes a `:`-separated list).
    #[arg(
        long = "web-root",
        value_name = "DIR",
        env = "PODWARDEN_WEB_ROOTS",
        value_delimiter = ':'
    )]
    pub web_roots: Vec<String>,
    /// Where the credential, spool, outbox and quarantine vault live.
    #[arg(
        long,
        value_name = "DIR",
        env = "PODWARDEN_STATE_DIR",
        default_value = "/var/lib/podwarden-agent"
    )]
    pub state_dir: PathBuf,
    /// PEM file of CA certificates to trust for the center, besides the system's.
    #[arg(long, value_name = "FILE", env = "PODWARDEN_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Interval of the /proc poll, milliseconds.
    #[arg(long, value_name = "N", env = "PODWARDEN_POLL_INTERVAL_MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(5..=60_000))]
    pub poll_interval_ms: u64,
    /// Bound of the spool of undelivered detections, bytes.
    #[arg(long, value_name = "N", env = "PODWARDEN_SPOOL_MAX_BYTES", default_value_t = 64 << 20,
          value_parser = clap::value_parser!(u64).range(64 * 1024..))]
    pub spool_max_bytes: u64,
    /// Do not talk to a center: write detections as JSON lines (to --events-out or stdout).
    #[arg(long, env = "PODWARDEN_NO_UPLOAD")]
    pub no_upload: bool,
    /// With --no-upload, append detections to FILE instead of standard output.
    #[arg(long, value_name = "FILE", env = "PODWARDEN_EVENTS_OUT")]
    pub events_out: Option<PathBuf>,
    /// Extra rule file (Falco format or Podwarden's; repeatable, the variable `:`-separated).
    #[arg(
        long = "rules",
        value_name = "FILE",
        env = "PODWARDEN_RULES",
        value_delimiter = ':'
    )]
    pub rules: Vec<PathBuf>,
    /// Extra YARA rule file for webshell content (repeatable, the variable `:`-separated).
    #[arg(
        long = "yara",
        value_name = "FILE",
        env = "PODWARDEN_YARA",
        value_delimiter = ':'
    )]
    pub yara: Vec<PathBuf>,
    /// Package inventory interval, seconds (the first runs a minute after start).
    #[arg(long, value_name = "SECS", env = "PODWARDEN_INVENTORY_INTERVAL_SECS", default_value_t = 86_400,
          value_parser = clap::value_parser!(u64).range(60..))]
    pub inventory_interval_secs: u64,
    /// Interval of the backstop sweep of the web roots (changed files), seconds.
    #[arg(long, value_name = "SECS", env = "PODWARDEN_SWEEP_INTERVAL_SECS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(10..))]
    pub sweep_interval_secs: u64,
    /// Never use the netlink process connector (poll /proc only).
    #[arg(long, env = "PODWARDEN_NO_NETLINK")]
    pub no_netlink: bool,
    /// Where procfs is mounted.
    #[arg(
        long,
        value_name = "DIR",
        env = "PODWARDEN_PROC",
        default_value = "/proc",
        hide = true
    )]
    pub proc: PathBuf,
}

/// The agent settings from the flags and the environment.
pub fn config(args: &Args) -> anyhow::Result<AgentConfig> {
    let mode = match args.mode {
        Some(ModeArg::Sidecar) => AgentMode::Sidecar,
        Some(ModeArg::Host) => AgentMode::Host,
        None if std::env::var("PODWARDEN_CONTAINER_TYPE").is_ok_and(|v| v.trim() == "sidecar") => {
            AgentMode::Sidecar
        }
        None => AgentMode::Host,
    };
    let server = if args.no_upload {
        None
    } else {
        let server = args
            .server
            .clone()
            .context("--server is required (or --no-upload)")?;
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            anyhow::bail!("--server {server:?}: expected an http:// or https:// URL");
        }
        Some(server)
    };
    if let Some(ca) = &args.ca_file {
        std::fs::metadata(ca).with_context(|| format!("--ca-file {}", ca.display()))?;
    }
    let mut config = AgentConfig::new(mode, server, args.token.clone(), args.state_dir.clone());
    config.web_roots = args
        .web_roots
        .iter()
        .filter(|r| !r.trim().is_empty())
        .cloned()
        .collect();
    config.ca_file = args.ca_file.clone();
    config.poll_interval = Duration::from_millis(args.poll_interval_ms);
    config.spool_max_bytes = args.spool_max_bytes;
    config.events_out = args.events_out.clone();
    config.proc_path = args.proc.clone();
    config.rule_files = args.rules.clone();
    config.yara_files = args.yara.clone();
    config.inventory_interval = Duration::from_secs(args.inventory_interval_secs);
    config.sweep_interval = Duration::from_secs(args.sweep_interval_secs);
    config.netlink = !args.no_netlink;
    config.identity = Identity::from_env(|name| std::env::var(name).ok());
    Ok(config)
}

/// Triggers `shutdown` on SIGTERM or SIGINT (a small runtime on its own thread).
fn watch_signals(shutdown: Arc<Shutdown>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot set up signal handling")?;
    std::thread::Builder::new()
        .name("podwarden-signals".to_string())
        .spawn(move || {
            runtime.block_on(async {
                use tokio::signal::unix::{SignalKind, signal};
                let (Ok(mut term), Ok(mut int)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                ) else {
                    return;
                };
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            });
            shutdown.trigger();
        })
        .context("cannot start the signal thread")?;
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PODWARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let config = config(&args)?;
    podwarden_agent::runtime::limit_malloc_arenas();
    let shutdown = Shutdown::new();
    watch_signals(shutdown.clone())?;
    let state_dir = config.state_dir.clone();
    let summary = runtime::run(config, shutdown)
        .with_context(|| format!("agent failed (state directory {})", state_dir.display()))?;
    eprintln!(
        "podwarden agent stopped: {} detection(s), {} delivered, {} left in the spool, {} dropped in total",
        summary.detections, summary.uploaded, summary.spooled, summary.dropped_total
    );
    Ok(ExitCode::SUCCESS)
}
