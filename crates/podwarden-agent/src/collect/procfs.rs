//! Cheap reads of `/proc`: a held directory descriptor, `openat` relative to it, caller-owned
//! buffers, and parsers for `stat`, `status`, `cmdline` and fd links that allocate nothing.
//!
//! Every parser takes bytes and returns `None` (or skips a line) on input it does not
//! understand: a process can vanish or change between two reads, and nothing read here may
//! panic the agent.

use rustix::buffer::spare_capacity;
use rustix::fs::{Mode, OFlags, RawDir, SeekFrom};
use rustix::io::Errno;
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Longest command line kept, bytes (longer ones are cut and end with `...`).
pub const MAX_CMDLINE: usize = 4096;
/// Most arguments kept from a command line.
pub const MAX_ARGS: usize = 128;

/// `/proc` opened once; every read is an `openat` relative to this descriptor.
#[derive(Debug)]
pub struct ProcFs {
    dir: OwnedFd,
    path: PathBuf,
    /// Kernel clock ticks per second (`USER_HZ`), for `starttime`.
    clock_ticks: u64,
    /// Boot time, nanoseconds since the Unix epoch (`btime` of `/proc/stat`).
    boot_time_ns: u64,
}

/// Why `/proc` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: no btime line, cannot convert process start times")]
    NoBootTime { path: String },
}

/// A short path relative to `/proc` built on the stack (`1234/stat`), NUL-terminated.
pub struct RelPath {
    buf: [u8; 64],
    len: usize,
}

impl RelPath {
    /// `<pid>/<suffix>`; `suffix` may be empty (the pid directory itself).
    pub fn pid(pid: u32, suffix: &str) -> RelPath {
        let mut path = RelPath {
            buf: [0; 64],
            len: 0,
        };
        path.push_u64(u64::from(pid));
        if !suffix.is_empty() {
            path.push(b"/");
            path.push(suffix.as_bytes());
        }
        path
    }

    /// A bare number (a descriptor name inside a `fd` directory).
    pub fn number(n: u32) -> RelPath {
        let mut path = RelPath {
            buf: [0; 64],
            len: 0,
        };
        path.push_u64(u64::from(n));
        path
    }

    /// `<pid>/fd/<fd>`.
    pub fn fd(pid: u32, fd: u32) -> RelPath {
        let mut path = RelPath::pid(pid, "fd/");
        path.push_u64(u64::from(fd));
        path
    }

    fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            // Keep the last byte for the NUL; longer paths are never built by this module.
            if self.len + 1 < self.buf.len() && b != 0 {
                if let Some(slot) = self.buf.get_mut(self.len) {
                    *slot = b;
                }
                self.len += 1;
            }
        }
    }

    fn push_u64(&mut self, mut value: u64) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            if let Some(slot) = digits.get_mut(n) {
                *slot = b'0' + (value % 10) as u8;
            }
            n += 1;
            value /= 10;
            if value == 0 || n == digits.len() {
                break;
            }
        }
        for i in (0..n).rev() {
            let d = digits.get(i).copied().unwrap_or(b'0');
            self.push(&[d]);
        }
    }

    /// The path as a C string.
    pub fn as_cstr(&self) -> &CStr {
        let end = (self.len + 1).min(self.buf.len());
        CStr::from_bytes_with_nul(self.buf.get(..end).unwrap_or(b"\0")).unwrap_or(c"")
    }
}

impl ProcFs {
    /// Opens `/proc` (or another procfs mount, for tests) and reads the boot time.
    pub fn open(path: &Path) -> Result<ProcFs, ProcError> {
        let dir = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ProcError::Open {
            path: path.display().to_string(),
            source: e.into(),
        })?;
        let stat_path = path.join("stat");
        let text = std::fs::read(&stat_path).map_err(|source| ProcError::Open {
            path: stat_path.display().to_string(),
            source,
        })?;
        let btime = parse_btime(&text).ok_or_else(|| ProcError::NoBootTime {
            path: stat_path.display().to_string(),
        })?;
        Ok(ProcFs {
            dir,
            path: path.to_path_buf(),
            clock_ticks: rustix::param::clock_ticks_per_second().max(1),
            boot_time_ns: btime.saturating_mul(1_000_000_000),
        })
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The held directory descriptor.
    pub fn dir(&self) -> &OwnedFd {
        &self.dir
    }

