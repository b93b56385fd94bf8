//! `/api/v1/baseline-risks`: risks (flat or grouped by check or asset), a risk's fix (a JSON
//! Patch and the fixed object; applied to the cluster workload on request), and the baseline
//! whitelist.

use super::extract::{ApiJson, ApiOptionalJson, ApiPath, ApiQuery};
use super::usage::PageQuery;
use super::vulns::severity_list;
use crate::auth::middleware::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::findings::patcher::PatchRefused;
use crate::state::AppState;
use crate::store::audit::{Page, Paging};
use crate::store::baseline::{
    BaselineWhitelistOutcome, BaselineWhitelistRequest, BaselineWhitelistRule, FixPlan, RiskFilter,
    RiskGroupBy, RiskListing,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use podwarden_baseline::PatchOp;
use serde::{Deserialize, Serialize};

/// Query of `GET /api/v1/baseline-risks`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RiskQuery {
    /// Asset id.
    pub asset: Option<i64>,
    /// Check id (`pss.privileged`, `hardening.readonly-rootfs`, ...).
    pub check: Option<String>,
    /// Comma-separated: `info`, `low`, `medium`, `high`, `critical`.
    pub severity: Option<String>,
    /// `check` or `asset`: groups instead of risks.
    pub group_by: Option<String>,
    /// Include whitelisted and exempted risks (default false).
    pub include_whitelisted: Option<bool>,
    /// Substring (any case) of the check id or title, container, field path, pod name or
    /// namespace.
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

const RISK_SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

#[utoipa::path(get, path = "/api/v1/baseline-risks", tag = "baseline", params(RiskQuery),
    description = "Baseline risks, most severe first; `group_by=check` or `group_by=asset` \
        for the console's two views.",
    responses((status = 200, body = RiskListing), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_risks(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<RiskQuery>,
) -> ApiResult<Json<RiskListing>> {
    let group_by = match query.group_by.as_deref() {
        None | Some("") => None,
        Some("check") => Some(RiskGroupBy::Check),
        Some("asset") => Some(RiskGroupBy::Asset),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "group_by must be check or asset, got {other:?}"
            )));
        }
    };
    if query.check.as_ref().is_some_and(|c| c.len() > 128) {
        return Err(ApiError::bad_request("check is longer than 128 bytes"));
    }
    if query.q.as_ref().is_some_and(|q| q.len() > 256) {
        return Err(ApiError::bad_request("q is longer than 256 bytes"));
    }
    let filter = RiskFilter {
        asset: query.asset,
        check: query.check.clone().filter(|c| !c.is_empty()),
        severities: severity_list(query.severity.as_deref(), &RISK_SEVERITIES)?,
        include_whitelisted: query.include_whitelisted.unwrap_or(false),
        q: query.q.clone().filter(|q| !q.is_empty()),
    };
    let paging = Paging::new(query.page, query.per_page)?;
    Ok(Json(
        state
            .store
            .list_baseline_risks(caller.0.tenant, &filter, group_by, paging)
            .await?,
    ))
}

/// `POST /api/v1/baseline-risks/{id}/fix` body (may be empty).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FixRequest {
    /// Only compute the patch (default true).
    pub dry_run: Option<bool>,
    /// Apply the patch to the cluster workload owning the pod (same as `dry_run: false`).
    pub apply: Option<bool>,
}

/// `POST /api/v1/baseline-risks/{id}/fix` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FixResponse {
    #[serde(flatten)]
    pub plan: FixPlan,
    pub dry_run: bool,
    /// The patch was applied to the workload.
    pub applied: bool,
    /// What was patched, when applied.
    pub target: Option<String>,
    /// What happened, or what the user has to do (apply the patch themselves).
    pub message: String,
}

#[utoipa::path(post, path = "/api/v1/baseline-risks/{id}/fix", tag = "baseline",
    params(("id" = i64, Path, description = "Risk id")), request_body = FixRequest,
    description = "The risk's fix as an RFC 6902 JSON Patch over the Pod object, with the \
        fixed object (JSON and YAML). Dry run by default; with `apply: true` (or \
        `dry_run: false`) the patch is applied to the cluster workload owning the pod when a \
        cluster client can reach it; otherwise `applied` is false and `message` says to apply \
        the returned patch yourself.",
    responses((status = 200, body = FixResponse), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn fix_risk(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiOptionalJson(request): ApiOptionalJson<FixRequest>,
) -> ApiResult<Json<FixResponse>> {
    let apply = match (request.apply, request.dry_run) {
        (Some(true), Some(true)) | (Some(false), Some(false)) => {
            return Err(ApiError::bad_request(
                "apply and dry_run contradict each other",
            ));
        }
        (Some(apply), _) => apply,
        (None, Some(dry_run)) => !dry_run,
        (None, None) => false,
    };
    let tenant = caller.0.tenant;
    let (plan, target) = state.store.baseline_fix(tenant, id).await?;
    if !apply {
        return Ok(Json(FixResponse {
            plan,
            dry_run: true,
            applied: false,
            target: None,
            message: "dry run: nothing was changed".to_string(),
        }));
    }
    let patch: Vec<PatchOp> = serde_json::from_value(plan.patch.clone())
        .map_err(|err| ApiError::bad_request(format!("stored patch: {err}")))?;
    let actor = caller.0.actor();
    match state.patcher.apply(&target, &patch).await {
        Ok(applied) => {
            state
                .store
                .audit_fix_applied(tenant, id, &actor, true, &applied.message)
                .await?;
            Ok(Json(FixResponse {
                plan,
                dry_run: false,
                applied: true,
                target: Some(applied.target),
                message: applied.message,
            }))
        }
        Err(PatchRefused::Unavailable(message)) => {
            state
                .store
                .audit_fix_applied(tenant, id, &actor, false, &message)
                .await?;
            Ok(Json(FixResponse {
                plan,
                dry_run: false,
                applied: false,
                target: None,
                message,
            }))
        }
        Err(err @ PatchRefused::Failed(_)) => {
            let message = err.to_string();
            state
                .store
                .audit_fix_applied(tenant, id, &actor, false, &message)
                .await?;
            Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "patch_failed",
                message,
            ))
        }
    }
}

#[utoipa::path(post, path = "/api/v1/baseline-risks/{id}/whitelist", tag = "baseline",
    params(("id" = i64, Path, description = "Risk id")), request_body = BaselineWhitelistRequest,
    description = "Whitelist the risk's check on its asset (`scope: asset`, default) or on \
        every asset (`scope: all`).",
    responses((status = 201, body = BaselineWhitelistOutcome), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn whitelist_risk(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<BaselineWhitelistRequest>,
) -> ApiResult<(StatusCode, Json<BaselineWhitelistOutcome>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .store
                .whitelist_baseline_risk(caller.0.tenant, id, &request, &caller.0.actor())
                .await?,
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/baseline-risks/whitelist", tag = "baseline",
    params(PageQuery),
    responses((status = 200, body = Page<BaselineWhitelistRule>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_whitelist(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<BaselineWhitelistRule>>> {
    let paging = Paging::new(query.page, query.per_page)?;
    Ok(Json(
        state
            .store
            .list_baseline_whitelist(caller.0.tenant, paging)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/baseline-risks/whitelist/{id}", tag = "baseline",
    params(("id" = i64, Path, description = "Rule id")),
    responses((status = 200, body = BaselineWhitelistOutcome), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_whitelist(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<BaselineWhitelistOutcome>> {
    Ok(Json(
        state
            .store
            .delete_baseline_whitelist(caller.0.tenant, id, &caller.0.actor())
            .await?,
    ))
}
