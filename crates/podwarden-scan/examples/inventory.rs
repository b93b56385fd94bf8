//! Inventories a root filesystem (a directory) or an image tarball / OCI layout and prints
//! package counts per ecosystem, the warning count and the elapsed time.
//!
//! `cargo run --release -p podwarden-scan --example inventory -- / [--cross-devices]
//! [--threads N] [--list] [--warnings] [--detectors all|os|none]` (`none` times the bare walk).

use anyhow::{Context, bail};
use podwarden_scan::inventory::detectors::default_detectors;
use podwarden_scan::inventory::{ScanOptions, inventory_dir, inventory_image};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut path: Option<PathBuf> = None;
    let mut opts = ScanOptions::default();
    let mut list = false;
    let mut show_warnings = false;
    let mut which = "all".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cross-devices" => opts.cross_devices = true,
            "--list" => list = true,
            "--warnings" => show_warnings = true,
            "--detectors" => which = args.next().context("--detectors needs all|os|none")?,
            "--threads" => {
                let n = args.next().context("--threads needs a number")?;
                opts.threads = n.parse().with_context(|| format!("bad thread count {n}"))?;
            }
            other if other.starts_with("--") => bail!("unknown option {other}"),
            other => path = Some(PathBuf::from(other)),
        }
    }
    let path = path.context("usage: inventory <dir|image.tar|oci-dir> [options]")?;
    let detectors: Vec<_> = match which.as_str() {
        "all" => default_detectors(),
        "os" => default_detectors()
            .into_iter()
            .filter(|d| matches!(d.name(), "dpkg" | "apk" | "rpm"))
            .collect(),
        "none" => Vec::new(),
        other => bail!("--detectors {other}: expected all, os or none"),
    };
    let started = Instant::now();
    let is_image = path.is_file() || path.join("index.json").is_file();
    let inventory = if is_image {
        inventory_image(&path, &detectors, &opts)
    } else {
        inventory_dir(&path, &detectors, &opts)
    }
    .with_context(|| format!("inventory of {}", path.display()))?;
    let elapsed = started.elapsed();

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for package in &inventory.packages {
        *counts.entry(package.ecosystem.to_string()).or_default() += 1;
    }
    if list {
        for p in &inventory.packages {
            println!("{}\t{}\t{}\t{}", p.ecosystem, p.name, p.version, p.location);
        }
    }
    if show_warnings {
        for w in &inventory.warnings {
            println!("warning: {}: {}", w.path, w.message);
        }
    }
    if let Some(os) = &inventory.os {
        println!(
            "os: {} {}",
            os.id,
            os.version_id.as_deref().unwrap_or("(no version)")
        );
    }
    for (ecosystem, count) in &counts {
        println!("{ecosystem}: {count}");
    }
    println!("packages: {}", inventory.packages.len());
    println!("warnings: {}", inventory.warnings.len());
    println!("files seen: {}", inventory.files_seen);
    println!("elapsed: {:.3} s", elapsed.as_secs_f64());
    Ok(())
}
