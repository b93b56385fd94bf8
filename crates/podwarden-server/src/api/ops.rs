//! Operations routes: `/healthz` (open), `/openapi.json` (any API token), `/metrics`
//! (operator admin token, Prometheus text format).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::fmt::Write as _;
use std::sync::Arc;

/// The OpenAPI document, rendered once at start.
#[derive(Debug, Clone)]
pub struct OpenApiDocument(pub String);

/// `GET /healthz` answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when the database answers.
    pub status: String,
}

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let ok = sqlx::query("SELECT 1")
        .execute(state.store.db().reader())
        .await
        .is_ok();
    let (status, text) = if ok {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    };
    (
        status,
        Json(Health {
            status: text.to_string(),
        }),
    )
        .into_response()
}

#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "This OpenAPI 3 document")),
    security(("bearer" = [])))]
pub async fn openapi_json(Extension(document): Extension<Arc<OpenApiDocument>>) -> Response {
    let mut response = document.0.clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format")),
    security(("bearer" = [])))]
pub async fn metrics(State(state): State<AppState>) -> ApiResult<Response> {
    let mut out = String::new();
    state.metrics.render_requests(&mut out);
    let (by_status, online) = state
        .store
        .asset_stats(None)
        .await
        .map_err(ApiError::from)?;
    out.push_str("# HELP podwarden_assets Assets by status (all tenants).\n");
    out.push_str("# TYPE podwarden_assets gauge\n");
    for (status, count) in &by_status {
        let _ = writeln!(out, "podwarden_assets{{status=\"{status}\"}} {count}");
    }
    out.push_str(
        "# HELP podwarden_agents_online Agents with a heartbeat within the online window.\n",
    );
    out.push_str("# TYPE podwarden_agents_online gauge\n");
    let _ = writeln!(out, "podwarden_agents_online {online}");
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
