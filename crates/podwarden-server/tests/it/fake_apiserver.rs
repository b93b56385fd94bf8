//! A fake Kubernetes API server on a loopback port, serving the recorded objects under
//! `tests/data/k8s/` the way kube-apiserver does: paged pod and node lists (`limit` +
//! `continue`), single ReplicaSets, Jobs, Deployments and CronJobs, JSON Patch on workloads,
//! bearer-token authentication with a `Status` 401, and injectable failures (a `Status` 500,
//! a plain-text 502, a server that never answers). It records every request it receives.
//! Used by the integration tests and by the `cluster-sync` example (the benchmark).

#![allow(dead_code)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// The resource version every list reports.
const LIST_VERSION: &str = "490377";

/// The directory of the recorded objects.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join("k8s")
}

/// A recorded JSON file (a `...List` or a `Status`).
pub fn fixture(name: &str) -> Value {
    let path = data_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// The `items` of a recorded list.
pub fn fixture_items(name: &str) -> Vec<Value> {
    match fixture(name) {
        Value::Object(mut list) => match list.remove("items") {
            Some(Value::Array(items)) => items,
            _ => panic!("fixture {name} has no items"),
        },
        _ => panic!("fixture {name} is not an object"),
    }
}

/// How the server misbehaves.
#[derive(Debug, Clone)]
pub enum Failure {
    /// Every request gets this status and JSON body.
    Status(u16, Value),
    /// Every request gets this status and a non-JSON body (a proxy in front of the server).
    Text(u16, String),
    /// Requests are accepted and never answered.
    Hang,
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What the server serves and how it behaves; change it between syncs.
#[derive(Debug, Default)]
pub struct FakeState {
    /// The bearer token it accepts.
    pub token: String,
    /// Pods, serialised once (the list order is the order here).
    pods: Vec<Arc<str>>,
    pub nodes: Vec<Value>,
    /// Objects by (plural, namespace, name): replicasets, jobs, deployments, cronjobs.
    pub objects: HashMap<(String, String, String), Value>,
    /// Resources (plural) whose GET answers 403 Forbidden.
    pub forbidden: Vec<String>,
    pub failure: Option<Failure>,
    pub requests: Vec<Recorded>,
}

impl FakeState {
    /// Replaces the pods.
    pub fn set_pods(&mut self, pods: &[Value]) {
        self.pods = pods
            .iter()
            .map(|pod| Arc::from(pod.to_string().as_str()))
            .collect();
    }

    /// Adds objects of a `...List` (or a plain vector) under `plural`.
    pub fn add_objects(&mut self, plural: &str, items: Vec<Value>) {
        for item in items {
            let ns = item["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = item["metadata"]["name"].as_str().unwrap_or_default();
            self.objects
                .insert((plural.to_string(), ns.to_string(), name.to_string()), item);
        }
    }

    /// The recorded objects: pods, nodes, replicasets, jobs, deployments, cronjobs.
    pub fn load_recorded(&mut self) {
        self.set_pods(&fixture_items("pods.json"));
        self.nodes = fixture_items("nodes.json");
        self.add_objects("replicasets", fixture_items("replicasets.json"));
        self.add_objects("jobs", fixture_items("jobs.json"));
        self.add_objects("deployments", fixture_items("deployments.json"));
        self.add_objects("cronjobs", fixture_items("cronjobs.json"));
    }

    /// Requests with this method whose path starts with `prefix`.
    pub fn requests_to(&self, method: &str, prefix: &str) -> Vec<Recorded> {
        self.requests
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(prefix))
            .cloned()
            .collect()
    }
}

/// A running fake API server; stops when dropped.
pub struct FakeApiServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeApiServer {
    /// Starts a server accepting `token`, serving the recorded objects.
    pub async fn start(token: &str) -> FakeApiServer {
        let mut state = FakeState {
            token: token.to_string(),
            ..FakeState::default()
        };
        state.load_recorded();
        FakeApiServer::start_with(state).await
    }

    /// Starts a server with the given state.
    pub async fn start_with(state: FakeState) -> FakeApiServer {
        let state = Arc::new(Mutex::new(state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"));
        let shared = state.clone();
        let router = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move { handle(state, method, uri, headers, body).await }
            },
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeApiServer { addr, state, task }
    }

    /// The state (to change what is served, or read the recorded requests).
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A kubeconfig for this server with `token`.
    pub fn kubeconfig(&self, token: &str) -> String {
        kubeconfig(&format!("http://{}", self.addr), token)
    }
}

/// A kubeconfig pointing at `server` with a bearer `token`.
pub fn kubeconfig(server: &str, token: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {server}
contexts:
- name: fake-admin
  context:
    cluster: fake
    user: admin
    namespace: default
current-context: fake-admin
users:
- name: admin
  user:
    token: {token}
"
    )
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn status(code: u16, reason: &str, message: String) -> Response {
    let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code});
    json(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body.to_string(),
    )
}

fn not_found(plural: &str, group: &str, name: &str) -> Response {
    let mut body = fixture("status-404.json");
    let message = format!("{plural}.{group} \"{name}\" not found").replace(".\"", " \"");
    body["message"] = Value::String(message);
    body["details"] = serde_json::json!({"name": name, "group": group, "kind": plural});
    json(StatusCode::NOT_FOUND, body.to_string())
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// An opaque continue token (hex of the JSON kube-apiserver encodes in base64).
fn continue_token(offset: usize) -> String {
    hex::encode(format!(
        "{{\"v\":\"meta.k8s.io/v1\",\"rv\":{LIST_VERSION},\"start\":{offset}}}"
    ))
}

fn offset_of(token: &str) -> Option<usize> {
    let text = String::from_utf8(hex::decode(token).ok()?).ok()?;
    let start = text.split("\"start\":").nth(1)?;
    start.trim_end_matches('}').parse().ok()
}

/// One page of a list, as kube-apiserver writes it.
fn list_page(kind: &str, items: &[Arc<str>], query: &str) -> Response {
    let limit = query_param(query, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let offset = match query_param(query, "continue") {
        None => 0,
        Some(token) => match offset_of(token) {
            Some(offset) => offset,
            None => {
                return status(
                    400,
                    "BadRequest",
                    "the provided continue parameter is too old to display a consistent list result"
                        .to_string(),
                );
            }
        },
    };
    let end = offset.saturating_add(limit).min(items.len());
    let page = items.get(offset..end).unwrap_or_default();
    let mut body = String::with_capacity(page.iter().map(|p| p.len() + 1).sum::<usize>() + 200);
    body.push_str("{\"apiVersion\":\"v1\",\"items\":[");
    for (i, item) in page.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str("],\"kind\":\"");
    body.push_str(kind);
    body.push_str("\",\"metadata\":{");
    if end < items.len() {
        body.push_str(&format!(
            "\"continue\":\"{}\",\"remainingItemCount\":{},",
            continue_token(end),
            items.len() - end
        ));
    }
    body.push_str(&format!("\"resourceVersion\":\"{LIST_VERSION}\"}}}}"));
    json(StatusCode::OK, body)
}

async fn handle(
    state: Arc<Mutex<FakeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (failure, authorized) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push(Recorded {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            content_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: body.to_vec(),
        });
        let expected = format!("Bearer {}", s.token);
        let authorized = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == expected);
        (s.failure.clone(), authorized)
    };
    match failure {
        Some(Failure::Hang) => {
            std::future::pending::<()>().await;
        }
        Some(Failure::Status(code, body)) => {
            return json(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body.to_string(),
            );
        }
        Some(Failure::Text(code, text)) => {
            return (
                StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY),
                [(header::CONTENT_TYPE, "text/html")],
                Body::from(text),
            )
                .into_response();
        }
        None => {}
    }
    if !authorized {
        return json(
            StatusCode::UNAUTHORIZED,
            fixture("status-401.json").to_string(),
        );
    }
    let query = uri.query().unwrap_or_default().to_string();
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let s = state.lock().unwrap_or_else(|e| e.into_inner());
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["api", "v1", "pods"]) => list_page("PodList", &s.pods, &query),
        ("GET", ["api", "v1", "nodes"]) => {
            let nodes: Vec<Arc<str>> = s
                .nodes
                .iter()
                .map(|n| Arc::from(n.to_string().as_str()))
                .collect();
            list_page("NodeList", &nodes, &query)
        }
        (verb @ ("GET" | "PATCH"), ["apis", group, _version, "namespaces", ns, plural, name]) => {
            if verb == "GET" && s.forbidden.iter().any(|f| f == plural) {
                let mut forbidden = fixture("status-403-replicaset.json");
                let message = forbidden["message"]
                    .as_str()
                    .unwrap_or_default()
                    .replace("NAME", name)
                    .replace("NAMESPACE", ns)
                    .replace("replicasets", plural);
                forbidden["message"] = Value::String(message);
                return json(StatusCode::FORBIDDEN, forbidden.to_string());
            }
            let key = (plural.to_string(), ns.to_string(), name.to_string());
            match s.objects.get(&key) {
                None => not_found(plural, group, name),
                Some(object) => {
                    if verb == "PATCH"
                        && headers
                            .get(header::CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            != Some("application/json-patch+json")
                    {
                        return status(
                            415,
                            "UnsupportedMediaType",
                            "the body of the request was in an unknown format".to_string(),
                        );
                    }
                    json(StatusCode::OK, object.to_string())
                }
            }
        }
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource".to_string(),
        ),
    }
}

