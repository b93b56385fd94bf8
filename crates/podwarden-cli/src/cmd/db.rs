//! `podwarden db import|update|info`: the local OSV vulnerability database.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the local index from OSV records (a directory tree or `all.zip` files).
    Import {
        /// Directory of OSV JSON records, or an `all.zip`.
        path: PathBuf,
        /// Database directory.
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
    },
    /// Download the ecosystems' `all.zip` from an OSV-layout mirror and rebuild the index.
    Update {
        /// Base URL of the mirror.
        #[arg(long, value_name = "URL")]
        mirror: Option<String>,
        /// Database directory.
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
    },
    /// Print advisory counts per ecosystem.
    Info {
        /// Database directory.
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
    },
}

pub fn run(_command: Command) -> anyhow::Result<ExitCode> {
    anyhow::bail!("db is not part of this build yet")
}
