//! `/api/v1/protection` (switch, pause, overdue, auto-add, price, time zone) and
//! `/api/v1/quota` (bind and unbind assets).

use super::extract::ApiJson;
use crate::auth::middleware::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::metering::{PriceNano, TimeZoneSetting};
use crate::state::AppState;
use crate::store::protection::{
    BindingChoice, BindingOutcome, ProtectionState, ProtectionUpdate, QuotaAction, QuotaOutcome,
    QuotaTarget,
};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

/// A decimal given as a JSON string (`"0.000003"`, exact) or number (`0.000003`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DecimalInput {
    Text(String),
    Number(serde_json::Number),
}

impl DecimalInput {
    /// The price in nano-USD per core-second.
    pub fn price(&self) -> Result<PriceNano, ApiError> {
        let text = match self {
            DecimalInput::Text(text) => text.clone(),
            DecimalInput::Number(number) => number.to_string(),
        };
        PriceNano::parse_usd(&text)
            .map_err(|message| ApiError::bad_request(format!("price_per_core_second: {message}")))
    }
}

/// `PUT /api/v1/protection` body; absent fields stay unchanged.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtectionRequest {
    pub enabled: Option<bool>,
    pub paused: Option<bool>,
    /// Tenant admins may set it for now; the operator sets it for any tenant with
    /// `PATCH /api/v1/tenants/{id}`.
    pub overdue: Option<bool>,
    pub auto_add: Option<bool>,
    /// USD per core-second (string for exactness, or number). Operator tenant only.
    #[schema(value_type = Option<String>, example = "0.000003")]
    pub price_per_core_second: Option<DecimalInput>,
    /// `+08:00`, `UTC`, `Asia/Shanghai`, ...
    pub timezone: Option<String>,
    /// Binding when `enabled` changes; default: the product rules.
    pub binding: Option<BindingChoice>,
}

/// `PUT /api/v1/protection` answer: the new settings and what happened to the binding.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProtectionResponse {
    #[serde(flatten)]
    pub protection: ProtectionState,
    pub binding: BindingOutcome,
}

#[utoipa::path(get, path = "/api/v1/protection", tag = "protection",
    responses((status = 200, body = ProtectionState), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_protection(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<ProtectionState>> {
    Ok(Json(state.store.protection(caller.0.tenant).await?))
}

#[utoipa::path(put, path = "/api/v1/protection", tag = "protection",
    request_body = ProtectionRequest,
    responses((status = 200, body = ProtectionResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_protection(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ProtectionRequest>,
) -> ApiResult<Json<ProtectionResponse>> {
    let price = match &request.price_per_core_second {
        Some(input) => {
            caller
                .require_operator_admin()
                .map_err(|_| ApiError::forbidden("the price is set by the operator tenant"))?;
            Some(input.price()?)
        }
        None => None,
    };
    let timezone = match &request.timezone {
        Some(text) => Some(
            TimeZoneSetting::parse(text)
                .map_err(|message| ApiError::bad_request(format!("timezone: {message}")))?,
        ),
        None => None,
    };
    let update = ProtectionUpdate {
        enabled: request.enabled,
        paused: request.paused,
        overdue: request.overdue,
        auto_add: request.auto_add,
        price,
        timezone,
        binding: request.binding,
    };
    let (protection, binding) = state
        .store
        .update_protection(caller.0.tenant, update, &caller.0.actor())
        .await?;
    Ok(Json(ProtectionResponse {
        protection,
        binding,
    }))
}

/// `POST /api/v1/quota` body: `asset_ids` or `"all": true`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaRequest {
    pub action: QuotaAction,
    pub asset_ids: Option<Vec<i64>>,
    pub all: Option<bool>,
    /// Also set the auto-add flag.
    pub auto_add: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/quota", tag = "protection",
    request_body = QuotaRequest,
    responses((status = 200, body = QuotaOutcome), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_quota(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<QuotaRequest>,
) -> ApiResult<Json<QuotaOutcome>> {
    let target = match (request.asset_ids, request.all) {
        (Some(ids), None | Some(false)) => QuotaTarget::Assets(ids),
        (None, Some(true)) => QuotaTarget::All,
        (Some(_), Some(true)) => {
            return Err(ApiError::bad_request(
                "pass either asset_ids or \"all\": true, not both",
            ));
        }
        (None, None | Some(false)) => {
            return Err(ApiError::bad_request(
                "pass asset_ids: [...] or \"all\": true",
            ));
        }
    };
    Ok(Json(
        state
            .store
            .change_quota(
                caller.0.tenant,
                request.action,
                target,
                request.auto_add,
                &caller.0.actor(),
            )
            .await?,
    ))
}
