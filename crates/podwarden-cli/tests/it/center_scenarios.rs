//! Scenarios against the real `podwarden server` binary over HTTP, with the server's clock read
//! from a file (`clock_file`) so a day passes in seconds: the three default-binding cases when
//! protection is enabled, a simulated day of heartbeats (with an outage and a midnight) that
//! produces the exact bill once the next day starts, tenant isolation, and every documented
//! operation refusing a missing or wrong token and every write refusing a viewer.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const OPERATOR: &str = "pw_center_scenarios_operator_0123456789abcdef";
/// 2024-01-02T00:00:00+08:00, midnight in the default time zone.
const T0: i64 = 1_704_124_800_000;
const SECOND: i64 = 1000;
const HOUR: i64 = 3_600_000;

/// A running server with its clock file.
struct Center {
    child: Child,
    addr: String,
    clock: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Center {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An answer: status, content type, body (JSON, or a string when it is not JSON).
struct Reply {
    status: u16,
    content_type: String,
    body: Value,
}

impl Center {
    /// Starts the binary with a config file setting the clock file and fast jobs.
    fn start() -> Center {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let clock = dir.path().join("now");
        std::fs::write(&clock, T0.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let config = dir.path().join("podwarden.toml");
        std::fs::write(
            &config,
            format!(
                "clock_file = {:?}\nmetering_flush_secs = 1\nbill_close_secs = 1\n\
                 heartbeat_interval_secs = 30\ndefault_cores = \"500m\"\n\
                 cluster_sync_secs = 3600\nscan_schedule_secs = 3600\n",
                clock.display().to_string()
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_podwarden"))
            .args(["server", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--database")
            .arg(format!("sqlite://{}/pw.db", dir.path().display()))
            .env_remove("PODWARDEN_CONFIG")
            .env_remove("PODWARDEN_DATABASE")
            .env_remove("PODWARDEN_LISTEN")
            .env("PODWARDEN_BOOTSTRAP_TOKEN", OPERATOR)
            .env("PODWARDEN_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn podwarden: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut printed = Vec::new();
        let addr = loop {
            let line = receive
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|e| panic!("server did not start ({e}); printed {printed:?}"));
            if let Some(addr) = line.strip_prefix("podwarden server listening on http://") {
                break addr.to_string();
            }
            printed.push(line);
        };
        Center {
            child,
            addr,
            clock,
            _dir: dir,
        }
    }

    /// Sets the server's clock.
    fn set_time(&self, at: i64) {
        std::fs::write(&self.clock, at.to_string()).unwrap_or_else(|e| panic!("{e}"));
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        accept: &str,
    ) -> Reply {
        let body = body.map(Value::to_string).unwrap_or_default();
        let response = crate::http::send(
            &self.addr,
            method,
            path,
            token,
            &[("Accept", accept)],
            &body,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Reply {
            status: response.status,
            content_type: response.header("content-type"),
            body: response.json(),
        }
    }

    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.request(method, path, token, body.as_ref(), "application/json")
    }

    /// A call that must answer `status`; its body.
    fn expect(&self, status: u16, method: &str, path: &str, token: &str, body: Value) -> Value {
        let body = (!body.is_null()).then_some(body);
        let reply = self.call(method, path, Some(token), body.clone());
        assert_eq!(
            reply.status, status,
            "{method} {path} {body:?}: {}",
            reply.body
        );
        reply.body
    }

    /// A new tenant: its id and admin token.
    fn tenant(&self, name: &str) -> (i64, String) {
        let created = self.expect(
            201,
            "POST",
            "/api/v1/tenants",
            OPERATOR,
            json!({"name": name}),
        );
        (
            created["tenant"]["id"].as_i64().unwrap_or_default(),
            created["admin_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    /// Enrols an agent for pod `name`; its asset id and credential.
    fn enroll(&self, admin: &str, name: &str) -> (i64, String) {
        let enrollment = self.expect(201, "POST", "/api/v1/enrollment-tokens", admin, Value::Null);
        let token = enrollment["token"].as_str().unwrap_or_default();
        let enrolled = self.expect(
            200,
            "POST",
            "/agent/v1/enroll",
            token,
            json!({"pod_uid": format!("uid-{name}"), "pod_name": name,
                "pod_namespace": "shop", "agent_version": "0.1.0", "mode": "sidecar",
                "hostname": name}),
        );
        (
            enrolled["asset_id"].as_i64().unwrap_or_default(),
            enrolled["credential"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    fn heartbeat(&self, credential: &str) {
        self.expect(
            200,
            "POST",
            "/agent/v1/heartbeat",
            credential,
            json!({"agent_version": "0.1.0"}),
        );
    }

    /// Names of the bound assets of the tenant of `admin`, sorted.
    fn bound(&self, admin: &str) -> Vec<String> {
        let list = self.expect(
            200,
            "GET",
            "/api/v1/assets?bound=true&per_page=500",
            admin,
            Value::Null,
        );
        let mut names: Vec<String> = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["pod_name"].as_str().map(str::to_string))
            .collect();
        names.sort();
        names
    }

    /// `PUT /api/v1/protection`; the binding rule applied and the auto-add flag.
    fn protection(&self, admin: &str, body: Value) -> (String, bool) {
        let reply = self.expect(200, "PUT", "/api/v1/protection", admin, body);
        (
            reply["binding"]["rule"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            reply["auto_add"].as_bool().unwrap_or_default(),
        )
    }

    fn quota(&self, admin: &str, body: Value) {
        self.expect(200, "POST", "/api/v1/quota", admin, body);
    }
}

#[test]
fn default_binding_cases_when_enabling() {
    let center = Center::start();
    let (tenant, admin) = center.tenant("acme");
    let ids: Vec<i64> = ["a", "b", "c"]
        .iter()
        .map(|name| center.enroll(&admin, name).0)
        .collect();
    assert!(center.bound(&admin).is_empty(), "nothing bound before");

    // First time ever enabled: all bound, new assets auto-added.
    let (rule, auto_add) = center.protection(&admin, json!({"enabled": true}));
    assert_eq!((rule.as_str(), auto_add), ("first-enable-all", true));
    assert_eq!(center.bound(&admin), ["a", "b", "c"]);
    let (d, _) = center.enroll(&admin, "d");
    assert_eq!(center.bound(&admin), ["a", "b", "c", "d"], "auto-added");

    // Enabled again after being off: exactly the assets bound before.
    center.quota(
        &admin,
        json!({"action": "remove", "asset_ids": [d], "auto_add": false}),
    );
    let (rule, _) = center.protection(&admin, json!({"enabled": false}));
    assert_eq!(rule, "switch-off-unbind");
    assert!(center.bound(&admin).is_empty());
    let (rule, auto_add) = center.protection(&admin, json!({"enabled": true}));
    assert_eq!((rule.as_str(), auto_add), ("previous", false));
    assert_eq!(center.bound(&admin), ["a", "b", "c"]);

    // An overdue tenant that pays: the binding stays as it was.
    center.quota(&admin, json!({"action": "remove", "asset_ids": [ids[1]]}));
    center.expect(
        200,
        "PATCH",
        &format!("/api/v1/tenants/{tenant}"),
        OPERATOR,
        json!({"overdue": true}),
    );
    let state = center.expect(200, "GET", "/api/v1/protection", &admin, Value::Null);
    assert_eq!(
        (&state["overdue"], &state["active"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(center.bound(&admin), ["a", "c"]);
    center.expect(
        200,
        "PATCH",
        &format!("/api/v1/tenants/{tenant}"),
        OPERATOR,
        json!({"overdue": false}),
    );
    assert_eq!(center.bound(&admin), ["a", "c"]);

    // Enabled again after being off with nothing bound before: all bound, auto-add on.
    center.quota(&admin, json!({"action": "remove", "all": true}));
    center.protection(&admin, json!({"enabled": false}));
    let (rule, auto_add) = center.protection(&admin, json!({"enabled": true}));
    assert_eq!((rule.as_str(), auto_add), ("no-previous-all", true));
    assert_eq!(center.bound(&admin), ["a", "b", "c", "d"]);

    // Every change is audited: five switches, two overdue changes, three quota changes.
    let audit = center.expect(
        200,
        "GET",
        "/api/v1/audit?per_page=200",
        &admin,
        Value::Null,
    );
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    let count = |prefix: &str| actions.iter().filter(|a| a.starts_with(prefix)).count();
    assert_eq!(
        (count("protection."), count("quota.")),
        (7, 3),
        "{actions:?}"
    );
}

/// Heartbeats every 30 s from `from` to `to` (inclusive), setting the clock before each.
fn beat(center: &Center, credential: &str, from: i64, to: i64) {
    let mut at = from;
    while at <= to {
        center.set_time(at);
        center.heartbeat(credential);
        at += 30 * SECOND;
    }
}

/// Polls the bills of `day` until the closing job produced one.
fn wait_for_bill(center: &Center, admin: &str, day: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let bills = center.expect(
            200,
            "GET",
            &format!("/api/v1/bills?from={day}&to={day}"),
            admin,
            Value::Null,
        );
        if let Some(bill) = bills.as_array().and_then(|b| b.first()) {
            return bill.clone();
        }
        assert!(Instant::now() < deadline, "no bill for {day}: {bills}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_day_of_heartbeats_makes_the_exact_bill_and_tenants_stay_apart() {
    let center = Center::start();
    let (_, admin) = center.tenant("metered");
    let (asset, credential) = center.enroll(&admin, "metered-pod");
    let (rule, _) = center.protection(&admin, json!({"enabled": true}));
    assert_eq!(rule, "first-enable-all");
    // 2024-01-02 (+08:00): online 00:00 → 10:00, then the network drops (the agent counts
    // as online for 90 s after its last heartbeat), back at 12:00 until 01:00 the next day.
    beat(&center, &credential, T0, T0 + 10 * HOUR);
    beat(&center, &credential, T0 + 12 * HOUR, T0 + 25 * HOUR);
    let detail = center.expect(
        200,
        "GET",
        &format!("/api/v1/assets/{asset}"),
        &admin,
        Value::Null,
    );
    assert_eq!(
        (&detail["agent"]["status"], &detail["consumes_quota"]),
        (&json!("online"), &json!(true)),
        "{detail}"
    );
    // No bill for a day that has not ended.
    center.set_time(T0 + 23 * HOUR);
    let early = center.expect(
        200,
        "GET",
        "/api/v1/bills?from=2024-01-03&to=2024-01-03",
        &admin,
        Value::Null,
    );
    assert_eq!(early, json!([]), "the bill of a day waits for the next day");
    center.set_time(T0 + 26 * HOUR);

    let seconds = 10 * 3600 + 90 + 12 * 3600;
    let millicore_seconds = seconds * 500;
    // 0.000003 USD per core-second = 3,000,000 pico-USD per core-second.
    let pico = millicore_seconds * 3_000_000 / 1000;
    let bill = wait_for_bill(&center, &admin, "2024-01-02");
    assert_eq!(
        (
            &bill["seconds"],
            &bill["millicore_seconds"],
            &bill["core_seconds"],
            &bill["cost_pico_usd"],
            &bill["cost_usd"],
            &bill["asset_count"],
        ),
        (
            &json!(seconds),
            &json!(millicore_seconds),
            &json!("39645"),
            &json!(pico),
            &json!("0.118935"),
            &json!(1)
        ),
        "{bill}"
    );
    let usage = center.expect(
        200,
        "GET",
        "/api/v1/usage?from=2024-01-02&to=2024-01-03",
        &admin,
        Value::Null,
    );
    let days: Vec<(&str, i64)> = usage
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| Some((u["day"].as_str()?, u["seconds"].as_i64()?)))
        .collect();
    assert_eq!(
        days,
        [("2024-01-02", seconds), ("2024-01-03", 3600 + 90)],
        "{usage}"
    );
    let csv = center.request(
        "GET",
        "/api/v1/bills?from=2024-01-02&to=2024-01-02",
        Some(&admin),
        None,
        "text/csv",
    );
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let text = csv.body.as_str().unwrap_or_default().to_string();
    assert!(
        text.lines().nth(1).is_some_and(|l| l
            .starts_with("2024-01-02,+08:00,1,79290,39645000,39645,")
            && l.contains(",0.118935,")),
        "{text}"
    );

    // A second tenant sees nothing of the first and cannot touch it.
    let (_, other) = center.tenant("other");
    for path in [
        "/api/v1/assets",
        "/api/v1/alerts",
        "/api/v1/baseline-risks",
        "/api/v1/vulnerabilities",
        "/api/v1/clusters",
        "/api/v1/whitelist",
        "/api/v1/usage?from=2024-01-01&to=2024-01-31",
        "/api/v1/bills?from=2024-01-01&to=2024-01-31",
        "/api/v1/audit",
        "/api/v1/tokens",
        "/api/v1/enrollment-tokens",
    ] {
        let seen = center.expect(200, "GET", path, &other, Value::Null);
        let text = seen.to_string();
        assert!(
            !text.contains("metered") && !text.contains("39645"),
            "{path}: {text}"
        );
    }
    center.expect(
        404,
        "GET",
        &format!("/api/v1/assets/{asset}"),
        &other,
        Value::Null,
    );
    center.expect(
        404,
        "POST",
        "/api/v1/quota",
        &other,
        json!({"action": "remove", "asset_ids": [asset]}),
    );
    assert_eq!(center.bound(&admin), ["metered-pod"]);
}

#[test]
fn every_operation_refuses_bad_tokens_and_viewer_writes() {
    let center = Center::start();
    let (_, admin) = center.tenant("acme");
    let created = center.expect(
        201,
        "POST",
        "/api/v1/tokens",
        &admin,
        json!({"name": "reader", "role": "viewer"}),
    );
    let viewer = created["token"].as_str().unwrap_or_default().to_string();
    let document = center.expect(200, "GET", "/openapi.json", &admin, Value::Null);
    let open = [("get", "/healthz"), ("post", "/admission/mutate")];
    let mut checked = 0;
    for (template, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, _) in item.as_object().into_iter().flatten() {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str())
                || open.contains(&(method.as_str(), template.as_str()))
            {
                continue;
            }
            let path = template.replace("{id}", "1");
            let verb = method.to_uppercase();
            for token in [None, Some("pw_wrong_token"), Some("")] {
                let reply = center.call(&verb, &path, token, Some(json!({})));
                assert_eq!(reply.status, 401, "{verb} {path} {token:?}: {}", reply.body);
                assert_eq!(reply.body["error"]["code"], "unauthorized");
            }
            if template.starts_with("/api/v1/") && verb != "GET" {
                let reply = center.call(&verb, &path, Some(&viewer), Some(json!({})));
                assert_eq!(
                    reply.status, 403,
                    "{verb} {path} as a viewer: {}",
                    reply.body
                );
                assert_eq!(reply.body["error"]["code"], "forbidden");
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} operations in the document");
    let healthz = center.call("GET", "/healthz", None, None);
    assert_eq!(
        (healthz.status, &healthz.body["status"]),
        (200, &json!("ok"))
    );
}
