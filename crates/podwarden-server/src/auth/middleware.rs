//! Request authentication: reads `Authorization: Bearer`, resolves the principal, enforces
//! roles (a viewer only reads), and hands the principal to handlers as an extractor.

use super::{AgentPrincipal, EnrollmentPrincipal, Principal, Role};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;

/// The bearer secret of a request, if any.
fn bearer(parts_headers: &axum::http::HeaderMap) -> Result<&str, ApiError> {
    let value = parts_headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <token> header"))?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?;
    let (scheme, token) = text
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "expected Authorization: Bearer <token>",
        ));
    }
    Ok(token.trim())
}

fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `/api/v1` (and `/openapi.json`): an API token; writes need the admin role.
pub async fn require_api_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let secret = bearer(request.headers())?;
    let principal = state
        .store
        .authenticate_api_token(secret)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
    if principal.role != Role::Admin && !is_read(request.method()) {
        return Err(ApiError::forbidden(
            "this token has the viewer role, which cannot change anything",
        ));
    }
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

/// `/metrics`: an admin token of the operator tenant (metrics cover every tenant).
pub async fn require_operator_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let secret = bearer(request.headers())?;
    let principal = state
        .store
        .authenticate_api_token(secret)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
    if principal.role != Role::Admin || !principal.is_operator {
        return Err(ApiError::forbidden(
            "metrics cover every tenant: an operator admin token is required",
        ));
    }
    Ok(next.run(request).await)
}

/// `/agent/v1/enroll`: a tenant enrolment token.
pub async fn require_enrollment_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let secret = bearer(request.headers())?;
    let principal = state
        .store
        .authenticate_enrollment_token(secret)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked enrolment token"))?;
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

/// Every other `/agent/v1` route: a per-agent credential.
pub async fn require_agent_credential(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let secret = bearer(request.headers())?;
    let principal = state
        .store
        .authenticate_agent(secret)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked agent credential"))?;
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

/// Extractor: the authenticated `/api/v1` caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError::unauthorized("not authenticated"))
    }
}

impl Caller {
    /// Fails unless the caller is an admin of the operator tenant.
    pub fn require_operator_admin(&self) -> Result<(), ApiError> {
        if self.0.is_operator && self.0.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only an admin of the operator tenant may do this",
            ))
        }
    }
}

/// Extractor: the authenticated agent.
#[derive(Debug, Clone, Copy)]
pub struct AgentCaller(pub AgentPrincipal);

impl<S: Send + Sync> FromRequestParts<S> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AgentPrincipal>()
            .copied()
            .map(AgentCaller)
            .ok_or_else(|| ApiError::unauthorized("not authenticated as an agent"))
    }
}

/// Extractor: the tenant whose enrolment token the caller presented.
#[derive(Debug, Clone, Copy)]
pub struct EnrollmentCaller(pub EnrollmentPrincipal);

impl<S: Send + Sync> FromRequestParts<S> for EnrollmentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<EnrollmentPrincipal>()
            .copied()
            .map(EnrollmentCaller)
            .ok_or_else(|| ApiError::unauthorized("not authenticated with an enrolment token"))
    }
}
