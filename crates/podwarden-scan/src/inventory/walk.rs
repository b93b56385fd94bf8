//! The directory walker: inventories a root filesystem by offering its files to detectors.
//!
//! The tree is walked in parallel, one task per directory, without following symlinks: every
//! directory is opened with `openat(parent, name, O_NOFOLLOW | O_DIRECTORY)` relative to its
//! parent's descriptor, so nothing outside the root is ever entered even if the tree changes
//! during the walk. Entry types come from `getdents` (`d_type`); a file is `stat`ed only when a
//! detector may want it, and opened only when one does.

use super::os_release::{OS_RELEASE_PATHS, parse_os_release};
use super::rootfs::{RootFile, RootFs, RootFsError};
use super::{DetectContext, Detector, FileContents, FileInfo, Inventory, Package, Warning};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir};
use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Limits and switches of one inventory run.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Descend into directories on other devices (other mounts). Pseudo filesystems (proc,
    /// sysfs, devtmpfs, cgroup, ...) are skipped either way.
    pub cross_devices: bool,
    /// Worker threads; 0 picks the number of CPUs (at least 2: the walk waits on IO).
    pub threads: usize,
    /// The largest file handed to a detector; larger wanted files become a warning.
    pub max_file_size: u64,
    /// The largest metadata file read whole (os-release, manifests, package databases).
    pub max_metadata_size: u64,
    /// Images: the most bytes all layers may expand to, uncompressed.
    pub max_image_bytes: u64,
    /// Images: the most tar entries all layers may hold together.
    pub max_image_entries: u64,
    /// Images: a file a detector wants is held in memory up to this size, else in a temp file.
    pub max_in_memory_file: u64,
    /// Images: the most bytes of wanted files held in memory together; past it they go to the
    /// temp file too.
    pub max_in_memory_total: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            cross_devices: false,
            threads: 0,
            max_file_size: 1 << 30,
            max_metadata_size: 64 << 20,
            max_image_bytes: 8 << 30,
            max_image_entries: 4_000_000,
            max_in_memory_file: 8 << 20,
            max_in_memory_total: 256 << 20,
        }
    }
}

/// Why an inventory could not be made at all (problems with single files are [`Warning`]s).
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Root(#[from] RootFsError),
    #[error("cannot start worker threads: {0}")]
    Threads(String),
    #[error("{0} detectors given; at most {MAX_DETECTORS} are supported")]
    TooManyDetectors(usize),
    #[error("image {path}: {message}")]
    Image { path: String, message: String },
    #[error("image {path}: {what} exceeds the limit of {limit}")]
    ImageLimit {
        path: String,
        what: String,
        limit: u64,
    },
}

/// The most detectors one run takes (their choices are kept in a 128-bit mask per file).
pub const MAX_DETECTORS: usize = 128;

