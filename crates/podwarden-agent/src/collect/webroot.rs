//! Web roots and the inotify watch on them: which directories a workload serves code from
//! (common document roots, tomcat `webapps`, the working directories of web servers, and
//! `--web-root` directories), watched recursively so that a file written there is scanned at
//! once. Paths are container paths; directories are opened confined under the container's
//! root (`/proc/PID/root` in sidecar mode) and watched through `/proc/self/fd/N`.

use super::container::{ContainerIndex, Containers};
use super::procfs::ProcFs;
use podwarden_api::event::Process;
use podwarden_scan::inventory::rootfs::RootFs;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::fs::{FileType, Mode, OFlags, RawDir};
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

/// Document roots looked for in every workload container.
pub const DEFAULT_WEB_ROOTS: &[&str] = &[
    "/var/www",
    "/usr/share/nginx/html",
    "/srv/www",
    "/srv/http",
    "/usr/local/apache2/htdocs",
    "/usr/local/tomcat/webapps",
    "/opt/tomcat/webapps",
    "/usr/share/tomcat/webapps",
    "/app/public",
];

/// Processes whose working directory is taken as a web root.
const WEB_SERVER_NAMES: &[&str] = &[
    "httpd", "nginx", "apache2", "lighttpd", "caddy", "php-fpm", "php-cgi", "uwsgi", "gunicorn",
    "puma", "unicorn", "tomcat",
];

/// Working directories never taken as web roots (too wide).
const NOT_WEB_ROOTS: &[&str] = &[
    "/", "/root", "/home", "/usr", "/etc", "/bin", "/sbin", "/tmp", "/var", "/proc", "/sys",
    "/dev", "/opt", "/srv", "/app",
];

/// Deepest directory level watched below a root.
const MAX_DEPTH: usize = 16;

/// A directory to watch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebRoot {
    /// The container (`None`: the host).
    pub container: Option<ContainerIndex>,
    /// Path inside that container.
    pub path: String,
}

/// A file that changed under a watched root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub container: Option<ContainerIndex>,
    /// Container path.
    pub path: String,
    pub kind: ChangeKind,
}

/// What happened to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// Created and written.
    Created,
    /// An existing file was written.
    Modified,
    /// Renamed into place; `from` is the old path when it was under a watched root too.
    Renamed { from: Option<String> },
}

#[derive(Debug, Clone)]
struct Watched {
    container: Option<ContainerIndex>,
    path: String,
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchStats {
    pub watches: usize,
    pub over_cap_total: u64,
    pub overflows: u64,
}

/// The inotify watcher.
#[derive(Debug)]
pub struct WebWatcher {
    inotify: OwnedFd,
    max_watches: usize,
    watches: HashMap<i32, Watched>,
    watched: HashSet<(Option<ContainerIndex>, String)>,
    roots: Vec<WebRoot>,
    created: HashSet<(Option<ContainerIndex>, String)>,
    moved_from: HashMap<u32, String>,
    buf: Vec<u8>,
    dirent: Vec<u8>,
    stats: WatchStats,
    /// Set when the kernel queue overflowed: events were lost, a sweep is needed.
    pub overflowed: bool,
}

/// The root directory of a container as the agent reaches it.
pub fn container_root(
    proc: &ProcFs,
    containers: &Containers,
    container: Option<ContainerIndex>,
) -> Option<PathBuf> {
    match container {
        Some(index) => containers.root_path(proc, index),
        None => Some(PathBuf::from("/")),
    }
}

impl WebWatcher {
    /// A watcher with an inotify instance (non-blocking).
    pub fn new(max_watches: usize) -> std::io::Result<WebWatcher> {
        let inotify = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        Ok(WebWatcher {
            inotify,
            max_watches,
            watches: HashMap::new(),
            watched: HashSet::new(),
            roots: Vec::new(),
            created: HashSet::new(),
            moved_from: HashMap::new(),
            buf: Vec::with_capacity(16 * 1024),
            dirent: Vec::with_capacity(16 * 1024),
            stats: WatchStats::default(),
            overflowed: false,
        })
    }

    /// The inotify descriptor (to wait on).
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.inotify.as_fd()
    }

    /// Counters.
    pub fn stats(&self) -> WatchStats {
        WatchStats {
            watches: self.watches.len(),
            ..self.stats
        }
    }

    /// The roots being watched.
    pub fn roots(&self) -> &[WebRoot] {
        &self.roots
    }

