//! `/assets` Serverless assets: the list with filters, search and paging; the views of
//! instances that consume no quota; **Sync assets** (in the background, with progress and
//! the counts added/updated/gone); **Pause**; **Quota management** (bind or unbind selected
//! or all assets, auto-add new assets).

use super::overview::protection_dialogs;
use super::{after, back_to, dialog, next_field, nonempty, open_button, search_text};
use crate::assets::{AssetStatus, InstanceType, Protectable, SourceKind};
use crate::console::i18n;
use crate::console::layout::{
    Ctx, OrPage, PageResult, Query, Section, empty_state, filter_form, html_response,
    injection_help, ok_flash, pager, render, search_filter, select_filter, tabs,
};
use crate::console::session::{AdminForm, ConsoleUser, is_htmx};
use crate::console::sync::{SyncJobs, SyncState};
use crate::error::StoreError;
use crate::state::AppState;
use crate::store::assets::{AssetFilter, AssetView};
use crate::store::audit::Paging;
use crate::store::clusters::ClusterView;
use crate::store::protection::{QuotaAction, QuotaTarget};
use axum::Extension;
use axum::extract::{Query as QueryString, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::sync::Arc;

/// Query of `GET /assets` (lenient: unknown values are ignored, not refused).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AssetsQuery {
    pub view: Option<String>,
    pub q: Option<String>,
    pub source: Option<String>,
    pub instance_type: Option<String>,
    pub agent: Option<String>,
    pub bound: Option<String>,
    pub risk: Option<String>,
    pub status: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// Page size choices.
/// (Larger pages would pass the 150 KB page-weight budget.)
pub const PAGE_SIZES: [u32; 2] = [25, 50];

/// Paging from lenient query values.
pub fn paging(page: Option<&str>, per_page: Option<&str>, default: u32) -> Paging {
    let page = page
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| *p >= 1 && *p <= 1_000_000)
        .unwrap_or(1);
    let per_page = per_page
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| PAGE_SIZES.contains(p))
        .unwrap_or(default);
    Paging { page, per_page }
}

impl AssetsQuery {
    fn view(&self) -> &str {
        match nonempty(&self.view) {
            Some("no-quota") => "no-quota",
            Some("bound-offline") => "bound-offline",
            _ => "all",
        }
    }

    fn filter(&self) -> AssetFilter {
        let mut filter = AssetFilter {
            source: nonempty(&self.source)
                .filter(|s| SourceKind::parse(s).is_some())
                .map(str::to_string),
            instance_type: nonempty(&self.instance_type).and_then(InstanceType::parse),
            agent_online: match nonempty(&self.agent) {
                Some("online") => Some(true),
                Some("offline") => Some(false),
                _ => None,
            },
            bound: match nonempty(&self.bound) {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            },
            at_risk: match nonempty(&self.risk) {
                Some("at_risk") => Some(true),
                Some("safe") => Some(false),
                _ => None,
            },
            status: nonempty(&self.status).and_then(AssetStatus::parse),
            q: search_text(&self.q),
        };
        match self.view() {
            "no-quota" => filter.bound = Some(false),
            "bound-offline" => {
                filter.bound = Some(true);
                filter.agent_online = Some(false);
            }
            _ => {}
        }
        filter
    }

    /// The filters as a query string (for links that keep them).
    fn query(&self) -> Query {
        let view = self.view();
        Query::default()
            .with("view", (view != "all").then_some(view))
            .with("q", nonempty(&self.q))
            .with("source", nonempty(&self.source))
            .with("instance_type", nonempty(&self.instance_type))
            .with("agent", nonempty(&self.agent))
            .with("bound", nonempty(&self.bound))
            .with("risk", nonempty(&self.risk))
            .with("status", nonempty(&self.status))
            .with("per_page", nonempty(&self.per_page))
    }

    fn has_filters(&self) -> bool {
        self.filter() != AssetFilter::default()
    }
}

/// Cores as a decimal (`0.5`, `2`).
pub fn cores(millicores: i64) -> String {
    crate::metering::format_scaled(i128::from(millicores), 3)
}

/// The agent cell: green online with the version, or gray offline with the reason.
pub fn agent_cell(ctx: &Ctx, asset: &AssetView) -> Markup {
    html! {
        @if asset.agent.status == "online" {
            span.status.online { (ctx.t("agent.online")) }
            @if let Some(version) = &asset.agent.version { small { "v" (version) } }
        } @else {
            span.status.offline { (ctx.t("agent.offline")) }
            small {
                @match asset.agent.last_heartbeat_at {
                    None => (ctx.t("agent.never_installed")),
                    Some(_) => { (ctx.t("agent.no_heartbeat_since")) " " (ctx.short_time(asset.agent.last_heartbeat_at)) }
                }
            }
        }
    }
}

