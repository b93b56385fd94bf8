//! The process table and socket tracker: on a fake `/proc` (pid reuse, exec in place, forks,
//! parent chains, sidecar containers) and on this live machine with real processes.

use podwarden_agent::collect::container::{Containers, PodIdentity};
use podwarden_agent::collect::process::{Env, ProcessTracker, SocketLookup, TrackerConfig};
use podwarden_agent::collect::procfs::ProcFs;
use podwarden_agent::collect::{Collector, CollectorConfig, StepOutput};
use podwarden_api::event::{Connection, Direction, Event, EventBody, FdKind, L4Protocol};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A fake `/proc` in a temporary directory.
struct FakeProc {
    dir: tempfile::TempDir,
}

struct Proc<'a> {
    pid: u32,
    ppid: u32,
    comm: &'a str,
    start: u64,
    argv: &'a [&'a str],
    exe: &'a str,
    mnt: u64,
}

impl FakeProc {
    fn new() -> FakeProc {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stat"), "cpu  1 2 3\nbtime 1700000000\n").unwrap();
        FakeProc { dir }
    }

    fn put(&self, p: Proc<'_>) {
        let base = self.dir.path().join(p.pid.to_string());
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("fd")).unwrap();
        std::fs::create_dir_all(base.join("ns")).unwrap();
        std::fs::write(
            base.join("stat"),
            format!(
                "{} ({}) S {} {} {} 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 {} 0 0\n",
                p.pid, p.comm, p.ppid, p.pid, p.pid, p.start
            ),
        )
        .unwrap();
        std::fs::write(base.join("status"), "Uid:\t33\t33\t33\t33\nGid:\t33\t33\t33\t33\nTracerPid:\t0\nCapEff:\t0000000000000000\n").unwrap();
        let mut cmdline = p.argv.join("\0");
        cmdline.push('\0');
        std::fs::write(base.join("cmdline"), cmdline).unwrap();
        std::fs::write(base.join("cgroup"), "0::/\n").unwrap();
        symlink(p.exe, base.join("exe")).unwrap();
        symlink("/", base.join("cwd")).unwrap();
        symlink("/dev/null", base.join("fd/0")).unwrap();
        symlink(format!("mnt:[{}]", p.mnt), base.join("ns/mnt")).unwrap();
    }

    fn remove(&self, pid: u32) {
        std::fs::remove_dir_all(self.dir.path().join(pid.to_string())).unwrap();
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

struct NoSockets;

impl SocketLookup for NoSockets {
    fn describe_socket(&mut self, _: &ProcFs, _: u64) -> (FdKind, Option<Connection>) {
        (FdKind::Other, None)
    }
}

struct Table {
    proc: ProcFs,
    containers: Containers,
    tracker: ProcessTracker,
}

impl Table {
    fn new(fake: &FakeProc, sidecar: bool, own_pid: u32) -> Table {
        let proc = ProcFs::open(fake.path()).unwrap();
        let pod = PodIdentity {
            pod_name: Some("web-0".into()),
            namespace: Some("shop".into()),
            ..PodIdentity::default()
        };
        let containers = Containers::new(&proc, own_pid, pod);
        let config = TrackerConfig {
            sidecar,
            own_pid,
            exit_events: true,
            ..TrackerConfig::default()
        };
        Table {
            proc,
            containers,
            tracker: ProcessTracker::new(config),
        }
    }

    fn tick(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        let mut sockets = NoSockets;
        let mut env = Env {
            proc: &self.proc,
            containers: &mut self.containers,
            sockets: &mut sockets,
        };
        self.tracker
            .tick(&mut env, Duration::from_millis(100), &mut out);
        out
    }
}

/// `(kind, pid, name)` of each event, for table-driven comparisons.
fn summary(events: &[Event]) -> Vec<(&'static str, u32, String)> {
    let mut rows: Vec<(&'static str, u32, String)> = events
        .iter()
        .filter_map(|e| {
            let kind = match &e.body {
                EventBody::ProcessExec { .. } => "exec",
                EventBody::ProcessExit { .. } => "exit",
                EventBody::PtraceAttached { .. } => "ptrace",
                _ => "other",
            };
            e.process().map(|p| (kind, p.pid, p.name.clone()))
        })
        .collect();
    rows.sort();
    rows
}

fn row(kind: &'static str, pid: u32, name: &str) -> (&'static str, u32, String) {
    (kind, pid, name.to_string())
}

#[test]
fn pid_reuse_is_told_apart_by_start_time() {
    let fake = FakeProc::new();
    fake.put(Proc {
        pid: 100,
        ppid: 1,
        comm: "nginx",
        start: 5,
        argv: &["nginx"],
        exe: "/usr/sbin/nginx",
        mnt: 1,
    });
    let mut table = Table::new(&fake, false, 99_999);
    assert_eq!(summary(&table.tick()), vec![row("exec", 100, "nginx")]);
    assert_eq!(summary(&table.tick()), vec![], "nothing new");
    // Same pid, later start, another program: the old one exited, a new one started.
    fake.put(Proc {
        pid: 100,
        ppid: 1,
        comm: "xmrig",
        start: 900,
        argv: &["xmrig"],
        exe: "/tmp/xmrig",
        mnt: 1,
    });
    assert_eq!(
        summary(&table.tick()),
        vec![row("exec", 100, "xmrig"), row("exit", 100, "nginx")]
    );
    let exec = table.tracker.process(100).unwrap();
    assert_eq!(exec.start_ts, 1_700_000_000_000_000_000 + 900 * 10_000_000);
    fake.remove(100);
    assert_eq!(summary(&table.tick()), vec![row("exit", 100, "xmrig")]);
}

#[test]
fn exec_in_place_and_forks_without_exec() {
    let fake = FakeProc::new();
    fake.put(Proc {
        pid: 300,
        ppid: 1,
        comm: "sh",
        start: 10,
        argv: &["sh", "-c", "curl x | sh"],
        exe: "/bin/dash",
        mnt: 1,
    });
    // A fork that has not executed anything yet: same program and arguments as its parent.
    fake.put(Proc {
        pid: 301,
        ppid: 300,
        comm: "sh",
        start: 11,
        argv: &["sh", "-c", "curl x | sh"],
        exe: "/bin/dash",
        mnt: 1,
    });
    let mut table = Table::new(&fake, false, 99_999);
    assert_eq!(
        summary(&table.tick()),
        vec![row("exec", 300, "sh")],
        "the fork copy is not an exec"
    );
    // The fork executes a shell (same name, other arguments): now it is reported.
    fake.put(Proc {
        pid: 301,
        ppid: 300,
        comm: "sh",
        start: 11,
        argv: &["sh"],
        exe: "/bin/dash",
        mnt: 1,
    });
    assert_eq!(summary(&table.tick()), vec![row("exec", 301, "sh")]);
    // exec in place of the parent: same pid and start, another name.
    fake.put(Proc {
        pid: 300,
        ppid: 1,
        comm: "curl",
        start: 10,
        argv: &["curl", "x"],
        exe: "/usr/bin/curl",
        mnt: 1,
    });
    let events = table.tick();
    assert_eq!(summary(&events), vec![row("exec", 300, "curl")]);
    let process = events[0].process().unwrap();
    assert_eq!(process.argv, vec!["curl", "x"]);
    assert_eq!(process.exe, "/usr/bin/curl");
    // A young process executing a program of the same name (`exec sh -c ...`): only the
    // command line tells.
    fake.put(Proc {
        pid: 310,
        ppid: 1,
        comm: "sh",
        start: 20,
        argv: &["sh", "-c", "exec sh -c 'x'"],
        exe: "/bin/dash",
        mnt: 1,
    });
    assert_eq!(summary(&table.tick()), vec![row("exec", 310, "sh")]);
    fake.put(Proc {
        pid: 310,
        ppid: 1,
        comm: "sh",
        start: 20,
        argv: &["sh", "-c", "x"],
        exe: "/bin/dash",
        mnt: 1,
    });
    let events = table.tick();
    assert_eq!(summary(&events), vec![row("exec", 310, "sh")]);
    assert_eq!(events[0].process().unwrap().argv, vec!["sh", "-c", "x"]);
    assert_eq!(summary(&table.tick()), vec![], "no change, no event");
}

#[test]
fn parent_chain_survives_the_parent_exit() {
    let fake = FakeProc::new();
    fake.put(Proc {
        pid: 200,
        ppid: 1,
        comm: "php-fpm",
        start: 1,
        argv: &["php-fpm: pool www"],
        exe: "/usr/sbin/php-fpm",
        mnt: 1,
    });
    fake.put(Proc {
        pid: 201,
        ppid: 200,
        comm: "sh",
        start: 2,
        argv: &["sh", "-c", "id"],
        exe: "/bin/dash",
        mnt: 1,
    });
    let mut table = Table::new(&fake, false, 99_999);
    table.tick();
    fake.remove(200);
    // The kernel reparents the orphan to init; the agent keeps the original parent.
    fake.put(Proc {
        pid: 201,
        ppid: 1,
        comm: "sh",
        start: 2,
        argv: &["sh", "-c", "id"],
        exe: "/bin/dash",
        mnt: 1,
    });
    assert_eq!(summary(&table.tick()), vec![row("exit", 200, "php-fpm")]);
    let orphan = table.tracker.process(201).unwrap();
    let chain: Vec<(u32, &str)> = orphan
        .ancestors
        .iter()
        .map(|a| (a.pid, a.name.as_str()))
        .collect();
    assert_eq!(chain, vec![(200, "php-fpm")]);
    assert_eq!(orphan.ancestors[0].argv, vec!["php-fpm: pool www"]);
    // A new child of the orphan sees the whole chain.
    fake.put(Proc {
        pid: 202,
        ppid: 201,
        comm: "id",
        start: 3,
        argv: &["id"],
        exe: "/usr/bin/id",
        mnt: 1,
    });
    let events = table.tick();
    let child = events[0].process().unwrap();
    let chain: Vec<u32> = child.ancestors.iter().map(|a| a.pid).collect();
    assert_eq!(chain, vec![201, 200]);
}

#[test]
fn sidecar_mode_attributes_containers_and_ignores_its_own() {
    let fake = FakeProc::new();
    // The agent (pid 50) and a helper in its own container (mount namespace 111); the
    // workload in namespace 222.
    fake.put(Proc {
        pid: 50,
        ppid: 0,
        comm: "podwarden",
        start: 1,
        argv: &["podwarden", "agent"],
        exe: "/podwarden",
        mnt: 111,
    });
    fake.put(Proc {
        pid: 51,
        ppid: 50,
        comm: "helper",
        start: 2,
        argv: &["helper"],
        exe: "/helper",
        mnt: 111,
    });
    fake.put(Proc {
        pid: 7,
        ppid: 0,
        comm: "nginx",
        start: 1,
        argv: &["nginx"],
        exe: "/usr/sbin/nginx",
        mnt: 222,
    });
    let id = "3f1c2b0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";
    std::fs::write(
        fake.path().join("7/cgroup"),
        format!("0::/kubepods/pod1/cri-containerd-{id}.scope\n"),
    )
    .unwrap();
    let mut table = Table::new(&fake, true, 50);
    let events = table.tick();
    assert_eq!(summary(&events), vec![row("exec", 7, "nginx")]);
    let container = events[0].container.as_ref().unwrap();
    assert_eq!(container.id, id);
    assert_eq!(
        (container.pod.as_deref(), container.namespace.as_deref()),
        (Some("web-0"), Some("shop"))
    );
    let workloads: Vec<u64> = table
        .containers
        .workloads()
        .map(|(_, slot)| slot.mnt_ns)
        .collect();
    assert_eq!(workloads, vec![222]);
}

#[test]
fn kernel_threads_are_told_by_their_flag_not_by_pid_2() {
    let fake = FakeProc::new();
    // In a pod's pid namespace pid 2 is the workload (the pause process is 1); a kernel
    // thread carries PF_KTHREAD (0x200000) in the flags of its stat.
    fake.put(Proc {
        pid: 2,
        ppid: 0,
        comm: "httpd",
        start: 3,
        argv: &["/usr/sbin/httpd", "-f"],
        exe: "/usr/sbin/httpd",
        mnt: 222,
    });
    fake.put(Proc {
        pid: 3,
        ppid: 2,
        comm: "sh",
        start: 4,
        argv: &["sh", "-c", "id"],
        exe: "/bin/sh",
        mnt: 222,
    });
    fake.put(Proc {
        pid: 40,
        ppid: 0,
        comm: "kworker/0:1",
        start: 2,
        argv: &[],
        exe: "/",
        mnt: 222,
    });
    std::fs::write(
        fake.path().join("40/stat"),
        "40 (kworker/0:1) I 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0\n",
    )
    .unwrap();
    for sidecar in [false, true] {
        let mut table = Table::new(&fake, sidecar, 99_999);
        assert_eq!(
            summary(&table.tick()),
            vec![row("exec", 2, "httpd"), row("exec", 3, "sh")],
            "sidecar {sidecar}"
        );
        if sidecar {
            let roots: Vec<u32> = table
                .containers
                .workloads()
                .map(|(_, slot)| slot.root_pid)
                .collect();
            assert_eq!(
                roots,
                vec![2],
                "the workload's root is reached through pid 2"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Live machine

fn collector() -> Collector {
    let mut config = CollectorConfig {
        watch_web_roots: false,
        netlink: false,
        ..CollectorConfig::default()
    };
    config.poll_interval = Duration::from_millis(20);
    // The test process itself is a workload here, not the agent.
    config.tracker.own_pid = 0;
    Collector::new(config, PodIdentity::default()).unwrap()
}

/// Steps until an event satisfies `want` (10 s at most); returns it.
fn wait_for(collector: &mut Collector, what: &str, want: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = StepOutput::default();
    while Instant::now() < deadline {
        out.clear();
        collector.step(Duration::from_millis(20), &mut out);
        if let Some(event) = out.events.iter().find(|e| want(e)) {
            return event.clone();
        }
    }
    panic!("no event: {what}");
}

fn settle(collector: &mut Collector) {
    let mut out = StepOutput::default();
    for _ in 0..3 {
        out.clear();
        collector.step(Duration::from_millis(20), &mut out);
    }
}

fn is_exec_of(event: &Event, pid: u32, name: &str) -> bool {
    matches!(&event.body, EventBody::ProcessExec { process } if process.pid == pid && process.name == name)
}

#[test]
fn live_child_with_a_socket_as_stdin() {
    let mut collector = collector();
    settle(&mut collector);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let client = TcpStream::connect(server).unwrap();
    let mut child = Command::new("sleep")
        .arg("10")
        .stdin(Stdio::from(OwnedFd::from(client)))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let event = wait_for(&mut collector, "exec of sleep", |e| {
        is_exec_of(e, pid, "sleep")
    });
    let _ = child.kill();
    let _ = child.wait();
    let process = event.process().unwrap();
    let stdin = process.stdin.as_ref().unwrap();
    assert_eq!(stdin.kind, FdKind::Ipv4, "{stdin:?}");
    let connection = stdin.connection.as_ref().unwrap();
    assert_eq!(
        (connection.remote, connection.direction),
        (server, Direction::Outbound)
    );
    assert_eq!(
        process.stdout.as_ref().map(|f| f.kind),
        Some(FdKind::File),
        "/dev/null"
    );
    assert_eq!(process.ppid, std::process::id());
    assert_eq!(
        process.ancestors.first().map(|a| a.pid),
        Some(std::process::id())
    );
}

#[test]
fn live_parent_chain_survives_parent_exit() {
    let mut collector = collector();
    settle(&mut collector);
    let parent = Command::new("sh")
        .args(["-c", "sleep 20 >/dev/null & echo $!; sleep 0.6"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let parent_pid = parent.id();
    let output_handle = std::thread::spawn(move || parent.wait_with_output().unwrap());
    let event = wait_for(
        &mut collector,
        "exec of the background sleep",
        |e| matches!(&e.body, EventBody::ProcessExec { process } if process.name == "sleep" && process.ppid == parent_pid && process.argv.get(1).map(String::as_str) == Some("20")),
    );
    let orphan = event.process().unwrap().pid;
    let output = output_handle.join().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        orphan.to_string()
    );
    // The parent is gone now; let the table notice, then read the orphan's chain.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{parent_pid}")).exists() && Instant::now() < deadline {
        settle(&mut collector);
    }
    settle(&mut collector);
    let process = collector.tracker().process(orphan).unwrap();
    let _ = Command::new("kill").arg(orphan.to_string()).status();
    let chain: Vec<u32> = process.ancestors.iter().map(|a| a.pid).collect();
    assert_eq!(chain.first(), Some(&parent_pid), "{chain:?}");
    assert_eq!(process.ancestors[0].name, "sh");
    assert_eq!(chain.get(1), Some(&std::process::id()), "{chain:?}");
}

#[test]
fn live_exec_in_place_is_seen() {
    let mut collector = collector();
    settle(&mut collector);
    let mut child = Command::new("sh")
        .args(["-c", "sleep 0.4; exec sleep 7"])
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_for(&mut collector, "the shell", |e| is_exec_of(e, pid, "sh"));
    let event = wait_for(&mut collector, "the shell replaced by sleep", |e| {
        is_exec_of(e, pid, "sleep")
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(event.process().unwrap().argv, vec!["sleep", "7"]);
}

#[test]
fn live_listen_and_connect_events_name_the_process() {
    let mut collector = collector();
    settle(&mut collector);
    let me = std::process::id();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let listen = wait_for(
        &mut collector,
        "listen",
        |e| matches!(&e.body, EventBody::Listen { local, .. } if *local == server),
    );
    match &listen.body {
        EventBody::Listen {
            process, protocol, ..
        } => {
            assert_eq!(*protocol, L4Protocol::Tcp);
            assert_eq!(process.as_ref().map(|p| p.pid), Some(me));
        }
        other => panic!("{other:?}"),
    }
    let client = TcpStream::connect(server).unwrap();
    let local = client.local_addr().unwrap();
    let connect = wait_for(
        &mut collector,
        "outbound connection",
        |e| matches!(&e.body, EventBody::Connection { connection, .. } if connection.local == local && connection.direction == Direction::Outbound),
    );
    match &connect.body {
        EventBody::Connection {
            process,
            connection,
        } => {
            assert_eq!(connection.remote, server);
            assert_eq!(process.as_ref().map(|p| p.pid), Some(me));
        }
        other => panic!("{other:?}"),
    }
    drop(client);
}
