//! `/alerts` (unhandled and handled tabs, filters, the alert whitelist) and `/alerts/{id}`
//! (process tree, file, connection, advice, handling history with quarantine results, and the
//! **Handle** dialog: quarantine, whitelist with scope, ignore, mark handled, note).

use super::assets::paging;
use super::{
    after, asset_cell, back_to, dialog, next_field, nonempty, open_button, parse_id, search_text,
};
use crate::console::layout::{
    Ctx, OrPage, PageResult, Query, Section, empty_state, filter_form, injection_help, ok_flash,
    pager, pager_with_bound, render, search_filter, select_filter, severity_badge, tabs,
};
use crate::console::session::{AdminForm, ConsoleUser};
use crate::error::StoreError;
use crate::findings::detections::{AlertStatus, parse_type, severity_name, type_name};
use crate::state::AppState;
use crate::store::alerts::{
    AlertDetail, AlertFilter, HandleMethod, HandleRequest, StatusFilter, WhitelistScope,
    parse_severities,
};
use axum::extract::{Path, Query as QueryString, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

/// Query of `GET /alerts`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AlertsQuery {
    pub tab: Option<String>,
    pub severity: Option<String>,
    #[serde(rename = "type")]
    pub alert_type: Option<String>,
    pub status: Option<String>,
    pub asset: Option<String>,
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
const TYPES: [(&str, &str); 3] = [
    ("webshell", "alert_type.webshell"),
    ("network", "alert_type.network"),
    ("process", "alert_type.process"),
];
const CLOSED_STATUSES: [(&str, &str); 4] = [
    ("quarantined", "alert_status.quarantined"),
    ("whitelisted", "alert_status.whitelisted"),
    ("ignored", "alert_status.ignored"),
    ("marked_handled", "alert_status.handled"),
];
const OPEN_STATUSES: [(&str, &str); 3] = [
    ("unhandled", "alert_status.unhandled"),
    ("quarantining", "alert_status.quarantining"),
    ("quarantine_failed", "alert_status.quarantine_failed"),
];

impl AlertsQuery {
    fn tab(&self) -> &str {
        match nonempty(&self.tab) {
            Some("handled") => "handled",
            Some("whitelist") => "whitelist",
            _ => "unhandled",
        }
    }

    fn filter(&self) -> AlertFilter {
        let tab_status = if self.tab() == "handled" {
            StatusFilter::Closed
        } else {
            StatusFilter::Open
        };
        let exact = nonempty(&self.status)
            .and_then(StatusFilter::parse)
            .filter(|s| match (s, tab_status) {
                (StatusFilter::Exact(status), StatusFilter::Open) => status.is_open(),
                (StatusFilter::Exact(status), StatusFilter::Closed) => !status.is_open(),
                _ => false,
            });
        AlertFilter {
            asset: parse_id(nonempty(&self.asset)),
            status: Some(exact.unwrap_or(tab_status)),
            severities: nonempty(&self.severity)
                .and_then(|s| parse_severities(s).ok())
                .unwrap_or_default(),
            alert_type: nonempty(&self.alert_type).and_then(parse_type),
            q: search_text(&self.q),
        }
    }

    fn query(&self) -> Query {
        Query::default()
            .with("tab", Some(self.tab()))
            .with("severity", nonempty(&self.severity))
            .with("type", nonempty(&self.alert_type))
            .with("status", nonempty(&self.status))
            .with("asset", nonempty(&self.asset))
            .with("q", nonempty(&self.q))
            .with("per_page", nonempty(&self.per_page))
    }
}

/// A status badge.
pub fn status_badge(ctx: &Ctx, status: AlertStatus) -> Markup {
    let tone = match status {
        AlertStatus::Unhandled | AlertStatus::QuarantineFailed => "bad",
        AlertStatus::Quarantining => "warn",
        _ => "muted",
    };
    html! { span class={ "badge " (tone) } { (ctx.t(&format!("alert_status.{}", status.as_str()))) } }
}

/// `GET /alerts`.
pub async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    QueryString(query): QueryString<AlertsQuery>,
) -> PageResult {
    let tenant = user.session.tenant;
    let (ctx, _) = Ctx::load(&state, user, Section::Alerts).await?;
    let tab = query.tab();
    let paging = paging(query.page.as_deref(), query.per_page.as_deref(), 50);
    let asset_filter = parse_id(nonempty(&query.asset));
    let asset_tabs = |t: &str| {
        Query::default()
            .with("tab", Some(t))
            .with("asset", asset_filter)
            .href("/alerts")
    };
    let tab_links = [
        ("unhandled", asset_tabs("unhandled")),
        ("handled", asset_tabs("handled")),
        ("whitelist", asset_tabs("whitelist")),
    ];
    let asset_name = match asset_filter {
        Some(id) => state
            .store
            .get_asset(tenant, id)
            .await
            .ok()
            .map(|d| d.asset.pod_name),
        None => None,
    };
    let results = if tab == "whitelist" {
        whitelist_table(&state, &ctx, asset_filter, paging).await?
    } else {
        let alerts = state
            .store
            .list_alerts(tenant, &query.filter(), paging)
            .await
            .or_page(ctx.lang)?;
        let statuses: &[(&str, &str)] = if tab == "handled" {
            &CLOSED_STATUSES
        } else {
            &OPEN_STATUSES
        };
        html! {
            (filter_form(&ctx, "/alerts", &[("tab", tab)], html! {
                @if let Some(id) = asset_filter { input type="hidden" name="asset" value=(id); }
                (search_filter(&ctx, nonempty(&query.q), "alerts.search_placeholder"))
                (select_filter(&ctx, "severity", "alerts.col.severity", &SEVERITIES, nonempty(&query.severity)))
                (select_filter(&ctx, "type", "alerts.col.type", &TYPES, nonempty(&query.alert_type)))
                (select_filter(&ctx, "status", "alerts.col.status", statuses, nonempty(&query.status)))
            }))
            div #results hx-get=(ctx.user.path) hx-trigger="every 20s" hx-select="#results" hx-swap="outerHTML" {
                @if alerts.items.is_empty() {
                    @if tab == "unhandled" && alerts.total == 0 && query.filter().q.is_none() && query.filter().severities.is_empty() {
                        (empty_state(&ctx, "alerts.empty.title", html! {
                            p { (ctx.t("alerts.empty.body")) }
                            (injection_help(&ctx))
                        }))
                    } @else {
                        (empty_state(&ctx, "alerts.none_match", html! {
                            p { a href=(asset_tabs(tab)) { (ctx.t("filter.clear")) } }
                        }))
                    }
                } @else {
                    div.table-wrap {
                        table.data {
                            caption.sr-only { (ctx.t("nav.alerts")) }
                            thead { tr {
                                th scope="col" { (ctx.t("alerts.col.severity")) }
                                th scope="col" { (ctx.t("alerts.col.type")) }
                                th scope="col" { (ctx.t("alerts.col.rule")) }
                                th scope="col" { (ctx.t("alerts.col.asset")) }
                                th scope="col" { (ctx.t("alerts.col.first_seen")) }
                                th scope="col" { (ctx.t("alerts.col.last_seen")) }
                                th.num scope="col" { (ctx.t("alerts.col.count")) }
                                th scope="col" { (ctx.t("alerts.col.status")) }
                            } }
                            tbody {
                                @for alert in &alerts.items {
                                    tr {
                                        td { (severity_badge(&ctx, severity_name(alert.severity))) }
                                        td { (ctx.t(&format!("alert_type.{}", type_name(alert.alert_type)))) }
                                        td.wide {
                                            a href={ "/alerts/" (alert.id) } { (alert.rule_name) }
                                            small.clip { (alert.description) }
                                        }
                                        td { (asset_cell(&alert.asset)) }
                                        td.nowrap { (ctx.short_time(Some(alert.first_seen))) }
                                        td.nowrap { (ctx.short_time(Some(alert.last_seen))) }
                                        td.num { (ctx.n(alert.occurrences)) }
                                        td { (status_badge(&ctx, alert.status)) }
                                    }
                                }
                            }
                        }
                    }
                }
                (pager_with_bound(&ctx, "/alerts", &query.query(), alerts.page, alerts.per_page, alerts.total, alerts.total_is_lower_bound.then_some(alerts.items.len())))
            }
        }
    };
    let body = html! {
        @if let (Some(id), Some(name)) = (asset_filter, &asset_name) {
            p.chip {
                (ctx.t("filter.asset")) " " a href={ "/assets/" (id) } { (name) } " "
                a.clear href=(Query::default().with("tab", Some(tab)).href("/alerts")) aria-label=(ctx.t("filter.clear_asset")) { "×" }
            }
        }
        (tabs(&ctx, &tab_links, tab, "alerts.tabs"))
        (results)
    };
    Ok(render(&ctx, ctx.t("nav.alerts"), html! {}, body))
}

