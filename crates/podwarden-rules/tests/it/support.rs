//! Test helpers: event builders and one-call rule compilation.

use podwarden_api::event::{
    Ancestor, Connection, Container, Direction, Event, EventBody, FdInfo, FdKind, FileInfo,
    L4Protocol, Process, TcpState,
};
use podwarden_rules::{CompileOptions, Diagnostic, RuleSet, RuleSource};
use std::net::SocketAddr;

/// An event under construction.
pub struct Ev(pub Event);

fn envelope(body: EventBody) -> Ev {
    Ev(Event {
        v: 1,
        id: 42,
        ts: 1_700_000_000_000_000_000,
        container: None,
        body,
    })
}

fn process(exe: &str, argv: &[&str]) -> Process {
    let mut p = Process::new(4242, exe, argv);
    p.ppid = 4000;
    p.uid = 33;
    p.user = Some("www-data".to_string());
    p.gid = 33;
    p.group = Some("www-data".to_string());
    p.cwd = "/var/www/html".to_string();
    p.start_ts = 1_699_999_999_000_000_000;
    p
}

fn addr(text: &str) -> SocketAddr {
    text.parse()
        .unwrap_or_else(|_| panic!("bad socket address in test: {text}"))
}

fn connection(local: &str, remote: &str, direction: Direction) -> Connection {
    Connection {
        protocol: L4Protocol::Tcp,
        local: addr(local),
        remote: addr(remote),
        state: Some(TcpState::Established),
        direction,
    }
}

/// A process started from `exe` with `argv`.
pub fn exec(exe: &str, argv: &[&str]) -> Ev {
    envelope(EventBody::ProcessExec {
        process: process(exe, argv),
    })
}

/// A process exiting.
pub fn exit(exe: &str, argv: &[&str]) -> Ev {
    envelope(EventBody::ProcessExit {
        process: process(exe, argv),
        exit_code: Some(0),
    })
}

/// An outbound TCP connection from `exe` to `remote` (`ip:port`).
pub fn connect(exe: &str, argv: &[&str], remote: &str) -> Ev {
    let local = if remote.starts_with('[') {
        "[fd00::5]:40000"
    } else {
        "10.1.2.3:40000"
    };
    envelope(EventBody::Connection {
        process: Some(process(exe, argv)),
        connection: connection(local, remote, Direction::Outbound),
    })
}

/// An inbound TCP connection accepted by `exe` on `local` from `remote`.
pub fn accept(exe: &str, argv: &[&str], local: &str, remote: &str) -> Ev {
    envelope(EventBody::Connection {
        process: Some(process(exe, argv)),
        connection: connection(local, remote, Direction::Inbound),
    })
}

/// `exe` listening on `local` with `protocol`.
pub fn listen(exe: &str, argv: &[&str], local: &str, protocol: L4Protocol) -> Ev {
    envelope(EventBody::Listen {
        process: Some(process(exe, argv)),
        protocol,
        local: addr(local),
    })
}

/// `exe` created the file `path`.
pub fn file_created(exe: &str, argv: &[&str], path: &str) -> Ev {
    envelope(EventBody::FileCreated {
        process: Some(process(exe, argv)),
        file: FileInfo {
            path: path.to_string(),
            size: Some(120),
            fd: Some(7),
        },
    })
}

/// `exe` wrote to the file `path`.
pub fn file_modified(exe: &str, argv: &[&str], path: &str) -> Ev {
    envelope(EventBody::FileModified {
        process: Some(process(exe, argv)),
        file: FileInfo {
            path: path.to_string(),
            size: Some(1),
            fd: Some(3),
        },
    })
}

/// `exe` renamed `old_path` to `path`.
pub fn file_renamed(exe: &str, argv: &[&str], old_path: &str, path: &str) -> Ev {
    envelope(EventBody::FileRenamed {
        process: Some(process(exe, argv)),
        file: FileInfo {
            path: path.to_string(),
            size: None,
            fd: None,
        },
        old_path: old_path.to_string(),
    })
}

/// Standard stream `fd` of `exe` is a socket connected out to `remote`.
pub fn stdio_socket(exe: &str, argv: &[&str], fd: u8, remote: &str) -> Ev {
    envelope(EventBody::StdioSocket {
        process: process(exe, argv),
        fd,
        connection: connection("10.1.2.3:40001", remote, Direction::Outbound),
    })
}

/// `exe` is being traced by a process named `tracer`.
pub fn ptrace(exe: &str, argv: &[&str], tracer: &str) -> Ev {
    let mut traced = process(exe, argv);
    traced.tracer_pid = 5000;
    envelope(EventBody::PtraceAttached {
        process: traced,
        tracer_pid: 5000,
        tracer: Some(Ancestor::new(
            5000,
            &format!("/usr/bin/{tracer}"),
            &[tracer, "-p", "4242"],
        )),
    })
}

/// `exe` opened an AF_PACKET socket.
pub fn packet_socket(exe: &str, argv: &[&str]) -> Ev {
    envelope(EventBody::PacketSocket {
        process: Some(process(exe, argv)),
        socket_type: "raw".to_string(),
        protocol: 3,
    })
}

