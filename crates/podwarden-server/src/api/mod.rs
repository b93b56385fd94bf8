//! The HTTP app: routes, their authentication layers, body limits, metrics, OpenAPI.
//!
//! | prefix | who | layer |
//! |---|---|---|
//! | `/healthz` | anyone | none |
//! | `/openapi.json`, `/api/v1/*` | API tokens; non-GET needs `admin` | [`require_api_token`] |
//! | `/metrics` | operator admin tokens (metrics span tenants) | [`require_operator_admin`] |
//! | `/agent/v1/enroll` | tenant enrolment tokens | [`require_enrollment_token`] |
//! | `/agent/v1/*` | per-agent credentials | [`require_agent_credential`] |
//! | `/admission/mutate` | anyone (the API server; the TLS listener is `inject::tls`) | none |
//! | `/`, `/login`, console pages | console session cookie; forms CSRF-checked | [`crate::console`] |

pub mod agent;
pub mod agent_uploads;
pub mod alerts;
pub mod assets;
pub mod baseline;
pub mod clusters;
pub mod extract;
pub mod ops;
pub mod protection;
pub mod scans;
pub mod tokens;
pub mod usage;
pub mod vulns;

use crate::auth::middleware::{
    require_agent_credential, require_api_token, require_enrollment_token, require_operator_admin,
};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Podwarden",
        description = "Security center for serverless container assets: REST API and agent channel."
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// The routes and their OpenAPI description, before state and global layers.
fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let settings = state.store.settings();
    let api = OpenApiRouter::new()
        .routes(routes!(
            protection::get_protection,
            protection::put_protection
        ))
        .routes(routes!(protection::post_quota))
        .routes(routes!(assets::list_assets))
        .routes(routes!(assets::get_asset))
        .routes(routes!(assets::sync_assets))
        .routes(routes!(clusters::list_clusters, clusters::create_cluster))
        .routes(routes!(
            clusters::get_cluster,
            clusters::put_cluster,
            clusters::delete_cluster
        ))
        .routes(routes!(tokens::create_token, tokens::list_tokens))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(tokens::create_tenant, tokens::list_tenants))
        .routes(routes!(tokens::patch_tenant))
        .routes(routes!(
            tokens::create_enrollment_token,
            tokens::list_enrollment_tokens
        ))
        .routes(routes!(tokens::revoke_enrollment_token))
        .routes(routes!(usage::get_usage))
        .routes(routes!(usage::get_bills))
        .routes(routes!(usage::get_audit))
        .routes(routes!(ops::openapi_json))
        .routes(routes!(alerts::list_alerts))
        .routes(routes!(alerts::get_alert))
        .routes(routes!(alerts::handle_alert))
        .routes(routes!(alerts::list_whitelist))
        .routes(routes!(alerts::delete_whitelist))
        .routes(routes!(vulns::list_vulnerabilities))
        .routes(routes!(vulns::supported))
        .routes(routes!(vulns::add_whitelist, vulns::list_whitelist))
        .routes(routes!(vulns::delete_whitelist))
        .routes(routes!(baseline::list_risks))
        .routes(routes!(baseline::fix_risk))
        .routes(routes!(baseline::whitelist_risk))
        .routes(routes!(baseline::list_whitelist))
        .routes(routes!(baseline::delete_whitelist))
        .routes(routes!(scans::post_scans))
        .routes(routes!(scans::get_scan_settings, scans::put_scan_settings))
        .routes(routes!(
            crate::console::users_api::create_user,
            crate::console::users_api::list_users
        ))
        .routes(routes!(crate::console::users_api::delete_user))
        .layer(from_fn_with_state(state.clone(), require_api_token))
        .layer(DefaultBodyLimit::max(settings.api_body_limit_bytes));
    let enroll = OpenApiRouter::new()
        .routes(routes!(agent::enroll))
        .layer(from_fn_with_state(state.clone(), require_enrollment_token))
        .layer(DefaultBodyLimit::max(settings.agent_body_limit_bytes));
    let agent = OpenApiRouter::new()
        .routes(routes!(agent::heartbeat))
        .routes(routes!(agent_uploads::post_events))
        .routes(routes!(agent_uploads::post_inventory))
        .routes(routes!(agent_uploads::post_podspec))
        .routes(routes!(
            agent_uploads::get_commands,
            agent_uploads::post_command_results
        ))
        .layer(from_fn_with_state(state.clone(), require_agent_credential))
        .layer(DefaultBodyLimit::max(settings.agent_body_limit_bytes));
    let metrics = OpenApiRouter::new()
        .routes(routes!(ops::metrics))
        .layer(from_fn_with_state(state.clone(), require_operator_admin));
    let open = OpenApiRouter::new().routes(routes!(ops::healthz));
    // The API server authenticates the webhook by its certificate; no bearer token here.
    let admission = OpenApiRouter::new()
        .routes(routes!(crate::inject::webhook::mutate))
        .layer(DefaultBodyLimit::max(
            crate::inject::webhook::MAX_REVIEW_BYTES,
        ));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api)
        .merge(enroll)
        .merge(agent)
        .merge(metrics)
        .merge(open)
        .merge(admission)
}

/// The OpenAPI document of the whole API.
pub fn openapi(state: &AppState) -> utoipa::openapi::OpenApi {
    routes(state).into_openapi()
}

/// The whole HTTP app.
pub fn app(state: AppState) -> Router {
    let (router, openapi) = routes(&state).split_for_parts();
    let document = Arc::new(ops::OpenApiDocument(
        openapi.to_json().unwrap_or_else(|_| "{}".to_string()),
    ));
    router
        .merge(crate::console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::Extension(document))
        .layer(from_fn_with_state(state.clone(), crate::metrics::track))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; see the server log",
            )
            .into_response()
        }))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}
