//! `/settings`: time zone and price, scan intervals and window, API tokens, console users,
//! enrolment tokens (with the Secret manifest and the annotation to add), tenants (operator),
//! and the audit log. New secrets are shown once, on the page the form answers with.

use super::assets::paging;
use super::{after, back_to, parse_id, path_id, search_text};
use crate::api::tokens::{ENROLLMENT_SECRET_KEY, ENROLLMENT_SECRET_NAME, secret_manifest};
use crate::assets::SourceKind;
use crate::auth::Role;
use crate::clusters::ClusterError;
use crate::console::layout::{
    Ctx, OrPage, PageError, PageResult, Query, Section, injection_help, ok_flash, pager, render,
    search_filter,
};
use crate::console::session::{AdminForm, ConsoleUser};
use crate::error::StoreError;
use crate::findings::schedule::ScanSettings;
use crate::metering::{PriceNano, TimeZoneSetting};
use crate::state::AppState;
use crate::store::TenantId;
use crate::store::audit::Paging;
use crate::store::clusters::{ClusterUpdate, ClusterView};
use crate::store::protection::ProtectionUpdate;
use axum::extract::{Path, Query as QueryString, State};
use axum::response::Response;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

/// Query of `GET /settings` (the audit log's page).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SettingsQuery {
    /// Search of the audit log.
    pub q: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// Common time zones offered in the time zone field (any IANA name or offset is accepted).
const ZONES: [&str; 12] = [
    "UTC",
    "+08:00",
    "+09:00",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Sydney",
];

