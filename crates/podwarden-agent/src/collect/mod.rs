//! Collectors that need no special privileges: `/proc` polling for processes (with the
//! netlink process connector where it is available), the socket tables for connections and
//! listeners, and inotify on web roots. [`Collector::step`] waits for the next thing to do
//! and hands back events (not yet stamped) and files to scan.

pub mod container;
pub mod fanotify;
pub mod net;
pub mod netlink;
pub mod process;
pub mod procfs;
pub mod sockets;
pub mod users;
pub mod webroot;

use container::{ContainerIndex, Containers, PodIdentity};
use netlink::{ProcConnector, ProcNotice};
use podwarden_api::event::{Event, EventBody, FileInfo};
use process::{Env, ProcessTracker, TrackerConfig};
use procfs::{ProcError, ProcFs, RelPath};
use rustix::event::{PollFd, PollFlags};
use sockets::{SocketConfig, SocketTracker};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use webroot::{ChangeKind, FileChange, WebRoot, WebWatcher};

/// Settings of the collectors.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// Sidecar mode (containers by mount namespace) or host mode.
    pub sidecar: bool,
    /// Where procfs is mounted.
    pub proc_path: PathBuf,
    /// Poll interval of `/proc`.
    pub poll_interval: Duration,
    pub tracker: TrackerConfig,
    pub sockets: SocketConfig,
    /// `--web-root` directories (container paths in sidecar mode).
    pub web_roots: Vec<String>,
    /// Whether to look for web roots at all (and watch them).
    pub watch_web_roots: bool,
    pub max_watches: usize,
    /// Use the netlink process connector when the agent may.
    pub netlink: bool,
    /// Web roots are looked for again this often.
    pub rediscover: Duration,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            sidecar: false,
            proc_path: PathBuf::from("/proc"),
            poll_interval: Duration::from_millis(100),
            tracker: TrackerConfig::default(),
            sockets: SocketConfig::default(),
            web_roots: Vec::new(),
            watch_web_roots: true,
            max_watches: 8192,
            netlink: true,
            rediscover: Duration::from_secs(15),
        }
    }
}

/// A file to scan for webshells.
#[derive(Debug, Clone)]
pub struct FileToScan {
    /// The container's root as the agent reaches it (`/proc/PID/root`, or `/`).
    pub root: PathBuf,
    /// Path inside the container.
    pub path: String,
    /// The file event that triggered it (attached once stamped).
    pub event: Option<Event>,
}

/// What one step produced.
#[derive(Debug, Default)]
pub struct StepOutput {
    pub events: Vec<Event>,
    pub files: Vec<FileToScan>,
    /// Roots newly watched: `(container root, container path)`, to sweep once.
    pub new_roots: Vec<(PathBuf, String)>,
}

impl StepOutput {
    /// Empties the output, keeping capacity.
    pub fn clear(&mut self) {
        self.events.clear();
        self.files.clear();
        self.new_roots.clear();
    }
}

/// Counters of all collectors.
#[derive(Debug, Clone, Default)]
pub struct CollectorStats {
    pub processes: process::TrackerStats,
    pub sockets: sockets::SocketStats,
    pub watches: webroot::WatchStats,
    pub ticks: u64,
    pub netlink_notices: u64,
    pub netlink_overruns: u64,
}

