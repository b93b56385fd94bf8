//! `podwarden db import|update|info`: the local OSV vulnerability database.

use anyhow::{Context, bail};
use clap::Subcommand;
use podwarden_scan::vuln::Database;
use podwarden_scan::vuln::index::{BuildMeta, INDEX_FILE, IndexBuilder};
use podwarden_scan::vuln::load::{Limits, Loaded, load_path, load_zip};
use std::io::{Read, Write};

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Where `podwarden db update` downloads from unless `--mirror` says otherwise.
pub const DEFAULT_MIRROR: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The ecosystems `db update` fetches by default: those the inventory reports.
pub const SUPPORTED_ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpine",
    "Debian",
    "Go",
    "Maven",
    "NuGet",
    "Packagist",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "RubyGems",
    "Ubuntu",
    "crates.io",
    "npm",
];

/// The largest `all.zip` download accepted (the largest real export is far below it).
const MAX_DOWNLOAD_BYTES: u64 = 4 << 30;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the local index from OSV records (a directory tree or `all.zip` files).
    Import {
        /// Directory of OSV JSON records (searched recursively, `<Ecosystem>/all.zip` files
        /// included), or an `all.zip`.
        path: PathBuf,
        /// Database directory.
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
    },
    /// Download the ecosystems' `all.zip` from an OSV-layout mirror and rebuild the index.
    Update {
        /// Base URL of the mirror (`<URL>/<Ecosystem>/all.zip`).
        #[arg(long, value_name = "URL")]
        mirror: Option<String>,
        /// Database directory.
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
        /// Only these ecosystems (repeatable; OSV names such as `PyPI`, `Red Hat`).
        #[arg(long = "ecosystem", value_name = "NAME")]
        ecosystems: Vec<String>,
    },
    /// Print advisory counts per ecosystem.
    Info {
        /// Database directory.
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
    },
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Import { path, db } => import(&path, &db_dir(db)?),
        Command::Update {
            mirror,
            db,
            ecosystems,
        } => update(
            mirror.as_deref().unwrap_or(DEFAULT_MIRROR),
            &db_dir(db)?,
            &ecosystems,
        ),
        Command::Info { db } => info(&db_dir(db)?),
    }
}

/// The database directory: `--db`, else `$PODWARDEN_DB`, else
/// `$XDG_CACHE_HOME/podwarden/db`, else `~/.cache/podwarden/db`.
pub fn db_dir(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = env("PODWARDEN_DB") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(cache) = env("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(cache).join("podwarden/db"));
    }
    match env("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache/podwarden/db")),
        None => bail!("no database directory: pass --db DIR or set PODWARDEN_DB"),
    }
}

/// The current time, RFC 3339 in UTC to the second.
pub fn now() -> String {
    let now = jiff::Timestamp::now();
    now.round(jiff::Unit::Second).unwrap_or(now).to_string()
}

/// Feeds loaded records to the builder and reports invalid ones on stderr.
fn collect_into<'a>(
    builder: &'a mut IndexBuilder,
    invalid: &'a mut u64,
) -> impl FnMut(Loaded) + 'a {
    move |item| match item {
        Ok((record, _)) => builder.add(&record),
        Err(bad) => {
            *invalid += 1;
            eprintln!("podwarden: warning: skipped invalid record {bad}");
        }
    }
}

fn import(path: &Path, dir: &Path) -> anyhow::Result<ExitCode> {
    if !path.exists() {
        bail!("{}: no such file or directory", path.display());
    }
    let mut builder = IndexBuilder::new();
    let mut invalid = 0;
    load_path(
        path,
        &Limits::default(),
        &mut collect_into(&mut builder, &mut invalid),
    )
    .with_context(|| format!("cannot import {}", path.display()))?;
    let meta = BuildMeta {
        built_at: now(),
        sources: vec![path.display().to_string()],
    };
    let db = builder.try_finish(meta).context("cannot build the index")?;
    let written = db.write(dir).context("cannot write the index")?;
    if db.is_empty() {
        eprintln!(
            "podwarden: warning: no OSV records found in {}",
            path.display()
        );
    }
    print_summary(&db, invalid, &written)?;
    Ok(ExitCode::SUCCESS)
}

fn print_summary(db: &Database, invalid: u64, written: &Path) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let info = db.info();
    writeln!(
        out,
        "Imported {} records ({} invalid skipped) into {}",
        info.records,
        invalid,
        written.display()
    )?;
    print_counts(&mut out, db)?;
    Ok(())
}

fn print_counts(out: &mut impl Write, db: &Database) -> anyhow::Result<()> {
    let info = db.info();
    let width = info
        .ecosystems
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max("ECOSYSTEM".len());
    writeln!(out, "{:<width$}  RECORDS", "ECOSYSTEM")?;
    for (ecosystem, count) in &info.ecosystems {
        writeln!(out, "{ecosystem:<width$}  {count:>7}")?;
    }
    writeln!(out, "{:<width$}  {:>7}", "total", info.records)?;
    if info.withdrawn > 0 {
        writeln!(
            out,
            "({} withdrawn records are kept but never match)",
            info.withdrawn
        )?;
    }
    Ok(())
}

