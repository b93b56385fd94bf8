//! The running agent: three threads and what they share.
//!
//! - the **collector** (the caller's thread): polls `/proc`, the socket tables and inotify,
//!   runs every event through the rules, and spools the detections;
//! - the **scanner** (nice 19, idle IO class): webshell scans of written files and sweeps of
//!   the web roots, package inventories, the pod spec;
//! - the **uplink**: enrolment, heartbeats with the status, uploads from the spool and the
//!   outbox, commands from the center and their results.
//!
//! Memory is bounded everywhere: the process and connection tables, the scan queue, the spool
//! and the outbox all have caps. [`Shutdown::trigger`] (SIGTERM in the CLI) stops the threads;
//! the spool is synced after every append, and the uplink makes one last delivery attempt.

use crate::collect::container::ContainerIndex;
use crate::collect::procfs::{ProcFs, RelPath, namespace_inode, parse_stat};
use crate::collect::{Collector, CollectorConfig, FileToScan, StepOutput};
use crate::config::AgentConfig;
use crate::detect::{RuleDetector, webshell_detection};
use crate::ids::{IdGen, now_ms, now_ns};
use crate::respond::files::{self, ContainerRoot};
use crate::respond::kill::{self, KillMethod};
use crate::scan::{self, FileStamp};
use crate::spool::{Spool, SpoolConfig, SpoolError};
use crate::uplink::{Backoff, Client, Outbox, UplinkConfig, UplinkError};
use podwarden_api::agent::AgentMode;
use podwarden_api::event::Container;
use podwarden_api::uplink::{
    AgentStatus, Command, CommandAction, CommandResult, CommandResults, Detection, EventBatch,
    RescanKind,
};
use podwarden_rules::{RuleSet, RuleSource};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// Files waiting for a webshell scan, at most.
const SCAN_QUEUE: usize = 1024;
/// Detections per upload, at most.
const BATCH_RECORDS: usize = 500;
/// Payload bytes per upload, about.
const BATCH_BYTES: usize = 4 << 20;
/// Outbox bound.
const OUTBOX_BYTES: u64 = 32 << 20;
/// Rule files and YARA files read, at most.
const MAX_RULE_FILE: u64 = 16 << 20;
/// Command ids remembered as done (a command re-sent after a restart is not run twice).
const DONE_COMMANDS: usize = 256;
/// How long the last delivery attempt at shutdown may take.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(3);

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Proc(#[from] crate::collect::procfs::ProcError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error(transparent)]
    Uplink(#[from] UplinkError),
    #[error("{path}: {message}")]
    Rules { path: String, message: String },
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
}

/// Stops the agent; shared with the signal handler.
#[derive(Debug, Default)]
pub struct Shutdown {
    flag: AtomicBool,
    lock: Mutex<()>,
    cond: Condvar,
}

impl Shutdown {
    /// A new, untriggered shutdown.
    pub fn new() -> Arc<Shutdown> {
        Arc::new(Shutdown::default())
    }

    /// Asks every thread to stop.
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        let _guard = lock(&self.lock);
        self.cond.notify_all();
    }

    /// Whether stopping was asked.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` or until shutdown; returns whether shutdown was asked.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut guard = lock(&self.lock);
        while !self.is_set() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            guard = match self.cond.wait_timeout(guard, left) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        self.is_set()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A wake-up flag with a condition variable.
#[derive(Debug, Default)]
struct Wake {
    pending: Mutex<bool>,
    cond: Condvar,
}

impl Wake {
    fn notify(&self) {
        *lock(&self.pending) = true;
        self.cond.notify_all();
    }

    fn wait(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut pending = lock(&self.pending);
        while !*pending {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            pending = match self.cond.wait_timeout(pending, left) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        *pending = false;
    }
}

/// Work for the scan thread.
#[derive(Debug)]
enum ScanJob {
    File(Box<FileToScan>),
    Sweep {
        target: Box<SweepTarget>,
        full: bool,
    },
    SweepAll {
        full: bool,
    },
    Inventory,
    PodSpec,
}

/// A web root as the scan thread sweeps it.
#[derive(Debug, Clone)]
struct SweepTarget {
    root: PathBuf,
    path: String,
    container: Option<Container>,
}

/// An inventory target.
#[derive(Debug, Clone)]
struct InventoryTarget {
    root: PathBuf,
    name: String,
    image: Option<String>,
}

/// Counters, for the status and the final summary.
#[derive(Debug, Default)]
struct Counters {
    detections: AtomicU64,
    uploaded: AtomicU64,
    inactive_dropped: AtomicU64,
    scan_queue_full: AtomicU64,
    files_scanned: AtomicU64,
}

struct Shared {
    config: AgentConfig,
    ids: IdGen,
    shutdown: Arc<Shutdown>,
    spool: Mutex<Spool>,
    outbox: Outbox,
    wake: Wake,
    protection_active: AtomicBool,
    vulnerability: AtomicBool,
    baseline: AtomicBool,
    collectors: Mutex<Vec<String>>,
    web_roots: Mutex<Vec<SweepTarget>>,
    inventory_targets: Mutex<Vec<InventoryTarget>>,
    file_roots: Mutex<Vec<ContainerRoot>>,
    counters: Counters,
}

impl Shared {
    fn push(&self, detections: &[Detection]) {
        if detections.is_empty() {
            return;
        }
        if !self.protection_active.load(Ordering::Relaxed) {
            self.counters
                .inactive_dropped
                .fetch_add(detections.len() as u64, Ordering::Relaxed);
            return;
        }
        for d in detections {
            tracing::info!(rule = %d.rule_id, severity = ?d.severity, id = %d.id, "detection: {}", d.description);
        }
        self.counters
            .detections
            .fetch_add(detections.len() as u64, Ordering::Relaxed);
        match lock(&self.spool).append(detections) {
            Ok(0) => {}
            Ok(dropped) => tracing::warn!(
                dropped,
                "spool full: dropped older low-severity detections (counted and reported)"
            ),
            Err(e) => tracing::error!("spool: {e}"),
        }
        self.wake.notify();
    }

    fn next_order(&self) -> u64 {
        now_ns()
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub detections: u64,
    pub uploaded: u64,
    pub spooled: u64,
    pub dropped_total: u64,
}

fn read_rule_file(path: &Path) -> Result<String, AgentError> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_RULE_FILE).read_to_string(&mut text))
        .map_err(|e| AgentError::Rules {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    Ok(text)
}

/// Compiles the shipped rules plus the configured rule files; diagnostics are logged.
pub fn compile_rules(files: &[PathBuf]) -> Result<Arc<RuleSet>, AgentError> {
    let mut sources = RuleSet::builtin_sources();
    for file in files {
        sources.push(RuleSource::new(
            file.display().to_string(),
            read_rule_file(file)?,
        ));
    }
    let (rules, diagnostics) =
        RuleSet::compile(&sources, &podwarden_rules::CompileOptions::default());
    for d in &diagnostics {
        tracing::debug!("rules: {d:?}");
    }
    let summary = rules.summary();
    tracing::info!(
        enabled = summary.enabled,
        failed = summary.failed,
        skipped = summary.skipped,
        "rules compiled"
    );
    Ok(Arc::new(rules))
}

/// Runs the agent until `shutdown` is triggered.
pub fn run(config: AgentConfig, shutdown: Arc<Shutdown>) -> Result<RunSummary, AgentError> {
    std::fs::create_dir_all(&config.state_dir).map_err(|source| AgentError::StateDir {
        path: config.state_dir.clone(),
        source,
    })?;
    let _ = std::fs::set_permissions(
        &config.state_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    );
    for warning in &config.identity.warnings {
        tracing::warn!("{warning}");
    }
    let rules = compile_rules(&config.rule_files)?;
    let mut yara_sources = Vec::new();
    for file in &config.yara_files {
        yara_sources.push(podwarden_webshell::RuleSource::new(
            file.display().to_string(),
            read_rule_file(file)?,
        ));
    }
    let scanner =
        podwarden_webshell::Scanner::new(&yara_sources).map_err(|e| AgentError::Rules {
            path: "YARA rules".to_string(),
            message: e.to_string(),
        })?;
    let (spool, recovery) = Spool::open(
        &config.state_dir.join("spool"),
        SpoolConfig {
            max_bytes: config.spool_max_bytes,
            segment_bytes: (config.spool_max_bytes / 16).clamp(64 << 10, 4 << 20),
        },
    )?;
    if recovery.records > 0 || !recovery.torn_segments.is_empty() {
        tracing::info!(pending = recovery.records, torn = ?recovery.torn_segments, "spool recovered");
    }
    let outbox = Outbox::open(&config.state_dir.join("outbox"), OUTBOX_BYTES)?;

    let detector = RuleDetector::new(rules);
    let sidecar = config.mode == AgentMode::Sidecar;
    let mut collector_config = CollectorConfig {
        sidecar,
        proc_path: config.proc_path.clone(),
        poll_interval: config.poll_interval,
        web_roots: config.web_roots.clone(),
        netlink: config.netlink,
        ..CollectorConfig::default()
    };
    collector_config.tracker.sidecar = sidecar;
    collector_config.tracker.exit_events = detector.wants("procexit");
    let collector = Collector::new(collector_config, config.identity.pod_identity())?;
    tracing::info!(
        mode = config.mode.as_str(),
        collectors = ?collector.collectors(),
        connector = collector.connector_note().unwrap_or("in use"),
        poll_ms = config.poll_interval.as_millis() as u64,
        "agent started"
    );

    let shared = Arc::new(Shared {
        ids: IdGen::new(),
        shutdown: shutdown.clone(),
        spool: Mutex::new(spool),
        outbox,
        wake: Wake::default(),
        protection_active: AtomicBool::new(true),
        vulnerability: AtomicBool::new(true),
        baseline: AtomicBool::new(true),
        collectors: Mutex::new(collector.collectors()),
        web_roots: Mutex::new(Vec::new()),
        inventory_targets: Mutex::new(Vec::new()),
        file_roots: Mutex::new(collector.file_roots()),
        counters: Counters::default(),
        config,
    });
    let (scan_tx, scan_rx) = std::sync::mpsc::sync_channel::<ScanJob>(SCAN_QUEUE);
    let scan_shared = shared.clone();
    std::thread::Builder::new()
        .name("podwarden-scan".to_string())
        .spawn(move || scan_thread(scan_shared, scanner, scan_rx))
        .map_err(AgentError::Thread)?;
    let uplink_shared = shared.clone();
    let uplink_scan = scan_tx.clone();
    let uplink = std::thread::Builder::new()
        .name("podwarden-uplink".to_string())
        .spawn(move || uplink_thread(uplink_shared, uplink_scan))
        .map_err(AgentError::Thread)?;
    if shared.config.identity.pod_spec.is_some() {
        let _ = scan_tx.try_send(ScanJob::PodSpec);
    }

    collect_loop(&shared, collector, detector, &scan_tx);

    shared.wake.notify();
    let _ = uplink.join();
    // The scan thread may be inside a long inventory: it is not waited for.
    drop(scan_tx);
    let mut spool = lock(&shared.spool);
    if let Err(e) = spool.flush() {
        tracing::error!("spool: {e}");
    }
    Ok(RunSummary {
        detections: shared.counters.detections.load(Ordering::Relaxed),
        uploaded: shared.counters.uploaded.load(Ordering::Relaxed),
        spooled: spool.len() as u64,
        dropped_total: spool.dropped_total(),
    })
}

fn collect_loop(
    shared: &Arc<Shared>,
    mut collector: Collector,
    mut detector: RuleDetector,
    scan_tx: &SyncSender<ScanJob>,
) {
    let mut out = StepOutput::default();
    let mut detections = Vec::new();
    let mut last_publish: Option<Instant> = None;
    while !shared.shutdown.is_set() {
        out.clear();
        collector.step(Duration::from_millis(250), &mut out);
        if !out.events.is_empty() {
            let ts = now_ns();
            detections.clear();
            for event in &mut out.events {
                event.id = shared.ids.next_event();
                event.ts = ts;
            }
            for event in &out.events {
                detector.evaluate(event, &shared.ids, &mut detections);
            }
            shared.push(&detections);
        }
        for mut file in out.files.drain(..) {
            file.event = out
                .events
                .iter()
                .find(|e| file_event_path(e) == Some(file.path.as_str()))
                .cloned();
            match scan_tx.try_send(ScanJob::File(Box::new(file))) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    shared
                        .counters
                        .scan_queue_full
                        .fetch_add(1, Ordering::Relaxed);
                }
                Err(TrySendError::Disconnected(_)) => {}
            }
        }
        let publish = last_publish.is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
            || !out.new_roots.is_empty();
        if publish {
            last_publish = Some(Instant::now());
            publish_state(shared, &collector);
        }
        for (root, path) in out.new_roots.drain(..) {
            let container = container_of_root(&collector, &root);
            let target = Box::new(SweepTarget {
                root,
                path,
                container,
            });
            let _ = scan_tx.try_send(ScanJob::Sweep { target, full: true });
        }
    }
}

