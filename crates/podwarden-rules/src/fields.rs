//! The fields a condition can test: Falco's names mapped onto what our events hold, the event
//! types (`evt.type`) each event kind stands for, and which fields we cannot fill truthfully.

use crate::condition::FieldName;
use podwarden_api::event::{Direction, Event, EventBody, L4Protocol};

/// The kinds of event the agent produces, each standing for one Falco event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `execve`: a process started.
    Exec,
    /// `procexit`: a process ended.
    Exit,
    /// `connect`: an outbound connection.
    Connect,
    /// `accept`: an inbound connection.
    Accept,
    /// `listen`: a TCP socket listening.
    Listen,
    /// `bind`: a UDP socket bound without a peer.
    Bind,
    /// `socket`: an `AF_PACKET` socket.
    Socket,
    /// `openat` with write flags: a file created or modified.
    Open,
    /// `rename`: a file renamed.
    Rename,
    /// `dup2`: a standard stream that is a network socket.
    Dup,
    /// `ptrace`: a process being traced.
    Ptrace,
}

/// Every kind, in index order.
pub const KINDS: [Kind; 11] = [
    Kind::Exec,
    Kind::Exit,
    Kind::Connect,
    Kind::Accept,
    Kind::Listen,
    Kind::Bind,
    Kind::Socket,
    Kind::Open,
    Kind::Rename,
    Kind::Dup,
    Kind::Ptrace,
];

impl Kind {
    /// Falco's `evt.type` for this kind.
    pub fn evt_type(self) -> &'static str {
        match self {
            Kind::Exec => "execve",
            Kind::Exit => "procexit",
            Kind::Connect => "connect",
            Kind::Accept => "accept",
            Kind::Listen => "listen",
            Kind::Bind => "bind",
            Kind::Socket => "socket",
            Kind::Open => "openat",
            Kind::Rename => "rename",
            Kind::Dup => "dup2",
            Kind::Ptrace => "ptrace",
        }
    }

    /// Falco's `evt.dir`: `<` for the exit of a syscall (when its result is known), `>` for
    /// `procexit`, which Falco reports as an enter event.
    pub fn evt_dir(self) -> &'static str {
        match self {
            Kind::Exit => ">",
            _ => "<",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The kind of an event.
    pub fn of(event: &Event) -> Kind {
        match &event.body {
            EventBody::ProcessExec { .. } => Kind::Exec,
            EventBody::ProcessExit { .. } => Kind::Exit,
            EventBody::Connection { connection, .. } => match connection.direction {
                Direction::Outbound => Kind::Connect,
                Direction::Inbound => Kind::Accept,
            },
            EventBody::Listen { protocol, .. } => match protocol {
                L4Protocol::Tcp => Kind::Listen,
                _ => Kind::Bind,
            },
            EventBody::PacketSocket { .. } => Kind::Socket,
            EventBody::FileCreated { .. } | EventBody::FileModified { .. } => Kind::Open,
            EventBody::FileRenamed { .. } => Kind::Rename,
            EventBody::StdioSocket { .. } => Kind::Dup,
            EventBody::PtraceAttached { .. } => Kind::Ptrace,
        }
    }

    fn is_net(self) -> bool {
        matches!(
            self,
            Kind::Connect | Kind::Accept | Kind::Listen | Kind::Bind | Kind::Dup
        )
    }

    fn is_file(self) -> bool {
        matches!(self, Kind::Open | Kind::Rename)
    }
}

/// The type of a field's values, which decides the operators and how values are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    Str,
    U64,
    I64,
    Bool,
    /// An IP address; compared with addresses or networks (`10.0.0.0/8`).
    Ip,
}

/// What of an ancestor (or the process itself, level 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AncPart {
    Name,
    Pid,
    /// `argv[0]`.
    Exe,
    /// The executable's path.
    ExePath,
    Cmdline,
}

