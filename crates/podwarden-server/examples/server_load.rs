//! Load generator for the center: N agents enrol, then heartbeat every interval (open loop,
//! spread evenly) over keep-alive HTTP/1.1 connections; reports throughput and latency
//! percentiles. Also times `upsert_assets_from_source` with 10,000 pods.
//!
//! Runs an in-process server on a temporary SQLite file (the default; protection enabled and
//! the metering jobs running) or hits `--url` with an operator `--token`. Usage:
//! `cargo run --release -p podwarden-server --example server-load -- --agents 10000 --interval 30 --duration 60`

#[path = "support/load_client.rs"]
mod load_client;
use load_client::{Conn, report};
use podwarden_server::assets::{AssetStatus, ObservedPod, SourceKind};
use podwarden_server::config::{ConfigFile, Settings};
use podwarden_server::store::{Db, Store};
use podwarden_server::{AppState, app};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, mpsc};

const TOKEN: &str = "pw_load_test_operator_token_0123456789";

struct Options {
    agents: usize,
    interval_secs: u64,
    duration_secs: u64,
    connections: usize,
    sync_pods: usize,
    url: Option<String>,
    token: String,
}

fn options() -> Result<Options, String> {
    let mut opts = Options {
        agents: 10_000,
        interval_secs: 30,
        duration_secs: 60,
        connections: 64,
        sync_pods: 10_000,
        url: None,
        token: TOKEN.to_string(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag}: {value:?} is not a number"))
        };
        match flag.as_str() {
            "--agents" => opts.agents = number()? as usize,
            "--interval" => opts.interval_secs = number()?,
            "--duration" => opts.duration_secs = number()?,
            "--connections" => opts.connections = number()?.max(1) as usize,
            "--sync-pods" => opts.sync_pods = number()? as usize,
            "--url" => opts.url = Some(value.trim_end_matches('/').to_string()),
            "--token" => opts.token = value.clone(),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(opts)
}

fn observed_pod(i: usize, restarts: i64) -> ObservedPod {
    ObservedPod {
        uid: format!("uid-{i}"),
        name: format!("web-{i}"),
        namespace: format!("ns-{}", i % 50),
        cluster: "bench".to_string(),
        source_kind: SourceKind::K8sVirtualNode,
        owner_kind: Some("ReplicaSet".to_string()),
        owner_name: Some(format!("web-{}", i / 10)),
        node_name: Some("virtual-kubelet".to_string()),
        runtime_class: None,
        images: vec![format!("registry.example/web:{}", i % 7)],
        cpu_limit_millicores: Some(500),
        cpu_request_millicores: Some(250),
        annotations: BTreeMap::from([("podwarden.io/agent".to_string(), "enabled".to_string())]),
        status: AssetStatus::Running,
        restart_count: restarts,
        created_at_ms: Some(1_700_000_000_000),
    }
}

async fn sync_benchmark(store: &Store, pods: usize) -> Result<(), String> {
    let (tenant, _) = store
        .create_tenant(
            podwarden_server::store::TenantId(1),
            "sync-bench",
            &podwarden_server::store::Actor::system(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let all: Vec<ObservedPod> = (0..pods).map(|i| observed_pod(i, 0)).collect();
    let mut changed: Vec<ObservedPod> = (0..pods * 9 / 10).map(|i| observed_pod(i, 0)).collect();
    for pod in changed.iter_mut().take(pods / 100) {
        pod.restart_count = 1;
    }
    for (name, batch) in [
        ("first sync (all new)", all.clone()),
        ("same pods again", all),
        ("10% gone, 1% restarted", changed),
    ] {
        let started = Instant::now();
        let counts = store
            .upsert_assets_from_source(tenant.id, "cluster:bench", batch)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "upsert_assets_from_source {pods} pods, {name}: {:.0} ms ({counts:?})",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let opts = options()?;
    let _dir;
    let addr = match &opts.url {
        Some(url) => url.trim_start_matches("http://").to_string(),
        None => {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let config = ConfigFile {
                database: Some(format!("sqlite://{}/bench.db", dir.path().display())),
                heartbeat_interval_secs: Some(opts.interval_secs),
                ..ConfigFile::default()
            };
            _dir = dir;
            let settings = Settings::from_file(config).map_err(|e| e.to_string())?;
            let db = Db::connect(&settings.database)
                .await
                .map_err(|e| e.to_string())?;
            let store = Store::new(
                db,
                Arc::new(podwarden_server::clock::SystemClock),
                Arc::new(settings),
            );
            store
                .bootstrap(Some(TOKEN))
                .await
                .map_err(|e| e.to_string())?;
            if opts.sync_pods > 0 {
                sync_benchmark(&store, opts.sync_pods).await?;
            }
            // Protection on (auto-add binds every enrolling agent's asset), and the real jobs
            // running, so heartbeats compete with the metering flush as in production.
            let enable = podwarden_server::store::protection::ProtectionUpdate {
                enabled: Some(true),
                ..Default::default()
            };
            store
                .update_protection(
                    podwarden_server::store::TenantId(1),
                    enable,
                    &podwarden_server::store::Actor::system(),
                )
                .await
                .map_err(|e| e.to_string())?;
            let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
            std::mem::forget(stop_jobs);
            podwarden_server::jobs::Scheduler::with_builtin_jobs(store.clone()).spawn(jobs_stopped);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| e.to_string())?;
            let local = listener.local_addr().map_err(|e| e.to_string())?;
            let router = app(AppState::new(store));
            tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            });
            local.to_string()
        }
    };

    // An enrolment token, then every agent enrols.
    let mut conn = Conn::open(&addr).await.map_err(|e| e.to_string())?;
    let (status, body) = conn
        .send("POST", "/api/v1/enrollment-tokens", &opts.token, Some("{}"))
        .await
        .map_err(|e| e.to_string())?;
    if status != 201 {
        return Err(format!("cannot create an enrolment token: {status} {body}"));
    }
    let value: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let enrollment = value["token"].as_str().unwrap_or_default().to_string();

    let started = Instant::now();
    let next = Arc::new(Mutex::new(0usize));
    let credentials = Arc::new(Mutex::new(vec![String::new(); opts.agents]));
    let mut tasks = Vec::new();
    for _ in 0..opts.connections.min(32) {
        let (next, credentials, enrollment, addr) = (
            next.clone(),
            credentials.clone(),
            enrollment.clone(),
            addr.clone(),
        );
        let agents = opts.agents;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await.map_err(|e| e.to_string())?;
            let mut latencies = Vec::new();
            loop {
                let i = {
                    let mut n = next.lock().await;
                    if *n >= agents {
                        break;
                    }
                    *n += 1;
                    *n - 1
                };
                let body = format!(
                    r#"{{"pod_uid":"load-{i}","pod_name":"load-{i}","pod_namespace":"bench","agent_version":"0.1.0","mode":"sidecar","hostname":"load-{i}"}}"#
                );
                let sent = Instant::now();
                let (status, reply) = conn.send("POST", "/agent/v1/enroll", &enrollment, Some(&body)).await.map_err(|e| e.to_string())?;
                latencies.push(sent.elapsed());
                if status != 200 {
                    return Err(format!("enrol {i}: {status} {reply}"));
                }
                let value: serde_json::Value = serde_json::from_str(&reply).map_err(|e| e.to_string())?;
                if let Some(slot) = credentials.lock().await.get_mut(i) {
                    *slot = value["credential"].as_str().unwrap_or_default().to_string();
                }
            }
            Ok::<Vec<Duration>, String>(latencies)
        }));
    }
    let mut enrol_latencies = Vec::new();
    for task in tasks {
        enrol_latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    report("enrol", enrol_latencies, 0, started.elapsed());

    // Heartbeats: agent i beats at offset (i / agents) × interval, then every interval.
    let credentials = Arc::new(credentials.lock().await.clone());
    let interval = Duration::from_secs(opts.interval_secs);
    let duration = Duration::from_secs(opts.duration_secs);
    let (send, receive) = mpsc::channel::<(usize, Instant)>(100_000);
    let receive = Arc::new(Mutex::new(receive));
    let mut workers = Vec::new();
    for _ in 0..opts.connections {
        let (receive, credentials, addr) = (receive.clone(), credentials.clone(), addr.clone());
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await.map_err(|e| e.to_string())?;
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            loop {
                let job = receive.lock().await.recv().await;
                let Some((agent, due)) = job else { break };
                let credential = credentials.get(agent).cloned().unwrap_or_default();
                match conn
                    .send(
                        "POST",
                        "/agent/v1/heartbeat",
                        &credential,
                        Some(r#"{"agent_version":"0.1.0"}"#),
                    )
                    .await
                {
                    Ok((200, _)) => latencies.push(due.elapsed()),
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        conn = Conn::open(&addr).await.map_err(|e| e.to_string())?;
                    }
                }
            }
            Ok::<(Vec<Duration>, usize), String>((latencies, errors))
        }));
    }
    let started = Instant::now();
    let agents = opts.agents.max(1);
    let spacing = interval.as_secs_f64() / agents as f64;
    let mut k: u64 = 0;
    loop {
        let due = started + Duration::from_secs_f64(k as f64 * spacing);
        if due.duration_since(started) >= duration {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        if send.send(((k as usize) % agents, due)).await.is_err() {
            break;
        }
        k += 1;
    }
    drop(send);
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (l, e) = worker.await.map_err(|e| e.to_string())??;
        latencies.extend(l);
        errors += e;
    }
    report(
        &format!(
            "heartbeat ({} agents every {} s, open loop, latency from the scheduled send time)",
            opts.agents, opts.interval_secs
        ),
        latencies,
        errors,
        started.elapsed(),
    );
    Ok(())
}
