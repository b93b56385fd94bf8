//! Load benchmark of the findings paths: agents upload detection batches (default 2,000
//! detections/s: 200 agents × one batch of 10 per second) while 10,000 agents heartbeat every
//! 30 s (333/s), open loop over keep-alive HTTP/1.1 connections to an in-process server on a
//! temporary SQLite file; reports throughput and latency percentiles per route. Then builds a
//! tenant with 10,000 assets and 100,000 alerts and times the list queries the console uses
//! (`GET /api/v1/assets?risk=at_risk`, `GET /api/v1/alerts`, ...).
//!
//! Usage (see also `bench/server-findings.sh`):
//! `cargo run --release -p podwarden-server --example findings-load -- --duration 60`

#[path = "support/load_client.rs"]
mod load_client;
use load_client::{Conn, report};
use podwarden_api::uplink::{AlertSeverity, AlertType, Detection, EventBatch};
use podwarden_server::assets::{AssetStatus, ObservedPod, SourceKind};
use podwarden_server::auth::AgentPrincipal;
use podwarden_server::config::{ConfigFile, Settings};
use podwarden_server::store::audit::Paging;
use podwarden_server::store::protection::ProtectionUpdate;
use podwarden_server::store::{Actor, Db, Store, TenantId};
use podwarden_server::{AppState, app};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, mpsc};

const TOKEN: &str = "pw_findings_bench_operator_token_0123456789";

struct Options {
    agents: usize,
    interval_secs: u64,
    duration_secs: u64,
    noisy_agents: usize,
    batch: usize,
    connections: usize,
    query_assets: usize,
    query_alerts: usize,
    query_repeats: usize,
}