/// Which end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
    Local,
    Remote,
    /// Client or server (`fd.ip`, `fd.port`, `fd.net`).
    Either,
}

/// Capability sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CapSet {
    Effective,
    Permitted,
    Inheritable,
}

/// `evt.arg.*` values we can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arg {
    /// `socket`: `AF_PACKET`.
    Domain,
    /// `socket`: `SOCK_RAW` / `SOCK_DGRAM`.
    SockType,
    /// `socket`: the protocol number.
    Proto,
    /// `rename`: the old path.
    OldPath,
    /// `rename`: the new path.
    NewPath,
    /// `openat`: the path.
    Name,
    /// `ptrace`: the traced pid.
    Pid,
    /// `dup2`: the new fd.
    NewFd,
}

/// A field a compiled check reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    EvtType,
    EvtDir,
    EvtNum,
    EvtTime,
    EvtTimeIso,
    EvtRawtime,
    EvtRes,
    EvtRawres,
    EvtFailed,
    EvtIsOpenWrite,
    EvtArg(Arg),
    EvtArgs,
    ProcPid,
    ProcPpid,
    ProcArgs,
    ProcCmdnargs,
    ProcCmdlenargs,
    ProcCwd,
    ProcTty,
    ProcSid,
    ProcSname,
    ProcVpgid,
    ProcIsSidLeader,
    ProcIsVpgidLeader,
    ProcDuration,
    ProcIsExeFromMemfd,
    /// `level` 0 is the process, 1 its parent...; `None` is any ancestor (parent and up).
    Anc {
        part: AncPart,
        level: Option<u32>,
    },
    /// `proc.stdin.type` etc.: `fd` 0..=2, `name` false for the type.
    Stdio {
        fd: u8,
        name: bool,
    },
    Cap(CapSet),
    UserUid,
    UserName,
    UserLoginuid,
    GroupGid,
    GroupName,
    FdNum,
    FdType,
    FdTypechar,
    FdName,
    FdDirectory,
    FdFilename,
    FdL4proto,
    FdSockfamily,
    FdIsServer,
    FdConnected,
    FdIp(Side),
    FdPort(Side),
    /// A network field: same values as [`Field::FdIp`], compared with networks.
    FdNet(Side),
    ContainerId,
    ContainerFullId,
    ContainerName,
    ContainerImage,
    ContainerImageRepository,
    ContainerImageTag,
    ContainerImageDigest,
    ContainerPrivileged,
    K8sPodName,
    K8sNsName,
    K8sPodUid,
    K8sPodLabel(String),
    PwExeDeleted,
    PwTracerPid,
    PwTracerName,
    PwConnState,
    PwFileSize,
    PwEventKind,
}

/// Whether a field has a value for an event kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Availability {
    /// Filled from the event (it may still be absent at run time, e.g. an unknown process).
    Yes,
    /// Falco has no value either for this event type (`fd.name` of an `execve`): comparisons
    /// are false.
    NotApplicable,
    /// Falco would have a value the agent cannot observe.
    Unsupported,
}

/// A value known from the event kind alone, folded at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Constant {
    Str(&'static str),
    Bool(bool),
}

/// Why a field name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldError {
    /// Not a field of Falco's syscall source nor ours.
    Unknown,
    /// A Falco field the agent cannot observe; the text says why.
    Unsupported(&'static str),
    /// Bad or missing argument.
    BadArgument(String),
}

const NOT_OBSERVABLE: &str = "the agent polls /proc and watches files; it does not see system calls, so this value is not observable";

