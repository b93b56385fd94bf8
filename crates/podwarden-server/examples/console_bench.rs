//! Console benchmark: seeds a tenant through the store (10,000 assets synced from a cluster,
//! 100,000 alerts raised by enrolled agents, pod specs checked into baseline risks), then
//! times every console page rendered through the app (server time, no network) and reports
//! each page's weight (HTML + the CSS and scripts it loads).
//!
//! `cargo run --release -p podwarden-server --example console-bench -- --assets 10000 --alerts 100000`
//! Options: `--runs N` (per page, default 20), `--serve ADDR` (keep serving the seeded console
//! afterwards, to look at it in a browser; the admin token is printed), `--dump DIR` (write
//! each page's HTML there), `--database URL` (an empty PostgreSQL database instead of a
//! fresh SQLite file).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use podwarden_api::uplink::{EventBatch, PodSpecUpload};
use podwarden_server::assets::{AssetStatus, ObservedPod, SourceKind};
use podwarden_server::config::{ConfigFile, Settings};
use podwarden_server::console::static_files;
use podwarden_server::store::assets::AssetFilter;
use podwarden_server::store::audit::Paging;
use podwarden_server::store::protection::ProtectionUpdate;
use podwarden_server::store::{Actor, Db, Store, TenantId};
use podwarden_server::{AppState, app};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const OPERATOR: &str = "pw_console_bench_operator_token_0123456789";

struct Options {
    assets: usize,
    alerts: usize,
    runs: usize,
    serve: Option<String>,
    dump: Option<std::path::PathBuf>,
    database: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut opts = Options {
        assets: 10_000,
        alerts: 100_000,
        runs: 20,
        serve: None,
        dump: None,
        database: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag}: {value:?} is not a number"))
        };
        match flag.as_str() {
            "--assets" => opts.assets = number()?.max(1),
            "--alerts" => opts.alerts = number()?,
            "--runs" => opts.runs = number()?.max(1),
            "--serve" => opts.serve = Some(value.clone()),
            "--dump" => opts.dump = Some(value.into()),
            "--database" => opts.database = Some(value.clone()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(opts)
}

fn pod(i: usize) -> ObservedPod {
    let kinds = [
        SourceKind::K8sServerless,
        SourceKind::K8sVirtualNode,
        SourceKind::ContainerCompute,
        SourceKind::AppEngine,
    ];
    let apps = [
        "web", "api", "worker", "checkout", "search", "auth", "cart", "mailer",
    ];
    let app = apps[i % apps.len()];
    let mut annotations =
        BTreeMap::from([("podwarden.io/agent".to_string(), "enabled".to_string())]);
    let runtime_class = if i % 10 == 7 {
        annotations.insert("podwarden.io/sandboxed".to_string(), "true".to_string());
        Some("gvisor".to_string())
    } else {
        None
    };
    ObservedPod {
        uid: format!("6f1c2d3e-{i:08}-4b5a-9c8d-{:012}", i * 7919),
        name: format!("{app}-{:05}-{}", i / 8, ["x7k2p", "m4q9z", "a1b2c"][i % 3]),
        namespace: ["shop", "payments", "platform", "batch"][i % 4].to_string(),
        cluster: ["prod-tokyo", "prod-osaka"][i % 2].to_string(),
        source_kind: kinds[i % kinds.len()],
        owner_kind: Some("ReplicaSet".to_string()),
        owner_name: Some(format!("{app}-7d9f8c6b5")),
        node_name: Some("virtual-kubelet-cn-tokyo-a".to_string()),
        runtime_class,
        images: vec![format!("registry.example.com/{app}:1.{}.{}", i % 9, i % 5)],
        cpu_limit_millicores: Some([250, 500, 1000, 2000][i % 4]),
        cpu_request_millicores: Some(250),
        annotations,
        status: AssetStatus::Running,
        restart_count: (i % 3) as i64,
        created_at_ms: Some(1_730_000_000_000 + i as i64 * 1000),
    }
}

fn detection(asset: usize, n: usize, now: i64) -> serde_json::Value {
    let kinds = ["process", "network", "webshell"];
    let kind = kinds[n % 3];
    let severity = ["critical", "high", "medium", "low", "info"][(asset + n) % 5];
    let rule_name = [
        "Miner started from /tmp",
        "Reverse shell",
        "PHP webshell written",
        "Recon tool run",
        "Download and execute",
    ][n % 5];
    let mut value = serde_json::json!({
        "id": format!("a{asset}-d{n}"), "ts": now - (n as i64) * 60_000, "alert_type": kind,
        "severity": severity, "rule_id": format!("PW-{}-{:03}", kind.to_uppercase(), n % 40),
        "rule_name": rule_name,
        "description": format!("/tmp/.x/kworker{n} -o stratum+tcp://pool.example:3333 started by sh"),
        "advice": "Kill the process, then find how it was started.",
        "event": {"v": 1, "id": n, "ts": 1, "kind": "process_exec",
            "container": {"id": "c0ffee", "name": "app"},
            "process": {"pid": 4000 + n, "start_ts": 987654321, "name": format!("kworker{n}"),
                "exe": format!("/tmp/.x/kworker{n}"), "argv": ["kworker", "-o", "pool.example:3333"],
                "uid": 33, "gid": 33, "user": "www-data",
                "ancestors": [
                    {"pid": 100, "name": "sh", "exe": "/bin/sh", "argv": ["sh", "-c", "curl | sh"]},
                    {"pid": 1, "name": "nginx", "exe": "/usr/sbin/nginx", "argv": ["nginx"]}
                ]}}
    });
    if kind == "webshell" {
        value["file"] = serde_json::json!({"path": format!("/var/www/html/up/s{n}.php"),
            "sha256": "ab".repeat(32), "size": 120, "score": 95,
            "matches": [{"rule": "php_eval_post", "line": 1, "excerpt": "eval($_POST[x])"}]});
    }
    value
}

fn risky_pod(name: &str) -> serde_json::Value {
    serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "nginx:latest",
            "securityContext": {"privileged": true, "runAsUser": 0}}]}})
}