/// Inventories the root filesystem at `root`.
pub fn inventory_dir(
    root: &Path,
    detectors: &[Box<dyn Detector>],
    opts: &ScanOptions,
) -> Result<Inventory, InventoryError> {
    check_detector_count(detectors)?;
    let rootfs = RootFs::open(root)?;
    let mut collector = Collector::default();
    let os = read_os_release(&rootfs, opts, &mut collector);
    let root_fd = rustix::io::dup(rootfs.root_fd()).map_err(|e| RootFsError::Root {
        root: root.display().to_string(),
        source: e.into(),
    })?;
    let root_dev = rustix::fs::fstat(&root_fd)
        .map_err(|e| RootFsError::Root {
            root: root.display().to_string(),
            source: e.into(),
        })?
        .st_dev;
    let shared = Shared {
        offer: Offer {
            detectors,
            ctx: DetectContext { os: os.clone() },
            max_file_size: opts.max_file_size,
        },
        cross_devices: opts.cross_devices,
        out: Mutex::new(collector),
        files_seen: AtomicU64::new(0),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(worker_threads(opts.threads))
        .thread_name(|i| format!("podwarden-walk-{i}"))
        .build()
        .map_err(|e| InventoryError::Threads(e.to_string()))?;
    pool.scope(|scope| walk_dir(scope, &shared, Arc::new(root_fd), String::new(), root_dev));
    let collector = shared
        .out
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Ok(collector.finish(os, shared.files_seen.into_inner()))
}

pub(crate) fn check_detector_count(detectors: &[Box<dyn Detector>]) -> Result<(), InventoryError> {
    if detectors.len() > MAX_DETECTORS {
        return Err(InventoryError::TooManyDetectors(detectors.len()));
    }
    Ok(())
}

pub(crate) fn worker_threads(requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

/// Reads os-release through in-root symlink resolution; a bad file is a warning.
pub(crate) fn read_os_release(
    rootfs: &RootFs,
    opts: &ScanOptions,
    out: &mut Collector,
) -> Option<super::OsRelease> {
    let limit = opts.max_metadata_size.min(1 << 20);
    for path in OS_RELEASE_PATHS {
        match rootfs.read_file(path, limit) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                match parse_os_release(&text) {
                    Some(os) => return Some(os),
                    None => out.warn(path, "os-release has no ID".to_string()),
                }
            }
            Err(RootFsError::NotFound { .. }) => {}
            Err(e) => out.warn(path, e.to_string()),
        }
    }
    None
}

/// Packages and warnings gathered during a run, sorted into an [`Inventory`] at the end.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub packages: Vec<Package>,
    pub warnings: Vec<Warning>,
}

impl Collector {
    pub fn warn(&mut self, path: &str, message: String) {
        self.warnings.push(Warning {
            path: path.to_string(),
            message,
        });
    }

    pub fn append(&mut self, other: &mut Collector) {
        self.packages.append(&mut other.packages);
        self.warnings.append(&mut other.warnings);
    }

    fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.warnings.is_empty()
    }

    /// Sorts packages by (ecosystem, name, version, location) and warnings by (path, message).
    pub fn finish(mut self, os: Option<super::OsRelease>, files_seen: u64) -> Inventory {
        self.packages.sort_by(|a, b| {
            (a.ecosystem, &a.name, &a.version, &a.location, &a.purl).cmp(&(
                b.ecosystem,
                &b.name,
                &b.version,
                &b.location,
                &b.purl,
            ))
        });
        self.warnings
            .sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
        self.warnings.dedup();
        Inventory {
            os,
            packages: self.packages,
            warnings: self.warnings,
            files_seen,
        }
    }
}

/// Offers files to detectors: the part shared by the directory walker and the image reader.
pub(crate) struct Offer<'a> {
    pub detectors: &'a [Box<dyn Detector>],
    pub ctx: DetectContext,
    pub max_file_size: u64,
}

impl Offer<'_> {
    /// Whether any detector may want a file at this path (before its metadata is known).
    pub fn any_may_want(&self, path: &str, file_name: &str) -> bool {
        self.detectors.iter().any(|d| d.may_want(path, file_name))
    }

    /// Bitmask of the detectors (by index) that want this file.
    pub fn wanting(&self, info: &FileInfo<'_>) -> u128 {
        let mut mask = 0u128;
        for (i, detector) in self.detectors.iter().enumerate().take(MAX_DETECTORS) {
            if detector.may_want(info.path, info.file_name) && detector.wants(info) {
                mask |= 1 << i;
            }
        }
        mask
    }

    /// Runs the wanting detectors on the file; errors and panics become warnings naming it.
    pub fn detect(
        &self,
        info: &FileInfo<'_>,
        mask: u128,
        contents: &dyn FileContents,
        out: &mut Collector,
    ) {
        for (i, detector) in self.detectors.iter().enumerate().take(MAX_DETECTORS) {
            if mask & (1 << i) == 0 {
                continue;
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                detector.detect(info, contents, &self.ctx)
            }));
            match outcome {
                Ok(Ok(mut detected)) => {
                    out.packages.append(&mut detected.packages);
                    out.warnings.append(&mut detected.warnings);
                }
                Ok(Err(message)) => out.warn(info.path, format!("{}: {message}", detector.name())),
                Err(_) => out.warn(
                    info.path,
                    format!(
                        "{}: detector failed unexpectedly on this file",
                        detector.name()
                    ),
                ),
            }
        }
    }

    /// The size check every wanted file goes through before it is opened.
    pub fn too_large(&self, info: &FileInfo<'_>, out: &mut Collector) -> bool {
        if info.size > self.max_file_size {
            out.warn(
                info.path,
                format!(
                    "file is {} bytes, over the {}-byte limit; not read",
                    info.size, self.max_file_size
                ),
            );
            return true;
        }
        false
    }
}

