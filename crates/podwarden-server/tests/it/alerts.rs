//! Alerts: identical detections aggregate (per asset, rule and evidence key) with counts and
//! first/last seen; the list filters (asset, status tabs, severity, type, q), sorts by last
//! seen and pages; the detail shows process tree, file and connection; risk filters of the
//! asset list follow the open alerts; tenants and viewers see and change what they may.

use crate::console_support::Session;
use crate::findings_support::{
    Tenant, agent, alerts_of, asset_detail, check_batch, get_ok, network_detection,
    process_detection, protected_tenant, webshell_detection,
};
use crate::support::{Env, MINUTE, T0, backends};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn at(mut detection: Value, ts: i64) -> Value {
    detection["ts"] = json!(ts);
    detection
}

#[tokio::test]
async fn identical_detections_aggregate_into_one_alert() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-web").await;
        let b = agent(&env, &tenant, "uid-api").await;
        let miner = |id: &str, ts: i64| {
            at(
                process_detection(id, "/tmp/xmrig", &["xmrig", "-o", "pool:3333"], "high"),
                ts,
            )
        };
        let mut later = miner("p-3", T0 + 5 * MINUTE);
        later["description"] = json!("the latest description");
        later["severity"] = json!("critical");
        check_batch(
            &env,
            &a.credential,
            vec![miner("p-1", T0 + MINUTE), miner("p-2", T0)],
            (2, 0, 0, 0),
        )
        .await;
        check_batch(&env, &a.credential, vec![later], (1, 0, 0, 0)).await;
        // An earlier occurrence arriving late widens first_seen but keeps the latest evidence.
        check_batch(
            &env,
            &a.credential,
            vec![miner("p-0", T0 - MINUTE)],
            (1, 0, 0, 0),
        )
        .await;
        // Not identical: other arguments, other remote, other file, other asset.
        check_batch(
            &env,
            &a.credential,
            vec![
                process_detection("q-1", "/tmp/xmrig", &["xmrig", "-o", "other:3333"], "high"),
                network_detection("n-1", "203.0.113.7:4444"),
                network_detection("n-2", "203.0.113.7:4444"),
                network_detection("n-3", "198.51.100.9:4444"),
                webshell_detection("w-1", "/var/www/a.php", 'a'),
                webshell_detection("w-2", "/var/www/a.php", 'a'),
                webshell_detection("w-3", "/var/www/a.php", 'b'),
            ],
            (7, 0, 0, 0),
        )
        .await;
        check_batch(&env, &b.credential, vec![miner("p-1", T0)], (1, 0, 0, 0)).await;

        let alerts = alerts_of(&env, &tenant.admin, a.asset).await;
        let mut summary: Vec<(String, i64)> = alerts
            .iter()
            .map(|x| {
                let what = x["process_cmdline"]
                    .as_str()
                    .filter(|_| x["alert_type"] == "process")
                    .or(x["remote"].as_str())
                    .or(x["file_sha256"].as_str().map(|s| &s[..1]))
                    .unwrap_or_default()
                    .to_string();
                (what, x["occurrences"].as_i64().unwrap_or_default())
            })
            .collect();
        summary.sort();
        assert_eq!(
            summary,
            vec![
                ("a".to_string(), 2),
                ("b".to_string(), 1),
                ("tcp 198.51.100.9:4444".to_string(), 1),
                ("tcp 203.0.113.7:4444".to_string(), 2),
                ("xmrig -o other:3333".to_string(), 1),
                ("xmrig -o pool:3333".to_string(), 4),
            ]
        );
        let miner_alert = alerts
            .iter()
            .find(|x| x["process_cmdline"] == "xmrig -o pool:3333")
            .cloned()
            .unwrap_or_default();
        assert_eq!(miner_alert["first_seen"], T0 - MINUTE);
        assert_eq!(miner_alert["last_seen"], T0 + 5 * MINUTE);
        assert_eq!(miner_alert["description"], "the latest description");
        assert_eq!(miner_alert["severity"], "critical");
        assert_eq!(miner_alert["status"], "unhandled");
        assert_eq!(miner_alert["container"], "app");
        assert_eq!(alerts_of(&env, &tenant.admin, b.asset).await.len(), 1);
        assert_eq!(
            asset_detail(&env, &tenant.admin, a.asset).await["alert_count"],
            6
        );
        env.finish().await;
    }
}

