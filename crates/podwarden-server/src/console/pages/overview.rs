//! `/` Overview: the protection switch (enable with the default-binding rules explained,
//! switch off, pause, auto-add), the overdue state, asset counts by agent status, binding and
//! risk, open findings, and today's metered core-seconds and cost.

use super::{after, back_to, dialog, next_field, open_button};
use crate::console::layout::{
    Ctx, OrPage, PageResult, Section, empty_state, injection_help, ok_flash, render,
};
use crate::console::session::{AdminForm, ConsoleUser};
use crate::error::StoreError;
use crate::metering::format_scaled;
use crate::state::AppState;
use crate::store::alerts::{AlertFilter, StatusFilter};
use crate::store::assets::AssetFilter;
use crate::store::audit::Paging;
use crate::store::baseline::{RiskFilter, RiskListing};
use crate::store::protection::{BindingChoice, ProtectionState, ProtectionUpdate};
use crate::store::vulns::{VulnFilter, VulnListing};
use crate::store::{Store, TenantId};
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use podwarden_api::uplink::AlertSeverity;

/// The asset counts the overview shows.
struct AssetCounts {
    total: i64,
    online: i64,
    offline: i64,
    bound: i64,
    unbound: i64,
    at_risk: i64,
    safe: i64,
    gone: i64,
}

async fn count_assets(
    store: &Store,
    tenant: TenantId,
    filter: AssetFilter,
) -> Result<i64, StoreError> {
    let one = Paging::new(Some(1), Some(1))?;
    Ok(store.list_assets(tenant, &filter, one).await?.total)
}

async fn asset_counts(store: &Store, tenant: TenantId) -> Result<AssetCounts, StoreError> {
    let with = |f: fn(&mut AssetFilter)| {
        let mut filter = AssetFilter::default();
        f(&mut filter);
        filter
    };
    // Independent reads, run together on the reader pool; offline, unbound and safe are the
    // exact complements of online, bound and at risk, so they are not counted again.
    let (total, online, bound, at_risk, gone) = tokio::try_join!(
        count_assets(store, tenant, AssetFilter::default()),
        count_assets(store, tenant, with(|f| f.agent_online = Some(true))),
        count_assets(store, tenant, with(|f| f.bound = Some(true))),
        count_assets(store, tenant, with(|f| f.at_risk = Some(true))),
        count_assets(
            store,
            tenant,
            with(|f| f.status = Some(crate::assets::AssetStatus::Gone)),
        ),
    )?;
    let (offline, unbound, safe) = (total - online, total - bound, total - at_risk);
    Ok(AssetCounts {
        total,
        online,
        offline,
        bound,
        unbound,
        at_risk,
        safe,
        gone,
    })
}

/// Open alerts: all, critical, high.
async fn open_alerts(store: &Store, tenant: TenantId) -> Result<[i64; 3], StoreError> {
    let one = Paging::new(Some(1), Some(1))?;
    let count = |severities: Vec<AlertSeverity>| async move {
        let filter = AlertFilter {
            status: Some(StatusFilter::Open),
            severities,
            ..AlertFilter::default()
        };
        Ok::<i64, StoreError>(store.list_alerts(tenant, &filter, one).await?.total)
    };
    let (all, critical, high) = tokio::try_join!(
        count(Vec::new()),
        count(vec![AlertSeverity::Critical]),
        count(vec![AlertSeverity::High]),
    )?;
    Ok([all, critical, high])
}

async fn finding_totals(store: &Store, tenant: TenantId) -> Result<(i64, i64), StoreError> {
    let one = Paging::new(Some(1), Some(1))?;
    let (vuln_filter, risk_filter) = (VulnFilter::default(), RiskFilter::default());
    let (vulns, risks) = tokio::try_join!(
        store.list_vulnerabilities(tenant, &vuln_filter, None, one),
        store.list_baseline_risks(tenant, &risk_filter, None, one),
    )?;
    let vulns = match vulns {
        VulnListing::Findings(page) => page.total,
        VulnListing::ByAdvisory(page) => page.total,
        VulnListing::ByAsset(page) => page.total,
    };
    let risks = match risks {
        RiskListing::Risks(page) => page.total,
        RiskListing::ByCheck(page) => page.total,
        RiskListing::ByAsset(page) => page.total,
    };
    Ok((vulns, risks))
}