    /// Candidate roots: configured directories and the default document roots in every
    /// container (host: `None`), plus the working directories of web server processes.
    pub fn candidates(
        configured: &[String],
        containers: &[Option<ContainerIndex>],
        processes: &[(Option<ContainerIndex>, String, String)],
    ) -> Vec<WebRoot> {
        let mut roots = Vec::new();
        for &container in containers {
            for path in configured
                .iter()
                .map(String::as_str)
                .chain(DEFAULT_WEB_ROOTS.iter().copied())
            {
                roots.push(WebRoot {
                    container,
                    path: normalize(path),
                });
            }
        }
        for (container, name, cwd) in processes {
            let web_server = WEB_SERVER_NAMES.iter().any(|w| name.starts_with(w));
            let cwd = normalize(cwd);
            if web_server && cwd.starts_with('/') && !NOT_WEB_ROOTS.contains(&cwd.as_str()) {
                roots.push(WebRoot {
                    container: *container,
                    path: cwd,
                });
            }
        }
        roots.sort();
        roots.dedup();
        roots
    }

    /// Watches every candidate that exists (and is not inside another root). Returns the roots
    /// newly watched (their existing files deserve a scan).
    pub fn update_roots(
        &mut self,
        proc: &ProcFs,
        containers: &Containers,
        candidates: Vec<WebRoot>,
    ) -> Vec<WebRoot> {
        let mut added = Vec::new();
        for candidate in candidates {
            let covered = self
                .roots
                .iter()
                .any(|r| r.container == candidate.container && is_within(&candidate.path, &r.path));
            if covered {
                continue;
            }
            let Some(root) = container_root(proc, containers, candidate.container) else {
                continue;
            };
            let Ok(rootfs) = RootFs::open(&root) else {
                continue;
            };
            let Ok(dir) = rootfs.open_dir(&candidate.path) else {
                continue;
            };
            // A new root may contain existing ones: they stay (their watches are shared).
            self.add_tree(dir, candidate.container, candidate.path.clone(), 0);
            self.roots.push(candidate.clone());
            added.push(candidate);
        }
        added
    }

    /// Drops roots of containers that are gone.
    pub fn forget_container(&mut self, container: ContainerIndex) {
        self.roots.retain(|r| r.container != Some(container));
        let gone: Vec<i32> = self
            .watches
            .iter()
            .filter(|(_, w)| w.container == Some(container))
            .map(|(&wd, _)| wd)
            .collect();
        for wd in gone {
            let _ = inotify::remove_watch(&self.inotify, wd);
            if let Some(w) = self.watches.remove(&wd) {
                self.watched.remove(&(w.container, w.path));
            }
        }
    }

    fn add_tree(
        &mut self,
        dir: OwnedFd,
        container: Option<ContainerIndex>,
        path: String,
        depth: usize,
    ) {
        if self.watches.len() >= self.max_watches {
            self.stats.over_cap_total += 1;
            return;
        }
        if !self.watched.contains(&(container, path.clone())) {
            let via = format!("/proc/self/fd/{}", dir.as_raw_fd());
            let mask = WatchFlags::CLOSE_WRITE
                | WatchFlags::MOVED_TO
                | WatchFlags::MOVED_FROM
                | WatchFlags::CREATE
                | WatchFlags::ONLYDIR;
            match inotify::add_watch(&self.inotify, via.as_str(), mask) {
                Ok(wd) => {
                    self.watches.insert(
                        wd,
                        Watched {
                            container,
                            path: path.clone(),
                        },
                    );
                    self.watched.insert((container, path.clone()));
                }
                Err(_) => return,
            }
        }
        if depth >= MAX_DEPTH {
            return;
        }
        let mut children = Vec::new();
        {
            let mut raw = RawDir::new(&dir, self.dirent.spare_capacity_mut());
            while let Some(Ok(entry)) = raw.next() {
                let name = entry.file_name().to_bytes();
                if name == b"." || name == b".." || name == b".git" {
                    continue;
                }
                if entry.file_type() == FileType::Directory {
                    children.push(entry.file_name().to_owned());
                }
            }
        }
        for child in children {
            let Ok(sub) = rustix::fs::openat(
                &dir,
                child.as_c_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) else {
                continue;
            };
            let sub_path = join(&path, &String::from_utf8_lossy(child.to_bytes()));
            self.add_tree(sub, container, sub_path, depth + 1);
        }
    }

