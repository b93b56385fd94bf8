//! Throughput of the language-ecosystem detectors: the real fixtures of `tests/data/lang`, a
//! large generated `package-lock.json` and `yarn.lock`, and the Go-binary probe of an ELF file
//! that is not Go (what scanning `/usr/bin` costs per file).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use podwarden_scan::inventory::lang::cargo::CargoLockDetector;
use podwarden_scan::inventory::lang::golang::GoBinaryDetector;
use podwarden_scan::inventory::lang::maven::JavaArchiveDetector;
use podwarden_scan::inventory::lang::npm::{
    PackageLockDetector, PnpmLockDetector, YarnLockDetector,
};
use podwarden_scan::inventory::lang::python::{PoetryLockDetector, RequirementsDetector};
use podwarden_scan::inventory::rootfs::MemoryFile;
use podwarden_scan::inventory::{DetectContext, Detector, FileInfo};
use std::fmt::Write;
use std::hint::black_box;

fn fixture(rel: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/lang/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A lockfile v3 with `count` packages, half of them nested.
fn big_package_lock(count: usize) -> Vec<u8> {
    let mut out = String::from(
        "{\"name\":\"big\",\"lockfileVersion\":3,\"packages\":{\"\":{\"name\":\"big\"}",
    );
    for i in 0..count {
        let key = if i % 2 == 0 {
            format!("node_modules/pkg-{i}")
        } else {
            format!("node_modules/pkg-{}/node_modules/@scope/dep-{i}", i - 1)
        };
        let _ = write!(
            out,
            ",\"{key}\":{{\"version\":\"1.{}.{}\",\"resolved\":\"https://registry.npmjs.org/x/-/x-1.0.0.tgz\",\"integrity\":\"sha512-AAAA\",\"dependencies\":{{\"a\":\"^1.0.0\"}}}}",
            i % 50,
            i % 7
        );
    }
    out.push_str("}}");
    out.into_bytes()
}

/// A classic yarn.lock with `count` entries.
fn big_yarn_lock(count: usize) -> Vec<u8> {
    let mut out = String::from("# yarn lockfile v1\n\n");
    for i in 0..count {
        let _ = write!(
            out,
            "\n\"pkg-{i}@^1.0.0\", \"pkg-{i}@^1.1.0\":\n  version \"1.{}.0\"\n  resolved \"https://registry.yarnpkg.com/pkg-{i}/-/pkg-{i}-1.0.0.tgz\"\n  integrity sha512-AAAA\n  dependencies:\n    other \"^2.0.0\"\n",
            i % 30
        );
    }
    out.into_bytes()
}

/// (label, detector, file name, contents, executable).
type Case = (
    &'static str,
    &'static dyn Detector,
    &'static str,
    Vec<u8>,
    bool,
);

fn bench(c: &mut Criterion) {
    let go_binary = {
        let zip_bytes = fixture("go/gobins.zip");
        let mut archive =
            zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("gobins.zip");
        let mut entry = archive.by_name("gofixture").expect("gofixture");
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).expect("inflate");
        bytes
    };
    let not_go = std::fs::read(std::env::current_exe().expect("bench binary")).expect("read self");
    let cases: Vec<Case> = vec![
        (
            "cargo-lock-v3",
            &CargoLockDetector,
            "Cargo.lock",
            fixture("cargo/v3/Cargo.lock"),
            false,
        ),
        (
            "package-lock-v3",
            &PackageLockDetector,
            "package-lock.json",
            fixture("npm/lock-v3/package-lock.json"),
            false,
        ),
        (
            "package-lock-20k",
            &PackageLockDetector,
            "package-lock.json",
            big_package_lock(20_000),
            false,
        ),
        (
            "yarn-lock-20k",
            &YarnLockDetector,
            "yarn.lock",
            big_yarn_lock(20_000),
            false,
        ),
        (
            "pnpm-lock-v9",
            &PnpmLockDetector,
            "pnpm-lock.yaml",
            fixture("npm/pnpm-v9/pnpm-lock.yaml"),
            false,
        ),
        (
            "poetry-lock",
            &PoetryLockDetector,
            "poetry.lock",
            fixture("python/poetry/poetry.lock"),
            false,
        ),
        (
            "requirements-hashes",
            &RequirementsDetector,
            "requirements.txt",
            fixture("python/pip-compile/requirements.txt"),
            false,
        ),
        (
            "jar",
            &JavaArchiveDetector,
            "commons-cli-1.5.0.jar",
            fixture("java/commons-cli-1.5.0.jar"),
            false,
        ),
        ("go-binary", &GoBinaryDetector, "gofixture", go_binary, true),
        ("not-go-elf", &GoBinaryDetector, "other", not_go, true),
    ];
    let mut group = c.benchmark_group("lang-detect");
    for (label, detector, file_name, bytes, executable) in &cases {
        let info = FileInfo {
            path: file_name,
            file_name,
            size: bytes.len() as u64,
            executable: *executable,
        };
        let contents = MemoryFile(bytes.as_slice());
        let found = detector
            .detect(&info, &contents, &DetectContext::default())
            .map(|d| d.packages.len())
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        eprintln!("{label}: {} bytes, {found} packages", bytes.len());
        // Files per second: the probe of a non-Go ELF reads only its headers.
        group.throughput(Throughput::Elements(1));
        group.bench_function(*label, |b| {
            b.iter(|| detector.detect(black_box(&info), &contents, &DetectContext::default()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
