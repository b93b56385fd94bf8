//! Helpers of the console tests: signing in through the form, fetching pages with the session
//! cookie, posting forms with the session's CSRF token, and seeding assets and alerts through
//! the store and the agent channel (the way real data arrives).

use crate::support::Env;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use podwarden_server::assets::{AssetStatus, ObservedPod, SourceKind};
use podwarden_server::store::TenantId;
use std::collections::BTreeMap;
use tower::ServiceExt;

/// A response: status, headers, body text.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The `Location` header (empty when absent).
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }
}

/// Sends a request to the app.
pub async fn send(
    env: &Env,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if body.is_some() {
        request = request.header("content-type", "application/x-www-form-urlencoded");
    }
    let request = request
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap_or_else(|e| panic!("request {path}: {e}"));
    let response = env
        .app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| panic!("oneshot {path}: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("body {path}: {e}"))
        .to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Encodes form fields.
pub fn form(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap_or_default()
}

/// A signed-in browser: the session cookie and the CSRF token of its forms.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// The value of `name="csrf"` in a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    html.find(marker)
        .and_then(|at| {
            let rest = &html[at + marker.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .unwrap_or_default()
}

/// The `pw_session=...` pair of a sign-in answer.
pub fn session_cookie(answer: &Answer) -> String {
    answer
        .set_cookies()
        .iter()
        .find(|c| c.starts_with("pw_session=") && !c.starts_with("pw_session=;"))
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
        .unwrap_or_default()
}

impl Session {
    /// Signs in with form `fields` (token, or username and password); panics unless it
    /// works.
    pub async fn sign_in(env: &Env, fields: &[(&str, &str)]) -> Session {
        let answer = send(env, Method::POST, "/login", &[], Some(form(fields))).await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "sign-in: {}",
            answer.body
        );
        let cookie = session_cookie(&answer);
        assert!(
            !cookie.is_empty(),
            "no session cookie: {:?}",
            answer.set_cookies()
        );
        let mut session = Session {
            cookie,
            csrf: String::new(),
        };
        let page = session.get(env, "/").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        session.csrf = csrf_of(&page.body);
        assert_eq!(session.csrf.len(), 64, "csrf token in the page");
        session
    }

    /// Signs in with an API token.
    pub async fn with_token(env: &Env, token: &str) -> Session {
        Session::sign_in(env, &[("token", token)]).await
    }

    /// GET with the session cookie.
    pub async fn get(&self, env: &Env, path: &str) -> Answer {
        send(env, Method::GET, path, &[("cookie", &self.cookie)], None).await
    }

    /// GET with extra headers.
    pub async fn get_with(&self, env: &Env, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut all = vec![("cookie", self.cookie.as_str())];
        all.extend_from_slice(headers);
        send(env, Method::GET, path, &all, None).await
    }

    /// POSTs a form with the session's CSRF token added.
    pub async fn post(&self, env: &Env, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        send(
            env,
            Method::POST,
            path,
            &[
                ("cookie", &self.cookie),
                ("origin", "http://console.test"),
                ("host", "console.test"),
            ],
            Some(form(&all)),
        )
        .await
    }

    /// POSTs a form exactly as given (no CSRF token added).
    pub async fn post_raw(
        &self,
        env: &Env,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Answer {
        let mut all = vec![("cookie", self.cookie.as_str())];
        all.extend_from_slice(headers);
        send(env, Method::POST, path, &all, Some(body)).await
    }
}

/// A running pod of the console tests.
pub fn pod(name: &str, namespace: &str, kind: SourceKind, millicores: i64) -> ObservedPod {
    ObservedPod {
        uid: format!("uid-{name}"),
        name: name.to_string(),
        namespace: namespace.to_string(),
        cluster: "prod".to_string(),
        source_kind: kind,
        owner_kind: Some("ReplicaSet".to_string()),
        owner_name: Some(format!("{name}-rs")),
        node_name: Some("virtual-node-1".to_string()),
        runtime_class: None,
        images: vec![format!("registry.example/{name}:1.0")],
        cpu_limit_millicores: Some(millicores),
        cpu_request_millicores: None,
        annotations: BTreeMap::from([("podwarden.io/agent".to_string(), "enabled".to_string())]),
        status: AssetStatus::Running,
        restart_count: 0,
        created_at_ms: Some(1_700_000_000_000),
    }
}

/// Seeds `n` assets of `tenant` from source `cluster:1`; returns nothing (ids via the list).
pub async fn seed_assets(env: &Env, tenant: TenantId, n: usize) {
    let pods: Vec<ObservedPod> = (0..n)
        .map(|i| {
            pod(
                &format!("web-{i:04}"),
                "shop",
                SourceKind::K8sServerless,
                500,
            )
        })
        .collect();
    env.store
        .upsert_assets_from_source(tenant, "cluster:1", pods)
        .await
        .unwrap_or_else(|e| panic!("seeding assets: {e}"));
}