impl Ev {
    fn process_mut(&mut self) -> Option<&mut Process> {
        match &mut self.0.body {
            EventBody::ProcessExec { process }
            | EventBody::ProcessExit { process, .. }
            | EventBody::StdioSocket { process, .. }
            | EventBody::PtraceAttached { process, .. } => Some(process),
            EventBody::Connection { process, .. }
            | EventBody::Listen { process, .. }
            | EventBody::PacketSocket { process, .. }
            | EventBody::FileCreated { process, .. }
            | EventBody::FileModified { process, .. }
            | EventBody::FileRenamed { process, .. } => process.as_mut(),
        }
    }

    fn with_process(mut self, change: impl FnOnce(&mut Process)) -> Self {
        if let Some(p) = self.process_mut() {
            change(p);
        }
        self
    }

    /// Add the next ancestor up the chain (first call: the parent).
    pub fn parent(self, exe: &str, argv: &[&str]) -> Self {
        self.with_process(|p| {
            let pid = 4000 - 100 * u32::try_from(p.ancestors.len()).unwrap_or(0);
            p.ancestors.push(Ancestor::new(pid, exe, argv));
        })
    }

    /// Set the process's comm explicitly (as the kernel or a hand-written event has it).
    pub fn name(self, name: &str) -> Self {
        self.with_process(|p| p.name = name.to_string())
    }

    pub fn user(self, uid: u32, name: &str) -> Self {
        self.with_process(|p| {
            p.uid = uid;
            p.user = Some(name.to_string());
        })
    }

    pub fn cwd(self, cwd: &str) -> Self {
        self.with_process(|p| p.cwd = cwd.to_string())
    }

    pub fn tty(self, tty: u32) -> Self {
        self.with_process(|p| p.tty = tty)
    }

    pub fn caps(self, caps: u64) -> Self {
        self.with_process(|p| p.cap_effective = Some(caps))
    }

    pub fn memfd(self) -> Self {
        self.with_process(|p| {
            p.exe_from_memfd = true;
            p.exe_deleted = true;
        })
    }

    pub fn deleted(self) -> Self {
        self.with_process(|p| p.exe_deleted = true)
    }

    /// Standard input and output are a TCP connection to `remote`.
    pub fn stdio_on_socket(self, remote: &str) -> Self {
        self.with_process(|p| {
            let info = FdInfo {
                kind: FdKind::Ipv4,
                target: "socket:[91234]".to_string(),
                connection: Some(connection("10.1.2.3:40002", remote, Direction::Outbound)),
            };
            p.stdin = Some(info.clone());
            p.stdout = Some(info);
        })
    }

    /// Standard streams of the given kind (pipe, unix socket, ...).
    pub fn stdio(self, kind: FdKind, target: &str) -> Self {
        self.with_process(|p| {
            let info = FdInfo {
                kind,
                target: target.to_string(),
                connection: None,
            };
            p.stdin = Some(info.clone());
            p.stdout = Some(info.clone());
            p.stderr = Some(info);
        })
    }

    /// Run inside a container of `image` in pod `web-0`.
    pub fn container(mut self, image: &str) -> Self {
        self.0.container = Some(Container {
            id: "3f2a9c1b7d4e5f60718293a4b5c6d7e8".to_string(),
            name: Some("app".to_string()),
            image: Some(image.to_string()),
            pod: Some("web-0".to_string()),
            namespace: Some("shop".to_string()),
            pod_uid: Some("8e2f".to_string()),
            privileged: false,
            labels: [("app".to_string(), "web".to_string())]
                .into_iter()
                .collect(),
        });
        self
    }

    pub fn privileged(mut self) -> Self {
        if let Some(c) = self.0.container.as_mut() {
            c.privileged = true;
        }
        self
    }

    pub fn udp(mut self) -> Self {
        if let EventBody::Connection { connection, .. } = &mut self.0.body {
            connection.protocol = L4Protocol::Udp;
            connection.state = None;
        }
        self
    }

    pub fn syn_sent(mut self) -> Self {
        if let EventBody::Connection { connection, .. } = &mut self.0.body {
            connection.state = Some(TcpState::SynSent);
        }
        self
    }

    pub fn build(self) -> Event {
        self.0
    }
}

/// Compile YAML sources named `test-N.yaml`.
pub fn compile(texts: &[&str]) -> (RuleSet, Vec<Diagnostic>) {
    let sources: Vec<RuleSource> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| RuleSource::new(format!("test-{i}.yaml"), *text))
        .collect();
    RuleSet::compile(&sources, &CompileOptions::default())
}

/// Compile and insist on no diagnostics.
pub fn compile_clean(texts: &[&str]) -> RuleSet {
    let (set, diagnostics) = compile(texts);
    let shown: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        shown.is_empty(),
        "unexpected diagnostics:\n{}",
        shown.join("\n")
    );
    set
}

/// Names of the rules an event fires, in order.
pub fn fired(set: &RuleSet, event: &Event) -> Vec<String> {
    set.matches(event).into_iter().map(|a| a.rule).collect()
}

/// A one-rule file with `condition` (indented into a block scalar).
pub fn rule_yaml(name: &str, condition: &str) -> String {
    format!(
        "- rule: {name}\n  desc: test\n  condition: |\n    {}\n  output: \"{name} fired\"\n  priority: INFO\n",
        condition.replace('\n', "\n    ")
    )
}

/// Path of a file under `shared/compat/`, failing clearly when the folder is absent.
pub fn compat(path: &str) -> std::path::PathBuf {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/compat")
        .join(path);
    assert!(
        full.exists(),
        "conformance data missing: {} (shared/compat must sit beside the checkout)",
        full.display()
    );
    full
}
