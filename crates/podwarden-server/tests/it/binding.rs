//! The default binding rules when protection is enabled (first time, again after off, after
//! overdue is paid), explicit binding choices, quota add/remove, and the audit trail.

use crate::support::{Env, backends};
use crate::sync::pod;
use axum::http::{Method, StatusCode};
use podwarden_server::store::TenantId;
use serde_json::{Value, json};

async fn bound_names(env: &Env, admin: &str) -> Vec<String> {
    let (_, list) = env
        .call(
            Method::GET,
            "/api/v1/assets?bound=true&per_page=500",
            Some(admin),
            None,
        )
        .await;
    let mut names: Vec<String> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["pod_name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

async fn put(env: &Env, admin: &str, body: Value) -> Value {
    let (status, reply) = env
        .call(
            Method::PUT,
            "/api/v1/protection",
            Some(admin),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}: {reply}");
    reply
}

async fn quota(env: &Env, admin: &str, body: Value) -> Value {
    let (status, reply) = env
        .call(
            Method::POST,
            "/api/v1/quota",
            Some(admin),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}: {reply}");
    reply
}

async fn seed(env: &Env, tenant: TenantId, names: &[&str]) {
    let pods = names.iter().map(|n| pod(n, Some(500), None)).collect();
    env.store
        .upsert_assets_from_source(tenant, "cluster:1", pods)
        .await
        .unwrap_or_else(|e| panic!("sync: {e}"));
}

#[tokio::test]
async fn default_binding_rules() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let (tenant, admin) = env.new_tenant("acme").await;
        seed(&env, tenant, &["a", "b", "c"]).await;
        assert!(
            bound_names(&env, &admin).await.is_empty(),
            "nothing is bound before enabling"
        );

        // 1. First time ever enabled: everything bound, auto-add on.
        let reply = put(&env, &admin, json!({"enabled": true})).await;
        assert_eq!(
            (
                reply["binding"]["rule"].as_str(),
                reply["binding"]["bound"].as_u64()
            ),
            (Some("first-enable-all"), Some(3))
        );
        assert_eq!(reply["auto_add"], true);
        assert_eq!(bound_names(&env, &admin).await, ["a", "b", "c"]);

        // Auto-add binds a new asset.
        seed(&env, tenant, &["a", "b", "c", "d"]).await;
        assert_eq!(bound_names(&env, &admin).await, ["a", "b", "c", "d"]);

        // The operator narrows the binding, then switches off: everything unbound.
        let (_, list) = env
            .call(Method::GET, "/api/v1/assets?q=d", Some(&admin), None)
            .await;
        let d = list["items"][0]["id"].as_i64().unwrap_or_default();
        quota(
            &env,
            &admin,
            json!({"action": "remove", "asset_ids": [d], "auto_add": false}),
        )
        .await;
        let reply = put(&env, &admin, json!({"enabled": false})).await;
        assert_eq!(reply["binding"]["rule"], "switch-off-unbind");
        assert!(bound_names(&env, &admin).await.is_empty());

        // 2. Enabled again: the assets bound before come back, no more.
        let reply = put(&env, &admin, json!({"enabled": true})).await;
        assert_eq!(reply["binding"]["rule"], "previous", "{reply}");
        assert_eq!(bound_names(&env, &admin).await, ["a", "b", "c"]);
        assert_eq!(
            reply["auto_add"], false,
            "auto-add stays as the operator left it"
        );

        // 3. Overdue then paid: binding stays exactly as it was.
        quota(&env, &admin, json!({"action": "remove", "asset_ids": [d]})).await;
        let reply = put(&env, &admin, json!({"overdue": true})).await;
        assert_eq!(
            (reply["overdue"].as_bool(), reply["active"].as_bool()),
            (Some(true), Some(false))
        );
        assert_eq!(bound_names(&env, &admin).await, ["a", "b", "c"]);
        let reply = put(&env, &admin, json!({"overdue": false})).await;
        assert_eq!(reply["binding"]["rule"], "none");
        assert_eq!(reply["active"], true);
        assert_eq!(bound_names(&env, &admin).await, ["a", "b", "c"]);

        // Enabled again after being off with nothing bound before: bind all + auto-add.
        quota(&env, &admin, json!({"action": "remove", "all": true})).await;
        put(&env, &admin, json!({"enabled": false})).await;
        let reply = put(&env, &admin, json!({"enabled": true})).await;
        assert_eq!(reply["binding"]["rule"], "no-previous-all", "{reply}");
        assert_eq!(reply["auto_add"], true);
        assert_eq!(bound_names(&env, &admin).await, ["a", "b", "c", "d"]);

        // Explicit choices.
        put(&env, &admin, json!({"enabled": false, "binding": "keep"})).await;
        assert_eq!(
            bound_names(&env, &admin).await,
            ["a", "b", "c", "d"],
            "keep on switch-off"
        );
        let reply = put(&env, &admin, json!({"enabled": true, "binding": "none"})).await;
        assert_eq!(reply["binding"]["unbound"], 4);
        assert!(bound_names(&env, &admin).await.is_empty());

        // Every change is in the audit log, newest first, with who did it.
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
            .collect();
        assert_eq!(
            actions
                .iter()
                .filter(|a| **a == "protection.update")
                .count(),
            9,
            "{actions:?}"
        );
        assert_eq!(
            actions.iter().filter(|a| a.starts_with("quota.")).count(),
            3,
            "{actions:?}"
        );
        assert_eq!(
            audit["items"][0]["actor"]
                .as_str()
                .map(|a| a.starts_with("token:")),
            Some(true)
        );
        env.finish().await;
    }
}

#[tokio::test]
async fn quota_skips_what_cannot_be_protected() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let (tenant, admin) = env.new_tenant("acme").await;
    let mut small = pod("small-app", Some(500), None);
    small.source_kind = podwarden_server::assets::SourceKind::AppEngine;
    let mut sandboxed = pod("sandboxed", None, None);
    sandboxed.runtime_class = Some("gvisor".to_string());
    env.store
        .upsert_assets_from_source(
            tenant,
            "cluster:1",
            vec![small, sandboxed, pod("plain", None, None)],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reply = quota(&env, &admin, json!({"action": "add", "all": true})).await;
    assert_eq!(reply["changed"], 2, "{reply}");
    assert_eq!(
        reply["skipped"][0]["reason"],
        "app engine instances with 0.5 core or less cannot be protected (stability)"
    );
    let (_, list) = env
        .call(
            Method::GET,
            "/api/v1/assets?instance_type=sandboxed",
            Some(&admin),
            None,
        )
        .await;
    let id = list["items"][0]["id"].as_i64().unwrap_or_default();
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
        json!({"alerts": true, "vulnerability": false, "baseline": false})
    );
    assert_eq!(detail["protectable"], "alerts-only");
    assert_eq!(detail["bound"], true);
    env.finish().await;
}
