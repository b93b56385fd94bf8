//! `podwarden scan webshell`: webshell content scan of a directory tree.

use crate::output::{GateArgs, OutputArgs};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory tree to scan.
    pub path: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("scan webshell is not part of this build yet")
}