/// Specific reasons for Falco fields we know we cannot fill.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "evt.is_open_read",
        "opening a file for reading is not observable without syscall tracing (inotify reports writes)",
    ),
    (
        "evt.is_open_exec",
        "open flags are not observable without syscall tracing",
    ),
    (
        "fd.nameraw",
        "the raw path given to the syscall is not observable; fd.name is the resolved path",
    ),
    (
        "fd.sip.name",
        "needs DNS resolution of the server address, which the rule engine does not do",
    ),
    (
        "fd.cip.name",
        "needs DNS resolution of the client address, which the rule engine does not do",
    ),
    (
        "fd.lip.name",
        "needs DNS resolution, which the rule engine does not do",
    ),
    (
        "fd.rip.name",
        "needs DNS resolution, which the rule engine does not do",
    ),
    (
        "proc.is_exe_upper_layer",
        "whether the executable lives in the overlayfs upper layer is not visible from inside the pod",
    ),
    (
        "proc.is_exe_lower_layer",
        "overlayfs layers are not visible from inside the pod",
    ),
    (
        "proc.is_exe_writable",
        "the executable's write permission for the user is not collected",
    ),
    (
        "proc.env",
        "process environments are not collected (they hold secrets)",
    ),
    (
        "proc.aenv",
        "process environments are not collected (they hold secrets)",
    ),
    ("proc.vpid", "pid-namespace translation is not collected"),
    ("proc.pvpid", "pid-namespace translation is not collected"),
    ("thread.vtid", "threads are not tracked"),
    ("thread.tid", "threads are not tracked"),
    ("user.loginname", "the login uid's name is not resolved"),
    ("user.homedir", "user home directories are not collected"),
    ("user.shell", "user shells are not collected"),
    ("evt.hostname", "host names are not carried in events"),
    (
        "container.start_ts",
        "container start times are not carried in events",
    ),
    ("evt.rawarg", NOT_OBSERVABLE),
    ("evt.buffer", NOT_OBSERVABLE),
    ("evt.buflen", NOT_OBSERVABLE),
];

/// Classes of Falco's syscall source: a field under these is Falco's, and if not ours it is
/// one we cannot observe.
const SYSCALL_CLASSES: &[&str] = &[
    "evt.",
    "proc.",
    "thread.",
    "user.",
    "group.",
    "fd.",
    "fdlist.",
    "fs.",
    "container.",
    "k8s.",
    "syslog.",
    "span.",
    "mesos.",
    "evtin.",
];

fn parse_level(field: &FieldName) -> Result<Option<u32>, FieldError> {
    match &field.arg {
        None => Ok(None),
        Some(arg) => arg.trim().parse::<u32>().map(Some).map_err(|_| {
            FieldError::BadArgument(format!("`{}` needs a number, got `{arg}`", field.name))
        }),
    }
}

fn no_arg(field: &FieldName, resolved: Field) -> Result<Field, FieldError> {
    if field.arg.is_some() {
        return Err(FieldError::BadArgument(format!(
            "`{}` takes no argument",
            field.name
        )));
    }
    Ok(resolved)
}

