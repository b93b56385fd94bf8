//! End-to-end tests of `podwarden server`: the real binary on a free port with a temporary
//! SQLite file, spoken to over HTTP; bootstrap tokens, restarts, graceful SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const TOKEN: &str = "pw_e2e_bootstrap_token_0123456789abcdef";

struct Running {
    child: Child,
    addr: String,
    /// Everything the server printed on stdout before it said where it listens.
    banner: Vec<String>,
}

fn start(dir: &Path, bootstrap_token: Option<&str>) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_podwarden"));
    command
        .args(["server", "--listen", "127.0.0.1:0", "--database"])
        .arg(format!("sqlite://{}/pw.db", dir.display()))
        .env_remove("PODWARDEN_CONFIG")
        .env_remove("PODWARDEN_DATABASE")
        .env_remove("PODWARDEN_LISTEN")
        .env("PODWARDEN_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    match bootstrap_token {
        Some(token) => command.env("PODWARDEN_BOOTSTRAP_TOKEN", token),
        None => command.env_remove("PODWARDEN_BOOTSTRAP_TOKEN"),
    };
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn podwarden: {e}"));
    let mut running = Running {
        child,
        addr: String::new(),
        banner: Vec::new(),
    };
    let stdout = running
        .child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout"));
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = receive
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("server did not start ({e}); printed {:?}", running.banner));
        if let Some(addr) = line.strip_prefix("podwarden server listening on http://") {
            running.addr = addr.to_string();
            return running;
        }
        running.banner.push(line);
    }
}

impl Drop for Running {
    /// A test that fails half-way still leaves no server behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Running {
    /// Sends SIGTERM and waits for a clean exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "server exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("server did not stop within 30 s of SIGTERM");
    }

    fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let response = crate::http::send(&self.addr, method, path, token, &[], body.unwrap_or(""))
            .unwrap_or_else(|e| panic!("{e}"));
        (response.status, response.json())
    }
}

#[test]
fn server_over_http_with_a_bootstrap_token() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let server = start(dir.path(), Some(TOKEN));
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("PODWARDEN_BOOTSTRAP_TOKEN")),
        "{:?}",
        server.banner
    );
    assert!(
        !server.banner.iter().any(|l| l.contains(TOKEN)),
        "the given token is never printed"
    );

    let (status, body) = server.http("GET", "/healthz", None, None);
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    assert_eq!(server.http("GET", "/api/v1/assets", None, None).0, 401);
    assert_eq!(
        server
            .http("GET", "/api/v1/assets", Some("pw_wrong"), None)
            .0,
        401
    );
    let (status, protection) = server.http(
        "PUT",
        "/api/v1/protection",
        Some(TOKEN),
        Some(r#"{"enabled": true}"#),
    );
    assert_eq!(status, 200, "{protection}");
    assert_eq!(protection["binding"]["rule"], "first-enable-all");

    let (status, created) = server.http("POST", "/api/v1/enrollment-tokens", Some(TOKEN), None);
    assert_eq!(status, 201, "{created}");
    let enrollment = created["token"].as_str().unwrap_or_default().to_string();
    let (status, enrolled) = server.http(
        "POST",
        "/agent/v1/enroll",
        Some(&enrollment),
        Some(r#"{"agent_version":"0.1.0","mode":"host","hostname":"e2e-host"}"#),
    );
    assert_eq!(status, 200, "{enrolled}");
    let credential = enrolled["credential"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (status, beat) = server.http(
        "POST",
        "/agent/v1/heartbeat",
        Some(&credential),
        Some(r#"{"agent_version":"0.1.0"}"#),
    );
    assert_eq!(status, 200, "{beat}");
    assert_eq!(
        beat["protection_active"], true,
        "auto-add bound the new asset: {beat}"
    );
    let (_, assets) = server.http("GET", "/api/v1/assets?agent=online", Some(TOKEN), None);
    assert_eq!(assets["total"], 1, "{assets}");
    let (status, metrics) = server.http("GET", "/metrics", Some(TOKEN), None);
    assert_eq!(status, 200);
    assert!(
        metrics
            .as_str()
            .is_some_and(|m| m.contains("podwarden_agents_online 1")),
        "{metrics}"
    );
    server.stop();

    // A restart with the same token is idempotent: no new tenant, the data is still there.
    let server = start(dir.path(), Some(TOKEN));
    assert!(server.banner.is_empty(), "{:?}", server.banner);
    let (status, assets) = server.http("GET", "/api/v1/assets", Some(TOKEN), None);
    assert_eq!(
        (status, assets["total"].as_i64()),
        (200, Some(1)),
        "{assets}"
    );
    let (_, tenants) = server.http("GET", "/api/v1/tenants", Some(TOKEN), None);
    assert_eq!(tenants.as_array().map(Vec::len), Some(1), "{tenants}");
    server.stop();
}

#[test]
fn first_start_prints_the_admin_token_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let server = start(dir.path(), None);
    let token = server
        .banner
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("pw_"))
        .unwrap_or_else(|| panic!("no token in {:?}", server.banner))
        .to_string();
    assert_eq!(
        server
            .http("GET", "/api/v1/protection", Some(&token), None)
            .0,
        200
    );
    server.stop();
    let server = start(dir.path(), None);
    assert!(
        !server.banner.iter().any(|l| l.contains("pw_")),
        "printed again: {:?}",
        server.banner
    );
    assert_eq!(
        server
            .http("GET", "/api/v1/protection", Some(&token), None)
            .0,
        200
    );
    server.stop();
}

#[test]
fn bad_settings_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["server", "--config", "/nonexistent/podwarden.toml"],
            "/nonexistent/podwarden.toml",
        ),
        (&["server", "--listen", "not-an-address"], "listen"),
        (
            &[
                "server",
                "--database",
                "mysql://x/y",
                "--listen",
                "127.0.0.1:0",
            ],
            "expected sqlite://PATH or postgres://",
        ),
    ];
    for (args, fragment) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_podwarden"))
            .args(*args)
            .env_remove("PODWARDEN_BOOTSTRAP_TOKEN")
            .output()
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(fragment), "{args:?}: {stderr}");
    }
}