/// Why an asset gets less than full protection (or none), if it does.
pub fn protection_note(asset: &AssetView, protection_active: bool) -> Option<&'static str> {
    if asset.status == AssetStatus::Gone {
        return Some("protect.gone");
    }
    match asset.protectable {
        Protectable::No => return Some("protect.too_small"),
        Protectable::AlertsOnly if asset.bound => return Some("protect.alerts_only"),
        _ => {}
    }
    if !asset.bound {
        return Some("protect.unbound");
    }
    if asset.agent.status != "online" {
        return Some("protect.offline");
    }
    if !protection_active {
        return Some("protect.inactive");
    }
    None
}

/// The binding / quota cell.
pub fn quota_cell(ctx: &Ctx, asset: &AssetView, protection_active: bool) -> Markup {
    html! {
        @if asset.bound {
            span.badge.ok { (ctx.t("quota.bound")) }
        } @else {
            span.badge.muted { (ctx.t("quota.unbound")) }
        }
        @if asset.consumes_quota {
            small { (ctx.t("quota.consumes")) }
        } @else if let Some(key) = protection_note(asset, protection_active) {
            small { (ctx.t(key)) }
        }
    }
}

/// The risk cell: "at risk" with the three counts (alerts, vulnerabilities, baseline), or
/// "safe". The asset's page links each count to its list.
pub fn risk_cell(ctx: &Ctx, asset: &AssetView) -> Markup {
    html! {
        @if asset.risk == "at_risk" {
            span.badge.bad { (ctx.t("risk.at_risk")) }
            small title=(ctx.t("risk.counts_title")) {
                (ctx.t("risk.a")) " " (asset.alert_count) " · "
                (ctx.t("risk.v")) " " (asset.vulnerability_count) " · "
                (ctx.t("risk.b")) " " (asset.baseline_risk_count)
            }
        } @else {
            span.badge.ok { (ctx.t("risk.safe")) }
        }
    }
}

