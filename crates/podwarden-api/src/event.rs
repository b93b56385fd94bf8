//! Runtime events the agent observes in a pod (processes, connections, files), versioned and
//! serialised as JSON lines so they can be recorded, uploaded and replayed.
//!
//! The agent cannot see system calls: it polls `/proc`, reads `/proc/net/*` and watches files
//! with inotify. The model therefore holds what those sources can tell, and nothing more: a file
//! *opened for reading* is not an event (a process whose command line names a path is), a
//! connection is a socket seen in `/proc/net/*` with the process owning it when it could be
//! found, a debugger is a non-zero `TracerPid`.
//!
//! One event is one JSON object: an envelope (`v`, `id`, `ts`, `container`) and a body whose
//! `kind` says what was seen, e.g.
//! `{"v":1,"id":7,"ts":1700000000000000000,"kind":"process_exec","process":{...}}`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Version of the event schema written in each event's `v` field.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// Most bytes of `/proc/PID/comm`: the kernel keeps 15 characters of the executable's name.
pub const COMM_MAX_LEN: usize = 15;

fn schema_version() -> u32 {
    EVENT_SCHEMA_VERSION
}

/// One observation made by the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Schema version ([`EVENT_SCHEMA_VERSION`]); absent means version 1.
    #[serde(default = "schema_version")]
    pub v: u32,
    /// Id made by the agent, unique and increasing for one agent: a retried upload is stored once.
    pub id: u64,
    /// When the agent observed it, in nanoseconds since the Unix epoch.
    pub ts: u64,
    /// Container and pod where it happened; absent for the host (host-mode agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    /// What was seen.
    #[serde(flatten)]
    pub body: EventBody,
}

/// What an event is about; `kind` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// A process started (a new pid, or a pid whose executable changed: an exec).
    ProcessExec {
        /// The new process.
        process: Process,
    },
    /// A process ended (its pid disappeared).
    ProcessExit {
        /// The process as last seen.
        process: Process,
        /// Exit status when known (`/proc` polling usually cannot tell).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
    },
    /// A network connection appeared in `/proc/net/{tcp,tcp6,udp,udp6}`.
    Connection {
        /// The process owning the socket, when found.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        process: Option<Process>,
        /// The connection.
        connection: Connection,
    },
    /// A socket started listening (TCP `LISTEN`) or was bound without a peer (UDP).
    Listen {
        /// The process owning the socket, when found.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        process: Option<Process>,
        /// Transport protocol.
        protocol: L4Protocol,
        /// Local address and port.
        local: SocketAddr,
    },
    /// An `AF_PACKET` socket appeared in `/proc/net/packet` (raw link-layer access).
    PacketSocket {
        /// The process owning the socket, when found.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        process: Option<Process>,
        /// Socket type as the kernel names it (`raw`, `dgram`).
        #[serde(default)]
        socket_type: String,
        /// Ethernet protocol number the socket receives (e.g. 3 = `ETH_P_ALL`).
        #[serde(default)]
        protocol: u16,
    },
    /// A file was created (inotify `IN_CREATE`).
    FileCreated {
        /// The process writing it, when found.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        process: Option<Process>,
        /// The file.
        file: FileInfo,
    },
    /// A file was written to (inotify `IN_MODIFY` / `IN_CLOSE_WRITE`).
    FileModified {
        /// The process writing it, when found.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        process: Option<Process>,
        /// The file.
        file: FileInfo,
    },
    /// A file was renamed (inotify `IN_MOVED_FROM` + `IN_MOVED_TO`).
    FileRenamed {
        /// The process renaming it, when found.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        process: Option<Process>,
        /// The file under its new name.
        file: FileInfo,
        /// Its previous path.
        old_path: String,
    },
    /// A standard stream (fd 0, 1 or 2) of a process is a network socket: what `dup2(sock, 0)`
    /// leaves behind, the mark of most reverse shells.
    StdioSocket {
        /// The process.
        process: Process,
        /// Which stream: 0, 1 or 2.
        fd: u8,
        /// The socket it is connected to.
        connection: Connection,
    },
    /// A process is being traced (`TracerPid` in `/proc/PID/status` became non-zero).
    PtraceAttached {
        /// The traced process.
        process: Process,
        /// Pid of the tracer.
        tracer_pid: u32,
        /// The tracer, when it could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracer: Option<Ancestor>,
    },
}

impl Event {
    /// The process the event is about, when known.
    pub fn process(&self) -> Option<&Process> {
        match &self.body {
            EventBody::ProcessExec { process }
            | EventBody::ProcessExit { process, .. }
            | EventBody::StdioSocket { process, .. }
            | EventBody::PtraceAttached { process, .. } => Some(process),
            EventBody::Connection { process, .. }
            | EventBody::Listen { process, .. }
            | EventBody::PacketSocket { process, .. }
            | EventBody::FileCreated { process, .. }
            | EventBody::FileModified { process, .. }
            | EventBody::FileRenamed { process, .. } => process.as_ref(),
        }
    }

