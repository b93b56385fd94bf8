//! Cluster sync benchmark: a fake Kubernetes API server on a loopback port serves N generated
//! pods (shaped like the recorded `tests/data/k8s/pods.json`, managedFields included; 20 per
//! Deployment) in pages; the real kube-rs client lists them, resolves their ReplicaSets'
//! Deployments, and the sync applies them to a temporary SQLite store. Times the whole sync
//! (HTTP paging, JSON decoding, owner lookups, upsert, Pod documents) for: the first sync (all
//! new), the same pods again, and 10% gone plus 1% restarted. Usage:
//! `cargo run --release -p podwarden-server --example cluster-sync -- --pods 10000 --page-size 500`

#[path = "../tests/it/fake_apiserver.rs"]
mod fake_apiserver;

use fake_apiserver::{FakeApiServer, generate};
use podwarden_server::assets::SourceKind;
use podwarden_server::clusters::{ClusterSyncer, kube_client};
use podwarden_server::config::{ConfigFile, Settings};
use podwarden_server::store::{Actor, Db, Store, TenantId};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Instant;

const TOKEN: &str = "bench-token";

struct Options {
    pods: usize,
    page_size: u64,
}

fn options() -> Result<Options, String> {
    let mut opts = Options {
        pods: 10_000,
        page_size: 500,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = value
            .parse::<u64>()
            .map_err(|_| format!("{flag}: {value:?} is not a number"))?;
        match flag.as_str() {
            "--pods" => opts.pods = number as usize,
            "--page-size" => opts.page_size = number,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(opts)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let opts = options()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let settings = Settings::from_file(ConfigFile {
        database: Some(url.clone()),
        cluster_page_size: Some(opts.page_size),
        ..ConfigFile::default()
    })
    .map_err(|e| e.to_string())?;
    let db = Db::connect(&url).await.map_err(|e| e.to_string())?;
    let store = Store::new(
        db,
        Arc::new(podwarden_server::clock::SystemClock),
        Arc::new(settings),
    );
    store
        .bootstrap(Some("pw_bench_operator_token_0123456789"))
        .await
        .map_err(|e| e.to_string())?;
    let tenant = TenantId(1);

    let (pods, replicasets) = generate(opts.pods);
    let server = FakeApiServer::start(TOKEN).await;
    {
        let mut state = server.state();
        state.set_pods(&pods);
        state.add_objects("replicasets", replicasets);
    }
    let bytes: usize = pods.iter().map(|p| p.to_string().len()).sum();
    println!(
        "{} pods ({:.1} MB of JSON) in pages of {}, over http://{}",
        opts.pods,
        bytes as f64 / 1e6,
        opts.page_size,
        server.addr
    );
    store
        .create_cluster(
            tenant,
            &Actor::system(),
            "bench",
            SourceKind::K8sVirtualNode,
            &server.kubeconfig(TOKEN),
        )
        .await
        .map_err(|e| e.to_string())?;

    let mut changed = pods.clone();
    changed.truncate(opts.pods * 9 / 10);
    for pod in changed.iter_mut().take(opts.pods / 100) {
        pod["status"]["containerStatuses"][0]["restartCount"] = json!(7);
    }
    let syncer = ClusterSyncer::new();
    for (name, served) in [
        ("first sync (all new)", &pods),
        ("same pods again", &pods),
        ("10% gone, 1% restarted", &changed),
    ] {
        server.state().set_pods(served);
        let started = Instant::now();
        let report = syncer
            .sync(&store, tenant)
            .await
            .map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        let cluster = report.clusters.first().ok_or("no cluster in the report")?;
        if !cluster.ok {
            return Err(format!("sync failed: {:?}", cluster.error));
        }
        println!(
            "{name}: {:.0} ms end to end (added {}, updated {}, gone {})",
            elapsed.as_secs_f64() * 1000.0,
            report.added,
            report.updated,
            report.gone
        );
    }
    // The read alone (HTTP paging, decoding, owner lookups; owners cached by now).
    server.state().set_pods(&pods);
    let settings = &store.settings().clusters;
    let client = kube_client::client(&server.kubeconfig(TOKEN), settings)
        .await
        .map_err(|e| e.to_string())?;
    let target = kube_client::ClusterTarget {
        id: 1,
        name: "bench".to_string(),
        source_kind: SourceKind::K8sVirtualNode,
    };
    let owners = kube_client::OwnerCache::default();
    let progress = AtomicUsize::new(0);
    let started = Instant::now();
    let fetched = kube_client::fetch(&client, &target, settings, &owners, &progress)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "read only (no store), owners not cached: {:.0} ms for {} pods in {} pages",
        started.elapsed().as_secs_f64() * 1000.0,
        fetched.pods.len(),
        fetched.pages
    );
    let requests = server.state().requests.len();
    println!("{requests} requests served");
    Ok(())
}