/// `GET /assets`.
pub async fn list(
    State(state): State<AppState>,
    Extension(jobs): Extension<Arc<SyncJobs>>,
    user: ConsoleUser,
    QueryString(query): QueryString<AssetsQuery>,
) -> PageResult {
    let tenant = user.session.tenant;
    let (ctx, protection) = Ctx::load(&state, user, Section::Assets).await?;
    let paging = paging(query.page.as_deref(), query.per_page.as_deref(), 50);
    let filter = query.filter();
    let assets = state
        .store
        .list_assets(tenant, &filter, paging)
        .await
        .or_page(ctx.lang)?;
    let clusters = match jobs.get(tenant) {
        Some(SyncState::Running { .. }) => {
            state.store.list_clusters(tenant).await.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let base = query.query();
    let view = query.view();
    let admin = ctx.admin();

    let actions = html! {
        @if admin {
            form.inline method="post" action="/assets/sync" hx-post="/assets/sync"
                hx-target="#sync-panel" hx-swap="outerHTML" {
                (ctx.csrf())
                button.btn.primary type="submit" #sync-button { (ctx.t("assets.sync")) }
            }
            @if protection.enabled && !protection.paused {
                (open_button(ctx.t("protection.pause"), "pause-dialog", "secondary"))
            } @else if protection.enabled {
                form.inline method="post" action="/protection" {
                    (ctx.csrf()) (next_field(&ctx))
                    button.btn.secondary type="submit" name="action" value="resume" { (ctx.t("protection.resume")) }
                }
            }
            (open_button(ctx.t("assets.quota"), "quota-dialog", "secondary"))
        }
    };
    let view_tabs = [
        ("all", Query::default().href("/assets")),
        ("no-quota", "/assets?view=no-quota".to_string()),
        ("bound-offline", "/assets?view=bound-offline".to_string()),
    ];
    let kinds: Vec<(&str, String)> = SourceKind::ALL
        .iter()
        .map(|k| (k.as_str(), format!("source.{}", k.as_str())))
        .collect();
    let kind_options: Vec<(&str, &str)> = kinds.iter().map(|(v, k)| (*v, k.as_str())).collect();
    let body = html! {
        (sync_panel(&ctx, jobs.get(tenant).as_ref(), false, state.store.now(), &clusters))
        @if !protection.active {
            p.banner.warn { (ctx.t("assets.protection_inactive")) " " a href="/" { (ctx.t("assets.to_overview")) } }
        }
        (tabs(&ctx, &view_tabs, view, "assets.views"))
        @if view == "no-quota" { p.hint { (ctx.t("assets.view.no_quota_explain")) } }
        @if view == "bound-offline" { p.hint { (ctx.t("assets.view.bound_offline_explain")) } }
        (filter_form(&ctx, "/assets", &[("view", view)], html! {
            (search_filter(&ctx, nonempty(&query.q), "assets.search_placeholder"))
            (select_filter(&ctx, "source", "assets.col.source", &kind_options, nonempty(&query.source)))
            (select_filter(&ctx, "instance_type", "assets.col.instance_type",
                &[("standard", "instance.standard"), ("sandboxed", "instance.sandboxed")], nonempty(&query.instance_type)))
            @if view == "all" {
                (select_filter(&ctx, "agent", "assets.col.agent",
                    &[("online", "agent.online"), ("offline", "agent.offline")], nonempty(&query.agent)))
                (select_filter(&ctx, "bound", "assets.col.quota",
                    &[("true", "quota.bound"), ("false", "quota.unbound")], nonempty(&query.bound)))
            }
            (select_filter(&ctx, "risk", "assets.col.risk",
                &[("at_risk", "risk.at_risk"), ("safe", "risk.safe")], nonempty(&query.risk)))
            (select_filter(&ctx, "status", "assets.col.status",
                &[("running", "status.running"), ("pending", "status.pending"), ("terminated", "status.terminated"),
                  ("unknown", "status.unknown"), ("gone", "status.gone")], nonempty(&query.status)))
        }))
        div #results hx-get=(ctx.user.path) hx-trigger="assets-synced from:body" hx-select="#results" hx-swap="outerHTML" {
            @if assets.total == 0 && !query.has_filters() && view == "all" {
                (empty_state(&ctx, "assets.empty.title", html! {
                    p { (ctx.t("assets.empty.body")) }
                    ol.steps {
                        li { (ctx.t("assets.empty.cluster")) " " a href="/settings#clusters" { (ctx.t("overview.empty.cluster_link")) } }
                        li { (ctx.t("assets.empty.sync")) }
                    }
                    p { (ctx.t("overview.empty.or_inject")) }
                    (injection_help(&ctx))
                }))
            } @else if assets.items.is_empty() {
                (empty_state(&ctx, "assets.none_match", html! {
                    p { a href={ "/assets" @if view != "all" { "?view=" (view) } } { (ctx.t("filter.clear")) } }
                }))
            } @else {
                div.table-wrap {
                    table.data {
                        caption.sr-only { (ctx.t("nav.assets")) }
                        thead { tr {
                            @if admin {
                                th.check scope="col" {
                                    input type="checkbox" data-select-all="asset_ids" aria-label=(ctx.t("assets.select_page"));
                                }
                            }
                            th scope="col" { (ctx.t("assets.col.asset")) }
                            th scope="col" { (ctx.t("assets.col.source")) }
                            th scope="col" { (ctx.t("assets.col.instance_type")) }
                            th.num scope="col" { (ctx.t("assets.col.cores")) }
                            th scope="col" { (ctx.t("assets.col.agent")) }
                            th scope="col" { (ctx.t("assets.col.quota")) }
                            th scope="col" { (ctx.t("assets.col.risk")) }
                            th scope="col" { (ctx.t("assets.col.last_scans")) }
                            th scope="col" { (ctx.t("assets.col.status")) }
                        } }
                        tbody {
                            @for asset in &assets.items {
                                tr {
                                    @if admin {
                                        td.check {
                                            input type="checkbox" name="asset_ids" value=(asset.id) form="quota-form"
                                                aria-label=(ctx.f("assets.select_one", &[("name", &asset.pod_name)]));
                                        }
                                    }
                                    td {
                                        a href={ "/assets/" (asset.id) } { (asset.pod_name) }
                                        small {
                                            (asset.namespace)
                                            @if let (Some(kind), Some(name)) = (&asset.owner_kind, &asset.owner_name) {
                                                " / " (kind) " " (name)
                                            }
                                        }
                                    }
                                    td {
                                        (ctx.t(&format!("source.{}", asset.source_kind.as_str())))
                                        @if !asset.cluster.is_empty() { small { (asset.cluster) } }
                                    }
                                    td { (ctx.t(&format!("instance.{}", asset.instance_type.as_str()))) }
                                    td.num { (cores(asset.effective_millicores)) }
                                    td { (agent_cell(&ctx, asset)) }
                                    td { (quota_cell(&ctx, asset, protection.active)) }
                                    td { (risk_cell(&ctx, asset)) }
                                    td {
                                        small { (ctx.t("assets.scan.vuln")) " " (ctx.short_time(asset.last_vulnerability_scan_at)) }
                                        small { (ctx.t("assets.scan.baseline")) " " (ctx.short_time(asset.last_baseline_check_at)) }
                                    }
                                    td { (ctx.t(&format!("status.{}", asset.status.as_str()))) }
                                }
                            }
                        }
                    }
                }
            }
            (pager(&ctx, "/assets", &base, assets.page, assets.per_page, assets.total))
        }
        @if admin {
            (quota_dialog(&ctx, protection.auto_add))
            (protection_dialogs(&ctx, &protection))
        }
    };
    Ok(render(&ctx, ctx.t("nav.assets"), actions, body))
}

fn quota_dialog(ctx: &Ctx, auto_add: bool) -> Markup {
    dialog(
        ctx,
        "quota-dialog",
        ctx.t("assets.quota"),
        html! {
            form #quota-form method="post" action="/assets/quota" {
                (ctx.csrf()) (next_field(ctx))
                p { (ctx.t("quota.explain")) }
                fieldset {
                    legend { (ctx.t("quota.action")) }
                    label.radio { input type="radio" name="action" value="add" checked; (ctx.t("quota.add")) }
                    label.radio { input type="radio" name="action" value="remove"; (ctx.t("quota.remove")) }
                }
                fieldset {
                    legend { (ctx.t("quota.which")) }
                    label.radio {
                        input type="radio" name="target" value="selected" checked;
                        (ctx.t("quota.selected")) " "
                        span.muted { "(" span data-selected-count="asset_ids" { "0" } ")" }
                    }
                    label.radio { input type="radio" name="target" value="all"; (ctx.t("quota.all")) }
                }
                fieldset {
                    legend { (ctx.t("protection.auto_add")) }
                    input type="hidden" name="auto_add_shown" value="1";
                    label.checkbox {
                        input type="checkbox" name="auto_add" checked[auto_add];
                        (ctx.t("quota.auto_add"))
                    }
                }
                div.button-row.end {
                    button.btn.secondary type="button" data-close { (ctx.t("common.cancel")) }
                    button.btn.primary type="submit" { (ctx.t("quota.apply")) }
                }
            }
        },
    )
}