/// Resolve a field as written in a condition or output.
pub(crate) fn resolve(field: &FieldName) -> Result<Field, FieldError> {
    use Field::*;
    let name = field.name.as_str();
    if let Some(arg) = name.strip_prefix("evt.arg.") {
        let arg = match arg {
            "domain" => Arg::Domain,
            "type" => Arg::SockType,
            "proto" => Arg::Proto,
            "oldpath" => Arg::OldPath,
            "newpath" => Arg::NewPath,
            "name" | "path" => Arg::Name,
            "pid" => Arg::Pid,
            "newfd" => Arg::NewFd,
            _ => return Err(FieldError::Unsupported(NOT_OBSERVABLE)),
        };
        return no_arg(field, EvtArg(arg));
    }
    let anc = |part: AncPart, fixed: Option<u32>| -> Result<Field, FieldError> {
        match fixed {
            Some(level) => no_arg(
                field,
                Anc {
                    part,
                    level: Some(level),
                },
            ),
            None => Ok(Anc {
                part,
                level: parse_level(field)?,
            }),
        }
    };
    let resolved = match name {
        "evt.type" => EvtType,
        "evt.dir" => EvtDir,
        "evt.num" => EvtNum,
        "evt.time" => EvtTime,
        "evt.time.iso8601" | "evt.datetime" => EvtTimeIso,
        "evt.rawtime" => EvtRawtime,
        "evt.res" => EvtRes,
        "evt.rawres" => EvtRawres,
        "evt.failed" => EvtFailed,
        "evt.is_open_write" => EvtIsOpenWrite,
        "evt.args" => EvtArgs,
        "evt.arg" => return Err(FieldError::Unsupported(NOT_OBSERVABLE)),
        "proc.pid" => ProcPid,
        "proc.ppid" => ProcPpid,
        "proc.name" => {
            return no_arg(
                field,
                Anc {
                    part: AncPart::Name,
                    level: Some(0),
                },
            );
        }
        "proc.exe" => {
            return no_arg(
                field,
                Anc {
                    part: AncPart::Exe,
                    level: Some(0),
                },
            );
        }
        "proc.exepath" => {
            return no_arg(
                field,
                Anc {
                    part: AncPart::ExePath,
                    level: Some(0),
                },
            );
        }
        "proc.cmdline" => {
            return no_arg(
                field,
                Anc {
                    part: AncPart::Cmdline,
                    level: Some(0),
                },
            );
        }
        "proc.pname" => return anc(AncPart::Name, Some(1)),
        "proc.pexe" => return anc(AncPart::Exe, Some(1)),
        "proc.pexepath" => return anc(AncPart::ExePath, Some(1)),
        "proc.pcmdline" => return anc(AncPart::Cmdline, Some(1)),
        "proc.aname" => return anc(AncPart::Name, None),
        "proc.apid" => return anc(AncPart::Pid, None),
        "proc.aexe" => return anc(AncPart::Exe, None),
        "proc.aexepath" => return anc(AncPart::ExePath, None),
        "proc.acmdline" => return anc(AncPart::Cmdline, None),
        "proc.args" => ProcArgs,
        "proc.cmdnargs" => ProcCmdnargs,
        "proc.cmdlenargs" => ProcCmdlenargs,
        "proc.cwd" => ProcCwd,
        "proc.tty" => ProcTty,
        "proc.sid" => ProcSid,
        "proc.sname" => ProcSname,
        "proc.vpgid" => ProcVpgid,
        "proc.is_sid_leader" => ProcIsSidLeader,
        "proc.is_vpgid_leader" => ProcIsVpgidLeader,
        "proc.duration" => ProcDuration,
        "proc.is_exe_from_memfd" => ProcIsExeFromMemfd,
        "proc.stdin.type" => Stdio { fd: 0, name: false },
        "proc.stdin.name" => Stdio { fd: 0, name: true },
        "proc.stdout.type" => Stdio { fd: 1, name: false },
        "proc.stdout.name" => Stdio { fd: 1, name: true },
        "proc.stderr.type" => Stdio { fd: 2, name: false },
        "proc.stderr.name" => Stdio { fd: 2, name: true },
        "thread.cap_effective" => Cap(CapSet::Effective),
        "thread.cap_permitted" => Cap(CapSet::Permitted),
        "thread.cap_inheritable" => Cap(CapSet::Inheritable),
        "user.uid" => UserUid,
        "user.name" => UserName,
        "user.loginuid" => UserLoginuid,
        "group.gid" => GroupGid,
        "group.name" => GroupName,
        "fd.num" => FdNum,
        "fd.type" => FdType,
        "fd.typechar" => FdTypechar,
        "fd.name" => FdName,
        "fd.directory" => FdDirectory,
        "fd.filename" => FdFilename,
        "fd.l4proto" => FdL4proto,
        "fd.sockfamily" => FdSockfamily,
        "fd.is_server" => FdIsServer,
        "fd.connected" => FdConnected,
        "fd.cip" => FdIp(Side::Client),
        "fd.sip" => FdIp(Side::Server),
        "fd.lip" => FdIp(Side::Local),
        "fd.rip" => FdIp(Side::Remote),
        "fd.ip" => FdIp(Side::Either),
        "fd.cport" => FdPort(Side::Client),
        "fd.sport" => FdPort(Side::Server),
        "fd.lport" => FdPort(Side::Local),
        "fd.rport" => FdPort(Side::Remote),
        "fd.port" => FdPort(Side::Either),
        "fd.cnet" => FdNet(Side::Client),
        "fd.snet" => FdNet(Side::Server),
        "fd.lnet" => FdNet(Side::Local),
        "fd.rnet" => FdNet(Side::Remote),
        "fd.net" => FdNet(Side::Either),
        "container.id" => ContainerId,
        "container.full_id" => ContainerFullId,
        "container.name" => ContainerName,
        "container.image" => ContainerImage,
        "container.image.repository" => ContainerImageRepository,
        "container.image.tag" => ContainerImageTag,
        "container.image.digest" => ContainerImageDigest,
        "container.privileged" => ContainerPrivileged,
        "k8s.pod.name" => K8sPodName,
        "k8s.ns.name" => K8sNsName,
        "k8s.pod.uid" => K8sPodUid,
        "k8s.pod.label" | "k8s.pod.labels" if field.arg.is_some() => {
            return Ok(K8sPodLabel(field.arg.clone().unwrap_or_default()));
        }
        "podwarden.proc.exe_deleted" => PwExeDeleted,
        "podwarden.proc.tracer_pid" => PwTracerPid,
        "podwarden.tracer.name" => PwTracerName,
        "podwarden.conn.state" => PwConnState,
        "podwarden.file.size" => PwFileSize,
        "podwarden.event.kind" => PwEventKind,
        _ => {
            if let Some((_, reason)) = UNSUPPORTED.iter().find(|(known, _)| *known == name) {
                return Err(FieldError::Unsupported(reason));
            }
            if SYSCALL_CLASSES.iter().any(|class| name.starts_with(class)) {
                return Err(FieldError::Unsupported(NOT_OBSERVABLE));
            }
            return Err(FieldError::Unknown);
        }
    };
    no_arg(field, resolved)
}

