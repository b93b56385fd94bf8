//! Every operation of the published OpenAPI document, enumerated from the document itself so
//! that a new route cannot escape: it is routed, refuses a missing, wrong or wrong-kind
//! credential, refuses a viewer on writes, is scoped to the caller's tenant (a second tenant
//! sees nothing of the first and changes nothing of it), and answers bad input (malformed
//! JSON, wrong types, unknown fields, oversized bodies, a wrong content type) with a 4xx JSON
//! error without writing anything. Also: every REST route of `shared/api.md` is in the
//! document under its documented name.

use crate::findings_support::{
    agent, get_ok, post_events, post_podspec, process_detection, protected_tenant, risky_pod,
};
use crate::support::{Env, OPERATOR_TOKEN, T0, test_config};
use axum::http::{Method, StatusCode};
use podwarden_server::config::ConfigFile;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// What only tenant A's data contains; tenant B must never see it.
const MARKER: &str = "alice-marker";
const API_LIMIT: usize = 16 * 1024;
const AGENT_LIMIT: usize = 64 * 1024;

/// Routes answering without a bearer token: `/healthz`, and the admission webhook (the API
/// server authenticates it by its TLS certificate; see `api::mod`).
const OPEN: [(&str, &str); 2] = [("GET", "/healthz"), ("POST", "/admission/mutate")];

/// Routes only an admin of the operator tenant may use.
const OPERATOR_ONLY: [&str; 3] = ["/api/v1/tenants", "/api/v1/tenants/{id}", "/metrics"];

/// The REST routes of `shared/api.md`, by their documented names.
const API_MD: [(&str, &str); 37] = [
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/api/v1/protection"),
    ("PUT", "/api/v1/protection"),
    ("GET", "/api/v1/assets"),
    ("GET", "/api/v1/assets/{id}"),
    ("POST", "/api/v1/assets/sync"),
    ("POST", "/api/v1/quota"),
    ("GET", "/api/v1/clusters"),
    ("POST", "/api/v1/clusters"),
    ("POST", "/api/v1/tokens"),
    ("GET", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{id}"),
    ("POST", "/api/v1/tenants"),
    ("POST", "/api/v1/enrollment-tokens"),
    ("GET", "/api/v1/alerts"),
    ("GET", "/api/v1/alerts/{id}"),
    ("POST", "/api/v1/alerts/{id}/handle"),
    ("GET", "/api/v1/whitelist"),
    ("DELETE", "/api/v1/whitelist/{id}"),
    ("GET", "/api/v1/vulnerabilities"),
    ("GET", "/api/v1/vulnerabilities/supported"),
    ("GET", "/api/v1/baseline-risks"),
    ("POST", "/api/v1/baseline-risks/{id}/fix"),
    ("POST", "/api/v1/baseline-risks/{id}/whitelist"),
    ("POST", "/api/v1/scans"),
    ("GET", "/api/v1/scan-settings"),
    ("PUT", "/api/v1/scan-settings"),
    ("GET", "/api/v1/usage"),
    ("GET", "/api/v1/bills"),
    ("GET", "/api/v1/audit"),
    ("POST", "/admission/mutate"),
    ("POST", "/agent/v1/enroll"),
    ("POST", "/agent/v1/heartbeat"),
    ("POST", "/agent/v1/events"),
    ("POST", "/agent/v1/inventory"),
];

/// One operation of the document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Operation {
    method: String,
    template: String,
    has_body: bool,
}

impl Operation {
    fn method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }
    fn is_read(&self) -> bool {
        self.method == "GET"
    }
    fn is_open(&self) -> bool {
        OPEN.contains(&(self.method.as_str(), self.template.as_str()))
    }
    fn is_operator_only(&self) -> bool {
        OPERATOR_ONLY.contains(&self.template.as_str())
    }
    fn is_agent(&self) -> bool {
        self.template.starts_with("/agent/v1/")
    }
    fn is_api(&self) -> bool {
        self.template.starts_with("/api/v1/") || self.template == "/openapi.json"
    }
}

/// The operations of the served document.
async fn operations(env: &Env) -> Vec<Operation> {
    let document = get_ok(env, OPERATOR_TOKEN, "/openapi.json").await;
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "not OpenAPI 3: {}",
        document["openapi"]
    );
    let mut all = Vec::new();
    for (template, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            all.push(Operation {
                method: method.to_uppercase(),
                template: template.clone(),
                has_body: operation.get("requestBody").is_some(),
            });
        }
    }
    all.sort();
    assert!(all.len() >= API_MD.len(), "{all:?}");
    all
}

