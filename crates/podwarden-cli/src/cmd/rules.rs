//! `podwarden rules check|test`: compile rule files; replay recorded events through them.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile rule files and report diagnostics.
    Check {
        /// Rule files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Replay recorded events (JSON lines) through the rules.
    Test {
        /// Recorded events, one JSON object per line.
        #[arg(long, value_name = "FILE.jsonl")]
        events: PathBuf,
    },
}

pub fn run(_command: Command) -> anyhow::Result<ExitCode> {
    anyhow::bail!("rules is not part of this build yet")
}