    /// Converts a `starttime` (clock ticks after boot) to nanoseconds since the Unix epoch.
    pub fn start_time_ns(&self, start_ticks: u64) -> u64 {
        let per_tick = 1_000_000_000 / self.clock_ticks;
        self.boot_time_ns
            .saturating_add(start_ticks.saturating_mul(per_tick))
    }

    /// Lists the numeric entries of `/proc` (thread-group ids) into `out` (cleared first),
    /// using `dirent_buf` for `getdents`. Allocates only when `out` must grow.
    pub fn list_pids(&self, dirent_buf: &mut Vec<u8>, out: &mut Vec<u32>) -> std::io::Result<()> {
        out.clear();
        rustix::fs::seek(&self.dir, SeekFrom::Start(0))?;
        let mut dir = RawDir::new(self.dir.as_fd(), dirent_buf.spare_capacity_mut());
        while let Some(entry) = dir.next() {
            let entry = entry?;
            if let Some(pid) = parse_u32(entry.file_name().to_bytes()) {
                out.push(pid);
            }
        }
        Ok(())
    }

    /// Reads `/proc/<rel>` into `buf` (cleared first), at most `limit` bytes. Returns the
    /// number of bytes read.
    pub fn read(&self, rel: &CStr, buf: &mut Vec<u8>, limit: usize) -> std::io::Result<usize> {
        let fd = rustix::fs::openat(
            &self.dir,
            rel,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        read_fd(&fd, buf, limit)
    }

    /// Reads the symlink `/proc/<rel>` into `buf` (cleared first).
    pub fn readlink(&self, rel: &CStr, buf: &mut Vec<u8>) -> std::io::Result<()> {
        readlink_into(&self.dir, rel, buf)
    }

    /// Opens the directory `/proc/<rel>`.
    pub fn open_dir(&self, rel: &CStr) -> std::io::Result<OwnedFd> {
        Ok(rustix::fs::openat(
            &self.dir,
            rel,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }
}

/// Reads a whole file descriptor into `buf` (cleared first), at most `limit` bytes.
pub fn read_fd(fd: &OwnedFd, buf: &mut Vec<u8>, limit: usize) -> std::io::Result<usize> {
    buf.clear();
    while buf.len() < limit {
        if buf.capacity() == buf.len() {
            buf.reserve(4096.min(limit - buf.len()).max(256));
        }
        match rustix::io::read(fd, spare_capacity(buf)) {
            Ok(0) => break,
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    buf.truncate(limit);
    Ok(buf.len())
}

/// `readlinkat(dir, rel)` into `buf` (cleared first); targets longer than 4 KiB are cut.
pub fn readlink_into(dir: &OwnedFd, rel: &CStr, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    if buf.capacity() < 4096 {
        buf.reserve(4096);
    }
    rustix::fs::readlinkat_raw(dir, rel, spare_capacity(buf))?;
    Ok(())
}

/// Parses ASCII decimal digits (no sign, no spaces) into a `u32`.
pub fn parse_u32(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 10 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(b - b'0');
    }
    u32::try_from(value).ok()
}

/// Parses ASCII decimal digits into a `u64`.
pub fn parse_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// Parses an optionally negative decimal into an `i64`.
fn parse_i64(bytes: &[u8]) -> Option<i64> {
    match bytes.split_first() {
        Some((b'-', rest)) => parse_u64(rest)
            .and_then(|v| i64::try_from(v).ok())
            .map(|v| -v),
        _ => parse_u64(bytes).and_then(|v| i64::try_from(v).ok()),
    }
}

/// `btime` of `/proc/stat`: boot time in seconds since the epoch.
pub fn parse_btime(text: &[u8]) -> Option<u64> {
    text.split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"btime "))
        .and_then(|rest| parse_u64(trim(rest)))
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// A process name (`comm`) held inline: the kernel keeps at most 15 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Comm {
    bytes: [u8; 16],
    len: u8,
}

impl Comm {
    /// From raw bytes (cut to 16).
    pub fn new(raw: &[u8]) -> Comm {
        let mut comm = Comm::default();
        let n = raw.len().min(16);
        if let (Some(dst), Some(src)) = (comm.bytes.get_mut(..n), raw.get(..n)) {
            dst.copy_from_slice(src);
        }
        comm.len = n as u8;
        comm
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// As text (invalid UTF-8 replaced).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

/// The fields of `/proc/PID/stat` the agent uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    pub pid: u32,
    pub comm: Comm,
    /// State letter (`R`, `S`, `Z`, ...).
    pub state: u8,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
    pub tty_nr: u32,
    /// Kernel `PF_*` flags (field 9).
    pub flags: u32,
    /// User and system CPU time, clock ticks.
    pub utime: u64,
    pub stime: u64,
    /// Start time, clock ticks after boot.
    pub start_ticks: u64,
    /// Resident set size, pages.
    pub rss_pages: u64,
}

/// `PF_KTHREAD` of the `stat` flags: a kernel thread.
pub const PF_KTHREAD: u32 = 0x0020_0000;

impl Stat {
    /// A kernel thread. Told by its flag, never by pid 2 (`kthreadd`): in a pid namespace
    /// pid 2 is an ordinary process, often the workload itself.
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Parses `/proc/PID/stat`. The name is in parentheses and may itself contain `)` and spaces,
/// so the fields are counted after the *last* `)`.
pub fn parse_stat(text: &[u8]) -> Option<Stat> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let pid = parse_u32(trim(text.get(..open)?))?;
    let comm = Comm::new(text.get(open + 1..close)?);
    let mut fields = text
        .get(close + 1..)?
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty());
    // Fields after the name, numbered from 3 as in proc(5).
    let mut stat = Stat {
        pid,
        comm,
        ..Stat::default()
    };
    for number in 3..=24 {
        let field = trim(fields.next()?);
        match number {
            3 => stat.state = *field.first()?,
            4 => stat.ppid = parse_u32(field)?,
            5 => stat.pgrp = parse_u32(field)?,
            6 => stat.session = parse_u32(field)?,
            // tty_nr is a signed int in the kernel's output but never negative in practice.
            7 => {
                stat.tty_nr = parse_i64(field)
                    .and_then(|v| u32::try_from(v).ok())
                    .unwrap_or(0)
            }
            9 => stat.flags = parse_u32(field).unwrap_or(0),
            14 => stat.utime = parse_u64(field)?,
            15 => stat.stime = parse_u64(field)?,
            22 => stat.start_ticks = parse_u64(field)?,
            24 => {
                stat.rss_pages = parse_i64(field)
                    .and_then(|v| u64::try_from(v).ok())
                    .unwrap_or(0)
            }
            _ => {}
        }
    }
    Some(stat)
}

/// The fields of `/proc/PID/status` the agent uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    /// Real uid and gid.
    pub uid: u32,
    pub gid: u32,
    pub cap_inheritable: Option<u64>,
    pub cap_permitted: Option<u64>,
    pub cap_effective: Option<u64>,
    pub tracer_pid: u32,
    /// Number of pid namespaces the process is in (entries of `NSpid`); 1 means the initial.
    pub pid_ns_depth: u32,
}

/// Parses `/proc/PID/status`.
pub fn parse_status(text: &[u8]) -> Status {
    let mut status = Status::default();
    for line in text.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (key, rest) = line.split_at(colon);
        let value = trim(rest.get(1..).unwrap_or_default());
        let first = || {
            value
                .split(|b| b.is_ascii_whitespace())
                .find(|f| !f.is_empty())
        };
        match key {
            b"Uid" => status.uid = first().and_then(parse_u32).unwrap_or(0),
            b"Gid" => status.gid = first().and_then(parse_u32).unwrap_or(0),
            b"CapInh" => status.cap_inheritable = parse_hex_u64(value),
            b"CapPrm" => status.cap_permitted = parse_hex_u64(value),
            b"CapEff" => status.cap_effective = parse_hex_u64(value),
            b"TracerPid" => status.tracer_pid = parse_u32(value).unwrap_or(0),
            b"NSpid" => {
                status.pid_ns_depth = value
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|f| !f.is_empty())
                    .count() as u32
            }
            _ => {}
        }
    }
    status
}