fn file_event_path(event: &podwarden_api::event::Event) -> Option<&str> {
    use podwarden_api::event::EventBody;
    match &event.body {
        EventBody::FileCreated { file, .. }
        | EventBody::FileModified { file, .. }
        | EventBody::FileRenamed { file, .. } => Some(file.path.as_str()),
        _ => None,
    }
}

fn container_of_root(collector: &Collector, root: &Path) -> Option<Container> {
    collector
        .containers()
        .workloads()
        .find_map(|(index, slot)| {
            let path = collector.containers().root_path(collector.proc(), index)?;
            (path == root).then(|| slot.info.clone())
        })
}

fn publish_state(shared: &Shared, collector: &Collector) {
    *lock(&shared.collectors) = collector.collectors();
    *lock(&shared.file_roots) = collector.file_roots();
    let roots: Vec<SweepTarget> = collector
        .web_roots()
        .into_iter()
        .filter_map(|root| {
            let base = crate::collect::webroot::container_root(
                collector.proc(),
                collector.containers(),
                root.container,
            )?;
            let container = root
                .container
                .and_then(|c: ContainerIndex| collector.containers().get(c))
                .map(|s| s.info.clone());
            Some(SweepTarget {
                root: base,
                path: root.path,
                container,
            })
        })
        .collect();
    *lock(&shared.web_roots) = roots;
    *lock(&shared.inventory_targets) = collector
        .scan_targets()
        .into_iter()
        .map(|(_, root, name, image)| InventoryTarget { root, name, image })
        .collect();
}