/// `GET /settings`.
pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    QueryString(query): QueryString<SettingsQuery>,
) -> PageResult {
    let tenant = user.session.tenant;
    let is_operator = user.session.is_operator;
    let (ctx, protection) = Ctx::load(&state, user, Section::Settings).await?;
    let store = &state.store;
    let lang = ctx.lang;
    let scans = store.scan_settings(tenant).await.or_page(lang)?;
    let cluster_list = store.list_clusters(tenant).await.or_page(lang)?;
    let tokens = store.list_api_tokens(tenant).await.or_page(lang)?;
    let enrollment = store.list_enrollment_tokens(tenant).await.or_page(lang)?;
    let users = store
        .list_console_users(
            tenant,
            Paging {
                page: 1,
                per_page: 500,
            },
        )
        .await
        .or_page(lang)?;
    let audit_paging = paging(query.page.as_deref(), query.per_page.as_deref(), 25);
    let audit_q = search_text(&query.q);
    let audit = store
        .list_audit(tenant, audit_q.as_deref(), audit_paging)
        .await
        .or_page(lang)?;
    let tenants = if is_operator && ctx.admin() {
        let mut out = Vec::new();
        for t in store.list_tenants(tenant).await.or_page(lang)? {
            let p = store.protection(t.id).await.or_page(lang)?;
            out.push((t, p));
        }
        out
    } else {
        Vec::new()
    };
    let admin = ctx.admin();
    let body = html! {
        nav.toc aria-label=(ctx.t("settings.sections")) {
            a href="#billing" { (ctx.t("settings.billing")) }
            a href="#scans" { (ctx.t("settings.scans")) }
            a href="#clusters" { (ctx.t("settings.clusters")) }
            a href="#enrollment" { (ctx.t("settings.enrollment")) }
            a href="#tokens" { (ctx.t("settings.tokens")) }
            a href="#users" { (ctx.t("settings.users")) }
            @if !tenants.is_empty() { a href="#tenants" { (ctx.t("settings.tenants")) } }
            a href="#audit" { (ctx.t("settings.audit")) }
        }
        section.card #billing aria-labelledby="billing-h" {
            h2 #billing-h { (ctx.t("settings.billing")) }
            dl.kv.inline {
                dt { (ctx.t("usage.price")) } dd { (ctx.f("usage.price_value", &[("price", &protection.price_per_core_second)])) }
                dt { (ctx.t("settings.time_zone")) } dd { (protection.timezone) }
            }
            @if admin {
                form.stack method="post" action="/settings/protection" {
                    (ctx.csrf())
                    div.field {
                        label for="timezone" { (ctx.t("settings.time_zone")) }
                        input #timezone name="timezone" type="text" list="zones" value=(protection.timezone) maxlength="64" required;
                        datalist #zones { @for zone in ZONES { option value=(zone) {} } }
                        p.hint { (ctx.t("settings.time_zone_hint")) }
                    }
                    @if is_operator {
                        div.field {
                            label for="price" { (ctx.t("settings.price")) }
                            input #price name="price" type="text" inputmode="decimal" value=(protection.price_per_core_second) maxlength="32";
                            p.hint { (ctx.t("settings.price_hint")) }
                        }
                    } @else {
                        p.hint { (ctx.t("settings.price_operator")) }
                    }
                    div.button-row { button.btn.primary type="submit" { (ctx.t("common.save")) } }
                }
            }
        }
        section.card #scans aria-labelledby="scans-h" {
            h2 #scans-h { (ctx.t("settings.scans")) }
            p.hint { (ctx.t("settings.scans_explain")) }
            @if admin {
                form.grid-form method="post" action="/settings/scans" {
                    (ctx.csrf())
                    div.field {
                        label for="vuln-hours" { (ctx.t("settings.vuln_interval")) }
                        input #vuln-hours name="vulnerability_interval_hours" type="number" min="1" max="2160"
                            value=(scans.vulnerability_interval_hours) required;
                    }
                    div.field {
                        label for="baseline-hours" { (ctx.t("settings.baseline_interval")) }
                        input #baseline-hours name="baseline_interval_hours" type="number" min="1" max="2160"
                            value=(scans.baseline_interval_hours) required;
                    }
                    div.field {
                        label for="window-start" { (ctx.t("settings.window_start")) }
                        input #window-start name="window_start" type="time" value=(scans.window_start) required;
                    }
                    div.field {
                        label for="window-end" { (ctx.t("settings.window_end")) }
                        input #window-end name="window_end" type="time" value=(scans.window_end) required;
                    }
                    div.field {
                        span.label-spacer aria-hidden="true" { " " }
                        button.btn.primary type="submit" { (ctx.t("common.save")) }
                    }
                }
            } @else {
                dl.kv.inline {
                    dt { (ctx.t("settings.vuln_interval")) } dd { (scans.vulnerability_interval_hours) }
                    dt { (ctx.t("settings.baseline_interval")) } dd { (scans.baseline_interval_hours) }
                    dt { (ctx.t("settings.window_start")) } dd { (scans.window_start) }
                    dt { (ctx.t("settings.window_end")) } dd { (scans.window_end) }
                }
            }
        }
        section.card #clusters aria-labelledby="clusters-h" {
            h2 #clusters-h { (ctx.t("settings.clusters")) }
            p { (ctx.t("settings.clusters_explain")) }
            (clusters(&ctx, &cluster_list))
        }
        section.card #enrollment aria-labelledby="enrollment-h" {
            h2 #enrollment-h { (ctx.t("settings.enrollment")) }
            p { (ctx.t("settings.enrollment_explain")) }
            (injection_help(&ctx))
            (token_table(&ctx, "enrollment", &enrollment.iter().map(|t| (t.id, t.name.clone(), None, t.prefix.clone(), t.created_at, t.created_by.clone(), t.revoked_at)).collect::<Vec<_>>()))
            @if admin {
                form.grid-form method="post" action="/settings/enrollment" {
                    (ctx.csrf())
                    div.field {
                        label for="enroll-name" { (ctx.t("settings.token_name")) }
                        input #enroll-name name="name" type="text" value="agents" maxlength="100" required;
                    }
                    div.field {
                        label for="enroll-ns" { (ctx.t("settings.namespace")) }
                        input #enroll-ns name="namespace" type="text" value="default" maxlength="63" required pattern="[a-z0-9]([-a-z0-9]*[a-z0-9])?";
                    }
                    div.field {
                        span.label-spacer aria-hidden="true" { " " }
                        button.btn.primary type="submit" { (ctx.t("settings.create_enrollment")) }
                    }
                }
            }
        }
        section.card #tokens aria-labelledby="tokens-h" {
            h2 #tokens-h { (ctx.t("settings.tokens")) }
            p.hint { (ctx.t("settings.tokens_explain")) }
            (token_table(&ctx, "tokens", &tokens.iter().map(|t| (t.id, t.name.clone(), Some(t.role), t.prefix.clone(), t.created_at, t.created_by.clone(), t.revoked_at)).collect::<Vec<_>>()))
            @if admin {
                form.grid-form method="post" action="/settings/tokens" {
                    (ctx.csrf())
                    div.field {
                        label for="token-name" { (ctx.t("settings.token_name")) }
                        input #token-name name="name" type="text" maxlength="100" required;
                    }
                    (role_select(&ctx, "token-role"))
                    div.field {
                        span.label-spacer aria-hidden="true" { " " }
                        button.btn.primary type="submit" { (ctx.t("settings.create_token")) }
                    }
                }
            }
        }
        section.card #users aria-labelledby="users-h" {
            h2 #users-h { (ctx.t("settings.users")) }
            p.hint { (ctx.t("settings.users_explain")) }
            @if users.items.is_empty() {
                p.muted { (ctx.t("settings.no_users")) }
            } @else {
                div.table-wrap {
                    table.data.compact {
                        thead { tr {
                            th scope="col" { (ctx.t("login.username")) }
                            th scope="col" { (ctx.t("settings.role")) }
                            th scope="col" { (ctx.t("whitelist.created")) }
                            @if admin { th scope="col" { span.sr-only { (ctx.t("common.actions")) } } }
                        } }
                        tbody {
                            @for u in &users.items {
                                tr {
                                    td { (u.username) }
                                    td { (ctx.t(&format!("role.{}", u.role.as_str()))) }
                                    td.small { (ctx.time(Some(u.created_at))) br; span.muted { (u.created_by) } }
                                    @if admin {
                                        td { form method="post" action={ "/settings/users/" (u.id) "/delete" } {
                                            (ctx.csrf())
                                            button.btn.small.danger type="submit" { (ctx.t("common.delete")) }
                                        } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if admin {
                form.grid-form method="post" action="/settings/users" {
                    (ctx.csrf())
                    div.field {
                        label for="new-username" { (ctx.t("login.username")) }
                        input #new-username name="username" type="text" autocomplete="off" minlength="3" maxlength="64" required;
                    }
                    div.field {
                        label for="new-password" { (ctx.t("login.password")) }
                        input #new-password name="password" type="password" autocomplete="new-password" minlength="12" maxlength="1024" required;
                    }
                    (role_select(&ctx, "user-role"))
                    div.field {
                        span.label-spacer aria-hidden="true" { " " }
                        button.btn.primary type="submit" { (ctx.t("settings.create_user")) }
                    }
                }
            }
        }
        @if !tenants.is_empty() {
            section.card #tenants aria-labelledby="tenants-h" {
                h2 #tenants-h { (ctx.t("settings.tenants")) }
                p.hint { (ctx.t("settings.tenants_explain")) }
                div.table-wrap {
                    table.data.compact {
                        thead { tr {
                            th scope="col" { (ctx.t("settings.tenant")) }
                            th scope="col" { (ctx.t("protection.title")) }
                            th scope="col" { (ctx.t("settings.billing")) }
                        } }
                        tbody {
                            @for (t, p) in &tenants {
                                tr {
                                    td { (t.name) @if t.is_operator { " " span.badge.muted { (ctx.t("settings.operator")) } } }
                                    td { (ctx.t(&format!("protection.state.{}", super::overview::state_name(p)))) }
                                    td {
                                        form.inline-form method="post" action={ "/settings/tenants/" (t.id.0) } {
                                            (ctx.csrf())
                                            label.checkbox { input type="checkbox" name="overdue" checked[p.overdue]; (ctx.t("settings.overdue")) }
                                            input type="hidden" name="overdue_shown" value="1";
                                            label for={ "price-" (t.id.0) } { (ctx.t("usage.price")) }
                                            input id={ "price-" (t.id.0) } name="price" type="text" inputmode="decimal" value=(p.price_per_core_second) size="12";
                                            button.btn.small.secondary type="submit" { (ctx.t("common.save")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                form.grid-form method="post" action="/settings/tenants" {
                    (ctx.csrf())
                    div.field {
                        label for="tenant-name" { (ctx.t("settings.tenant_name")) }
                        input #tenant-name name="name" type="text" maxlength="100" required;
                    }
                    div.field {
                        span.label-spacer aria-hidden="true" { " " }
                        button.btn.primary type="submit" { (ctx.t("settings.create_tenant")) }
                    }
                }
            }
        }
        section.card #audit aria-labelledby="audit-h" {
            h2 #audit-h { (ctx.t("settings.audit")) }
            form.filters method="get" action="/settings#audit" role="search" {
                (search_filter(&ctx, audit_q.as_deref(), "settings.audit_search_placeholder"))
                div.field {
                    span.label-spacer aria-hidden="true" { (PreEscaped("&nbsp;")) }
                    button.btn.secondary type="submit" { (ctx.t("filter.apply")) }
                }
            }
            div #audit-results {
                div.table-wrap {
                    table.data.compact {
                        thead { tr {
                            th scope="col" { (ctx.t("settings.audit_at")) }
                            th scope="col" { (ctx.t("settings.audit_actor")) }
                            th scope="col" { (ctx.t("settings.audit_action")) }
                            th scope="col" { (ctx.t("settings.audit_target")) }
                            th scope="col" { (ctx.t("settings.audit_details")) }
                        } }
                        tbody {
                            @for entry in &audit.items {
                                tr {
                                    td.small.nowrap { (ctx.time(Some(entry.at))) }
                                    td.small { (entry.actor) }
                                    td { code { (entry.action) } }
                                    td.small { (entry.target) }
                                    td.small.clip.mono { (entry.details.to_string()) }
                                }
                            }
                        }
                    }
                }
                (pager(&ctx, "/settings", &Query::default().with("q", audit_q.as_deref()), audit.page, audit.per_page, audit.total))
            }
        }
    };
    Ok(render(&ctx, ctx.t("nav.settings"), html! {}, body))
}

/// Rows of a token table: id, name, role (API tokens), prefix, created, by, revoked.
type TokenRow = (i64, String, Option<Role>, String, i64, String, Option<i64>);

fn token_table(ctx: &Ctx, kind: &str, rows: &[TokenRow]) -> Markup {
    html! {
        @if rows.is_empty() {
            p.muted { (ctx.t("settings.no_tokens")) }
        } @else {
            div.table-wrap {
                table.data.compact {
                    thead { tr {
                        th scope="col" { (ctx.t("settings.token_name")) }
                        @if kind == "tokens" { th scope="col" { (ctx.t("settings.role")) } }
                        th scope="col" { (ctx.t("settings.prefix")) }
                        th scope="col" { (ctx.t("whitelist.created")) }
                        th scope="col" { (ctx.t("settings.state")) }
                        @if ctx.admin() { th scope="col" { span.sr-only { (ctx.t("common.actions")) } } }
                    } }
                    tbody {
                        @for (id, name, role, prefix, created, by, revoked) in rows {
                            tr.whitelisted[revoked.is_some()] {
                                td { (name) }
                                @if kind == "tokens" { td { @if let Some(role) = role { (ctx.t(&format!("role.{}", role.as_str()))) } } }
                                td { code { (prefix) "…" } }
                                td.small { (ctx.time(Some(*created))) br; span.muted { (by) } }
                                td.small {
                                    @match revoked {
                                        Some(at) => { (ctx.t("settings.revoked")) " " (ctx.time(Some(*at))) }
                                        None => span.badge.ok { (ctx.t("settings.active")) },
                                    }
                                }
                                @if ctx.admin() {
                                    td {
                                        @if revoked.is_none() {
                                            form method="post" action={ "/settings/" (kind) "/" (id) "/revoke" } {
                                                (ctx.csrf())
                                                button.btn.small.danger type="submit" { (ctx.t("settings.revoke")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn role_select(ctx: &Ctx, id: &str) -> Markup {
    html! {
        div.field {
            label for=(id) { (ctx.t("settings.role")) }
            select id=(id) name="role" {
                option value="viewer" selected { (ctx.t("role.viewer")) }
                option value="admin" { (ctx.t("role.admin")) }
            }
        }
    }
}

/// The clusters section: each asset source with its sync status; add by kubeconfig,
/// replace the kubeconfig, remove.
fn clusters(ctx: &Ctx, clusters: &[ClusterView]) -> Markup {
    let kinds: Vec<(&str, String)> = SourceKind::ALL
        .iter()
        .map(|k| (k.as_str(), format!("source.{}", k.as_str())))
        .collect();
    html! {
        @if clusters.is_empty() {
            p.muted { (ctx.t("settings.no_clusters")) }
        } @else {
            div.table-wrap {
                table.data.compact {
                    thead { tr {
                        th scope="col" { (ctx.t("settings.cluster_name")) }
                        th scope="col" { (ctx.t("assets.col.source")) }
                        th scope="col" { (ctx.t("settings.cluster_server")) }
                        th.num scope="col" { (ctx.t("usage.assets")) }
                        th scope="col" { (ctx.t("settings.cluster_sync")) }
                        @if ctx.admin() { th scope="col" { span.sr-only { (ctx.t("common.actions")) } } }
                    } }
                    tbody {
                        @for cluster in clusters {
                            tr {
                                td { strong { (cluster.name) } br; span.muted.small { (cluster.source) } }
                                td { (ctx.t(&format!("source.{}", cluster.source_kind.as_str()))) }
                                td.small { code { (cluster.server) } br; span.muted { (cluster.context) " · " (cluster.auth) } }
                                td.num { a href={ "/assets?source=" (cluster.source_kind.as_str()) } { (ctx.n(cluster.assets)) } }
                                td.small {
                                    @match cluster.sync.state.as_str() {
                                        "running" => { span.badge.warn { (ctx.t("settings.sync_running")) } " " (ctx.f("sync.listed", &[("pods", &ctx.n(cluster.sync.progress_pods.unwrap_or(0)))])) }
                                        "ok" => { span.badge.ok { (ctx.t("settings.sync_ok")) } " " (ctx.time(cluster.sync.last_sync_at)) br;
                                            span.muted { (ctx.f("sync.counts", &[
                                                ("added", &ctx.n(cluster.sync.added.unwrap_or(0))),
                                                ("updated", &ctx.n(cluster.sync.updated.unwrap_or(0))),
                                                ("gone", &ctx.n(cluster.sync.gone.unwrap_or(0))),
                                            ])) } }
                                        "failed" => { span.badge.bad { (ctx.t("settings.sync_failed")) } " " (ctx.time(cluster.sync.last_sync_at)) br;
                                            span { (cluster.sync.last_error.as_deref().unwrap_or_default()) } }
                                        _ => span.muted { (ctx.t("settings.sync_never")) },
                                    }
                                }
                                @if ctx.admin() {
                                    td.actions-cell {
                                        details.inline-details {
                                            summary.btn.small.secondary { (ctx.t("settings.replace_kubeconfig")) }
                                            form.stack method="post" action={ "/settings/clusters/" (cluster.id) } {
                                                (ctx.csrf())
                                                label for={ "kc-" (cluster.id) } { (ctx.t("settings.kubeconfig")) }
                                                textarea id={ "kc-" (cluster.id) } name="kubeconfig" rows="6" required spellcheck="false" {}
                                                button.btn.small.primary type="submit" { (ctx.t("common.save")) }
                                            }
                                        }
                                        form method="post" action={ "/settings/clusters/" (cluster.id) "/delete" } {
                                            (ctx.csrf())
                                            button.btn.small.danger type="submit" { (ctx.t("settings.remove_cluster")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if ctx.admin() {
            form.stack.wide-form method="post" action="/settings/clusters" {
                (ctx.csrf())
                h3 { (ctx.t("settings.add_cluster")) }
                div.grid-form {
                    div.field {
                        label for="cluster-name" { (ctx.t("settings.cluster_name")) }
                        input #cluster-name name="name" type="text" maxlength="100" required;
                    }
                    div.field {
                        label for="cluster-kind" { (ctx.t("assets.col.source")) }
                        select #cluster-kind name="source_kind" {
                            @for (value, key) in &kinds { option value=(value) { (ctx.t(key)) } }
                        }
                    }
                }
                div.field {
                    label for="cluster-kubeconfig" { (ctx.t("settings.kubeconfig")) }
                    textarea #cluster-kubeconfig name="kubeconfig" rows="8" required spellcheck="false"
                        placeholder="apiVersion: v1\nkind: Config\n…" {}
                    p.hint { (ctx.t("settings.kubeconfig_hint")) }
                }
                div.button-row { button.btn.primary type="submit" { (ctx.t("settings.add_cluster")) } }
            }
        }
    }
}

fn cluster_error(err: ClusterError) -> StoreError {
    match err {
        ClusterError::Store(err) => err,
        ClusterError::Kubeconfig(err) => StoreError::Invalid(err.to_string()),
        ClusterError::Invalid(message) => StoreError::Invalid(message),
        ClusterError::Secret(err) => {
            tracing::error!(error = %err, "cluster secrets");
            StoreError::Invalid(
                "the server cannot seal or open kubeconfigs; see the server log".to_string(),
            )
        }
    }
}

/// `POST /settings/clusters`: adds a cluster by its kubeconfig.
pub async fn post_cluster(State(state): State<AppState>, form: AdminForm) -> Response {
    let AdminForm { user, fields } = form;
    let result = match fields.get("source_kind").and_then(SourceKind::parse) {
        Some(kind) => state
            .store
            .create_cluster(
                user.session.tenant,
                &user.session.actor,
                fields.get("name").unwrap_or_default(),
                kind,
                fields.raw("kubeconfig").unwrap_or_default(),
            )
            .await
            .map_err(cluster_error),
        None => Err(StoreError::Invalid("choose a source kind".to_string())),
    };
    after(&user, "/settings#clusters", result, |view| {
        ok_flash("flash.cluster.added", &[("name", view.name)])
    })
}

/// `POST /settings/clusters/{id}`: replaces a cluster's kubeconfig.
pub async fn post_update_cluster(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, fields } = form;
    let result = async {
        let id = path_id(&id, "cluster")?;
        state
            .store
            .update_cluster(
                user.session.tenant,
                &user.session.actor,
                id,
                ClusterUpdate {
                    kubeconfig: fields.raw("kubeconfig").map(str::to_string),
                    ..ClusterUpdate::default()
                },
            )
            .await
            .map_err(cluster_error)
    }
    .await;
    after(&user, "/settings#clusters", result, |view| {
        ok_flash("flash.cluster.updated", &[("name", view.name)])
    })
}

/// `POST /settings/clusters/{id}/delete`: removes a cluster (its assets are marked gone).
pub async fn post_delete_cluster(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, .. } = form;
    let result = async {
        let id = path_id(&id, "cluster")?;
        state
            .store
            .delete_cluster(user.session.tenant, &user.session.actor, id)
            .await
    }
    .await;
    after(&user, "/settings#clusters", result, |gone| {
        ok_flash("flash.cluster.deleted", &[("n", gone.to_string())])
    })
}

/// A page showing a secret once (new token, enrolment token, tenant admin token).
fn reveal(ctx: &Ctx, title_key: &str, intro_key: &str, secret: &str, extra: Markup) -> Response {
    let body = html! {
        section.card.reveal aria-labelledby="reveal-h" {
            h2 #reveal-h { (ctx.t(title_key)) }
            p.banner.warn { (ctx.t("settings.shown_once")) }
            p { (ctx.t(intro_key)) }
            div.secret {
                code #secret-value { (secret) }
                button.btn.small.secondary type="button" data-copy="secret-value" { (ctx.t("common.copy")) }
            }
            (extra)
            p { a.btn.primary href="/settings" { (ctx.t("settings.done")) } }
        }
    };
    render(ctx, ctx.t(title_key), html! {}, body)
}

fn role_of(text: Option<&str>) -> Role {
    match text {
        Some("admin") => Role::Admin,
        _ => Role::Viewer,
    }
}

async fn reveal_ctx(state: &AppState, user: ConsoleUser) -> Result<Ctx, PageError> {
    Ok(Ctx::load(state, user, Section::Settings).await?.0)
}

/// Shows a secret just created (`created`) once, with the `title` and `intro` keys and what
/// `extra` adds; a failure goes back to `back` with its message.
async fn reveal_created(
    state: &AppState,
    user: ConsoleUser,
    created: Result<String, StoreError>,
    back: &str,
    (title, intro): (&str, &str),
    extra: impl FnOnce(&Ctx, &str) -> Markup,
) -> Response {
    let secret = match created {
        Ok(secret) => secret,
        Err(err) => {
            return after(&user, back, Err::<(), _>(err), |_| {
                ok_flash("flash.saved", &[])
            });
        }
    };
    match reveal_ctx(state, user).await {
        Ok(ctx) => {
            let extra = extra(&ctx, &secret);
            reveal(&ctx, title, intro, &secret, extra)
        }
        Err(err) => axum::response::IntoResponse::into_response(err),
    }
}

/// `POST /settings/tokens`: creates an API token and shows it once.
pub async fn post_token(State(state): State<AppState>, form: AdminForm) -> Response {
    let AdminForm { user, fields } = form;
    let name = fields.get("name").unwrap_or_default().to_string();
    let result = state
        .store
        .create_api_token(
            user.session.tenant,
            &name,
            role_of(fields.get("role")),
            &user.session.actor,
        )
        .await;
    reveal_created(
        &state,
        user,
        result.map(|(_, secret)| secret),
        "/settings#tokens",
        ("settings.token_created", "settings.token_created_intro"),
        |_, _| html! {},
    )
    .await
}

/// `POST /settings/tokens/{id}/revoke`.
pub async fn post_revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, .. } = form;
    let result = async {
        let id = path_id(&id, "token")?;
        state
            .store
            .revoke_api_token(user.session.tenant, id, &user.session.actor)
            .await
    }
    .await;
    after(&user, "/settings#tokens", result, |_| {
        ok_flash("flash.token.revoked", &[])
    })
}

/// `POST /settings/enrollment`: creates an enrolment token and shows it with its Secret
/// manifest and the annotation to add.
pub async fn post_enrollment(State(state): State<AppState>, form: AdminForm) -> Response {
    let AdminForm { user, fields } = form;
    let namespace = fields.get("namespace").unwrap_or("default").to_string();
    let valid_namespace = !namespace.is_empty()
        && namespace.len() <= 63
        && namespace
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !namespace.starts_with('-')
        && !namespace.ends_with('-');
    if !valid_namespace {
        return after(
            &user,
            "/settings#enrollment",
            Err::<(), _>(StoreError::Invalid(format!(
                "namespace {namespace:?} is not a Kubernetes namespace name"
            ))),
            |_| ok_flash("flash.saved", &[]),
        );
    }
    let name = fields.get("name").unwrap_or("agents").to_string();
    let result = state
        .store
        .create_enrollment_token(user.session.tenant, &name, &user.session.actor)
        .await;
    reveal_created(
        &state,
        user,
        result.map(|(_, secret)| secret),
        "/settings#enrollment",
        ("settings.enrollment_created", "settings.enrollment_created_intro"),
        |ctx, secret| {
            let manifest = secret_manifest(&namespace, secret);
            html! {
                h3 { (ctx.t("settings.secret_manifest")) }
                p.hint { (ctx.f("settings.secret_manifest_intro", &[("name", ENROLLMENT_SECRET_NAME), ("key", ENROLLMENT_SECRET_KEY)])) }
                div.secret.block {
                    pre.code #secret-manifest { code { (manifest) } }
                    button.btn.small.secondary type="button" data-copy="secret-manifest" { (ctx.t("common.copy")) }
                }
                pre.code { code { "kubectl apply -f podwarden-enrollment.yaml" } }
                h3 { (ctx.t("settings.annotation")) }
                p.hint { (ctx.t("settings.annotation_intro")) }
                pre.code { code { "spec:\n  template:\n    metadata:\n      annotations:\n        podwarden.io/agent: \"enabled\"" } }
            }
        },
    )
    .await
}

/// `POST /settings/enrollment/{id}/revoke`.
pub async fn post_revoke_enrollment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, .. } = form;
    let result = async {
        let id = path_id(&id, "enrolment token")?;
        state
            .store
            .revoke_enrollment_token(user.session.tenant, id, &user.session.actor)
            .await
    }
    .await;
    after(&user, "/settings#enrollment", result, |_| {
        ok_flash("flash.token.revoked", &[])
    })
}

/// `POST /settings/users`: creates a console user.
pub async fn post_user(State(state): State<AppState>, form: AdminForm) -> Response {
    let AdminForm { user, fields } = form;
    let result = state
        .store
        .create_console_user(
            user.session.tenant,
            fields.get("username").unwrap_or_default(),
            fields.raw("password").unwrap_or_default(),
            role_of(fields.get("role")),
            &user.session.actor,
        )
        .await;
    after(&user, "/settings#users", result, |created| {
        ok_flash("flash.user.created", &[("name", created.username)])
    })
}

/// `POST /settings/users/{id}/delete`.
pub async fn post_delete_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, .. } = form;
    let result = async {
        let id = path_id(&id, "user")?;
        state
            .store
            .delete_console_user(user.session.tenant, id, &user.session.actor)
            .await
    }
    .await;
    after(&user, "/settings#users", result, |deleted| {
        ok_flash("flash.user.deleted", &[("name", deleted.username)])
    })
}

/// `POST /settings/protection`: time zone (and the price, operator tenant only).
pub async fn post_protection(State(state): State<AppState>, form: AdminForm) -> Response {
    let AdminForm { user, fields } = form;
    let to = back_to(&fields, "/settings#billing");
    let timezone = match fields.get("timezone").map(TimeZoneSetting::parse) {
        Some(Ok(zone)) => Some(zone),
        Some(Err(message)) => {
            return after(
                &user,
                &to,
                Err::<(), _>(StoreError::Invalid(message)),
                |_| ok_flash("flash.saved", &[]),
            );
        }
        None => None,
    };
    let price = match fields.get("price") {
        Some(text) if user.session.is_operator => match PriceNano::parse_usd(text) {
            Ok(price) => Some(price),
            Err(message) => {
                return after(
                    &user,
                    &to,
                    Err::<(), _>(StoreError::Invalid(message)),
                    |_| ok_flash("flash.saved", &[]),
                );
            }
        },
        _ => None,
    };
    let update = ProtectionUpdate {
        timezone,
        price,
        ..ProtectionUpdate::default()
    };
    let result = state
        .store
        .update_protection(user.session.tenant, update, &user.session.actor)
        .await;
    after(&user, &to, result, |_| ok_flash("flash.saved", &[]))
}

/// `POST /settings/scans`: intervals and window.
pub async fn post_scans(State(state): State<AppState>, form: AdminForm) -> Response {
    let AdminForm { user, fields } = form;
    let hours = |name: &str| {
        fields
            .get(name)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let settings = ScanSettings {
        vulnerability_interval_hours: hours("vulnerability_interval_hours"),
        baseline_interval_hours: hours("baseline_interval_hours"),
        window_start: fields.get("window_start").unwrap_or_default().to_string(),
        window_end: fields.get("window_end").unwrap_or_default().to_string(),
    };
    let result = state
        .store
        .put_scan_settings(user.session.tenant, settings, &user.session.actor)
        .await;
    after(&user, "/settings#scans", result, |_| {
        ok_flash("flash.saved", &[])
    })
}

/// `POST /settings/tenants`: the operator creates a tenant (its admin token shown once).
pub async fn post_tenant(State(state): State<AppState>, form: AdminForm) -> Response {
    let AdminForm { user, fields } = form;
    if !user.session.is_operator {
        return after(
            &user,
            "/settings",
            Err::<(), _>(StoreError::Forbidden(
                "only the operator tenant can create tenants".to_string(),
            )),
            |_| ok_flash("flash.saved", &[]),
        );
    }
    let result = state
        .store
        .create_tenant(
            user.session.tenant,
            fields.get("name").unwrap_or_default(),
            &user.session.actor,
        )
        .await;
    reveal_created(
        &state,
        user,
        result.map(|(_, secret)| secret),
        "/settings#tenants",
        ("settings.tenant_created", "settings.tenant_created_intro"),
        |_, _| html! {},
    )
    .await
}

/// `POST /settings/tenants/{id}`: the operator sets a tenant's overdue flag and price.
pub async fn post_tenant_billing(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, fields } = form;
    let to = "/settings#tenants";
    let refuse = |err: StoreError| {
        after(&user, to, Err::<(), _>(err), |_| {
            ok_flash("flash.saved", &[])
        })
    };
    if !user.session.is_operator {
        return refuse(StoreError::Forbidden(
            "only the operator tenant sets billing".to_string(),
        ));
    }
    let Some(tenant) = parse_id(Some(&id)).map(TenantId) else {
        return refuse(StoreError::NotFound(format!("tenant {id}")));
    };
    match state.store.tenant_exists(tenant).await {
        Ok(true) => {}
        Ok(false) => return refuse(StoreError::NotFound(format!("tenant {id}"))),
        Err(err) => return refuse(err),
    }
    let price = match fields.get("price").map(PriceNano::parse_usd) {
        Some(Ok(price)) => Some(price),
        Some(Err(message)) => return refuse(StoreError::Invalid(message)),
        None => None,
    };
    let update = ProtectionUpdate {
        overdue: fields
            .get("overdue_shown")
            .map(|_| fields.checked("overdue")),
        price,
        ..ProtectionUpdate::default()
    };
    let result = state
        .store
        .update_protection(tenant, update, &user.session.actor)
        .await;
    after(&user, to, result, |_| ok_flash("flash.saved", &[]))
}