/// `GET /`.
pub async fn page(State(state): State<AppState>, user: ConsoleUser) -> PageResult {
    let tenant = user.session.tenant;
    let (ctx, protection) = Ctx::load(&state, user, Section::Overview).await?;
    let store = &state.store;
    let today = ctx.today(store.now()).to_string();
    // The tenant's day, not the display zone's: usage days are cut in the tenant zone.
    let tenant_today = crate::metering::TimeZoneSetting::parse(&protection.timezone)
        .ok()
        .and_then(|zone| zone.day_of(store.now()))
        .map_or(today, |d| d.to_string());
    // Independent reads: run together on the reader pool.
    let (counts, alerts, (vulns, risks), usage) = tokio::try_join!(
        asset_counts(store, tenant),
        open_alerts(store, tenant),
        finding_totals(store, tenant),
        store.usage_as_flushed(tenant, &tenant_today, &tenant_today),
    )
    .or_page(ctx.lang)?;
    let millicore_seconds: i64 = usage.iter().map(|r| r.millicore_seconds).sum();
    let cost_pico: i64 = usage.iter().map(|r| r.cost_pico_usd).sum();

    let body = html! {
        (protection_card(&ctx, &protection))
        div #live hx-get="/" hx-trigger="every 30s" hx-select="#live" hx-swap="outerHTML" {
            @if counts.total == 0 {
                (empty_state(&ctx, "overview.empty.title", html! {
                    p { (ctx.t("overview.empty.body")) }
                    ol.steps {
                        li {
                            (ctx.t("overview.empty.cluster")) " "
                            a href="/settings#clusters" { (ctx.t("overview.empty.cluster_link")) }
                        }
                    }
                    p { (ctx.t("overview.empty.or_inject")) }
                    (injection_help(&ctx))
                }))
            }
            section.cards aria-labelledby="assets-h" {
                h2 #assets-h.section-title { (ctx.t("overview.assets")) }
                div.stat-grid {
                    (stat(&ctx, "overview.stat.total", counts.total, "/assets", ""))
                    (stat(&ctx, "overview.stat.online", counts.online, "/assets?agent=online", "ok"))
                    (stat(&ctx, "overview.stat.offline", counts.offline, "/assets?agent=offline", "muted"))
                    (stat(&ctx, "overview.stat.bound", counts.bound, "/assets?bound=true", ""))
                    (stat(&ctx, "overview.stat.unbound", counts.unbound, "/assets?view=no-quota", "muted"))
                    (stat(&ctx, "overview.stat.at_risk", counts.at_risk, "/assets?risk=at_risk", "bad"))
                    (stat(&ctx, "overview.stat.safe", counts.safe, "/assets?risk=safe", "ok"))
                    (stat(&ctx, "overview.stat.gone", counts.gone, "/assets?status=gone", "muted"))
                }
            }
            div.two-col {
                section.card aria-labelledby="risks-h" {
                    h2 #risks-h { (ctx.t("overview.risks")) }
                    dl.kv {
                        dt { a href="/alerts?tab=unhandled" { (ctx.t("overview.open_alerts")) } }
                        dd.big { (ctx.n(alerts[0])) }
                        dt { a href="/alerts?tab=unhandled&severity=critical" { (ctx.t("severity.critical")) } }
                        dd { (ctx.n(alerts[1])) }
                        dt { a href="/alerts?tab=unhandled&severity=high" { (ctx.t("severity.high")) } }
                        dd { (ctx.n(alerts[2])) }
                        dt { a href="/vulnerabilities?tab=findings" { (ctx.t("overview.vulnerabilities")) } }
                        dd { (ctx.n(vulns)) }
                        dt { a href="/baseline?tab=risks" { (ctx.t("overview.baseline_risks")) } }
                        dd { (ctx.n(risks)) }
                    }
                }
                section.card aria-labelledby="usage-h" {
                    h2 #usage-h { (ctx.t("overview.usage_today")) }
                    dl.kv {
                        dt { (ctx.t("usage.day")) }
                        dd { (tenant_today) " (" (protection.timezone) ")" }
                        dt { (ctx.t("usage.core_seconds")) }
                        dd.big { (format_scaled(i128::from(millicore_seconds), 3)) }
                        dt { (ctx.t("usage.cost")) }
                        dd.big { "$" (format_scaled(i128::from(cost_pico), 12)) }
                        dt { (ctx.t("usage.price")) }
                        dd { (ctx.f("usage.price_value", &[("price", &protection.price_per_core_second)])) }
                    }
                    p.hint { (ctx.t("overview.bill_next_day")) " " a href="/usage" { (ctx.t("overview.to_usage")) } }
                }
            }
        }
        (protection_dialogs(&ctx, &protection))
    };
    Ok(render(&ctx, ctx.t("nav.overview"), html! {}, body))
}