// ---------------------------------------------------------------------------------------------
// Scan thread

fn scan_thread(shared: Arc<Shared>, scanner: podwarden_webshell::Scanner, jobs: Receiver<ScanJob>) {
    let (nice, idle_io) = scan::lower_thread_priority();
    tracing::debug!(nice, idle_io, "scan thread priority lowered");
    let mut stamps: HashMap<String, FileStamp> = HashMap::new();
    let mut reported: HashMap<String, String> = HashMap::new();
    let config = &shared.config;
    let mut next_sweep = Instant::now() + config.sweep_interval;
    let mut next_inventory = Instant::now() + config.inventory_delay;
    while !shared.shutdown.is_set() {
        let now = Instant::now();
        let due = next_sweep
            .min(next_inventory)
            .saturating_duration_since(now);
        let job = match jobs.recv_timeout(due.min(Duration::from_millis(500))) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match job {
            Some(ScanJob::File(file)) => {
                let container = file.event.as_ref().and_then(|e| e.container.clone());
                scan_one(
                    &shared,
                    &scanner,
                    &mut reported,
                    &file.root,
                    &file.path,
                    file.event,
                    container,
                );
            }
            Some(ScanJob::Sweep { target, full }) => {
                if full {
                    let prefix = format!("{}\u{0}", target.root.display());
                    stamps.retain(|k, _| !k.starts_with(&prefix));
                }
                sweep(&shared, &scanner, &mut stamps, &mut reported, &target);
            }
            Some(ScanJob::SweepAll { full }) => {
                if full {
                    stamps.clear();
                }
                let targets = lock(&shared.web_roots).clone();
                for target in &targets {
                    sweep(&shared, &scanner, &mut stamps, &mut reported, target);
                }
            }
            Some(ScanJob::Inventory) => inventory(&shared),
            Some(ScanJob::PodSpec) => podspec(&shared),
            None => {}
        }
        let now = Instant::now();
        if now >= next_sweep {
            next_sweep = now + config.sweep_interval;
            let targets = lock(&shared.web_roots).clone();
            for target in &targets {
                sweep(&shared, &scanner, &mut stamps, &mut reported, target);
            }
        }
        if now >= next_inventory {
            next_inventory = now + config.inventory_interval;
            inventory(&shared);
            podspec(&shared);
        }
    }
}

