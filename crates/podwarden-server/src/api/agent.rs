//! The agent channel: `/agent/v1/enroll` (enrolment token) and `/agent/v1/heartbeat`
//! (per-agent credential). Events, inventories and commands come with later features.

use super::extract::ApiJson;
use crate::auth::middleware::{AgentCaller, EnrollmentCaller};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use podwarden_api::agent::{EnrollRequest, EnrollResponse, HeartbeatRequest, HeartbeatResponse};

#[utoipa::path(post, path = "/agent/v1/enroll", tag = "agent", request_body = EnrollRequest,
    responses((status = 200, body = EnrollResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn enroll(
    State(state): State<AppState>,
    caller: EnrollmentCaller,
    ApiJson(request): ApiJson<EnrollRequest>,
) -> ApiResult<Json<EnrollResponse>> {
    Ok(Json(state.store.enroll_agent(caller.0, &request).await?))
}

#[utoipa::path(post, path = "/agent/v1/heartbeat", tag = "agent", request_body = HeartbeatRequest,
    responses((status = 200, body = HeartbeatResponse), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn heartbeat(
    State(state): State<AppState>,
    caller: AgentCaller,
    ApiJson(request): ApiJson<HeartbeatRequest>,
) -> ApiResult<Json<HeartbeatResponse>> {
    if let Some(status) = &request.status {
        state.store.record_agent_status(caller.0, status).await?;
    }
    Ok(Json(
        state
            .store
            .heartbeat(caller.0, &request.agent_version)
            .await?,
    ))
}
