//! The channel to the center: backoff, the stored credential, the outbox, and a client
//! talking to a fake center over a real socket (enrolment once, heartbeat fallback for a
//! center that refuses the status, uploads, commands in both answer shapes).

use podwarden_agent::uplink::{
    Backoff, Client, Outbox, ROUTE_INVENTORY, ROUTE_PODSPEC, ROUTE_RESULTS, StoredCredential,
    UplinkConfig, UplinkError, load_credential, store_credential,
};
use podwarden_api::agent::{AgentMode, EnrollRequest};
use podwarden_api::uplink::{
    AgentStatus, CommandAction, CommandResult, CommandResults, EventBatch, InventoryUpload,
    PodSpecUpload,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn backoff_grows_with_jitter_and_resets() {
    let check = |base_ms: u64, cap_ms: u64, attempt: u32, low: u64, high: u64| {
        let mut backoff = Backoff::new(
            Duration::from_millis(base_ms),
            Duration::from_millis(cap_ms),
        );
        for _ in 0..attempt {
            backoff.next_delay();
        }
        for _ in 0..50 {
            let mut probe = backoff.clone();
            let delay = probe.next_delay().as_millis() as u64;
            assert!(
                (low..=high).contains(&delay),
                "attempt {attempt}: {delay} ms not in {low}..={high}"
            );
        }
    };
    check(500, 15_000, 0, 250, 500);
    check(500, 15_000, 1, 500, 1000);
    check(500, 15_000, 3, 2000, 4000);
    check(500, 15_000, 10, 7500, 15_000);
    check(500, 15_000, 40, 7500, 15_000);
    // Jitter: not every draw is the same.
    let mut backoff = Backoff::new(Duration::from_millis(1000), Duration::from_secs(60));
    for _ in 0..5 {
        backoff.next_delay();
    }
    let sequence: Vec<u128> = (0..20).map(|_| backoff.next_delay().as_millis()).collect();
    assert!(
        sequence
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
            > 1,
        "{sequence:?}"
    );
    backoff.reset();
    assert!(backoff.next_delay() <= Duration::from_millis(1000));
}

#[test]
fn credential_is_private_and_bound_to_its_center() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let credential = StoredCredential {
        server: "https://a.example".into(),
        agent_id: 3,
        asset_id: 9,
        credential: "pwa_secret".into(),
        heartbeat_interval_secs: 30,
    };
    store_credential(&state, &credential).unwrap();
    let mode = std::fs::metadata(state.join("credential.json"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        load_credential(&state, "https://a.example"),
        Some(credential)
    );
    assert_eq!(
        load_credential(&state, "https://b.example"),
        None,
        "another center needs its own enrolment"
    );
}

#[test]
fn outbox_keeps_the_newest_inventory_per_container_and_results_first() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), 1 << 20).unwrap();
    let inventory = |id: &str, container: &str| InventoryUpload {
        id: id.into(),
        scanned_at: 1,
        container: container.into(),
        image: None,
        os: None,
        packages: Vec::new(),
        warnings: Vec::new(),
    };
    outbox.put_inventory(&inventory("inv-1", "web"), 1).unwrap();
    outbox
        .put_podspec(
            &PodSpecUpload {
                id: "pod-1".into(),
                observed_at: 2,
                pod: serde_json::json!({"spec": {}}),
            },
            2,
        )
        .unwrap();
    outbox.put_inventory(&inventory("inv-2", "web"), 3).unwrap();
    outbox
        .put_inventory(&inventory("inv-3", "db-0"), 4)
        .unwrap();
    let result = CommandResult {
        command_id: 5,
        ok: true,
        message: "done".into(),
        vault_id: None,
        sha256: None,
        finished_at: 6,
    };
    outbox
        .put_results(
            &CommandResults {
                results: vec![result],
            },
            5,
        )
        .unwrap();
    let items = outbox.items();
    let routes: Vec<&str> = items.iter().map(|i| i.route).collect();
    assert_eq!(
        routes,
        vec![
            ROUTE_RESULTS,
            ROUTE_PODSPEC,
            ROUTE_INVENTORY,
            ROUTE_INVENTORY
        ]
    );
    let bodies: Vec<String> = items
        .iter()
        .map(|i| String::from_utf8(outbox.read(i).unwrap()).unwrap())
        .collect();
    assert!(
        bodies[2].contains("inv-2") && bodies[3].contains("inv-3"),
        "{bodies:?}"
    );
    assert!(!bodies.iter().any(|b| b.contains("inv-1")), "replaced");
    outbox.remove(&items[0]);
    assert_eq!(outbox.items().len(), 3);
    // Full: a new item is refused, not silently lost.
    let small = Outbox::open(&dir.path().join("small"), 10).unwrap();
    assert!(small.put_inventory(&inventory("x", "web"), 1).is_err());
}

/// A recorded request.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    auth: String,
    body: String,
}

type Handler = dyn Fn(&Seen) -> (u16, String) + Send + Sync;

