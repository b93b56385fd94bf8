//! Baseline risks: a pod spec becomes risks (with title, rationale, remediation, fixes), the
//! grouped views and filters, the fix endpoint (dry run, user-applied for agent assets, the
//! workload patcher for cluster assets), exemptions by annotation, the whitelist with both
//! scopes, and tenant and role checks.

use crate::console_support::Session;
use crate::findings_support::{
    agent, asset_detail, get_ok, post_podspec, protected_tenant, risky_pod,
};
use crate::support::{Env, HOUR, T0, backends};
use crate::sync::pod;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use podwarden_baseline::PatchOp;
use podwarden_server::findings::patcher::{
    PatchApplied, PatchRefused, WorkloadPatcher, WorkloadTarget,
};
use podwarden_server::state::BoxFuture;
use podwarden_server::{AppState, app};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

fn risks(body: &Value) -> Vec<Value> {
    body["items"].as_array().cloned().unwrap_or_default()
}

fn check_ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = risks(body)
        .iter()
        .map(|r| r["check_id"].as_str().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[tokio::test]
async fn pod_specs_become_risks_with_views_and_filters() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-a").await;
        let b = agent(&env, &tenant, "uid-b").await;
        let (status, reply) = post_podspec(&env, &a.credential, "p-1", T0, risky_pod("a")).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["stored"], true);
        let produced = reply["findings"].as_i64().unwrap_or_default();
        assert!(produced > 3, "{reply}");
        let mut hardened = risky_pod("b");
        hardened["spec"]["containers"][0]["securityContext"] = json!({"privileged": false});
        let (status, _) = post_podspec(&env, &b.credential, "p-1", T0, hardened).await;
        assert_eq!(status, StatusCode::OK);

        let all = get_ok(&env, &tenant.admin, "/api/v1/baseline-risks?per_page=500").await;
        let privileged: Vec<Value> = risks(&all)
            .into_iter()
            .filter(|r| r["check_id"] == "pss.privileged")
            .collect();
        assert_eq!(privileged.len(), 1, "only the privileged pod: {all}");
        let risk = &privileged[0];
        assert_eq!(risk["asset"]["id"], a.asset);
        assert_eq!(risk["container"], "app");
        assert_eq!(risk["severity"], "critical");
        assert_eq!(risk["level"], "baseline");
        assert_eq!(risk["fix_available"], true);
        for field in ["title", "message", "rationale", "remediation", "path"] {
            assert!(
                !risk[field].as_str().unwrap_or_default().is_empty(),
                "{field}: {risk}"
            );
        }
        let detail = asset_detail(&env, &tenant.admin, a.asset).await;
        assert_eq!(detail["baseline_risk_count"], produced);
        assert_eq!(detail["last_baseline_check_at"], T0);
        assert_eq!(detail["findings"]["pod_spec"]["source"], "agent");

        let only = get_ok(
            &env,
            &tenant.admin,
            "/api/v1/baseline-risks?check=pss.privileged",
        )
        .await;
        assert_eq!(check_ids(&only), vec!["pss.privileged"]);
        let critical = get_ok(
            &env,
            &tenant.admin,
            "/api/v1/baseline-risks?severity=critical&per_page=500",
        )
        .await;
        assert!(risks(&critical).iter().all(|r| r["severity"] == "critical"));
        assert!(check_ids(&critical).contains(&"pss.privileged".to_string()));
        let of_b = get_ok(
            &env,
            &tenant.admin,
            &format!("/api/v1/baseline-risks?asset={}&per_page=500", b.asset),
        )
        .await;
        assert!(risks(&of_b).iter().all(|r| r["asset"]["id"] == b.asset));
        // Free-text search: check id or title, container, field path, pod name or namespace,
        // any case; `%` and `_` are literal.
        let search = |q: &'static str| {
            let env = &env;
            let admin = tenant.admin.clone();
            async move {
                get_ok(
                    env,
                    &admin,
                    &format!("/api/v1/baseline-risks?per_page=500&q={q}"),
                )
                .await
            }
        };
        assert_eq!(
            check_ids(&search("PSS.PRIVILEGED").await),
            vec!["pss.privileged"]
        );
        let privileged_title = risk["title"].as_str().unwrap_or_default().to_uppercase();
        let by_title = get_ok(
            &env,
            &tenant.admin,
            &format!(
                "/api/v1/baseline-risks?per_page=500&q={}",
                privileged_title.replace(' ', "%20")
            ),
        )
        .await;
        assert!(
            check_ids(&by_title).contains(&"pss.privileged".to_string()),
            "{by_title}"
        );
        let by_field = search("securityContext/privileged").await;
        assert!(
            check_ids(&by_field).contains(&"pss.privileged".to_string()),
            "{by_field}"
        );
        let pod_b = search("uid-B").await;
        assert!(
            risks(&pod_b).iter().all(|r| r["asset"]["id"] == b.asset),
            "{pod_b}"
        );
        assert_eq!(pod_b["total"], of_b["total"]);
        assert_eq!(search("%25").await["total"], 0);
        assert_eq!(search("no-such-thing").await["total"], 0);
        let grouped = get_ok(
            &env,
            &tenant.admin,
            "/api/v1/baseline-risks?group_by=check&q=pss.privileged",
        )
        .await;
        assert_eq!(grouped["total"], 1, "{grouped}");
        // The console's risk list and audit log take the same search.
        let console = Session::with_token(&env, &tenant.admin).await;
        let other_check = check_ids(&of_b)
            .into_iter()
            .find(|c| c != "pss.privileged")
            .unwrap_or_default();
        let page = console
            .get(&env, "/baseline?tab=risks&q=pss.privileged")
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("pss.privileged") && page.body.contains("name=\"q\""));
        assert!(
            !page.body.contains(&format!(">{other_check}<")),
            "{other_check}"
        );
        let unfiltered = console.get(&env, "/baseline?tab=risks").await;
        assert!(
            unfiltered.body.contains(&format!(">{other_check}<")),
            "{other_check}"
        );
        let audit = get_ok(&env, &tenant.admin, "/api/v1/audit?per_page=1").await;
        let action = format!(
            "<code>{}</code>",
            audit["items"][0]["action"].as_str().unwrap_or("?")
        );
        assert!(
            console.get(&env, "/settings").await.body.contains(&action),
            "{action}"
        );
        let settings = console.get(&env, "/settings?q=no-such-actor").await;
        assert!(settings.body.contains("value=\"no-such-actor\""));
        assert!(!settings.body.contains(&action), "{action}");

        let by_check = get_ok(
            &env,
            &tenant.admin,
            "/api/v1/baseline-risks?group_by=check&per_page=500",
        )
        .await;
        let group = risks(&by_check)
            .into_iter()
            .find(|g| g["check_id"] == "pss.privileged")
            .unwrap_or_default();
        assert_eq!(group["asset_count"], 1);
        assert_eq!(group["severity"], "critical");
        let shared = risks(&by_check)
            .into_iter()
            .find(|g| g["asset_count"] == 2)
            .unwrap_or_default();
        assert!(
            shared.is_object(),
            "some check fails on both pods: {by_check}"
        );
        let by_asset = get_ok(&env, &tenant.admin, "/api/v1/baseline-risks?group_by=asset").await;
        assert_eq!(by_asset["total"], 2);
        assert_eq!(
            by_asset["items"][0]["asset"]["id"], a.asset,
            "most critical first"
        );
        assert_eq!(by_asset["items"][0]["risk_count"], produced);

        // A re-check of the fixed spec resolves the risk; an older spec is not stored.
        let mut fixed = risky_pod("a");
        fixed["spec"]["containers"][0]["securityContext"] = json!({});
        let (_, reply) = post_podspec(&env, &a.credential, "p-0", T0 - HOUR, fixed.clone()).await;
        assert_eq!(reply["stored"], false, "{reply}");
        let (_, reply) = post_podspec(&env, &a.credential, "p-2", T0 + HOUR, fixed).await;
        assert_eq!(reply["stored"], true);
        let only = get_ok(
            &env,
            &tenant.admin,
            "/api/v1/baseline-risks?check=pss.privileged",
        )
        .await;
        assert_eq!(only["total"], 0);
        for bad in ["?group_by=team", "?severity=urgent", "?per_page=0"] {
            let (status, _) = env
                .call(
                    Method::GET,
                    &format!("/api/v1/baseline-risks{bad}"),
                    Some(&tenant.admin),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        }
        env.finish().await;
    }
}

