//! `/api/v1/tokens`, `/api/v1/tenants` and `/api/v1/enrollment-tokens`.

use super::extract::{ApiJson, ApiOptionalJson, ApiPath};
use super::protection::DecimalInput;
use crate::auth::Role;
use crate::auth::middleware::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::TenantId;
use crate::store::protection::{ProtectionState, ProtectionUpdate};
use crate::store::tenants::Tenant;
use crate::store::tokens::{ApiTokenInfo, EnrollmentTokenInfo};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// `POST /api/v1/tokens` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub name: String,
    pub role: Role,
}

/// A new token: its record and the secret, shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    #[serde(flatten)]
    pub info: ApiTokenInfo,
    /// The secret (`pw_...`); it is not shown again.
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "access", request_body = TokenRequest,
    responses((status = 201, body = TokenCreated), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    let (info, token) = state
        .store
        .create_api_token(
            caller.0.tenant,
            &request.name,
            request.role,
            &caller.0.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(TokenCreated { info, token })))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "access",
    responses((status = 200, body = Vec<ApiTokenInfo>)), security(("bearer" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ApiTokenInfo>>> {
    Ok(Json(state.store.list_api_tokens(caller.0.tenant).await?))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "access",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 200, body = ApiTokenInfo), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ApiTokenInfo>> {
    Ok(Json(
        state
            .store
            .revoke_api_token(caller.0.tenant, id, &caller.0.actor())
            .await?,
    ))
}

/// `POST /api/v1/tenants` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantRequest {
    pub name: String,
}

/// A new tenant and its first admin token (shown once).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantCreated {
    pub tenant: Tenant,
    /// The tenant's first admin token (`pw_...`); it is not shown again.
    pub admin_token: String,
}

#[utoipa::path(post, path = "/api/v1/tenants", tag = "access", request_body = TenantRequest,
    responses((status = 201, body = TenantCreated), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<TenantRequest>,
) -> ApiResult<(StatusCode, Json<TenantCreated>)> {
    caller.require_operator_admin()?;
    let (tenant, admin_token) = state
        .store
        .create_tenant(caller.0.tenant, &request.name, &caller.0.actor())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TenantCreated {
            tenant,
            admin_token,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/tenants", tag = "access",
    responses((status = 200, body = Vec<Tenant>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_tenants(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<Tenant>>> {
    caller.require_operator_admin()?;
    Ok(Json(state.store.list_tenants(caller.0.tenant).await?))
}

/// `PATCH /api/v1/tenants/{id}` body (operator billing controls).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub overdue: Option<bool>,
    #[schema(value_type = Option<String>, example = "0.000003")]
    pub price_per_core_second: Option<DecimalInput>,
}

#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = "access", request_body = TenantPatch,
    params(("id" = i64, Path, description = "Tenant id")),
    responses((status = 200, body = ProtectionState), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn patch_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<TenantPatch>,
) -> ApiResult<Json<ProtectionState>> {
    caller.require_operator_admin()?;
    let tenant = TenantId(id);
    if !state.store.tenant_exists(tenant).await? {
        return Err(ApiError::not_found(format!("tenant {id} not found")));
    }
    let price = request
        .price_per_core_second
        .as_ref()
        .map(DecimalInput::price)
        .transpose()?;
    let update = ProtectionUpdate {
        overdue: request.overdue,
        price,
        ..ProtectionUpdate::default()
    };
    let (protection, _) = state
        .store
        .update_protection(tenant, update, &caller.0.actor())
        .await?;
    Ok(Json(protection))
}

/// `POST /api/v1/enrollment-tokens` body (all optional).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentTokenRequest {
    /// A label for the token (default `agents`).
    pub name: Option<String>,
    /// Namespace of the Secret manifest (default `default`).
    pub namespace: Option<String>,
}

/// Name of the Kubernetes Secret holding the enrolment token (the injector refers to it).
pub const ENROLLMENT_SECRET_NAME: &str = "podwarden-enrollment";
/// Key of the token in that Secret.
pub const ENROLLMENT_SECRET_KEY: &str = "token";

/// A new enrolment token and a ready Secret manifest holding it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnrollmentTokenCreated {
    #[serde(flatten)]
    pub info: EnrollmentTokenInfo,
    /// The secret (`pwe_...`); it is not shown again.
    pub token: String,
    /// A Kubernetes Secret (YAML) holding the token, for `kubectl apply -f -`.
    pub secret_manifest: String,
}

fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// The Secret manifest for an enrolment token.
pub fn secret_manifest(namespace: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {ENROLLMENT_SECRET_NAME}\n  namespace: {namespace}\n  labels:\n    app.kubernetes.io/name: podwarden-agent\ntype: Opaque\nstringData:\n  {ENROLLMENT_SECRET_KEY}: \"{token}\"\n"
    )
}

#[utoipa::path(post, path = "/api/v1/enrollment-tokens", tag = "access",
    request_body = EnrollmentTokenRequest,
    responses((status = 201, body = EnrollmentTokenCreated), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_enrollment_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiOptionalJson(request): ApiOptionalJson<EnrollmentTokenRequest>,
) -> ApiResult<(StatusCode, Json<EnrollmentTokenCreated>)> {
    let namespace = request.namespace.unwrap_or_else(|| "default".to_string());
    if !is_dns_label(&namespace) {
        return Err(ApiError::bad_request(format!(
            "namespace {namespace:?} is not a Kubernetes namespace name (lowercase letters, digits, '-', at most 63)"
        )));
    }
    let name = request.name.unwrap_or_else(|| "agents".to_string());
    let (info, token) = state
        .store
        .create_enrollment_token(caller.0.tenant, &name, &caller.0.actor())
        .await?;
    let manifest = secret_manifest(&namespace, &token);
    Ok((
        StatusCode::CREATED,
        Json(EnrollmentTokenCreated {
            info,
            token,
            secret_manifest: manifest,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/enrollment-tokens", tag = "access",
    responses((status = 200, body = Vec<EnrollmentTokenInfo>)), security(("bearer" = [])))]
pub async fn list_enrollment_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<EnrollmentTokenInfo>>> {
    Ok(Json(
        state.store.list_enrollment_tokens(caller.0.tenant).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/enrollment-tokens/{id}", tag = "access",
    params(("id" = i64, Path, description = "Enrolment token id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_enrollment_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .store
        .revoke_enrollment_token(caller.0.tenant, id, &caller.0.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
