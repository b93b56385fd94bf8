//! OSV index benchmarks: loading an index of ≥ 50,000 records and matching 10,000 packages.
//!
//! The records are the real slice in `shared/compat/osv-slice/`, copied with renamed ids and
//! package names until there are 50,000 or more. Run: `cargo bench -p podwarden-scan --bench osv`.
//!
//! Matching is timed twice: as wall time (`match_10k_packages_*`) and as the benchmarking
//! thread's CPU time (`cpu/match_10k_packages_*`, `CLOCK_THREAD_CPUTIME_ID`), which stays
//! meaningful when other work shares the machine's cores.

#[path = "../../../bench/criterion_cpu_time.rs"]
mod criterion_cpu_time;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use criterion_cpu_time::CpuTime;
use podwarden_scan::inventory::{Ecosystem, Package};
use podwarden_scan::vuln::Database;
use podwarden_scan::vuln::index::{BuildMeta, IndexBuilder};
use podwarden_scan::vuln::load::{Limits, load_all};
use podwarden_scan::vuln::osv::Record;
use std::hint::black_box;
use std::path::Path;
use std::sync::OnceLock;

const TARGET_RECORDS: usize = 50_000;
const PACKAGES: usize = 10_000;

fn slice() -> Vec<Record> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/osv-slice");
    let (records, invalid) = load_all(&dir, &Limits::default())
        .unwrap_or_else(|err| panic!("the OSV slice is needed at {}: {err}", dir.display()));
    assert!(invalid.is_empty(), "invalid slice records: {invalid:?}");
    records
}

/// Copy `n` of a record: every id and package name gets the suffix `-c{n}`.
fn renamed(record: &Record, n: usize) -> Record {
    let mut copy = record.clone();
    let suffix = format!("-c{n}");
    copy.id.push_str(&suffix);
    for alias in copy.aliases.iter_mut().chain(copy.upstream.iter_mut()) {
        alias.push_str(&suffix);
    }
    for affected in &mut copy.affected {
        if let Some(package) = &mut affected.package {
            package.name.push_str(&suffix);
        }
    }
    copy
}

fn ecosystem(osv: &str) -> Option<Ecosystem> {
    Some(match osv {
        "crates.io" => Ecosystem::CratesIo,
        "Go" => Ecosystem::Go,
        "PyPI" => Ecosystem::PyPI,
        "npm" => Ecosystem::Npm,
        "Maven" => Ecosystem::Maven,
        _ => return None,
    })
}

/// 10,000 packages; one in `known_every` is named like an indexed package (and mostly
/// vulnerable, as every version here is below the slice's fixes), the others are unknown.
fn packages(records: &[Record], known_every: usize) -> Vec<Package> {
    let mut out = Vec::with_capacity(PACKAGES);
    let mut i = 0usize;
    while out.len() < PACKAGES {
        let record = &records[i % records.len()];
        i += 1;
        let Some(package) = record.affected.iter().find_map(|a| a.package.as_ref()) else {
            continue;
        };
        let Some(eco) = ecosystem(&package.ecosystem) else {
            continue;
        };
        let known = out.len() % known_every == 0;
        let name = if known {
            package.name.clone()
        } else {
            format!("{}-unknown", package.name)
        };
        let version = match eco {
            Ecosystem::Go => "v1.2.3",
            Ecosystem::PyPI => "1.2",
            _ => "1.2.3",
        };
        out.push(Package {
            ecosystem: eco,
            release: None,
            name,
            version: version.into(),
            source: None,
            location: "bench".into(),
            purl: String::new(),
        });
    }
    out
}

/// The renamed records and a directory holding their index, built once per run.
struct Fixture {
    records: Vec<Record>,
    dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let base = slice();
        let copies = TARGET_RECORDS.div_ceil(base.len());
        let mut records = Vec::with_capacity(copies * base.len());
        for n in 0..copies {
            records.extend(base.iter().map(|r| renamed(r, n)));
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut builder = IndexBuilder::new();
        for record in &records {
            builder.add(record);
        }
        let db = builder.finish(BuildMeta::default());
        let path = db.write(dir.path()).expect("write index");
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "index: {} records, {} bytes on disk ({})",
            db.len(),
            size,
            path.display()
        );
        Fixture { records, dir }
    })
}

/// Dense: half the packages are named in the database (with ~14 advisories each, as the
/// slice concentrates on few packages). Typical: one in ten. Sparse: one in fifty, closer to
/// a real image where most packages have no advisory at all.
const MIXES: [(&str, usize); 3] = [("dense", 2), ("typical", 10), ("sparse", 50)];

fn benches(c: &mut Criterion) {
    let Fixture { records, dir } = fixture();

    c.bench_function("index_load_50k", |b| {
        b.iter(|| black_box(Database::open(dir.path()).expect("open")))
    });

    let db = Database::open(dir.path()).expect("open");
    for (label, known_every) in MIXES {
        let packages = packages(records, known_every);
        let found = db.matches_packages(&packages).len();
        eprintln!(
            "matching ({label}): {} packages give {found} findings",
            packages.len()
        );
        c.bench_function(&format!("match_10k_packages_{label}"), |b| {
            b.iter(|| black_box(db.matches_packages(black_box(&packages))))
        });
    }

    let mut group = c.benchmark_group("index_build");
    group.sample_size(10);
    group.bench_function("build_and_write_50k", |b| {
        b.iter(|| {
            let mut builder = IndexBuilder::new();
            for record in records {
                builder.add(record);
            }
            let db = builder.finish(BuildMeta::default());
            black_box(db.write(dir.path()).expect("write"))
        })
    });
    group.finish();
}

fn cpu_benches(c: &mut Criterion<CpuTime>) {
    let Fixture { records, dir } = fixture();
    let db = Database::open(dir.path()).expect("open");
    let mut group = c.benchmark_group("cpu");
    group.throughput(Throughput::Elements(PACKAGES as u64));
    for (label, known_every) in MIXES {
        let packages = packages(records, known_every);
        group.bench_function(format!("match_10k_packages_{label}"), |b| {
            b.iter(|| black_box(db.matches_packages(black_box(&packages))))
        });
    }
    group.finish();
}

criterion_group!(osv, benches);
criterion_group! {
    name = osv_cpu;
    config = Criterion::default().with_measurement(CpuTime::with_throughput_label("M packages/s (per cpu-second)"));
    targets = cpu_benches
}
criterion_main!(osv, osv_cpu);