struct Shared<'a> {
    offer: Offer<'a>,
    cross_devices: bool,
    out: Mutex<Collector>,
    files_seen: AtomicU64,
}

/// Filesystems that hold no installed software: never descended into. `path` is the mount
/// point relative to the root (devtmpfs reports tmpfs's magic, so `/dev` is known by its path).
fn is_pseudo_filesystem(magic: i64, path: &str) -> bool {
    const TMPFS: i64 = 0x0102_1994;
    const PSEUDO: &[i64] = &[
        0x9fa0,      // proc
        0x6265_6572, // sysfs
        0x1cd1,      // devpts
        0x0027_e0eb, // cgroup
        0x6367_7270, // cgroup2
        0x6462_6720, // debugfs
        0x7472_6163, // tracefs
        0x7363_6673, // securityfs
        0xcafe_4a11, // bpf
        0x6e73_6673, // nsfs
        0x6165_676c, // pstore
        0xf97c_ff8c, // selinuxfs
        0x4249_4e4d, // binfmt_misc
        0x6573_5543, // fusectl
        0x6265_6570, // configfs
        0x1980_0202, // mqueue
        0x0187,      // autofs (a lookup could trigger a mount)
        0xde5e_81e4, // efivarfs
        0x5a3c_69f0, // hugetlbfs
    ];
    PSEUDO.contains(&magic) || (magic == TMPFS && path == "dev")
}

thread_local! {
    /// One `getdents` buffer per worker, taken while a directory is read (a nested read on the
    /// same thread allocates its own).
    static DIR_BUFFER: RefCell<Option<Vec<MaybeUninit<u8>>>> = const { RefCell::new(None) };
}

const DIR_BUFFER_SIZE: usize = 32 * 1024;

fn take_dir_buffer() -> Vec<MaybeUninit<u8>> {
    DIR_BUFFER
        .with(|cell| cell.borrow_mut().take())
        .unwrap_or_else(|| vec![MaybeUninit::uninit(); DIR_BUFFER_SIZE])
}

fn give_back_dir_buffer(buffer: Vec<MaybeUninit<u8>>) {
    DIR_BUFFER.with(|cell| *cell.borrow_mut() = Some(buffer));
}