fn sweep(
    shared: &Shared,
    scanner: &podwarden_webshell::Scanner,
    stamps: &mut HashMap<String, FileStamp>,
    reported: &mut HashMap<String, String>,
    target: &SweepTarget,
) {
    let prefix = format!("{}\u{0}", target.root.display());
    // Stamps are keyed by root and path; the sweep works on one root's map.
    let mut local: HashMap<String, FileStamp> = stamps
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|p| (p.to_string(), *v)))
        .collect();
    let changed = scan::sweep_changed(&target.root, &target.path, &mut local);
    for (path, stamp) in local {
        if stamps.len() < 200_000 {
            stamps.insert(format!("{prefix}{path}"), stamp);
        }
    }
    for path in changed {
        if shared.shutdown.is_set() {
            return;
        }
        scan_one(
            shared,
            scanner,
            reported,
            &target.root,
            &path,
            None,
            target.container.clone(),
        );
    }
}

fn scan_one(
    shared: &Shared,
    scanner: &podwarden_webshell::Scanner,
    reported: &mut HashMap<String, String>,
    root: &Path,
    path: &str,
    event: Option<podwarden_api::event::Event>,
    container: Option<Container>,
) {
    let (bytes, sha) = match scan::read_confined(root, path, scan::MAX_WEB_FILE) {
        Ok(read) => read,
        Err(e) => {
            tracing::debug!(root = %root.display(), path, "not scanned: {e}");
            return;
        }
    };
    shared
        .counters
        .files_scanned
        .fetch_add(1, Ordering::Relaxed);
    let key = format!("{}\u{0}{path}", root.display());
    if reported.get(&key) == Some(&sha) {
        return;
    }
    let Some(verdict) = scanner.scan_bytes(Path::new(path), &bytes) else {
        return;
    };
    if reported.len() >= 10_000 {
        reported.clear();
    }
    reported.insert(key, sha.clone());
    let detection = webshell_detection(
        &shared.ids,
        &verdict,
        path,
        &sha,
        bytes.len() as u64,
        event,
        container,
    );
    shared.push(std::slice::from_ref(&detection));
}