/// `POST /assets/quota`: `action` add|remove, `target` selected (with `asset_ids`) or all,
/// and the auto-add box.
pub async fn post_quota(State(state): State<AppState>, form: AdminForm) -> Response {
    let AdminForm { user, fields } = form;
    let to = back_to(&fields, "/assets");
    let action = match fields.get("action") {
        Some("remove") => QuotaAction::Remove,
        _ => QuotaAction::Add,
    };
    let target = if fields.get("target") == Some("all") {
        Ok(QuotaTarget::All)
    } else {
        let ids: Vec<i64> = fields
            .all("asset_ids")
            .iter()
            .filter_map(|id| id.trim().parse::<i64>().ok())
            .collect();
        if ids.is_empty() {
            Err(StoreError::Invalid(
                i18n::text(user.lang, "quota.none_selected").to_string(),
            ))
        } else {
            Ok(QuotaTarget::Assets(ids))
        }
    };
    let auto_add = fields
        .get("auto_add_shown")
        .map(|_| fields.checked("auto_add"));
    let result = match target {
        Ok(target) => {
            state
                .store
                .change_quota(
                    user.session.tenant,
                    action,
                    target,
                    auto_add,
                    &user.session.actor,
                )
                .await
        }
        Err(err) => Err(err),
    };
    after(&user, &to, result, |outcome| {
        let key = match action {
            QuotaAction::Add if !outcome.skipped.is_empty() => "flash.quota.added_skipped",
            QuotaAction::Add => "flash.quota.added",
            QuotaAction::Remove => "flash.quota.removed",
        };
        let first_reason = outcome
            .skipped
            .first()
            .map(|s| format!("#{}: {}", s.asset_id, s.reason))
            .unwrap_or_default();
        ok_flash(
            key,
            &[
                ("changed", outcome.changed.to_string()),
                ("skipped", outcome.skipped.len().to_string()),
                ("reason", first_reason),
                (
                    "auto_add",
                    i18n::text(
                        user.lang,
                        if outcome.auto_add {
                            "common.on"
                        } else {
                            "common.off"
                        },
                    )
                    .to_string(),
                ),
            ],
        )
    })
}

