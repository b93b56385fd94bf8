//! The agent's uploads and commands: `POST /agent/v1/events` (detection batches),
//! `POST /agent/v1/inventory`, `POST /agent/v1/podspec`, `GET /agent/v1/commands` (pending
//! commands, marked delivered) and `POST /agent/v1/commands` (results). Every route writes
//! only the asset of the calling agent's credential.
//!
//! A 4xx answer means the body is wrong and retrying it will not help; uploads while
//! protection is not active get 200 with the reason (see `findings` for the gate).

use super::extract::ApiJson;
use crate::auth::middleware::AgentCaller;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use podwarden_api::uplink::{
    CommandList, CommandResults, CommandResultsResponse, EventBatch, EventBatchResponse,
    InventoryUpload, PodSpecUpload, UploadResponse,
};

#[utoipa::path(post, path = "/agent/v1/events", tag = "agent", request_body = EventBatch,
    description = "A batch of detections. Each detection id is stored once per agent (a \
        retried batch changes nothing); identical detections aggregate into one alert; \
        whitelisted ones are suppressed; while protection is not active for the asset they \
        are dropped and counted.",
    responses((status = 200, body = EventBatchResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_events(
    State(state): State<AppState>,
    caller: AgentCaller,
    ApiJson(batch): ApiJson<EventBatch>,
) -> ApiResult<Json<EventBatchResponse>> {
    Ok(Json(state.store.ingest_detections(caller.0, &batch).await?))
}

#[utoipa::path(post, path = "/agent/v1/inventory", tag = "agent", request_body = InventoryUpload,
    description = "One container's packages: replaces its previous inventory and is matched \
        against the center's vulnerability database (kept unmatched when none is loaded).",
    responses((status = 200, body = UploadResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_inventory(
    State(state): State<AppState>,
    caller: AgentCaller,
    ApiJson(upload): ApiJson<InventoryUpload>,
) -> ApiResult<Json<UploadResponse>> {
    Ok(Json(state.store.store_inventory(caller.0, &upload).await?))
}

#[utoipa::path(post, path = "/agent/v1/podspec", tag = "agent", request_body = PodSpecUpload,
    description = "The pod's spec as the agent sees it: stored for the asset and checked \
        into baseline risks.",
    responses((status = 200, body = UploadResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_podspec(
    State(state): State<AppState>,
    caller: AgentCaller,
    ApiJson(upload): ApiJson<PodSpecUpload>,
) -> ApiResult<Json<UploadResponse>> {
    Ok(Json(
        state.store.store_pod_spec_upload(caller.0, &upload).await?,
    ))
}

#[utoipa::path(get, path = "/agent/v1/commands", tag = "agent",
    description = "Commands waiting for this agent's asset, oldest first, marked delivered. \
        A command without a result is delivered again after the lease, at most 3 times.",
    responses((status = 200, body = CommandList), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_commands(
    State(state): State<AppState>,
    caller: AgentCaller,
) -> ApiResult<Json<CommandList>> {
    Ok(Json(state.store.fetch_commands(caller.0).await?))
}

#[utoipa::path(post, path = "/agent/v1/commands", tag = "agent", request_body = CommandResults,
    description = "Results of commands: recorded on the command and on the alert's handling \
        record; the alert's status follows (quarantined or quarantine_failed).",
    responses((status = 200, body = CommandResultsResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_command_results(
    State(state): State<AppState>,
    caller: AgentCaller,
    ApiJson(results): ApiJson<CommandResults>,
) -> ApiResult<Json<CommandResultsResponse>> {
    Ok(Json(
        state
            .store
            .record_command_results(caller.0, &results)
            .await?,
    ))
}