async fn seed(store: &Store, opts: &Options) -> Result<(TenantId, String), String> {
    let operator = match store
        .bootstrap(Some(OPERATOR))
        .await
        .map_err(|e| e.to_string())?
    {
        podwarden_server::store::tenants::Bootstrap::CreatedWithGivenToken { tenant } => tenant,
        podwarden_server::store::tenants::Bootstrap::Existing { tenant, .. } => tenant,
        podwarden_server::store::tenants::Bootstrap::Created { tenant, .. } => tenant,
    };
    let actor = Actor("bench".to_string());
    let (tenant, admin) = store
        .create_tenant(operator, "acme", &actor)
        .await
        .map_err(|e| e.to_string())?;
    let tenant = tenant.id;
    store
        .update_protection(
            tenant,
            ProtectionUpdate {
                enabled: Some(true),
                timezone: podwarden_server::metering::TimeZoneSetting::parse("Asia/Tokyo").ok(),
                ..ProtectionUpdate::default()
            },
            &actor,
        )
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let pods: Vec<ObservedPod> = (0..opts.assets).map(pod).collect();
    let counts = store
        .upsert_assets_from_source(tenant, "cluster:1", pods.clone())
        .await
        .map_err(|e| e.to_string())?;
    eprintln!(
        "seeded {} assets in {:.1?}",
        counts.added,
        started.elapsed()
    );

    let started = Instant::now();
    let (_, enrollment) = store
        .create_enrollment_token(tenant, "bench", &actor)
        .await
        .map_err(|e| e.to_string())?;
    let principal = store
        .authenticate_enrollment_token(&enrollment)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("enrolment token not accepted")?;
    let per_asset = 100usize;
    let agents = opts.alerts.div_ceil(per_asset).min(opts.assets);
    let now = store.now();
    let mut raised = 0usize;
    for (i, pod) in pods
        .iter()
        .enumerate()
        .take(agents.max(opts.assets.min(2000)))
    {
        let request: podwarden_api::agent::EnrollRequest =
            serde_json::from_value(serde_json::json!({
            "pod_name": pod.name, "pod_namespace": pod.namespace, "pod_uid": pod.uid,
            "agent_version": "0.1.0", "mode": "sidecar", "hostname": pod.name}))
            .map_err(|e| e.to_string())?;
        let enrolled = store
            .enroll_agent(principal, &request)
            .await
            .map_err(|e| e.to_string())?;
        let agent = store
            .authenticate_agent(&enrolled.credential)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("agent credential not accepted")?;
        if i < agents {
            let count = per_asset.min(opts.alerts - raised);
            let batch: EventBatch = serde_json::from_value(serde_json::json!({
                "detections": (0..count).map(|n| detection(i, n, now)).collect::<Vec<_>>()}))
            .map_err(|e| e.to_string())?;
            let answer = store
                .ingest_detections(agent, &batch)
                .await
                .map_err(|e| e.to_string())?;
            raised += answer.accepted as usize;
        }
        if i % 10 == 0 && pod.runtime_class.is_none() {
            let upload = PodSpecUpload {
                id: format!("spec-{i}"),
                observed_at: u64::try_from(now).unwrap_or_default(),
                pod: risky_pod(&pod.name),
            };
            store
                .store_pod_spec_upload(agent, &upload)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    eprintln!(
        "seeded {raised} alerts from {agents} agents (and baseline risks) in {:.1?}",
        started.elapsed()
    );
    Ok((tenant, admin))
}

/// One GET through the app; returns status, body and the time the server took.
async fn get(
    app: &axum::Router,
    path: &str,
    cookie: &str,
) -> Result<(StatusCode, String, Duration), String> {
    get_encoded(app, path, cookie, "identity").await
}

/// One GET with an `Accept-Encoding`; the body as text (lossy when compressed).
async fn get_encoded(
    app: &axum::Router,
    path: &str,
    cookie: &str,
    encoding: &str,
) -> Result<(StatusCode, String, Duration), String> {
    let request = Request::get(path)
        .header("cookie", cookie)
        .header("accept-encoding", encoding)
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let response = app
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let took = started.elapsed();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned(), took))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let opts = options()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = opts
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.path().display()));
    let mut config = ConfigFile {
        database: Some(url.clone()),
        ..ConfigFile::default()
    };
    if let Some(addr) = &opts.serve {
        config.listen = Some(addr.clone());
    }
    let settings = Settings::from_file(config).map_err(|e| e.to_string())?;
    let db = Db::connect(&url).await.map_err(|e| e.to_string())?;
    let store = Store::new(
        db,
        Arc::new(podwarden_server::clock::SystemClock),
        Arc::new(settings),
    );
    let (tenant, admin) = seed(&store, &opts).await?;
    if opts.database.is_some() {
        // What autovacuum does for a running PostgreSQL soon after a bulk load (statistics for
        // the planner, the visibility map for index-only scans); without it the first minutes
        // after seeding would be measured instead of the steady state.
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
        )
        .fetch_all(store.db().writer())
        .await
        .map_err(|e| e.to_string())?;
        for table in tables {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("VACUUM (ANALYZE) \"{table}\"")))
                .execute(store.db().writer())
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    let app = app(AppState::new(store.clone()));
    for _ in 0..3 {
        let started = Instant::now();
        let touched = store
            .flush_tenant(tenant)
            .await
            .map_err(|e| e.to_string())?;
        eprintln!(
            "metering flush of the tenant ({touched} assets): {:.1?}",
            started.elapsed()
        );
    }

    let login = Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={admin}")))
        .map_err(|e| e.to_string())?;
    let answer = app
        .clone()
        .oneshot(login)
        .await
        .map_err(|e| e.to_string())?;
    let cookie = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("pw_session="))
        .and_then(|c| c.split(';').next())
        .ok_or("no session cookie")?
        .to_string();

    let first = |filter: AssetFilter| {
        let store = store.clone();
        async move {
            store
                .list_assets(
                    tenant,
                    &filter,
                    Paging {
                        page: 1,
                        per_page: 1,
                    },
                )
                .await
                .ok()
                .and_then(|p| p.items.first().map(|a| a.id))
                .unwrap_or(1)
        }
    };
    let asset = first(AssetFilter::default()).await;
    let alert = store
        .list_alerts(
            tenant,
            &Default::default(),
            Paging {
                page: 1,
                per_page: 1,
            },
        )
        .await
        .ok()
        .and_then(|p| p.items.first().map(|a| a.id))
        .unwrap_or(1);
    let last_page = opts.assets.div_ceil(50);
    let pages: Vec<String> = vec![
        "/".into(),
        "/assets".into(),
        "/assets?view=no-quota".into(),
        "/assets?agent=online&risk=at_risk".into(),
        "/assets?q=checkout".into(),
        format!("/assets?page={last_page}"),
        format!("/assets/{asset}"),
        "/alerts".into(),
        "/alerts?severity=critical&type=process".into(),
        // Free-text search: a narrow match (1%), a broad one (20%), one that matches every
        // alert, and one too short for the trigram index (a scan).
        "/alerts?q=kworker42".into(),
        "/alerts?q=reverse%20shell".into(),
        "/alerts?q=STRATUM".into(),
        "/alerts?q=x/".into(),
        "/alerts?page=1000".into(),
        format!("/alerts/{alert}"),
        format!("/alerts?asset={asset}"),
        "/vulnerabilities".into(),
        "/vulnerabilities?tab=supported".into(),
        "/baseline".into(),
        "/baseline?tab=risks".into(),
        "/baseline?tab=asset".into(),
        "/usage".into(),
        "/settings".into(),
    ];
    let mut static_bytes = 0usize;
    let mut static_gzip = 0usize;
    for name in ["app.css", "app.js", "htmx.min.js"] {
        let (_, body, _) = get(&app, &static_files::url(name), "").await?;
        static_bytes += body.len();
        static_gzip += static_files::files()
            .iter()
            .find(|f| f.name == name)
            .map_or(0, |f| f.gzipped.len());
    }
    println!(
        "{} assets, {} alerts; {} runs per page; CSS+JS {} bytes ({} gzipped)",
        opts.assets, opts.alerts, opts.runs, static_bytes, static_gzip
    );
    println!(
        "{:<40} {:>6} {:>10} {:>10} {:>10} {:>12} {:>10}",
        "page", "status", "median ms", "p95 ms", "max ms", "HTML+CSS+JS", "gzipped"
    );
    for path in &pages {
        let mut times = Vec::with_capacity(opts.runs);
        let mut status = StatusCode::OK;
        let mut size = 0;
        let mut html = String::new();
        for _ in 0..opts.runs {
            let (s, body, took) = get(&app, path, &cookie).await?;
            status = s;
            size = body.len();
            html = body;
            times.push(took);
        }
        times.sort();
        let gzipped = {
            let request = Request::get(path.as_str())
                .header("cookie", &cookie)
                .header("accept-encoding", "gzip")
                .body(Body::empty())
                .map_err(|e| e.to_string())?;
            let response = app
                .clone()
                .oneshot(request)
                .await
                .map_err(|e| e.to_string())?;
            response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes()
                .len()
        };
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
        println!(
            "{:<40} {:>6} {:>10.1} {:>10.1} {:>10.1} {:>12} {:>10}",
            path,
            status.as_u16(),
            ms(times[times.len() / 2]),
            ms(p95),
            ms(times[times.len() - 1]),
            size + static_bytes,
            gzipped + static_gzip
        );
        if let Some(dir) = &opts.dump {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            let name: String = path
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            std::fs::write(dir.join(format!("{name}.html")), html).map_err(|e| e.to_string())?;
        }
    }
    if let Some(addr) = &opts.serve {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| e.to_string())?;
        println!("serving the seeded console on http://{addr}/ ; sign in with {admin}");
        axum::serve(listener, app)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