/// Tenant A's objects: one of each kind a path can name.
struct Seeded {
    admin: String,
    viewer: String,
    enrollment: String,
    agent: String,
    asset: i64,
    ids: BTreeMap<&'static str, i64>,
}

impl Seeded {
    /// `template` with `{id}` replaced by tenant A's object of that kind.
    fn path(&self, template: &str) -> String {
        if !template.contains('{') {
            return template.to_string();
        }
        let id = self.ids.get(template).unwrap_or_else(|| {
            panic!("{template}: name an object of tenant A for this new route in routes.rs")
        });
        template.replace("{id}", &id.to_string())
    }
}

async fn created(env: &Env, token: &str, path: &str, body: Value) -> Value {
    let (status, reply) = env.call(Method::POST, path, Some(token), Some(body)).await;
    assert!(status.is_success(), "POST {path}: {status} {reply}");
    reply
}

fn first_id(list: &Value) -> i64 {
    let items = list.get("items").unwrap_or(list);
    items[0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {list}"))
}

/// Creates tenant A ("alice-marker") with one object of every kind.
async fn seed(env: &Env) -> Seeded {
    let protected = protected_tenant(env, &format!("{MARKER}-tenant")).await;
    let viewer = env.new_token(&protected.admin, "viewer").await;
    let pod = format!("{MARKER}-pod");
    let enrolled = agent(env, &protected, &pod).await;
    let (tenant, admin, enrollment, asset, agent) = (
        protected.id,
        protected.admin,
        protected.enrollment,
        enrolled.asset,
        enrolled.credential,
    );
    let (status, reply) = post_events(
        env,
        &agent,
        vec![
            process_detection("d-1", "/tmp/alice-marker-miner", &["xmrig"], "high"),
            process_detection("d-2", "/tmp/alice-marker-other", &["nc"], "medium"),
        ],
    )
    .await;
    assert_eq!((status, &reply["accepted"]), (StatusCode::OK, &json!(2)));
    let alerts = get_ok(env, &admin, "/api/v1/alerts?per_page=10").await;
    let alert_ids: Vec<i64> = alerts["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_i64())
        .collect();
    assert_eq!(alert_ids.len(), 2, "{alerts}");
    created(
        env,
        &admin,
        &format!("/api/v1/alerts/{}/handle", alert_ids[1]),
        json!({"method": "whitelist", "scope": "asset", "note": format!("{MARKER} note")}),
    )
    .await;
    let alert_whitelist = first_id(&get_ok(env, &admin, "/api/v1/whitelist").await);
    let (status, reply) = post_podspec(env, &agent, "spec-1", T0, risky_pod(&pod)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let risks = get_ok(env, &admin, "/api/v1/baseline-risks?per_page=100").await;
    let risk_ids: Vec<i64> = risks["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert!(risk_ids.len() >= 2, "{risks}");
    created(
        env,
        &admin,
        &format!("/api/v1/baseline-risks/{}/whitelist", risk_ids[1]),
        json!({"reason": format!("{MARKER} reason"), "scope": "asset"}),
    )
    .await;
    let baseline_whitelist =
        first_id(&get_ok(env, &admin, "/api/v1/baseline-risks/whitelist").await);
    let vuln_whitelist = created(
        env,
        &admin,
        "/api/v1/vulnerabilities/whitelist",
        json!({"advisory_id": "CVE-2099-0001", "asset_id": asset,
            "reason": format!("{MARKER} reason")}),
    )
    .await["rule"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("vulnerability whitelist id"));
    let cluster = created(
        env,
        &admin,
        "/api/v1/clusters",
        json!({"name": format!("{MARKER}-cluster"), "source_kind": "k8s-serverless",
            "kubeconfig": crate::fake_apiserver::kubeconfig("https://127.0.0.1:1", "t0ken")}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("cluster id"));
    let token = created(
        env,
        &admin,
        "/api/v1/tokens",
        json!({"name": format!("{MARKER}-token"), "role": "viewer"}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("token id"));
    let enrollment_id = first_id(&get_ok(env, &admin, "/api/v1/enrollment-tokens").await);
    let user = created(
        env,
        &admin,
        "/api/v1/users",
        json!({"username": format!("{MARKER}-user"), "password": "correct-horse-battery",
            "role": "viewer"}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("user id"));
    let ids = BTreeMap::from([
        ("/api/v1/assets/{id}", asset),
        ("/api/v1/alerts/{id}", alert_ids[0]),
        ("/api/v1/alerts/{id}/handle", alert_ids[0]),
        ("/api/v1/whitelist/{id}", alert_whitelist),
        ("/api/v1/baseline-risks/{id}/fix", risk_ids[0]),
        ("/api/v1/baseline-risks/{id}/whitelist", risk_ids[0]),
        ("/api/v1/baseline-risks/whitelist/{id}", baseline_whitelist),
        ("/api/v1/vulnerabilities/whitelist/{id}", vuln_whitelist),
        ("/api/v1/clusters/{id}", cluster),
        ("/api/v1/tokens/{id}", token),
        ("/api/v1/enrollment-tokens/{id}", enrollment_id),
        ("/api/v1/users/{id}", user),
        ("/api/v1/tenants/{id}", tenant.0),
    ]);
    Seeded {
        admin,
        viewer,
        enrollment,
        agent,
        asset,
        ids,
    }
}

/// A valid body for each operation that takes one (ids are tenant A's); `None` for an
/// operation this table does not know yet, which fails the test.
fn sample_body(op: &Operation, seeded: &Seeded, salt: &str) -> Option<Value> {
    let body = match (op.method.as_str(), op.template.as_str()) {
        ("PUT", "/api/v1/protection") => json!({"auto_add": true}),
        ("POST", "/api/v1/quota") => json!({"action": "add", "asset_ids": [seeded.asset]}),
        ("POST", "/api/v1/clusters") => json!({"name": format!("c-{salt}"),
            "source_kind": "k8s-serverless",
            "kubeconfig": crate::fake_apiserver::kubeconfig("https://127.0.0.1:1", "x")}),
        ("PUT", "/api/v1/clusters/{id}") => json!({"name": format!("renamed-{salt}")}),
        ("POST", "/api/v1/tokens") => json!({"name": format!("t-{salt}"), "role": "viewer"}),
        ("POST", "/api/v1/tenants") => json!({"name": format!("tenant-{salt}")}),
        ("PATCH", "/api/v1/tenants/{id}") => json!({"overdue": false}),
        ("POST", "/api/v1/enrollment-tokens") => json!({"name": format!("e-{salt}")}),
        ("POST", "/api/v1/alerts/{id}/handle") => json!({"method": "ignore", "note": "n"}),
        ("POST", "/api/v1/vulnerabilities/whitelist") => json!({"advisory_id": "CVE-2099-0002",
            "asset_id": seeded.asset, "reason": "r"}),
        ("POST", "/api/v1/baseline-risks/{id}/fix") => json!({"dry_run": true}),
        ("POST", "/api/v1/baseline-risks/{id}/whitelist") => {
            json!({"reason": "r", "scope": "asset"})
        }
        ("POST", "/api/v1/scans") => json!({"kind": "baseline", "asset_ids": [seeded.asset]}),
        ("PUT", "/api/v1/scan-settings") => json!({"vulnerability_interval_hours": 24,
            "baseline_interval_hours": 48, "window_start": "01:00", "window_end": "05:00"}),
        ("POST", "/api/v1/users") => json!({"username": format!("user-{salt}"),
            "password": "correct-horse-battery", "role": "viewer"}),
        ("POST", "/agent/v1/enroll") => json!({"pod_uid": format!("pod-{salt}"),
            "pod_name": "p", "pod_namespace": "default", "agent_version": "0.1.0",
            "mode": "sidecar", "hostname": "h"}),
        ("POST", "/agent/v1/heartbeat") => json!({"agent_version": "0.1.0"}),
        ("POST", "/agent/v1/events") => json!({"detections": [
            process_detection(&format!("d-{salt}"), "/tmp/x", &["x"], "low")]}),
        ("POST", "/agent/v1/inventory") => json!({"id": format!("i-{salt}"),
            "scanned_at": T0, "container": "app", "image": "registry.example/app:1",
            "os": {"id": "debian", "version_id": "12"}, "packages": []}),
        ("POST", "/agent/v1/podspec") => json!({"id": format!("s-{salt}"),
            "observed_at": T0, "pod": risky_pod("p")}),
        ("POST", "/agent/v1/commands") => json!({"results": [{"command_id": 999_999,
            "ok": true, "message": "m", "finished_at": 1}]}),
        _ => return None,
    };
    Some(body)
}

/// The credential tenant A uses for an operation.
fn own_credential<'a>(op: &Operation, seeded: &'a Seeded) -> &'a str {
    match op.template.as_str() {
        "/agent/v1/enroll" => &seeded.enrollment,
        t if t.starts_with("/agent/v1/") => &seeded.agent,
        _ if op.is_operator_only() => OPERATOR_TOKEN,
        _ => &seeded.admin,
    }
}

/// What the operator and tenant A read through every GET of the API: any write that
/// touched them shows here (the audit log included).
async fn fingerprint(env: &Env, ops: &[Operation], seeded: &Seeded) -> BTreeMap<String, Value> {
    let mut seen = BTreeMap::new();
    for op in ops.iter().filter(|op| op.is_read() && op.is_api()) {
        let path = seeded.path(&op.template);
        for (who, token) in [
            ("operator", OPERATOR_TOKEN),
            ("alice", seeded.admin.as_str()),
        ] {
            let (status, body) = env.call(Method::GET, &path, Some(token), None).await;
            seen.insert(format!("{who} {path}"), json!([status.as_u16(), body]));
        }
    }
    seen
}

fn check_error(what: &str, status: StatusCode, body: &Value, expected: &[StatusCode]) {
    assert!(
        expected.contains(&status),
        "{what}: {status}, expected one of {expected:?}: {body}"
    );
    let code = body["error"]["code"].as_str().unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !code.is_empty() && !message.is_empty(),
        "{what}: no JSON error: {body}"
    );
}

#[tokio::test]
async fn api_md_routes_are_all_in_the_openapi_document() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let ops = operations(&env).await;
    let documented: BTreeSet<(String, String)> = ops
        .iter()
        .map(|op| (op.method.clone(), op.template.clone()))
        .collect();
    let missing: Vec<_> = API_MD
        .iter()
        .filter(|(m, p)| !documented.contains(&(m.to_string(), p.to_string())))
        .collect();
    assert!(missing.is_empty(), "api.md routes missing: {missing:?}");
    // The commands route serves both directions.
    for method in ["GET", "POST"] {
        assert!(
            documented.contains(&(method.to_string(), "/agent/v1/commands".to_string())),
            "{method} /agent/v1/commands"
        );
    }
    env.finish().await;
}

#[tokio::test]
async fn every_operation_checks_credentials_roles_and_tenancy() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let ops = operations(&env).await;
    let alice = seed(&env).await;
    let (_, bob) = env.new_tenant("bob").await;
    let bob_enrollment = env.enrollment_token(&bob).await;
    let (_, bob_agent) = env.enroll(&bob_enrollment, "bob-pod", "bob-pod").await;
    let before = fingerprint(&env, &ops, &alice).await;
    // The marker is really there for Alice, so "Bob does not see it" means something.
    for path in [
        "/api/v1/assets",
        "/api/v1/alerts",
        "/api/v1/whitelist",
        "/api/v1/baseline-risks/whitelist",
        "/api/v1/vulnerabilities/whitelist",
        "/api/v1/clusters",
        "/api/v1/tokens",
        "/api/v1/users",
        "/api/v1/audit",
    ] {
        let body = before
            .get(&format!("alice {path}"))
            .unwrap_or_else(|| panic!("{path} is not a documented GET"));
        assert!(body.to_string().contains(MARKER), "{path}: {body}");
    }

    let mut open = Vec::new();
    for op in &ops {
        let what = format!("{} {}", op.method, op.template);
        let path = alice.path(&op.template);
        let body = sample_body(op, &alice, "x");
        assert!(
            !op.has_body || body.is_some() || op.is_open(),
            "{what}: add a sample body to routes.rs"
        );
        if op.is_read() {
            // Routed: the document and the router agree (writes are run at the end).
            let (status, reply) = env
                .call(op.method(), &path, Some(own_credential(op, &alice)), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{what}: {reply}");
        }
        if op.is_open() {
            open.push((op.method.as_str(), op.template.as_str()));
            continue;
        }
        // Missing, unknown and malformed credentials, and credentials of the wrong kind.
        let wrong_kind: Vec<&str> = if op.template == "/agent/v1/enroll" {
            vec![&alice.admin, &alice.agent]
        } else if op.is_agent() {
            vec![&alice.admin, &alice.enrollment]
        } else {
            vec![&alice.agent, &alice.enrollment]
        };
        let tokens = [None, Some("pw_not_a_real_token"), Some("garbage")]
            .into_iter()
            .chain(wrong_kind.into_iter().map(Some));
        for token in tokens {
            let (status, reply) = env.call(op.method(), &path, token, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{what} {token:?}: {reply}"
            );
            assert_eq!(reply["error"]["code"], "unauthorized", "{what}: {reply}");
        }
        for header in ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer  ", "pw_x"] {
            let (status, reply) = call_with_authorization(&env, op, &path, header).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{what} {header:?}: {reply}"
            );
        }
        if !op.is_api() && op.template != "/metrics" {
            continue;
        }
        // A viewer reads (operator-only routes aside) and changes nothing.
        let (status, reply) = env
            .call(op.method(), &path, Some(&alice.viewer), body.clone())
            .await;
        let expected = if op.is_operator_only() || !op.is_read() {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "{what} as a viewer: {reply}");
        // Bob: reads show nothing of Alice, her ids are not found, writes leave her alone.
        let (status, reply) = env.call(op.method(), &path, Some(&bob), body.clone()).await;
        assert!(!status.is_server_error(), "{what} as Bob: {status} {reply}");
        assert!(
            !reply.to_string().contains(MARKER),
            "{what}: Bob sees Alice's data: {reply}"
        );
        if op.template.contains('{') {
            let expected: &[StatusCode] = if op.is_operator_only() {
                &[StatusCode::FORBIDDEN]
            } else {
                &[StatusCode::NOT_FOUND]
            };
            check_error(&format!("{what} as Bob"), status, &reply, expected);
        } else if op.is_operator_only() {
            check_error(
                &format!("{what} as Bob"),
                status,
                &reply,
                &[StatusCode::FORBIDDEN],
            );
        }
    }
    // Bob's agent cannot reach Alice's asset either: it writes only its own.
    let (status, reply) = post_events(
        &env,
        &bob_agent,
        vec![process_detection("bob-1", "/tmp/bob", &["b"], "low")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    open.sort();
    let mut expected_open = OPEN.to_vec();
    expected_open.sort();
    assert_eq!(open, expected_open, "routes answering without a token");
    let after = fingerprint(&env, &ops, &alice).await;
    for (key, value) in &before {
        assert_eq!(after.get(key), Some(value), "{key} changed");
    }
    // Every documented write is routed to a handler that works for its owner.
    for op in ops.iter().filter(|op| !op.is_read() && !op.is_open()) {
        let path = alice.path(&op.template);
        let body = sample_body(op, &alice, "own");
        let (status, reply) = env
            .call(op.method(), &path, Some(own_credential(op, &alice)), body)
            .await;
        let what = format!("{} {}", op.method, op.template);
        assert!(
            !status.is_server_error()
                && status != StatusCode::METHOD_NOT_ALLOWED
                && reply["error"]["message"] != "no such route",
            "{what}: {status} {reply}"
        );
    }
    env.finish().await;
}

/// A request with this `Authorization` header value and no body.
async fn call_with_authorization(
    env: &Env,
    op: &Operation,
    path: &str,
    authorization: &str,
) -> (StatusCode, Value) {
    let request = axum::http::Request::builder()
        .method(op.method())
        .uri(path)
        .header("authorization", authorization)
        .body(axum::body::Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    let response = tower::ServiceExt::oneshot(env.app.clone(), request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A bad request: what it is, the body, its content type, the statuses it may get and the
/// error code it must get (when one is certain).
type BadCase = (
    &'static str,
    String,
    &'static str,
    Vec<StatusCode>,
    Option<&'static str>,
);

/// The sample with its first field's value replaced by one of another JSON type.
fn wrong_type(sample: &Value) -> Value {
    let mut body = sample.clone();
    if let Some((_, value)) = body.as_object_mut().and_then(|o| o.iter_mut().next()) {
        *value = match value {
            Value::String(_) => json!(12345),
            Value::Array(_) | Value::Object(_) => json!(7),
            _ => json!("not the right type"),
        };
    }
    body
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_writes_nothing() {
    let config = ConfigFile {
        api_body_limit_bytes: Some(API_LIMIT),
        agent_body_limit_bytes: Some(AGENT_LIMIT),
        ..test_config()
    };
    let env = Env::with_config(&crate::support::Backend::Sqlite, config).await;
    let ops = operations(&env).await;
    let alice = seed(&env).await;
    let before = fingerprint(&env, &ops, &alice).await;
    let mut checked = 0;
    for op in ops.iter().filter(|op| !op.is_read() && !op.is_open()) {
        let Some(sample) = sample_body(op, &alice, "bad") else {
            assert!(
                !op.has_body,
                "{} {}: add a sample body",
                op.method, op.template
            );
            continue;
        };
        let path = alice.path(&op.template);
        let token = own_credential(op, &alice);
        let limit = if op.is_agent() {
            AGENT_LIMIT
        } else {
            API_LIMIT
        };
        let oversized = json!({"padding": "x".repeat(limit)}).to_string();
        let unknown_field = {
            let mut body = sample.clone();
            if let Some(object) = body.as_object_mut() {
                object.insert("zz_unknown_field".to_string(), json!(1));
            }
            body.to_string()
        };
        // (what, body, content type, statuses, code)
        let mut cases: Vec<BadCase> = vec![
            (
                "malformed JSON",
                "{,}".to_string(),
                "application/json",
                vec![StatusCode::BAD_REQUEST],
                Some("invalid_json"),
            ),
            (
                "truncated JSON",
                sample.to_string()[..sample.to_string().len() - 1].to_string(),
                "application/json",
                vec![StatusCode::BAD_REQUEST],
                Some("invalid_json"),
            ),
            (
                "an array for an object",
                "[1, 2, 3]".to_string(),
                "application/json",
                vec![StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY],
                None,
            ),
            (
                "a field of the wrong type",
                wrong_type(&sample).to_string(),
                "application/json",
                vec![StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY],
                None,
            ),
            (
                "an oversized body",
                oversized,
                "application/json",
                vec![StatusCode::PAYLOAD_TOO_LARGE],
                Some("payload_too_large"),
            ),
        ];
        if op.has_body {
            cases.push((
                "a form instead of JSON",
                "a=1".to_string(),
                "application/x-www-form-urlencoded",
                vec![StatusCode::UNSUPPORTED_MEDIA_TYPE],
                Some("unsupported_media_type"),
            ));
        }
        // The agent channel ignores fields it does not know (newer agents talk to older
        // centers), except in enrolment and heartbeats; the REST API refuses them.
        if !op.is_agent() || op.template == "/agent/v1/enroll" || op.template.ends_with("heartbeat")
        {
            cases.push((
                "an unknown field",
                unknown_field,
                "application/json",
                vec![StatusCode::UNPROCESSABLE_ENTITY],
                Some("invalid_body"),
            ));
        }
        for (what, body, content_type, statuses, code) in cases {
            let (status, reply) = env
                .call_text(op.method(), &path, Some(token), Some(&body), content_type)
                .await;
            let label = format!("{} {} with {what}", op.method, op.template);
            check_error(&label, status, &reply, &statuses);
            if let Some(code) = code {
                assert_eq!(reply["error"]["code"], code, "{label}: {reply}");
            }
            if what == "an unknown field" {
                let message = reply["error"]["message"].as_str().unwrap_or_default();
                assert!(message.contains("zz_unknown_field"), "{label}: {message}");
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} bad requests were tried");
    // Bad paths and queries too.
    for (path, status) in [
        ("/api/v1/assets/not-a-number", StatusCode::BAD_REQUEST),
        (
            "/api/v1/assets/99999999999999999999",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/assets?per_page=lots", StatusCode::BAD_REQUEST),
        ("/api/v1/assets?bogus=1", StatusCode::BAD_REQUEST),
        ("/api/v1/alerts?page=-1", StatusCode::BAD_REQUEST),
        ("/api/v1/usage?from=yesterday", StatusCode::BAD_REQUEST),
        ("/api/v1/nowhere", StatusCode::NOT_FOUND),
    ] {
        let (got, reply) = env.call(Method::GET, path, Some(&alice.admin), None).await;
        check_error(path, got, &reply, &[status]);
    }
    let after = fingerprint(&env, &ops, &alice).await;
    for (key, value) in &before {
        assert_eq!(after.get(key), Some(value), "{key} changed by bad input");
    }
    env.finish().await;
}
