//! Reading field values out of an event, Falco's way (`proc.name` is the 15-byte comm,
//! `proc.cmdline` is name plus arguments, `proc.cwd` ends with `/`), into reusable buffers so
//! evaluation allocates nothing per event once warm.

use crate::fields::{AncPart, Arg, CapSet, Field, Kind, Side};
use crate::matchers::{ByteMask, Val, byte_mask};
use crate::program::Memo;
use podwarden_api::event::{
    Ancestor, COMM_MAX_LEN, Connection, Direction, Event, EventBody, FdInfo, FileInfo, L4Protocol,
    Process, TcpState,
};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// Cached derived strings, one slot each.
#[derive(Clone, Copy)]
enum Slot {
    Cmdline = 0,
    Args,
    Cwd,
    ParentCmdline,
    CapEffective,
    CapPermitted,
    CapInheritable,
    FdName,
    Stdin,
    Stdout,
    Stderr,
    EvtArgs,
    Time,
    TimeIso,
}

const SLOTS: usize = 14;

/// Reusable buffers for evaluating events; keep one per thread (or let
/// [`crate::RuleSet::evaluate`] use its thread-local one).
#[derive(Default)]
pub struct Scratch {
    slots: [String; SLOTS],
    valid: u32,
    /// Byte masks of the argument and command-line slots.
    masks: [ByteMask; SLOTS],
    masks_valid: u32,
    temp: String,
    pub(crate) output: String,
    /// Answers of the predicates already evaluated for the current event.
    memo: Memo,
}

/// One event being evaluated.
pub(crate) struct Ctx<'e, 's> {
    pub event: &'e Event,
    pub process: Option<&'e Process>,
    pub kind: Kind,
    scratch: &'s mut Scratch,
}

/// The network view of an event: which end is the client and which the server.
struct Net<'e> {
    protocol: L4Protocol,
    local: SocketAddr,
    remote: Option<SocketAddr>,
    client: Option<SocketAddr>,
    server: Option<SocketAddr>,
    connection: Option<&'e Connection>,
}

/// `/proc/PID/comm` is at most 15 bytes; cut longer names (hand-written events) the same way.
pub(crate) fn comm(name: &str) -> &str {
    if name.len() <= COMM_MAX_LEN {
        return name;
    }
    let mut end = COMM_MAX_LEN;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.get(..end).unwrap_or(name)
}

/// Falco's `proc.cmdline`: the name, then each non-empty argument after a space.
fn write_cmdline(out: &mut String, name: &str, argv: &[String]) {
    out.push_str(comm(name));
    for arg in argv.iter().skip(1).filter(|a| !a.is_empty()) {
        out.push(' ');
        out.push_str(arg);
    }
}

fn write_tuple(out: &mut String, client: Option<SocketAddr>, server: Option<SocketAddr>) {
    match (client, server) {
        (Some(c), Some(s)) => {
            let _ = write!(out, "{}:{}->{}:{}", c.ip(), c.port(), s.ip(), s.port());
        }
        (None, Some(one)) | (Some(one), None) => {
            let _ = write!(out, "{}:{}", one.ip(), one.port());
        }
        (None, None) => {}
    }
}

fn write_caps(out: &mut String, caps: u64) {
    for (bit, name) in CAPABILITIES.iter().enumerate() {
        if caps & (1u64 << bit) != 0 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(name);
        }
    }
}

/// Capability names by bit number.
const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

fn tcp_state_name(state: TcpState) -> &'static str {
    match state {
        TcpState::Established => "established",
        TcpState::SynSent => "syn_sent",
        TcpState::SynRecv => "syn_recv",
        TcpState::FinWait1 => "fin_wait1",
        TcpState::FinWait2 => "fin_wait2",
        TcpState::TimeWait => "time_wait",
        TcpState::Close => "close",
        TcpState::CloseWait => "close_wait",
        TcpState::LastAck => "last_ack",
        TcpState::Listen => "listen",
        TcpState::Closing => "closing",
    }
}

