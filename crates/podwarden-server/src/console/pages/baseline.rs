//! `/baseline`: risks grouped by check and by asset, every risk with its details and
//! hardening suggestion, **Fix** (`/baseline/{id}/fix` shows the patch and the fixed pod
//! before applying it), and the baseline whitelist.

use super::assets::paging;
use super::{after, asset_cell, back_to, dialog, next_field, nonempty, parse_id, search_text};
use crate::console::check_texts;
use crate::console::i18n;
use crate::console::layout::{
    Ctx, Flash, OrPage, PageError, PageResult, Query, Section, empty_state, filter_form, ok_flash,
    pager, redirect_with_flash, render, search_filter, select_filter, severity_badge, tabs,
};
use crate::console::session::{AdminForm, ConsoleUser};
use crate::error::StoreError;
use crate::findings::patcher::PatchRefused;
use crate::state::AppState;
use crate::store::alerts::WhitelistScope;
use crate::store::audit::Paging;
use crate::store::baseline::{BaselineWhitelistRequest, RiskFilter, RiskGroupBy, RiskListing};
use axum::extract::{Path, Query as QueryString, State};
use axum::response::Response;
use maud::{Markup, html};
use podwarden_baseline::PatchOp;
use serde::Deserialize;

/// Query of `GET /baseline`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BaselineQuery {
    pub tab: Option<String>,
    pub check: Option<String>,
    pub severity: Option<String>,
    pub asset: Option<String>,
    pub include_whitelisted: Option<String>,
    pub q: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

const SEVERITIES: [(&str, &str); 5] = [
    ("critical", "severity.critical"),
    ("high", "severity.high"),
    ("medium", "severity.medium"),
    ("low", "severity.low"),
    ("info", "severity.info"),
];

impl BaselineQuery {
    fn tab(&self) -> &str {
        match nonempty(&self.tab) {
            Some("asset") => "asset",
            Some("risks") => "risks",
            Some("whitelist") => "whitelist",
            _ => "check",
        }
    }

    fn filter(&self) -> RiskFilter {
        RiskFilter {
            asset: parse_id(nonempty(&self.asset)),
            check: nonempty(&self.check).map(|c| c.chars().take(128).collect()),
            severities: nonempty(&self.severity)
                .filter(|s| SEVERITIES.iter().any(|(v, _)| v == s))
                .map(|s| vec![s.to_string()])
                .unwrap_or_default(),
            include_whitelisted: nonempty(&self.include_whitelisted).is_some(),
            q: search_text(&self.q),
        }
    }

    fn query(&self) -> Query {
        Query::default()
            .with("tab", Some(self.tab()))
            .with("check", nonempty(&self.check))
            .with("severity", nonempty(&self.severity))
            .with("asset", nonempty(&self.asset))
            .with("include_whitelisted", nonempty(&self.include_whitelisted))
            .with("q", nonempty(&self.q))
            .with("per_page", nonempty(&self.per_page))
    }
}

/// `GET /baseline`.
pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    QueryString(query): QueryString<BaselineQuery>,
) -> PageResult {
    let (ctx, _) = Ctx::load(&state, user, Section::Baseline).await?;
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
            .href("/baseline")
    };
    let tab_links = [
        ("check", link("check")),
        ("asset", link("asset")),
        ("risks", link("risks")),
        ("whitelist", link("whitelist")),
    ];
    let content = if tab == "whitelist" {
        whitelist(&state, &ctx, paging).await?
    } else {
        risks(&state, &ctx, &query, paging).await?
    };
    let body = html! {
        @if let (Some(id), Some(name)) = (asset, &asset_name) {
            p.chip {
                (ctx.t("filter.asset")) " " a href={ "/assets/" (id) } { (name) } " "
                a.clear href=(Query::default().with("tab", Some(tab)).href("/baseline")) aria-label=(ctx.t("filter.clear_asset")) { "×" }
            }
        }
        @if let Some(check) = nonempty(&query.check) {
            p.chip {
                (ctx.t("baseline.col.check")) " " code { (check) } " "
                a.clear href=(Query::default().with("tab", Some(tab)).with("asset", asset).href("/baseline")) aria-label=(ctx.t("filter.clear")) { "×" }
            }
        }
        (tabs(&ctx, &tab_links, tab, "baseline.tabs"))
        (content)
        @if ctx.admin() { (whitelist_dialog(&ctx)) }
    };
    Ok(render(&ctx, ctx.t("nav.baseline"), html! {}, body))
}

