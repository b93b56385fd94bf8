//! `/api/v1/assets`: list with filters and paging, detail, and "sync now".

use super::extract::{ApiPath, ApiQuery};
use crate::assets::{AssetStatus, InstanceType};
use crate::auth::middleware::Caller;
use crate::clusters::SyncReport;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::assets::{AssetDetail, AssetFilter, AssetView};
use crate::store::audit::{Page, Paging};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

/// Query of `GET /api/v1/assets`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssetQuery {
    /// A source kind (`k8s-virtual-node`, `k8s-serverless`, `container-compute`,
    /// `app-engine`) or a source id (`cluster:3`, `agent`).
    pub source: Option<String>,
    /// `standard` or `sandboxed`.
    pub instance_type: Option<String>,
    /// `online` or `offline`.
    pub agent: Option<String>,
    pub bound: Option<bool>,
    /// `at_risk` or `safe`.
    pub risk: Option<String>,
    /// `running`, `pending`, `terminated`, `unknown`, `gone`.
    pub status: Option<String>,
    /// Substring of the pod name or namespace.
    pub q: Option<String>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page, 1 to 500 (default 50).
    pub per_page: Option<u32>,
}

impl AssetQuery {
    fn filter(&self) -> Result<AssetFilter, ApiError> {
        let instance_type = match self.instance_type.as_deref() {
            None => None,
            Some(text) => Some(InstanceType::parse(text).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "instance_type must be standard or sandboxed, got {text:?}"
                ))
            })?),
        };
        let agent_online = match self.agent.as_deref() {
            None => None,
            Some("online") => Some(true),
            Some("offline") => Some(false),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "agent must be online or offline, got {other:?}"
                )));
            }
        };
        let at_risk = match self.risk.as_deref() {
            None => None,
            Some("at_risk") => Some(true),
            Some("safe") => Some(false),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "risk must be at_risk or safe, got {other:?}"
                )));
            }
        };
        let status = match self.status.as_deref() {
            None => None,
            Some(text) => Some(AssetStatus::parse(text).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "status must be running, pending, terminated, unknown or gone, got {text:?}"
                ))
            })?),
        };
        if self.q.as_ref().is_some_and(|q| q.len() > 253) {
            return Err(ApiError::bad_request("q is longer than 253 bytes"));
        }
        Ok(AssetFilter {
            source: self.source.clone().filter(|s| !s.is_empty()),
            instance_type,
            agent_online,
            bound: self.bound,
            at_risk,
            status,
            q: self.q.clone(),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/assets", tag = "assets", params(AssetQuery),
    responses((status = 200, body = Page<AssetView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_assets(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AssetQuery>,
) -> ApiResult<Json<Page<AssetView>>> {
    let filter = query.filter()?;
    let paging = Paging::new(query.page, query.per_page)?;
    Ok(Json(
        state
            .store
            .list_assets(caller.0.tenant, &filter, paging)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/assets/{id}", tag = "assets",
    params(("id" = i64, Path, description = "Asset id")),
    responses((status = 200, body = AssetDetail), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_asset(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AssetDetail>> {
    Ok(Json(state.store.get_asset(caller.0.tenant, id).await?))
}

#[utoipa::path(post, path = "/api/v1/assets/sync", tag = "assets",
    description = "Sync every cluster of the tenant now: totals and, per cluster, whether it \
        answered (a cluster that fails keeps its assets and reports its error).",
    responses((status = 200, body = SyncReport), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn sync_assets(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<SyncReport>> {
    Ok(Json(
        state
            .syncer
            .sync_tenant(&state.store, caller.0.tenant)
            .await?,
    ))
}