fn event_kind_name(body: &EventBody) -> &'static str {
    match body {
        EventBody::ProcessExec { .. } => "process_exec",
        EventBody::ProcessExit { .. } => "process_exit",
        EventBody::Connection { .. } => "connection",
        EventBody::Listen { .. } => "listen",
        EventBody::PacketSocket { .. } => "packet_socket",
        EventBody::FileCreated { .. } => "file_created",
        EventBody::FileModified { .. } => "file_modified",
        EventBody::FileRenamed { .. } => "file_renamed",
        EventBody::StdioSocket { .. } => "stdio_socket",
        EventBody::PtraceAttached { .. } => "ptrace_attached",
    }
}

/// `registry/repo:tag@digest` split into repository, tag and digest.
fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    let slash = rest.rfind('/');
    match rest.rfind(':') {
        Some(colon) if slash.is_none_or(|s| colon > s) => (
            rest.get(..colon).unwrap_or(rest),
            rest.get(colon + 1..),
            digest,
        ),
        _ => (rest, None, digest),
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl<'e, 's> Ctx<'e, 's> {
    pub(crate) fn new(event: &'e Event, kind: Kind, scratch: &'s mut Scratch) -> Self {
        scratch.valid = 0;
        scratch.masks_valid = 0;
        Ctx {
            event,
            process: event.process(),
            kind,
            scratch,
        }
    }

    /// The predicate answers of this event.
    #[inline]
    pub(crate) fn memo(&mut self) -> &mut Memo {
        &mut self.scratch.memo
    }

    /// For the argument and command-line fields: the value and its byte mask (computed once
    /// per event), so substring checks can skip needles that cannot occur.
    pub(crate) fn masked_value(&mut self, field: &Field) -> Option<(Val<'_>, ByteMask)> {
        let slot = match field {
            Field::ProcArgs => Slot::Args,
            Field::Anc {
                part: AncPart::Cmdline,
                level: Some(0),
            } => Slot::Cmdline,
            Field::Anc {
                part: AncPart::Cmdline,
                level: Some(1),
            } => Slot::ParentCmdline,
            _ => return None,
        };
        let bit = 1u32 << (slot as u32);
        if self.scratch.masks_valid & bit == 0 {
            let mask = match self.value(field) {
                Val::Str(s) => byte_mask(s.as_bytes()),
                _ => [0; 4],
            };
            self.scratch.masks[slot as usize] = mask;
            self.scratch.masks_valid |= bit;
        }
        let mask = self.scratch.masks[slot as usize];
        Some((self.value(field), mask))
    }

    /// Number of ancestors known (levels 1..=depth).
    pub(crate) fn depth(&self) -> u32 {
        self.process
            .map_or(0, |p| u32::try_from(p.ancestors.len()).unwrap_or(u32::MAX))
    }

    fn ancestor(&self, level: u32) -> Option<&'e Ancestor> {
        let index = usize::try_from(level.checked_sub(1)?).ok()?;
        self.process?.ancestors.get(index)
    }

    /// Fill a cached slot once per event and return it.
    fn slot(&mut self, slot: Slot, fill: impl FnOnce(&mut String)) -> &str {
        let bit = 1u32 << (slot as u32);
        let buffer = &mut self.scratch.slots[slot as usize];
        if self.scratch.valid & bit == 0 {
            buffer.clear();
            fill(buffer);
            self.scratch.valid |= bit;
        }
        buffer
    }

    fn temp(&mut self, fill: impl FnOnce(&mut String)) -> &str {
        let buffer = &mut self.scratch.temp;
        buffer.clear();
        fill(buffer);
        buffer
    }

    fn net(&self) -> Option<Net<'e>> {
        let (protocol, local, remote, direction, connection) = match &self.event.body {
            EventBody::Connection { connection, .. }
            | EventBody::StdioSocket { connection, .. } => (
                connection.protocol,
                connection.local,
                Some(connection.remote),
                Some(connection.direction),
                Some(connection),
            ),
            EventBody::Listen {
                protocol, local, ..
            } => (*protocol, *local, None, None, None),
            _ => return None,
        };
        let (client, server) = match direction {
            Some(Direction::Outbound) => (Some(local), remote),
            Some(Direction::Inbound) => (remote, Some(local)),
            None => (None, Some(local)),
        };
        Some(Net {
            protocol,
            local,
            remote,
            client,
            server,
            connection,
        })
    }

    fn file(&self) -> Option<&'e FileInfo> {
        match &self.event.body {
            EventBody::FileCreated { file, .. }
            | EventBody::FileModified { file, .. }
            | EventBody::FileRenamed { file, .. } => Some(file),
            _ => None,
        }
    }

    fn stdio(&self, fd: u8) -> Option<&'e FdInfo> {
        let p = self.process?;
        match fd {
            0 => p.stdin.as_ref(),
            1 => p.stdout.as_ref(),
            _ => p.stderr.as_ref(),
        }
    }

    /// The value of an ancestor part at a level (0 = the process itself).
    pub(crate) fn ancestor_value(&mut self, part: AncPart, level: u32) -> Val<'_> {
        let Some(process) = self.process else {
            return Val::Missing;
        };
        if level == 0 {
            return match part {
                AncPart::Name => Val::Str(comm(&process.name)),
                AncPart::Pid => Val::Num(i128::from(process.pid)),
                AncPart::Exe => process.argv.first().map_or(Val::Missing, |a| Val::Str(a)),
                AncPart::ExePath => non_empty(&process.exe),
                AncPart::Cmdline => Val::Str(self.slot(Slot::Cmdline, |out| {
                    write_cmdline(out, &process.name, &process.argv)
                })),
            };
        }
        let Some(ancestor) = self.ancestor(level) else {
            if level == 1 && part == AncPart::Pid && process.ppid != 0 {
                return Val::Num(i128::from(process.ppid));
            }
            return Val::Missing;
        };
        match part {
            AncPart::Name => Val::Str(comm(&ancestor.name)),
            AncPart::Pid => Val::Num(i128::from(ancestor.pid)),
            AncPart::Exe => ancestor.argv.first().map_or(Val::Missing, |a| Val::Str(a)),
            AncPart::ExePath => non_empty(&ancestor.exe),
            AncPart::Cmdline if level == 1 => Val::Str(self.slot(Slot::ParentCmdline, |out| {
                write_cmdline(out, &ancestor.name, &ancestor.argv)
            })),
            AncPart::Cmdline => {
                Val::Str(self.temp(|out| write_cmdline(out, &ancestor.name, &ancestor.argv)))
            }
        }
    }

    /// The value of a field that has one value (not "any ancestor", not "either side").
    pub(crate) fn value(&mut self, field: &Field) -> Val<'_> {
        let event = self.event;
        let process = self.process;
        match field {
            Field::EvtType => Val::Str(self.kind.evt_type()),
            Field::EvtDir => Val::Str(self.kind.evt_dir()),
            Field::EvtNum => Val::Num(i128::from(event.id)),
            Field::EvtRawtime => Val::Num(i128::from(event.ts)),
            Field::EvtTime | Field::EvtTimeIso => {
                let iso = matches!(field, Field::EvtTimeIso);
                let ts = event.ts;
                let slot = if iso { Slot::TimeIso } else { Slot::Time };
                Val::Str(self.slot(slot, |out| {
                    let secs = i64::try_from(ts / 1_000_000_000).unwrap_or(i64::MAX);
                    let nanos = ts % 1_000_000_000;
                    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
                    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
                    if iso {
                        let (y, mo, d) = civil_from_days(days);
                        let _ = write!(
                            out,
                            "{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{nanos:09}Z"
                        );
                    } else {
                        let _ = write!(out, "{h:02}:{m:02}:{s:02}.{nanos:09}");
                    }
                }))
            }
            Field::EvtRes => match &event.body {
                EventBody::ProcessExit { .. } => Val::Missing,
                EventBody::Connection { connection, .. }
                    if connection.state == Some(TcpState::SynSent) =>
                {
                    Val::Str("EINPROGRESS")
                }
                _ => Val::Str("SUCCESS"),
            },
            Field::EvtRawres => match &event.body {
                EventBody::ProcessExit { .. }
                | EventBody::PacketSocket { .. }
                | EventBody::Connection {
                    connection:
                        Connection {
                            direction: Direction::Inbound,
                            ..
                        },
                    ..
                } => Val::Missing,
                EventBody::Connection { connection, .. }
                    if connection.state == Some(TcpState::SynSent) =>
                {
                    Val::Num(-115)
                }
                EventBody::FileCreated { file, .. } | EventBody::FileModified { file, .. } => {
                    file.fd.map_or(Val::Missing, |fd| Val::Num(i128::from(fd)))
                }
                EventBody::StdioSocket { fd, .. } => Val::Num(i128::from(*fd)),
                _ => Val::Num(0),
            },
            Field::EvtFailed => Val::Bool(false),
            Field::EvtIsOpenWrite => Val::Bool(self.kind == Kind::Open),
            Field::EvtArg(arg) => self.arg(*arg),
            Field::EvtArgs => match &event.body {
                EventBody::PacketSocket {
                    socket_type,
                    protocol,
                    ..
                } => Val::Str(self.slot(Slot::EvtArgs, |out| {
                    let _ = write!(
                        out,
                        "domain=AF_PACKET type=SOCK_{} proto={protocol}",
                        socket_type.to_ascii_uppercase()
                    );
                })),
                _ => Val::Missing,
            },
            Field::ProcPid => process.map_or(Val::Missing, |p| Val::Num(i128::from(p.pid))),
            Field::ProcPpid => match process {
                Some(p) if p.ppid != 0 => Val::Num(i128::from(p.ppid)),
                Some(p) => p
                    .ancestors
                    .first()
                    .map_or(Val::Missing, |a| Val::Num(i128::from(a.pid))),
                None => Val::Missing,
            },
            Field::ProcArgs => match process {
                Some(p) => Val::Str(self.slot(Slot::Args, |out| {
                    for (i, arg) in p.argv.iter().skip(1).enumerate() {
                        if i > 0 {
                            out.push(' ');
                        }
                        out.push_str(arg);
                    }
                })),
                None => Val::Missing,
            },
            Field::ProcCmdnargs => process.map_or(Val::Missing, |p| {
                Val::Num(p.argv.len().saturating_sub(1) as i128)
            }),
            Field::ProcCmdlenargs => process.map_or(Val::Missing, |p| {
                let args = p.argv.iter().skip(1);
                let len: usize =
                    args.map(String::len).sum::<usize>() + p.argv.len().saturating_sub(2);
                Val::Num(len as i128)
            }),
            Field::ProcCwd => match process {
                Some(p) if !p.cwd.is_empty() => Val::Str(self.slot(Slot::Cwd, |out| {
                    out.push_str(&p.cwd);
                    if !p.cwd.ends_with('/') {
                        out.push('/');
                    }
                })),
                _ => Val::Missing,
            },
            Field::ProcTty => process.map_or(Val::Missing, |p| Val::Num(i128::from(p.tty))),
            Field::ProcSid => process.map_or(Val::Missing, |p| Val::Num(i128::from(p.sid))),
            Field::ProcVpgid => process.map_or(Val::Missing, |p| Val::Num(i128::from(p.pgid))),
            Field::ProcIsSidLeader => match process {
                Some(p) if p.sid != 0 => Val::Bool(p.sid == p.pid),
                _ => Val::Missing,
            },
            Field::ProcIsVpgidLeader => match process {
                Some(p) if p.pgid != 0 => Val::Bool(p.pgid == p.pid),
                _ => Val::Missing,
            },
            Field::ProcSname => match process {
                Some(p) if p.sid != 0 => {
                    if p.sid == p.pid {
                        Val::Str(comm(&p.name))
                    } else {
                        p.ancestors
                            .iter()
                            .find(|a| a.pid == p.sid)
                            .map_or(Val::Missing, |a| Val::Str(comm(&a.name)))
                    }
                }
                _ => Val::Missing,
            },
            Field::ProcDuration => match process {
                Some(p) if p.start_ts != 0 && event.ts >= p.start_ts => {
                    Val::Num(i128::from(event.ts - p.start_ts))
                }
                _ => Val::Missing,
            },
            Field::ProcIsExeFromMemfd => {
                process.map_or(Val::Missing, |p| Val::Bool(p.exe_from_memfd))
            }
            Field::Anc { part, level } => match level {
                Some(level) => self.ancestor_value(*part, *level),
                // Output of a bare `proc.aname`: the parent.
                None => self.ancestor_value(*part, 1),
            },
            Field::Stdio { fd, name } => {
                let Some(info) = self.stdio(*fd) else {
                    return Val::Missing;
                };
                if !*name {
                    return Val::Str(info.kind.as_str());
                }
                let slot = match fd {
                    0 => Slot::Stdin,
                    1 => Slot::Stdout,
                    _ => Slot::Stderr,
                };
                match &info.connection {
                    Some(c) => {
                        let (client, server) = match c.direction {
                            Direction::Outbound => (c.local, c.remote),
                            Direction::Inbound => (c.remote, c.local),
                        };
                        Val::Str(
                            self.slot(slot, |out| write_tuple(out, Some(client), Some(server))),
                        )
                    }
                    None => Val::Str(&info.target),
                }
            }
            Field::Cap(set) => {
                let Some(p) = process else {
                    return Val::Missing;
                };
                let (caps, slot) = match set {
                    CapSet::Effective => (p.cap_effective, Slot::CapEffective),
                    CapSet::Permitted => (p.cap_permitted, Slot::CapPermitted),
                    CapSet::Inheritable => (p.cap_inheritable, Slot::CapInheritable),
                };
                match caps {
                    Some(caps) => Val::Str(self.slot(slot, |out| write_caps(out, caps))),
                    None => Val::Missing,
                }
            }
            Field::UserUid => process.map_or(Val::Missing, |p| Val::Num(i128::from(p.uid))),
            Field::UserName => process
                .and_then(|p| p.user.as_deref())
                .map_or(Val::Missing, Val::Str),
            Field::UserLoginuid => match process.and_then(|p| p.loginuid) {
                Some(u32::MAX) => Val::Num(-1),
                Some(uid) => Val::Num(i128::from(uid)),
                None => Val::Missing,
            },
            Field::GroupGid => process.map_or(Val::Missing, |p| Val::Num(i128::from(p.gid))),
            Field::GroupName => process
                .and_then(|p| p.group.as_deref())
                .map_or(Val::Missing, Val::Str),
            Field::FdNum => match &event.body {
                EventBody::FileCreated { file, .. } | EventBody::FileModified { file, .. } => {
                    file.fd.map_or(Val::Missing, |fd| Val::Num(i128::from(fd)))
                }
                EventBody::StdioSocket { fd, .. } => Val::Num(i128::from(*fd)),
                _ => Val::Missing,
            },
            Field::FdType | Field::FdTypechar => {
                let typechar = matches!(field, Field::FdTypechar);
                if self.file().is_some() {
                    return Val::Str(if typechar { "f" } else { "file" });
                }
                match self.net() {
                    Some(net) if net.local.is_ipv4() => {
                        Val::Str(if typechar { "4" } else { "ipv4" })
                    }
                    Some(_) => Val::Str(if typechar { "6" } else { "ipv6" }),
                    None => Val::Missing,
                }
            }
            Field::FdName => {
                if let Some(file) = self.file() {
                    return Val::Str(&file.path);
                }
                match self.net() {
                    Some(net) => Val::Str(
                        self.slot(Slot::FdName, |out| write_tuple(out, net.client, net.server)),
                    ),
                    None => Val::Missing,
                }
            }
            Field::FdDirectory => self
                .file()
                .map_or(Val::Missing, |f| Val::Str(directory(&f.path))),
            Field::FdFilename => self.file().map_or(Val::Missing, |f| {
                Val::Str(f.path.rsplit('/').next().unwrap_or(&f.path))
            }),
            Field::PwFileSize => self
                .file()
                .and_then(|f| f.size)
                .map_or(Val::Missing, |s| Val::Num(i128::from(s))),
            Field::FdL4proto => self
                .net()
                .map_or(Val::Missing, |n| Val::Str(n.protocol.as_str())),
            Field::FdSockfamily => self.net().map_or(Val::Missing, |_| Val::Str("ip")),
            Field::FdIsServer => self.net().map_or(Val::Missing, |n| {
                Val::Bool(n.client.is_none() || n.server == Some(n.local))
            }),
            Field::FdConnected => match self.net().and_then(|n| n.connection) {
                Some(c) => Val::Bool(c.state.is_none_or(|s| s == TcpState::Established)),
                None => Val::Missing,
            },
            Field::PwConnState => match self.net().and_then(|n| n.connection).and_then(|c| c.state)
            {
                Some(state) => Val::Str(tcp_state_name(state)),
                None => Val::Missing,
            },
            Field::FdIp(side) | Field::FdNet(side) => self.ip(*side).map_or(Val::Missing, Val::Ip),
            Field::FdPort(side) => self
                .endpoint(*side)
                .map_or(Val::Missing, |a| Val::Num(i128::from(a.port()))),
            Field::ContainerId => match &event.container {
                Some(c) => Val::Str(c.id.get(..12).unwrap_or(&c.id)),
                None => Val::Str("host"),
            },
            Field::ContainerFullId => match &event.container {
                Some(c) => Val::Str(&c.id),
                None => Val::Str("host"),
            },
            Field::ContainerName => match &event.container {
                Some(c) => c.name.as_deref().map_or(Val::Missing, Val::Str),
                None => Val::Str("host"),
            },
            Field::ContainerImage => image(event).map_or(Val::Missing, Val::Str),
            Field::ContainerImageRepository => {
                image(event).map_or(Val::Missing, |i| Val::Str(split_image(i).0))
            }
            Field::ContainerImageTag => image(event)
                .and_then(|i| split_image(i).1)
                .map_or(Val::Missing, Val::Str),
            Field::ContainerImageDigest => image(event)
                .and_then(|i| split_image(i).2)
                .map_or(Val::Missing, Val::Str),
            Field::ContainerPrivileged => event
                .container
                .as_ref()
                .map_or(Val::Missing, |c| Val::Bool(c.privileged)),
            Field::K8sPodName => event
                .container
                .as_ref()
                .and_then(|c| c.pod.as_deref())
                .map_or(Val::Missing, Val::Str),
            Field::K8sNsName => event
                .container
                .as_ref()
                .and_then(|c| c.namespace.as_deref())
                .map_or(Val::Missing, Val::Str),
            Field::K8sPodUid => event
                .container
                .as_ref()
                .and_then(|c| c.pod_uid.as_deref())
                .map_or(Val::Missing, Val::Str),
            Field::K8sPodLabel(key) => event
                .container
                .as_ref()
                .and_then(|c| c.labels.get(key))
                .map_or(Val::Missing, |v| Val::Str(v)),
            Field::PwExeDeleted => process.map_or(Val::Missing, |p| Val::Bool(p.exe_deleted)),
            Field::PwTracerPid => {
                process.map_or(Val::Missing, |p| Val::Num(i128::from(p.tracer_pid)))
            }
            Field::PwTracerName => match &event.body {
                EventBody::PtraceAttached {
                    tracer: Some(tracer),
                    ..
                } => Val::Str(comm(&tracer.name)),
                _ => Val::Missing,
            },
            Field::PwEventKind => Val::Str(event_kind_name(&event.body)),
        }
    }

    fn arg(&mut self, arg: Arg) -> Val<'_> {
        let event = self.event;
        match (&event.body, arg) {
            (EventBody::PacketSocket { .. }, Arg::Domain) => Val::Str("AF_PACKET"),
            (EventBody::PacketSocket { socket_type, .. }, Arg::SockType) => {
                Val::Str(self.temp(|out| {
                    out.push_str("SOCK_");
                    out.push_str(&socket_type.to_ascii_uppercase());
                }))
            }
            (EventBody::PacketSocket { protocol, .. }, Arg::Proto) => {
                Val::Num(i128::from(*protocol))
            }
            (EventBody::FileRenamed { old_path, .. }, Arg::OldPath) => Val::Str(old_path),
            (EventBody::FileRenamed { file, .. }, Arg::NewPath) => Val::Str(&file.path),
            (
                EventBody::FileCreated { file, .. } | EventBody::FileModified { file, .. },
                Arg::Name,
            ) => Val::Str(&file.path),
            (EventBody::PtraceAttached { process, .. }, Arg::Pid) => {
                Val::Num(i128::from(process.pid))
            }
            (EventBody::StdioSocket { fd, .. }, Arg::NewFd) => Val::Num(i128::from(*fd)),
            _ => Val::Missing,
        }
    }

    fn endpoint(&self, side: Side) -> Option<SocketAddr> {
        let net = self.net()?;
        match side {
            Side::Client => net.client,
            Side::Server => net.server,
            Side::Local => Some(net.local),
            Side::Remote => net.remote,
            Side::Either => net.client.or(net.server),
        }
    }

    fn ip(&self, side: Side) -> Option<IpAddr> {
        self.endpoint(side).map(|a| a.ip())
    }

    /// Both ends for "either side" fields: client then server.
    pub(crate) fn either(&self, field: &Field) -> [Val<'static>; 2] {
        let Some(net) = self.net() else {
            return [Val::Missing, Val::Missing];
        };
        let pick = |addr: Option<SocketAddr>| match (field, addr) {
            (_, None) => Val::Missing,
            (Field::FdPort(_), Some(a)) => Val::Num(i128::from(a.port())),
            (_, Some(a)) => Val::Ip(a.ip()),
        };
        [pick(net.client), pick(net.server)]
    }

    pub(crate) fn take_output(&mut self) -> String {
        std::mem::take(&mut self.scratch.output)
    }

    pub(crate) fn put_output(&mut self, buffer: String) {
        self.scratch.output = buffer;
    }

    pub(crate) fn output(&self) -> &str {
        &self.scratch.output
    }
}

fn non_empty(s: &str) -> Val<'_> {
    if s.is_empty() {
        Val::Missing
    } else {
        Val::Str(s)
    }
}

fn image(event: &Event) -> Option<&str> {
    event.container.as_ref()?.image.as_deref()
}

/// Falco's `fd.directory`: the parent directory, `/` for files at the root.
fn directory(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(at) => path.get(..at).unwrap_or(path),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split() {
        let check = |image: &str, expected: (&str, Option<&str>, Option<&str>)| {
            assert_eq!(split_image(image), expected, "{image}");
        };
        check("nginx", ("nginx", None, None));
        check("nginx:1.25", ("nginx", Some("1.25"), None));
        check(
            "registry:5000/team/app:v1",
            ("registry:5000/team/app", Some("v1"), None),
        );
        check(
            "registry:5000/team/app",
            ("registry:5000/team/app", None, None),
        );
        check("app@sha256:abc", ("app", None, Some("sha256:abc")));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn directories() {
        assert_eq!(directory("/etc/shadow"), "/etc");
        assert_eq!(directory("/x"), "/");
        assert_eq!(comm("unattended-upgrade-shutdown"), "unattended-upgr");
    }
}
