//! Cluster sync through the real kube-rs client against the fake API server: adds, updates
//! (restarts, image changes), gone pods, owners resolved to Deployments and CronJobs,
//! auto-add binding, virtual-node filtering, sandboxed detection, app-engine pods too small
//! to protect, paging, failing clusters (401, 500, a proxy error page, no answer) that keep
//! their assets, tenant isolation, roles, and a 10,000-pod cluster.

use crate::fake_apiserver::{Failure, FakeApiServer, fixture, generate};
use crate::support::{Backend, Env, backends, test_config};
use axum::http::{Method, StatusCode};
use podwarden_server::assets::APP_ENGINE_TOO_SMALL;
use podwarden_server::config::ConfigFile;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const TOKEN: &str = "fake-cluster-token-2f6c1b";

/// Adds a cluster through the API; returns its id.
pub async fn add_cluster(env: &Env, admin: &str, name: &str, kind: &str, kubeconfig: &str) -> i64 {
    let (status, body) = env
        .call(
            Method::POST,
            "/api/v1/clusters",
            Some(admin),
            Some(json!({"name": name, "source_kind": kind, "kubeconfig": kubeconfig})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap_or_else(|| panic!("{body}"))
}

/// `POST /api/v1/assets/sync` as `token`.
pub async fn sync(env: &Env, token: &str) -> Value {
    let (status, body) = env
        .call(Method::POST, "/api/v1/assets/sync", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// (added, updated, gone) of a sync report.
fn totals(report: &Value) -> (u64, u64, u64) {
    (
        report["added"].as_u64().unwrap_or(u64::MAX),
        report["updated"].as_u64().unwrap_or(u64::MAX),
        report["gone"].as_u64().unwrap_or(u64::MAX),
    )
}

/// The tenant's assets by pod name.
pub async fn assets(env: &Env, token: &str) -> BTreeMap<String, Value> {
    let (status, body) = env
        .call(
            Method::GET,
            "/api/v1/assets?per_page=500",
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["pod_name"].as_str().unwrap_or_default().to_string(),
                a.clone(),
            )
        })
        .collect()
}

fn recorded_pods() -> Vec<Value> {
    crate::fake_apiserver::fixture_items("pods.json")
}

fn pod_named<'a>(pods: &'a mut [Value], name: &str) -> &'a mut Value {
    pods.iter_mut()
        .find(|p| p["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no pod {name}"))
}

