//! `/vulnerabilities`: findings grouped by advisory and by asset, every finding with its
//! fixed version and remediation, the **supported vulnerabilities** panel (the loaded
//! database's advisories per ecosystem, searchable), and the vulnerability whitelist.

use super::assets::paging;
use super::{after, asset_cell, back_to, dialog, next_field, nonempty, parse_id, search_text};
use crate::console::layout::{
    Ctx, OrPage, PageError, PageResult, Query, Section, empty_state, filter_form, ok_flash, pager,
    render, search_filter, select_filter, severity_badge, tabs,
};
use crate::console::session::{AdminForm, ConsoleUser};
use crate::error::StoreError;
use crate::state::AppState;
use crate::store::audit::Paging;
use crate::store::vulns::{
    VULN_SEVERITIES, VulnFilter, VulnGroupBy, VulnListing, VulnWhitelistRequest,
};
use axum::extract::{Path, Query as QueryString, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

/// Query of `GET /vulnerabilities`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VulnsQuery {
    pub tab: Option<String>,
    pub q: Option<String>,
    pub severity: Option<String>,
    pub asset: Option<String>,
    pub ecosystem: Option<String>,
    pub include_whitelisted: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

const SEVERITY_OPTIONS: [(&str, &str); 5] = [
    ("critical", "severity.critical"),
    ("high", "severity.high"),
    ("medium", "severity.medium"),
    ("low", "severity.low"),
    ("unknown", "severity.unknown"),
];

impl VulnsQuery {
    fn tab(&self) -> &str {
        match nonempty(&self.tab) {
            Some("asset") => "asset",
            Some("findings") => "findings",
            Some("supported") => "supported",
            Some("whitelist") => "whitelist",
            _ => "advisory",
        }
    }

    fn filter(&self) -> VulnFilter {
        VulnFilter {
            asset: parse_id(nonempty(&self.asset)),
            severities: nonempty(&self.severity)
                .filter(|s| VULN_SEVERITIES.contains(s))
                .map(|s| vec![s.to_string()])
                .unwrap_or_default(),
            q: search_text(&self.q),
            include_whitelisted: nonempty(&self.include_whitelisted).is_some(),
        }
    }

    fn query(&self) -> Query {
        Query::default()
            .with("tab", Some(self.tab()))
            .with("q", nonempty(&self.q))
            .with("severity", nonempty(&self.severity))
            .with("asset", nonempty(&self.asset))
            .with("ecosystem", nonempty(&self.ecosystem))
            .with("include_whitelisted", nonempty(&self.include_whitelisted))
            .with("per_page", nonempty(&self.per_page))
    }
}

/// `GET /vulnerabilities`.
pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    QueryString(query): QueryString<VulnsQuery>,
) -> PageResult {
    let (ctx, _) = Ctx::load(&state, user, Section::Vulnerabilities).await?;
    let tab = query.tab();
    let paging = paging(query.page.as_deref(), query.per_page.as_deref(), 50);
    let asset = parse_id(nonempty(&query.asset));
    let asset_name = match asset {
        Some(id) => Some(super::asset_label(&state, &ctx.user, id).await),
        None => None,
    };
    let link = |t: &str| {
        Query::default()
            .with("tab", Some(t))
            .with("asset", asset)
            .href("/vulnerabilities")
    };
    let tab_links = [
        ("advisory", link("advisory")),
        ("asset", link("asset")),
        ("findings", link("findings")),
        ("supported", link("supported")),
        ("whitelist", link("whitelist")),
    ];
    let content = match tab {
        "supported" => supported(&state, &ctx, &query, paging).await?,
        "whitelist" => whitelist(&state, &ctx, paging).await?,
        _ => findings(&state, &ctx, &query, paging).await?,
    };
    let body = html! {
        @if let (Some(id), Some(name)) = (asset, &asset_name) {
            p.chip {
                (ctx.t("filter.asset")) " " a href={ "/assets/" (id) } { (name) } " "
                a.clear href=(Query::default().with("tab", Some(tab)).href("/vulnerabilities")) aria-label=(ctx.t("filter.clear_asset")) { "×" }
            }
        }
        (tabs(&ctx, &tab_links, tab, "vulns.tabs"))
        (content)
        @if ctx.admin() { (whitelist_dialog(&ctx, asset)) }
    };
    Ok(render(&ctx, ctx.t("nav.vulnerabilities"), html! {}, body))
}