    /// The event as one line of JSON (no trailing newline).
    pub fn to_json_line(&self) -> String {
        // Serialising these plain data types cannot fail (no maps with non-string keys).
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parse one JSON line; rejects events of a newer schema version than this build knows.
    pub fn from_json_line(line: &str) -> Result<Event, EventParseError> {
        let event: Event = serde_json::from_str(line).map_err(EventParseError::Json)?;
        if event.v > EVENT_SCHEMA_VERSION {
            return Err(EventParseError::Version(event.v));
        }
        Ok(event)
    }
}

/// Why a line is not an event.
#[derive(Debug)]
pub enum EventParseError {
    /// Not JSON, or not an event's shape.
    Json(serde_json::Error),
    /// Written by a newer agent.
    Version(u32),
}

impl std::fmt::Display for EventParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventParseError::Json(err) => write!(f, "{err}"),
            EventParseError::Version(v) => write!(
                f,
                "event schema version {v} is newer than the supported {EVENT_SCHEMA_VERSION}"
            ),
        }
    }
}

impl std::error::Error for EventParseError {}

/// Parse a JSON-lines text: one `(line number, result)` per non-blank line, numbered from 1.
pub fn parse_json_lines(
    text: &str,
) -> impl Iterator<Item = (usize, Result<Event, EventParseError>)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| (index + 1, Event::from_json_line(line)))
}

/// A process as the agent reads it from `/proc/PID/*`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Process {
    /// Process id (as the agent sees it: the pod's pid namespace in a sidecar).
    pub pid: u32,
    /// Parent process id; 0 when unknown.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ppid: u32,
    /// Start time in nanoseconds since the Unix epoch; 0 when unknown.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub start_ts: u64,
    /// `/proc/PID/comm`: the executable's name, truncated by the kernel to 15 bytes.
    pub name: String,
    /// `/proc/PID/exe`: path of the executable (without the kernel's ` (deleted)` suffix).
    #[serde(default)]
    pub exe: String,
    /// `/proc/PID/cmdline`: the arguments, `argv[0]` first.
    #[serde(default)]
    pub argv: Vec<String>,
    /// `/proc/PID/cwd`: working directory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cwd: String,
    /// Real user id.
    pub uid: u32,
    /// User name of `uid` in the container's `/etc/passwd`, when resolvable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Real group id.
    pub gid: u32,
    /// Group name of `gid` in the container's `/etc/group`, when resolvable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `/proc/PID/loginuid` (audit login uid), when readable and set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loginuid: Option<u32>,
    /// Controlling terminal device number (`tty_nr` of `/proc/PID/stat`); 0 for none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tty: u32,
    /// Session id; 0 when unknown.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sid: u32,
    /// Process group id; 0 when unknown.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pgid: u32,
    /// `CapEff` of `/proc/PID/status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_effective: Option<u64>,
    /// `CapPrm` of `/proc/PID/status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_permitted: Option<u64>,
    /// `CapInh` of `/proc/PID/status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_inheritable: Option<u64>,
    /// Standard input (fd 0), when readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<FdInfo>,
    /// Standard output (fd 1), when readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<FdInfo>,
    /// Standard error (fd 2), when readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<FdInfo>,
    /// The executable is a memfd (`/proc/PID/exe` -> `/memfd:...`): fileless execution.
    #[serde(default, skip_serializing_if = "is_false")]
    pub exe_from_memfd: bool,
    /// The executable file was deleted after the process started it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub exe_deleted: bool,
    /// `TracerPid` of `/proc/PID/status`; 0 when not traced.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tracer_pid: u32,
    /// Snapshot of the parent chain at the time of the event: parent first, then grandparent...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Ancestor>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

fn is_zero_u64(value: &u64) -> bool {
    *value == 0
}

impl Process {
    /// A process started from `exe` with `argv`: `name` is the kernel's comm for it (the
    /// executable's file name, cut to 15 bytes). Ids are 0 and everything else empty.
    pub fn new(pid: u32, exe: &str, argv: &[&str]) -> Process {
        Process {
            pid,
            name: comm_of(exe),
            exe: exe.to_string(),
            argv: argv.iter().map(|arg| arg.to_string()).collect(),
            ..Process::default()
        }
    }
}

/// The kernel's comm for an executable path: its file name cut to 15 bytes (on a char boundary).
pub fn comm_of(exe: &str) -> String {
    let base = exe.rsplit('/').next().unwrap_or(exe);
    let mut end = base.len().min(COMM_MAX_LEN);
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    base.get(..end).unwrap_or_default().to_string()
}

/// One process of a parent chain.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ancestor {
    /// Process id.
    pub pid: u32,
    /// `/proc/PID/comm`.
    pub name: String,
    /// `/proc/PID/exe`.
    #[serde(default)]
    pub exe: String,
    /// `/proc/PID/cmdline`.
    #[serde(default)]
    pub argv: Vec<String>,
    /// Real user id, when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
}