async fn risks(
    state: &AppState,
    ctx: &Ctx,
    query: &BaselineQuery,
    paging: Paging,
) -> Result<Markup, PageError> {
    let tab = query.tab();
    let group_by = match tab {
        "check" => Some(RiskGroupBy::Check),
        "asset" => Some(RiskGroupBy::Asset),
        _ => None,
    };
    let filter = query.filter();
    let listing = state
        .store
        .list_baseline_risks(ctx.user.session.tenant, &filter, group_by, paging)
        .await
        .or_page(ctx.lang)?;
    let (page_no, per_page, total) = match &listing {
        RiskListing::Risks(p) => (p.page, p.per_page, p.total),
        RiskListing::ByCheck(p) => (p.page, p.per_page, p.total),
        RiskListing::ByAsset(p) => (p.page, p.per_page, p.total),
    };
    let hidden_asset = filter.asset.map(|a| a.to_string());
    let mut hidden: Vec<(&str, &str)> = vec![("tab", tab)];
    if let Some(a) = &hidden_asset {
        hidden.push(("asset", a));
    }
    if let Some(c) = nonempty(&query.check) {
        hidden.push(("check", c));
    }
    Ok(html! {
        (filter_form(ctx, "/baseline", &hidden, html! {
            (search_filter(ctx, nonempty(&query.q), "baseline.search_placeholder"))
            (select_filter(ctx, "severity", "vulns.col.severity", &SEVERITIES, nonempty(&query.severity)))
            div.field {
                span.label-spacer aria-hidden="true" { " " }
                label.checkbox {
                    input type="checkbox" name="include_whitelisted" value="1" checked[filter.include_whitelisted];
                    (ctx.t("baseline.include_whitelisted"))
                }
            }
        }))
        div #results {
            @if total == 0 && filter.q.is_none() {
                (empty_state(ctx, "baseline.empty.title", html! {
                    p { (ctx.t("baseline.empty.body")) }
                    ol.steps {
                        li { (ctx.t("findings.next.bound")) " " a href="/assets?view=no-quota" { (ctx.t("findings.next.bound_link")) } }
                        li { (ctx.t("findings.next.scan_now")) " " a href="/assets?agent=online" { (ctx.t("findings.next.scan_now_link")) } }
                        li { (ctx.t("findings.next.interval")) " " a href="/settings#scans" { (ctx.t("findings.next.interval_link")) } }
                    }
                }))
            } @else {
                div.table-wrap {
                    @match &listing {
                        RiskListing::ByCheck(groups) => {
                            table.data {
                                thead { tr {
                                    th scope="col" { (ctx.t("baseline.col.check")) }
                                    th scope="col" { (ctx.t("vulns.col.severity")) }
                                    th scope="col" { (ctx.t("baseline.col.level")) }
                                    th.num scope="col" { (ctx.t("vulns.col.assets")) }
                                    th.num scope="col" { (ctx.t("baseline.col.risks")) }
                                } }
                                tbody {
                                    @for group in &groups.items {
                                        tr {
                                            td.wide {
                                                a.strong href=(Query::default().with("tab", Some("risks")).with("check", Some(&group.check_id)).with("asset", filter.asset).href("/baseline")) { (check_texts::title(ctx.lang, &group.check_id, &group.title)) }
                                                br; code.small { (group.check_id) }
                                            }
                                            td { (severity_badge(ctx, &group.severity)) }
                                            td { (ctx.t(&format!("baseline.level.{}", group.level))) }
                                            td.num { (ctx.n(group.asset_count)) }
                                            td.num { (ctx.n(group.risk_count)) }
                                        }
                                    }
                                }
                            }
                        }
                        RiskListing::ByAsset(groups) => {
                            table.data {
                                thead { tr {
                                    th scope="col" { (ctx.t("alerts.col.asset")) }
                                    th.num scope="col" { (ctx.t("baseline.col.risks")) }
                                    th.num scope="col" { (ctx.t("severity.critical")) }
                                    th.num scope="col" { (ctx.t("severity.high")) }
                                    th.num scope="col" { (ctx.t("severity.medium")) }
                                    th.num scope="col" { (ctx.t("severity.low")) }
                                    th.num scope="col" { (ctx.t("severity.info")) }
                                } }
                                tbody {
                                    @for group in &groups.items {
                                        tr {
                                            td { (asset_cell(&group.asset)) br;
                                                a.small href={ "/baseline?tab=risks&asset=" (group.asset.id) } { (ctx.t("baseline.view_risks")) } }
                                            td.num { (ctx.n(group.risk_count)) }
                                            td.num { (ctx.n(group.critical)) }
                                            td.num { (ctx.n(group.high)) }
                                            td.num { (ctx.n(group.medium)) }
                                            td.num { (ctx.n(group.low)) }
                                            td.num { (ctx.n(group.info)) }
                                        }
                                    }
                                }
                            }
                        }
                        RiskListing::Risks(items) => {
                            table.data {
                                thead { tr {
                                    th scope="col" { (ctx.t("baseline.col.check")) }
                                    th scope="col" { (ctx.t("alerts.col.asset")) }
                                    th scope="col" { (ctx.t("vulns.col.severity")) }
                                    th scope="col" { (ctx.t("baseline.col.details")) }
                                    th scope="col" { span.sr-only { (ctx.t("common.actions")) } }
                                } }
                                tbody {
                                    @for risk in &items.items {
                                        tr.whitelisted[risk.whitelisted] {
                                            td {
                                                strong { (check_texts::title(ctx.lang, &risk.check_id, &risk.title)) } br; code.small { (risk.check_id) }
                                                br; span.small.muted { (ctx.t(&format!("baseline.level.{}", risk.level))) }
                                                @if !risk.container.is_empty() { " · " span.small.muted { (ctx.t("asset.container")) " " (risk.container) } }
                                            }
                                            td { (asset_cell(&risk.asset)) }
                                            td { (severity_badge(ctx, &risk.severity))
                                                @if risk.whitelisted { br; span.badge.muted { (ctx.t("vulns.whitelisted")) } } }
                                            td.wide {
                                                p.small { (check_texts::message(ctx.lang, &risk.check_id, &risk.message)) }
                                                details {
                                                    summary { (ctx.t("baseline.more")) }
                                                    dl.kv.small {
                                                        dt { (ctx.t("baseline.rationale")) } dd { (check_texts::rationale(ctx.lang, &risk.check_id, &risk.rationale)) }
                                                        dt { (ctx.t("baseline.suggestion")) } dd { (check_texts::remediation(ctx.lang, &risk.check_id, &risk.remediation)) }
                                                        dt { (ctx.t("baseline.path")) } dd { code { (risk.path) } }
                                                        @if let Some(reason) = &risk.no_fix_reason { dt { (ctx.t("baseline.no_fix")) } dd { (check_texts::no_fix_reason(ctx.lang, &risk.check_id, reason)) } }
                                                        @if let Some(exemption) = &risk.exemption { dt { (ctx.t("baseline.exemption")) } dd { (exemption) } }
                                                        dt { (ctx.t("vulns.col.first_seen")) } dd { (ctx.time(Some(risk.first_seen))) }
                                                    }
                                                }
                                            }
                                            td.actions-cell {
                                                @if risk.fix_available {
                                                    a.btn.small.primary href={ "/baseline/" (risk.id) "/fix" } {
                                                        (ctx.t(if ctx.admin() { "baseline.fix" } else { "baseline.view_fix" }))
                                                    }
                                                }
                                                @if ctx.admin() && !risk.whitelisted {
                                                    button.btn.small.secondary type="button" data-open="baseline-wl-dialog"
                                                        data-fill={ "wl-risk=" (risk.id) } aria-haspopup="dialog" { (ctx.t("whitelist.add")) }
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
            (pager(ctx, "/baseline", &query.query(), page_no, per_page, total))
        }
    })
}

fn whitelist_dialog(ctx: &Ctx) -> Markup {
    dialog(
        ctx,
        "baseline-wl-dialog",
        ctx.t("baseline.whitelist_title"),
        html! {
            form method="post" action="/baseline/whitelist" {
                (ctx.csrf()) (next_field(ctx))
                input #wl-risk type="hidden" name="risk_id" value="";
                p { (ctx.t("baseline.whitelist_explain")) }
                fieldset {
                    legend { (ctx.t("whitelist.scope")) }
                    label.radio { input type="radio" name="scope" value="asset" checked; (ctx.t("baseline.scope_asset")) }
                    label.radio { input type="radio" name="scope" value="all"; (ctx.t("baseline.scope_all")) }
                }
                div.field {
                    label for="bwl-reason" { (ctx.t("whitelist.reason")) }
                    textarea #bwl-reason name="reason" rows="2" required maxlength="2000" {}
                }
                div.button-row.end {
                    button.btn.secondary type="button" data-close { (ctx.t("common.cancel")) }
                    button.btn.primary type="submit" { (ctx.t("whitelist.add")) }
                }
            }
        },
    )
}

async fn whitelist(state: &AppState, ctx: &Ctx, paging: Paging) -> Result<Markup, PageError> {
    let rules = state
        .store
        .list_baseline_whitelist(ctx.user.session.tenant, paging)
        .await
        .or_page(ctx.lang)?;
    Ok(html! {
        div #results {
            @if rules.items.is_empty() {
                (empty_state(ctx, "baseline.whitelist_empty", html! { p { (ctx.t("baseline.whitelist_explain")) } }))
            } @else {
                div.table-wrap {
                    table.data {
                        thead { tr {
                            th scope="col" { (ctx.t("baseline.col.check")) }
                            th scope="col" { (ctx.t("whitelist.scope")) }
                            th scope="col" { (ctx.t("whitelist.reason")) }
                            th scope="col" { (ctx.t("whitelist.created")) }
                            @if ctx.admin() { th scope="col" { span.sr-only { (ctx.t("common.actions")) } } }
                        } }
                        tbody {
                            @for rule in &rules.items {
                                tr {
                                    td { code { (rule.check_id) } }
                                    td { @match rule.asset_id {
                                        Some(id) => { (ctx.t("whitelist.scope_asset")) " " a href={ "/assets/" (id) } { "#" (id) } }
                                        None => (ctx.t("whitelist.scope_all")),
                                    } }
                                    td.small { (rule.reason) }
                                    td.small { (ctx.time(Some(rule.created_at))) br; span.muted { (rule.created_by) } }
                                    @if ctx.admin() {
                                        td { form method="post" action={ "/baseline/whitelist/" (rule.id) "/delete" } {
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
            (pager(ctx, "/baseline", &Query::default().with("tab", Some("whitelist")), rules.page, rules.per_page, rules.total))
        }
    })
}

/// `GET /baseline/{id}/fix`: the fix of a risk (patch, fixed pod) before applying it.
pub async fn fix_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> PageResult {
    let tenant = user.session.tenant;
    let (ctx, _) = Ctx::load(&state, user, Section::Baseline).await?;
    let id: i64 = id
        .parse()
        .map_err(|_| StoreError::NotFound(format!("baseline risk {id}")))
        .or_page(ctx.lang)?;
    let result = state.store.baseline_fix(tenant, id).await;
    let body = match result {
        Ok((plan, target)) => html! {
            p.breadcrumb { a href="/baseline?tab=risks" { (ctx.t("nav.baseline")) } " / " (ctx.t("baseline.fix")) " #" (id) }
            section.card aria-labelledby="fix-h" {
                h2 #fix-h { code { (plan.check_id) } }
                p { (check_texts::fix_description(ctx.lang, &plan.check_id, &plan.description)) }
                dl.kv {
                    dt { (ctx.t("baseline.safety_label")) }
                    dd { span class={ "badge " (if plan.safety == "safe" { "ok" } else { "warn" }) } { (ctx.t(&format!("baseline.safety.{}", plan.safety))) } }
                    @if let Some(risk) = &plan.risk { dt { (ctx.t("baseline.fix_risk")) } dd { (check_texts::fix_risk(ctx.lang, &plan.check_id, risk)) } }
                    dt { (ctx.t("baseline.target")) }
                    dd {
                        a href={ "/assets/" (target.asset_id) } { (target.namespace) "/" (target.pod_name) }
                        @if let (Some(kind), Some(name)) = (&target.owner_kind, &target.owner_name) { " → " (kind) " " (name) }
                        @if !target.cluster.is_empty() { " · " (target.cluster) }
                    }
                }
                h3 { (ctx.t("baseline.patch")) }
                pre.code #fix-patch { code { (serde_json::to_string_pretty(&plan.patch).unwrap_or_default()) } }
                details {
                    summary { (ctx.t("baseline.fixed_pod")) }
                    pre.code { code { (plan.fixed_yaml) } }
                }
                @if ctx.admin() {
                    form method="post" action={ "/baseline/" (id) "/fix" } {
                        (ctx.csrf())
                        p.hint { (ctx.t("baseline.apply_explain")) }
                        div.button-row {
                            a.btn.secondary href="/baseline?tab=risks" { (ctx.t("common.cancel")) }
                            button.btn.primary type="submit" #apply-fix { (ctx.t("baseline.apply")) }
                        }
                    }
                }
            }
        },
        Err(StoreError::Conflict(message)) => html! {
            p.breadcrumb { a href="/baseline?tab=risks" { (ctx.t("nav.baseline")) } }
            p.banner.warn { (ctx.t("baseline.no_fix_now")) " " (check_texts::fix_conflict(ctx.lang, &message)) }
        },
        Err(err) => return Err(PageError::new(ctx.lang, err)),
    };
    Ok(render(&ctx, ctx.t("baseline.fix_title"), html! {}, body))
}

/// `POST /baseline/{id}/fix`: applies the fix to the workload through the cluster client,
/// as `POST /api/v1/baseline-risks/{id}/fix` with `apply: true` does.
pub async fn post_fix(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, .. } = form;
    let to = format!("/baseline/{id}/fix");
    let Ok(risk) = id.parse::<i64>() else {
        return after(
            &user,
            "/baseline",
            Err::<(), _>(StoreError::NotFound(format!("baseline risk {id}"))),
            |_| ok_flash("flash.saved", &[]),
        );
    };
    let tenant = user.session.tenant;
    let actor = &user.session.actor;
    let (plan, target) = match state.store.baseline_fix(tenant, risk).await {
        Ok(found) => found,
        Err(err) => {
            return after(&user, &to, Err::<(), _>(err), |_| {
                ok_flash("flash.saved", &[])
            });
        }
    };
    let patch: Vec<PatchOp> = match serde_json::from_value(plan.patch.clone()) {
        Ok(patch) => patch,
        Err(err) => {
            return after(
                &user,
                &to,
                Err::<(), _>(StoreError::Invalid(format!("stored patch: {err}"))),
                |_| ok_flash("flash.saved", &[]),
            );
        }
    };
    let (applied, message, flash) = match state.patcher.apply(&target, &patch).await {
        Ok(done) => (
            true,
            done.message.clone(),
            ok_flash(
                "flash.fix.applied",
                &[("target", done.target), ("message", done.message)],
            ),
        ),
        Err(PatchRefused::Unavailable(message)) => (
            false,
            message.clone(),
            Flash {
                ok: false,
                key: "flash.fix.unavailable".to_string(),
                args: vec![("message".to_string(), message)],
            },
        ),
        Err(err @ PatchRefused::Failed(_)) => {
            let message = err.to_string();
            (
                false,
                message.clone(),
                Flash {
                    ok: false,
                    key: "flash.fix.failed".to_string(),
                    args: vec![("message".to_string(), message)],
                },
            )
        }
    };
    if let Err(err) = state
        .store
        .audit_fix_applied(tenant, risk, actor, applied, &message)
        .await
    {
        tracing::error!(error = %err, "recording a baseline fix in the audit log failed");
    }
    let to = if applied {
        "/baseline?tab=risks".to_string()
    } else {
        to
    };
    redirect_with_flash(&user, &to, flash)
}

/// `POST /baseline/whitelist`: `risk_id`, `scope` (asset or all), `reason`.
pub async fn post_whitelist(State(state): State<AppState>, form: AdminForm) -> Response {
    let AdminForm { user, fields } = form;
    let to = back_to(&fields, "/baseline?tab=risks");
    let request = BaselineWhitelistRequest {
        scope: Some(if fields.get("scope") == Some("all") {
            WhitelistScope::All
        } else {
            WhitelistScope::Asset
        }),
        reason: fields.get("reason").unwrap_or_default().to_string(),
    };
    let result = match parse_id(fields.get("risk_id")) {
        Some(risk) => {
            state
                .store
                .whitelist_baseline_risk(user.session.tenant, risk, &request, &user.session.actor)
                .await
        }
        None => Err(StoreError::Invalid(
            i18n::text(user.lang, "baseline.choose_risk").to_string(),
        )),
    };
    after(&user, &to, result, |outcome| {
        ok_flash(
            "flash.baseline_whitelist.added",
            &[("n", outcome.risks_changed.to_string())],
        )
    })
}

/// `POST /baseline/whitelist/{id}/delete`.
pub async fn post_delete_whitelist(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, fields } = form;
    let to = back_to(&fields, "/baseline?tab=whitelist");
    let result = async {
        let id = super::path_id(&id, "whitelist rule")?;
        state
            .store
            .delete_baseline_whitelist(user.session.tenant, id, &user.session.actor)
            .await
    }
    .await;
    after(&user, &to, result, |_| {
        ok_flash("flash.whitelist.deleted", &[])
    })
}