fn parse_hex_u64(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?;
    u64::from_str_radix(text, 16).ok()
}

/// Splits a NUL-separated command line into at most [`MAX_ARGS`] arguments.
pub fn parse_cmdline(raw: &[u8]) -> Vec<String> {
    let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
    if raw.is_empty() {
        return Vec::new();
    }
    let mut args: Vec<String> = raw
        .split(|&b| b == 0)
        .take(MAX_ARGS)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if raw.len() >= MAX_CMDLINE
        && let Some(last) = args.last_mut()
    {
        last.push_str("...");
    }
    args
}

/// What `readlink /proc/PID/exe` says about the executable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExeLink {
    /// Path without the ` (deleted)` suffix.
    pub path: String,
    pub deleted: bool,
    pub memfd: bool,
}

/// Interprets an exe link target.
pub fn parse_exe_link(target: &[u8]) -> ExeLink {
    let text = String::from_utf8_lossy(target);
    let (path, deleted) = match text.strip_suffix(" (deleted)") {
        Some(stripped) => (stripped.to_string(), true),
        None => (text.into_owned(), false),
    };
    let memfd = path.starts_with("/memfd:");
    ExeLink {
        deleted: deleted && !memfd,
        memfd,
        path,
    }
}

/// The inode of a `socket:[N]` link target.
pub fn socket_inode(target: &[u8]) -> Option<u64> {
    let inner = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    parse_u64(inner)
}

