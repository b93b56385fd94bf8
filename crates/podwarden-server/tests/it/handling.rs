//! Handling alerts: the quarantine round trip (command delivered to the agent, result posted,
//! alert updated), redelivery and expiry, whitelist rules with both scopes suppressing later
//! detections, ignore and handled, the history and audit trail, and bad requests.

use crate::findings_support::{
    agent, alerts_of, asset_detail, check_batch, get_ok, process_detection, protected_tenant,
    webshell_detection,
};
use crate::support::{Env, MINUTE, backends, test_config};
use axum::http::{Method, StatusCode};
use podwarden_server::config::ConfigFile;
use serde_json::{Value, json};

async fn handle(env: &Env, token: &str, alert: i64, body: Value) -> (StatusCode, Value) {
    env.call(
        Method::POST,
        &format!("/api/v1/alerts/{alert}/handle"),
        Some(token),
        Some(body),
    )
    .await
}

async fn commands(env: &Env, credential: &str) -> Vec<Value> {
    let (status, body) = env
        .call(Method::GET, "/agent/v1/commands", Some(credential), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["commands"].as_array().cloned().unwrap_or_default()
}

async fn results(env: &Env, credential: &str, results: Value) -> Value {
    let (status, body) = env
        .call(
            Method::POST,
            "/agent/v1/commands",
            Some(credential),
            Some(json!({"results": results})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn quarantine_round_trip() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-web").await;
        let other = agent(&env, &tenant, "uid-other").await;
        check_batch(
            &env,
            &a.credential,
            vec![
                webshell_detection("w-1", "/var/www/x.php", 'a'),
                process_detection("p-1", "/tmp/miner", &["miner"], "critical"),
            ],
            (2, 0, 0, 0),
        )
        .await;
        let alerts = alerts_of(&env, &tenant.admin, a.asset).await;
        let id_of = |kind: &str| {
            alerts
                .iter()
                .find(|x| x["alert_type"] == kind)
                .and_then(|x| x["id"].as_i64())
                .unwrap_or_default()
        };
        let (webshell, miner) = (id_of("webshell"), id_of("process"));

        // (alert, request, expected commands, agent answers ok?, expected final status)
        let cases = [
            (
                webshell,
                json!({"method": "quarantine", "note": "real shell", "kill_process": true}),
                json!([
                    {"kind": "quarantine", "path": "/var/www/x.php"},
                    {"kind": "kill", "pid": 555, "start_ts": 42}
                ]),
                true,
                "quarantined",
            ),
            (
                miner,
                json!({"method": "quarantine"}),
                json!([{"kind": "kill", "pid": 4242, "start_ts": 987654321}]),
                false,
                "quarantine_failed",
            ),
        ];
        for (alert, request, expected, ok, final_status) in cases {
            let (status, reply) = handle(&env, &tenant.admin, alert, request.clone()).await;
            assert_eq!(status, StatusCode::OK, "{reply}");
            assert_eq!(reply["alert"]["status"], "quarantining");
            assert_eq!(reply["alert"]["open"], true);
            // A second quarantine while one is pending is refused.
            let (status, _) = handle(&env, &tenant.admin, alert, request.clone()).await;
            assert_eq!(status, StatusCode::CONFLICT);
            // Only this asset's agent gets the commands, once.
            assert!(commands(&env, &other.credential).await.is_empty());
            let delivered = commands(&env, &a.credential).await;
            let actions: Vec<Value> = delivered.iter().map(|c| c["action"].clone()).collect();
            assert_eq!(Value::Array(actions), expected);
            assert!(delivered.iter().all(|c| c["alert_id"] == alert));
            assert!(
                commands(&env, &a.credential).await.is_empty(),
                "delivered once"
            );
            // The other agent cannot answer for them.
            let ids: Vec<i64> = delivered.iter().filter_map(|c| c["id"].as_i64()).collect();
            let answers: Vec<Value> = ids
                .iter()
                .map(|id| {
                    json!({"command_id": id, "ok": ok, "message": format!("done {id}"),
                    "vault_id": "v-1", "sha256": "a".repeat(64), "finished_at": 1})
                })
                .collect();
            let stolen = results(&env, &other.credential, json!(answers)).await;
            assert_eq!(stolen["unknown"], ids.len());
            let detail = get_ok(&env, &tenant.admin, &format!("/api/v1/alerts/{alert}")).await;
            assert_eq!(detail["status"], "quarantining");
            // The right agent answers; a retried answer is a duplicate.
            let first = results(&env, &a.credential, json!(answers)).await;
            assert_eq!(first["recorded"], ids.len(), "{first}");
            let again = results(&env, &a.credential, json!(answers)).await;
            assert_eq!(again["duplicates"], ids.len(), "{again}");
            let detail = get_ok(&env, &tenant.admin, &format!("/api/v1/alerts/{alert}")).await;
            assert_eq!(detail["status"], final_status, "{detail}");
            let record = &detail["handling"][0];
            assert_eq!(record["method"], "quarantine");
            assert_eq!(record["outcome"], if ok { "succeeded" } else { "failed" });
            assert!(
                record["actor"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("token:")
            );
            assert!(
                record["result_message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(&format!("done {}", ids[0])),
                "{record}"
            );
            assert_eq!(record["commands"].as_array().map(Vec::len), Some(ids.len()));
            assert_eq!(record["commands"][0]["result"]["vault_id"], "v-1");
        }
        // The quarantined alert is closed, the failed one still open.
        assert_eq!(
            asset_detail(&env, &tenant.admin, a.asset).await["alert_count"],
            1
        );
        let audit = get_ok(&env, &tenant.admin, "/api/v1/audit").await;
        let handled = audit["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["action"] == "alert.handle")
            .count();
        assert_eq!(handled, 2, "{audit}");
        env.finish().await;
    }
}

#[tokio::test]
async fn unanswered_commands_are_delivered_again_then_expire() {
    for backend in backends() {
        let config = ConfigFile {
            command_lease_secs: Some(60),
            ..test_config()
        };
        let env = Env::with_config(&backend, config).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-web").await;
        check_batch(
            &env,
            &a.credential,
            vec![process_detection("p-1", "/tmp/miner", &["miner"], "high")],
            (1, 0, 0, 0),
        )
        .await;
        let alert = alerts_of(&env, &tenant.admin, a.asset).await[0]["id"]
            .as_i64()
            .unwrap_or_default();
        let (status, _) = handle(&env, &tenant.admin, alert, json!({"method": "quarantine"})).await;
        assert_eq!(status, StatusCode::OK);
        // (minutes to advance, commands delivered)
        for (advance, delivered) in [(0, 1), (0, 0), (2, 1), (2, 1), (2, 0)] {
            env.clock.advance(advance * MINUTE);
            assert_eq!(commands(&env, &a.credential).await.len(), delivered);
        }
        let expired = env
            .store
            .expire_commands(tenant.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(expired, 1);
        let detail = get_ok(&env, &tenant.admin, &format!("/api/v1/alerts/{alert}")).await;
        assert_eq!(detail["status"], "quarantine_failed");
        assert_eq!(detail["handling"][0]["outcome"], "failed");
        assert_eq!(detail["handling"][0]["commands"][0]["status"], "expired");
        assert_eq!(detail["handling"][0]["commands"][0]["attempts"], 3);
        // A late answer still counts.
        let id = detail["handling"][0]["commands"][0]["id"].clone();
        results(
            &env,
            &a.credential,
            json!([{"command_id": id, "ok": true, "message": "killed", "finished_at": 1}]),
        )
        .await;
        let detail = get_ok(&env, &tenant.admin, &format!("/api/v1/alerts/{alert}")).await;
        assert_eq!(detail["status"], "quarantined");
        env.finish().await;
    }
}

#[tokio::test]
async fn whitelists_suppress_identical_detections_in_their_scope() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-a").await;
        let b = agent(&env, &tenant, "uid-b").await;
        let tool = |id: &str| process_detection(id, "/usr/bin/nmap", &["nmap", "-sn"], "medium");
        let other = |id: &str| process_detection(id, "/usr/bin/nmap", &["nmap", "-sV"], "medium");
        for agent in [&a, &b] {
            check_batch(&env, &agent.credential, vec![tool("t-0")], (1, 0, 0, 0)).await;
        }
        let alert_a = alerts_of(&env, &tenant.admin, a.asset).await[0]["id"]
            .as_i64()
            .unwrap_or_default();
        let alert_b = alerts_of(&env, &tenant.admin, b.asset).await[0]["id"]
            .as_i64()
            .unwrap_or_default();

        // Scope asset: only asset a's identical detections are suppressed.
        let (status, reply) = handle(
            &env,
            &tenant.admin,
            alert_a,
            json!({"method": "whitelist", "scope": "asset", "note": "ops scans"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["alert"]["status"], "whitelisted");
        assert_eq!(reply["whitelist"]["scope"], "asset");
        assert_eq!(reply["whitelist"]["asset_id"], a.asset);
        assert_eq!(reply["also_closed"], json!([]));
        let asset_rule = reply["whitelist"]["id"].as_i64().unwrap_or_default();
        // (agent, detection, expected (accepted, duplicates, suppressed, dropped))
        let steps = [
            (&a, tool("t-1"), (0, 0, 1, 0)),
            (&a, other("o-1"), (1, 0, 0, 0)),
            (&b, tool("t-1"), (1, 0, 0, 0)),
        ];
        for (agent, detection, expected) in steps {
            check_batch(&env, &agent.credential, vec![detection], expected).await;
        }
        // Scope all, from b's alert: closes b's, suppresses on every asset.
        let (status, reply) = handle(
            &env,
            &tenant.admin,
            alert_b,
            json!({"method": "whitelist", "scope": "all"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["whitelist"]["scope"], "all");
        let all_rule = reply["whitelist"]["id"].as_i64().unwrap_or_default();
        for (agent, id) in [(&a, "t-2"), (&b, "t-2")] {
            check_batch(&env, &agent.credential, vec![tool(id)], (0, 0, 1, 0)).await;
        }
        let rules = get_ok(&env, &tenant.admin, "/api/v1/whitelist").await;
        assert_eq!(rules["total"], 2);
        let suppressed: Vec<(i64, i64)> = rules["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["id"].as_i64().unwrap_or_default(),
                    r["suppressed_count"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        // Asset a's second detection counts on the more specific rule.
        assert_eq!(suppressed, vec![(all_rule, 1), (asset_rule, 2)]);
        assert_eq!(rules["items"][0]["match"]["process_cmdline"], "nmap -sn");
        // Deleting both rules: identical detections raise alerts again.
        for rule in [asset_rule, all_rule] {
            let (status, reply) = env
                .call(
                    Method::DELETE,
                    &format!("/api/v1/whitelist/{rule}"),
                    Some(&tenant.admin),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{reply}");
        }
        let (status, _) = env
            .call(
                Method::DELETE,
                &format!("/api/v1/whitelist/{asset_rule}"),
                Some(&tenant.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        check_batch(&env, &a.credential, vec![tool("t-3")], (1, 0, 0, 0)).await;
        let audit = get_ok(&env, &tenant.admin, "/api/v1/audit").await;
        let deletes = audit["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["action"] == "whitelist.delete")
            .count();
        assert_eq!(deletes, 2);
        env.finish().await;
    }
}

#[tokio::test]
async fn a_tenant_wide_whitelist_closes_identical_open_alerts() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-a").await;
        let b = agent(&env, &tenant, "uid-b").await;
        for agent in [&a, &b] {
            check_batch(
                &env,
                &agent.credential,
                vec![process_detection("t", "/usr/bin/nmap", &["nmap"], "low")],
                (1, 0, 0, 0),
            )
            .await;
        }
        let alert_a = alerts_of(&env, &tenant.admin, a.asset).await[0]["id"]
            .as_i64()
            .unwrap_or_default();
        let alert_b = alerts_of(&env, &tenant.admin, b.asset).await[0]["id"]
            .as_i64()
            .unwrap_or_default();
        let (status, reply) = handle(
            &env,
            &tenant.admin,
            alert_a,
            json!({"method": "whitelist", "scope": "all", "note": "inventory job"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["also_closed"], json!([alert_b]));
        let detail = get_ok(&env, &tenant.admin, &format!("/api/v1/alerts/{alert_b}")).await;
        assert_eq!(detail["status"], "whitelisted");
        assert!(
            detail["handling"][0]["note"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("made from alert {alert_a}")),
            "{detail}"
        );
        for asset in [a.asset, b.asset] {
            assert_eq!(
                asset_detail(&env, &tenant.admin, asset).await["alert_count"],
                0
            );
        }
        env.finish().await;
    }
}

#[tokio::test]
async fn ignore_and_handled_close_the_alert_with_a_history() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-a").await;
        check_batch(
            &env,
            &a.credential,
            vec![
                process_detection("1", "/tmp/one", &["one"], "high"),
                process_detection("2", "/tmp/two", &["two"], "high"),
            ],
            (2, 0, 0, 0),
        )
        .await;
        let alerts = alerts_of(&env, &tenant.admin, a.asset).await;
        let ids: Vec<i64> = alerts.iter().filter_map(|x| x["id"].as_i64()).collect();
        for (alert, method, status) in [
            (ids[0], "ignore", "ignored"),
            (ids[1], "handled", "handled"),
        ] {
            let note = format!("{method} by test");
            let (code, reply) = handle(
                &env,
                &tenant.admin,
                alert,
                json!({"method": method, "note": note}),
            )
            .await;
            assert_eq!(code, StatusCode::OK, "{reply}");
            assert_eq!(reply["alert"]["status"], status);
            assert_eq!(reply["alert"]["open"], false);
            assert_eq!(reply["alert"]["closed_at"], crate::support::T0);
            let record = &reply["alert"]["handling"][0];
            assert_eq!(record["method"], method);
            assert_eq!(record["note"], note);
            assert_eq!(record["outcome"], "done");
            assert_eq!(record["at"], crate::support::T0);
            // Closed alerts cannot be handled again.
            let (code, _) = handle(&env, &tenant.admin, alert, json!({"method": "ignore"})).await;
            assert_eq!(code, StatusCode::CONFLICT);
        }
        // A new identical detection raises a new alert (ignore closed this alert only).
        check_batch(
            &env,
            &a.credential,
            vec![process_detection("3", "/tmp/one", &["one"], "high")],
            (1, 0, 0, 0),
        )
        .await;
        let open = get_ok(&env, &tenant.admin, "/api/v1/alerts?status=unhandled").await;
        assert_eq!(open["total"], 1);
        env.finish().await;
    }
}

#[tokio::test]
async fn bad_handling_requests_are_refused() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-a").await;
        check_batch(
            &env,
            &a.credential,
            vec![
                process_detection("p", "/tmp/one", &["one"], "high"),
                webshell_detection("w", "/var/www/w.php", 'e'),
            ],
            (2, 0, 0, 0),
        )
        .await;
        let alerts = alerts_of(&env, &tenant.admin, a.asset).await;
        let id_of = |kind: &str| {
            alerts
                .iter()
                .find(|x| x["alert_type"] == kind)
                .and_then(|x| x["id"].as_i64())
                .unwrap_or_default()
        };
        let (process, webshell) = (id_of("process"), id_of("webshell"));
        let cases: Vec<(i64, Value, StatusCode)> = vec![
            (
                process,
                json!({"method": "delete"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (process, json!({}), StatusCode::UNPROCESSABLE_ENTITY),
            (
                process,
                json!({"method": "ignore", "surprise": 1}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                process,
                json!({"method": "ignore", "scope": "all"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                process,
                json!({"method": "whitelist", "scope": "galaxy"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                process,
                json!({"method": "handled", "kill_process": true}),
                StatusCode::BAD_REQUEST,
            ),
            (
                process,
                json!({"method": "ignore", "note": "x".repeat(2001)}),
                StatusCode::BAD_REQUEST,
            ),
            (
                process,
                json!({"method": "quarantine", "quarantine_file": true}),
                StatusCode::CONFLICT,
            ),
            (
                process,
                json!({"method": "quarantine", "kill_process": false}),
                StatusCode::CONFLICT,
            ),
            (
                webshell,
                json!({"method": "quarantine", "quarantine_file": false, "kill_process": false}),
                StatusCode::CONFLICT,
            ),
            (999_999, json!({"method": "ignore"}), StatusCode::NOT_FOUND),
        ];
        for (alert, body, expected) in cases {
            let (status, reply) = handle(&env, &tenant.admin, alert, body.clone()).await;
            assert_eq!(status, expected, "{body}: {reply}");
        }
        // Nothing changed.
        for alert in [process, webshell] {
            let detail = get_ok(&env, &tenant.admin, &format!("/api/v1/alerts/{alert}")).await;
            assert_eq!(detail["status"], "unhandled");
            assert_eq!(detail["handling"], json!([]));
        }
        assert!(commands(&env, &a.credential).await.is_empty());
        env.finish().await;
    }
}
