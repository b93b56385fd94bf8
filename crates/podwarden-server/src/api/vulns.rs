//! `/api/v1/vulnerabilities`: findings (flat or grouped by advisory or asset), the loaded
//! database's advisories (`/supported`), and the vulnerability whitelist
//! (`/whitelist`, `/whitelist/{id}`).

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::usage::PageQuery;
use crate::auth::middleware::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::findings::vulndb::{AdvisoryEntry, VulnDbStatus};
use crate::state::AppState;
use crate::store::audit::{Page, Paging};
use crate::store::vulns::{
    VULN_SEVERITIES, VulnFilter, VulnGroupBy, VulnListing, VulnWhitelistOutcome,
    VulnWhitelistRequest, VulnWhitelistRule,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// Query of `GET /api/v1/vulnerabilities`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VulnQuery {
    /// Asset id.
    pub asset: Option<i64>,
    /// Comma-separated: `unknown`, `low`, `medium`, `high`, `critical`.
    pub severity: Option<String>,
    /// Package name, advisory id or CVE (substring).
    pub q: Option<String>,
    /// `advisory` or `asset`: groups instead of findings.
    pub group_by: Option<String>,
    /// Include whitelisted findings (default false).
    pub include_whitelisted: Option<bool>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// A comma-separated severity list of a query, checked against `allowed`.
pub(crate) fn severity_list(text: Option<&str>, allowed: &[&str]) -> Result<Vec<String>, ApiError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if allowed.contains(&s) {
                Ok(s.to_string())
            } else {
                Err(ApiError::bad_request(format!(
                    "severity must be one of {}, got {s:?}",
                    allowed.join(", ")
                )))
            }
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/vulnerabilities", tag = "vulnerabilities",
    params(VulnQuery),
    description = "Vulnerability findings, most severe first; with `group_by=advisory` one \
        row per advisory (assets and findings counted), with `group_by=asset` one row per \
        asset (counts by severity).",
    responses((status = 200, body = VulnListing), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_vulnerabilities(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<VulnQuery>,
) -> ApiResult<Json<VulnListing>> {
    let group_by = match query.group_by.as_deref() {
        None | Some("") => None,
        Some("advisory") => Some(VulnGroupBy::Advisory),
        Some("asset") => Some(VulnGroupBy::Asset),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "group_by must be advisory or asset, got {other:?}"
            )));
        }
    };
    if query.q.as_ref().is_some_and(|q| q.len() > 256) {
        return Err(ApiError::bad_request("q is longer than 256 bytes"));
    }
    let filter = VulnFilter {
        asset: query.asset,
        severities: severity_list(query.severity.as_deref(), &VULN_SEVERITIES)?,
        q: query.q.clone(),
        include_whitelisted: query.include_whitelisted.unwrap_or(false),
    };
    let paging = Paging::new(query.page, query.per_page)?;
    Ok(Json(
        state
            .store
            .list_vulnerabilities(caller.0.tenant, &filter, group_by, paging)
            .await?,
    ))
}

/// Query of `GET /api/v1/vulnerabilities/supported`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SupportedQuery {
    /// Advisory id or summary (case-insensitive substring).
    pub q: Option<String>,
    /// Ecosystem name as OSV writes it (`Debian`, `PyPI`, `crates.io`, ...).
    pub ecosystem: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// `GET /api/v1/vulnerabilities/supported` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Supported {
    /// The database: loaded or not, build time, advisories per ecosystem.
    pub database: VulnDbStatus,
    /// Advisories matching `q` and `ecosystem`.
    pub advisories: Page<AdvisoryEntry>,
}

#[utoipa::path(get, path = "/api/v1/vulnerabilities/supported", tag = "vulnerabilities",
    params(SupportedQuery),
    description = "The advisories of the loaded vulnerability database: counts per ecosystem \
        and a searchable list.",
    responses((status = 200, body = Supported), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn supported(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<SupportedQuery>,
) -> ApiResult<Json<Supported>> {
    if query.q.as_ref().is_some_and(|q| q.len() > 256)
        || query.ecosystem.as_ref().is_some_and(|e| e.len() > 64)
    {
        return Err(ApiError::bad_request("q or ecosystem is too long"));
    }
    let paging = Paging::new(query.page, query.per_page)?;
    let loaded = state.store.vuln_db().get().await;
    let database = state.store.vuln_db().status();
    let (items, total) = match loaded {
        Some(db) => {
            let offset = usize::try_from(paging.offset()).unwrap_or(usize::MAX);
            let limit = paging.per_page as usize;
            let (q, ecosystem) = (query.q.clone(), query.ecosystem.clone());
            tokio::task::spawn_blocking(move || {
                db.search(q.as_deref(), ecosystem.as_deref(), offset, limit)
            })
            .await
            .map_err(|err| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    err.to_string(),
                )
            })?
        }
        None => (Vec::new(), 0),
    };
    Ok(Json(Supported {
        database,
        advisories: Page::exact(items, paging, i64::try_from(total).unwrap_or(i64::MAX)),
    }))
}

#[utoipa::path(post, path = "/api/v1/vulnerabilities/whitelist", tag = "vulnerabilities",
    request_body = VulnWhitelistRequest,
    description = "Whitelist an advisory (id or alias such as a CVE) on one asset or all: its \
        findings stay listed with `include_whitelisted=true` but no longer count.",
    responses((status = 201, body = VulnWhitelistOutcome), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_whitelist(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<VulnWhitelistRequest>,
) -> ApiResult<(StatusCode, Json<VulnWhitelistOutcome>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .store
                .add_vuln_whitelist(caller.0.tenant, &request, &caller.0.actor())
                .await?,
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/vulnerabilities/whitelist", tag = "vulnerabilities",
    params(PageQuery),
    responses((status = 200, body = Page<VulnWhitelistRule>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_whitelist(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<VulnWhitelistRule>>> {
    let paging = Paging::new(query.page, query.per_page)?;
    Ok(Json(
        state
            .store
            .list_vuln_whitelist(caller.0.tenant, paging)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/vulnerabilities/whitelist/{id}", tag = "vulnerabilities",
    params(("id" = i64, Path, description = "Rule id")),
    responses((status = 200, body = VulnWhitelistOutcome), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_whitelist(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<VulnWhitelistOutcome>> {
    Ok(Json(
        state
            .store
            .delete_vuln_whitelist(caller.0.tenant, id, &caller.0.actor())
            .await?,
    ))
}