#[tokio::test]
async fn sync_adds_updates_and_marks_gone() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let (_, admin) = env.new_tenant("acme").await;
        let server = FakeApiServer::start(TOKEN).await;
        let id = add_cluster(
            &env,
            &admin,
            "prod",
            "k8s-serverless",
            &server.kubeconfig(TOKEN),
        )
        .await;

        // Each step changes what the cluster serves, then syncs.
        type Step = (&'static str, fn(&mut Vec<Value>), (u64, u64, u64));
        let steps: Vec<Step> = vec![
            ("first sync", |_| {}, (9, 0, 0)),
            ("nothing changed", |_| {}, (0, 0, 0)),
            (
                "a restart and an image change",
                |pods| {
                    let web = pod_named(pods, "web-7c9f8d6b5-x2k4p");
                    web["status"]["containerStatuses"][0]["restartCount"] = json!(4);
                    let api = pod_named(pods, "api-6b7d9f8c4-k7p3c");
                    api["spec"]["containers"][0]["image"] =
                        json!("registry.example.com/shop/api:3.1.3");
                },
                (0, 2, 0),
            ),
            (
                "a deleted pod",
                |pods| pods.retain(|p| p["metadata"]["name"] != "db-0"),
                (0, 0, 1),
            ),
            (
                "the pending pod is scheduled and starts",
                |pods| {
                    let pending = pod_named(pods, "web-7c9f8d6b5-pending");
                    pending["spec"]["nodeName"] = json!("vk-eci-01");
                    pending["status"]["phase"] = json!("Running");
                },
                (0, 1, 0),
            ),
        ];
        let mut pods = recorded_pods();
        for (what, change, expected) in steps {
            change(&mut pods);
            server.state().set_pods(&pods);
            let report = sync(&env, &admin).await;
            assert_eq!(totals(&report), expected, "{backend:?} {what}: {report}");
            assert_eq!(report["clusters"][0]["id"], id, "{report}");
            assert_eq!(report["clusters"][0]["ok"], true, "{report}");
        }

        let by_name = assets(&env, &admin).await;
        let web = &by_name["web-7c9f8d6b5-x2k4p"];
        let cases: Vec<(&str, &str, Value)> = vec![
            ("web-7c9f8d6b5-x2k4p", "owner_kind", json!("Deployment")),
            ("web-7c9f8d6b5-x2k4p", "owner_name", json!("web")),
            ("web-7c9f8d6b5-x2k4p", "restart_count", json!(4)),
            ("web-7c9f8d6b5-x2k4p", "cpu_limit_millicores", json!(1500)),
            ("web-7c9f8d6b5-x2k4p", "cpu_request_millicores", json!(750)),
            (
                "web-7c9f8d6b5-x2k4p",
                "source",
                json!(format!("cluster:{id}")),
            ),
            ("web-7c9f8d6b5-x2k4p", "cluster", json!("prod")),
            (
                "web-7c9f8d6b5-x2k4p",
                "source_kind",
                json!("k8s-serverless"),
            ),
            (
                "web-7c9f8d6b5-x2k4p",
                "node_name",
                json!("virtual-kubelet-cn-hangzhou-i"),
            ),
            (
                "web-7c9f8d6b5-x2k4p",
                "pod_uid",
                json!("aca7f793-668d-45f6-a64d-75bad98eab0c"),
            ),
            (
                "web-7c9f8d6b5-x2k4p",
                "pod_created_at",
                json!(1_715_674_361_000_i64),
            ),
            (
                "api-6b7d9f8c4-k7p3c",
                "images",
                json!(["registry.example.com/shop/api:3.1.3"]),
            ),
            ("report-28730160-7wqkd", "owner_kind", json!("CronJob")),
            ("report-28730160-7wqkd", "owner_name", json!("report")),
            ("report-28730160-7wqkd", "status", json!("terminated")),
            ("sandbox-5d8f7c9b4-m9xtv", "owner_kind", json!("ReplicaSet")),
            ("kata-worker", "owner_kind", Value::Null),
            ("db-0", "status", json!("gone")),
            ("db-0", "owner_kind", json!("StatefulSet")),
            ("web-7c9f8d6b5-pending", "status", json!("running")),
        ];
        for (pod, field, expected) in cases {
            assert_eq!(by_name[pod][field], expected, "{backend:?} {pod}.{field}");
        }
        assert_eq!(
            web["annotations"]["podwarden.io/agent"], "enabled",
            "annotations are kept"
        );

        // The console's progress display: last sync, its figures, no error.
        let (_, clusters) = env
            .call(Method::GET, "/api/v1/clusters", Some(&admin), None)
            .await;
        let sync_status = &clusters[0]["sync"];
        assert_eq!(sync_status["state"], "ok", "{clusters}");
        assert_eq!(sync_status["pods"], 8, "{clusters}");
        assert_eq!(sync_status["updated"], 1, "{clusters}");
        assert_eq!(sync_status["last_error"], Value::Null, "{clusters}");
        assert!(sync_status["last_duration_ms"].is_i64(), "{clusters}");
        assert_eq!(clusters[0]["assets"], 8, "{clusters}");
        env.finish().await;
    }
}

