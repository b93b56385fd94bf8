//! `/assets/{id}` Asset detail: identity, pod spec summary, agent (version, last heartbeat,
//! reported status), protection and binding, the capability matrix of its instance type,
//! the alert / vulnerability / baseline counts (each opening its list filtered to the asset),
//! inventories; bind/unbind and "scan now".

use super::assets::{agent_cell, cores, protection_note, quota_cell};
use super::{after, back_to, next_field};
use crate::assets::InstanceType;
use crate::console::layout::{Ctx, OrPage, PageResult, Section, ok_flash, render};
use crate::console::session::{AdminForm, ConsoleUser};
use crate::error::StoreError;
use crate::findings::schedule::ScanKind;
use crate::state::AppState;
use crate::store::assets::AssetDetail;
use crate::store::protection::{QuotaAction, QuotaTarget};
use crate::store::scans::ScanTarget;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};

/// `GET /assets/{id}`.
pub async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> PageResult {
    let tenant = user.session.tenant;
    let (ctx, protection) = Ctx::load(&state, user, Section::Assets).await?;
    let id: i64 = id
        .parse()
        .map_err(|_| StoreError::NotFound(format!("asset {id}")))
        .or_page(ctx.lang)?;
    let detail = state.store.get_asset(tenant, id).await.or_page(ctx.lang)?;
    let asset = &detail.asset;
    let caps = detail.capabilities;
    let actions = html! {
        @if ctx.admin() {
            form.inline method="post" action={ "/assets/" (asset.id) "/quota" } {
                (ctx.csrf()) (next_field(&ctx))
                @if asset.bound {
                    button.btn.secondary type="submit" name="action" value="remove" { (ctx.t("asset.unbind")) }
                } @else {
                    button.btn.primary type="submit" name="action" value="add" { (ctx.t("asset.bind")) }
                }
            }
            form.inline method="post" action={ "/assets/" (asset.id) "/scan" } {
                (ctx.csrf()) (next_field(&ctx))
                button.btn.secondary type="submit" name="kind" value="vulnerability" disabled[!caps.vulnerability] { (ctx.t("asset.scan_vuln")) }
                button.btn.secondary type="submit" name="kind" value="baseline" disabled[!caps.baseline] { (ctx.t("asset.scan_baseline")) }
            }
        }
    };
    let body = html! {
        p.breadcrumb { a href="/assets" { (ctx.t("nav.assets")) } " / " (asset.pod_name) }
        section.count-row aria-label=(ctx.t("asset.findings")) {
            a.stat.bad[asset.alert_count > 0] href={ "/alerts?tab=unhandled&asset=" (asset.id) } {
                span.value { (ctx.n(asset.alert_count)) } span.label { (ctx.t("risk.alerts")) }
            }
            a.stat.bad[asset.vulnerability_count > 0] href={ "/vulnerabilities?tab=findings&asset=" (asset.id) } {
                span.value { (ctx.n(asset.vulnerability_count)) } span.label { (ctx.t("risk.vulnerabilities")) }
            }
            a.stat.bad[asset.baseline_risk_count > 0] href={ "/baseline?tab=risks&asset=" (asset.id) } {
                span.value { (ctx.n(asset.baseline_risk_count)) } span.label { (ctx.t("risk.baseline")) }
            }
        }
        div.two-col {
            section.card aria-labelledby="identity-h" {
                h2 #identity-h { (ctx.t("asset.identity")) }
                dl.kv {
                    dt { (ctx.t("asset.pod")) } dd { (asset.pod_name) }
                    dt { (ctx.t("asset.namespace")) } dd { (asset.namespace) }
                    dt { (ctx.t("asset.cluster")) } dd { (asset.cluster) }
                    dt { (ctx.t("asset.uid")) } dd.mono { (asset.pod_uid) }
                    dt { (ctx.t("assets.col.source")) } dd { (ctx.t(&format!("source.{}", asset.source_kind.as_str()))) " " span.muted { "(" (asset.source) ")" } }
                    @if let (Some(kind), Some(name)) = (&asset.owner_kind, &asset.owner_name) {
                        dt { (ctx.t("asset.owner")) } dd { (kind) " " (name) }
                    }
                    @if let Some(node) = &asset.node_name { dt { (ctx.t("asset.node")) } dd { (node) } }
                    dt { (ctx.t("assets.col.status")) } dd { (ctx.t(&format!("status.{}", asset.status.as_str()))) }
                    dt { (ctx.t("asset.restarts")) } dd { (asset.restart_count) }
                    dt { (ctx.t("asset.pod_created")) } dd { (ctx.time(asset.pod_created_at)) }
                    dt { (ctx.t("asset.first_seen")) } dd { (ctx.time(Some(asset.created_at))) }
                    dt { (ctx.t("asset.updated")) } dd { (ctx.time(Some(asset.updated_at))) }
                    @if asset.gone_at.is_some() { dt { (ctx.t("asset.gone_at")) } dd { (ctx.time(asset.gone_at)) } }
                }
            }
            section.card aria-labelledby="agent-h" {
                h2 #agent-h { (ctx.t("asset.agent")) }
                dl.kv {
                    dt { (ctx.t("assets.col.agent")) } dd { (agent_cell(&ctx, asset)) }
                    dt { (ctx.t("asset.agent_version")) } dd { (asset.agent.version.as_deref().unwrap_or("—")) }
                    dt { (ctx.t("asset.agent_mode")) } dd { (asset.agent.mode.as_deref().unwrap_or("—")) }
                    dt { (ctx.t("asset.last_heartbeat")) } dd { (ctx.time(asset.agent.last_heartbeat_at)) }
                    @if let Some(status) = &detail.findings.agent_status {
                        dt { (ctx.t("asset.collectors")) } dd { (status.status.collectors.join(", ")) }
                        dt { (ctx.t("asset.spooled")) } dd { (status.status.spooled) }
                        dt { (ctx.t("asset.reported_at")) } dd { (ctx.time(Some(status.reported_at))) }
                    }
                    dt { (ctx.t("asset.outstanding_commands")) } dd { (detail.findings.outstanding_commands) }
                }
                h3 { (ctx.t("asset.protection")) }
                dl.kv {
                    dt { (ctx.t("assets.col.quota")) } dd { (quota_cell(&ctx, asset, protection.active)) }
                    @if let Some(key) = protection_note(asset, protection.active) {
                        dt { (ctx.t("asset.why_not")) } dd { (ctx.t(key)) }
                    }
                    dt { (ctx.t("assets.scan.vuln")) } dd { (ctx.time(asset.last_vulnerability_scan_at)) }
                    dt { (ctx.t("assets.scan.baseline")) } dd { (ctx.time(asset.last_baseline_check_at)) }
                }
            }
        }
        div.two-col {
            section.card aria-labelledby="spec-h" {
                h2 #spec-h { (ctx.t("asset.pod_spec")) }
                dl.kv {
                    dt { (ctx.t("assets.col.instance_type")) }
                    dd { (ctx.t(&format!("instance.{}", asset.instance_type.as_str())))
                        @if let Some(class) = &asset.runtime_class { " " span.muted { "(runtimeClassName: " (class) ")" } } }
                    dt { (ctx.t("asset.images")) }
                    dd { @for image in &asset.images { code { (image) } br; } }
                    dt { (ctx.t("asset.cpu")) }
                    dd { (ctx.f("asset.cpu_value", &[
                        ("effective", &cores(asset.effective_millicores)),
                        ("limit", &asset.cpu_limit_millicores.map(cores).unwrap_or_else(|| "—".to_string())),
                        ("request", &asset.cpu_request_millicores.map(cores).unwrap_or_else(|| "—".to_string())),
                    ])) }
                    dt { (ctx.t("asset.spec_stored")) }
                    dd {
                        @match &detail.findings.pod_spec {
                            Some(spec) => { (ctx.t(&format!("asset.spec_from.{}", spec.source))) " " (ctx.time(spec.observed_at)) }
                            None => (ctx.t("asset.spec_none")),
                        }
                    }
                }
                @if !asset.annotations.is_empty() {
                    details {
                        summary { (ctx.f("asset.annotations", &[("n", &asset.annotations.len().to_string())])) }
                        table.data.compact {
                            tbody {
                                @for (key, value) in &asset.annotations {
                                    tr { th scope="row" { code { (key) } } td { code { (value) } } }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="caps-h" {
                h2 #caps-h { (ctx.t("asset.capabilities")) }
                (capability_matrix(&ctx, asset.instance_type))
            }
        }
        (inventories(&ctx, &detail))
    };
    Ok(render(&ctx, &asset.pod_name, actions, body))
}

/// The matrix of protections by instance type, this asset's column highlighted.
pub fn capability_matrix(ctx: &Ctx, current: InstanceType) -> Markup {
    let types = [InstanceType::Standard, InstanceType::Sandboxed];
    html! {
        table.data.matrix {
            caption.sr-only { (ctx.t("asset.capabilities")) }
            thead { tr {
                th scope="col" { (ctx.t("asset.protection")) }
                @for kind in types {
                    th scope="col" class=[(kind == current).then_some("current")] {
                        (ctx.t(&format!("instance.{}", kind.as_str())))
                        @if kind == current { br; span.small { (ctx.t("asset.this_asset")) } }
                    }
                }
            } }
            tbody {
                @for (key, pick) in [
                    ("capability.alerts", (|c: podwarden_api::agent::Capabilities| c.alerts) as fn(_) -> bool),
                    ("capability.vulnerability", |c| c.vulnerability),
                    ("capability.baseline", |c| c.baseline),
                ] {
                    tr {
                        th scope="row" { (ctx.t(key)) }
                        @for kind in types {
                            td class=[(kind == current).then_some("current")] {
                                @if pick(kind.capabilities()) {
                                    span.yes { "✓ " (ctx.t("common.yes")) }
                                } @else {
                                    span.no { "— " (ctx.t("common.no")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn inventories(ctx: &Ctx, detail: &AssetDetail) -> Markup {
    let findings = &detail.findings;
    html! {
        section.card aria-labelledby="inv-h" {
            h2 #inv-h { (ctx.t("asset.inventories")) }
            @if !findings.vulnerability_db_loaded {
                p.banner.info { (ctx.t("asset.vulndb_missing")) }
            }
            @if findings.inventories.is_empty() {
                p.muted { (ctx.t("asset.no_inventory")) }
            } @else {
                div.table-wrap {
                    table.data {
                        thead { tr {
                            th scope="col" { (ctx.t("asset.container")) }
                            th scope="col" { (ctx.t("asset.image")) }
                            th scope="col" { (ctx.t("asset.os")) }
                            th.num scope="col" { (ctx.t("asset.packages")) }
                            th scope="col" { (ctx.t("asset.scanned")) }
                            th scope="col" { (ctx.t("asset.matched")) }
                        } }
                        tbody {
                            @for inv in &findings.inventories {
                                tr {
                                    td { (inv.container) }
                                    td { code { (inv.image.as_deref().unwrap_or("—")) } }
                                    td { (inv.os.as_ref().and_then(|os| os.get("pretty_name").or_else(|| os.get("id"))).and_then(|v| v.as_str()).unwrap_or("—")) }
                                    td.num { (ctx.n(inv.package_count)) }
                                    td { (ctx.time(Some(inv.received_at))) }
                                    td { (ctx.time(inv.matched_at)) }
                                }
                            }
                        }
                    }
                }
            }
            @if !findings.losses.is_empty() || !findings.dropped_while_unprotected.is_empty() {
                h3 { (ctx.t("asset.losses")) }
                ul {
                    @for loss in &findings.losses { li { (loss.message) } }
                    @for drop in &findings.dropped_while_unprotected {
                        li { (ctx.f("asset.dropped", &[("n", &drop.dropped.to_string()), ("kind", &drop.kind), ("reason", &drop.reason)])) " " (ctx.time(Some(drop.last_at))) }
                    }
                }
            }
        }
    }
}

fn path_id(text: &str) -> Result<i64, StoreError> {
    text.parse()
        .map_err(|_| StoreError::NotFound(format!("asset {text}")))
}

/// `POST /assets/{id}/quota`: bind (`action=add`) or unbind (`remove`) this asset.
pub async fn post_quota(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, fields } = form;
    let to = back_to(&fields, "/assets");
    let action = if fields.get("action") == Some("remove") {
        QuotaAction::Remove
    } else {
        QuotaAction::Add
    };
    let result = match path_id(&id) {
        Ok(id) => {
            state
                .store
                .change_quota(
                    user.session.tenant,
                    action,
                    QuotaTarget::Assets(vec![id]),
                    None,
                    &user.session.actor,
                )
                .await
        }
        Err(err) => Err(err),
    };
    let key = match action {
        QuotaAction::Add => "flash.asset.bound",
        QuotaAction::Remove => "flash.asset.unbound",
    };
    after(&user, &to, result, |outcome| {
        match outcome.skipped.first() {
            Some(skip) => ok_flash("flash.asset.skipped", &[("reason", skip.reason.clone())]),
            None => ok_flash(key, &[]),
        }
    })
}

/// `POST /assets/{id}/scan`: `kind` = vulnerability | baseline, now.
pub async fn post_scan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Response {
    let AdminForm { user, fields } = form;
    let to = back_to(&fields, "/assets");
    let kind = if fields.get("kind") == Some("baseline") {
        ScanKind::Baseline
    } else {
        ScanKind::Vulnerability
    };
    let result = match path_id(&id) {
        Ok(id) => {
            state
                .store
                .request_scans(
                    user.session.tenant,
                    kind,
                    &ScanTarget::Assets(vec![id]),
                    &user.session.actor,
                )
                .await
        }
        Err(err) => Err(err),
    };
    after(&user, &to, result, |outcome| {
        if let Some(skip) = outcome.skipped.first() {
            ok_flash("flash.scan.skipped", &[("reason", skip.reason.clone())])
        } else if !outcome.checked.is_empty() {
            ok_flash("flash.scan.checked", &[])
        } else {
            ok_flash("flash.scan.queued", &[])
        }
    })
}
