//! The channel to the center: enrolment (per-agent credential kept on disk, mode 0600, so a
//! restart does not enrol again), heartbeats with the agent's status, batched uploads and
//! commands, over HTTP(S) with rustls; plus exponential backoff with jitter and the outbox
//! that keeps uploads other than detections (command results, inventories, the pod spec)
//! across restarts until the center has them.

use podwarden_api::agent::{EnrollRequest, EnrollResponse, HeartbeatResponse};
use podwarden_api::uplink::{
    AgentStatus, Command, CommandResults, EventBatch, EventBatchResponse, InventoryUpload,
    PodSpecUpload,
};
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest response body read from the center.
const MAX_RESPONSE: u64 = 8 << 20;

/// Why a call to the center failed.
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    #[error("center unreachable at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("{url}: the center refused the credential (HTTP {status})")]
    Unauthorized { url: String, status: u16 },
    #[error("{url}: not found (HTTP 404): the center does not offer this route yet")]
    NotFound { url: String },
    #[error("{url}: the request is too large (HTTP 413)")]
    TooLarge { url: String },
    #[error("{url}: the center rejected the request (HTTP {status}): {body}")]
    Rejected {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: the center failed (HTTP {status}): {body}")]
    Server {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: unexpected answer: {message}")]
    BadResponse { url: String, message: String },
    #[error("no enrolment token: the agent has no stored credential and --token is not set")]
    NoToken,
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS setup: {0}")]
    Tls(String),
}

impl UplinkError {
    /// Whether retrying later may help (the center is away or failing).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            UplinkError::Unreachable { .. }
                | UplinkError::Server { .. }
                | UplinkError::NotFound { .. }
        )
    }
}

/// Settings of the channel.
#[derive(Debug, Clone)]
pub struct UplinkConfig {
    /// Base URL of the center (`https://center.example:8443`).
    pub server: String,
    /// The tenant's enrolment token (`pwe_...`), needed only until a credential is stored.
    pub token: Option<String>,
    /// Extra CA certificates (PEM) trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Where the credential is kept.
    pub state_dir: PathBuf,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// The per-agent credential, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCredential {
    /// The center it belongs to.
    pub server: String,
    pub agent_id: i64,
    pub asset_id: i64,
    pub credential: String,
    pub heartbeat_interval_secs: u64,
}

/// The file the credential is kept in.
pub fn credential_path(state_dir: &Path) -> PathBuf {
    state_dir.join("credential.json")
}

/// Reads the stored credential for `server`; `None` when absent, unreadable or for another.
pub fn load_credential(state_dir: &Path, server: &str) -> Option<StoredCredential> {
    let bytes = fs::read(credential_path(state_dir)).ok()?;
    let stored: StoredCredential = serde_json::from_slice(&bytes).ok()?;
    (stored.server == server).then_some(stored)
}

/// Writes the credential atomically with mode 0600 (state directory 0700).
pub fn store_credential(
    state_dir: &Path,
    credential: &StoredCredential,
) -> Result<(), UplinkError> {
    fs::create_dir_all(state_dir).map_err(|source| UplinkError::Io {
        action: "create",
        path: state_dir.to_path_buf(),
        source,
    })?;
    let _ = fs::set_permissions(state_dir, fs::Permissions::from_mode(0o700));
    let bytes = serde_json::to_vec_pretty(credential).unwrap_or_default();
    write_private(&credential_path(state_dir), &bytes)
}

/// Writes a file atomically with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), UplinkError> {
    let staging = path.with_extension("tmp");
    let err = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| UplinkError::Io {
            action,
            path: p,
            source,
        }
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&staging)
        .map_err(err("create", &staging))?;
    file.write_all(bytes).map_err(err("write", &staging))?;
    file.sync_all().map_err(err("sync", &staging))?;
    fs::rename(&staging, path).map_err(err("rename", path))?;
    if let Some(dir) = path.parent().and_then(|d| fs::File::open(d).ok()) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Exponential backoff with jitter: the n-th delay is drawn in `[d/2, d]` with
/// `d = min(cap, base * 2^n)`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
    state: u64,
}