fn info(dir: &Path) -> anyhow::Result<ExitCode> {
    let db = Database::open(dir)?;
    let mut out = std::io::stdout().lock();
    let info = db.info();
    writeln!(out, "Database:  {}", dir.join(INDEX_FILE).display())?;
    writeln!(out, "Built:     {}", info.built_at)?;
    if !info.sources.is_empty() {
        writeln!(out, "Sources:   {}", info.sources.join(", "))?;
    }
    writeln!(out)?;
    print_counts(&mut out, &db)?;
    Ok(ExitCode::SUCCESS)
}

/// Percent-encodes one URL path segment (`Red Hat` → `Red%20Hat`).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn http_client() -> anyhow::Result<reqwest::blocking::Client> {
    // reqwest is built without a default crypto provider; ring is the one we ship.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .user_agent(concat!("podwarden/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(60 * 60))
        .build()
        .context("cannot set up the HTTP client")
}

/// A directory removed when dropped, on every exit path.
struct Scratch(PathBuf);

impl Scratch {
    fn create(path: PathBuf) -> anyhow::Result<Scratch> {
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Downloads `url` into `dest`, at most `limit` bytes. `Ok(false)` on HTTP 404.
fn download(
    client: &reqwest::blocking::Client,
    url: &str,
    dest: &Path,
    limit: u64,
) -> anyhow::Result<bool> {
    let response = client
        .get(url)
        .send()
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(false);
    }
    if !status.is_success() {
        bail!("GET {url}: HTTP {status}");
    }
    if let Some(len) = response.content_length().filter(|&len| len > limit) {
        bail!("GET {url}: {len} bytes, over the {limit}-byte limit");
    }
    let mut file =
        std::fs::File::create(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let mut body = response.take(limit + 1);
    let copied = std::io::copy(&mut body, &mut file)
        .with_context(|| format!("GET {url}: reading the body"))?;
    if copied > limit {
        bail!("GET {url}: over the {limit}-byte limit");
    }
    file.sync_all()
        .with_context(|| format!("cannot write {}", dest.display()))?;
    Ok(true)
}

fn update(mirror: &str, dir: &Path, ecosystems: &[String]) -> anyhow::Result<ExitCode> {
    let mirror = mirror.trim_end_matches('/');
    let wanted: Vec<&str> = if ecosystems.is_empty() {
        SUPPORTED_ECOSYSTEMS.to_vec()
    } else {
        ecosystems.iter().map(String::as_str).collect()
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Downloads land in a scratch directory removed on every exit path.
    let scratch = Scratch::create(dir.join(format!(".download-{}", std::process::id())))?;
    let client = http_client()?;
    let mut fetched: Vec<(String, PathBuf)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for (i, ecosystem) in wanted.iter().enumerate() {
        let url = format!("{mirror}/{}/all.zip", encode_segment(ecosystem));
        let dest = scratch.0.join(format!("{i}.zip"));
        eprintln!("podwarden: downloading {url}");
        match download(&client, &url, &dest, MAX_DOWNLOAD_BYTES) {
            Ok(true) => fetched.push((url, dest)),
            Ok(false) => eprintln!(
                "podwarden: warning: {ecosystem}: not on the mirror (HTTP 404 for {url}); skipped"
            ),
            Err(err) => failures.push(format!("{err:#}")),
        }
    }
    if !failures.is_empty() {
        bail!(
            "download failed, the database was left unchanged:\n  {}",
            failures.join("\n  ")
        );
    }
    if fetched.is_empty() {
        bail!(
            "the mirror {mirror} has none of the requested ecosystems; the database was left unchanged"
        );
    }
    let mut builder = IndexBuilder::new();
    let mut invalid = 0;
    for (url, path) in &fetched {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        load_zip(
            Path::new(url),
            std::io::BufReader::new(file),
            &Limits::default(),
            &mut collect_into(&mut builder, &mut invalid),
        )
        .context("the database was left unchanged")?;
    }
    let meta = BuildMeta {
        built_at: now(),
        sources: fetched.iter().map(|(url, _)| url.clone()).collect(),
    };
    let db = builder.try_finish(meta).context("cannot build the index")?;
    let written = db.write(dir).context("cannot write the index")?;
    drop(scratch);
    print_summary(&db, invalid, &written)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::encode_segment;

    #[test]
    fn ecosystem_names_are_encoded_as_path_segments() {
        let cases = [
            ("Red Hat", "Red%20Hat"),
            ("Rocky Linux", "Rocky%20Linux"),
            ("crates.io", "crates.io"),
            ("PyPI", "PyPI"),
        ];
        for (name, want) in cases {
            assert_eq!(encode_segment(name), want);
        }
    }
}