/// A patcher that records what it was asked to apply.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(WorkloadTarget, Vec<PatchOp>)>>,
}

impl WorkloadPatcher for Recorder {
    fn apply<'a>(
        &'a self,
        target: &'a WorkloadTarget,
        patch: &'a [PatchOp],
    ) -> BoxFuture<'a, Result<PatchApplied, PatchRefused>> {
        Box::pin(async move {
            if let Ok(mut calls) = self.calls.lock() {
                calls.push((target.clone(), patch.to_vec()));
            }
            Ok(PatchApplied {
                target: format!(
                    "{} {}/{}",
                    target.owner_kind.clone().unwrap_or_default(),
                    target.namespace,
                    target.owner_name.clone().unwrap_or_default()
                ),
                message: "patched".to_string(),
            })
        })
    }
}

async fn call(router: &axum::Router, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|e| panic!("{e}"));
    let response = router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn fixes_are_computed_and_applied_where_possible() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        // An agent-only asset.
        let a = agent(&env, &tenant, "uid-a").await;
        post_podspec(&env, &a.credential, "p-1", T0, risky_pod("a")).await;
        // A cluster asset with an agent attached, its pod spec from the sync.
        env.store
            .upsert_assets_from_source(tenant.id, "cluster:1", vec![pod("web", Some(500), None)])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let web = agent(&env, &tenant, "uid-web").await;
        env.store
            .set_pod_spec(tenant.id, web.asset, &risky_pod("web"), Some(T0))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (status, scan) = env
            .call(
                Method::POST,
                "/api/v1/scans",
                Some(&tenant.admin),
                Some(json!({"kind": "baseline", "asset_ids": [web.asset]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{scan}");
        assert_eq!(scan["checked"], json!([web.asset]));

        let privileged = |asset: i64| {
            let env = &env;
            let admin = tenant.admin.clone();
            async move {
                let body = get_ok(
                    env,
                    &admin,
                    &format!("/api/v1/baseline-risks?check=pss.privileged&asset={asset}"),
                )
                .await;
                body["items"][0]["id"].as_i64().unwrap_or_default()
            }
        };
        let (risk_a, risk_web) = (privileged(a.asset).await, privileged(web.asset).await);

        // Dry run (the default): the patch and the fixed object.
        let (status, plan) = env
            .call(
                Method::POST,
                &format!("/api/v1/baseline-risks/{risk_a}/fix"),
                Some(&tenant.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        assert_eq!(plan["dry_run"], true);
        assert_eq!(plan["applied"], false);
        assert!(
            plan["patch"].as_array().is_some_and(|p| !p.is_empty()),
            "{plan}"
        );
        assert_ne!(
            plan["fixed_object"]["spec"]["containers"][0]["securityContext"]["privileged"],
            json!(true)
        );
        assert!(
            plan["fixed_yaml"]
                .as_str()
                .unwrap_or_default()
                .contains("kind: Pod"),
            "{plan}"
        );

        let recorder = Arc::new(Recorder::default());
        let mut state = AppState::new(env.store.clone());
        state.patcher = recorder.clone();
        let router = app(state);
        // Agent-only asset: the user applies the patch.
        let (status, reply) = call(
            &router,
            &tenant.admin,
            &format!("/api/v1/baseline-risks/{risk_a}/fix"),
            json!({"apply": true}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(
            reply["applied"], true,
            "the recorder applies anything: {reply}"
        );
        // With the default patcher nothing can be applied.
        let (status, reply) = env
            .call(
                Method::POST,
                &format!("/api/v1/baseline-risks/{risk_a}/fix"),
                Some(&tenant.admin),
                Some(json!({"dry_run": false})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["applied"], false);
        assert!(
            reply["message"]
                .as_str()
                .unwrap_or_default()
                .contains("apply the returned patch"),
            "{reply}"
        );
        // Cluster asset through the patcher: the target names the owner.
        let (status, reply) = call(
            &router,
            &tenant.admin,
            &format!("/api/v1/baseline-risks/{risk_web}/fix"),
            json!({"apply": true}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["target"], "ReplicaSet shop/web-rs");
        let calls = recorder.calls.lock().map(|c| c.clone()).unwrap_or_default();
        let (target, patch) = calls.last().cloned().unwrap_or_else(|| panic!("no call"));
        assert_eq!(target.source, "cluster:1");
        assert_eq!(target.tenant, tenant.id);
        assert_eq!(
            serde_json::to_value(&patch).unwrap_or_default(),
            reply["patch"]
        );
        let audit = get_ok(&env, &tenant.admin, "/api/v1/audit").await;
        let fixes = audit["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["action"] == "baseline_risk.fix")
            .count();
        assert_eq!(fixes, 3);

        // A risk without automatic fix, a contradiction, another tenant, a viewer.
        let all = get_ok(
            &env,
            &tenant.admin,
            &format!("/api/v1/baseline-risks?asset={}&per_page=500", a.asset),
        )
        .await;
        let no_fix = risks(&all)
            .into_iter()
            .find(|r| r["fix_available"] == false)
            .and_then(|r| r["id"].as_i64())
            .unwrap_or_else(|| panic!("every risk has a fix: {all}"));
        let (_, intruder) = env.new_tenant("intruder").await;
        let viewer = env.new_token(&tenant.admin, "viewer").await;
        let cases: Vec<(&str, i64, Option<Value>, StatusCode)> = vec![
            (&tenant.admin, no_fix, None, StatusCode::CONFLICT),
            (
                &tenant.admin,
                risk_a,
                Some(json!({"apply": true, "dry_run": true})),
                StatusCode::BAD_REQUEST,
            ),
            (
                &tenant.admin,
                risk_a,
                Some(json!({"apply": "yes"})),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (&tenant.admin, 999_999, None, StatusCode::NOT_FOUND),
            (&intruder, risk_a, None, StatusCode::NOT_FOUND),
            (&viewer, risk_a, None, StatusCode::FORBIDDEN),
        ];
        for (token, risk, body, expected) in cases {
            let (status, reply) = env
                .call(
                    Method::POST,
                    &format!("/api/v1/baseline-risks/{risk}/fix"),
                    Some(token),
                    body.clone(),
                )
                .await;
            assert_eq!(status, expected, "{risk} {body:?}: {reply}");
        }
        env.finish().await;
    }
}

#[tokio::test]
async fn exemptions_and_whitelists_take_risks_out_of_the_count() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-a").await;
        let b = agent(&env, &tenant, "uid-b").await;
        let mut exempted = risky_pod("a");
        exempted["metadata"]["annotations"] = json!({"podwarden.io/skip": "pss.privileged", "podwarden.io/skip-reason": "needs devices"});
        post_podspec(&env, &a.credential, "p", T0, exempted).await;
        post_podspec(&env, &b.credential, "p", T0, risky_pod("b")).await;
        let count = |asset: i64| {
            let env = &env;
            let admin = tenant.admin.clone();
            async move {
                asset_detail(env, &admin, asset).await["baseline_risk_count"]
                    .as_i64()
                    .unwrap_or_default()
            }
        };
        let listed = |query: String| {
            let env = &env;
            let admin = tenant.admin.clone();
            async move { get_ok(env, &admin, &format!("/api/v1/baseline-risks{query}")).await }
        };
        // The annotation exempts the check on a: listed only with include_whitelisted.
        let visible = listed(format!("?asset={}&check=pss.privileged", a.asset)).await;
        assert_eq!(visible["total"], 0);
        let hidden = listed(format!(
            "?asset={}&check=pss.privileged&include_whitelisted=true",
            a.asset
        ))
        .await;
        assert_eq!(hidden["items"][0]["exemption"], "needs devices");
        assert_eq!(hidden["items"][0]["whitelisted"], true);
        let (count_a, count_b) = (count(a.asset).await, count(b.asset).await);
        assert_eq!(count_b, count_a + 1, "b also counts pss.privileged");

        // Whitelist b's readonly-rootfs risk on b only, then the image check everywhere.
        let risk_of = |asset: i64, check: &'static str| {
            let listed = &listed;
            async move {
                listed(format!("?asset={asset}&check={check}")).await["items"][0]["id"]
                    .as_i64()
                    .unwrap_or_default()
            }
        };
        let rootfs_b = risk_of(b.asset, "hardening.readonly-rootfs").await;
        let (status, reply) = env
            .call(
                Method::POST,
                &format!("/api/v1/baseline-risks/{rootfs_b}/whitelist"),
                Some(&tenant.admin),
                Some(json!({"reason": "writes caches"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        assert_eq!(reply["rule"]["scope"], "asset");
        assert_eq!(reply["risks_changed"], 1);
        assert_eq!(count(b.asset).await, count_b - 1);
        assert_eq!(count(a.asset).await, count_a);
        let rootfs_a = risk_of(a.asset, "hardening.readonly-rootfs").await;
        let (status, reply) = env
            .call(
                Method::POST,
                &format!("/api/v1/baseline-risks/{rootfs_a}/whitelist"),
                Some(&tenant.admin),
                Some(json!({"scope": "all", "reason": "read-only roots break our apps"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        assert_eq!(
            reply["risks_changed"], 1,
            "b's was already whitelisted: {reply}"
        );
        assert_eq!(count(a.asset).await, count_a - 1);
        // A later check keeps honouring the rules.
        post_podspec(&env, &b.credential, "p2", T0 + 1, risky_pod("b")).await;
        assert_eq!(count(b.asset).await, count_b - 1);
        let rules = get_ok(&env, &tenant.admin, "/api/v1/baseline-risks/whitelist").await;
        assert_eq!(rules["total"], 2);
        // Bad requests, another tenant, a viewer.
        let (_, intruder) = env.new_tenant("intruder").await;
        let viewer = env.new_token(&tenant.admin, "viewer").await;
        let rule_id = rules["items"][0]["id"].as_i64().unwrap_or_default();
        let cases: Vec<(&str, Method, String, Option<Value>, StatusCode)> = vec![
            (
                &tenant.admin,
                Method::POST,
                format!("/api/v1/baseline-risks/{rootfs_a}/whitelist"),
                Some(json!({"reason": ""})),
                StatusCode::BAD_REQUEST,
            ),
            (
                &tenant.admin,
                Method::POST,
                format!("/api/v1/baseline-risks/{rootfs_a}/whitelist"),
                Some(json!({"reason": "x", "scope": "planet"})),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                &intruder,
                Method::POST,
                format!("/api/v1/baseline-risks/{rootfs_a}/whitelist"),
                Some(json!({"reason": "x"})),
                StatusCode::NOT_FOUND,
            ),
            (
                &viewer,
                Method::POST,
                format!("/api/v1/baseline-risks/{rootfs_a}/whitelist"),
                Some(json!({"reason": "x"})),
                StatusCode::FORBIDDEN,
            ),
            (
                &intruder,
                Method::DELETE,
                format!("/api/v1/baseline-risks/whitelist/{rule_id}"),
                None,
                StatusCode::NOT_FOUND,
            ),
            (
                &viewer,
                Method::DELETE,
                format!("/api/v1/baseline-risks/whitelist/{rule_id}"),
                None,
                StatusCode::FORBIDDEN,
            ),
        ];
        for (token, method, path, body, expected) in cases {
            let (status, reply) = env.call(method.clone(), &path, Some(token), body).await;
            assert_eq!(status, expected, "{method} {path}: {reply}");
        }
        assert_eq!(
            get_ok(&env, &intruder, "/api/v1/baseline-risks").await["total"],
            0
        );
        assert_eq!(
            get_ok(&env, &intruder, "/api/v1/baseline-risks/whitelist").await["total"],
            0
        );
        // Deleting the rules counts the risks again.
        for rule in rules["items"].as_array().into_iter().flatten() {
            let (status, _) = env
                .call(
                    Method::DELETE,
                    &format!("/api/v1/baseline-risks/whitelist/{}", rule["id"]),
                    Some(&tenant.admin),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK);
        }
        assert_eq!(
            (count(a.asset).await, count(b.asset).await),
            (count_a, count_b)
        );
        env.finish().await;
    }
}