impl Backoff {
    /// A backoff from `base` up to `cap`.
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        let seed = getrandom::u64().unwrap_or(0x9E37_79B9_7F4A_7C15) | 1;
        Backoff {
            base,
            cap: cap.max(base),
            attempt: 0,
            state: seed,
        }
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 1u64 << self.attempt.min(30);
        let ceiling = self
            .base
            .saturating_mul(u32::try_from(factor).unwrap_or(u32::MAX))
            .min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        // xorshift64*: jitter only, not security.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let random = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let ceiling_ms = u64::try_from(ceiling.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let half = ceiling_ms / 2;
        Duration::from_millis(half + random % (ceiling_ms - half + 1))
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Failures since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// An HTTP client of the center.
#[derive(Debug)]
pub struct Client {
    http: reqwest::blocking::Client,
    config: UplinkConfig,
    credential: Option<StoredCredential>,
    /// Whether the center accepts `status` in heartbeats (learned on the first refusal).
    heartbeat_status: bool,
}

#[derive(Serialize)]
struct HeartbeatBody<'a> {
    agent_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a AgentStatus>,
}

impl Client {
    /// A client; reads the CA file and a stored credential.
    pub fn new(config: UplinkConfig) -> Result<Client, UplinkError> {
        // reqwest is built without a default crypto provider; ring is the one we ship.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::blocking::Client::builder()
            .user_agent(concat!("podwarden-agent/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .timeout(config.timeout)
            .pool_max_idle_per_host(1);
        if let Some(path) = &config.ca_file {
            let pem = fs::read(path).map_err(|source| UplinkError::Io {
                action: "read CA file",
                path: path.clone(),
                source,
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| UplinkError::Tls(format!("{}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(UplinkError::Tls(format!(
                    "{}: no PEM certificate in it",
                    path.display()
                )));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| UplinkError::Tls(e.to_string()))?;
        let credential = load_credential(&config.state_dir, &config.server);
        Ok(Client {
            http,
            config,
            credential,
            heartbeat_status: true,
        })
    }

    /// The credential in use, if enrolled.
    pub fn credential(&self) -> Option<&StoredCredential> {
        self.credential.as_ref()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.server.trim_end_matches('/'))
    }

    /// Sends a request and reads the answer: `Ok(body)` on 2xx, an error otherwise.
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, UplinkError> {
        let url = self.url(path);
        let mut request = self.http.request(method, &url).bearer_auth(bearer);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request.send().map_err(|e| UplinkError::Unreachable {
            url: url.clone(),
            message: error_chain(&e),
        })?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        response
            .take(MAX_RESPONSE)
            .read_to_end(&mut bytes)
            .map_err(|e| UplinkError::Unreachable {
                url: url.clone(),
                message: e.to_string(),
            })?;
        let text = || {
            String::from_utf8_lossy(bytes.get(..bytes.len().min(500)).unwrap_or_default())
                .into_owned()
        };
        match status {
            200..=299 => Ok(bytes),
            401 | 403 => Err(UplinkError::Unauthorized { url, status }),
            404 => Err(UplinkError::NotFound { url }),
            413 => Err(UplinkError::TooLarge { url }),
            400..=499 if status != 408 && status != 429 => Err(UplinkError::Rejected {
                url,
                status,
                body: text(),
            }),
            _ => Err(UplinkError::Server {
                url,
                status,
                body: text(),
            }),
        }
    }

    fn parse<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        bytes: &[u8],
    ) -> Result<T, UplinkError> {
        serde_json::from_slice(bytes).map_err(|e| UplinkError::BadResponse {
            url: self.url(path),
            message: e.to_string(),
        })
    }

    /// Enrols with the enrolment token unless a credential for this center is stored.
    pub fn ensure_enrolled(
        &mut self,
        request: &EnrollRequest,
    ) -> Result<StoredCredential, UplinkError> {
        if let Some(credential) = &self.credential {
            return Ok(credential.clone());
        }
        let token = self
            .config
            .token
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or(UplinkError::NoToken)?;
        let body = serde_json::to_vec(request).unwrap_or_default();
        let answer = self.call(
            reqwest::Method::POST,
            "/agent/v1/enroll",
            &token,
            Some(body),
        )?;
        let enrolled: EnrollResponse = self.parse("/agent/v1/enroll", &answer)?;
        let stored = StoredCredential {
            server: self.config.server.clone(),
            agent_id: enrolled.agent_id,
            asset_id: enrolled.asset_id,
            credential: enrolled.credential,
            heartbeat_interval_secs: enrolled.heartbeat_interval_secs,
        };
        store_credential(&self.config.state_dir, &stored)?;
        self.credential = Some(stored.clone());
        Ok(stored)
    }

    /// Forgets the credential (the center refused it): the next call enrols again.
    pub fn drop_credential(&mut self) {
        self.credential = None;
        let _ = fs::remove_file(credential_path(&self.config.state_dir));
    }

    fn bearer(&self) -> Result<String, UplinkError> {
        self.credential
            .as_ref()
            .map(|c| c.credential.clone())
            .ok_or(UplinkError::NoToken)
    }

    /// A heartbeat carrying the status (or only the version, for a center that refuses it).
    pub fn heartbeat(&mut self, status: &AgentStatus) -> Result<HeartbeatResponse, UplinkError> {
        let bearer = self.bearer()?;
        let version = env!("CARGO_PKG_VERSION");
        let body = HeartbeatBody {
            agent_version: version,
            status: self.heartbeat_status.then_some(status),
        };
        let result = self.call(
            reqwest::Method::POST,
            "/agent/v1/heartbeat",
            &bearer,
            Some(serde_json::to_vec(&body).unwrap_or_default()),
        );
        let answer = match result {
            Err(UplinkError::Rejected { .. }) if self.heartbeat_status => {
                self.heartbeat_status = false;
                let plain = HeartbeatBody {
                    agent_version: version,
                    status: None,
                };
                self.call(
                    reqwest::Method::POST,
                    "/agent/v1/heartbeat",
                    &bearer,
                    Some(serde_json::to_vec(&plain).unwrap_or_default()),
                )?
            }
            other => other?,
        };
        self.parse("/agent/v1/heartbeat", &answer)
    }

    /// Uploads a batch of detections.
    pub fn send_events(
        &self,
        batch: &EventBatch,
    ) -> Result<Option<EventBatchResponse>, UplinkError> {
        let answer = self.call(
            reqwest::Method::POST,
            "/agent/v1/events",
            &self.bearer()?,
            Some(serde_json::to_vec(batch).unwrap_or_default()),
        )?;
        // The counts are informative only: an answer that does not parse still means success.
        Ok(serde_json::from_slice(&answer).ok())
    }

    /// Uploads an outbox item to its route (already serialised JSON).
    pub fn send_raw(&self, route: &str, body: Vec<u8>) -> Result<(), UplinkError> {
        self.call(reqwest::Method::POST, route, &self.bearer()?, Some(body))
            .map(|_| ())
    }

    /// Commands waiting for this agent (`[...]` or `{"commands": [...]}`).
    pub fn fetch_commands(&self) -> Result<Vec<Command>, UplinkError> {
        let answer = self.call(
            reqwest::Method::GET,
            "/agent/v1/commands",
            &self.bearer()?,
            None,
        )?;
        let value: serde_json::Value = self.parse("/agent/v1/commands", &answer)?;
        let list = match value {
            serde_json::Value::Array(_) => value,
            serde_json::Value::Object(mut map) => map
                .remove("commands")
                .unwrap_or(serde_json::Value::Array(Vec::new())),
            _ => serde_json::Value::Array(Vec::new()),
        };
        let items = match list {
            serde_json::Value::Array(items) => items,
            _ => Vec::new(),
        };
        // A command this agent does not understand is skipped, not fatal.
        Ok(items
            .into_iter()
            .filter_map(|item| serde_json::from_value::<Command>(item).ok())
            .collect())
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Routes of the outbox kinds.
pub const ROUTE_RESULTS: &str = "/agent/v1/commands";
pub const ROUTE_INVENTORY: &str = "/agent/v1/inventory";
pub const ROUTE_PODSPEC: &str = "/agent/v1/podspec";

/// Uploads other than detections, kept on disk until delivered: one JSON file per item,
/// `<order>-<kind>-<name>.json`; an item with the same kind and name replaces the older one
/// (the newest inventory of a container is all that matters).
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    max_bytes: u64,
}

/// One item waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub path: PathBuf,
    pub route: &'static str,
}

impl Outbox {
    /// Opens (creating) the outbox directory.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Outbox, UplinkError> {
        fs::create_dir_all(dir).map_err(|source| UplinkError::Io {
            action: "create",
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Outbox {
            dir: dir.to_path_buf(),
            max_bytes,
        })
    }