fn inventory(shared: &Shared) {
    if !shared.protection_active.load(Ordering::Relaxed)
        || !shared.vulnerability.load(Ordering::Relaxed)
    {
        return;
    }
    let targets = lock(&shared.inventory_targets).clone();
    for target in targets {
        if shared.shutdown.is_set() {
            return;
        }
        match scan::inventory_container(
            &shared.ids,
            &target.root,
            &target.name,
            target.image.clone(),
        ) {
            Ok(upload) => {
                tracing::info!(container = %target.name, packages = upload.packages.len(), "inventory taken");
                if let Err(e) = shared.outbox.put_inventory(&upload, shared.next_order()) {
                    tracing::warn!("inventory of {}: {e}", target.name);
                }
                shared.wake.notify();
            }
            Err(e) => tracing::warn!(
                "inventory of {} ({}): {e}",
                target.name,
                target.root.display()
            ),
        }
    }
}

fn podspec(shared: &Shared) {
    if !shared.baseline.load(Ordering::Relaxed) {
        return;
    }
    let Some(pod) = shared.config.identity.pod_spec.clone() else {
        return;
    };
    let upload = scan::podspec_upload(&shared.ids, pod);
    if let Err(e) = shared.outbox.put_podspec(&upload, shared.next_order()) {
        tracing::warn!("pod spec: {e}");
    }
    shared.wake.notify();
}

// ---------------------------------------------------------------------------------------------
// Uplink thread

/// Where detections go when uploads are off.
fn local_sink(config: &AgentConfig) -> Box<dyn Write + Send> {
    match &config.events_out {
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(file) => Box::new(file),
            Err(e) => {
                tracing::error!(
                    "cannot open {}: {e}; detections go to standard output",
                    path.display()
                );
                Box::new(std::io::stdout())
            }
        },
        None => Box::new(std::io::stdout()),
    }
}

fn uplink_thread(shared: Arc<Shared>, scan_tx: SyncSender<ScanJob>) {
    let Some(server) = shared.config.server.clone() else {
        local_loop(&shared);
        return;
    };
    let client = Client::new(UplinkConfig {
        server,
        token: shared.config.token.clone(),
        ca_file: shared.config.ca_file.clone(),
        state_dir: shared.config.state_dir.clone(),
        timeout: Duration::from_secs(20),
    });
    let mut client = match client {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("uplink disabled: {e}");
            local_loop(&shared);
            return;
        }
    };
    let mut link = Link::new(&shared);
    loop {
        let stopping = shared.shutdown.is_set();
        if stopping {
            link.final_flush(&shared, &mut client);
            return;
        }
        let now = Instant::now();
        if now < link.retry_at {
            shared.wake.wait(link.retry_at - now);
            if shared.shutdown.is_set() {
                continue;
            }
            // Woken by new detections during a backoff: keep waiting it out.
            if Instant::now() < link.retry_at {
                continue;
            }
        }
        match link.round(&shared, &mut client, &scan_tx) {
            Ok(()) => {
                link.backoff.reset();
                let until_beat = link
                    .next_heartbeat
                    .saturating_duration_since(Instant::now());
                shared.wake.wait(until_beat.min(Duration::from_secs(5)));
            }
            Err(e) => {
                let delay = link.backoff.next_delay();
                if link.backoff.attempts() <= 1 || link.backoff.attempts().is_multiple_of(10) {
                    tracing::warn!(retry_in_ms = delay.as_millis() as u64, "uplink: {e}");
                }
                link.retry_at = Instant::now() + delay;
            }
        }
    }
}