/// Every collector, driven from one thread.
pub struct Collector {
    config: CollectorConfig,
    proc: ProcFs,
    containers: Containers,
    tracker: ProcessTracker,
    sockets: SocketTracker,
    watcher: Option<WebWatcher>,
    connector: Option<ProcConnector>,
    /// Why the connector is not used (for the status).
    connector_note: Option<String>,
    /// What fanotify would allow here (for the status).
    fanotify: fanotify::FanotifyAvailability,
    notices: Vec<ProcNotice>,
    changes: Vec<FileChange>,
    next_tick: Instant,
    last_discovery: Option<Instant>,
    known_containers: usize,
    ticks: u64,
    netlink_notices: u64,
    /// Polls that found new processes while the connector announced none: the connector is
    /// dropped when this keeps happening (it may be silently refused).
    connector_misses: u32,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Collector {
    /// Opens `/proc`, the inotify instance and (when allowed) the process connector.
    pub fn new(config: CollectorConfig, pod: PodIdentity) -> Result<Collector, ProcError> {
        let proc = ProcFs::open(&config.proc_path)?;
        let own_pid = config.tracker.own_pid;
        let containers = Containers::new(&proc, own_pid, pod);
        let mut connector_note = None;
        let connector = if config.netlink {
            let mut text = Vec::new();
            let status = proc
                .read(RelPath::pid(own_pid, "status").as_cstr(), &mut text, 8192)
                .ok()
                .map(|_| procfs::parse_status(&text))
                .unwrap_or_default();
            let mut link = Vec::new();
            let mut ns_inode = |kind: &str| {
                proc.readlink(RelPath::pid(own_pid, kind).as_cstr(), &mut link)
                    .ok()
                    .and_then(|()| procfs::namespace_inode(&link))
            };
            let initial = netlink::in_initial_namespaces(ns_inode("ns/pid"), ns_inode("ns/user"));
            match ProcConnector::open(initial, status.cap_effective.unwrap_or(0)) {
                Ok(connector) => Some(connector),
                Err(e) => {
                    connector_note = Some(e.to_string());
                    None
                }
            }
        } else {
            connector_note = Some("disabled by configuration".to_string());
            None
        };
        let watcher = if config.watch_web_roots {
            WebWatcher::new(config.max_watches).ok()
        } else {
            None
        };
        Ok(Collector {
            tracker: ProcessTracker::new(config.tracker.clone()),
            sockets: SocketTracker::new(config.sockets.clone(), own_pid),
            proc,
            containers,
            watcher,
            connector,
            connector_note,
            fanotify: fanotify::probe(),
            notices: Vec::with_capacity(256),
            changes: Vec::new(),
            next_tick: Instant::now(),
            last_discovery: None,
            known_containers: 0,
            ticks: 0,
            netlink_notices: 0,
            connector_misses: 0,
            config,
        })
    }

    /// Names of the collectors in use, for the agent status, followed by the event sources
    /// not in use and why (`name: ...`), so the status says honestly what the pod allows.
    pub fn collectors(&self) -> Vec<String> {
        let mut names = vec!["proc-poll".to_string(), "proc-net".to_string()];
        if self.connector.is_some() {
            names.push("netlink-proc-connector".to_string());
        }
        if self.watcher.is_some() {
            names.push("inotify".to_string());
        }
        if self.connector.is_none() {
            names.push(format!(
                "netlink-proc-connector: not used ({})",
                self.connector_note.as_deref().unwrap_or("unavailable")
            ));
        }
        names.push(self.fanotify.status_entry());
        names
    }

    /// Why the process connector is not in use, when it is not.
    pub fn connector_note(&self) -> Option<&str> {
        self.connector_note.as_deref()
    }

    /// `/proc` as opened.
    pub fn proc(&self) -> &ProcFs {
        &self.proc
    }

    /// The containers seen.
    pub fn containers(&self) -> &Containers {
        &self.containers
    }

    /// The process table.
    pub fn tracker(&self) -> &ProcessTracker {
        &self.tracker
    }

    /// The web roots watched.
    pub fn web_roots(&self) -> Vec<WebRoot> {
        self.watcher
            .as_ref()
            .map(|w| w.roots().to_vec())
            .unwrap_or_default()
    }

    /// The root of each workload container (sidecar) or of the host: `(index, root, name)`.
    pub fn scan_targets(&self) -> Vec<(Option<ContainerIndex>, PathBuf, String, Option<String>)> {
        if !self.config.sidecar {
            let host = std::fs::read_to_string("/etc/hostname")
                .unwrap_or_default()
                .trim()
                .to_string();
            return vec![(
                None,
                PathBuf::from("/"),
                if host.is_empty() {
                    "host".to_string()
                } else {
                    host
                },
                None,
            )];
        }
        self.containers
            .workloads()
            .filter_map(|(index, slot)| {
                let root = self.containers.root_path(&self.proc, index)?;
                let name = slot
                    .info
                    .name
                    .clone()
                    .unwrap_or_else(|| slot.info.id.clone());
                Some((Some(index), root, name, slot.info.image.clone()))
            })
            .collect()
    }

    /// Container roots for file actions: `(confined view, plain path when reachable)`.
    pub fn file_roots(&self) -> Vec<crate::respond::files::ContainerRoot> {
        if !self.config.sidecar {
            return vec![crate::respond::files::ContainerRoot {
                via: PathBuf::from("/"),
                path: Some(PathBuf::from("/")),
            }];
        }
        self.containers
            .workloads()
            .filter_map(|(index, slot)| {
                Some(crate::respond::files::ContainerRoot {
                    via: self.containers.root_path(&self.proc, index)?,
                    path: slot.root_prefix.as_ref().map(PathBuf::from),
                })
            })
            .collect()
    }

    /// Counters.
    pub fn stats(&self) -> CollectorStats {
        CollectorStats {
            processes: self.tracker.stats(),
            sockets: self.sockets.stats(),
            watches: self.watcher.as_ref().map(|w| w.stats()).unwrap_or_default(),
            ticks: self.ticks,
            netlink_notices: self.netlink_notices,
            netlink_overruns: self.connector.as_ref().map_or(0, |c| c.overruns),
        }
    }

    /// Waits (at most until the next poll, and never past `limit`) for process notifications
    /// or file events, handles them, and polls `/proc` when the interval has passed.
    pub fn step(&mut self, limit: Duration, out: &mut StepOutput) {
        let now = Instant::now();
        let wait = self.next_tick.saturating_duration_since(now).min(limit);
        if !wait.is_zero() {
            self.wait(wait);
        }
        self.drain_connector(out);
        self.drain_watcher(out);
        if Instant::now() >= self.next_tick {
            self.poll(out);
            let interval = self.config.poll_interval;
            self.next_tick += interval;
            let now = Instant::now();
            if self.next_tick <= now {
                // Fell behind (a slow tick or a suspended process): start again from now.
                self.next_tick = now + interval;
            }
        }
    }

    fn wait(&self, timeout: Duration) {
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(2);
        if let Some(c) = &self.connector {
            fds.push(PollFd::from_borrowed_fd(c.fd(), PollFlags::IN));
        }
        if let Some(w) = &self.watcher {
            fds.push(PollFd::from_borrowed_fd(w.fd(), PollFlags::IN));
        }
        let timeout = rustix::time::Timespec::try_from(timeout).unwrap_or(rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        });
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
    }