    fn route_of(kind: &str) -> Option<&'static str> {
        match kind {
            "results" => Some(ROUTE_RESULTS),
            "inventory" => Some(ROUTE_INVENTORY),
            "podspec" => Some(ROUTE_PODSPEC),
            _ => None,
        }
    }

    /// Stores command results (each batch is its own item).
    pub fn put_results(&self, results: &CommandResults, order: u64) -> Result<(), UplinkError> {
        self.put(
            "results",
            &format!("{order:020}"),
            order,
            &serde_json::to_vec(results).unwrap_or_default(),
        )
    }

    /// Stores a container's inventory, replacing an older one of that container.
    pub fn put_inventory(&self, upload: &InventoryUpload, order: u64) -> Result<(), UplinkError> {
        self.put(
            "inventory",
            &sanitize(&upload.container),
            order,
            &serde_json::to_vec(upload).unwrap_or_default(),
        )
    }

    /// Stores the pod spec, replacing an older one.
    pub fn put_podspec(&self, upload: &PodSpecUpload, order: u64) -> Result<(), UplinkError> {
        self.put(
            "podspec",
            "pod",
            order,
            &serde_json::to_vec(upload).unwrap_or_default(),
        )
    }

    fn put(&self, kind: &str, name: &str, order: u64, bytes: &[u8]) -> Result<(), UplinkError> {
        let suffix = format!("-{kind}-{name}.json");
        let mut used = 0u64;
        for item in self.entries() {
            let file_name = item
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if file_name.ends_with(&suffix) {
                let _ = fs::remove_file(&item);
            } else {
                used += fs::metadata(&item).map(|m| m.len()).unwrap_or(0);
            }
        }
        if used + bytes.len() as u64 > self.max_bytes {
            return Err(UplinkError::Io {
                action: "store in the outbox (full)",
                path: self.dir.clone(),
                source: std::io::Error::other(format!(
                    "outbox holds {used} bytes, bound {}",
                    self.max_bytes
                )),
            });
        }
        write_private(&self.dir.join(format!("{order:020}{suffix}")), bytes)
    }

    fn entries(&self) -> Vec<PathBuf> {
        let mut items: Vec<PathBuf> = fs::read_dir(&self.dir)
            .map(|list| {
                list.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        items.sort();
        items
    }

    /// Items in order (results first, oldest first).
    pub fn items(&self) -> Vec<OutboxItem> {
        let mut items: Vec<OutboxItem> = self
            .entries()
            .into_iter()
            .filter_map(|path| {
                let name = path.file_name()?.to_string_lossy().into_owned();
                let kind = name.split('-').nth(1)?;
                let route = Outbox::route_of(kind)?;
                Some(OutboxItem { path, route })
            })
            .collect();
        items.sort_by_key(|item| (item.route != ROUTE_RESULTS, item.path.clone()));
        items
    }

    /// An item's body (bounded).
    pub fn read(&self, item: &OutboxItem) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        fs::File::open(&item.path)
            .ok()?
            .take(self.max_bytes)
            .read_to_end(&mut bytes)
            .ok()?;
        Some(bytes)
    }

    /// Delivered: remove it.
    pub fn remove(&self, item: &OutboxItem) {
        let _ = fs::remove_file(&item.path);
    }
}

fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if cleaned.is_empty() {
        "_".to_string()
    } else {
        cleaned
    }
}