/// A fake center on a loopback port answering with `handler`, recording every request.
fn fake_center(handler: Arc<Handler>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() || first.is_empty() {
                continue;
            }
            let mut parts = first.split_whitespace();
            let method = parts.next().unwrap_or_default().to_string();
            let path = parts.next().unwrap_or_default().to_string();
            let mut length = 0usize;
            let mut auth = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("authorization:") {
                    auth = line["authorization:".len()..].trim().to_string();
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let request = Seen {
                method,
                path,
                auth,
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            let (status, answer) = handler(&request);
            log.lock().unwrap().push(request);
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, seen)
}

fn request() -> EnrollRequest {
    EnrollRequest {
        pod_name: "web-0".into(),
        pod_namespace: "shop".into(),
        pod_uid: "uid-1".into(),
        cluster_hint: String::new(),
        source_kind: None,
        container_id: String::new(),
        agent_version: "0.1.0".into(),
        mode: AgentMode::Sidecar,
        hostname: "web-0".into(),
    }
}

const ENROLLED: &str = r#"{"agent_id":4,"asset_id":8,"credential":"pwa_cred","heartbeat_interval_secs":7,"online_window_secs":21,"wire_version":1}"#;
const BEAT: &str = r#"{"asset_id":8,"heartbeat_interval_secs":7,"protection_active":true,"capabilities":{"alerts":true,"vulnerability":true,"baseline":true},"pending_commands":1,"server_time_ms":1}"#;

#[test]
fn client_against_a_fake_center() {
    let handler: Arc<Handler> = Arc::new(|r: &Seen| {
        match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/agent/v1/enroll") if r.auth == "Bearer pwe_token" => (200, ENROLLED.to_string()),
        // A center that does not know `status` in heartbeats refuses unknown fields.
        ("POST", "/agent/v1/heartbeat") if r.body.contains("status") => (400, r#"{"error":{"code":"bad_request","message":"unknown field `status`"}}"#.to_string()),
        ("POST", "/agent/v1/heartbeat") if r.auth == "Bearer pwa_cred" => (200, BEAT.to_string()),
        ("POST", "/agent/v1/events") => (200, r#"{"accepted":1,"duplicates":0,"suppressed":0}"#.to_string()),
        ("GET", "/agent/v1/commands") => (200, r#"{"commands":[{"id":11,"action":{"kind":"kill","pid":42,"start_ts":5}},{"id":12,"action":{"kind":"future_thing"}}]}"#.to_string()),
        _ => (404, String::new()),
    }
    });
    let (url, seen) = fake_center(handler);
    let dir = tempfile::tempdir().unwrap();
    let config = UplinkConfig {
        server: url.clone(),
        token: Some("pwe_token".into()),
        ca_file: None,
        state_dir: dir.path().to_path_buf(),
        timeout: Duration::from_secs(5),
    };
    let mut client = Client::new(config.clone()).unwrap();
    let credential = client.ensure_enrolled(&request()).unwrap();
    assert_eq!(
        (credential.agent_id, credential.credential.as_str()),
        (4, "pwa_cred")
    );
    let answer = client
        .heartbeat(&AgentStatus {
            poll_interval_ms: 100,
            ..AgentStatus::default()
        })
        .unwrap();
    assert_eq!(
        (answer.pending_commands, answer.protection_active),
        (1, true)
    );
    // The second heartbeat goes without the status straight away.
    client.heartbeat(&AgentStatus::default()).unwrap();
    let batch = EventBatch {
        detections: Vec::new(),
        dropped: None,
    };
    assert!(client.send_events(&batch).unwrap().is_some());
    let commands = client.fetch_commands().unwrap();
    assert_eq!(commands.len(), 1, "the unknown command kind is skipped");
    assert_eq!(
        commands[0].action,
        CommandAction::Kill {
            pid: 42,
            start_ts: 5
        }
    );
    assert!(matches!(
        client.send_raw("/agent/v1/inventory", b"{}".to_vec()),
        Err(UplinkError::NotFound { .. })
    ));

    // A restarted agent does not enrol again: the credential is on disk.
    let mut again = Client::new(config).unwrap();
    again.ensure_enrolled(&request()).unwrap();
    let requests = seen.lock().unwrap().clone();
    let enrolments = requests
        .iter()
        .filter(|r| r.path == "/agent/v1/enroll")
        .count();
    assert_eq!(enrolments, 1);
    let beats: Vec<bool> = requests
        .iter()
        .filter(|r| r.path == "/agent/v1/heartbeat")
        .map(|r| r.body.contains("status"))
        .collect();
    assert_eq!(beats, vec![true, false, false]);
    assert!(
        requests
            .iter()
            .filter(|r| r.path != "/agent/v1/enroll")
            .all(|r| r.auth == "Bearer pwa_cred")
    );
}

#[test]
fn unreachable_and_refusing_centers() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on a port just released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = UplinkConfig {
        server: format!("http://127.0.0.1:{port}"),
        token: Some("pwe_x".into()),
        ca_file: None,
        state_dir: dir.path().to_path_buf(),
        timeout: Duration::from_secs(2),
    };
    let mut client = Client::new(config.clone()).unwrap();
    let error = client.ensure_enrolled(&request()).unwrap_err();
    assert!(
        matches!(error, UplinkError::Unreachable { .. }) && error.is_transient(),
        "{error}"
    );

    let handler: Arc<Handler> = Arc::new(|_: &Seen| (401, String::new()));
    let (url, _) = fake_center(handler);
    let mut client = Client::new(UplinkConfig {
        server: url,
        ..config.clone()
    })
    .unwrap();
    let error = client.ensure_enrolled(&request()).unwrap_err();
    assert!(
        matches!(error, UplinkError::Unauthorized { status: 401, .. }) && !error.is_transient(),
        "{error}"
    );

    let mut no_token = Client::new(UplinkConfig {
        token: None,
        state_dir: dir.path().join("other"),
        ..config.clone()
    })
    .unwrap();
    assert!(matches!(
        no_token.ensure_enrolled(&request()),
        Err(UplinkError::NoToken)
    ));

    // A CA file that holds no certificate is refused up front.
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    assert!(matches!(
        Client::new(UplinkConfig {
            ca_file: Some(ca),
            ..config
        }),
        Err(UplinkError::Tls(_))
    ));
}
