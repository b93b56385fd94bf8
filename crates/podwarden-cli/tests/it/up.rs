//! End-to-end test of `podwarden up`, the main job: the real binary on a free port with a temp
//! data directory; the host agent comes online, a miner-like process started by the test and
//! a webshell dropped into the web root raise alerts that the API lists; SIGTERM stops the
//! agent and the center cleanly; a second start on the same data directory prints the same
//! admin token and finds the same asset.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long anything may take to show up before the test gives up.
const PATIENCE: Duration = Duration::from_secs(90);

/// A running `podwarden up`, killed if the test ends early.
struct Up {
    child: Child,
    base: String,
    token: String,
    stderr_log: std::path::PathBuf,
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Up {
    /// Starts `podwarden up` and reads its banner for the console URL and the admin token.
    fn start(data: &Path, bootstrap_token: Option<&str>) -> Up {
        let stderr_log = data.with_extension("stderr.log");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_log)
            .unwrap_or_else(|e| panic!("{}: {e}", stderr_log.display()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_podwarden"));
        command
            .args(["up", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            // No OSV database from the developer's cache: the run is the same everywhere.
            .env("PODWARDEN_DB", data.with_extension("no-osv-db"))
            .env_remove("PODWARDEN_BOOTSTRAP_TOKEN")
            .env_remove("PODWARDEN_CONTAINER_TYPE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        if let Some(token) = bootstrap_token {
            command.env("PODWARDEN_BOOTSTRAP_TOKEN", token);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("podwarden up runs: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut lines = BufReader::new(stdout).lines();
        let (mut base, mut token) = (None, None);
        for line in lines.by_ref() {
            let line = line.unwrap_or_default();
            if let Some(url) = line.trim().strip_prefix("Console:") {
                base = Some(url.trim().trim_end_matches('/').to_string());
            }
            if let Some(t) = line.trim().strip_prefix("Admin token:") {
                token = Some(t.trim().to_string());
            }
            if line.starts_with("Ctrl-C") {
                break;
            }
        }
        // Keep draining standard output so that `up` never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let log = std::fs::read_to_string(&stderr_log).unwrap_or_default();
        let base = base.unwrap_or_else(|| panic!("no console URL printed; stderr:\n{log}"));
        let token = token.unwrap_or_else(|| panic!("no admin token printed; stderr:\n{log}"));
        Up {
            child,
            base,
            token,
            stderr_log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// `GET path` with the admin token; the status and the JSON body.
    fn get(&self, path: &str) -> (u16, Value) {
        let host = self.base.trim_start_matches("http://");
        match crate::http::send(host, "GET", path, Some(&self.token), &[], "") {
            Ok(response) => (response.status, response.json()),
            Err(_) => (0, Value::Null),
        }
    }

    /// Polls `path` until `found` picks something out of the body.
    fn wait_for<T>(&self, what: &str, path: &str, found: impl Fn(&Value) -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            let (status, body) = self.get(path);
            if status == 200
                && let Some(hit) = found(&body)
            {
                return hit;
            }
            last = body;
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "{what}: not seen within {PATIENCE:?}; last {path}: {last}\nstderr:\n{}",
            self.log()
        );
    }

    /// SIGTERM, then waits for a clean exit.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("kill: {e}"));
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let exit = loop {
            match self.child.try_wait() {
                Ok(Some(exit)) => break exit,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                other => panic!(
                    "podwarden up did not stop: {other:?}\nstderr:\n{}",
                    self.log()
                ),
            }
        };
        let log = self.log();
        assert!(exit.success(), "exit {exit}; stderr:\n{log}");
        assert!(
            log.contains("podwarden agent stopped"),
            "the agent did not stop cleanly:\n{log}"
        );
        assert!(log.trim_end().ends_with("podwarden up: stopped"), "{log}");
    }
}

fn items(body: &Value) -> impl Iterator<Item = &Value> {
    body["items"].as_array().into_iter().flatten()
}

#[test]
fn up_protects_this_machine() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let data = dir.path().join("data");
    let up = Up::start(&data, None);
    assert!(
        up.token.starts_with("pw_"),
        "generated admin token: {}",
        up.token
    );

    // The machine is an asset, its agent online, in host mode, bound (protection is on).
    let asset = up.wait_for("an online asset", "/api/v1/assets?agent=online", |body| {
        items(body).next().cloned()
    });
    assert_eq!(asset["agent"]["mode"], "host", "{asset}");
    assert_eq!(asset["bound"], true, "{asset}");
    let (_, protection) = up.get("/api/v1/protection");
    assert_eq!(protection["enabled"], true, "{protection}");

    // A miner-like process, alive for two seconds, named by a marker only this test uses.
    let marker = format!("stratum+tcp://pool-{}.example.com:3333", std::process::id());
    let status = Command::new("sh")
        .args(["-c", "sleep 2; :", "xmrig", "-o", &marker])
        .status()
        .unwrap_or_else(|e| panic!("sh: {e}"));
    assert!(status.success());
    let alert = up.wait_for("the miner alert", "/api/v1/alerts?type=process", |body| {
        items(body)
            .find(|a| {
                a["process_cmdline"]
                    .as_str()
                    .is_some_and(|c| c.contains(&marker))
            })
            .cloned()
    });
    assert_eq!(alert["rule_id"], "PW-PROC-002", "{alert}");
    assert_eq!(alert["asset"]["id"], asset["id"], "{alert}");

    // A webshell dropped into the web root `up` made.
    let shell = data.join("www/shell.php");
    std::fs::write(
        &shell,
        "<?php if (isset($_REQUEST['cmd'])) { system($_REQUEST['cmd']); } ?>\n",
    )
    .unwrap_or_else(|e| panic!("{}: {e}", shell.display()));
    up.wait_for(
        "the webshell alert",
        "/api/v1/alerts?type=webshell",
        |body| {
            items(body)
                .find(|a| {
                    a["file_path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with("shell.php"))
                })
                .cloned()
        },
    );
    let token = up.token.clone();
    up.stop();

    // Started again: the same token (saved in the data directory), the same single asset.
    let again = Up::start(&data, None);
    assert_eq!(again.token, token);
    let total = again.wait_for(
        "the asset online again",
        "/api/v1/assets?agent=online",
        |body| (body["total"].as_i64() == Some(1)).then_some(1),
    );
    assert_eq!(total, 1);
    again.stop();
}

#[test]
fn up_takes_the_bootstrap_token() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let token = "pw_up_test_bootstrap_token_0123456789";
    let up = Up::start(&dir.path().join("data"), Some(token));
    assert_eq!(up.token, token);
    let (status, _) = up.get("/api/v1/assets");
    assert_eq!(status, 200);
    up.stop();
}