/// The sync panel: idle (nothing), running (polls itself, with the pods each cluster has
/// listed so far), done (counts, and each cluster that failed), failed.
pub fn sync_panel(
    ctx: &Ctx,
    job: Option<&SyncState>,
    fresh: bool,
    now: i64,
    clusters: &[ClusterView],
) -> Markup {
    html! {
        @match job {
            None => div #sync-panel {},
            Some(SyncState::Running { started_at }) => {
                div #sync-panel.card.sync role="status" aria-live="polite"
                    hx-get="/assets/sync/status" hx-trigger="every 1s" hx-swap="outerHTML" {
                    div.grow {
                        p {
                            strong { (ctx.t("sync.running")) } " "
                            (ctx.f("sync.elapsed", &[("seconds", &((now - started_at).max(0) / 1000).to_string())]))
                        }
                        @for cluster in clusters.iter().filter(|c| c.sync.state == "running") {
                            p.small.muted { (cluster.name) ": " (ctx.f("sync.listed", &[("pods", &ctx.n(cluster.sync.progress_pods.unwrap_or(0)))])) }
                        }
                    }
                    progress aria-label=(ctx.t("sync.running")) {}
                }
            }
            Some(SyncState::Done { report, started_at, finished_at }) => {
                div #sync-panel.card.sync.done[report.clusters.iter().all(|c| c.ok)].failed[report.clusters.iter().any(|c| !c.ok)]
                    role="status" aria-live="polite" {
                    div.grow {
                        p {
                            strong { (ctx.t("sync.done")) } " "
                            (ctx.f("sync.counts", &[
                                ("added", &ctx.n(report.added as i64)),
                                ("updated", &ctx.n(report.updated as i64)),
                                ("gone", &ctx.n(report.gone as i64)),
                            ]))
                            " "
                            span.muted.small {
                                (ctx.f("sync.took", &[("seconds", &format!("{:.1}", (finished_at - started_at).max(0) as f64 / 1000.0))]))
                                " · " (ctx.time(Some(*finished_at)))
                            }
                        }
                        @if report.clusters.is_empty() {
                            p.small { (ctx.t("sync.no_clusters")) " " a href="/settings#clusters" { (ctx.t("overview.empty.cluster_link")) } }
                        }
                        @for cluster in report.clusters.iter().filter(|c| !c.ok) {
                            p.small { strong { (cluster.name) } ": " (cluster.error.as_deref().unwrap_or_default()) }
                        }
                    }
                    @if fresh { a.btn.small.secondary href="/assets" { (ctx.t("sync.reload")) } }
                }
            }
            Some(SyncState::Failed { message, finished_at }) => {
                div #sync-panel.card.sync.failed role="alert" {
                    p { strong { (ctx.t("sync.failed")) } " " (message) " " span.muted.small { (ctx.time(Some(*finished_at))) } }
                }
            }
        }
    }
}

/// `POST /assets/sync`: starts a background sync; htmx gets the progress panel, a plain form
/// goes back to the list.
pub async fn post_sync(
    State(state): State<AppState>,
    Extension(jobs): Extension<Arc<SyncJobs>>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, .. } = form;
    let tenant = user.session.tenant;
    jobs.start(&state, tenant);
    if is_htmx(&user.headers) {
        let protection = state.store.protection(tenant).await;
        let zone = protection.map(|p| p.timezone).unwrap_or_default();
        let ctx = Ctx::new(user, &zone, Section::Assets);
        let clusters = state.store.list_clusters(tenant).await.unwrap_or_default();
        let panel = sync_panel(
            &ctx,
            jobs.get(tenant).as_ref(),
            false,
            state.store.now(),
            &clusters,
        );
        return html_response(panel, false, ctx.user.tls);
    }
    crate::console::session::see_other(&user.headers, "/assets")
}

/// `GET /assets/sync/status`: the progress panel (htmx polls it).
pub async fn sync_status(
    State(state): State<AppState>,
    Extension(jobs): Extension<Arc<SyncJobs>>,
    user: ConsoleUser,
) -> Response {
    let tenant = user.session.tenant;
    let zone = state
        .store
        .protection(tenant)
        .await
        .map(|p| p.timezone)
        .unwrap_or_default();
    let htmx = is_htmx(&user.headers);
    let ctx = Ctx::new(user, &zone, Section::Assets);
    let job = jobs.get(tenant);
    let done = matches!(job, Some(SyncState::Done { .. }));
    let clusters = state.store.list_clusters(tenant).await.unwrap_or_default();
    let panel = sync_panel(&ctx, job.as_ref(), true, state.store.now(), &clusters);
    let mut response = html_response(panel, false, ctx.user.tls);
    if htmx && done {
        response
            .headers_mut()
            .insert("hx-trigger", HeaderValue::from_static("assets-synced"));
    }
    response.into_response()
}