fn options() -> Result<Options, String> {
    let mut opts = Options {
        agents: 10_000,
        interval_secs: 30,
        duration_secs: 60,
        noisy_agents: 200,
        batch: 10,
        connections: 64,
        query_assets: 10_000,
        query_alerts: 100_000,
        query_repeats: 30,
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
            "--interval" => opts.interval_secs = number()?.max(1),
            "--duration" => opts.duration_secs = number()?,
            "--noisy-agents" => opts.noisy_agents = number()? as usize,
            "--batch" => opts.batch = number()?.max(1) as usize,
            "--connections" => opts.connections = number()?.max(2) as usize,
            "--query-assets" => opts.query_assets = number()? as usize,
            "--query-alerts" => opts.query_alerts = number()? as usize,
            "--query-repeats" => opts.query_repeats = number()?.max(1) as usize,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if opts.noisy_agents > opts.agents {
        return Err("--noisy-agents cannot exceed --agents".to_string());
    }
    Ok(opts)
}

/// A detection of agent `agent`'s `k`-th batch: one of 50 process alerts per agent, so most
/// detections aggregate into an open alert, as a noisy workload's do.
fn detection_json(agent: usize, k: u64, n: usize) -> String {
    format!(
        r#"{{"id":"{agent}-{k}-{n}","ts":0,"alert_type":"process","severity":"high","rule_id":"PW-PROC-001","rule_name":"Suspicious process","description":"miner started","event":{{"v":1,"id":{k},"ts":1,"kind":"process_exec","process":{{"pid":{pid},"name":"xmrig","exe":"/tmp/xmrig","argv":["xmrig","-o","pool-{key}:3333"],"uid":0,"gid":0,"ancestors":[{{"pid":1,"name":"sh","exe":"/bin/sh","argv":["sh"]}}]}}}}}}"#,
        pid = 1000 + n,
        key = (k as usize * 7 + n) % 50,
    )
}

enum Job {
    Heartbeat(usize, Instant),
    Batch(usize, u64, Instant),
}

async fn load(addr: &str, opts: &Options) -> Result<(), String> {
    let mut conn = Conn::open(addr).await.map_err(|e| e.to_string())?;
    let (status, body) = conn
        .send("POST", "/api/v1/enrollment-tokens", TOKEN, Some("{}"))
        .await
        .map_err(|e| e.to_string())?;
    if status != 201 {
        return Err(format!("cannot create an enrolment token: {status} {body}"));
    }
    let value: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let enrollment = value["token"].as_str().unwrap_or_default().to_string();

    // Every agent enrols.
    let started = Instant::now();
    let next = Arc::new(Mutex::new(0usize));
    let credentials = Arc::new(Mutex::new(vec![String::new(); opts.agents]));
    let mut tasks = Vec::new();
    for _ in 0..opts.connections.min(32) {
        let (next, credentials, enrollment, addr) = (
            next.clone(),
            credentials.clone(),
            enrollment.clone(),
            addr.to_string(),
        );
        let agents = opts.agents;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await.map_err(|e| e.to_string())?;
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
                let (status, reply) = conn
                    .send("POST", "/agent/v1/enroll", &enrollment, Some(&body))
                    .await
                    .map_err(|e| e.to_string())?;
                if status != 200 {
                    return Err(format!("enrol {i}: {status} {reply}"));
                }
                let value: serde_json::Value =
                    serde_json::from_str(&reply).map_err(|e| e.to_string())?;
                if let Some(slot) = credentials.lock().await.get_mut(i) {
                    *slot = value["credential"].as_str().unwrap_or_default().to_string();
                }
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    println!(
        "enrolled {} agents in {:.1} s",
        opts.agents,
        started.elapsed().as_secs_f64()
    );

    let credentials = Arc::new(credentials.lock().await.clone());
    let (send, receive) = mpsc::channel::<Job>(100_000);
    let receive = Arc::new(Mutex::new(receive));
    let batch = opts.batch;
    let mut workers = Vec::new();
    for _ in 0..opts.connections {
        let (receive, credentials, addr) = (receive.clone(), credentials.clone(), addr.to_string());
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await.map_err(|e| e.to_string())?;
            let mut beats = Vec::new();
            let mut batches = Vec::new();
            let mut errors = 0usize;
            loop {
                let job = receive.lock().await.recv().await;
                let Some(job) = job else { break };
                let (path, agent, body, due) = match job {
                    Job::Heartbeat(agent, due) => (
                        "/agent/v1/heartbeat",
                        agent,
                        r#"{"agent_version":"0.1.0"}"#.to_string(),
                        due,
                    ),
                    Job::Batch(agent, k, due) => {
                        let detections: Vec<String> =
                            (0..batch).map(|n| detection_json(agent, k, n)).collect();
                        (
                            "/agent/v1/events",
                            agent,
                            format!(r#"{{"detections":[{}]}}"#, detections.join(",")),
                            due,
                        )
                    }
                };
                let credential = credentials.get(agent).cloned().unwrap_or_default();
                match conn.send("POST", path, &credential, Some(&body)).await {
                    Ok((200, _)) if path == "/agent/v1/heartbeat" => beats.push(due.elapsed()),
                    Ok((200, _)) => batches.push(due.elapsed()),
                    Ok((status, reply)) => {
                        errors += 1;
                        if errors < 3 {
                            eprintln!("{path}: {status} {reply}");
                        }
                    }
                    Err(_) => {
                        errors += 1;
                        conn = Conn::open(&addr).await.map_err(|e| e.to_string())?;
                    }
                }
            }
            Ok::<(Vec<Duration>, Vec<Duration>, usize), String>((beats, batches, errors))
        }));
    }

    // Heartbeats spread over the interval; batches: each noisy agent once per second,
    // spread over the second.
    let started = Instant::now();
    let duration = Duration::from_secs(opts.duration_secs);
    let beat_spacing = opts.interval_secs as f64 / opts.agents.max(1) as f64;
    let batch_spacing = 1.0 / opts.noisy_agents.max(1) as f64;
    let (mut beat_k, mut batch_k) = (0u64, 0u64);
    loop {
        let beat_due = started + Duration::from_secs_f64(beat_k as f64 * beat_spacing);
        let batch_due = if opts.noisy_agents > 0 {
            started + Duration::from_secs_f64(batch_k as f64 * batch_spacing)
        } else {
            started + duration
        };
        let (due, job) = if beat_due <= batch_due {
            let agent = (beat_k as usize) % opts.agents.max(1);
            beat_k += 1;
            (beat_due, Job::Heartbeat(agent, beat_due))
        } else {
            let agent = (batch_k as usize) % opts.noisy_agents;
            let k = batch_k / opts.noisy_agents as u64;
            batch_k += 1;
            (batch_due, Job::Batch(agent, k, batch_due))
        };
        if due.duration_since(started) >= duration {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        if send.send(job).await.is_err() {
            break;
        }
    }
    drop(send);
    let (mut beats, mut batches, mut errors) = (Vec::new(), Vec::new(), 0);
    for worker in workers {
        let (b, d, e) = worker.await.map_err(|e| e.to_string())??;
        beats.extend(b);
        batches.extend(d);
        errors += e;
    }
    let elapsed = started.elapsed();
    let detections = batches.len() * opts.batch;
    report(
        &format!(
            "detection batches ({} agents × {} detections/s; {:.0} detections/s accepted)",
            opts.noisy_agents,
            opts.batch,
            detections as f64 / elapsed.as_secs_f64()
        ),
        batches,
        errors,
        elapsed,
    );
    report(
        &format!(
            "heartbeats alongside ({} agents every {} s)",
            opts.agents, opts.interval_secs
        ),
        beats,
        0,
        elapsed,
    );
    Ok(())
}

fn pod(i: usize) -> ObservedPod {
    ObservedPod {
        uid: format!("q-{i}"),
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
        annotations: BTreeMap::new(),
        status: AssetStatus::Running,
        restart_count: 0,
        created_at_ms: Some(1_700_000_000_000),
    }
}

fn detection(asset: i64, n: usize, now_ms: u64) -> Detection {
    let kind = [AlertType::Process, AlertType::Network, AlertType::Webshell][n % 3];
    let severity = [
        AlertSeverity::Low,
        AlertSeverity::Medium,
        AlertSeverity::High,
        AlertSeverity::Critical,
    ][n % 4];
    Detection {
        id: format!("seed-{asset}-{n}"),
        ts: now_ms.saturating_sub((n as u64) * 1000),
        alert_type: kind,
        severity,
        rule_id: format!("PW-BENCH-{:03}", n % 40),
        rule_name: "bench rule".to_string(),
        description: format!("finding {n} on asset {asset}"),
        advice: None,
        event: None,
        file: None,
        container: None,
    }
}

/// A tenant with `assets` assets, alerts spread over half of them; then timed list queries.
async fn queries(store: &Store, addr: &str, opts: &Options) -> Result<(), String> {
    let actor = Actor::system();
    let (tenant, admin) = store
        .create_tenant(TenantId(1), "query-bench", &actor)
        .await
        .map_err(|e| e.to_string())?;
    store
        .update_protection(
            tenant.id,
            ProtectionUpdate {
                enabled: Some(true),
                ..Default::default()
            },
            &actor,
        )
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    store
        .upsert_assets_from_source(
            tenant.id,
            "cluster:bench",
            (0..opts.query_assets).map(pod).collect(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut ids = Vec::with_capacity(opts.query_assets);
    let mut page = 1;
    loop {
        let paging = Paging::new(Some(page), Some(500)).map_err(|e| e.to_string())?;
        let listed = store
            .list_assets(tenant.id, &Default::default(), paging)
            .await
            .map_err(|e| e.to_string())?;
        if listed.items.is_empty() {
            break;
        }
        ids.extend(listed.items.iter().map(|a| a.id));
        page += 1;
    }
    let with_alerts = (ids.len() / 2).max(1);
    let per_asset = opts.query_alerts.div_ceil(with_alerts);
    let now_ms = u64::try_from(store.now()).unwrap_or_default();
    let mut made = 0usize;
    for asset in ids.iter().take(with_alerts) {
        if made >= opts.query_alerts {
            break;
        }
        let count = per_asset.min(opts.query_alerts - made);
        let batch = EventBatch {
            detections: (0..count).map(|n| detection(*asset, n, now_ms)).collect(),
            dropped: None,
        };
        let agent = AgentPrincipal {
            tenant: tenant.id,
            agent_id: *asset,
            asset_id: *asset,
        };
        let answer = store
            .ingest_detections(agent, &batch)
            .await
            .map_err(|e| e.to_string())?;
        made += answer.accepted as usize;
    }
    println!(
        "seeded {} assets and {made} alerts (on {with_alerts} assets) in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    let detail = ids.first().copied().unwrap_or_default();
    let mut conn = Conn::open(addr).await.map_err(|e| e.to_string())?;
    for path in [
        "/api/v1/assets?risk=at_risk".to_string(),
        "/api/v1/assets?risk=safe".to_string(),
        "/api/v1/assets?risk=at_risk&page=50".to_string(),
        "/api/v1/alerts".to_string(),
        "/api/v1/alerts?status=unhandled&severity=critical".to_string(),
        "/api/v1/alerts?type=network&page=100".to_string(),
        "/api/v1/alerts?q=asset%2012".to_string(),
        format!("/api/v1/alerts?asset={detail}"),
        format!("/api/v1/assets/{detail}"),
    ] {
        let mut latencies = Vec::with_capacity(opts.query_repeats);
        let mut total = String::new();
        let started = Instant::now();
        for _ in 0..opts.query_repeats {
            let sent = Instant::now();
            let (status, body) = conn
                .send("GET", &path, &admin, None)
                .await
                .map_err(|e| e.to_string())?;
            latencies.push(sent.elapsed());
            if status != 200 {
                return Err(format!("{path}: {status} {body}"));
            }
            if total.is_empty() {
                let value: serde_json::Value =
                    serde_json::from_str(&body).map_err(|e| e.to_string())?;
                total = value["total"].to_string();
            }
        }
        report(
            &format!("GET {path} (total {total})"),
            latencies,
            0,
            started.elapsed(),
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let opts = options()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = ConfigFile {
        database: Some(format!("sqlite://{}/bench.db", dir.path().display())),
        heartbeat_interval_secs: Some(opts.interval_secs),
        ..ConfigFile::default()
    };
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
    // Protection on (auto-add binds every enrolling agent's asset), and the real jobs running.
    store
        .update_protection(
            TenantId(1),
            ProtectionUpdate {
                enabled: Some(true),
                ..Default::default()
            },
            &Actor::system(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let jobs =
        podwarden_server::jobs::Scheduler::with_builtin_jobs(store.clone()).spawn(jobs_stopped);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let router = app(AppState::new(store.clone()));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    if opts.duration_secs > 0 {
        load(&addr, &opts).await?;
    }
    if opts.query_assets > 0 {
        queries(&store, &addr, &opts).await?;
    }
    let _ = stop_jobs.send(true);
    for job in jobs {
        let _ = job.await;
    }
    Ok(())
}