/// `n` pods shaped like the first recorded pod, 20 per Deployment (so `n / 20` ReplicaSets),
/// spread over the two recorded virtual nodes; and their ReplicaSets.
pub fn generate(n: usize) -> (Vec<Value>, Vec<Value>) {
    let pod_template = fixture_items("pods.json")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("pods.json has no pods"));
    let rs_template = fixture_items("replicasets.json")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("replicasets.json has no ReplicaSets"));
    let nodes = ["virtual-kubelet-cn-hangzhou-i", "vk-eci-01"];
    let mut pods = Vec::with_capacity(n);
    let mut replicasets = Vec::new();
    for i in 0..n {
        let deployment = i / 20;
        let rs_name = format!("web{deployment:04}-7c9f8d6b5");
        let rs_uid = format!("00000000-0000-4000-a000-{deployment:012}");
        if i % 20 == 0 {
            let mut rs = rs_template.clone();
            rs["metadata"]["name"] = Value::String(rs_name.clone());
            rs["metadata"]["uid"] = Value::String(rs_uid.clone());
            rs["metadata"]["ownerReferences"][0]["name"] =
                Value::String(format!("web{deployment:04}"));
            replicasets.push(rs);
        }
        let mut pod = pod_template.clone();
        let name = format!("{rs_name}-{i:05}");
        pod["metadata"]["name"] = Value::String(name);
        pod["metadata"]["generateName"] = Value::String(format!("{rs_name}-"));
        pod["metadata"]["uid"] = Value::String(format!("11111111-0000-4000-a000-{i:012}"));
        pod["metadata"]["ownerReferences"][0]["name"] = Value::String(rs_name);
        pod["metadata"]["ownerReferences"][0]["uid"] = Value::String(rs_uid);
        pod["spec"]["nodeName"] = Value::String(nodes[i % 2].to_string());
        pods.push(pod);
    }
    (pods, replicasets)
}