/// Seeds alerts of every type on two assets; returns (tenant, asset a, asset b).
async fn seeded(env: &Env) -> (Tenant, i64, i64) {
    let tenant = protected_tenant(env, "acme").await;
    let a = agent(env, &tenant, "uid-web").await;
    let b = agent(env, &tenant, "uid-api").await;
    check_batch(
        env,
        &a.credential,
        vec![
            at(
                process_detection("1", "/tmp/miner", &["miner"], "high"),
                T0 + MINUTE,
            ),
            at(network_detection("2", "203.0.113.7:4444"), T0 + 2 * MINUTE),
            at(
                webshell_detection("3", "/var/www/shell.php", 'c'),
                T0 + 3 * MINUTE,
            ),
        ],
        (3, 0, 0, 0),
    )
    .await;
    check_batch(
        env,
        &b.credential,
        vec![at(
            process_detection("4", "/usr/bin/nmap", &["nmap", "10.0.0.0/8"], "medium"),
            T0,
        )],
        (1, 0, 0, 0),
    )
    .await;
    (tenant, a.asset, b.asset)
}

#[tokio::test]
async fn the_alert_list_filters_sorts_and_pages() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let (tenant, a, b) = seeded(&env).await;
        // Ignore the network alert so that the tabs differ.
        let list = get_ok(&env, &tenant.admin, "/api/v1/alerts?type=network").await;
        let network = list["items"][0]["id"].as_i64().unwrap_or_default();
        let (status, reply) = env
            .call(
                Method::POST,
                &format!("/api/v1/alerts/{network}/handle"),
                Some(&tenant.admin),
                Some(json!({"method": "ignore", "note": "test traffic"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        let check = |query: &'static str, expected: Vec<&'static str>| {
            let env = &env;
            let admin = tenant.admin.clone();
            async move {
                let body = get_ok(env, &admin, &format!("/api/v1/alerts{query}")).await;
                let got: Vec<String> = body["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| x["rule_id"].as_str().unwrap_or_default().to_string())
                    .collect();
                assert_eq!(got, expected, "{query}: {body}");
                body
            }
        };
        // Most recently seen first.
        let all = check(
            "",
            vec![
                "PW-WEBSHELL-PHP",
                "PW-NET-001",
                "PW-PROC-001",
                "PW-PROC-001",
            ],
        )
        .await;
        assert_eq!(all["total"], 4);
        check(
            "?status=unhandled",
            vec!["PW-WEBSHELL-PHP", "PW-PROC-001", "PW-PROC-001"],
        )
        .await;
        check("?status=handled", vec!["PW-NET-001"]).await;
        check("?status=ignored", vec!["PW-NET-001"]).await;
        check("?status=quarantined", vec![]).await;
        check("?severity=medium", vec!["PW-PROC-001"]).await;
        check(
            "?severity=high,critical",
            vec!["PW-WEBSHELL-PHP", "PW-NET-001", "PW-PROC-001"],
        )
        .await;
        check("?type=webshell", vec!["PW-WEBSHELL-PHP"]).await;
        check("?q=NMAP", vec!["PW-PROC-001"]).await;
        check("?q=shell.php", vec!["PW-WEBSHELL-PHP"]).await;
        check("?q=203.0.113", vec!["PW-NET-001"]).await;
        check("?q=%25", vec![]).await;
        let only_b = get_ok(&env, &tenant.admin, &format!("/api/v1/alerts?asset={b}")).await;
        assert_eq!(only_b["total"], 1);
        let only_a = get_ok(
            &env,
            &tenant.admin,
            &format!("/api/v1/alerts?asset={a}&type=process"),
        )
        .await;
        assert_eq!(only_a["items"][0]["process_exe"], "/tmp/miner");
        let page2 = get_ok(&env, &tenant.admin, "/api/v1/alerts?per_page=3&page=2").await;
        assert_eq!(page2["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(page2["total"], 4);
        for bad in [
            "?status=open-ish",
            "?severity=urgent",
            "?type=virus",
            "?page=0",
            "?per_page=501",
            "?asset=abc",
            "?surprise=1",
        ] {
            let (status, body) = env
                .call(
                    Method::GET,
                    &format!("/api/v1/alerts{bad}"),
                    Some(&tenant.admin),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        }
        env.finish().await;
    }
}

/// `text` with every byte but ASCII letters and digits percent-encoded, for a query string.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Rule ids (newest first) and the count reply of one search.
async fn search(env: &Env, token: &str, q: &str) -> (Vec<String>, Value, Value) {
    let body = get_ok(
        env,
        token,
        &format!("/api/v1/alerts?q={}", percent_encoded(q)),
    )
    .await;
    let ids = body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| x["rule_id"].as_str().unwrap_or_default().to_string())
        .collect();
    (
        ids,
        body["total"].clone(),
        body["total_is_lower_bound"].clone(),
    )
}

#[tokio::test]
async fn free_text_search_follows_changes_and_stops_counting_at_the_cap() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let (tenant, a, _) = seeded(&env).await;
        let admin = tenant.admin.as_str();
        // Any one column, as a case-insensitive substring; never across two columns (the
        // rule id "PW-PROC-001" is followed by the rule name "Suspicious process").
        for (q, expected) in [
            ("usr/bin/NM", vec!["PW-PROC-001"]),
            ("suspicious PROC", vec!["PW-PROC-001", "PW-PROC-001"]),
            ("10.0.0.0/8", vec!["PW-PROC-001"]),
            ("ebshell-ph", vec!["PW-WEBSHELL-PHP"]),
            ("7:4444", vec!["PW-NET-001"]),
            ("001Suspicious", vec![]),
            ("001 Suspicious", vec![]),
            // Query syntax of the index is only text here.
            ("\"nmap", vec![]),
            ("nmap OR miner", vec![]),
            ("p*", vec![]),
            // Too short for trigrams: still a substring search.
            ("nm", vec!["PW-PROC-001"]),
            ("NM", vec!["PW-PROC-001"]),
            ("4", vec!["PW-NET-001"]),
        ] {
            let (got, total, bound) = search(&env, admin, q).await;
            assert_eq!(got, expected, "q={q}");
            assert_eq!(total, expected.len(), "q={q}");
            assert_eq!(bound, false, "q={q}");
        }
        // A new occurrence with another description replaces the searchable text.
        let agent_a = agent(&env, &tenant, "uid-web").await;
        let mut again = at(
            process_detection("1b", "/tmp/miner", &["miner"], "high"),
            T0 + 2 * MINUTE,
        );
        again["description"] = json!("miner relaunched by cron");
        check_batch(&env, &agent_a.credential, vec![again], (1, 0, 0, 0)).await;
        assert_eq!(
            search(&env, admin, "relaunched").await.0,
            vec!["PW-PROC-001"]
        );
        assert_eq!(
            search(&env, admin, "/tmp/miner started").await.0,
            Vec::<String>::new()
        );
        // Another tenant's alerts are neither listed nor counted.
        let other = protected_tenant(&env, "globex").await;
        let other_agent = agent(&env, &other, "uid-other").await;
        check_batch(
            &env,
            &other_agent.credential,
            vec![process_detection("x", "/usr/bin/nmap", &["nmap"], "low")],
            (1, 0, 0, 0),
        )
        .await;
        let (got, total, _) = search(&env, admin, "nmap").await;
        assert_eq!((got.len(), total), (1, json!(1)));
        // Past the cap the count stops and says so; pages still come newest first and the
        // search stays exact on them.
        let source = get_ok(
            &env,
            admin,
            &format!("/api/v1/alerts?asset={a}&type=network"),
        )
        .await;
        let source = source["items"][0]["id"].as_i64().unwrap_or_default();
        clone_alert(&env, source, 10_050).await;
        let (got, total, bound) = search(&env, admin, "203.0.113").await;
        assert_eq!((got.len(), total, bound), (50, json!(10_000), json!(true)));
        let deep = get_ok(
            &env,
            admin,
            "/api/v1/alerts?q=203.0.113&page=202&per_page=50",
        )
        .await;
        assert_eq!(deep["items"].as_array().map(Vec::len), Some(1), "{deep}");
        let (got, total, bound) = search(&env, admin, "nmap").await;
        assert_eq!((got.len(), total, bound), (1, json!(1), json!(false)));
        // The console's pager says so too, and keeps "next" while pages are full.
        let console = Session::with_token(&env, admin).await;
        let first = console.get(&env, "/alerts?q=203.0.113").await;
        assert_eq!(first.status, StatusCode::OK);
        assert!(
            first.body.contains("1–50 of more than 10,000"),
            "{}",
            first.body
        );
        assert!(first.body.contains("rel=\"next\""));
        let last = console.get(&env, "/alerts?q=203.0.113&page=202").await;
        assert!(
            last.body.contains("10,051–10,051 of more than 10,000"),
            "{}",
            last.body
        );
        assert!(!last.body.contains("rel=\"next\""));
        let exact = console.get(&env, "/alerts?q=nmap").await;
        assert!(exact.body.contains("1–1 of 1<"), "{}", exact.body);
        env.finish().await;
    }
}

/// Inserts `copies` alerts like `source`, each seen a second earlier than the last; the
/// search index follows through its triggers (SQLite) or generated column (PostgreSQL).
async fn clone_alert(env: &Env, source: i64, copies: i64) {
    let columns = "tenant_id, asset_id, alert_type, severity, severity_rank, rule_id, \
        rule_name, description, advice, container, process_exe, process_cmdline, remote, \
        file_path, file_sha256, evidence, status, is_open, occurrences, first_seen, \
        created_at, updated_at, closed_at";
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO alerts ({columns}, dedup_key, last_seen) \
         SELECT {columns}, dedup_key || '-' || CAST(n.i AS TEXT), last_seen - n.i * 1000 \
         FROM alerts CROSS JOIN n WHERE id = $2"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(copies)
        .bind(source)
        .execute(env.store.db().writer())
        .await
        .unwrap_or_else(|e| panic!("clone alerts: {e}"));
}

#[tokio::test]
async fn the_alert_detail_shows_the_evidence() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let (tenant, a, _) = seeded(&env).await;
        let id_of = |body: &Value| body["items"][0]["id"].as_i64().unwrap_or_default();
        let process = id_of(
            &get_ok(
                &env,
                &tenant.admin,
                &format!("/api/v1/alerts?asset={a}&type=process"),
            )
            .await,
        );
        let detail = get_ok(&env, &tenant.admin, &format!("/api/v1/alerts/{process}")).await;
        let tree: Vec<(i64, String)> = detail["process_tree"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                (
                    n["pid"].as_i64().unwrap_or_default(),
                    n["exe"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert_eq!(
            tree,
            vec![
                (4242, "/tmp/miner".to_string()),
                (100, "/bin/sh".to_string()),
                (1, "/usr/sbin/nginx".to_string())
            ]
        );
        assert_eq!(detail["process_tree"][0]["user"], "www-data");
        assert_eq!(detail["advice"], "kill it and find how it came");
        assert_eq!(detail["handling"], json!([]));
        assert_eq!(detail["evidence"]["id"], "1");

        let network = id_of(&get_ok(&env, &tenant.admin, "/api/v1/alerts?type=network").await);
        let detail = get_ok(&env, &tenant.admin, &format!("/api/v1/alerts/{network}")).await;
        assert_eq!(
            detail["connection"],
            json!({"protocol": "tcp", "local": "10.0.0.5:40000", "remote": "203.0.113.7:4444",
                "direction": "outbound", "state": "established"})
        );

        let webshell = id_of(&get_ok(&env, &tenant.admin, "/api/v1/alerts?type=webshell").await);
        let detail = get_ok(&env, &tenant.admin, &format!("/api/v1/alerts/{webshell}")).await;
        assert_eq!(detail["file"]["path"], "/var/www/shell.php");
        assert_eq!(detail["file"]["matches"][0]["rule"], "php_eval_post");
        assert_eq!(detail["file_sha256"], "c".repeat(64));

        for (path, expected) in [
            ("/api/v1/alerts/999999".to_string(), StatusCode::NOT_FOUND),
            ("/api/v1/alerts/abc".to_string(), StatusCode::BAD_REQUEST),
        ] {
            let (status, _) = env
                .call(Method::GET, &path, Some(&tenant.admin), None)
                .await;
            assert_eq!(status, expected, "{path}");
        }
        env.finish().await;
    }
}

#[tokio::test]
async fn the_risk_filter_follows_open_alerts() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-web").await;
        let b = agent(&env, &tenant, "uid-api").await;
        let ids = |body: &Value| -> Vec<i64> {
            body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x["id"].as_i64())
                .collect()
        };
        let at_risk = get_ok(&env, &tenant.admin, "/api/v1/assets?risk=at_risk").await;
        assert_eq!(ids(&at_risk), Vec::<i64>::new());
        check_batch(
            &env,
            &a.credential,
            vec![process_detection("1", "/tmp/x", &["x"], "high")],
            (1, 0, 0, 0),
        )
        .await;
        let at_risk = get_ok(&env, &tenant.admin, "/api/v1/assets?risk=at_risk").await;
        assert_eq!(ids(&at_risk), vec![a.asset]);
        let safe = get_ok(&env, &tenant.admin, "/api/v1/assets?risk=safe").await;
        assert_eq!(ids(&safe), vec![b.asset]);
        let alert = alerts_of(&env, &tenant.admin, a.asset).await[0]["id"]
            .as_i64()
            .unwrap_or_default();
        let (status, _) = env
            .call(
                Method::POST,
                &format!("/api/v1/alerts/{alert}/handle"),
                Some(&tenant.admin),
                Some(json!({"method": "handled"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let at_risk = get_ok(&env, &tenant.admin, "/api/v1/assets?risk=at_risk").await;
        assert_eq!(ids(&at_risk), Vec::<i64>::new());
        assert_eq!(
            asset_detail(&env, &tenant.admin, a.asset).await["alert_count"],
            0
        );
        env.finish().await;
    }
}

#[tokio::test]
async fn other_tenants_and_viewers_cannot_touch_alerts() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let (tenant, a, _) = seeded(&env).await;
        let (_, intruder) = env.new_tenant("intruder").await;
        let viewer = env.new_token(&tenant.admin, "viewer").await;
        let alert = alerts_of(&env, &tenant.admin, a).await[0]["id"]
            .as_i64()
            .unwrap_or_default();
        let list = get_ok(&env, &intruder, "/api/v1/alerts").await;
        assert_eq!(list["total"], 0);
        let list = get_ok(&env, &intruder, &format!("/api/v1/alerts?asset={a}")).await;
        assert_eq!(list["total"], 0);
        let handle = json!({"method": "ignore"});
        // (token, method, path, body, expected)
        let cases: Vec<(&str, Method, String, Option<Value>, StatusCode)> = vec![
            (
                &intruder,
                Method::GET,
                format!("/api/v1/alerts/{alert}"),
                None,
                StatusCode::NOT_FOUND,
            ),
            (
                &intruder,
                Method::POST,
                format!("/api/v1/alerts/{alert}/handle"),
                Some(handle.clone()),
                StatusCode::NOT_FOUND,
            ),
            (
                &viewer,
                Method::POST,
                format!("/api/v1/alerts/{alert}/handle"),
                Some(handle.clone()),
                StatusCode::FORBIDDEN,
            ),
            (
                &viewer,
                Method::GET,
                format!("/api/v1/alerts/{alert}"),
                None,
                StatusCode::OK,
            ),
            (
                &viewer,
                Method::GET,
                "/api/v1/whitelist".to_string(),
                None,
                StatusCode::OK,
            ),
        ];
        for (token, method, path, body, expected) in cases {
            let (status, reply) = env.call(method.clone(), &path, Some(token), body).await;
            assert_eq!(status, expected, "{method} {path}: {reply}");
        }
        let detail = get_ok(&env, &tenant.admin, &format!("/api/v1/alerts/{alert}")).await;
        assert_eq!(detail["status"], "unhandled", "nobody else changed it");
        assert_eq!(detail["handling"], json!([]));
        env.finish().await;
    }
}

#[tokio::test]
async fn the_findings_routes_are_in_the_openapi_document() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let (_, admin) = env.new_tenant("acme").await;
    let doc = get_ok(&env, &admin, "/openapi.json").await;
    // (path, methods)
    let routes: [(&str, &[&str]); 17] = [
        ("/agent/v1/events", &["post"]),
        ("/agent/v1/inventory", &["post"]),
        ("/agent/v1/podspec", &["post"]),
        ("/agent/v1/commands", &["get", "post"]),
        ("/api/v1/alerts", &["get"]),
        ("/api/v1/alerts/{id}", &["get"]),
        ("/api/v1/alerts/{id}/handle", &["post"]),
        ("/api/v1/whitelist", &["get"]),
        ("/api/v1/whitelist/{id}", &["delete"]),
        ("/api/v1/vulnerabilities", &["get"]),
        ("/api/v1/vulnerabilities/supported", &["get"]),
        ("/api/v1/vulnerabilities/whitelist", &["get", "post"]),
        ("/api/v1/vulnerabilities/whitelist/{id}", &["delete"]),
        ("/api/v1/baseline-risks", &["get"]),
        ("/api/v1/baseline-risks/{id}/fix", &["post"]),
        ("/api/v1/baseline-risks/{id}/whitelist", &["post"]),
        ("/api/v1/scans", &["post"]),
    ];
    for (path, methods) in routes {
        for method in methods {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is not documented"
            );
        }
    }
    for path in [
        "/api/v1/baseline-risks/whitelist",
        "/api/v1/baseline-risks/whitelist/{id}",
        "/api/v1/scan-settings",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    env.finish().await;
}