#[tokio::test]
async fn new_assets_are_bound_when_auto_add_is_on() {
    let env = Env::new(&Backend::Sqlite).await;
    let (_, admin) = env.new_tenant("acme").await;
    let server = FakeApiServer::start(TOKEN).await;
    // Only two pods at first; enabling protection the first time binds them and turns on
    // auto-add.
    let mut pods = recorded_pods();
    pods.truncate(2);
    server.state().set_pods(&pods);
    add_cluster(
        &env,
        &admin,
        "prod",
        "app-engine",
        &server.kubeconfig(TOKEN),
    )
    .await;
    sync(&env, &admin).await;
    let (status, body) = env
        .call(
            Method::PUT,
            "/api/v1/protection",
            Some(&admin),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["auto_add"], true, "{body}");
    server.state().set_pods(&recorded_pods());
    let report = sync(&env, &admin).await;
    assert_eq!(totals(&report), (7, 0, 0), "{report}");
    let by_name = assets(&env, &admin).await;
    // New pods are bound, except those that cannot be protected (app engine, ≤ 0.5 core).
    let cases = [
        ("web-7c9f8d6b5-x2k4p", true, "yes"),
        ("db-0", true, "yes"),
        ("sandbox-5d8f7c9b4-m9xtv", true, "alerts-only"),
        ("api-6b7d9f8c4-k7p3c", false, "no"),
        ("api-6b7d9f8c4-2hjsl", false, "no"),
    ];
    for (pod, bound, protectable) in cases {
        assert_eq!(by_name[pod]["bound"], bound, "{pod}: {}", by_name[pod]);
        assert_eq!(by_name[pod]["protectable"], protectable, "{pod}");
    }
    assert_eq!(
        by_name["api-6b7d9f8c4-k7p3c"]["protectable_reason"], APP_ENGINE_TOO_SMALL,
        "the reason is shown"
    );
    env.finish().await;
}

