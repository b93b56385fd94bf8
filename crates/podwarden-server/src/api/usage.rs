//! `/api/v1/usage`, `/api/v1/bills` (JSON, or CSV with `Accept: text/csv`) and
//! `/api/v1/audit`.

use super::extract::ApiQuery;
use crate::auth::middleware::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::audit::{AuditEntry, Page, Paging};
use crate::store::usage::{Bill, UsageRow};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// `from` and `to` (inclusive, `YYYY-MM-DD` in the tenant's time zone).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayRange {
    /// First day (default: 30 days before `to`).
    pub from: Option<String>,
    /// Last day (default: today).
    pub to: Option<String>,
}

impl DayRange {
    async fn resolve(
        &self,
        state: &AppState,
        caller: &Caller,
    ) -> Result<(String, String), ApiError> {
        let protection = state.store.protection(caller.0.tenant).await?;
        let zone = crate::metering::TimeZoneSetting::parse(&protection.timezone)
            .map_err(ApiError::bad_request)?;
        let today = zone
            .day_of(state.store.now())
            .ok_or_else(|| ApiError::bad_request("the clock is outside the supported range"))?;
        let to = match &self.to {
            Some(text) => text.clone(),
            None => today.to_string(),
        };
        let from = match &self.from {
            Some(text) => text.clone(),
            None => {
                let end: jiff::civil::Date = to.parse().map_err(|_| {
                    ApiError::bad_request(format!("to must be a date like 2024-01-31, got {to:?}"))
                })?;
                end.checked_sub(jiff::Span::new().days(30))
                    .map_err(|e| ApiError::bad_request(e.to_string()))?
                    .to_string()
            }
        };
        Ok((from, to))
    }
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"))
}

/// Quotes a CSV field when needed (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn csv_response(body: String, filename: &str) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Usage rows as CSV.
pub fn usage_csv(rows: &[UsageRow]) -> String {
    let mut out = String::from(
        "day,asset_id,asset_name,namespace,seconds,millicore_seconds,core_seconds,cost_pico_usd,cost_usd\n",
    );
    for row in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            row.day,
            row.asset_id,
            csv_field(&row.asset_name),
            csv_field(&row.namespace),
            row.seconds,
            row.millicore_seconds,
            row.core_seconds,
            row.cost_pico_usd,
            row.cost_usd
        ));
    }
    out
}

/// Bills as CSV.
pub fn bills_csv(bills: &[Bill]) -> String {
    let mut out = String::from(
        "day,timezone,asset_count,seconds,millicore_seconds,core_seconds,cost_pico_usd,cost_usd,closed_at\n",
    );
    for bill in bills {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            bill.day,
            csv_field(&bill.timezone),
            bill.asset_count,
            bill.seconds,
            bill.millicore_seconds,
            bill.core_seconds,
            bill.cost_pico_usd,
            bill.cost_usd,
            bill.closed_at
        ));
    }
    out
}

#[utoipa::path(get, path = "/api/v1/usage", tag = "metering", params(DayRange),
    responses((status = 200, body = Vec<UsageRow>, description = "JSON, or CSV with Accept: text/csv"),
        (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_usage(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(range): ApiQuery<DayRange>,
) -> ApiResult<Response> {
    let (from, to) = range.resolve(&state, &caller).await?;
    let rows = state.store.usage(caller.0.tenant, &from, &to).await?;
    if wants_csv(&headers) {
        return Ok(csv_response(
            usage_csv(&rows),
            &format!("usage-{from}-{to}.csv"),
        ));
    }
    Ok(Json(rows).into_response())
}

#[utoipa::path(get, path = "/api/v1/bills", tag = "metering", params(DayRange),
    responses((status = 200, body = Vec<Bill>, description = "JSON, or CSV with Accept: text/csv"),
        (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_bills(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(range): ApiQuery<DayRange>,
) -> ApiResult<Response> {
    let (from, to) = range.resolve(&state, &caller).await?;
    let bills = state.store.bills(caller.0.tenant, &from, &to).await?;
    if wants_csv(&headers) {
        return Ok(csv_response(
            bills_csv(&bills),
            &format!("bills-{from}-{to}.csv"),
        ));
    }
    Ok(Json(bills).into_response())
}

/// Paging of list routes that take nothing else (audit log, whitelists, users).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Query of `GET /api/v1/audit`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Substring (any case) of who, what (`alert.handle`, `token.create`, ...) or the target.
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "access", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    if query.q.as_ref().is_some_and(|q| q.len() > 256) {
        return Err(ApiError::bad_request("q is longer than 256 bytes"));
    }
    let paging = Paging::new(query.page, query.per_page)?;
    Ok(Json(
        state
            .store
            .list_audit(caller.0.tenant, query.q.as_deref(), paging)
            .await?,
    ))
}
