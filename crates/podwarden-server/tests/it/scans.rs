//! Scans: settings (defaults, validation, per tenant), on-demand scans (rescan commands for
//! agents, baseline checks on the center from the stored pod spec, skipped assets with a
//! reason), and the schedule (only inside the night window, only when due).

use crate::findings_support::{
    agent, asset_detail, crate_package, get_ok, post_inventory, protected_tenant, risky_pod,
};
use crate::support::{Env, HOUR, T0, backends};
use axum::http::{Method, StatusCode};
use podwarden_server::findings::jobs::ScanSchedule;
use podwarden_server::jobs::run_once;
use serde_json::{Value, json};

#[tokio::test]
async fn scan_settings_are_per_tenant_and_validated() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let (_, acme) = env.new_tenant("acme").await;
        let (_, other) = env.new_tenant("other").await;
        let viewer = env.new_token(&acme, "viewer").await;
        let defaults = json!({"vulnerability_interval_hours": 24, "baseline_interval_hours": 48,
            "window_start": "01:00", "window_end": "05:00"});
        assert_eq!(get_ok(&env, &acme, "/api/v1/scan-settings").await, defaults);
        let wanted = json!({"vulnerability_interval_hours": 12, "baseline_interval_hours": 24,
            "window_start": "23:30", "window_end": "4:00"});
        let (status, saved) = env
            .call(
                Method::PUT,
                "/api/v1/scan-settings",
                Some(&acme),
                Some(wanted),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        assert_eq!(saved["window_end"], "04:00");
        assert_eq!(get_ok(&env, &acme, "/api/v1/scan-settings").await, saved);
        assert_eq!(
            get_ok(&env, &other, "/api/v1/scan-settings").await,
            defaults
        );
        let cases: Vec<(&str, Value, StatusCode)> = vec![
            (
                &acme,
                json!({"vulnerability_interval_hours": 0, "baseline_interval_hours": 1,
                "window_start": "01:00", "window_end": "02:00"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                &acme,
                json!({"vulnerability_interval_hours": 1, "baseline_interval_hours": 1,
                "window_start": "25:00", "window_end": "02:00"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                &acme,
                json!({"vulnerability_interval_hours": 1}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                &acme,
                json!({"vulnerability_interval_hours": -1, "baseline_interval_hours": 1,
                "window_start": "01:00", "window_end": "02:00"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (&viewer, saved.clone(), StatusCode::FORBIDDEN),
        ];
        for (token, body, expected) in cases {
            let (status, reply) = env
                .call(
                    Method::PUT,
                    "/api/v1/scan-settings",
                    Some(token),
                    Some(body.clone()),
                )
                .await;
            assert_eq!(status, expected, "{body}: {reply}");
        }
        assert_eq!(get_ok(&env, &acme, "/api/v1/scan-settings").await, saved);
        env.finish().await;
    }
}

async fn scan(env: &Env, token: &str, body: Value) -> (StatusCode, Value) {
    env.call(Method::POST, "/api/v1/scans", Some(token), Some(body))
        .await
}

async fn commands(env: &Env, credential: &str) -> Vec<Value> {
    let (status, body) = env
        .call(Method::GET, "/agent/v1/commands", Some(credential), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["commands"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["action"].clone())
        .collect()
}

#[tokio::test]
async fn on_demand_scans_queue_rescans_or_check_on_the_center() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let other = protected_tenant(&env, "other").await;
        let a = agent(&env, &tenant, "uid-a").await;
        let b = agent(&env, &tenant, "uid-b").await;
        let foreign = agent(&env, &other, "uid-f").await;
        env.store
            .set_pod_spec(tenant.id, b.asset, &risky_pod("b"), None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        let (status, outcome) = scan(
            &env,
            &tenant.admin,
            json!({"kind": "vulnerability", "asset_ids": [a.asset, b.asset, foreign.asset, 999_999]}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{outcome}");
        assert_eq!(outcome["queued"], json!([a.asset, b.asset]));
        let skipped: Vec<(i64, String)> = outcome["skipped"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["asset_id"].as_i64().unwrap_or_default(),
                    s["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let mut skipped_sorted = skipped.clone();
        skipped_sorted.sort();
        let mut want = vec![
            (foreign.asset, "no such asset".to_string()),
            (999_999, "no such asset".to_string()),
        ];
        want.sort();
        assert_eq!(skipped_sorted, want, "another tenant's asset is not found");
        // Asked again before the agent ran it: already queued, not twice.
        let (_, again) = scan(
            &env,
            &tenant.admin,
            json!({"kind": "vulnerability", "asset_ids": [a.asset]}),
        )
        .await;
        assert_eq!(again["already_queued"], json!([a.asset]));
        assert_eq!(
            commands(&env, &a.credential).await,
            vec![json!({"kind": "rescan", "scan": "vulnerability"})]
        );
        assert!(commands(&env, &foreign.credential).await.is_empty());

        // Baseline: b has a stored pod spec (checked now), a has none (asks the agent).
        let (_, outcome) = scan(
            &env,
            &tenant.admin,
            json!({"kind": "baseline", "all": true}),
        )
        .await;
        assert_eq!(outcome["checked"], json!([b.asset]), "{outcome}");
        assert_eq!(outcome["queued"], json!([a.asset]), "{outcome}");
        let detail = asset_detail(&env, &tenant.admin, b.asset).await;
        assert_eq!(detail["last_baseline_check_at"], T0);
        assert!(detail["baseline_risk_count"].as_i64().unwrap_or_default() > 0);
        assert_eq!(
            commands(&env, &a.credential).await,
            vec![json!({"kind": "rescan", "scan": "baseline"})]
        );

        // Unprotected assets are skipped with the reason.
        let (status, _) = env
            .call(
                Method::POST,
                "/api/v1/quota",
                Some(&tenant.admin),
                Some(json!({"action": "remove", "asset_ids": [a.asset]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        env.clock.advance(HOUR);
        let (_, outcome) = scan(
            &env,
            &tenant.admin,
            json!({"kind": "vulnerability", "asset_ids": [a.asset, b.asset]}),
        )
        .await;
        let reasons: Vec<String> = outcome["skipped"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["reason"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            reasons,
            vec![
                "the asset is not bound to the protection quota".to_string(),
                "the asset's agent is offline".to_string(),
            ],
            "{outcome}"
        );
        // Bad requests and roles.
        let viewer = env.new_token(&tenant.admin, "viewer").await;
        let cases: Vec<(&str, Value, StatusCode)> = vec![
            (
                &tenant.admin,
                json!({"kind": "vulnerability"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                &tenant.admin,
                json!({"kind": "vulnerability", "all": true, "asset_ids": [1]}),
                StatusCode::BAD_REQUEST,
            ),
            (
                &tenant.admin,
                json!({"kind": "malware", "all": true}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                &tenant.admin,
                json!({"kind": "baseline", "asset_ids": ["x"]}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                &viewer,
                json!({"kind": "baseline", "all": true}),
                StatusCode::FORBIDDEN,
            ),
        ];
        for (token, body, expected) in cases {
            let (status, reply) = scan(&env, token, body.clone()).await;
            assert_eq!(status, expected, "{body}: {reply}");
        }
        env.finish().await;
    }
}

/// Fetches the agent's commands, answers each as done, and returns their actions.
async fn run_commands(env: &Env, credential: &str) -> Vec<Value> {
    let (status, body) = env
        .call(Method::GET, "/agent/v1/commands", Some(credential), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let commands = body["commands"].as_array().cloned().unwrap_or_default();
    let results: Vec<Value> = commands
        .iter()
        .map(|c| json!({"command_id": c["id"], "ok": true, "message": "scanned", "finished_at": 1}))
        .collect();
    let (status, reply) = env
        .call(
            Method::POST,
            "/agent/v1/commands",
            Some(credential),
            Some(json!({"results": results})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let mut actions: Vec<Value> = commands.iter().map(|c| c["action"].clone()).collect();
    actions.sort_by_key(|c| c["scan"].as_str().unwrap_or_default().to_string());
    actions
}

#[tokio::test]
async fn scheduled_scans_run_inside_the_window_when_due() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-a").await;
        let run = || async {
            run_once(&env.store, &ScanSchedule)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        };
        let vulnerability = json!({"kind": "rescan", "scan": "vulnerability"});
        let baseline = json!({"kind": "rescan", "scan": "baseline"});
        // (hours to advance, expected rescans). T0 is midnight in the tenant's zone
        // (+08:00); the window is 01:00-05:00; vulnerability scans are daily, baseline
        // checks every two days.
        let steps: Vec<(i64, Vec<Value>)> = vec![
            // 00:00: outside the window.
            (0, vec![]),
            // 02:00: both never ran; no pod spec is stored, so the agent is asked for both.
            (2, vec![baseline.clone(), vulnerability.clone()]),
        ];
        for (hours, expected) in steps {
            env.clock.advance(hours * HOUR);
            env.heartbeat(&a.credential).await;
            run().await;
            assert_eq!(
                run_commands(&env, &a.credential).await,
                expected,
                "+{hours} h"
            );
        }
        // The agent answers with an inventory and its pod spec.
        let (status, _) = post_inventory(
            &env,
            &a.credential,
            "inv",
            T0 + 2 * HOUR,
            vec![crate_package("regex", "1.5.5")],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) =
            crate::findings_support::post_podspec(&env, &a.credential, "pod", T0, risky_pod("a"))
                .await;
        assert_eq!(status, StatusCode::OK);
        let detail = asset_detail(&env, &tenant.admin, a.asset).await;
        assert_eq!(detail["last_vulnerability_scan_at"], T0 + 2 * HOUR);
        assert_eq!(detail["last_baseline_check_at"], T0 + 2 * HOUR);
        let steps: Vec<(i64, Vec<Value>)> = vec![
            // 03:00: nothing due.
            (1, vec![]),
            // 01:00 next day: the vulnerability scan is due, the baseline check is not.
            (22, vec![vulnerability.clone()]),
            // 12:00: outside the window.
            (11, vec![]),
        ];
        for (hours, expected) in steps {
            env.clock.advance(hours * HOUR);
            env.heartbeat(&a.credential).await;
            run().await;
            assert_eq!(
                run_commands(&env, &a.credential).await,
                expected,
                "+{hours} h"
            );
        }
        // 02:00 of day three: paused protection schedules nothing.
        let (status, _) = env
            .call(
                Method::PUT,
                "/api/v1/protection",
                Some(&tenant.admin),
                Some(json!({"paused": true})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        env.clock.advance(14 * HOUR);
        env.heartbeat(&a.credential).await;
        run().await;
        assert_eq!(run_commands(&env, &a.credential).await, Vec::<Value>::new());
        env.finish().await;
    }
}
