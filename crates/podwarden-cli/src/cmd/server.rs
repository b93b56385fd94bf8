//! `podwarden server`: the center. Reads the config file, applies flags and environment
//! (`PODWARDEN_DATABASE`, `PODWARDEN_LISTEN`, `PODWARDEN_CONFIG`, `PODWARDEN_BOOTSTRAP_TOKEN`),
//! starts the server and runs until Ctrl-C or SIGTERM.

use anyhow::Context;
use podwarden_server::config::{ConfigFile, Settings};
use podwarden_server::store::tenants::Bootstrap;
use podwarden_server::{Server, shutdown_signal};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// TOML config file (heartbeat interval, online window, price, time zone, default cores,
    /// sandboxed runtime classes, body limits, job intervals).
    #[arg(long, value_name = "FILE", env = "PODWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database: `sqlite://PATH` (default `sqlite://./podwarden-data/podwarden.db`) or
    /// `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(long, value_name = "URL", env = "PODWARDEN_DATABASE")]
    pub database: Option<String>,
    /// Listen address (default 127.0.0.1:8080; port 0 picks a free port).
    #[arg(long, value_name = "ADDR", env = "PODWARDEN_LISTEN")]
    pub listen: Option<String>,
}

/// The settings from the config file with the flags applied on top.
pub fn settings(args: &Args) -> anyhow::Result<Settings> {
    let mut file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    if let Some(database) = &args.database {
        file.database = Some(database.clone());
    }
    if let Some(listen) = &args.listen {
        file.listen = Some(listen.clone());
    }
    Ok(Settings::from_file(file)?)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PODWARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let settings = settings(&args)?;
    let bootstrap_token = std::env::var("PODWARDEN_BOOTSTRAP_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let database = settings.database.clone();
        let server = Server::start(settings, bootstrap_token.as_deref())
            .await
            .with_context(|| format!("cannot start the server (database {database})"))?;
        let mut out = std::io::stdout().lock();
        match server.bootstrap() {
            Bootstrap::Created { token, .. } => {
                writeln!(
                    out,
                    "Created the operator tenant. Its first admin token (shown once, keep it):"
                )?;
                writeln!(out)?;
                writeln!(out, "    {token}")?;
                writeln!(out)?;
            }
            Bootstrap::CreatedWithGivenToken { .. } => {
                writeln!(
                    out,
                    "Created the operator tenant; its admin token is PODWARDEN_BOOTSTRAP_TOKEN."
                )?;
            }
            Bootstrap::Existing {
                given_token_added: true,
                ..
            } => {
                writeln!(
                    out,
                    "Added PODWARDEN_BOOTSTRAP_TOKEN as an operator admin token."
                )?;
            }
            Bootstrap::Existing { .. } => {}
        }
        if let Some(addr) = server.local_addr() {
            writeln!(out, "podwarden server listening on http://{addr}")?;
        }
        out.flush()?;
        drop(out);
        server
            .run(shutdown_signal())
            .await
            .context("server failed")?;
        Ok(ExitCode::SUCCESS)
    })
}
