//! Agent uploads: detection batches stored exactly once, loss reports and agent status in the
//! asset detail, the protection gate (dropped with a counted reason), agents writing only their
//! own asset, bad bodies refused with 4xx and nothing written, the agent body limit.

use crate::findings_support::{
    agent, alerts_of, asset_detail, check_batch, network_detection, post_events, post_inventory,
    post_podspec, process_detection, protected_tenant, risky_pod,
};
use crate::support::{Env, T0, backends, test_config};
use axum::http::{Method, StatusCode};
use podwarden_server::config::ConfigFile;
use serde_json::{Value, json};

/// (accepted, duplicates, suppressed, dropped) of an events answer.
type Counts = (u64, u64, u64, u64);

#[tokio::test]
async fn retried_batches_are_stored_exactly_once() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-web").await;
        let batch = vec![
            process_detection("d-1", "/tmp/xmrig", &["xmrig", "-o", "pool"], "high"),
            process_detection("d-2", "/tmp/xmrig", &["xmrig", "-o", "pool"], "high"),
            network_detection("d-3", "203.0.113.7:4444"),
        ];
        // (batch, expected (accepted, duplicates, suppressed, dropped)), in order.
        let steps: Vec<(Vec<Value>, Counts)> = vec![
            (batch.clone(), (3, 0, 0, 0)),
            // The same batch again (the answer was lost): nothing new.
            (batch.clone(), (0, 3, 0, 0)),
            // One old id, one new id, and the new id twice in the same batch.
            (
                vec![
                    batch[0].clone(),
                    process_detection("d-4", "/tmp/xmrig", &["xmrig", "-o", "pool"], "high"),
                    process_detection("d-4", "/tmp/xmrig", &["xmrig", "-o", "pool"], "high"),
                ],
                (1, 2, 0, 0),
            ),
            (Vec::new(), (0, 0, 0, 0)),
        ];
        for (detections, expected) in steps {
            check_batch(&env, &a.credential, detections, expected).await;
        }
        let alerts = alerts_of(&env, &tenant.admin, a.asset).await;
        let mut counts: Vec<(String, i64)> = alerts
            .iter()
            .map(|x| {
                (
                    x["alert_type"].as_str().unwrap_or_default().to_string(),
                    x["occurrences"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        counts.sort();
        assert_eq!(
            counts,
            vec![("network".to_string(), 1), ("process".to_string(), 3)],
            "{alerts:?}"
        );
        let detail = asset_detail(&env, &tenant.admin, a.asset).await;
        assert_eq!(detail["alert_count"], 2, "{detail}");
        assert_eq!(detail["risk"], "at_risk");
        env.finish().await;
    }
}

#[tokio::test]
async fn losses_and_agent_status_show_in_the_asset_detail() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-web").await;
        let loss = json!({"info": 0, "low": 12, "medium": 0, "high": 1, "critical": 0,
            "from_ts": 1_704_124_800_000_i64, "to_ts": 1_704_124_860_000_i64});
        for _ in 0..2 {
            let (status, body) = env
                .call(
                    Method::POST,
                    "/agent/v1/events",
                    Some(&a.credential),
                    Some(json!({"detections": [], "dropped": loss})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (status, body) = env
            .call(
                Method::POST,
                "/agent/v1/heartbeat",
                Some(&a.credential),
                Some(json!({"agent_version": "0.1.0", "status": {
                    "collectors": ["proc-poll", "inotify"], "poll_interval_ms": 250,
                    "spooled": 3, "dropped_total": 13, "rss_bytes": 20_000_000,
                    "cpu_millis_total": 1500, "web_roots": ["/var/www"]}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let detail = asset_detail(&env, &tenant.admin, a.asset).await;
        let findings = &detail["findings"];
        let losses = findings["losses"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            losses.len(),
            1,
            "a retried loss report is stored once: {findings}"
        );
        assert_eq!(
            losses[0]["message"],
            "the agent dropped 1 high-severity and 12 low-severity detections between \
             2024-01-01T16:00:00Z and 2024-01-01T16:01:00Z (its spool was full)"
        );
        assert_eq!(
            findings["agent_status"]["collectors"],
            json!(["proc-poll", "inotify"])
        );
        assert_eq!(findings["agent_status"]["dropped_total"], 13);
        assert_eq!(findings["agent_status"]["reported_at"], T0);
        env.finish().await;
    }
}

#[tokio::test]
async fn detections_while_unprotected_are_dropped_and_counted() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-web").await;
        // (protection change, quota change, expected reason)
        let cases: Vec<(Option<Value>, Option<Value>, &str)> = vec![
            (
                Some(json!({"paused": true})),
                None,
                "protection is paused for this tenant",
            ),
            (
                Some(json!({"paused": false, "overdue": true})),
                None,
                "the tenant is overdue",
            ),
            (
                Some(json!({"overdue": false})),
                Some(json!({"action": "remove", "asset_ids": [a.asset]})),
                "the asset is not bound to the protection quota",
            ),
            (
                Some(json!({"enabled": false})),
                None,
                "protection is switched off for this tenant",
            ),
        ];
        for (i, (protection, quota, reason)) in cases.iter().enumerate() {
            if let Some(body) = protection {
                let (status, reply) = env
                    .call(
                        Method::PUT,
                        "/api/v1/protection",
                        Some(&tenant.admin),
                        Some(body.clone()),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{reply}");
            }
            if let Some(body) = quota {
                let (status, reply) = env
                    .call(
                        Method::POST,
                        "/api/v1/quota",
                        Some(&tenant.admin),
                        Some(body.clone()),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{reply}");
            }
            let id = format!("d-{i}");
            let body = check_batch(
                &env,
                &a.credential,
                vec![process_detection(&id, "/tmp/x", &["x"], "high")],
                (0, 0, 0, 1),
            )
            .await;
            assert_eq!(body["dropped_reason"], *reason);
            // Retrying a dropped detection does not count it twice.
            check_batch(
                &env,
                &a.credential,
                vec![process_detection(&id, "/tmp/x", &["x"], "high")],
                (0, 1, 0, 0),
            )
            .await;
            let (status, inventory) =
                post_inventory(&env, &a.credential, &format!("inv-{i}"), T0, Vec::new()).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(inventory["stored"], false, "{inventory}");
            assert_eq!(inventory["reason"], *reason);
        }
        assert!(alerts_of(&env, &tenant.admin, a.asset).await.is_empty());
        let detail = asset_detail(&env, &tenant.admin, a.asset).await;
        let drops = detail["findings"]["dropped_while_unprotected"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let detections: i64 = drops
            .iter()
            .filter(|d| d["kind"] == "detections")
            .map(|d| d["dropped"].as_i64().unwrap_or_default())
            .sum();
        assert_eq!(detections, 4, "{drops:?}");
        assert!(
            drops
                .iter()
                .any(|d| d["kind"] == "inventory" && d["reason"] == "the tenant is overdue"),
            "{drops:?}"
        );
        env.finish().await;
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_and_nothing_is_written() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-web").await;
        let good = process_detection("ok-1", "/tmp/x", &["x"], "high");
        let with = |field: &str, value: Value| {
            let mut d = good.clone();
            d[field] = value;
            d
        };
        let many: Vec<Value> = (0..5001)
            .map(|i| process_detection(&format!("m-{i}"), "/tmp/x", &["x"], "low"))
            .collect();
        // (path, raw body, expected status)
        let cases: Vec<(&str, String, StatusCode)> = vec![
            (
                "/agent/v1/events",
                "{not json".to_string(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/agent/v1/events",
                json!({"detections": 5}).to_string(),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "/agent/v1/events",
                json!({"detections": [good.clone(), with("id", json!(""))]}).to_string(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/agent/v1/events",
                json!({"detections": [good.clone(), with("severity", json!("apocalyptic"))]})
                    .to_string(),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "/agent/v1/events",
                json!({"detections": [with("description", json!("x".repeat(9000)))]}).to_string(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/agent/v1/events",
                json!({"detections": [with("ts", json!(u64::MAX))]}).to_string(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/agent/v1/events",
                json!({"detections": [with("file", json!({"path": "/x", "sha256": "nothex"}))]})
                    .to_string(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/agent/v1/events",
                json!({"detections": many}).to_string(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/agent/v1/events",
                json!({"detections": [], "dropped": {"info": 0, "low": 1, "medium": 0,
                    "high": 0, "critical": 0, "from_ts": 9, "to_ts": 1}})
                .to_string(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/agent/v1/inventory",
                json!({"id": "i", "scanned_at": 1, "container": "", "packages": []}).to_string(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/agent/v1/inventory",
                json!({"id": "i", "scanned_at": 1, "container": "app",
                    "packages": [{"ecosystem": "PyPI", "name": "", "version": "1",
                        "location": "x", "purl": "p"}]})
                .to_string(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/agent/v1/podspec",
                json!({"id": "p", "observed_at": 1, "pod": {"kind": "Deployment",
                    "spec": {"containers": []}}})
                .to_string(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/agent/v1/podspec",
                json!({"id": "p", "observed_at": 1, "pod": [1, 2]}).to_string(),
                StatusCode::BAD_REQUEST,
            ),
            (
                "/agent/v1/commands",
                json!({"results": [{"command_id": 1, "ok": true, "message": "\u{0007}",
                    "finished_at": 1}]})
                .to_string(),
                StatusCode::BAD_REQUEST,
            ),
        ];
        for (path, body, expected) in cases {
            let (status, reply) = env
                .call_text(
                    Method::POST,
                    path,
                    Some(&a.credential),
                    Some(&body),
                    "application/json",
                )
                .await;
            assert_eq!(
                status,
                expected,
                "{path} {}: {reply}",
                &body[..body.len().min(200)]
            );
            assert!(reply["error"]["code"].is_string(), "{reply}");
        }
        // The good detection of the refused batches was not stored: it is new now.
        check_batch(&env, &a.credential, vec![good], (1, 0, 0, 0)).await;
        let detail = asset_detail(&env, &tenant.admin, a.asset).await;
        assert_eq!(detail["findings"]["inventories"], json!([]));
        assert_eq!(detail["findings"]["pod_spec"], Value::Null);
        env.finish().await;
    }
}

#[tokio::test]
async fn agent_uploads_have_their_own_body_limit() {
    for backend in backends() {
        let config = ConfigFile {
            api_body_limit_bytes: Some(2048),
            agent_body_limit_bytes: Some(64 * 1024),
            ..test_config()
        };
        let env = Env::with_config(&backend, config).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-web").await;
        // 20 detections: larger than the API limit, within the agent limit.
        let fits: Vec<Value> = (0..20)
            .map(|i| process_detection(&format!("f-{i}"), "/tmp/x", &["x"], "low"))
            .collect();
        check_batch(&env, &a.credential, fits, (20, 0, 0, 0)).await;
        let too_big: Vec<Value> = (0..200)
            .map(|i| process_detection(&format!("b-{i}"), "/tmp/x", &["x"], "low"))
            .collect();
        let (status, body) = post_events(&env, &a.credential, too_big).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        env.finish().await;
    }
}

#[tokio::test]
async fn agents_write_only_their_own_asset() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let acme = protected_tenant(&env, "acme").await;
        let other = protected_tenant(&env, "other").await;
        let a1 = agent(&env, &acme, "uid-a1").await;
        let a2 = agent(&env, &acme, "uid-a2").await;
        let b1 = agent(&env, &other, "uid-b1").await;
        check_batch(
            &env,
            &a1.credential,
            vec![process_detection("x-1", "/tmp/x", &["x"], "high")],
            (1, 0, 0, 0),
        )
        .await;
        // The same detection id from another agent is another detection.
        check_batch(
            &env,
            &b1.credential,
            vec![process_detection("x-1", "/tmp/x", &["x"], "high")],
            (1, 0, 0, 0),
        )
        .await;
        assert_eq!(alerts_of(&env, &acme.admin, a1.asset).await.len(), 1);
        assert!(alerts_of(&env, &acme.admin, a2.asset).await.is_empty());
        // Tenant isolation: acme's list holds only acme's alert; other's only its own.
        for (admin, asset) in [(&acme.admin, a1.asset), (&other.admin, b1.asset)] {
            let (_, list) = env
                .call(Method::GET, "/api/v1/alerts", Some(admin), None)
                .await;
            assert_eq!(list["total"], 1, "{list}");
            assert_eq!(list["items"][0]["asset"]["id"], asset);
        }
        // Pod specs and inventories go to the caller's asset only.
        let (status, _) = post_podspec(&env, &a2.credential, "p-1", T0, risky_pod("a2")).await;
        assert_eq!(status, StatusCode::OK);
        for (asset, has_spec) in [(a1.asset, false), (a2.asset, true)] {
            let detail = asset_detail(&env, &acme.admin, asset).await;
            assert_eq!(
                detail["findings"]["pod_spec"].is_object(),
                has_spec,
                "asset {asset}: {detail}"
            );
        }
        // Another tenant's admin cannot read the asset at all.
        let (status, _) = env
            .call(
                Method::GET,
                &format!("/api/v1/assets/{}", a1.asset),
                Some(&other.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // An API token is no agent credential, and the reverse.
        let (status, _) = post_events(&env, &acme.admin, Vec::new()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = env
            .call(Method::GET, "/api/v1/alerts", Some(&a1.credential), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        env.finish().await;
    }
}
