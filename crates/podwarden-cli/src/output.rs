//! Flags and helpers shared by the commands that print results.

use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

/// Exit code for usage and input errors.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Cyclonedx,
}

/// `--format`, `--output`, `--quiet`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print nothing but the report (no progress, no warnings summary).
    #[arg(long, short)]
    pub quiet: bool,
}

impl OutputArgs {
    /// Where the report goes: the `--output` file or standard output.
    pub fn writer(&self) -> anyhow::Result<Box<dyn Write>> {
        use anyhow::Context;
        Ok(match &self.output {
            Some(path) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        })
    }
}

/// `--severity` and `--exit-code`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// Only report findings of these severities (comma-separated, e.g. `high,critical`).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub severity: Vec<String>,
    /// Exit with N when findings remain after filtering.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub exit_code: u8,
}
