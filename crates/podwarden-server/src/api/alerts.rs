//! `/api/v1/alerts` (list with filters, detail, handling) and `/api/v1/whitelist` (the alert
//! whitelist rules).

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::middleware::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::findings::detections::parse_type;
use crate::state::AppState;
use crate::store::alerts::{
    AlertDetail, AlertFilter, AlertView, HandleRequest, HandleResponse, StatusFilter,
    WhitelistRule, parse_severities,
};
use crate::store::audit::{Page, Paging};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

/// Query of `GET /api/v1/alerts`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Asset id.
    pub asset: Option<i64>,
    /// `unhandled` (every open alert), `handled` (every closed one), or one status:
    /// `quarantining`, `quarantine_failed`, `ignored`, `whitelisted`, `quarantined`,
    /// `marked_handled`.
    pub status: Option<String>,
    /// Comma-separated: `info`, `low`, `medium`, `high`, `critical`.
    pub severity: Option<String>,
    /// `webshell`, `network` or `process`.
    #[serde(rename = "type")]
    pub alert_type: Option<String>,
    /// Substring of the rule, description, process, file or remote address.
    pub q: Option<String>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page, 1 to 500 (default 50).
    pub per_page: Option<u32>,
}

impl AlertQuery {
    fn filter(&self) -> Result<AlertFilter, ApiError> {
        let status = match self.status.as_deref() {
            None | Some("") => None,
            Some(text) => Some(StatusFilter::parse(text).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "status must be unhandled, handled, quarantining, quarantine_failed, \
                     ignored, whitelisted, quarantined or marked_handled, got {text:?}"
                ))
            })?),
        };
        let severities = match self.severity.as_deref() {
            None => Vec::new(),
            Some(text) => parse_severities(text).map_err(ApiError::bad_request)?,
        };
        let alert_type = match self.alert_type.as_deref() {
            None | Some("") => None,
            Some(text) => Some(parse_type(text).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "type must be webshell, network or process, got {text:?}"
                ))
            })?),
        };
        if self.q.as_ref().is_some_and(|q| q.len() > 256) {
            return Err(ApiError::bad_request("q is longer than 256 bytes"));
        }
        Ok(AlertFilter {
            asset: self.asset,
            status,
            severities,
            alert_type,
            q: self.q.clone(),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQuery),
    description = "Alerts, most recently seen first.",
    responses((status = 200, body = Page<AlertView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AlertQuery>,
) -> ApiResult<Json<Page<AlertView>>> {
    let filter = query.filter()?;
    let paging = Paging::new(query.page, query.per_page)?;
    Ok(Json(
        state
            .store
            .list_alerts(caller.0.tenant, &filter, paging)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    responses((status = 200, body = AlertDetail), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_alert(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AlertDetail>> {
    Ok(Json(state.store.get_alert(caller.0.tenant, id).await?))
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/handle", tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")), request_body = HandleRequest,
    description = "Handle an open alert. `quarantine` queues commands for the asset's agent \
        (`quarantine_file`, `kill_process`; the alert is `quarantining` until the agent \
        reports, then `quarantined` or `quarantine_failed`); `whitelist` makes a rule \
        (`scope`: `asset` or `all`) that suppresses identical detections and closes the \
        alerts it covers; `ignore` closes this alert; `handled` marks it handled manually.",
    responses((status = 200, body = HandleResponse), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn handle_alert(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<HandleRequest>,
) -> ApiResult<Json<HandleResponse>> {
    Ok(Json(
        state
            .store
            .handle_alert(caller.0.tenant, id, &request, &caller.0.actor())
            .await?,
    ))
}

/// Query of `GET /api/v1/whitelist`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WhitelistQuery {
    /// Rules that apply to this asset (its own and the tenant-wide ones).
    pub asset: Option<i64>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/whitelist", tag = "alerts", params(WhitelistQuery),
    description = "Alert whitelist rules, newest first, with how many detections each \
        suppressed.",
    responses((status = 200, body = Page<WhitelistRule>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_whitelist(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<WhitelistQuery>,
) -> ApiResult<Json<Page<WhitelistRule>>> {
    let paging = Paging::new(query.page, query.per_page)?;
    Ok(Json(
        state
            .store
            .list_alert_whitelist(caller.0.tenant, query.asset, paging)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/whitelist/{id}", tag = "alerts",
    params(("id" = i64, Path, description = "Whitelist rule id")),
    responses((status = 200, body = WhitelistRule), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_whitelist(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<WhitelistRule>> {
    Ok(Json(
        state
            .store
            .delete_alert_whitelist(caller.0.tenant, id, &caller.0.actor())
            .await?,
    ))
}