/// The inode of a namespace link target such as `mnt:[4026531840]`.
pub fn namespace_inode(target: &[u8]) -> Option<u64> {
    let open = target.iter().position(|&b| b == b'[')?;
    let inner = target.get(open + 1..)?.strip_suffix(b"]")?;
    parse_u64(inner)
}

/// A container id in `/proc/PID/cgroup`: the last 64-hex-digit run of any line
/// (`docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>`, `/kubepods/.../<id>`).
pub fn container_id_from_cgroup(text: &[u8]) -> Option<String> {
    let mut found = None;
    for line in text.split(|&b| b == b'\n') {
        let mut run_start = None;
        for (i, &b) in line
            .iter()
            .enumerate()
            .chain(std::iter::once((line.len(), &b'/')))
        {
            let hex = b.is_ascii_hexdigit() && !b.is_ascii_uppercase();
            match (hex, run_start) {
                (true, None) => run_start = Some(i),
                (false, Some(start)) => {
                    if i - start == 64 {
                        found = line
                            .get(start..i)
                            .map(|id| String::from_utf8_lossy(id).into_owned());
                    }
                    run_start = None;
                }
                _ => {}
            }
        }
    }
    found
}

/// `/proc/PID/loginuid`: `None` when unset (4294967295) or unreadable.
pub fn parse_loginuid(text: &[u8]) -> Option<u32> {
    parse_u32(trim(text)).filter(|&v| v != u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rel_paths_are_nul_terminated() {
        assert_eq!(RelPath::pid(1234, "stat").as_cstr(), c"1234/stat");
        assert_eq!(RelPath::pid(0, "").as_cstr(), c"0");
        assert_eq!(RelPath::fd(7, 2).as_cstr(), c"7/fd/2");
        assert_eq!(
            RelPath::pid(u32::MAX, "ns/mnt").as_cstr(),
            c"4294967295/ns/mnt"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u32(b"42"), Some(42));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b"4x"), None);
        assert_eq!(parse_u32(b""), None);
        assert_eq!(parse_i64(b"-3"), Some(-3));
    }
}
