//! `podwarden scan fs|image`: package inventory and vulnerability matching.

use crate::output::{GateArgs, OutputArgs};
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

pub fn run_fs(_args: FsArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("scan fs is not part of this build yet")
}

pub fn run_image(_args: ImageArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("scan image is not part of this build yet")
}
