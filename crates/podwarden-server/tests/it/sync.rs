//! `upsert_assets_from_source`: added, updated (restarted, changed, adopted from an agent),
//! gone, auto-add, and a 10,000-pod sync.

use crate::support::{Env, backends};
use axum::http::Method;
use podwarden_server::assets::{AssetStatus, ObservedPod, SourceKind, SyncCounts};
use std::collections::BTreeMap;

/// A running pod named `name` (uid `uid-<name>`) with the given CPU limit and request.
pub fn pod(name: &str, limit: Option<i64>, request: Option<i64>) -> ObservedPod {
    ObservedPod {
        uid: format!("uid-{name}"),
        name: name.to_string(),
        namespace: "shop".to_string(),
        cluster: "prod".to_string(),
        source_kind: SourceKind::K8sVirtualNode,
        owner_kind: Some("ReplicaSet".to_string()),
        owner_name: Some(format!("{name}-rs")),
        node_name: Some("virtual-node-1".to_string()),
        runtime_class: None,
        images: vec![format!("registry.example/{name}:1.0")],
        cpu_limit_millicores: limit,
        cpu_request_millicores: request,
        annotations: BTreeMap::new(),
        status: AssetStatus::Running,
        restart_count: 0,
        created_at_ms: Some(1_700_000_000_000),
    }
}

fn counts(added: u64, updated: u64, gone: u64) -> SyncCounts {
    SyncCounts {
        added,
        updated,
        gone,
    }
}

#[tokio::test]
async fn sync_adds_updates_and_marks_gone() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let (tenant, admin) = env.new_tenant("acme").await;
        let sync = |pods: Vec<ObservedPod>| {
            let store = env.store.clone();
            async move {
                store
                    .upsert_assets_from_source(tenant, "cluster:1", pods)
                    .await
                    .unwrap_or_else(|e| panic!("sync: {e}"))
            }
        };
        // An agent registered "b" before any sync saw it.
        let enrollment = env.enrollment_token(&admin).await;
        env.enroll(&enrollment, "uid-b", "b").await;

        let mut restarted = pod("a", Some(500), None);
        restarted.restart_count = 2;
        let cases: Vec<(Vec<ObservedPod>, SyncCounts)> = vec![
            (
                vec![pod("a", Some(500), None), pod("b", None, Some(250))],
                counts(1, 1, 0),
            ),
            (
                vec![pod("a", Some(500), None), pod("b", None, Some(250))],
                counts(0, 0, 0),
            ),
            (
                vec![
                    restarted.clone(),
                    pod("b", None, Some(250)),
                    pod("c", None, None),
                ],
                counts(1, 1, 0),
            ),
            (vec![restarted.clone()], counts(0, 0, 2)),
            (vec![restarted.clone()], counts(0, 0, 0)),
            (vec![restarted, pod("c", None, None)], counts(0, 1, 0)),
        ];
        for (step, (pods, expected)) in cases.into_iter().enumerate() {
            assert_eq!(sync(pods).await, expected, "{backend:?} step {step}");
        }
        let (_, list) = env
            .call(Method::GET, "/api/v1/assets", Some(&admin), None)
            .await;
        let by_name: BTreeMap<String, serde_json::Value> = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                (
                    a["pod_name"].as_str().unwrap_or_default().to_string(),
                    a.clone(),
                )
            })
            .collect();
        assert_eq!(by_name["a"]["restart_count"], 2);
        assert_eq!(by_name["a"]["effective_millicores"], 500);
        assert_eq!(by_name["b"]["status"], "gone");
        assert_eq!(
            by_name["b"]["source"], "cluster:1",
            "the sync adopted the agent's asset"
        );
        assert_eq!(
            by_name["b"]["agent"]["status"], "online",
            "adoption keeps the agent"
        );
        assert_eq!(by_name["b"]["effective_millicores"], 250);
        assert_eq!(by_name["c"]["status"], "running", "c came back");
        assert_eq!(by_name["c"]["effective_millicores"], 1000, "default cores");
        assert_eq!(by_name["c"]["gone_at"], serde_json::Value::Null);
        // Another source's sync never marks cluster:1's pods gone.
        let other = env
            .store
            .upsert_assets_from_source(tenant, "cluster:2", vec![])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(other, counts(0, 0, 0));
        env.finish().await;
    }
}

#[tokio::test]
async fn asset_filters_and_paging() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let (tenant, admin) = env.new_tenant("acme").await;
    let mut pods: Vec<ObservedPod> = (0..25)
        .map(|i| pod(&format!("web-{i:02}"), None, None))
        .collect();
    let mut sandboxed = pod("Kata_Job", None, None);
    sandboxed.runtime_class = Some("kata".to_string());
    sandboxed.namespace = "batch".to_string();
    sandboxed.source_kind = SourceKind::K8sServerless;
    pods.push(sandboxed);
    env.store
        .upsert_assets_from_source(tenant, "cluster:1", pods)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cases: Vec<(&str, i64, usize)> = vec![
        ("", 26, 26),
        ("?per_page=10&page=3", 26, 6),
        ("?source=k8s-serverless", 1, 1),
        ("?source=cluster:1", 26, 26),
        ("?source=cluster:9", 0, 0),
        ("?instance_type=sandboxed", 1, 1),
        ("?instance_type=standard", 25, 25),
        ("?q=kata_job", 1, 1),
        ("?q=_", 1, 1),
        ("?q=BATCH", 1, 1),
        ("?q=web-1", 10, 10),
        ("?bound=true", 0, 0),
        ("?agent=offline", 26, 26),
        ("?agent=online", 0, 0),
        ("?risk=safe", 26, 26),
        ("?risk=at_risk", 0, 0),
        ("?status=gone", 0, 0),
    ];
    for (query, total, items) in cases {
        let (_, list) = env
            .call(
                Method::GET,
                &format!("/api/v1/assets{query}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(list["total"], total, "{query}: {list}");
        assert_eq!(
            list["items"].as_array().map(Vec::len),
            Some(items),
            "{query}"
        );
    }
    let (_, list) = env
        .call(Method::GET, "/api/v1/assets?q=web-00", Some(&admin), None)
        .await;
    let asset = &list["items"][0];
    assert_eq!(asset["agent"]["reason"], "never installed");
    assert_eq!(asset["risk"], "safe");
    assert_eq!(asset["consumes_quota"], false);
    env.finish().await;
}

#[tokio::test]
async fn ten_thousand_pods_sync_in_one_transaction() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let (tenant, _) = env.new_tenant("big").await;
    let pods: Vec<ObservedPod> = (0..10_000)
        .map(|i| pod(&format!("p{i}"), Some(250), None))
        .collect();
    let first = env
        .store
        .upsert_assets_from_source(tenant, "cluster:1", pods.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, counts(10_000, 0, 0));
    let mut next = pods;
    next.truncate(9_000);
    for p in next.iter_mut().take(100) {
        p.restart_count = 1;
    }
    let second = env
        .store
        .upsert_assets_from_source(tenant, "cluster:1", next)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second, counts(0, 100, 1_000));
    env.finish().await;
}