    /// Reads pending inotify events into file changes (and watches new directories).
    pub fn read(&mut self, proc: &ProcFs, containers: &Containers, out: &mut Vec<FileChange>) {
        let mut new_dirs: Vec<(Option<ContainerIndex>, String)> = Vec::new();
        {
            let mut reader = inotify::Reader::new(&self.inotify, self.buf.spare_capacity_mut());
            // Ends at EAGAIN (nothing more queued) or any error.
            while let Ok(event) = reader.next() {
                let flags = event.events();
                if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                    self.overflowed = true;
                    self.stats.overflows += 1;
                    continue;
                }
                if flags.contains(ReadFlags::IGNORED) {
                    if let Some(w) = self.watches.remove(&event.wd()) {
                        self.watched.remove(&(w.container, w.path));
                    }
                    continue;
                }
                let Some(dir) = self.watches.get(&event.wd()) else {
                    continue;
                };
                let Some(name) = event.file_name() else {
                    continue;
                };
                let path = join(&dir.path, &String::from_utf8_lossy(name.to_bytes()));
                let container = dir.container;
                let is_dir = flags.contains(ReadFlags::ISDIR);
                if is_dir {
                    if flags.intersects(ReadFlags::CREATE | ReadFlags::MOVED_TO) {
                        new_dirs.push((container, path));
                    }
                    continue;
                }
                if flags.contains(ReadFlags::CREATE) {
                    if self.created.len() < 4096 {
                        self.created.insert((container, path));
                    }
                } else if flags.contains(ReadFlags::CLOSE_WRITE) {
                    let kind = if self.created.remove(&(container, path.clone())) {
                        ChangeKind::Created
                    } else {
                        ChangeKind::Modified
                    };
                    out.push(FileChange {
                        container,
                        path,
                        kind,
                    });
                } else if flags.contains(ReadFlags::MOVED_FROM) {
                    if self.moved_from.len() > 256 {
                        self.moved_from.clear();
                    }
                    self.moved_from.insert(event.cookie(), path);
                } else if flags.contains(ReadFlags::MOVED_TO) {
                    let from = self.moved_from.remove(&event.cookie());
                    out.push(FileChange {
                        container,
                        path,
                        kind: ChangeKind::Renamed { from },
                    });
                }
            }
        }
        for (container, path) in new_dirs {
            let Some(root) = container_root(proc, containers, container) else {
                continue;
            };
            let Ok(rootfs) = RootFs::open(&root) else {
                continue;
            };
            let Ok(dir) = rootfs.open_dir(&path) else {
                continue;
            };
            self.add_tree(dir, container, path.clone(), 0);
            // Files that landed before the watch existed.
            list_files(&rootfs, &path, container, out);
        }
    }
}

/// Every regular file directly and below `path` (bounded), reported as created.
fn list_files(
    rootfs: &RootFs,
    path: &str,
    container: Option<ContainerIndex>,
    out: &mut Vec<FileChange>,
) {
    let mut stack = vec![(path.to_string(), 0usize)];
    let mut budget = 1024usize;
    let mut dirent: Vec<u8> = Vec::with_capacity(8192);
    while let Some((dir_path, depth)) = stack.pop() {
        let Ok(dir) = rootfs.open_dir(&dir_path) else {
            continue;
        };
        let mut raw = RawDir::new(&dir, dirent.spare_capacity_mut());
        while let Some(Ok(entry)) = raw.next() {
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let child = join(&dir_path, &String::from_utf8_lossy(name));
            match entry.file_type() {
                FileType::RegularFile if budget > 0 => {
                    budget -= 1;
                    out.push(FileChange {
                        container,
                        path: child,
                        kind: ChangeKind::Created,
                    });
                }
                FileType::Directory if depth < MAX_DEPTH => stack.push((child, depth + 1)),
                _ => {}
            }
        }
    }
}

/// Web-server processes' working directories, as `(container, name, cwd)`.
pub fn web_server_dirs(
    processes: &[(Option<ContainerIndex>, &Process)],
) -> Vec<(Option<ContainerIndex>, String, String)> {
    processes
        .iter()
        .filter(|(_, p)| WEB_SERVER_NAMES.iter().any(|w| p.name.starts_with(w)))
        .map(|(c, p)| (*c, p.name.clone(), p.cwd.clone()))
        .collect()
}

/// `/a/b/` → `/a/b`; relative paths get a leading `/`.
pub fn normalize(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

/// Whether `path` is `root` or below it.
pub fn is_within(path: &str, root: &str) -> bool {
    root == "/"
        || path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}
