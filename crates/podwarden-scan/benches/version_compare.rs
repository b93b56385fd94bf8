//! Comparisons per second of each version scheme, over the real-world version pairs of the
//! OSV ordering fixtures (`shared/compat/osv-versions`, read in place).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use podwarden_scan::vuln::version::{Scheme, compare};
use std::hint::black_box;
use std::path::PathBuf;

/// Fixture file prefixes and the scheme they exercise.
const CORPORA: [(&str, Scheme); 12] = [
    ("debian", Scheme::Dpkg),
    ("alpine", Scheme::Apk),
    ("redhat", Scheme::Rpm),
    ("pypi", Scheme::Pep440),
    ("semver", Scheme::SemVer),
    ("maven", Scheme::Maven),
    ("rubygems", Scheme::RubyGems),
    ("nuget", Scheme::NuGet),
    ("packagist", Scheme::Packagist),
    ("cran", Scheme::Cran),
    ("hackage", Scheme::Hackage),
    ("pub", Scheme::Pub),
];

/// Every `a op b` pair of the scheme's fixture files (hand-written and generated).
fn pairs(prefix: &str) -> Vec<(String, String)> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/osv-versions"
    ));
    let mut out = Vec::new();
    for suffix in ["-versions.txt", "-versions-generated.txt"] {
        let path = dir.join(format!("{prefix}{suffix}"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines() {
            if line.starts_with("# ") || line.starts_with("// ") {
                continue;
            }
            if let [a, _, b] = line.split(' ').collect::<Vec<_>>().as_slice() {
                out.push(((*a).to_string(), (*b).to_string()));
            }
        }
    }
    assert!(
        !out.is_empty(),
        "no {prefix} fixtures under {} (shared/compat/osv-versions)",
        dir.display()
    );
    out
}

fn version_compare(c: &mut Criterion) {
    let mut group = c.benchmark_group("version_compare");
    for (prefix, scheme) in CORPORA {
        let pairs = pairs(prefix);
        group.throughput(Throughput::Elements(pairs.len() as u64));
        group.bench_function(format!("{scheme:?}"), |bench| {
            bench.iter(|| {
                for (a, b) in &pairs {
                    black_box(compare(scheme, black_box(a), black_box(b)));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, version_compare);
criterion_main!(benches);
