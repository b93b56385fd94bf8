//! `/api/v1/clusters`: adding (kubeconfig checks, sealed at rest, credentials never shown),
//! listing, renaming and changing kind (the next sync carries it to the assets), deleting
//! (assets gone), conflicts, audit entries.

use crate::fake_apiserver::{FakeApiServer, kubeconfig};
use crate::support::{Env, backends};
use crate::sync_k8s::{add_cluster, assets, sync};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

const SECRET: &str = "s3cret-bearer-token-do-not-leak";

fn check_kubeconfig_refusal(body: &Value, status: StatusCode, fragment: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
}

#[tokio::test]
async fn bad_kubeconfigs_and_requests_are_refused() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let (_, admin) = env.new_tenant("acme").await;
    let good = kubeconfig("https://10.0.0.1:6443", SECRET);
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"name": "a", "source_kind": "k8s-serverless", "kubeconfig": "clusters: ["}),
            "invalid_kubeconfig",
            "not valid kubeconfig YAML",
        ),
        (
            json!({"name": "a", "source_kind": "k8s-serverless",
            "kubeconfig": good.replace("current-context: fake-admin\n", "")}),
            "invalid_kubeconfig",
            "no current-context",
        ),
        (
            json!({"name": "a", "source_kind": "k8s-serverless",
            "kubeconfig": good.replace("current-context: fake-admin", "current-context: other")}),
            "invalid_kubeconfig",
            "\"other\" is not among its contexts",
        ),
        (
            json!({"name": "a", "source_kind": "k8s-serverless",
            "kubeconfig": good.replace("    server: https://10.0.0.1:6443\n", "")}),
            "invalid_kubeconfig",
            "has no server URL",
        ),
        (
            json!({"name": "a", "source_kind": "k8s-serverless",
            "kubeconfig": good.replace(&format!("token: {SECRET}"),
                "exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws")}),
            "invalid_kubeconfig",
            "`exec` is not accepted",
        ),
        (
            json!({"name": "a", "source_kind": "k8s-serverless", "kubeconfig": ""}),
            "invalid_kubeconfig",
            "empty",
        ),
        (
            json!({"name": "a", "source_kind": "kubernetes", "kubeconfig": good}),
            "invalid_request",
            "source_kind must be",
        ),
        (
            json!({"name": " ", "source_kind": "app-engine", "kubeconfig": good}),
            "invalid_request",
            "name must be",
        ),
    ];
    for (body, code, fragment) in cases {
        let (status, answer) = env
            .call(
                Method::POST,
                "/api/v1/clusters",
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        check_kubeconfig_refusal(&answer, status, fragment);
        assert_eq!(answer["error"]["code"], code, "{answer}");
    }
    let (status, answer) = env
        .call(
            Method::POST,
            "/api/v1/clusters",
            Some(&admin),
            Some(json!({"name": "a", "source_kind": "app-engine"})),
        )
        .await;
    assert_eq!(status.as_u16() / 100, 4, "missing kubeconfig: {answer}");
    let (_, list) = env
        .call(Method::GET, "/api/v1/clusters", Some(&admin), None)
        .await;
    assert_eq!(list, json!([]), "nothing was stored");
    env.finish().await;
}

#[tokio::test]
async fn clusters_are_added_listed_changed_and_deleted() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let (_, admin) = env.new_tenant("acme").await;
        let server = FakeApiServer::start(SECRET).await;
        let id = add_cluster(
            &env,
            &admin,
            "prod",
            "k8s-serverless",
            &server.kubeconfig(SECRET),
        )
        .await;

        let (status, view) = env
            .call(
                Method::GET,
                &format!("/api/v1/clusters/{id}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let expected = [
            ("name", json!("prod")),
            ("source_kind", json!("k8s-serverless")),
            ("source", json!(format!("cluster:{id}"))),
            ("server", json!(format!("http://{}", server.addr))),
            ("context", json!("fake-admin")),
            ("auth", json!("token")),
            ("assets", json!(0)),
        ];
        for (field, value) in expected {
            assert_eq!(view[field], value, "{field}: {view}");
        }
        assert_eq!(view["sync"]["state"], "never");
        // The credentials are neither returned nor stored in clear.
        let (_, list) = env
            .call(Method::GET, "/api/v1/clusters", Some(&admin), None)
            .await;
        assert!(!list.to_string().contains(SECRET), "{list}");
        assert!(!view.to_string().contains(SECRET));
        let stored: String = sqlx::query_scalar("SELECT kubeconfig_sealed FROM clusters")
            .fetch_one(env.store.db().reader())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            stored.starts_with("v1:") && !stored.contains(SECRET),
            "{stored}"
        );

        // Same name again: a conflict.
        let (status, answer) = env
            .call(
                Method::POST,
                "/api/v1/clusters",
                Some(&admin),
                Some(json!({"name": "prod", "source_kind": "k8s-serverless",
                    "kubeconfig": server.kubeconfig(SECRET)})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");

        assert_eq!(sync(&env, &admin).await["added"], 9);
        // Renamed and re-kinded: the next sync updates every asset.
        let (status, changed) = env
            .call(
                Method::PUT,
                &format!("/api/v1/clusters/{id}"),
                Some(&admin),
                Some(json!({"name": "production", "source_kind": "container-compute"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(
            (&changed["name"], &changed["source_kind"]),
            (&json!("production"), &json!("container-compute"))
        );
        let report = sync(&env, &admin).await;
        assert_eq!(
            (&report["added"], &report["updated"]),
            (&json!(0), &json!(9)),
            "{report}"
        );
        let by_name = assets(&env, &admin).await;
        assert!(
            by_name
                .values()
                .all(|a| a["cluster"] == "production" && a["source_kind"] == "container-compute")
        );
        let (status, answer) = env
            .call(
                Method::PUT,
                &format!("/api/v1/clusters/{id}"),
                Some(&admin),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

        // Deleted: its assets are gone, the cluster is not found any more.
        let (status, deleted) = env
            .call(
                Method::DELETE,
                &format!("/api/v1/clusters/{id}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{deleted}");
        assert_eq!(deleted["assets_gone"], 9);
        assert!(
            assets(&env, &admin)
                .await
                .values()
                .all(|a| a["status"] == "gone")
        );
        for method in [Method::GET, Method::DELETE] {
            let (status, _) = env
                .call(
                    method,
                    &format!("/api/v1/clusters/{id}"),
                    Some(&admin),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        // A new cluster never takes the deleted one's id (its gone assets keep their source).
        let again = add_cluster(
            &env,
            &admin,
            "prod",
            "k8s-serverless",
            &server.kubeconfig(SECRET),
        )
        .await;
        assert_ne!(again, id);

        let (_, audit) = env
            .call(
                Method::GET,
                "/api/v1/audit?per_page=100",
                Some(&admin),
                None,
            )
            .await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["action"].as_str())
            .filter(|a| a.starts_with("cluster."))
            .collect();
        // Newest first.
        assert_eq!(
            actions,
            [
                "cluster.create",
                "cluster.delete",
                "cluster.update",
                "cluster.create"
            ],
            "{audit}"
        );
        assert!(!audit.to_string().contains(SECRET));
        env.finish().await;
    }
}
