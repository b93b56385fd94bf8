//! The web console: server-rendered HTML (maud) on the same server as the API, with htmx and
//! a small script for dialogs, filters and live refresh. Every page calls the same store
//! functions as the REST handlers; the console holds no SQL or business rules of its own
//! beyond its users and sessions.
//!
//! Code map:
//! - [`session`]: cookies, the signed-in user extractor, CSRF-checked form extractors;
//! - [`users`]: console users (Argon2id) and sessions in the store; [`users_api`]: the
//!   `/api/v1/users` routes that let an admin create them;
//! - [`i18n`]: English and Japanese message catalogues (`i18n/{en,ja}.toml`);
//! - [`layout`]: page shell, rendering context, shared components;
//! - [`static_files`]: embedded CSS/JS served under content-hashed names (gzip precomputed);
//! - [`compress`]: gzip of pages and exports for browsers that accept it;
//! - [`pages`]: one module per page.
//!
//! Guarantees: a signed-out request to a page is redirected to `/login`; every POST carries
//! the session's CSRF token and comes from this origin; a viewer is shown no control it
//! cannot use and its POSTs are refused with 403; responses carry a strict CSP (no inline
//! script or style).

pub mod check_texts;
pub mod compress;
pub mod i18n;
pub mod layout;
pub mod pages;
pub mod session;
pub mod static_files;
pub mod sync;
pub mod users;
pub mod users_api;

use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::sync::Arc;

/// The console's routes (merged into [`crate::app`]).
pub fn router() -> Router<AppState> {
    use pages::*;
    Router::new()
        .route("/login", get(login::get_login).post(login::post_login))
        .route("/logout", post(login::post_logout))
        .route("/lang/{code}", get(login::switch_lang))
        .route("/static/{file}", get(static_files::serve))
        .route("/", get(overview::page))
        .route("/protection", post(overview::post_protection))
        .route("/assets", get(assets::list))
        .route("/assets/sync", post(assets::post_sync))
        .route("/assets/sync/status", get(assets::sync_status))
        .route("/assets/quota", post(assets::post_quota))
        .route("/assets/{id}", get(asset_detail::page))
        .route("/assets/{id}/quota", post(asset_detail::post_quota))
        .route("/assets/{id}/scan", post(asset_detail::post_scan))
        .route("/alerts", get(alerts::list))
        .route("/alerts/{id}", get(alerts::detail))
        .route("/alerts/{id}/handle", post(alerts::post_handle))
        .route(
            "/alerts/whitelist/{id}/delete",
            post(alerts::post_delete_whitelist),
        )
        .route("/vulnerabilities", get(vulns::page))
        .route("/vulnerabilities/whitelist", post(vulns::post_whitelist))
        .route(
            "/vulnerabilities/whitelist/{id}/delete",
            post(vulns::post_delete_whitelist),
        )
        .route("/baseline", get(baseline::page))
        .route(
            "/baseline/{id}/fix",
            get(baseline::fix_page).post(baseline::post_fix),
        )
        .route("/baseline/whitelist", post(baseline::post_whitelist))
        .route(
            "/baseline/whitelist/{id}/delete",
            post(baseline::post_delete_whitelist),
        )
        .route("/usage", get(usage::page))
        .route("/usage/usage.csv", get(usage::usage_csv))
        .route("/usage/bills.csv", get(usage::bills_csv))
        .route("/settings", get(settings::page))
        .route("/settings/protection", post(settings::post_protection))
        .route("/settings/scans", post(settings::post_scans))
        .route("/settings/clusters", post(settings::post_cluster))
        .route(
            "/settings/clusters/{id}",
            post(settings::post_update_cluster),
        )
        .route(
            "/settings/clusters/{id}/delete",
            post(settings::post_delete_cluster),
        )
        .route("/settings/tokens", post(settings::post_token))
        .route(
            "/settings/tokens/{id}/revoke",
            post(settings::post_revoke_token),
        )
        .route("/settings/users", post(settings::post_user))
        .route(
            "/settings/users/{id}/delete",
            post(settings::post_delete_user),
        )
        .route("/settings/enrollment", post(settings::post_enrollment))
        .route(
            "/settings/enrollment/{id}/revoke",
            post(settings::post_revoke_enrollment),
        )
        .route("/settings/tenants", post(settings::post_tenant))
        .route(
            "/settings/tenants/{id}",
            post(settings::post_tenant_billing),
        )
        .layer(axum::Extension(Arc::new(sync::SyncJobs::default())))
        .layer(axum::middleware::from_fn(compress::compress))
        .layer(DefaultBodyLimit::max(session::FORM_LIMIT_BYTES))
}