    fn drain_connector(&mut self, out: &mut StepOutput) {
        let Some(connector) = &mut self.connector else {
            return;
        };
        self.notices.clear();
        connector.drain(&mut self.notices);
        if self.notices.is_empty() {
            return;
        }
        self.netlink_notices += self.notices.len() as u64;
        self.connector_misses = 0;
        let mut env = Env {
            proc: &self.proc,
            containers: &mut self.containers,
            sockets: &mut self.sockets,
        };
        for notice in &self.notices {
            match *notice {
                ProcNotice::Fork { pid } | ProcNotice::Exec { pid } => {
                    self.tracker.observe(&mut env, pid, &mut out.events)
                }
                ProcNotice::Exit { pid } => {
                    self.tracker.observe_exit(&mut env, pid, &mut out.events)
                }
            }
        }
    }

    fn drain_watcher(&mut self, out: &mut StepOutput) {
        let Some(watcher) = &mut self.watcher else {
            return;
        };
        self.changes.clear();
        watcher.read(&self.proc, &self.containers, &mut self.changes);
        for change in self.changes.drain(..) {
            tracing::debug!(path = %change.path, kind = ?change.kind, "web root change");
            let Some(root) =
                webroot::container_root(&self.proc, &self.containers, change.container)
            else {
                continue;
            };
            let size = podwarden_scan::inventory::rootfs::RootFs::open(&root)
                .ok()
                .and_then(|fs| fs.open_file(&change.path).ok())
                .map(|f| podwarden_scan::inventory::FileContents::len(&f));
            let file = FileInfo {
                path: change.path.clone(),
                size,
                fd: None,
            };
            let body = match change.kind {
                ChangeKind::Created => EventBody::FileCreated {
                    process: None,
                    file,
                },
                ChangeKind::Modified => EventBody::FileModified {
                    process: None,
                    file,
                },
                ChangeKind::Renamed { from } => EventBody::FileRenamed {
                    process: None,
                    file,
                    old_path: from.unwrap_or_default(),
                },
            };
            out.events
                .push(process::event_for(body, change.container, &self.containers));
            out.files.push(FileToScan {
                root,
                path: change.path,
                event: None,
            });
        }
    }

    fn poll(&mut self, out: &mut StepOutput) {
        self.ticks += 1;
        self.sockets.begin_tick();
        let before = self.tracker.stats().seen_total;
        {
            let mut env = Env {
                proc: &self.proc,
                containers: &mut self.containers,
                sockets: &mut self.sockets,
            };
            self.tracker
                .tick(&mut env, self.config.poll_interval, &mut out.events);
        }
        // A connector that never reports while polling keeps finding processes is not working
        // here (refused silently): fall back to polling alone.
        if self.connector.is_some() && self.tracker.stats().seen_total > before && self.ticks > 10 {
            self.connector_misses += 1;
            if self.connector_misses >= 50 && self.netlink_notices == 0 {
                self.connector = None;
                self.connector_note = Some("subscribed, but no notification arrived".to_string());
            }
        }
        if self.sockets.due(&self.proc, Instant::now()) {
            self.sockets
                .poll(&self.tracker, &self.proc, &self.containers, &mut out.events);
        }
        let containers_now = self.containers.workloads().count();
        let due = self
            .last_discovery
            .is_none_or(|at| at.elapsed() >= self.config.rediscover)
            || containers_now != self.known_containers;
        if due {
            self.known_containers = containers_now;
            self.last_discovery = Some(Instant::now());
            self.discover(out);
        }
    }

    /// Looks for web roots again and watches the new ones.
    fn discover(&mut self, out: &mut StepOutput) {
        let Some(watcher) = &mut self.watcher else {
            return;
        };
        let containers: Vec<Option<ContainerIndex>> = if self.config.sidecar {
            self.containers.workloads().map(|(i, _)| Some(i)).collect()
        } else {
            vec![None]
        };
        let mut servers = Vec::new();
        self.tracker.each_live(|_, process, container| {
            servers.push((container, process.name.clone(), process.cwd.clone()));
        });
        let candidates = WebWatcher::candidates(&self.config.web_roots, &containers, &servers);
        for root in watcher.update_roots(&self.proc, &self.containers, candidates) {
            tracing::debug!(path = %root.path, container = ?root.container, "watching a web root");
            if let Some(path) =
                webroot::container_root(&self.proc, &self.containers, root.container)
            {
                out.new_roots.push((path, root.path));
            }
        }
    }
}
