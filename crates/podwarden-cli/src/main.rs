//! The `podwarden` command: parses arguments and hands each command to its module in `cmd/`.

mod cmd;
mod output;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Podwarden: security center for serverless container assets.
#[derive(Parser)]
#[command(name = "podwarden", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Server on SQLite plus a host-mode agent protecting this machine, in one command.
    Up(cmd::up::Args),
    /// The center: REST API, console, jobs.
    Server(cmd::server::Args),
    /// The agent (sidecar in a pod, or host mode).
    Agent(cmd::agent::Args),
    /// Offline scans: vulnerabilities, Kubernetes manifests, webshells.
    #[command(subcommand)]
    Scan(ScanCommand),
    /// Vulnerability database (OSV) management.
    #[command(subcommand)]
    Db(cmd::db::Command),
    /// Runtime detection rules: compile and replay.
    #[command(subcommand)]
    Rules(cmd::rules::Command),
    /// Print manifests with the agent sidecar injected.
    Inject(cmd::inject::Args),
}

#[derive(Subcommand)]
enum ScanCommand {
    /// Vulnerability scan of a root filesystem (a directory).
    Fs(cmd::scan_vuln::FsArgs),
    /// Vulnerability scan of an image tarball (`docker save` or OCI layout).
    Image(cmd::scan_vuln::ImageArgs),
    /// Baseline check of Kubernetes manifests (file, directory, or `-` for stdin).
    K8s(cmd::scan_k8s::Args),
    /// Webshell scan of a directory tree.
    Webshell(cmd::scan_webshell::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => cmd::up::run(args),
        Command::Server(args) => cmd::server::run(args),
        Command::Agent(args) => cmd::agent::run(args),
        Command::Scan(ScanCommand::Fs(args)) => cmd::scan_vuln::run_fs(args),
        Command::Scan(ScanCommand::Image(args)) => cmd::scan_vuln::run_image(args),
        Command::Scan(ScanCommand::K8s(args)) => cmd::scan_k8s::run(args),
        Command::Scan(ScanCommand::Webshell(args)) => cmd::scan_webshell::run(args),
        Command::Db(command) => cmd::db::run(command),
        Command::Rules(command) => cmd::rules::run(command),
        Command::Inject(args) => cmd::inject::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("podwarden: error: {err:#}");
            ExitCode::from(output::EXIT_USAGE)
        }
    }
}