impl Field {
    pub(crate) fn value_type(&self) -> ValueType {
        use Field::*;
        match self {
            EvtNum | EvtRawtime | ProcPid | ProcPpid | ProcCmdnargs | ProcCmdlenargs | ProcTty
            | ProcSid | ProcVpgid | ProcDuration | UserUid | GroupGid | FdPort(_) | PwTracerPid
            | PwFileSize => ValueType::U64,
            Anc {
                part: AncPart::Pid, ..
            } => ValueType::U64,
            EvtArg(Arg::Pid | Arg::NewFd | Arg::Proto) => ValueType::U64,
            EvtRawres | FdNum | UserLoginuid => ValueType::I64,
            EvtFailed | EvtIsOpenWrite | ProcIsSidLeader | ProcIsVpgidLeader
            | ProcIsExeFromMemfd | FdIsServer | FdConnected | ContainerPrivileged
            | PwExeDeleted => ValueType::Bool,
            FdIp(_) | FdNet(_) => ValueType::Ip,
            _ => ValueType::Str,
        }
    }

    /// Whether the field has a value for events of `kind`.
    pub(crate) fn availability(&self, kind: Kind) -> Availability {
        use Availability::*;
        use Field::*;
        let when = |yes: bool| if yes { Yes } else { NotApplicable };
        match self {
            EvtRes => when(kind != Kind::Exit),
            EvtRawres => match kind {
                Kind::Exit => NotApplicable,
                Kind::Accept | Kind::Socket => Unsupported,
                _ => Yes,
            },
            EvtIsOpenWrite => when(kind == Kind::Open),
            EvtArg(arg) => when(matches!(
                (arg, kind),
                (Arg::Domain | Arg::SockType | Arg::Proto, Kind::Socket)
                    | (Arg::OldPath | Arg::NewPath, Kind::Rename)
                    | (Arg::Name, Kind::Open)
                    | (Arg::Pid, Kind::Ptrace)
                    | (Arg::NewFd, Kind::Dup)
            )),
            EvtArgs => {
                if kind == Kind::Socket {
                    Yes
                } else {
                    Unsupported
                }
            }
            FdNum => match kind {
                Kind::Open | Kind::Dup => Yes,
                Kind::Rename | Kind::Socket => NotApplicable,
                k if k.is_net() => Unsupported,
                _ => NotApplicable,
            },
            FdType | FdTypechar | FdName => when(kind.is_net() || kind.is_file()),
            FdDirectory | FdFilename | PwFileSize => when(kind.is_file()),
            FdL4proto | FdSockfamily | FdIsServer | FdIp(_) | FdPort(_) | FdNet(_) => {
                when(kind.is_net())
            }
            PwTracerName => when(kind == Kind::Ptrace),
            FdConnected | PwConnState => {
                when(matches!(kind, Kind::Connect | Kind::Accept | Kind::Dup))
            }
            _ => Yes,
        }
    }

