//! `/usage`: daily core-seconds and cost per tenant and per asset, a chart of the range
//! (default the last 30 days, inline SVG rendered here), the daily bills, and CSV exports
//! (the same CSV the API's `Accept: text/csv` gives).

use super::assets::paging;
use crate::api::usage::{bills_csv as render_bills_csv, usage_csv as render_usage_csv};
use crate::console::layout::{Ctx, OrPage, PageResult, Query, Section, pager, render};
use crate::console::session::ConsoleUser;
use crate::error::StoreError;
use crate::metering::{TimeZoneSetting, format_scaled};
use crate::state::AppState;
use crate::store::usage::{Bill, UsageRow};
use axum::extract::{Query as QueryString, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Query of `/usage` and its exports.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UsageQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// The longest range a page or export covers.
const MAX_DAYS: i32 = 366;

/// The day range: `to` defaults to today in the tenant zone, `from` to 29 days before (30
/// days); an inverted or overlong range is clamped.
fn day_range(query: &UsageQuery, zone: &str, now: i64) -> (Date, Date) {
    let today = TimeZoneSetting::parse(zone)
        .ok()
        .and_then(|z| z.day_of(now))
        .unwrap_or_default();
    let parse = |text: &Option<String>| text.as_deref().and_then(|t| t.trim().parse::<Date>().ok());
    let to = parse(&query.to).unwrap_or(today);
    let default_from = to.checked_sub(jiff::Span::new().days(29)).unwrap_or(to);
    let mut from = parse(&query.from).unwrap_or(default_from);
    if from > to {
        from = to;
    }
    let earliest = to
        .checked_sub(jiff::Span::new().days(MAX_DAYS - 1))
        .unwrap_or(from);
    if from < earliest {
        from = earliest;
    }
    (from, to)
}

/// Totals of one day.
#[derive(Debug, Default, Clone, Copy)]
struct DayTotal {
    assets: i64,
    millicore_seconds: i64,
    cost_pico: i64,
}

/// `GET /usage`.
pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    QueryString(query): QueryString<UsageQuery>,
) -> PageResult {
    let tenant = user.session.tenant;
    let (ctx, protection) = Ctx::load(&state, user, Section::Usage).await?;
    let (from, to) = day_range(&query, &protection.timezone, state.store.now());
    let (from_text, to_text) = (from.to_string(), to.to_string());
    let rows = state
        .store
        .usage_as_flushed(tenant, &from_text, &to_text)
        .await
        .or_page(ctx.lang)?;
    let bills = state
        .store
        .bills(tenant, &from_text, &to_text)
        .await
        .or_page(ctx.lang)?;
    let mut days: BTreeMap<Date, DayTotal> = BTreeMap::new();
    let mut day = from;
    while day <= to {
        days.insert(day, DayTotal::default());
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    let mut per_asset: BTreeMap<i64, (String, String, i64, i64)> = BTreeMap::new();
    for row in &rows {
        if let Ok(d) = row.day.parse::<Date>()
            && let Some(total) = days.get_mut(&d)
        {
            total.assets += 1;
            total.millicore_seconds += row.millicore_seconds;
            total.cost_pico += row.cost_pico_usd;
        }
        let entry = per_asset
            .entry(row.asset_id)
            .or_insert_with(|| (row.asset_name.clone(), row.namespace.clone(), 0, 0));
        entry.2 += row.millicore_seconds;
        entry.3 += row.cost_pico_usd;
    }
    let total_ms: i64 = days.values().map(|d| d.millicore_seconds).sum();
    let total_cost: i64 = days.values().map(|d| d.cost_pico).sum();
    let mut assets: Vec<(i64, String, String, i64, i64)> = per_asset
        .into_iter()
        .map(|(id, (name, ns, ms, cost))| (id, name, ns, ms, cost))
        .collect();
    assets.sort_by(|a, b| b.4.cmp(&a.4).then(b.3.cmp(&a.3)).then(a.0.cmp(&b.0)));
    let asset_paging = paging(query.page.as_deref(), query.per_page.as_deref(), 25);
    let offset = usize::try_from(asset_paging.offset()).unwrap_or(usize::MAX);
    let shown: Vec<_> = assets
        .iter()
        .skip(offset)
        .take(asset_paging.per_page as usize)
        .collect();
    let bills_by_day: BTreeMap<&str, &Bill> = bills.iter().map(|b| (b.day.as_str(), b)).collect();
    let range = Query::default()
        .with("from", Some(&from_text))
        .with("to", Some(&to_text));
    let actions = html! {
        a.btn.secondary href=(range.href("/usage/usage.csv")) download { (ctx.t("usage.export_usage")) }
        a.btn.secondary href=(range.href("/usage/bills.csv")) download { (ctx.t("usage.export_bills")) }
    };
    let body = html! {
        form.filters method="get" action="/usage" {
            div.field {
                label for="f-from" { (ctx.t("usage.from")) }
                input #f-from type="date" name="from" value=(from_text) required;
            }
            div.field {
                label for="f-to" { (ctx.t("usage.to")) }
                input #f-to type="date" name="to" value=(to_text) required;
            }
            div.field {
                span.label-spacer aria-hidden="true" { (PreEscaped("&nbsp;")) }
                button.btn.secondary type="submit" { (ctx.t("filter.apply")) }
            }
        }
        div.stat-grid.three {
            div.stat { span.value { (format_scaled(i128::from(total_ms), 3)) } span.label { (ctx.t("usage.core_seconds")) } }
            div.stat { span.value { "$" (format_scaled(i128::from(total_cost), 12)) } span.label { (ctx.t("usage.cost")) } }
            div.stat { span.value { (ctx.f("usage.price_value", &[("price", &protection.price_per_core_second)])) } span.label { (ctx.t("usage.price")) } }
        }
        p.hint { (ctx.f("usage.zone_note", &[("zone", &protection.timezone)])) }
        section.card aria-labelledby="chart-h" {
            h2 #chart-h { (ctx.t("usage.chart")) }
            (chart(&ctx, &days))
        }
        div.two-col {
            section.card aria-labelledby="days-h" {
                h2 #days-h { (ctx.t("usage.per_day")) }
                div.table-wrap.scroll-y {
                    table.data.compact {
                        thead { tr {
                            th scope="col" { (ctx.t("usage.day")) }
                            th.num scope="col" { (ctx.t("usage.assets")) }
                            th.num scope="col" { (ctx.t("usage.core_seconds")) }
                            th.num scope="col" { (ctx.t("usage.cost")) }
                            th scope="col" { (ctx.t("usage.bill")) }
                        } }
                        tbody {
                            @for (day, total) in days.iter().rev() {
                                @let key = day.to_string();
                                tr {
                                    td.nowrap {
                                        a href=(Query::default().with("from", Some(&key)).with("to", Some(&key)).href("/usage"))
                                            title=(ctx.t("usage.day_detail")) { (key) }
                                    }
                                    td.num { (ctx.n(total.assets)) }
                                    td.num { (format_scaled(i128::from(total.millicore_seconds), 3)) }
                                    td.num { "$" (format_scaled(i128::from(total.cost_pico), 12)) }
                                    td.small {
                                        @match bills_by_day.get(key.as_str()) {
                                            Some(bill) => { span.badge.ok { (ctx.t("usage.bill_closed")) } " $" (bill.cost_usd) }
                                            None if total.millicore_seconds == 0 => span.muted { "—" },
                                            None => span.muted { (ctx.t("usage.bill_pending")) },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="per-asset-h" {
                h2 #per-asset-h { (ctx.t("usage.per_asset")) }
                @if assets.is_empty() {
                    p.muted { (ctx.t("usage.no_usage")) }
                } @else {
                    div.table-wrap {
                        table.data.compact {
                            thead { tr {
                                th scope="col" { (ctx.t("alerts.col.asset")) }
                                th.num scope="col" { (ctx.t("usage.core_seconds")) }
                                th.num scope="col" { (ctx.t("usage.cost")) }
                            } }
                            tbody {
                                @for (id, name, namespace, ms, cost) in &shown {
                                    tr {
                                        td { a href={ "/assets/" (id) } { (name) } br; span.muted.small { (namespace) } }
                                        td.num { (format_scaled(i128::from(*ms), 3)) }
                                        td.num { "$" (format_scaled(i128::from(*cost), 12)) }
                                    }
                                }
                            }
                        }
                    }
                    (pager(&ctx, "/usage", &range, asset_paging.page, asset_paging.per_page, assets.len() as i64))
                }
            }
        }
    };
    Ok(render(&ctx, ctx.t("nav.usage"), actions, body))
}

/// A bar chart of daily cost (bars) with core-seconds in each bar's title; server-rendered
/// SVG with a text alternative.
fn chart(ctx: &Ctx, days: &BTreeMap<Date, DayTotal>) -> Markup {
    const WIDTH: f64 = 900.0;
    const HEIGHT: f64 = 220.0;
    const LEFT: f64 = 70.0;
    const BOTTOM: f64 = 24.0;
    const TOP: f64 = 10.0;
    let max = days.values().map(|d| d.cost_pico).max().unwrap_or(0).max(1);
    let count = days.len().max(1) as f64;
    let slot = (WIDTH - LEFT) / count;
    let bar = (slot * 0.7).max(1.0);
    let plot = HEIGHT - BOTTOM - TOP;
    let label_every = (days.len() / 8).max(1);
    let total_cost: i64 = days.values().map(|d| d.cost_pico).sum();
    let summary = ctx.f(
        "usage.chart_summary",
        &[
            ("days", &days.len().to_string()),
            ("cost", &format_scaled(i128::from(total_cost), 12)),
            ("max", &format_scaled(i128::from(max), 12)),
        ],
    );
    html! {
        svg.chart viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-labelledby="chart-title chart-desc"
            preserveAspectRatio="none" width="100%" height="220" {
            title #chart-title { (ctx.t("usage.chart")) }
            desc #chart-desc { (summary) }
            line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(HEIGHT - BOTTOM) stroke="#8c959f" stroke-width="1" {}
            line x1=(LEFT) y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) stroke="#8c959f" stroke-width="1" {}
            text x=(LEFT - 6.0) y=(TOP + 10.0) text-anchor="end" font-size="11" fill="#3d4450" { "$" (format_scaled(i128::from(max), 12)) }
            text x=(LEFT - 6.0) y=(HEIGHT - BOTTOM) text-anchor="end" font-size="11" fill="#3d4450" { "$0" }
            @for (i, (day, total)) in days.iter().enumerate() {
                @let h = total.cost_pico as f64 / max as f64 * plot;
                @let x = LEFT + i as f64 * slot + (slot - bar) / 2.0;
                rect x=(format!("{x:.1}")) y=(format!("{:.1}", HEIGHT - BOTTOM - h)) width=(format!("{bar:.1}"))
                    height=(format!("{h:.1}")) fill="#1459c7" {
                    title { (day) ": $" (format_scaled(i128::from(total.cost_pico), 12)) ", "
                        (format_scaled(i128::from(total.millicore_seconds), 3)) " " (ctx.t("usage.core_seconds")) }
                }
                @if i % label_every == 0 {
                    text x=(format!("{:.1}", x + bar / 2.0)) y=(HEIGHT - 6.0) text-anchor="middle" font-size="11" fill="#3d4450" {
                        (day.strftime("%m-%d"))
                    }
                }
            }
        }
    }
}

fn csv(body: String, filename: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn export<T>(
    state: &AppState,
    user: ConsoleUser,
    query: &UsageQuery,
    fetch: impl AsyncFnOnce(
        &AppState,
        crate::store::TenantId,
        String,
        String,
    ) -> Result<Vec<T>, StoreError>,
    render: fn(&[T]) -> String,
    name: &str,
) -> PageResult {
    let tenant = user.session.tenant;
    let (ctx, protection) = Ctx::load(state, user, Section::Usage).await?;
    let (from, to) = day_range(query, &protection.timezone, state.store.now());
    let rows = fetch(state, tenant, from.to_string(), to.to_string())
        .await
        .or_page(ctx.lang)?;
    Ok(csv(render(&rows), &format!("{name}-{from}-{to}.csv")))
}

/// `GET /usage/usage.csv`: usage per asset and day.
pub async fn usage_csv(
    State(state): State<AppState>,
    user: ConsoleUser,
    QueryString(query): QueryString<UsageQuery>,
) -> PageResult {
    export(
        &state,
        user,
        &query,
        async |state: &AppState,
               tenant,
               from: String,
               to: String|
               -> Result<Vec<UsageRow>, StoreError> {
            state.store.usage(tenant, &from, &to).await
        },
        render_usage_csv,
        "usage",
    )
    .await
}

/// `GET /usage/bills.csv`: the daily bills.
pub async fn bills_csv(
    State(state): State<AppState>,
    user: ConsoleUser,
    QueryString(query): QueryString<UsageQuery>,
) -> PageResult {
    export(
        &state,
        user,
        &query,
        async |state: &AppState,
               tenant,
               from: String,
               to: String|
               -> Result<Vec<Bill>, StoreError> {
            state.store.bills(tenant, &from, &to).await
        },
        render_bills_csv,
        "bills",
    )
    .await
}