async fn findings(
    state: &AppState,
    ctx: &Ctx,
    query: &VulnsQuery,
    paging: Paging,
) -> Result<Markup, PageError> {
    let tab = query.tab();
    let group_by = match tab {
        "advisory" => Some(VulnGroupBy::Advisory),
        "asset" => Some(VulnGroupBy::Asset),
        _ => None,
    };
    let filter = query.filter();
    let listing = state
        .store
        .list_vulnerabilities(ctx.user.session.tenant, &filter, group_by, paging)
        .await
        .or_page(ctx.lang)?;
    let (page_no, per_page, total) = match &listing {
        VulnListing::Findings(p) => (p.page, p.per_page, p.total),
        VulnListing::ByAdvisory(p) => (p.page, p.per_page, p.total),
        VulnListing::ByAsset(p) => (p.page, p.per_page, p.total),
    };
    let asset_q = filter.asset;
    Ok(html! {
        (filter_form(ctx, "/vulnerabilities", &[("tab", tab)], html! {
            @if let Some(id) = asset_q { input type="hidden" name="asset" value=(id); }
            (search_filter(ctx, nonempty(&query.q), "vulns.search_placeholder"))
            (select_filter(ctx, "severity", "vulns.col.severity", &SEVERITY_OPTIONS, nonempty(&query.severity)))
            div.field {
                span.label-spacer aria-hidden="true" { " " }
                label.checkbox {
                    input type="checkbox" name="include_whitelisted" value="1" checked[filter.include_whitelisted];
                    (ctx.t("vulns.include_whitelisted"))
                }
            }
        }))
        div #results {
            @if total == 0 {
                (empty_state(ctx, "vulns.empty.title", html! {
                    p { (ctx.t("vulns.empty.body")) }
                    ol.steps {
                        li { (ctx.t("findings.next.bound")) " " a href="/assets?view=no-quota" { (ctx.t("findings.next.bound_link")) } }
                        li { (ctx.t("findings.next.scan_now")) " " a href="/assets?agent=online" { (ctx.t("findings.next.scan_now_link")) } }
                        li { (ctx.t("findings.next.interval")) " " a href="/settings#scans" { (ctx.t("findings.next.interval_link")) } }
                    }
                }))
            } @else {
                div.table-wrap {
                    @match &listing {
                        VulnListing::ByAdvisory(groups) => {
                            table.data {
                                thead { tr {
                                    th scope="col" { (ctx.t("vulns.col.advisory")) }
                                    th scope="col" { (ctx.t("vulns.col.severity")) }
                                    th scope="col" { (ctx.t("vulns.col.packages")) }
                                    th.num scope="col" { (ctx.t("vulns.col.assets")) }
                                    th.num scope="col" { (ctx.t("vulns.col.findings")) }
                                    th scope="col" { (ctx.t("vulns.col.remediation")) }
                                    @if ctx.admin() { th scope="col" { span.sr-only { (ctx.t("common.actions")) } } }
                                } }
                                tbody {
                                    @for group in &groups.items {
                                        tr {
                                            td.wide {
                                                a.strong href=(Query::default().with("tab", Some("findings")).with("q", Some(&group.advisory_id)).with("asset", asset_q).href("/vulnerabilities")) { (group.advisory_id) }
                                                @if !group.aliases.is_empty() { " " span.muted.small { (group.aliases.join(", ")) } }
                                                br;
                                                span.small.clip { (group.summary) }
                                            }
                                            td { (severity_badge(ctx, &group.severity)) }
                                            td.small { (group.packages.join(", ")) }
                                            td.num { (ctx.n(group.asset_count)) }
                                            td.num { (ctx.n(group.finding_count)) }
                                            td.small { (group.remediation) }
                                            @if ctx.admin() {
                                                td { (whitelist_button(ctx, &group.advisory_id)) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        VulnListing::ByAsset(groups) => {
                            table.data {
                                thead { tr {
                                    th scope="col" { (ctx.t("alerts.col.asset")) }
                                    th.num scope="col" { (ctx.t("vulns.col.findings")) }
                                    th.num scope="col" { (ctx.t("vulns.col.advisories")) }
                                    th.num scope="col" { (ctx.t("severity.critical")) }
                                    th.num scope="col" { (ctx.t("severity.high")) }
                                    th.num scope="col" { (ctx.t("severity.medium")) }
                                    th.num scope="col" { (ctx.t("severity.low")) }
                                    th.num scope="col" { (ctx.t("severity.unknown")) }
                                } }
                                tbody {
                                    @for group in &groups.items {
                                        tr {
                                            td { (asset_cell(&group.asset)) br;
                                                a.small href={ "/vulnerabilities?tab=findings&asset=" (group.asset.id) } { (ctx.t("vulns.view_findings")) } }
                                            td.num { (ctx.n(group.finding_count)) }
                                            td.num { (ctx.n(group.advisory_count)) }
                                            td.num { (ctx.n(group.critical)) }
                                            td.num { (ctx.n(group.high)) }
                                            td.num { (ctx.n(group.medium)) }
                                            td.num { (ctx.n(group.low)) }
                                            td.num { (ctx.n(group.unknown)) }
                                        }
                                    }
                                }
                            }
                        }
                        VulnListing::Findings(items) => {
                            table.data {
                                thead { tr {
                                    th scope="col" { (ctx.t("alerts.col.asset")) }
                                    th scope="col" { (ctx.t("vulns.col.package")) }
                                    th scope="col" { (ctx.t("vulns.col.advisory")) }
                                    th scope="col" { (ctx.t("vulns.col.severity")) }
                                    th scope="col" { (ctx.t("vulns.col.fixed")) }
                                    th scope="col" { (ctx.t("vulns.col.remediation")) }
                                    th scope="col" { (ctx.t("vulns.col.first_seen")) }
                                } }
                                tbody {
                                    @for finding in &items.items {
                                        tr.whitelisted[finding.whitelisted] {
                                            td { (asset_cell(&finding.asset)) }
                                            td {
                                                strong { (finding.package) } " " code { (finding.version) }
                                                br; span.muted.small { (finding.ecosystem) " · " (finding.container) }
                                            }
                                            td.wide {
                                                @match &finding.url {
                                                    Some(url) if url.starts_with("https://") => a href=(url) rel="noreferrer noopener" target="_blank" { (finding.advisory_id) },
                                                    _ => strong { (finding.advisory_id) },
                                                }
                                                @if !finding.aliases.is_empty() { " " span.muted.small { (finding.aliases.join(", ")) } }
                                                br; span.small.clip { (finding.summary) }
                                                @if finding.whitelisted { br; span.badge.muted { (ctx.t("vulns.whitelisted")) } }
                                            }
                                            td { (severity_badge(ctx, &finding.severity))
                                                @if let Some(score) = finding.cvss_score { br; span.small.muted { "CVSS " (format!("{score:.1}")) } } }
                                            td { @match &finding.fixed_version { Some(v) => code { (v) }, None => span.muted { (ctx.t("vulns.no_fix")) } } }
                                            td.small { (finding.remediation) }
                                            td.small { (ctx.time(Some(finding.first_seen))) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager(ctx, "/vulnerabilities", &query.query(), page_no, per_page, total))
        }
    })
}

fn whitelist_button(ctx: &Ctx, advisory: &str) -> Markup {
    html! {
        button.btn.small.secondary type="button" data-open="vuln-wl-dialog" data-fill={ "wl-advisory=" (advisory) }
            aria-haspopup="dialog" { (ctx.t("whitelist.add")) }
    }
}

fn whitelist_dialog(ctx: &Ctx, asset: Option<i64>) -> Markup {
    dialog(
        ctx,
        "vuln-wl-dialog",
        ctx.t("vulns.whitelist_title"),
        html! {
            form method="post" action="/vulnerabilities/whitelist" {
                (ctx.csrf()) (next_field(ctx))
                p { (ctx.t("vulns.whitelist_explain")) }
                div.field {
                    label for="wl-advisory" { (ctx.t("vulns.col.advisory")) }
                    input #wl-advisory name="advisory_id" type="text" required maxlength="128" placeholder="CVE-2024-0001";
                }
                fieldset {
                    legend { (ctx.t("whitelist.scope")) }
                    @if let Some(id) = asset {
                        label.radio { input type="radio" name="scope" value="asset" checked; (ctx.t("whitelist.scope_asset")) " #" (id) }
                        input type="hidden" name="asset_id" value=(id);
                    }
                    label.radio { input type="radio" name="scope" value="all" checked[asset.is_none()]; (ctx.t("whitelist.scope_all")) }
                }
                div.field {
                    label for="wl-reason" { (ctx.t("whitelist.reason")) }
                    textarea #wl-reason name="reason" rows="2" required maxlength="2000" {}
                }
                div.button-row.end {
                    button.btn.secondary type="button" data-close { (ctx.t("common.cancel")) }
                    button.btn.primary type="submit" { (ctx.t("whitelist.add")) }
                }
            }
        },
    )
}

async fn supported(
    state: &AppState,
    ctx: &Ctx,
    query: &VulnsQuery,
    paging: Paging,
) -> Result<Markup, PageError> {
    let status = state.store.vuln_db().status();
    let loaded = state.store.vuln_db().get().await;
    let q = search_text(&query.q);
    let ecosystem = nonempty(&query.ecosystem).map(|e| e.chars().take(64).collect::<String>());
    let (items, total) = match loaded {
        Some(db) => {
            let offset = usize::try_from(paging.offset()).unwrap_or(usize::MAX);
            let limit = paging.per_page as usize;
            let (q, ecosystem) = (q.clone(), ecosystem.clone());
            tokio::task::spawn_blocking(move || {
                db.search(q.as_deref(), ecosystem.as_deref(), offset, limit)
            })
            .await
            .map_err(|err| PageError::new(ctx.lang, StoreError::Invalid(err.to_string())))?
        }
        None => (Vec::new(), 0),
    };
    let eco_options: Vec<(&str, &str)> = status
        .ecosystems
        .keys()
        .map(|k| (k.as_str(), k.as_str()))
        .collect();
    Ok(html! {
        section.card aria-labelledby="db-h" {
            h2 #db-h { (ctx.t("vulns.db.title")) }
            @if status.loaded {
                dl.kv.inline {
                    dt { (ctx.t("vulns.db.records")) } dd { (ctx.n(status.records as i64)) }
                    dt { (ctx.t("vulns.db.withdrawn")) } dd { (ctx.n(status.withdrawn as i64)) }
                    dt { (ctx.t("vulns.db.built_at")) } dd { (status.built_at.as_deref().unwrap_or("—")) }
                }
                div.eco-grid {
                    @for (name, count) in &status.ecosystems {
                        a.eco href=(Query::default().with("tab", Some("supported")).with("ecosystem", Some(name)).href("/vulnerabilities"))
                            aria-current=[(ecosystem.as_deref() == Some(name.as_str())).then_some("true")] {
                            span.value { (ctx.n(*count as i64)) } span.label { (name) }
                        }
                    }
                }
            } @else {
                p.banner.warn { (ctx.t("vulns.db.not_loaded")) }
                @if let Some(message) = &status.message { p.small.muted { (message) } }
                pre.code { code { "podwarden db update --db /var/lib/podwarden/osv\n# podwarden.toml: vuln_db = \"/var/lib/podwarden/osv\"" } }
            }
        }
        @if status.loaded {
            form.filters method="get" action="/vulnerabilities" role="search"
                hx-get="/vulnerabilities" hx-target="#results" hx-select="#results" hx-swap="outerHTML"
                hx-push-url="true" hx-trigger="change, search, keyup changed delay:400ms from:input[type=search]" {
                input type="hidden" name="tab" value="supported";
                (search_filter(ctx, q.as_deref(), "vulns.supported_placeholder"))
                @let eco_all: Vec<(&str, &str)> = eco_options.clone();
                div.field {
                    label for="f-ecosystem" { (ctx.t("vulns.col.ecosystem")) }
                    select #f-ecosystem name="ecosystem" {
                        option value="" selected[ecosystem.is_none()] { (ctx.t("filter.all")) }
                        @for (value, label) in &eco_all {
                            option value=(value) selected[ecosystem.as_deref() == Some(*value)] { (label) }
                        }
                    }
                }
                div.field {
                    span.label-spacer aria-hidden="true" { " " }
                    button.btn.secondary type="submit" { (ctx.t("filter.apply")) }
                }
            }
            div #results {
                div.table-wrap {
                    table.data {
                        thead { tr {
                            th scope="col" { (ctx.t("vulns.col.advisory")) }
                            th scope="col" { (ctx.t("vulns.col.summary")) }
                            th scope="col" { (ctx.t("vulns.col.ecosystem")) }
                        } }
                        tbody {
                            @for entry in &items {
                                tr.whitelisted[entry.withdrawn] {
                                    td { strong { (entry.id) } @if entry.withdrawn { br; span.badge.muted { (ctx.t("vulns.withdrawn")) } } }
                                    td.small { (entry.summary) }
                                    td.small { (entry.ecosystems.join(", ")) }
                                }
                            }
                        }
                    }
                }
                (pager(ctx, "/vulnerabilities", &query.query(), paging.page, paging.per_page, i64::try_from(total).unwrap_or(i64::MAX)))
            }
        }
    })
}

async fn whitelist(state: &AppState, ctx: &Ctx, paging: Paging) -> Result<Markup, PageError> {
    let rules = state
        .store
        .list_vuln_whitelist(ctx.user.session.tenant, paging)
        .await
        .or_page(ctx.lang)?;
    Ok(html! {
        @if ctx.admin() {
            div.button-row { button.btn.secondary type="button" data-open="vuln-wl-dialog" aria-haspopup="dialog" { (ctx.t("whitelist.add")) } }
        }
        div #results {
            @if rules.items.is_empty() {
                (empty_state(ctx, "vulns.whitelist_empty", html! { p { (ctx.t("vulns.whitelist_explain")) } }))
            } @else {
                div.table-wrap {
                    table.data {
                        thead { tr {
                            th scope="col" { (ctx.t("vulns.col.advisory")) }
                            th scope="col" { (ctx.t("whitelist.scope")) }
                            th scope="col" { (ctx.t("whitelist.reason")) }
                            th scope="col" { (ctx.t("whitelist.created")) }
                            @if ctx.admin() { th scope="col" { span.sr-only { (ctx.t("common.actions")) } } }
                        } }
                        tbody {
                            @for rule in &rules.items {
                                tr {
                                    td { strong { (rule.advisory_id) } }
                                    td { @match rule.asset_id {
                                        Some(id) => { (ctx.t("whitelist.scope_asset")) " " a href={ "/assets/" (id) } { "#" (id) } }
                                        None => (ctx.t("whitelist.scope_all")),
                                    } }
                                    td.small { (rule.reason) }
                                    td.small { (ctx.time(Some(rule.created_at))) br; span.muted { (rule.created_by) } }
                                    @if ctx.admin() {
                                        td { form method="post" action={ "/vulnerabilities/whitelist/" (rule.id) "/delete" } {
                                            (ctx.csrf()) (next_field(ctx))
                                            button.btn.small.danger type="submit" { (ctx.t("common.delete")) }
                                        } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager(ctx, "/vulnerabilities", &Query::default().with("tab", Some("whitelist")), rules.page, rules.per_page, rules.total))
        }
    })
}

/// `POST /vulnerabilities/whitelist`: `advisory_id`, `scope` (asset with `asset_id`, or all),
/// `reason`.
pub async fn post_whitelist(State(state): State<AppState>, form: AdminForm) -> Response {
    let AdminForm { user, fields } = form;
    let to = back_to(&fields, "/vulnerabilities?tab=whitelist");
    let request = VulnWhitelistRequest {
        advisory_id: fields.get("advisory_id").unwrap_or_default().to_string(),
        asset_id: if fields.get("scope") == Some("asset") {
            parse_id(fields.get("asset_id"))
        } else {
            None
        },
        reason: fields.get("reason").unwrap_or_default().to_string(),
    };
    let result = state
        .store
        .add_vuln_whitelist(user.session.tenant, &request, &user.session.actor)
        .await;
    after(&user, &to, result, |outcome| {
        ok_flash(
            "flash.vuln_whitelist.added",
            &[("n", outcome.findings_changed.to_string())],
        )
    })
}

/// `POST /vulnerabilities/whitelist/{id}/delete`.
pub async fn post_delete_whitelist(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, fields } = form;
    let to = back_to(&fields, "/vulnerabilities?tab=whitelist");
    let result = async {
        let id = super::path_id(&id, "whitelist rule")?;
        state
            .store
            .delete_vuln_whitelist(user.session.tenant, id, &user.session.actor)
            .await
    }
    .await;
    after(&user, &to, result, |_| {
        ok_flash("flash.whitelist.deleted", &[])
    })
}
