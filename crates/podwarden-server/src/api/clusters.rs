//! `/api/v1/clusters`: the tenant's Kubernetes clusters (asset sources). Adding one checks its
//! kubeconfig (YAML, current context, server URL, inline credentials only) and seals it; no
//! response ever carries the credentials. Writes need the admin role and are audited.

use super::extract::{ApiJson, ApiPath};
use crate::assets::SourceKind;
use crate::auth::middleware::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::clusters::{ClusterUpdate, ClusterView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// `POST /api/v1/clusters` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterRequest {
    pub name: String,
    /// `k8s-virtual-node`, `k8s-serverless`, `container-compute` or `app-engine`.
    pub source_kind: String,
    /// Kubeconfig YAML text; its current context is used. Only inline credentials
    /// (`token`, `client-certificate-data`/`client-key-data`, basic auth) are accepted.
    pub kubeconfig: String,
}

/// `PUT /api/v1/clusters/{id}` body: what to change.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterChange {
    pub name: Option<String>,
    pub source_kind: Option<String>,
    /// A replacement kubeconfig (credential rotation).
    pub kubeconfig: Option<String>,
}

/// What `DELETE /api/v1/clusters/{id}` did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClusterDeleted {
    pub id: i64,
    /// Its assets, now marked gone.
    pub assets_gone: u64,
}

fn parse_kind(text: &str) -> Result<SourceKind, ApiError> {
    SourceKind::parse(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "source_kind must be k8s-virtual-node, k8s-serverless, container-compute or \
             app-engine, got {text:?}"
        ))
    })
}

#[utoipa::path(get, path = "/api/v1/clusters", tag = "clusters",
    description = "The tenant's clusters with their sync status (running with progress, last \
        sync time, duration, error) and asset counts. Credentials are never returned.",
    responses((status = 200, body = Vec<ClusterView>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_clusters(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ClusterView>>> {
    Ok(Json(state.store.list_clusters(caller.0.tenant).await?))
}

#[utoipa::path(post, path = "/api/v1/clusters", tag = "clusters", request_body = ClusterRequest,
    responses((status = 201, body = ClusterView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_cluster(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ClusterRequest>,
) -> ApiResult<(StatusCode, Json<ClusterView>)> {
    let kind = parse_kind(&request.source_kind)?;
    let view = state
        .store
        .create_cluster(
            caller.0.tenant,
            &caller.0.actor(),
            &request.name,
            kind,
            &request.kubeconfig,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/api/v1/clusters/{id}", tag = "clusters",
    params(("id" = i64, Path, description = "Cluster id")),
    responses((status = 200, body = ClusterView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_cluster(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ClusterView>> {
    Ok(Json(state.store.get_cluster(caller.0.tenant, id).await?))
}

#[utoipa::path(put, path = "/api/v1/clusters/{id}", tag = "clusters",
    params(("id" = i64, Path, description = "Cluster id")), request_body = ClusterChange,
    description = "Rename a cluster, change its source kind, or replace its kubeconfig. Its \
        assets take the new name and kind at the next sync.",
    responses((status = 200, body = ClusterView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_cluster(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(change): ApiJson<ClusterChange>,
) -> ApiResult<Json<ClusterView>> {
    let source_kind = change.source_kind.as_deref().map(parse_kind).transpose()?;
    if change.name.is_none() && source_kind.is_none() && change.kubeconfig.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: give name, source_kind or kubeconfig",
        ));
    }
    let update = ClusterUpdate {
        name: change.name,
        source_kind,
        kubeconfig: change.kubeconfig,
    };
    Ok(Json(
        state
            .store
            .update_cluster(caller.0.tenant, &caller.0.actor(), id, update)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/clusters/{id}", tag = "clusters",
    params(("id" = i64, Path, description = "Cluster id")),
    description = "Remove a cluster; its assets are marked gone (and stop being metered).",
    responses((status = 200, body = ClusterDeleted), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_cluster(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ClusterDeleted>> {
    let assets_gone = state
        .store
        .delete_cluster(caller.0.tenant, &caller.0.actor(), id)
        .await?;
    Ok(Json(ClusterDeleted { id, assets_gone }))
}