async fn whitelist_table(
    state: &AppState,
    ctx: &Ctx,
    asset: Option<i64>,
    paging: crate::store::audit::Paging,
) -> Result<Markup, crate::console::layout::PageError> {
    let rules = state
        .store
        .list_alert_whitelist(ctx.user.session.tenant, asset, paging)
        .await
        .or_page(ctx.lang)?;
    let query = Query::default()
        .with("tab", Some("whitelist"))
        .with("asset", asset);
    Ok(html! {
        div #results {
            p.hint { (ctx.t("alerts.whitelist.explain")) }
            @if rules.items.is_empty() {
                (empty_state(ctx, "alerts.whitelist.empty", html! { p { (ctx.t("alerts.whitelist.empty_body")) } }))
            } @else {
                div.table-wrap {
                    table.data {
                        thead { tr {
                            th scope="col" { (ctx.t("whitelist.scope")) }
                            th scope="col" { (ctx.t("alerts.col.type")) }
                            th scope="col" { (ctx.t("alerts.col.rule")) }
                            th scope="col" { (ctx.t("whitelist.match")) }
                            th scope="col" { (ctx.t("whitelist.note")) }
                            th scope="col" { (ctx.t("whitelist.created")) }
                            th.num scope="col" { (ctx.t("whitelist.suppressed")) }
                            @if ctx.admin() { th scope="col" { span.sr-only { (ctx.t("common.actions")) } } }
                        } }
                        tbody {
                            @for rule in &rules.items {
                                tr {
                                    td {
                                        @match rule.asset_id {
                                            Some(id) => { (ctx.t("whitelist.scope_asset")) " " a href={ "/assets/" (id) } { "#" (id) } }
                                            None => (ctx.t("whitelist.scope_all")),
                                        }
                                    }
                                    td { (ctx.t(&format!("alert_type.{}", type_name(rule.alert_type)))) }
                                    td { (rule.rule_name) br; span.muted.small { (rule.rule_id) } }
                                    td.small { (match_summary(&rule.match_summary)) }
                                    td.small { (rule.note) }
                                    td.small { (ctx.time(Some(rule.created_at))) br; span.muted { (rule.created_by) } }
                                    td.num { (ctx.n(rule.suppressed_count)) }
                                    @if ctx.admin() {
                                        td {
                                            form method="post" action={ "/alerts/whitelist/" (rule.id) "/delete" } {
                                                (ctx.csrf()) (next_field(ctx))
                                                button.btn.small.danger type="submit" { (ctx.t("common.delete")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager(ctx, "/alerts", &query, rules.page, rules.per_page, rules.total))
        }
    })
}

fn match_summary(value: &serde_json::Value) -> Markup {
    html! {
        @if let Some(map) = value.as_object() {
            @for (key, v) in map {
                @if !v.is_null() {
                    span.muted { (key) ": " } code { (v.as_str().map_or_else(|| v.to_string(), str::to_string)) } br;
                }
            }
        } @else {
            code { (value.to_string()) }
        }
    }
}

/// `GET /alerts/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> PageResult {
    let tenant = user.session.tenant;
    let (ctx, _) = Ctx::load(&state, user, Section::Alerts).await?;
    let id: i64 = id
        .parse()
        .map_err(|_| StoreError::NotFound(format!("alert {id}")))
        .or_page(ctx.lang)?;
    let detail = state.store.get_alert(tenant, id).await.or_page(ctx.lang)?;
    let alert = &detail.alert;
    let actions = html! {
        @if ctx.admin() && alert.open {
            (open_button(ctx.t("alerts.handle"), "handle-dialog", "primary"))
        }
    };
    let live = alert.status == AlertStatus::Quarantining;
    let body = html! {
        p.breadcrumb { a href="/alerts" { (ctx.t("nav.alerts")) } " / #" (alert.id) }
        div #alert-live hx-get=[live.then_some(ctx.user.path.as_str())] hx-trigger=[live.then_some("every 3s")]
            hx-select="#alert-live" hx-swap="outerHTML" {
            div.badges {
                (severity_badge(&ctx, severity_name(alert.severity)))
                " " (status_badge(&ctx, alert.status))
                " " span.badge.muted { (ctx.t(&format!("alert_type.{}", type_name(alert.alert_type)))) }
            }
            div.two-col {
                section.card aria-labelledby="summary-h" {
                    h2 #summary-h { (ctx.t("alerts.summary")) }
                    dl.kv {
                        dt { (ctx.t("alerts.col.asset")) } dd { (asset_cell(&alert.asset)) }
                        dt { (ctx.t("asset.container")) } dd { @if alert.container.is_empty() { span.muted { "—" } } @else { (alert.container) } }
                        dt { (ctx.t("alerts.col.rule")) } dd { (alert.rule_name) " " span.muted { "(" (alert.rule_id) ")" } }
                        dt { (ctx.t("alerts.description")) } dd { (alert.description) }
                        dt { (ctx.t("alerts.col.first_seen")) } dd { (ctx.time(Some(alert.first_seen))) }
                        dt { (ctx.t("alerts.col.last_seen")) } dd { (ctx.time(Some(alert.last_seen))) }
                        dt { (ctx.t("alerts.col.count")) } dd { (ctx.n(alert.occurrences)) }
                        @if alert.closed_at.is_some() { dt { (ctx.t("alerts.closed_at")) } dd { (ctx.time(alert.closed_at)) } }
                    }
                }
                section.card aria-labelledby="advice-h" {
                    h2 #advice-h { (ctx.t("alerts.advice")) }
                    p { (detail.advice.as_deref().unwrap_or_else(|| ctx.t(&format!("alerts.default_advice.{}", type_name(alert.alert_type))))) }
                }
            }
            (evidence(&ctx, &detail))
            (handling_history(&ctx, &detail))
        }
        @if ctx.admin() && alert.open { (handle_dialog(&ctx, &detail)) }
    };
    Ok(render(&ctx, &alert.rule_name, actions, body))
}

fn evidence(ctx: &Ctx, detail: &AlertDetail) -> Markup {
    html! {
        @if !detail.process_tree.is_empty() {
            section.card aria-labelledby="tree-h" {
                h2 #tree-h { (ctx.t("alerts.process_tree")) }
                ol.tree {
                    @for (depth, node) in detail.process_tree.iter().rev().enumerate() {
                        li class={ "depth-" (depth.min(8)) @if depth + 1 == detail.process_tree.len() { " leaf" } } {
                            span.proc { strong { (node.name) } " " span.muted { "pid " (node.pid) } }
                            @if let Some(user) = &node.user { " " span.badge.muted { (user) } }
                            @if let (None, Some(uid)) = (&node.user, node.uid) { " " span.badge.muted { "uid " (uid) } }
                            br;
                            code.small { (node.exe) }
                            @if !node.cmdline.is_empty() { br; code.small.cmd { (node.cmdline) } }
                        }
                    }
                }
            }
        }
        @if let Some(file) = &detail.file {
            section.card aria-labelledby="file-h" {
                h2 #file-h { (ctx.t("alerts.file")) }
                dl.kv {
                    dt { (ctx.t("alerts.file_path")) } dd { code { (file.path) } }
                    @if let Some(sha) = &file.sha256 { dt { "SHA-256" } dd.mono.small { (sha) } }
                    @if let Some(size) = file.size { dt { (ctx.t("alerts.file_size")) } dd { (ctx.n(size as i64)) " B" } }
                    @if let Some(score) = file.score { dt { (ctx.t("alerts.file_score")) } dd { (score) " / 100" } }
                }
                @if !file.matches.is_empty() {
                    table.data.compact {
                        thead { tr { th scope="col" { (ctx.t("alerts.match_rule")) } th.num scope="col" { (ctx.t("alerts.match_line")) } th scope="col" { (ctx.t("alerts.match_excerpt")) } } }
                        tbody {
                            @for m in &file.matches {
                                tr { td { (m.rule) } td.num { (m.line.map(|l| l.to_string()).unwrap_or_default()) } td { code { (m.excerpt) } } }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(conn) = &detail.connection {
            section.card aria-labelledby="conn-h" {
                h2 #conn-h { (ctx.t("alerts.connection")) }
                dl.kv {
                    dt { (ctx.t("alerts.conn_direction")) } dd { (ctx.t(&format!("alerts.direction.{}", conn.direction))) }
                    dt { (ctx.t("alerts.conn_protocol")) } dd { (conn.protocol) }
                    dt { (ctx.t("alerts.conn_local")) } dd { code { (conn.local) } }
                    @if let Some(remote) = &conn.remote { dt { (ctx.t("alerts.conn_remote")) } dd { code { (remote) } } }
                    @if let Some(state) = &conn.state { dt { (ctx.t("alerts.conn_state")) } dd { (state) } }
                }
            }
        }
        details.card {
            summary { (ctx.t("alerts.raw_evidence")) }
            pre.code { code { (serde_json::to_string_pretty(&detail.evidence).unwrap_or_default()) } }
        }
    }
}

fn handling_history(ctx: &Ctx, detail: &AlertDetail) -> Markup {
    html! {
        section.card aria-labelledby="history-h" {
            h2 #history-h { (ctx.t("alerts.history")) }
            @if detail.handling.is_empty() {
                p.muted { (ctx.t("alerts.history_empty")) }
            } @else {
                ol.history {
                    @for record in &detail.handling {
                        li {
                            div {
                                strong { (ctx.t(&format!("handle.method.{}", record.method))) }
                                @if let Some(scope) = &record.scope { " · " (ctx.t(&format!("whitelist.scope_{scope}"))) }
                                " · " span class={ "badge " (outcome_tone(&record.outcome)) } { (ctx.t(&format!("handle.outcome.{}", record.outcome))) }
                            }
                            div.small.muted { (ctx.time(Some(record.at))) " · " (record.actor) }
                            @if !record.note.is_empty() { p.note { (record.note) } }
                            @if let Some(message) = &record.result_message {
                                p.small { (ctx.t("handle.result")) " " (message) " " (ctx.time(record.result_at)) }
                            }
                            @if !record.commands.is_empty() {
                                ul.commands {
                                    @for command in &record.commands {
                                        li.small {
                                            code { (command.action.get("kind").and_then(|k| k.as_str()).unwrap_or("?")) }
                                            " " span class={ "badge " (outcome_tone(&command.status)) } { (ctx.t(&format!("command.status.{}", command.status))) }
                                            @if let Some(result) = &command.result {
                                                @if let Some(message) = result.get("message").and_then(|m| m.as_str()) { " — " (message) }
                                                @if let Some(vault) = result.get("vault_id").and_then(|m| m.as_str()) { " · " (ctx.t("handle.vault")) " " code { (vault) } }
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

fn outcome_tone(outcome: &str) -> &'static str {
    match outcome {
        "succeeded" | "done" => "ok",
        "failed" | "expired" => "bad",
        "pending" | "delivered" => "warn",
        _ => "muted",
    }
}

fn handle_dialog(ctx: &Ctx, detail: &AlertDetail) -> Markup {
    let has_file = detail.file.is_some() || detail.alert.file_path.is_some();
    let has_process = !detail.process_tree.is_empty();
    let can_quarantine = has_file || has_process;
    dialog(
        ctx,
        "handle-dialog",
        ctx.t("alerts.handle"),
        html! {
            form method="post" action={ "/alerts/" (detail.alert.id) "/handle" } {
                (ctx.csrf()) (next_field(ctx))
                fieldset {
                    legend { (ctx.t("handle.method_legend")) }
                    label.radio.disabled[!can_quarantine] {
                        input type="radio" name="method" value="quarantine" checked[can_quarantine] disabled[!can_quarantine];
                        strong { (ctx.t("handle.method.quarantine")) } br;
                        span.small.muted { (ctx.t("handle.quarantine_explain")) }
                    }
                    @if can_quarantine {
                        div.sub {
                            @if has_file {
                                label.checkbox { input type="checkbox" name="quarantine_file" checked; (ctx.t("handle.quarantine_file")) }
                            }
                            @if has_process {
                                label.checkbox { input type="checkbox" name="kill_process" checked[!has_file]; (ctx.t("handle.kill_process")) }
                            }
                            input type="hidden" name="quarantine_options" value="1";
                        }
                    }
                    label.radio {
                        input type="radio" name="method" value="whitelist";
                        strong { (ctx.t("handle.method.whitelist")) } br;
                        span.small.muted { (ctx.t("handle.whitelist_explain")) }
                    }
                    div.sub {
                        label.radio.small { input type="radio" name="scope" value="asset" checked; (ctx.t("whitelist.scope_asset")) }
                        label.radio.small { input type="radio" name="scope" value="all"; (ctx.t("whitelist.scope_all")) }
                    }
                    label.radio {
                        input type="radio" name="method" value="ignore";
                        strong { (ctx.t("handle.method.ignore")) } br;
                        span.small.muted { (ctx.t("handle.ignore_explain")) }
                    }
                    label.radio {
                        input type="radio" name="method" value="handled" checked[!can_quarantine];
                        strong { (ctx.t("handle.method.handled")) } br;
                        span.small.muted { (ctx.t("handle.handled_explain")) }
                    }
                }
                div.field {
                    label for="handle-note" { (ctx.t("handle.note")) }
                    textarea #handle-note name="note" rows="3" maxlength="2000" {}
                }
                div.button-row.end {
                    button.btn.secondary type="button" data-close { (ctx.t("common.cancel")) }
                    button.btn.primary type="submit" { (ctx.t("handle.submit")) }
                }
            }
        },
    )
}

/// `POST /alerts/{id}/handle`.
pub async fn post_handle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, fields } = form;
    let to = back_to(&fields, "/alerts");
    let method = match fields.get("method") {
        Some("quarantine") => Some(HandleMethod::Quarantine),
        Some("whitelist") => Some(HandleMethod::Whitelist),
        Some("ignore") => Some(HandleMethod::Ignore),
        Some("handled") => Some(HandleMethod::Handled),
        _ => None,
    };
    let result = match (method, id.parse::<i64>()) {
        (Some(method), Ok(id)) => {
            let options = fields.get("quarantine_options").is_some();
            let request = HandleRequest {
                method,
                scope: (method == HandleMethod::Whitelist).then(|| {
                    if fields.get("scope") == Some("all") {
                        WhitelistScope::All
                    } else {
                        WhitelistScope::Asset
                    }
                }),
                note: fields.raw("note").unwrap_or_default().trim().to_string(),
                quarantine_file: (method == HandleMethod::Quarantine && options)
                    .then(|| fields.checked("quarantine_file")),
                kill_process: (method == HandleMethod::Quarantine && options)
                    .then(|| fields.checked("kill_process")),
            };
            state
                .store
                .handle_alert(user.session.tenant, id, &request, &user.session.actor)
                .await
        }
        (None, _) => Err(StoreError::Invalid(
            crate::console::i18n::text(user.lang, "handle.choose_method").to_string(),
        )),
        (_, Err(_)) => Err(StoreError::NotFound(format!("alert {id}"))),
    };
    after(&user, &to, result, |response| {
        let method = method.map_or("handled", HandleMethod::as_str);
        ok_flash(
            &format!("flash.handle.{method}"),
            &[("also", response.also_closed.len().to_string())],
        )
    })
}

/// `POST /alerts/whitelist/{id}/delete`.
pub async fn post_delete_whitelist(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, fields } = form;
    let to = back_to(&fields, "/alerts?tab=whitelist");
    let result = async {
        let id = super::path_id(&id, "whitelist rule")?;
        state
            .store
            .delete_alert_whitelist(user.session.tenant, id, &user.session.actor)
            .await
    }
    .await;
    after(&user, &to, result, |_| {
        ok_flash("flash.whitelist.deleted", &[])
    })
}
