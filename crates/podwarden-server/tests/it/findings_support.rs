//! Helpers of the findings tests (alerts, handling, uploads, vulnerabilities, baseline risks,
//! scans): a tenant with protection on, enrolled agents, detection builders, and an OSV
//! database built from the real records in `../shared/compat/osv-slice/`.

use crate::support::{Env, T0};
use axum::http::{Method, StatusCode};
use podwarden_scan::vuln::Database;
use podwarden_scan::vuln::load::{Limits, load_all};
use podwarden_server::store::TenantId;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A tenant whose protection is switched on (every asset bound, new ones auto-added).
pub struct Tenant {
    pub id: TenantId,
    pub admin: String,
    pub enrollment: String,
}

/// An enrolled agent and the asset it protects.
pub struct Agent {
    pub asset: i64,
    pub credential: String,
}

/// Creates a tenant, switches protection on and makes an enrolment token.
pub async fn protected_tenant(env: &Env, name: &str) -> Tenant {
    let (id, admin) = env.new_tenant(name).await;
    let (status, body) = env
        .call(
            Method::PUT,
            "/api/v1/protection",
            Some(&admin),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let enrollment = env.enrollment_token(&admin).await;
    Tenant {
        id,
        admin,
        enrollment,
    }
}

/// Enrols an agent for pod `uid` and sends one heartbeat (the agent is online, the asset bound).
pub async fn agent(env: &Env, tenant: &Tenant, uid: &str) -> Agent {
    let (asset, credential) = env.enroll(&tenant.enrollment, uid, uid).await;
    let (status, beat) = env.heartbeat(&credential).await;
    assert_eq!(status, StatusCode::OK, "{beat}");
    Agent { asset, credential }
}

/// A process alert: `exe` run with `argv`, child of a shell.
pub fn process_detection(id: &str, exe: &str, argv: &[&str], severity: &str) -> Value {
    json!({
        "id": id, "ts": T0, "alert_type": "process", "severity": severity,
        "rule_id": "PW-PROC-001", "rule_name": "Suspicious process",
        "description": format!("{exe} started"), "advice": "kill it and find how it came",
        "event": {"v": 1, "id": 1, "ts": 1, "kind": "process_exec",
            "container": {"id": "c0ffee", "name": "app"},
            "process": {"pid": 4242, "start_ts": 987654321, "name": "proc", "exe": exe,
                "argv": argv, "uid": 33, "gid": 33, "user": "www-data",
                "ancestors": [
                    {"pid": 100, "name": "sh", "exe": "/bin/sh", "argv": ["sh", "-c", "x"]},
                    {"pid": 1, "name": "nginx", "exe": "/usr/sbin/nginx", "argv": ["nginx"]}
                ]}}
    })
}

/// A network alert: an outbound TCP connection to `remote` from `/bin/bash`.
pub fn network_detection(id: &str, remote: &str) -> Value {
    json!({
        "id": id, "ts": T0, "alert_type": "network", "severity": "critical",
        "rule_id": "PW-NET-001", "rule_name": "Reverse shell",
        "description": format!("bash connected to {remote}"),
        "event": {"v": 1, "id": 2, "ts": 2, "kind": "connection",
            "process": {"pid": 77, "name": "bash", "exe": "/bin/bash", "argv": ["bash", "-i"],
                "uid": 0, "gid": 0},
            "connection": {"protocol": "tcp", "local": "10.0.0.5:40000", "remote": remote,
                "direction": "outbound", "state": "established"}}
    })
}

/// A webshell alert: a PHP file written by php-fpm.
pub fn webshell_detection(id: &str, path: &str, sha_digit: char) -> Value {
    json!({
        "id": id, "ts": T0, "alert_type": "webshell", "severity": "high",
        "rule_id": "PW-WEBSHELL-PHP", "rule_name": "PHP webshell",
        "description": format!("webshell {path}"),
        "event": {"v": 1, "id": 3, "ts": 3, "kind": "file_created",
            "process": {"pid": 555, "start_ts": 42, "name": "php-fpm", "exe": "/usr/sbin/php-fpm",
                "argv": ["php-fpm: pool www"], "uid": 33, "gid": 33},
            "file": {"path": path}},
        "file": {"path": path, "sha256": sha_digit.to_string().repeat(64), "size": 120,
            "matches": [{"rule": "php_eval_post", "line": 1, "excerpt": "eval($_POST[x])"}],
            "score": 95}
    })
}

/// Posts detections as one batch.
pub async fn post_events(
    env: &Env,
    credential: &str,
    detections: Vec<Value>,
) -> (StatusCode, Value) {
    env.call(
        Method::POST,
        "/agent/v1/events",
        Some(credential),
        Some(json!({"detections": detections})),
    )
    .await
}

/// Posts detections and expects `(accepted, duplicates, suppressed, dropped)`.
pub async fn check_batch(
    env: &Env,
    credential: &str,
    detections: Vec<Value>,
    expected: (u64, u64, u64, u64),
) -> Value {
    let (status, body) = post_events(env, credential, detections).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = (
        body["accepted"].as_u64().unwrap_or(99),
        body["duplicates"].as_u64().unwrap_or(99),
        body["suppressed"].as_u64().unwrap_or(99),
        body["dropped"].as_u64().unwrap_or(99),
    );
    assert_eq!(
        got, expected,
        "(accepted, duplicates, suppressed, dropped): {body}"
    );
    body
}

/// GET with `token`, expecting 200; the body.
pub async fn get_ok(env: &Env, token: &str, path: &str) -> Value {
    let (status, body) = env.call(Method::GET, path, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

/// The alerts of `asset` (every status), most recent first.
pub async fn alerts_of(env: &Env, token: &str, asset: i64) -> Vec<Value> {
    let body = get_ok(
        env,
        token,
        &format!("/api/v1/alerts?asset={asset}&per_page=500"),
    )
    .await;
    body["items"].as_array().cloned().unwrap_or_default()
}

/// The asset's detail.
pub async fn asset_detail(env: &Env, token: &str, asset: i64) -> Value {
    get_ok(env, token, &format!("/api/v1/assets/{asset}")).await
}

/// The OSV slice shipped with the shared conformance data.
pub fn osv_slice_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/osv-slice");
    assert!(
        dir.is_dir(),
        "the OSV slice is missing: expected real OSV records in {}",
        dir.display()
    );
    dir
}

/// Builds the center's vulnerability index from the OSV slice into `db_dir`.
pub fn write_osv_index(db_dir: &Path) {
    let (records, invalid) = load_all(&osv_slice_dir(), &Limits::default())
        .unwrap_or_else(|e| panic!("loading {}: {e}", osv_slice_dir().display()));
    assert!(
        invalid.is_empty(),
        "invalid records in the slice: {invalid:?}"
    );
    assert!(records.len() > 400, "only {} records", records.len());
    Database::from_records(&records)
        .write(db_dir)
        .unwrap_or_else(|e| panic!("writing the index into {}: {e}", db_dir.display()));
}

/// A crates.io package record as the agent's inventory reports it.
pub fn crate_package(name: &str, version: &str) -> Value {
    json!({"ecosystem": "crates.io", "name": name, "version": version,
        "location": "app/Cargo.lock", "purl": format!("pkg:cargo/{name}@{version}")})
}

/// Posts an inventory of container `app`.
pub async fn post_inventory(
    env: &Env,
    credential: &str,
    id: &str,
    scanned_at: i64,
    packages: Vec<Value>,
) -> (StatusCode, Value) {
    env.call(
        Method::POST,
        "/agent/v1/inventory",
        Some(credential),
        Some(
            json!({"id": id, "scanned_at": scanned_at, "container": "app",
            "image": "registry.example/app:1", "os": {"id": "debian", "version_id": "12"},
            "packages": packages}),
        ),
    )
    .await
}

/// A pod with a privileged container, running as root, no limits.
pub fn risky_pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25",
            "securityContext": {"privileged": true}}]}})
}

/// Posts a pod spec.
pub async fn post_podspec(
    env: &Env,
    credential: &str,
    id: &str,
    observed_at: i64,
    pod: Value,
) -> (StatusCode, Value) {
    env.call(
        Method::POST,
        "/agent/v1/podspec",
        Some(credential),
        Some(json!({"id": id, "observed_at": observed_at, "pod": pod})),
    )
    .await
}
