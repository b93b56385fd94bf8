//! `/api/v1/users`: console users who sign in with a username and password (admins create
//! and delete them; anyone with a token lists them).

use crate::api::extract::{ApiJson, ApiPath, ApiQuery};
use crate::api::usage::PageQuery;
use crate::auth::Role;
use crate::auth::middleware::Caller;
use crate::console::users::ConsoleUserInfo;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::audit::{Page, Paging};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

/// `POST /api/v1/users` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    /// 3 to 64 characters: letters, digits, `.`, `_`, `-`, `@`; unique across tenants.
    pub username: String,
    /// 12 to 1024 characters; stored as an Argon2id hash.
    pub password: String,
    pub role: Role,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "access", request_body = UserRequest,
    description = "Create a console user in the caller's tenant (signs in at /login with a \
        username and password).",
    responses((status = 201, body = ConsoleUserInfo), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<UserRequest>,
) -> ApiResult<(StatusCode, Json<ConsoleUserInfo>)> {
    let user = state
        .store
        .create_console_user(
            caller.0.tenant,
            &request.username,
            &request.password,
            request.role,
            &caller.0.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "access", params(PageQuery),
    responses((status = 200, body = Page<ConsoleUserInfo>)), security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<ConsoleUserInfo>>> {
    let paging = Paging::new(query.page, query.per_page)?;
    Ok(Json(
        state
            .store
            .list_console_users(caller.0.tenant, paging)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "access",
    params(("id" = i64, Path, description = "User id")),
    description = "Delete a console user; its sessions end at once.",
    responses((status = 200, body = ConsoleUserInfo), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ConsoleUserInfo>> {
    Ok(Json(
        state
            .store
            .delete_console_user(caller.0.tenant, id, &caller.0.actor())
            .await?,
    ))
}
