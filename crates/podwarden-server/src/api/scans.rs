//! `POST /api/v1/scans` (run a vulnerability scan or baseline check now) and
//! `GET/PUT /api/v1/scan-settings` (intervals and the night window).

use super::extract::ApiJson;
use crate::auth::middleware::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::findings::schedule::{ScanKind, ScanSettings};
use crate::state::AppState;
use crate::store::scans::{ScanOutcome, ScanTarget};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

/// Most assets one scan request may name.
const MAX_SCAN_ASSETS: usize = 10_000;

/// `POST /api/v1/scans` body: `asset_ids`, or `all: true`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    pub kind: ScanKind,
    #[serde(default)]
    pub asset_ids: Vec<i64>,
    /// Every bound asset of the tenant.
    #[serde(default)]
    pub all: bool,
}

#[utoipa::path(post, path = "/api/v1/scans", tag = "scans", request_body = ScanRequest,
    description = "Run a scan now. Vulnerability scans queue a `rescan` command for the \
        asset's agent (the inventory it uploads is matched on arrival); baseline checks run on \
        the center from the stored pod spec (cluster-synced or agent-uploaded), or ask the \
        agent for its pod spec when none is stored. Unprotected assets are skipped with a \
        reason.",
    responses((status = 200, body = ScanOutcome), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_scans(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ScanRequest>,
) -> ApiResult<Json<ScanOutcome>> {
    let target = match (request.all, request.asset_ids.is_empty()) {
        (true, true) => ScanTarget::All,
        (false, false) => {
            if request.asset_ids.len() > MAX_SCAN_ASSETS {
                return Err(ApiError::bad_request(format!(
                    "at most {MAX_SCAN_ASSETS} asset_ids per request"
                )));
            }
            let mut ids = request.asset_ids.clone();
            ids.sort_unstable();
            ids.dedup();
            ScanTarget::Assets(ids)
        }
        (true, false) => {
            return Err(ApiError::bad_request(
                "give asset_ids or all: true, not both",
            ));
        }
        (false, true) => {
            return Err(ApiError::bad_request("give asset_ids or all: true"));
        }
    };
    Ok(Json(
        state
            .store
            .request_scans(caller.0.tenant, request.kind, &target, &caller.0.actor())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/scan-settings", tag = "scans",
    responses((status = 200, body = ScanSettings), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_scan_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<ScanSettings>> {
    Ok(Json(state.store.scan_settings(caller.0.tenant).await?))
}

#[utoipa::path(put, path = "/api/v1/scan-settings", tag = "scans", request_body = ScanSettings,
    description = "Intervals (hours) of scheduled vulnerability scans (default 24) and \
        baseline checks (default 48), and the window they run in (default 01:00-05:00 in the \
        tenant's time zone).",
    responses((status = 200, body = ScanSettings), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_scan_settings(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(settings): ApiJson<ScanSettings>,
) -> ApiResult<Json<ScanSettings>> {
    Ok(Json(
        state
            .store
            .put_scan_settings(caller.0.tenant, settings, &caller.0.actor())
            .await?,
    ))
}