fn stat(ctx: &Ctx, key: &str, value: i64, href: &str, tone: &str) -> Markup {
    html! {
        a class={ "stat " (tone) } href=(href) {
            span.value { (ctx.n(value)) }
            span.label { (ctx.t(key)) }
        }
    }
}

/// The protection state's name: `off`, `overdue`, `paused` or `active`.
pub fn state_name(p: &ProtectionState) -> &'static str {
    if !p.enabled {
        "off"
    } else if p.overdue {
        "overdue"
    } else if p.paused {
        "paused"
    } else {
        "active"
    }
}

fn protection_card(ctx: &Ctx, p: &ProtectionState) -> Markup {
    let tone = if p.active {
        "ok"
    } else if p.enabled {
        "warn"
    } else {
        "muted"
    };
    html! {
        section.card.protection aria-labelledby="protection-h" {
            div.card-head {
                h2 #protection-h { (ctx.t("protection.title")) }
                span class={ "badge big " (tone) } #protection-state { (ctx.t(&format!("protection.state.{}", state_name(p)))) }
            }
            p { (ctx.t(&format!("protection.explain.{}", state_name(p)))) }
            @if p.overdue {
                p.banner.warn role="note" { (ctx.t("protection.overdue_banner")) }
            }
            dl.kv.inline {
                dt { (ctx.t("protection.auto_add")) }
                dd { (ctx.t(if p.auto_add { "common.on" } else { "common.off" })) }
                dt { (ctx.t("usage.price")) }
                dd { (ctx.f("usage.price_value", &[("price", &p.price_per_core_second)])) }
            }
            @if ctx.admin() {
                div.button-row {
                    @if !p.enabled {
                        (open_button(ctx.t("protection.enable"), "enable-dialog", "primary"))
                    } @else {
                        @if p.paused {
                            form method="post" action="/protection" {
                                (ctx.csrf()) (next_field(ctx))
                                button.btn.primary type="submit" name="action" value="resume" { (ctx.t("protection.resume")) }
                            }
                        } @else {
                            (open_button(ctx.t("protection.pause"), "pause-dialog", "secondary"))
                        }
                        (open_button(ctx.t("protection.switch_off"), "off-dialog", "danger"))
                    }
                    form method="post" action="/protection" {
                        (ctx.csrf()) (next_field(ctx))
                        @if p.auto_add {
                            button.btn.secondary type="submit" name="action" value="auto_add_off" { (ctx.t("protection.auto_add_off")) }
                        } @else {
                            button.btn.secondary type="submit" name="action" value="auto_add_on" { (ctx.t("protection.auto_add_on")) }
                        }
                    }
                }
            }
        }
    }
}