/// Opens the subdirectory `name` of `parent` and walks it.
fn open_and_walk<'s>(
    scope: &rayon::Scope<'s>,
    shared: &'s Shared<'s>,
    parent: Arc<OwnedFd>,
    name: CString,
    path: String,
    parent_dev: u64,
) {
    let opened = rustix::fs::openat(
        &*parent,
        name.as_c_str(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    );
    drop(parent);
    let fd = match opened {
        Ok(fd) => fd,
        Err(e) => {
            warn_shared(shared, &path, format!("cannot open directory: {e}"));
            return;
        }
    };
    let dev = match rustix::fs::fstat(&fd) {
        Ok(stat) => stat.st_dev,
        Err(e) => {
            warn_shared(shared, &path, format!("cannot stat directory: {e}"));
            return;
        }
    };
    if dev != parent_dev {
        if !shared.cross_devices {
            return;
        }
        match rustix::fs::fstatfs(&fd) {
            #[allow(clippy::unnecessary_cast)] // f_type is not i64 on every target
            Ok(fs) if is_pseudo_filesystem(fs.f_type as i64, &path) => return,
            Ok(_) => {}
            Err(e) => {
                warn_shared(shared, &path, format!("cannot statfs directory: {e}"));
                return;
            }
        }
    }
    walk_dir(scope, shared, Arc::new(fd), path, dev);
}

fn warn_shared(shared: &Shared<'_>, path: &str, message: String) {
    let mut out = shared.out.lock().unwrap_or_else(|p| p.into_inner());
    out.warn(path, message);
}

/// Reads one directory: spawns a task per subdirectory and offers each regular file.
fn walk_dir<'s>(
    scope: &rayon::Scope<'s>,
    shared: &'s Shared<'s>,
    dir: Arc<OwnedFd>,
    dir_path: String,
    dev: u64,
) {
    let mut local = Collector::default();
    let mut files = 0u64;
    let mut path_buf = String::with_capacity(dir_path.len() + 64);
    let mut buffer = take_dir_buffer();
    {
        let mut entries = RawDir::new(&*dir, &mut buffer);
        while let Some(entry) = entries.next() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    local.warn(&dir_path, format!("cannot read directory: {e}"));
                    break;
                }
            };
            let name = entry.file_name();
            let name_bytes = name.to_bytes();
            if name_bytes == b"." || name_bytes == b".." {
                continue;
            }
            let mut file_type = entry.file_type();
            let mut known_stat = None;
            if file_type == FileType::Unknown {
                // Some filesystems do not fill d_type: ask.
                match rustix::fs::statat(&*dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(stat) => {
                        file_type = FileType::from_raw_mode(stat.st_mode);
                        known_stat = Some(stat);
                    }
                    Err(_) => continue,
                }
            }
            match file_type {
                FileType::Directory => {
                    let child_path = join(&dir_path, name);
                    let child_name = name.to_owned();
                    let parent = Arc::clone(&dir);
                    scope.spawn(move |scope| {
                        open_and_walk(scope, shared, parent, child_name, child_path, dev)
                    });
                }
                FileType::RegularFile => {
                    files += 1;
                    path_buf.clear();
                    push_join(&mut path_buf, &dir_path, name);
                    offer_file(shared, &dir, name, &path_buf, known_stat, &mut local);
                }
                _ => {}
            }
        }
    }
    give_back_dir_buffer(buffer);
    shared.files_seen.fetch_add(files, Ordering::Relaxed);
    if !local.is_empty() {
        let mut out = shared.out.lock().unwrap_or_else(|p| p.into_inner());
        out.append(&mut local);
    }
}

/// Offers one regular file: pre-check by name, stat, `wants`, open, detect.
fn offer_file(
    shared: &Shared<'_>,
    dir: &OwnedFd,
    name: &CStr,
    path: &str,
    known_stat: Option<rustix::fs::Stat>,
    out: &mut Collector,
) {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let offer = &shared.offer;
    if !offer.any_may_want(path, file_name) {
        return;
    }
    let stat = match known_stat {
        Some(stat) => stat,
        None => match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(_) => return, // gone since it was listed
        },
    };
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return;
    }
    let info = FileInfo {
        path,
        file_name,
        size: u64::try_from(stat.st_size).unwrap_or(0),
        executable: stat.st_mode & 0o111 != 0,
    };
    let mask = offer.wanting(&info);
    if mask == 0 || offer.too_large(&info, out) {
        return;
    }
    let opened = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(std::io::Error::from)
    .and_then(RootFile::from_fd);
    match opened {
        Ok(file) => offer.detect(&info, mask, &file, out),
        Err(e) => out.warn(path, format!("cannot open: {e}")),
    }
}

fn join(dir_path: &str, name: &CStr) -> String {
    let mut out = String::with_capacity(dir_path.len() + 1 + name.to_bytes().len());
    push_join(&mut out, dir_path, name);
    out
}

fn push_join(out: &mut String, dir_path: &str, name: &CStr) {
    out.push_str(dir_path);
    if !dir_path.is_empty() {
        out.push('/');
    }
    match name.to_str() {
        Ok(name) => out.push_str(name),
        Err(_) => out.push_str(&String::from_utf8_lossy(name.to_bytes())),
    }
}