fn local_loop(shared: &Shared) {
    let mut sink = local_sink(&shared.config);
    loop {
        let stopping = shared.shutdown.is_set();
        let batch = lock(&shared.spool)
            .peek(BATCH_RECORDS, BATCH_BYTES)
            .unwrap_or_default();
        if let Some((last, _)) = batch.last() {
            for (_, detection) in &batch {
                let line = serde_json::to_string(detection).unwrap_or_default();
                let _ = writeln!(sink, "{line}");
            }
            let _ = sink.flush();
            shared
                .counters
                .uploaded
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            if let Err(e) = lock(&shared.spool).commit(*last) {
                tracing::error!("spool: {e}");
            }
            continue;
        }
        if stopping {
            return;
        }
        shared.wake.wait(Duration::from_secs(1));
    }
}

/// The uplink's state between rounds.
struct Link {
    backoff: Backoff,
    retry_at: Instant,
    next_heartbeat: Instant,
    heartbeat_interval: Duration,
    batch_limit: usize,
    proc: Option<ProcFs>,
    done: VecDeque<i64>,
    done_path: PathBuf,
    own_mnt_ns: Option<u64>,
}

impl Link {
    fn new(shared: &Shared) -> Link {
        let proc = ProcFs::open(&shared.config.proc_path).ok();
        let done_path = shared.config.state_dir.join("commands-done.json");
        let done = std::fs::read(&done_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<VecDeque<i64>>(&b).ok())
            .unwrap_or_default();
        let own_mnt_ns = proc.as_ref().and_then(|p| mnt_ns_of(p, std::process::id()));
        Link {
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(15)),
            retry_at: Instant::now(),
            next_heartbeat: Instant::now(),
            heartbeat_interval: Duration::from_secs(30),
            batch_limit: BATCH_RECORDS,
            proc,
            done,
            done_path,
            own_mnt_ns,
        }
    }

    /// One round: enrol if needed, heartbeat when due (and run commands), deliver the outbox,
    /// drain the spool.
    fn round(
        &mut self,
        shared: &Shared,
        client: &mut Client,
        scan_tx: &SyncSender<ScanJob>,
    ) -> Result<(), UplinkError> {
        let request = enroll_request(shared);
        let credential = client.ensure_enrolled(&request)?;
        if self.heartbeat_interval == Duration::from_secs(30) {
            self.heartbeat_interval =
                Duration::from_secs(credential.heartbeat_interval_secs.clamp(1, 3600));
        }
        if Instant::now() >= self.next_heartbeat {
            let status = status(shared, self.proc.as_ref());
            match client.heartbeat(&status) {
                Ok(answer) => {
                    self.heartbeat_interval =
                        Duration::from_secs(answer.heartbeat_interval_secs.clamp(1, 3600));
                    self.next_heartbeat = Instant::now() + self.heartbeat_interval;
                    let was = shared
                        .protection_active
                        .swap(answer.protection_active, Ordering::Relaxed);
                    if was != answer.protection_active {
                        tracing::info!(active = answer.protection_active, "protection changed");
                    }
                    shared
                        .vulnerability
                        .store(answer.capabilities.vulnerability, Ordering::Relaxed);
                    shared
                        .baseline
                        .store(answer.capabilities.baseline, Ordering::Relaxed);
                    if answer.pending_commands > 0 {
                        self.run_commands(shared, client, scan_tx)?;
                    }
                }
                Err(UplinkError::Unauthorized { .. }) => {
                    tracing::warn!("the center refused the agent credential: enrolling again");
                    client.drop_credential();
                    return Err(UplinkError::Unauthorized {
                        url: "/agent/v1/heartbeat".to_string(),
                        status: 401,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        self.deliver_outbox(shared, client)?;
        self.drain_spool(shared, client, None)
    }

    fn deliver_outbox(&mut self, shared: &Shared, client: &Client) -> Result<(), UplinkError> {
        for item in shared.outbox.items() {
            let Some(body) = shared.outbox.read(&item) else {
                shared.outbox.remove(&item);
                continue;
            };
            match client.send_raw(item.route, body) {
                Ok(()) => shared.outbox.remove(&item),
                Err(UplinkError::Rejected { url, status, body }) => {
                    tracing::error!(
                        "{url} refused an upload (HTTP {status}: {body}); dropped {}",
                        item.path.display()
                    );
                    shared.outbox.remove(&item);
                }
                // The center does not take this kind yet: keep it for later, go on with others.
                Err(UplinkError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Uploads spooled detections until the spool is empty (or `deadline` passes).
    fn drain_spool(
        &mut self,
        shared: &Shared,
        client: &Client,
        deadline: Option<Instant>,
    ) -> Result<(), UplinkError> {
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(());
            }
            let (batch, loss) = {
                let mut spool = lock(&shared.spool);
                let batch = spool
                    .peek(self.batch_limit, BATCH_BYTES)
                    .unwrap_or_default();
                (batch, spool.pending_loss())
            };
            if batch.is_empty() && loss.is_none() {
                return Ok(());
            }
            let last = batch.last().map(|(seq, _)| *seq);
            let count = batch.len();
            let detections: Vec<Detection> = batch.into_iter().map(|(_, d)| d).collect();
            let body = EventBatch {
                detections,
                dropped: loss.clone(),
            };
            match client.send_events(&body) {
                Ok(_) => {
                    let mut spool = lock(&shared.spool);
                    if let Some(last) = last
                        && let Err(e) = spool.commit(last)
                    {
                        tracing::error!("spool: {e}");
                    }
                    if let Some(loss) = &loss {
                        let _ = spool.loss_reported(loss);
                    }
                    shared
                        .counters
                        .uploaded
                        .fetch_add(count as u64, Ordering::Relaxed);
                    self.batch_limit = (self.batch_limit * 2).min(BATCH_RECORDS);
                }
                Err(UplinkError::TooLarge { .. }) | Err(UplinkError::Rejected { .. })
                    if count > 1 =>
                {
                    self.batch_limit = (count / 2).max(1);
                }
                Err(e @ (UplinkError::TooLarge { .. } | UplinkError::Rejected { .. })) => {
                    // One detection (or the loss report) the center will never take: drop it
                    // so the rest can go; the drop is logged and counted.
                    tracing::error!("dropping an upload the center refuses: {e}");
                    let mut spool = lock(&shared.spool);
                    if let Some(last) = last {
                        let _ = spool.commit(last);
                    }
                    if let Some(loss) = &loss {
                        let _ = spool.loss_reported(loss);
                    }
                }
                Err(UplinkError::Unauthorized { .. }) => {
                    return Err(UplinkError::Unauthorized {
                        url: "/agent/v1/events".to_string(),
                        status: 401,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn final_flush(&mut self, shared: &Shared, client: &mut Client) {
        if client.credential().is_none() {
            return;
        }
        let deadline = Instant::now() + SHUTDOWN_FLUSH;
        if let Err(e) = self.drain_spool(shared, client, Some(deadline)) {
            tracing::info!("left in the spool for the next start: {e}");
        }
    }

    fn run_commands(
        &mut self,
        shared: &Shared,
        client: &Client,
        scan_tx: &SyncSender<ScanJob>,
    ) -> Result<(), UplinkError> {
        let commands = match client.fetch_commands() {
            Ok(commands) => commands,
            Err(UplinkError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut results = Vec::new();
        for command in commands {
            if self.done.contains(&command.id) {
                continue;
            }
            let result = self.execute(shared, &command, scan_tx);
            tracing::info!(
                command = command.id,
                ok = result.ok,
                "command: {}",
                result.message
            );
            results.push(result);
            self.done.push_back(command.id);
            while self.done.len() > DONE_COMMANDS {
                self.done.pop_front();
            }
        }
        if results.is_empty() {
            return Ok(());
        }
        let _ = crate::uplink::write_private(
            &self.done_path,
            &serde_json::to_vec(&self.done).unwrap_or_default(),
        );
        if let Err(e) = shared
            .outbox
            .put_results(&CommandResults { results }, shared.next_order())
        {
            tracing::error!("command results: {e}");
        }
        self.deliver_outbox(shared, client)
    }

    fn execute(
        &self,
        shared: &Shared,
        command: &Command,
        scan_tx: &SyncSender<ScanJob>,
    ) -> CommandResult {
        let finish = |ok: bool,
                      message: String,
                      vault_id: Option<String>,
                      sha256: Option<String>| CommandResult {
            command_id: command.id,
            ok,
            message,
            vault_id,
            sha256,
            finished_at: now_ms(),
        };
        let vault_dir = shared.config.state_dir.join("vault");
        match &command.action {
            CommandAction::Quarantine { path } => {
                let roots = lock(&shared.file_roots).clone();
                match files::quarantine(&vault_dir, &roots, path, SystemTime::now()) {
                    Ok(entry) => finish(
                        true,
                        format!(
                            "moved {path} to the vault as {} (sha256 {})",
                            entry.id, entry.sha256
                        ),
                        Some(entry.id),
                        Some(entry.sha256),
                    ),
                    Err(e) => finish(
                        false,
                        format!("quarantine of {path} failed: {e}"),
                        None,
                        None,
                    ),
                }
            }
            CommandAction::Restore {
                vault_id,
                overwrite,
            } => {
                let roots = lock(&shared.file_roots).clone();
                match files::restore(&vault_dir, &roots, vault_id, *overwrite) {
                    Ok(entry) => finish(
                        true,
                        format!(
                            "restored {} from the vault entry {vault_id}",
                            entry.original_path.display()
                        ),
                        Some(entry.id),
                        Some(entry.sha256),
                    ),
                    Err(e) => finish(
                        false,
                        format!("restore of {vault_id} failed: {e}"),
                        None,
                        None,
                    ),
                }
            }
            CommandAction::Kill { pid, start_ts } => {
                let Some(proc) = &self.proc else {
                    return finish(false, "cannot read /proc".to_string(), None, None);
                };
                let own_ns = self.own_mnt_ns;
                let sidecar = shared.config.mode == AgentMode::Sidecar;
                let refuse = |pid: u32| -> Option<String> {
                    if pid == std::process::id() {
                        return Some("it is the agent itself".to_string());
                    }
                    if pid == 1 {
                        return Some("pid 1 holds the pod or the machine together".to_string());
                    }
                    if sidecar && own_ns.is_some() && mnt_ns_of(proc, pid) == own_ns {
                        return Some("it runs in the agent's own container".to_string());
                    }
                    None
                };
                match kill::kill_verified(proc, *pid, *start_ts, refuse) {
                    Ok(method) => {
                        let how = match method {
                            KillMethod::Pidfd => "pidfd",
                            KillMethod::Kill => "kill",
                        };
                        finish(
                            true,
                            format!("killed process {pid} (SIGKILL via {how})"),
                            None,
                            None,
                        )
                    }
                    Err(e) => finish(false, e.to_string(), None, None),
                }
            }
            CommandAction::Rescan { scan } => {
                let job = match scan {
                    RescanKind::Webshell => ScanJob::SweepAll { full: true },
                    RescanKind::Vulnerability => ScanJob::Inventory,
                    RescanKind::Baseline => ScanJob::PodSpec,
                };
                match scan_tx.try_send(job) {
                    Ok(()) => finish(true, format!("{scan:?} scan started"), None, None),
                    Err(_) => finish(
                        false,
                        "the scan queue is full; try again later".to_string(),
                        None,
                        None,
                    ),
                }
            }
        }
    }
}

fn mnt_ns_of(proc: &ProcFs, pid: u32) -> Option<u64> {
    let mut link = Vec::new();
    proc.readlink(RelPath::pid(pid, "ns/mnt").as_cstr(), &mut link)
        .ok()?;
    namespace_inode(&link)
}

fn enroll_request(shared: &Shared) -> podwarden_api::agent::EnrollRequest {
    let container_id = std::fs::read("/proc/self/cgroup")
        .ok()
        .and_then(|text| crate::collect::procfs::container_id_from_cgroup(&text))
        .unwrap_or_default();
    shared
        .config
        .identity
        .enroll_request(shared.config.mode, container_id)
}

/// Caps glibc's malloc arenas at two: every thread otherwise gets its own arena and the
/// agent's resident memory grows with the thread count. Call once, early, in the agent process.
pub fn limit_malloc_arenas() {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallopt only sets an allocator tunable; M_ARENA_MAX takes an integer.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// The agent's own resident memory (bytes) and CPU time (ms).
pub fn self_usage(proc: &ProcFs) -> (u64, u64) {
    let mut buf = Vec::with_capacity(1024);
    let pid = std::process::id();
    if proc
        .read(RelPath::pid(pid, "stat").as_cstr(), &mut buf, 2048)
        .is_err()
    {
        return (0, 0);
    }
    let Some(stat) = parse_stat(&buf) else {
        return (0, 0);
    };
    let ticks = rustix::param::clock_ticks_per_second().max(1);
    let page = rustix::param::page_size() as u64;
    (
        stat.rss_pages * page,
        (stat.utime + stat.stime) * 1000 / ticks,
    )
}

fn status(shared: &Shared, proc: Option<&ProcFs>) -> AgentStatus {
    let (rss_bytes, cpu_millis_total) = proc.map(self_usage).unwrap_or((0, 0));
    let spool = lock(&shared.spool);
    AgentStatus {
        collectors: lock(&shared.collectors).clone(),
        poll_interval_ms: shared.config.poll_interval.as_millis() as u64,
        spooled: spool.len() as u64,
        dropped_total: spool.dropped_total(),
        rss_bytes,
        cpu_millis_total,
        web_roots: lock(&shared.web_roots)
            .iter()
            .map(|r| r.path.clone())
            .collect(),
    }
}