/// The enable, pause and switch-off confirmations (admins only).
pub fn protection_dialogs(ctx: &Ctx, p: &ProtectionState) -> Markup {
    if !ctx.admin() {
        return html! {};
    }
    let applies = if p.ever_enabled {
        "binding.applies.again"
    } else {
        "binding.applies.first"
    };
    html! {
        (dialog(ctx, "enable-dialog", ctx.t("protection.enable_title"), html! {
            form method="post" action="/protection" {
                (ctx.csrf()) (next_field(ctx))
                input type="hidden" name="action" value="enable";
                p { (ctx.t("binding.intro")) }
                ul.rules {
                    li.current[!p.ever_enabled] { (ctx.t("binding.rule_first")) }
                    li.current[p.ever_enabled] { (ctx.t("binding.rule_again")) }
                    li { (ctx.t("binding.rule_overdue")) }
                }
                p.banner.info { (ctx.t(applies)) }
                fieldset {
                    legend { (ctx.t("binding.choose")) }
                    @for (value, key) in [
                        ("default", "binding.choice.default"),
                        ("all", "binding.choice.all"),
                        ("previous", "binding.choice.previous"),
                        ("keep", "binding.choice.keep"),
                        ("none", "binding.choice.none"),
                    ] {
                        @if value != "previous" || p.ever_enabled {
                            label.radio {
                                input type="radio" name="binding" value=(value) checked[value == "default"];
                                (ctx.t(key))
                            }
                        }
                    }
                }
                div.button-row.end {
                    button.btn.secondary type="button" data-close { (ctx.t("common.cancel")) }
                    button.btn.primary type="submit" { (ctx.t("protection.enable_confirm")) }
                }
            }
        }))
        (dialog(ctx, "pause-dialog", ctx.t("protection.pause_title"), html! {
            form method="post" action="/protection" {
                (ctx.csrf()) (next_field(ctx))
                p { (ctx.t("protection.pause_explain")) }
                div.button-row.end {
                    button.btn.secondary type="button" data-close { (ctx.t("common.cancel")) }
                    button.btn.primary type="submit" name="action" value="pause" { (ctx.t("protection.pause")) }
                }
            }
        }))
        (dialog(ctx, "off-dialog", ctx.t("protection.off_title"), html! {
            form method="post" action="/protection" {
                (ctx.csrf()) (next_field(ctx))
                p { (ctx.t("protection.off_explain")) }
                div.button-row.end {
                    button.btn.secondary type="button" data-close { (ctx.t("common.cancel")) }
                    button.btn.danger type="submit" name="action" value="disable" { (ctx.t("protection.switch_off")) }
                }
            }
        }))
    }
}

fn binding_choice(text: Option<&str>) -> Option<BindingChoice> {
    match text? {
        "default" => Some(BindingChoice::Default),
        "all" => Some(BindingChoice::All),
        "previous" => Some(BindingChoice::Previous),
        "keep" => Some(BindingChoice::Keep),
        "none" => Some(BindingChoice::None),
        _ => None,
    }
}

/// `POST /protection`: `action` = enable (with `binding`), disable, pause, resume,
/// auto_add_on, auto_add_off.
pub async fn post_protection(State(state): State<AppState>, form: AdminForm) -> Response {
    let AdminForm { user, fields } = form;
    let to = back_to(&fields, "/");
    let mut update = ProtectionUpdate::default();
    match fields.get("action") {
        Some("enable") => {
            update.enabled = Some(true);
            update.binding = binding_choice(fields.get("binding"));
        }
        Some("disable") => update.enabled = Some(false),
        Some("pause") => update.paused = Some(true),
        Some("resume") => update.paused = Some(false),
        Some("auto_add_on") => update.auto_add = Some(true),
        Some("auto_add_off") => update.auto_add = Some(false),
        _ => {
            return after(
                &user,
                &to,
                Err::<(), _>(StoreError::Invalid("unknown protection action".to_string())),
                |_| ok_flash("flash.saved", &[]),
            );
        }
    }
    let action = fields.get("action").unwrap_or_default().to_string();
    let result = state
        .store
        .update_protection(user.session.tenant, update, &user.session.actor)
        .await;
    after(&user, &to, result, |(_, outcome)| {
        ok_flash(
            &format!("flash.protection.{action}"),
            &[
                ("bound", outcome.bound.to_string()),
                ("unbound", outcome.unbound.to_string()),
                (
                    "rule",
                    crate::console::i18n::text(
                        user.lang,
                        &format!("binding.outcome.{}", outcome.rule),
                    )
                    .to_string(),
                ),
            ],
        )
    })
}
