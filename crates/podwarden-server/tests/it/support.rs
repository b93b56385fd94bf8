//! Test harness: a fresh database per test (a temp SQLite file, or a new PostgreSQL database
//! when `PODWARDEN_TEST_POSTGRES_URL` is set), a manual clock, and request helpers.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use podwarden_server::clock::ManualClock;
use podwarden_server::config::{ConfigFile, Settings};
use podwarden_server::store::tenants::Bootstrap;
use podwarden_server::store::{Db, Store, TenantId};
use podwarden_server::{AppState, app};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;

/// 2024-01-02T00:00:00+08:00 (midnight in the default time zone).
pub const T0: i64 = 1_704_124_800_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;

/// The operator token every test environment bootstraps with.
pub const OPERATOR_TOKEN: &str = "pw_test_operator_token_0123456789";

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

/// SQLite always; PostgreSQL too when `PODWARDEN_TEST_POSTGRES_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if let Ok(url) = std::env::var("PODWARDEN_TEST_POSTGRES_URL")
        && !url.is_empty()
    {
        all.push(Backend::Postgres(url));
    }
    all
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A test environment: store, app, clock, operator tenant.
pub struct Env {
    pub store: Store,
    pub app: Router,
    pub clock: Arc<ManualClock>,
    pub operator: TenantId,
    pub backend: Backend,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

/// Settings for tests: heartbeats every 10 minutes, online for 30 minutes after one.
pub fn test_config() -> ConfigFile {
    ConfigFile {
        heartbeat_interval_secs: Some(600),
        online_window_secs: Some(1800),
        ..ConfigFile::default()
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Env {
    /// A fresh environment with the test settings.
    pub async fn new(backend: &Backend) -> Env {
        Env::with_config(backend, test_config()).await
    }

    /// A fresh environment with the given settings (database chosen by `backend`).
    pub async fn with_config(backend: &Backend, mut config: ConfigFile) -> Env {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let (url, dir, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
                let url = format!("sqlite://{}/test.db", dir.path().display());
                (url, Some(dir), None)
            }
            Backend::Postgres(admin_url) => {
                sqlx::any::install_default_drivers();
                let name = format!("pw_it_{}_{n}", std::process::id());
                let admin = sqlx::AnyPool::connect(admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("connect {admin_url}: {e}"));
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name}"
                )))
                .execute(&admin)
                .await
                .unwrap_or_else(|e| panic!("drop database: {e}"));
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("create database: {e}"));
                admin.close().await;
                let url = replace_database(admin_url, &name);
                // The kubeconfig sealing key would default to ./podwarden-data (the crate's
                // source tree): keep it in a temporary directory like the SQLite database.
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
                if config.secrets_key_file.is_none() {
                    config.secrets_key_file =
                        Some(dir.path().join("secrets.key").display().to_string());
                }
                (url, Some(dir), Some((admin_url.clone(), name)))
            }
        };
        config.database = Some(url.clone());
        let settings = Settings::from_file(config).unwrap_or_else(|e| panic!("settings: {e}"));
        let db = Db::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connect {url}: {e}"));
        let clock = ManualClock::new(T0);
        let store = Store::new(db, clock.clone(), Arc::new(settings));
        let operator = match store.bootstrap(Some(OPERATOR_TOKEN)).await {
            Ok(Bootstrap::CreatedWithGivenToken { tenant }) => tenant,
            other => panic!("bootstrap: {other:?}"),
        };
        let app = app(AppState::new(store.clone()));
        Env {
            store,
            app,
            clock,
            operator,
            backend: backend.clone(),
            cleanup,
            _dir: dir,
        }
    }

    /// Closes the pools and drops a PostgreSQL test database.
    pub async fn finish(self) {
        self.store.db().close().await;
        if let Some((admin_url, name)) = self.cleanup
            && let Ok(admin) = sqlx::AnyPool::connect(&admin_url).await
        {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(&admin)
            .await;
            admin.close().await;
        }
    }

    /// Sends a request to the app; returns the status and the JSON body (Null if empty,
    /// a string if not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let body = body.map(|b| b.to_string());
        self.call_text(method, path, token, body.as_deref(), "application/json")
            .await
    }

    /// Like [`Env::call`] with a raw body and content type.
    pub async fn call_text(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        content_type: &str,
    ) -> (StatusCode, Value) {
        let (status, _, bytes) = self
            .call_raw(method, path, token, body, content_type, None)
            .await;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, value)
    }

    /// The full response: status, content type, body bytes.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        content_type: &str,
        accept: Option<&str>,
    ) -> (StatusCode, String, Vec<u8>) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header("content-type", content_type);
        }
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap_or_else(|e| panic!("request: {e}"));
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|e| panic!("oneshot: {e}"));
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = response
            .into_body()
            .collect()
            .await
            .unwrap_or_else(|e| panic!("body: {e}"))
            .to_bytes()
            .to_vec();
        (status, content_type, bytes)
    }

    /// Creates a tenant through the API; returns its id and admin token.
    pub async fn new_tenant(&self, name: &str) -> (TenantId, String) {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/tenants",
                Some(OPERATOR_TOKEN),
                Some(serde_json::json!({"name": name})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["tenant"]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{body}"));
        let token = body["admin_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        (TenantId(id), token)
    }

    /// Creates a token with `role` in the tenant of `admin`.
    pub async fn new_token(&self, admin: &str, role: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/tokens",
                Some(admin),
                Some(serde_json::json!({"name": format!("{role} token"), "role": role})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap_or_default().to_string()
    }

    /// Creates an enrolment token in the tenant of `admin`.
    pub async fn enrollment_token(&self, admin: &str) -> String {
        let (status, body) = self
            .call(Method::POST, "/api/v1/enrollment-tokens", Some(admin), None)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap_or_default().to_string()
    }

    /// Enrols a host-mode agent named `host`; returns (asset id, credential).
    pub async fn enroll(&self, enrollment: &str, pod_uid: &str, host: &str) -> (i64, String) {
        let (status, body) = self
            .call(
                Method::POST,
                "/agent/v1/enroll",
                Some(enrollment),
                Some(serde_json::json!({
                    "pod_uid": pod_uid, "pod_name": host, "pod_namespace": "default",
                    "agent_version": "0.1.0", "mode": "sidecar", "hostname": host
                })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (
            body["asset_id"].as_i64().unwrap_or_default(),
            body["credential"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// Sends a heartbeat with `credential`.
    pub async fn heartbeat(&self, credential: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/agent/v1/heartbeat",
            Some(credential),
            Some(serde_json::json!({"agent_version": "0.1.0"})),
        )
        .await
    }
}
