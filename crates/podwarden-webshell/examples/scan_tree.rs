//! Scans a tree with the shipped rules and prints counts and throughput (benchmark helper:
//! the same `Scanner::scan_tree` that `podwarden scan webshell` runs, without report output).
//!
//! `cargo run --release -p podwarden-webshell --example scan_tree -- DIR`

use podwarden_webshell::{ScanOptions, Scanner};
use std::time::Instant;

fn main() -> std::process::ExitCode {
    let Some(root) = std::env::args_os().nth(1) else {
        eprintln!("usage: scan_tree DIR");
        return std::process::ExitCode::from(2);
    };
    let scanner = match Scanner::new(&[]) {
        Ok(scanner) => scanner,
        Err(err) => {
            eprintln!("scan_tree: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let summary = scanner.scan_tree(std::path::Path::new(&root), &ScanOptions::default());
    let seconds = started.elapsed().as_secs_f64();
    for detection in &summary.detections {
        println!(
            "{} {} {}",
            detection.score,
            detection.category,
            detection.path.display()
        );
    }
    #[allow(clippy::cast_precision_loss)]
    let megabytes = summary.bytes_scanned as f64 / 1_048_576.0;
    eprintln!(
        "{} detections, {} files scanned ({megabytes:.1} MiB), skipped {:?}, {} errors, {seconds:.2} s",
        summary.detections.len(),
        summary.files_scanned,
        summary.skipped,
        summary.errors.len(),
    );
    std::process::ExitCode::SUCCESS
}