    /// The value when the event kind alone decides it.
    pub(crate) fn constant(&self, kind: Kind) -> Option<Constant> {
        match self {
            Field::EvtType => Some(Constant::Str(kind.evt_type())),
            Field::EvtDir => Some(Constant::Str(kind.evt_dir())),
            Field::EvtFailed => Some(Constant::Bool(false)),
            Field::EvtIsOpenWrite if kind == Kind::Open => Some(Constant::Bool(true)),
            Field::FdType if kind.is_file() => Some(Constant::Str("file")),
            Field::FdTypechar if kind.is_file() => Some(Constant::Str("f")),
            Field::FdSockfamily if kind.is_net() => Some(Constant::Str("ip")),
            Field::FdIsServer => match kind {
                Kind::Listen | Kind::Bind | Kind::Accept => Some(Constant::Bool(true)),
                Kind::Connect => Some(Constant::Bool(false)),
                _ => None,
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, arg: Option<&str>, expected: Result<Field, &str>) {
        let field = FieldName {
            name: name.to_string(),
            arg: arg.map(str::to_string),
        };
        let got = resolve(&field).map_err(|err| match err {
            FieldError::Unknown => "unknown".to_string(),
            FieldError::Unsupported(_) => "unsupported".to_string(),
            FieldError::BadArgument(_) => "bad-argument".to_string(),
        });
        assert_eq!(got, expected.map_err(str::to_string), "{name}");
    }

    #[test]
    fn names_resolve() {
        check(
            "proc.name",
            None,
            Ok(Field::Anc {
                part: AncPart::Name,
                level: Some(0),
            }),
        );
        check(
            "proc.aname",
            Some("2"),
            Ok(Field::Anc {
                part: AncPart::Name,
                level: Some(2),
            }),
        );
        check(
            "proc.aname",
            None,
            Ok(Field::Anc {
                part: AncPart::Name,
                level: None,
            }),
        );
        check(
            "proc.pname",
            None,
            Ok(Field::Anc {
                part: AncPart::Name,
                level: Some(1),
            }),
        );
        check("proc.aname", Some("x"), Err("bad-argument"));
        check("proc.name", Some("1"), Err("bad-argument"));
        check("evt.arg.flags", None, Err("unsupported"));
        check("evt.arg.domain", None, Ok(Field::EvtArg(Arg::Domain)));
        check("fd.sip.name", None, Err("unsupported"));
        check("proc.nosuchthing", None, Err("unsupported"));
        check("ka.verb", None, Err("unknown"));
        check(
            "k8s.pod.label",
            Some("app"),
            Ok(Field::K8sPodLabel("app".to_string())),
        );
    }
}
