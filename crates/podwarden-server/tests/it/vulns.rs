//! Vulnerability findings: inventories matched against real OSV records (the compat slice
//! imported into a temporary database), re-scans replacing findings, idempotent and stale
//! uploads, the grouped views and filters, the supported-advisories listing, the whitelist,
//! re-matching stored inventories when a database appears, and tenant isolation.

use crate::findings_support::{
    Tenant, agent, asset_detail, crate_package, get_ok, post_inventory, protected_tenant,
    write_osv_index,
};
use crate::support::{Env, HOUR, T0, backends, test_config};
use axum::http::{Method, StatusCode};
use podwarden_server::config::ConfigFile;
use podwarden_server::findings::jobs::VulnDbRefresh;
use podwarden_server::jobs::run_once;
use serde_json::{Value, json};

/// An environment whose server matches against the OSV slice.
async fn env_with_db(backend: &crate::support::Backend) -> (Env, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write_osv_index(dir.path());
    let config = ConfigFile {
        vuln_db: Some(dir.path().display().to_string()),
        ..test_config()
    };
    (Env::with_config(backend, config).await, dir)
}

/// (package, version, advisory id) of each finding, sorted.
fn findings(body: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["package"].as_str().unwrap_or_default().to_string(),
                f["version"].as_str().unwrap_or_default().to_string(),
                f["advisory_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn triple(p: &str, v: &str, a: &str) -> (String, String, String) {
    (p.to_string(), v.to_string(), a.to_string())
}

async fn inventory_ok(
    env: &Env,
    credential: &str,
    id: &str,
    at: i64,
    packages: Vec<Value>,
) -> Value {
    let (status, body) = post_inventory(env, credential, id, at, packages).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn inventories_are_matched_and_rescans_replace_findings() {
    for backend in backends() {
        let (env, _db) = env_with_db(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-web").await;
        let vulnerable = vec![
            crate_package("regex", "1.5.4"),
            crate_package("smallvec", "1.6.0"),
            crate_package("serde", "1.0.200"),
            json!({"ecosystem": "Hex", "name": "plug", "version": "1.0.0", "location": "mix.lock",
                "purl": "pkg:hex/plug@1.0.0"}),
        ];
        let reply = inventory_ok(&env, &a.credential, "inv-1", T0, vulnerable.clone()).await;
        assert_eq!(reply["stored"], true, "{reply}");
        assert_eq!(reply["findings"], 2, "{reply}");
        let list = get_ok(&env, &tenant.admin, "/api/v1/vulnerabilities").await;
        assert_eq!(
            findings(&list),
            vec![
                triple("regex", "1.5.4", "RUSTSEC-2022-0013"),
                triple("smallvec", "1.6.0", "RUSTSEC-2021-0003"),
            ]
        );
        let regex = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["package"] == "regex")
            .cloned()
            .unwrap_or_default();
        assert_eq!(regex["fixed_version"], "1.5.5");
        assert_eq!(regex["remediation"], "upgrade regex to >= 1.5.5");
        assert!(
            regex["aliases"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a == "CVE-2022-24713"),
            "{regex}"
        );
        assert_eq!(regex["container"], "app");
        assert_eq!(regex["first_seen"], T0);
        let detail = asset_detail(&env, &tenant.admin, a.asset).await;
        assert_eq!(detail["vulnerability_count"], 2);
        assert_eq!(detail["last_vulnerability_scan_at"], T0);
        assert_eq!(detail["findings"]["vulnerability_db_loaded"], true);
        let inventory = &detail["findings"]["inventories"][0];
        assert_eq!(inventory["package_count"], 4);
        assert_eq!(inventory["unmatched_count"], 1, "Hex is not matched");
        assert_eq!(inventory["os"]["id"], "debian");
        let at_risk = get_ok(&env, &tenant.admin, "/api/v1/assets?risk=at_risk").await;
        assert_eq!(at_risk["total"], 1);

        // The retried upload changes nothing; an older one is not stored.
        let reply = inventory_ok(&env, &a.credential, "inv-1", T0, Vec::new()).await;
        assert_eq!(reply["duplicate"], true);
        let reply = inventory_ok(&env, &a.credential, "inv-0", T0 - HOUR, Vec::new()).await;
        assert_eq!(reply["stored"], false);
        assert_eq!(
            findings(&get_ok(&env, &tenant.admin, "/api/v1/vulnerabilities").await).len(),
            2
        );

        // Upgrading regex resolves its finding; smallvec's keeps its first-seen time.
        env.clock.advance(HOUR);
        let upgraded = vec![
            crate_package("regex", "1.5.5"),
            crate_package("smallvec", "1.6.0"),
        ];
        let reply = inventory_ok(&env, &a.credential, "inv-2", T0 + HOUR, upgraded).await;
        assert_eq!(reply["findings"], 1);
        let list = get_ok(&env, &tenant.admin, "/api/v1/vulnerabilities").await;
        assert_eq!(
            findings(&list),
            vec![triple("smallvec", "1.6.0", "RUSTSEC-2021-0003")]
        );
        assert_eq!(list["items"][0]["first_seen"], T0);
        assert_eq!(list["items"][0]["last_seen"], T0 + HOUR);
        // Everything fixed: the asset is safe again.
        let reply = inventory_ok(&env, &a.credential, "inv-3", T0 + 2 * HOUR, Vec::new()).await;
        assert_eq!(reply["findings"], 0);
        let detail = asset_detail(&env, &tenant.admin, a.asset).await;
        assert_eq!(detail["vulnerability_count"], 0);
        assert_eq!(detail["risk"], "safe");
        env.finish().await;
    }
}

/// A tenant with two agents and vulnerable inventories; returns (tenant, asset a, asset b).
async fn seeded(env: &Env) -> (Tenant, i64, i64) {
    let tenant = protected_tenant(env, "acme").await;
    let a = agent(env, &tenant, "uid-a").await;
    let b = agent(env, &tenant, "uid-b").await;
    inventory_ok(
        env,
        &a.credential,
        "a-1",
        T0,
        vec![
            crate_package("regex", "1.5.4"),
            crate_package("tar", "0.4.44"),
        ],
    )
    .await;
    inventory_ok(
        env,
        &b.credential,
        "b-1",
        T0,
        vec![crate_package("regex", "1.5.4")],
    )
    .await;
    (tenant, a.asset, b.asset)
}

#[tokio::test]
async fn findings_group_and_filter() {
    for backend in backends() {
        let (env, _db) = env_with_db(&backend).await;
        let (tenant, a, b) = seeded(&env).await;
        let check = |query: String, expected: Vec<(String, String, String)>| {
            let env = &env;
            let admin = tenant.admin.clone();
            async move {
                let body = get_ok(env, &admin, &format!("/api/v1/vulnerabilities{query}")).await;
                assert_eq!(findings(&body), expected, "{query}: {body}");
            }
        };
        let regex = triple("regex", "1.5.4", "RUSTSEC-2022-0013");
        let tar1 = triple("tar", "0.4.44", "RUSTSEC-2026-0067");
        let tar2 = triple("tar", "0.4.44", "RUSTSEC-2026-0068");
        check(
            String::new(),
            vec![regex.clone(), regex.clone(), tar1.clone(), tar2.clone()],
        )
        .await;
        check(format!("?asset={b}"), vec![regex.clone()]).await;
        check(
            "?q=cve-2022-24713".to_string(),
            vec![regex.clone(), regex.clone()],
        )
        .await;
        check("?q=TAR".to_string(), vec![tar1.clone(), tar2.clone()]).await;
        check("?q=RUSTSEC-2026-0068".to_string(), vec![tar2.clone()]).await;

        let by_advisory = get_ok(
            &env,
            &tenant.admin,
            "/api/v1/vulnerabilities?group_by=advisory",
        )
        .await;
        assert_eq!(by_advisory["total"], 3, "{by_advisory}");
        let regex_group = by_advisory["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|g| g["advisory_id"] == "RUSTSEC-2022-0013")
            .cloned()
            .unwrap_or_default();
        assert_eq!(regex_group["asset_count"], 2);
        assert_eq!(regex_group["finding_count"], 2);
        assert_eq!(regex_group["packages"], json!(["regex"]));

        let by_asset = get_ok(
            &env,
            &tenant.admin,
            "/api/v1/vulnerabilities?group_by=asset",
        )
        .await;
        assert_eq!(by_asset["total"], 2);
        let counts: Vec<(i64, i64)> = by_asset["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| {
                (
                    g["asset"]["id"].as_i64().unwrap_or_default(),
                    g["finding_count"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        let mut sorted = counts.clone();
        sorted.sort();
        assert_eq!(sorted, {
            let mut want = vec![(a, 3), (b, 1)];
            want.sort();
            want
        });
        // Severity filter: every listed finding has a wanted severity.
        let high = get_ok(
            &env,
            &tenant.admin,
            "/api/v1/vulnerabilities?severity=high,critical",
        )
        .await;
        let all = get_ok(&env, &tenant.admin, "/api/v1/vulnerabilities").await;
        let wanted = all["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["severity"] == "high" || f["severity"] == "critical")
            .count();
        assert_eq!(high["total"], wanted);
        for bad in [
            "?group_by=cve",
            "?severity=dire",
            "?include_whitelisted=maybe",
            "?page=0",
        ] {
            let (status, body) = env
                .call(
                    Method::GET,
                    &format!("/api/v1/vulnerabilities{bad}"),
                    Some(&tenant.admin),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        }
        env.finish().await;
    }
}

#[tokio::test]
async fn the_supported_list_comes_from_the_loaded_database() {
    for backend in backends() {
        let (env, _db) = env_with_db(&backend).await;
        let (_, admin) = env.new_tenant("acme").await;
        let all = get_ok(&env, &admin, "/api/v1/vulnerabilities/supported?per_page=5").await;
        let database = &all["database"];
        assert_eq!(database["loaded"], true, "{all}");
        assert_eq!(database["ecosystems"]["crates.io"], 110);
        assert_eq!(database["ecosystems"]["Go"], 133);
        assert_eq!(all["advisories"]["items"].as_array().map(Vec::len), Some(5));
        assert_eq!(all["advisories"]["total"], database["records"]);
        // (query, expected total, an id that must be in the first page)
        let cases = [
            (
                "?ecosystem=crates.io&per_page=500",
                110,
                "RUSTSEC-2022-0013",
            ),
            ("?q=rustsec-2022-0013", 1, "RUSTSEC-2022-0013"),
            ("?ecosystem=npm&per_page=500", 2, "GHSA"),
            ("?ecosystem=Nope", 0, ""),
        ];
        for (query, total, id) in cases {
            let body = get_ok(
                &env,
                &admin,
                &format!("/api/v1/vulnerabilities/supported{query}"),
            )
            .await;
            assert_eq!(body["advisories"]["total"], total, "{query}: {body}");
            if !id.is_empty() {
                assert!(
                    body["advisories"]["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|a| a["id"].as_str().unwrap_or_default().starts_with(id)),
                    "{query}: {body}"
                );
            }
        }
        let regex = get_ok(
            &env,
            &admin,
            "/api/v1/vulnerabilities/supported?q=RUSTSEC-2022-0013",
        )
        .await;
        assert_eq!(
            regex["advisories"]["items"][0]["ecosystems"],
            json!(["crates.io"])
        );
        env.finish().await;
    }
}

#[tokio::test]
async fn without_a_database_inventories_wait_and_are_matched_when_one_appears() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let config = ConfigFile {
            vuln_db: Some(dir.path().display().to_string()),
            ..test_config()
        };
        let env = Env::with_config(&backend, config).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-a").await;
        let reply = inventory_ok(
            &env,
            &a.credential,
            "i-1",
            T0,
            vec![crate_package("regex", "1.5.4")],
        )
        .await;
        assert_eq!(reply["stored"], true);
        assert!(
            reply["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("no vulnerability database"),
            "{reply}"
        );
        let detail = asset_detail(&env, &tenant.admin, a.asset).await;
        assert_eq!(detail["findings"]["vulnerability_db_loaded"], false);
        assert!(
            detail["findings"]["vulnerability_db_message"]
                .as_str()
                .unwrap_or_default()
                .contains(&dir.path().display().to_string()),
            "{detail}"
        );
        assert_eq!(
            detail["findings"]["inventories"][0]["matched_at"],
            Value::Null
        );
        let supported = get_ok(&env, &tenant.admin, "/api/v1/vulnerabilities/supported").await;
        assert_eq!(supported["database"]["loaded"], false);
        assert_eq!(supported["advisories"]["total"], 0);

        // The database is imported; the refresh job loads it and matches the stored inventory.
        write_osv_index(dir.path());
        let ran = run_once(&env.store, &VulnDbRefresh)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(ran);
        let list = get_ok(&env, &tenant.admin, "/api/v1/vulnerabilities").await;
        assert_eq!(
            findings(&list),
            vec![triple("regex", "1.5.4", "RUSTSEC-2022-0013")]
        );
        let detail = asset_detail(&env, &tenant.admin, a.asset).await;
        assert_eq!(detail["findings"]["inventories"][0]["matched_at"], T0);
        assert_eq!(detail["vulnerability_count"], 1);
        env.finish().await;
    }
}

#[tokio::test]
async fn the_vulnerability_whitelist_hides_findings_from_counts() {
    for backend in backends() {
        let (env, _db) = env_with_db(&backend).await;
        let (tenant, a, b) = seeded(&env).await;
        let (_, intruder) = env.new_tenant("intruder").await;
        let viewer = env.new_token(&tenant.admin, "viewer").await;
        let count = |asset: i64| {
            let env = &env;
            let admin = tenant.admin.clone();
            async move { asset_detail(env, &admin, asset).await["vulnerability_count"].clone() }
        };
        assert_eq!((count(a).await, count(b).await), (json!(3), json!(1)));
        let add = |body: Value| {
            let env = &env;
            let admin = tenant.admin.clone();
            async move {
                env.call(
                    Method::POST,
                    "/api/v1/vulnerabilities/whitelist",
                    Some(&admin),
                    Some(body),
                )
                .await
            }
        };
        // By CVE alias, on asset b only.
        let (status, rule) = add(json!({"advisory_id": "CVE-2022-24713", "asset_id": b,
            "reason": "regex only parses trusted patterns"}))
        .await;
        assert_eq!(status, StatusCode::CREATED, "{rule}");
        assert_eq!(rule["findings_changed"], 1);
        assert_eq!((count(a).await, count(b).await), (json!(3), json!(0)));
        let listed = get_ok(
            &env,
            &tenant.admin,
            &format!("/api/v1/vulnerabilities?asset={b}"),
        )
        .await;
        assert_eq!(listed["total"], 0);
        let with = get_ok(
            &env,
            &tenant.admin,
            &format!("/api/v1/vulnerabilities?asset={b}&include_whitelisted=true"),
        )
        .await;
        assert_eq!(with["items"][0]["whitelisted"], true);
        // Tenant-wide, by advisory id.
        let (status, all_rule) =
            add(json!({"advisory_id": "RUSTSEC-2026-0067", "reason": "not reachable"})).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(count(a).await, json!(2));
        let rules = get_ok(&env, &tenant.admin, "/api/v1/vulnerabilities/whitelist").await;
        assert_eq!(rules["total"], 2);
        // Bad requests and other callers change nothing.
        let bad: Vec<(String, Method, String, Option<Value>, StatusCode)> = vec![
            (
                tenant.admin.clone(),
                Method::POST,
                "/api/v1/vulnerabilities/whitelist".into(),
                Some(json!({"advisory_id": "", "reason": "x"})),
                StatusCode::BAD_REQUEST,
            ),
            (
                tenant.admin.clone(),
                Method::POST,
                "/api/v1/vulnerabilities/whitelist".into(),
                Some(json!({"advisory_id": "X-1", "reason": " "})),
                StatusCode::BAD_REQUEST,
            ),
            (
                tenant.admin.clone(),
                Method::POST,
                "/api/v1/vulnerabilities/whitelist".into(),
                Some(json!({"advisory_id": "X-1", "asset_id": 999_999, "reason": "x"})),
                StatusCode::NOT_FOUND,
            ),
            (
                intruder.clone(),
                Method::POST,
                "/api/v1/vulnerabilities/whitelist".into(),
                Some(json!({"advisory_id": "X-1", "asset_id": a, "reason": "x"})),
                StatusCode::NOT_FOUND,
            ),
            (
                viewer.clone(),
                Method::POST,
                "/api/v1/vulnerabilities/whitelist".into(),
                Some(json!({"advisory_id": "X-1", "reason": "x"})),
                StatusCode::FORBIDDEN,
            ),
            (
                intruder.clone(),
                Method::DELETE,
                format!(
                    "/api/v1/vulnerabilities/whitelist/{}",
                    all_rule["rule"]["id"]
                ),
                None,
                StatusCode::NOT_FOUND,
            ),
            (
                viewer.clone(),
                Method::DELETE,
                format!(
                    "/api/v1/vulnerabilities/whitelist/{}",
                    all_rule["rule"]["id"]
                ),
                None,
                StatusCode::FORBIDDEN,
            ),
        ];
        for (token, method, path, body, expected) in bad {
            let (status, reply) = env.call(method.clone(), &path, Some(&token), body).await;
            assert_eq!(status, expected, "{method} {path}: {reply}");
        }
        let intruder_view = get_ok(&env, &intruder, "/api/v1/vulnerabilities").await;
        assert_eq!(intruder_view["total"], 0);
        let intruder_rules = get_ok(&env, &intruder, "/api/v1/vulnerabilities/whitelist").await;
        assert_eq!(intruder_rules["total"], 0);
        // Deleting the rules counts the findings again.
        for rule in [rule["rule"]["id"].clone(), all_rule["rule"]["id"].clone()] {
            let (status, reply) = env
                .call(
                    Method::DELETE,
                    &format!("/api/v1/vulnerabilities/whitelist/{rule}"),
                    Some(&tenant.admin),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{reply}");
        }
        assert_eq!((count(a).await, count(b).await), (json!(3), json!(1)));
        // A whitelist rule also covers findings of later scans.
        let (status, _) =
            add(json!({"advisory_id": "RUSTSEC-2022-0013", "reason": "accepted"})).await;
        assert_eq!(status, StatusCode::CREATED);
        let c = agent(&env, &tenant, "uid-c").await;
        inventory_ok(
            &env,
            &c.credential,
            "c-1",
            T0,
            vec![crate_package("regex", "1.0.0")],
        )
        .await;
        assert_eq!(count(c.asset).await, json!(0));
        env.finish().await;
    }
}