impl Ancestor {
    /// An ancestor started from `exe` with `argv` (name derived as for [`Process::new`]).
    pub fn new(pid: u32, exe: &str, argv: &[&str]) -> Ancestor {
        Ancestor {
            pid,
            name: comm_of(exe),
            exe: exe.to_string(),
            argv: argv.iter().map(|arg| arg.to_string()).collect(),
            uid: None,
        }
    }
}

/// What an open file descriptor refers to (from `readlink /proc/PID/fd/N` and the socket tables).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FdInfo {
    /// Kind of object.
    pub kind: FdKind,
    /// Link target: a path, `pipe:[N]`, `socket:[N]`, `/dev/pts/0`, ...
    #[serde(default)]
    pub target: String,
    /// For a network socket: the connection, when found in `/proc/net/*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<Connection>,
}

/// Kinds of file descriptor, named as Falco names fd types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FdKind {
    /// A regular file, or a device such as a terminal.
    File,
    /// A directory.
    Directory,
    /// An IPv4 socket.
    Ipv4,
    /// An IPv6 socket.
    Ipv6,
    /// A Unix domain socket.
    Unix,
    /// A pipe or FIFO.
    Pipe,
    /// A netlink socket.
    Netlink,
    /// A memfd.
    Memfd,
    /// Anything else (eventfd, epoll, ...).
    Other,
}

impl FdKind {
    /// Falco's name for this fd type (`fd.type`).
    pub fn as_str(self) -> &'static str {
        match self {
            FdKind::File => "file",
            FdKind::Directory => "directory",
            FdKind::Ipv4 => "ipv4",
            FdKind::Ipv6 => "ipv6",
            FdKind::Unix => "unix",
            FdKind::Pipe => "pipe",
            FdKind::Netlink => "netlink",
            FdKind::Memfd => "memfd",
            FdKind::Other => "other",
        }
    }

    /// Whether this is an IP (v4 or v6) socket.
    pub fn is_network(self) -> bool {
        matches!(self, FdKind::Ipv4 | FdKind::Ipv6)
    }
}

/// A connection seen in the kernel's socket tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// Transport protocol.
    pub protocol: L4Protocol,
    /// Local address and port.
    pub local: SocketAddr,
    /// Remote address and port.
    pub remote: SocketAddr,
    /// TCP state; absent for UDP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<TcpState>,
    /// Who opened it: this pod (`outbound`) or the peer (`inbound`).
    pub direction: Direction,
}

/// Transport protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum L4Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (ping sockets).
    Icmp,
    /// Raw IP sockets.
    Raw,
}

impl L4Protocol {
    /// Falco's name (`fd.l4proto`).
    pub fn as_str(self) -> &'static str {
        match self {
            L4Protocol::Tcp => "tcp",
            L4Protocol::Udp => "udp",
            L4Protocol::Icmp => "icmp",
            L4Protocol::Raw => "raw",
        }
    }
}

/// Direction of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Opened from this pod to a peer (`connect`).
    Outbound,
    /// Accepted from a peer by a listening socket here (`accept`).
    Inbound,
}

/// TCP states as `/proc/net/tcp` numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpState {
    /// 01
    Established,
    /// 02
    SynSent,
    /// 03
    SynRecv,
    /// 04
    FinWait1,
    /// 05
    FinWait2,
    /// 06
    TimeWait,
    /// 07
    Close,
    /// 08
    CloseWait,
    /// 09
    LastAck,
    /// 0A
    Listen,
    /// 0B
    Closing,
}

/// A file seen by inotify.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FileInfo {
    /// Absolute path.
    pub path: String,
    /// Size in bytes after the change, when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The writer's file descriptor number, when the owning process was found holding it open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd: Option<i32>,
}

/// Container and pod context of an event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Container {
    /// Container id (full).
    pub id: String,
    /// Container name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Image reference as the pod spec gives it (`registry/repo:tag` or `@digest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Pod name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// Pod namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Pod uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
    /// Whether the container runs privileged.
    #[serde(default, skip_serializing_if = "is_false")]
    pub privileged: bool,
    /// Pod labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_is_the_file_name_cut_to_fifteen_bytes() {
        let check = |exe: &str, expected: &str| assert_eq!(comm_of(exe), expected, "{exe}");
        check("/usr/bin/bash", "bash");
        check("/usr/lib/x/unattended-upgrade-shutdown", "unattended-upgr");
        check("plain", "plain");
        check("/opt/ééééééééé", "ééééééé");
    }

    #[test]
    fn a_newer_schema_version_is_refused() {
        let line = r#"{"v":2,"id":1,"ts":1,"kind":"process_exit","process":{"pid":1,"name":"x","uid":0,"gid":0}}"#;
        assert!(matches!(
            Event::from_json_line(line),
            Err(EventParseError::Version(2))
        ));
    }
}