#[tokio::test]
async fn instance_types_and_protectable_verdicts() {
    let env = Env::new(&Backend::Sqlite).await;
    let (_, admin) = env.new_tenant("acme").await;
    let server = FakeApiServer::start(TOKEN).await;
    add_cluster(
        &env,
        &admin,
        "engine",
        "app-engine",
        &server.kubeconfig(TOKEN),
    )
    .await;
    sync(&env, &admin).await;
    let by_name = assets(&env, &admin).await;
    // (pod, instance type, protectable): gVisor and Kata runtime classes and the annotation
    // make a pod sandboxed (alerts only); app-engine pods of 0.5 core or less are refused
    // whatever their type (250m limit; the pending web pod has 1.5 cores).
    let cases = [
        ("web-7c9f8d6b5-x2k4p", "standard", "yes"),
        ("sandbox-5d8f7c9b4-m9xtv", "sandboxed", "alerts-only"),
        ("kata-worker", "sandboxed", "alerts-only"),
        ("api-6b7d9f8c4-2hjsl", "sandboxed", "no"),
        ("api-6b7d9f8c4-k7p3c", "standard", "no"),
        ("report-28730160-7wqkd", "standard", "yes"),
    ];
    for (pod, instance_type, protectable) in cases {
        let asset = &by_name[pod];
        assert_eq!(asset["instance_type"], instance_type, "{pod}: {asset}");
        assert_eq!(asset["protectable"], protectable, "{pod}: {asset}");
    }
    assert_eq!(by_name["kata-worker"]["runtime_class"], "kata-qemu");
    let id = by_name["kata-worker"]["id"].as_i64().unwrap_or_default();
    let (_, detail) = env
        .call(
            Method::GET,
            &format!("/api/v1/assets/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        detail["capabilities"],
        json!({"alerts": true, "vulnerability": false, "baseline": false}),
        "{detail}"
    );
    env.finish().await;
}

#[tokio::test]
async fn virtual_node_clusters_keep_only_pods_on_virtual_nodes() {
    // (settings, pods expected): virtual by label or name prefix, by taint, or custom rules.
    let all_virtual = [
        "api-6b7d9f8c4-2hjsl",
        "api-6b7d9f8c4-k7p3c",
        "kata-worker",
        "report-28730160-7wqkd",
        "sandbox-5d8f7c9b4-m9xtv",
        "web-7c9f8d6b5-q8m2z",
        "web-7c9f8d6b5-x2k4p",
    ];
    let on_hangzhou: Vec<&str> = all_virtual
        .iter()
        .copied()
        .filter(|p| *p != "web-7c9f8d6b5-q8m2z")
        .collect();
    let cases: Vec<(ConfigFile, Vec<&str>)> = vec![
        (test_config(), all_virtual.to_vec()),
        (
            ConfigFile {
                virtual_node_taints: Some(vec![]),
                ..test_config()
            },
            on_hangzhou,
        ),
        (
            ConfigFile {
                virtual_node_labels: Some(vec!["node-role.kubernetes.io/worker=".to_string()]),
                virtual_node_name_prefixes: Some(vec![]),
                virtual_node_taints: Some(vec![]),
                ..test_config()
            },
            vec!["db-0"],
        ),
    ];
    for (config, expected) in cases {
        let env = Env::with_config(&Backend::Sqlite, config).await;
        let (_, admin) = env.new_tenant("acme").await;
        let server = FakeApiServer::start(TOKEN).await;
        add_cluster(
            &env,
            &admin,
            "mixed",
            "k8s-virtual-node",
            &server.kubeconfig(TOKEN),
        )
        .await;
        let report = sync(&env, &admin).await;
        let names: Vec<String> = assets(&env, &admin).await.into_keys().collect();
        assert_eq!(names, expected, "{report}");
        assert_eq!(
            server.state().requests_to("GET", "/api/v1/nodes").len(),
            1,
            "nodes are listed once per sync"
        );
        env.finish().await;
    }
}

#[tokio::test]
async fn pods_are_listed_page_by_page() {
    let config = ConfigFile {
        cluster_page_size: Some(4),
        ..test_config()
    };
    let env = Env::with_config(&Backend::Sqlite, config).await;
    let (_, admin) = env.new_tenant("acme").await;
    let server = FakeApiServer::start(TOKEN).await;
    add_cluster(
        &env,
        &admin,
        "prod",
        "k8s-serverless",
        &server.kubeconfig(TOKEN),
    )
    .await;
    let report = sync(&env, &admin).await;
    assert_eq!(totals(&report), (9, 0, 0), "{report}");
    let requests = server.state().requests_to("GET", "/api/v1/pods");
    let queries: Vec<String> = requests
        .iter()
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(queries.len(), 3, "9 pods in pages of 4: {queries:?}");
    assert!(queries.iter().all(|q| q.contains("limit=4")), "{queries:?}");
    assert!(!queries[0].contains("continue="), "{queries:?}");
    assert!(queries[1].contains("continue=") && queries[2].contains("continue="));
    assert_ne!(
        queries[1], queries[2],
        "each page continues where the last ended"
    );
    // Owners are looked up once per ReplicaSet and Job (3 ReplicaSets, 1 Job).
    let lookups = server.state().requests_to("GET", "/apis/");
    assert_eq!(lookups.len(), 4, "{lookups:?}");
    env.finish().await;
}

#[tokio::test]
async fn a_failing_cluster_keeps_its_assets_and_reports_its_error() {
    let config = ConfigFile {
        cluster_read_timeout_secs: Some(1),
        ..test_config()
    };
    let failures: Vec<(Option<Failure>, Option<&str>, &str)> = vec![
        // A revoked token: the API server's 401 Status.
        (
            None,
            Some("revoked-token"),
            "HTTP 401 (Unauthorized): Unauthorized",
        ),
        (
            Some(Failure::Status(500, fixture("status-500.json"))),
            None,
            "HTTP 500 (InternalError): etcdserver: request timed out",
        ),
        (
            Some(Failure::Text(
                502,
                "<html><body>502 Bad Gateway</body></html>".into(),
            )),
            None,
            "HTTP 502",
        ),
        (Some(Failure::Hang), None, "listing pods"),
    ];
    for (failure, token, fragment) in failures {
        let env = Env::with_config(&Backend::Sqlite, config.clone()).await;
        let (_, admin) = env.new_tenant("acme").await;
        let healthy = FakeApiServer::start(TOKEN).await;
        let failing = FakeApiServer::start(TOKEN).await;
        let good = add_cluster(
            &env,
            &admin,
            "good",
            "k8s-serverless",
            &healthy.kubeconfig(TOKEN),
        )
        .await;
        let bad_kubeconfig = failing.kubeconfig(token.unwrap_or(TOKEN));
        // The failing cluster's pods are other pods (other uids) than the healthy one's.
        let (other_pods, other_rs) = generate(3);
        failing.state().set_pods(&other_pods);
        failing.state().add_objects("replicasets", other_rs);
        let bad = add_cluster(
            &env,
            &admin,
            "bad",
            "k8s-serverless",
            &failing.kubeconfig(TOKEN),
        )
        .await;
        assert_eq!(totals(&sync(&env, &admin).await), (12, 0, 0));

        // Now the second cluster fails, and the first loses a pod.
        let (status, body) = env
            .call(
                Method::PUT,
                &format!("/api/v1/clusters/{bad}"),
                Some(&admin),
                Some(json!({"kubeconfig": bad_kubeconfig})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        failing.state().failure = failure.clone();
        let mut pods = recorded_pods();
        pods.retain(|p| p["metadata"]["name"] != "kata-worker");
        healthy.state().set_pods(&pods);
        let report = sync(&env, &admin).await;
        assert_eq!(totals(&report), (0, 0, 1), "{fragment}: {report}");
        let results = report["clusters"].as_array().cloned().unwrap_or_default();
        assert_eq!(results.len(), 2, "{report}");
        assert_eq!(
            (results[0]["id"].as_i64(), &results[0]["ok"]),
            (Some(good), &json!(true))
        );
        assert_eq!(
            (results[1]["id"].as_i64(), &results[1]["ok"]),
            (Some(bad), &json!(false))
        );
        let error = results[1]["error"].as_str().unwrap_or_default();
        assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");

        let by_name = assets(&env, &admin).await;
        let still_running = by_name
            .values()
            .filter(|a| a["source"] == format!("cluster:{bad}") && a["status"] == "running")
            .count();
        assert_eq!(
            still_running, 3,
            "the failing cluster's assets are left alone"
        );
        assert_eq!(by_name["kata-worker"]["status"], "gone");

        let (_, cluster) = env
            .call(
                Method::GET,
                &format!("/api/v1/clusters/{bad}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(cluster["sync"]["state"], "failed", "{cluster}");
        assert!(
            cluster["sync"]["last_error"]
                .as_str()
                .is_some_and(|e| e.contains(fragment)),
            "{cluster}"
        );
        assert_eq!(
            cluster["sync"]["pods"], 3,
            "the last good sync's figures stay"
        );
        env.finish().await;
    }
}

#[tokio::test]
async fn owners_that_cannot_be_read_leave_pods_under_their_replicaset() {
    let env = Env::new(&Backend::Sqlite).await;
    let (_, admin) = env.new_tenant("acme").await;
    let server = FakeApiServer::start(TOKEN).await;
    server.state().forbidden = vec!["replicasets".to_string()];
    add_cluster(
        &env,
        &admin,
        "prod",
        "k8s-serverless",
        &server.kubeconfig(TOKEN),
    )
    .await;
    let report = sync(&env, &admin).await;
    assert_eq!(report["clusters"][0]["ok"], true, "{report}");
    let warning = report["clusters"][0]["warnings"][0]
        .as_str()
        .unwrap_or_default();
    assert!(
        warning.starts_with("3 owner lookups failed") && warning.contains("403"),
        "{report}"
    );
    let by_name = assets(&env, &admin).await;
    assert_eq!(by_name["web-7c9f8d6b5-x2k4p"]["owner_kind"], "ReplicaSet");
    assert_eq!(
        by_name["web-7c9f8d6b5-x2k4p"]["owner_name"],
        "web-7c9f8d6b5"
    );
    assert_eq!(by_name["report-28730160-7wqkd"]["owner_kind"], "CronJob");
    env.finish().await;
}

#[tokio::test]
async fn tenants_sync_only_their_own_clusters() {
    let env = Env::new(&Backend::Sqlite).await;
    let (_, acme) = env.new_tenant("acme").await;
    let (_, globex) = env.new_tenant("globex").await;
    let server = FakeApiServer::start(TOKEN).await;
    let id = add_cluster(
        &env,
        &acme,
        "prod",
        "k8s-serverless",
        &server.kubeconfig(TOKEN),
    )
    .await;
    let report = sync(&env, &globex).await;
    assert_eq!(
        report,
        json!({"added": 0, "updated": 0, "gone": 0, "clusters": []})
    );
    assert!(
        server.state().requests.is_empty(),
        "globex's sync never reached acme's cluster"
    );
    assert!(assets(&env, &globex).await.is_empty());
    let report = sync(&env, &acme).await;
    assert_eq!(totals(&report), (9, 0, 0));
    assert!(
        assets(&env, &globex).await.is_empty(),
        "acme's assets stay acme's"
    );
    for (method, path) in [
        (Method::GET, format!("/api/v1/clusters/{id}")),
        (Method::DELETE, format!("/api/v1/clusters/{id}")),
    ] {
        let (status, body) = env.call(method.clone(), &path, Some(&globex), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
    }
    let (_, list) = env
        .call(Method::GET, "/api/v1/clusters", Some(&globex), None)
        .await;
    assert_eq!(list, json!([]));
    env.finish().await;
}

#[tokio::test]
async fn viewers_cannot_add_clusters_or_sync() {
    let env = Env::new(&Backend::Sqlite).await;
    let (_, admin) = env.new_tenant("acme").await;
    let viewer = env.new_token(&admin, "viewer").await;
    let server = FakeApiServer::start(TOKEN).await;
    let body = json!({"name": "prod", "source_kind": "k8s-serverless",
        "kubeconfig": server.kubeconfig(TOKEN)});
    let cases = [
        (
            Method::POST,
            "/api/v1/clusters",
            Some(body),
            StatusCode::FORBIDDEN,
        ),
        (
            Method::POST,
            "/api/v1/assets/sync",
            None,
            StatusCode::FORBIDDEN,
        ),
        (Method::GET, "/api/v1/clusters", None, StatusCode::OK),
    ];
    for (method, path, body, expected) in cases {
        let (status, answer) = env.call(method.clone(), path, Some(&viewer), body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
    }
    assert!(server.state().requests.is_empty());
    env.finish().await;
}

#[tokio::test]
async fn ten_thousand_pods() {
    let env = Env::new(&Backend::Sqlite).await;
    let (_, admin) = env.new_tenant("acme").await;
    let (pods, replicasets) = generate(10_000);
    let server = FakeApiServer::start(TOKEN).await;
    {
        let mut state = server.state();
        state.set_pods(&pods);
        state.add_objects("replicasets", replicasets);
    }
    add_cluster(
        &env,
        &admin,
        "big",
        "k8s-virtual-node",
        &server.kubeconfig(TOKEN),
    )
    .await;
    let report = sync(&env, &admin).await;
    assert_eq!(totals(&report), (10_000, 0, 0), "{}", report["clusters"]);
    assert_eq!(server.state().requests_to("GET", "/api/v1/pods").len(), 20);
    assert_eq!(
        server.state().requests_to("GET", "/apis/apps/v1/").len(),
        500,
        "one lookup per ReplicaSet"
    );
    let report = sync(&env, &admin).await;
    assert_eq!(totals(&report), (0, 0, 0));
    assert_eq!(
        server.state().requests_to("GET", "/apis/apps/v1/").len(),
        500,
        "owners are remembered across syncs"
    );
    let (_, page) = env
        .call(
            Method::GET,
            "/api/v1/assets?q=web0499&per_page=50",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(page["total"], 20, "{page}");
    assert_eq!(page["items"][0]["owner_name"], "web0499");
    env.finish().await;
}
