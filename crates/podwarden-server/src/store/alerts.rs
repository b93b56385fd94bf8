//! Alerts in the store: ingesting detection batches (idempotent per agent and detection id,
//! aggregated per asset and evidence key, whitelist suppression, the protection gate),
//! listing and detail, handling (quarantine, whitelist, ignore, handled) and the alert
//! whitelist.

use super::alert_search::{AlertSearch, SEARCH_COUNT_CAP};
use super::audit::{Page, Paging};
use super::commands::{CommandView, commands_of_handlings, queue_command};
use super::{Actor, Sql, Store, TenantId, audit, col, rows};
use crate::auth::AgentPrincipal;
use crate::clock::Millis;
use crate::error::StoreError;
use crate::findings::check_text;
use crate::findings::detections::{
    AlertStatus, ConnectionView, Evidence, ProcessNode, connection, dedup_key, evidence,
    parse_severity, parse_type, process_tree, seen_at, severity_name, severity_rank, type_name,
    validate_batch,
};
use crate::findings::protection_gate;
use podwarden_api::uplink::{
    AlertSeverity, AlertType, CommandAction, Detection, EventBatch, EventBatchResponse,
    FileEvidence,
};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The asset an alert belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AlertAsset {
    pub id: i64,
    pub pod_name: String,
    pub namespace: String,
    pub cluster: String,
}

/// An alert as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    pub id: i64,
    pub asset: AlertAsset,
    /// Container name (or id) where it happened.
    pub container: String,
    pub alert_type: AlertType,
    pub severity: AlertSeverity,
    pub rule_id: String,
    pub rule_name: String,
    /// The latest occurrence's description.
    pub description: String,
    pub status: AlertStatus,
    /// Whether it is still open (`unhandled`, `quarantining`, `quarantine_failed`).
    pub open: bool,
    /// Identical detections aggregated into this alert.
    pub occurrences: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub process_exe: Option<String>,
    pub process_cmdline: Option<String>,
    /// `tcp 203.0.113.7:4444`, or `listen tcp 0.0.0.0:31337`.
    pub remote: Option<String>,
    pub file_path: Option<String>,
    pub file_sha256: Option<String>,
}

/// One handling action on an alert, with the commands it queued and their results.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HandlingRecord {
    pub id: i64,
    /// `quarantine`, `whitelist`, `ignore` or `handled`.
    pub method: String,
    /// `asset` or `all` for a whitelist.
    pub scope: Option<String>,
    pub note: String,
    /// `token:<id>:<name>`.
    pub actor: String,
    pub at: i64,
    /// `done`, or for a quarantine `pending`, `succeeded`, `failed`.
    pub outcome: String,
    pub result_message: Option<String>,
    pub result_at: Option<i64>,
    pub whitelist_id: Option<i64>,
    pub commands: Vec<CommandView>,
}

/// An alert's full detail.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: AlertView,
    pub advice: Option<String>,
    /// The process and its parents, the process first.
    pub process_tree: Vec<ProcessNode>,
    pub file: Option<FileEvidence>,
    pub connection: Option<ConnectionView>,
    /// The latest detection as the agent uploaded it.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// Every handling action, oldest first.
    pub handling: Vec<HandlingRecord>,
}

/// The status filter: a tab (`unhandled` = every open status, `handled` = every closed one)
/// or one exact status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Open,
    Closed,
    Exact(AlertStatus),
}

impl StatusFilter {
    /// `unhandled` and `handled` are the tabs; the other statuses match exactly.
    pub fn parse(text: &str) -> Option<StatusFilter> {
        match text {
            "unhandled" | "open" => Some(StatusFilter::Open),
            "handled" | "closed" => Some(StatusFilter::Closed),
            "marked_handled" => Some(StatusFilter::Exact(AlertStatus::Handled)),
            other => AlertStatus::parse(other).map(StatusFilter::Exact),
        }
    }
}

/// Filters of `GET /api/v1/alerts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    pub asset: Option<i64>,
    pub status: Option<StatusFilter>,
    pub severities: Vec<AlertSeverity>,
    pub alert_type: Option<AlertType>,
    /// Substring of the rule, description, process, file or remote address.
    pub q: Option<String>,
}

/// How to handle an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HandleMethod {
    /// The agent quarantines the file and/or kills the process.
    Quarantine,
    /// Suppress this and future identical alerts (scope: this asset or all).
    Whitelist,
    /// Close this alert only.
    Ignore,
    /// Mark handled manually.
    Handled,
}

impl HandleMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HandleMethod::Quarantine => "quarantine",
            HandleMethod::Whitelist => "whitelist",
            HandleMethod::Ignore => "ignore",
            HandleMethod::Handled => "handled",
        }
    }
}

/// Where a whitelist rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WhitelistScope {
    /// This asset only.
    Asset,
    /// Every asset of the tenant.
    All,
}

impl WhitelistScope {
    pub fn as_str(self) -> &'static str {
        match self {
            WhitelistScope::Asset => "asset",
            WhitelistScope::All => "all",
        }
    }
}

/// `POST /api/v1/alerts/{id}/handle` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandleRequest {
    pub method: HandleMethod,
    /// For `whitelist`: `asset` (default) or `all`.
    pub scope: Option<WhitelistScope>,
    #[serde(default)]
    pub note: String,
    /// For `quarantine`: move the alert's file into the agent's vault (default: true when the
    /// alert has a file).
    pub quarantine_file: Option<bool>,
    /// For `quarantine`: kill the alert's process (default: true when the alert has a
    /// process and no file).
    pub kill_process: Option<bool>,
}

/// An alert whitelist rule.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WhitelistRule {
    pub id: i64,
    /// `asset` or `all`.
    pub scope: String,
    pub asset_id: Option<i64>,
    pub alert_type: AlertType,
    pub rule_id: String,
    pub rule_name: String,
    /// The evidence the rule matches (process, file, remote address).
    #[serde(rename = "match")]
    #[schema(value_type = Object)]
    pub match_summary: serde_json::Value,
    pub note: String,
    pub source_alert_id: Option<i64>,
    pub created_at: i64,
    pub created_by: String,
    /// Detections suppressed by this rule since it was made.
    pub suppressed_count: i64,
    pub last_suppressed_at: Option<i64>,
}

/// What a handling did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HandleResponse {
    pub handling_id: i64,
    /// The alert after handling.
    pub alert: AlertDetail,
    /// The whitelist rule (made now or already there) for `whitelist`.
    pub whitelist: Option<WhitelistRule>,
    /// Other open alerts the whitelist closed.
    pub also_closed: Vec<i64>,
    /// Commands queued for the agent (quarantine).
    pub command_ids: Vec<i64>,
}

const ALERT_COLUMNS: &str = "a.id AS id, a.asset_id AS asset_id, a.container AS container,
    a.alert_type AS alert_type, a.severity AS severity, a.rule_id AS rule_id,
    a.rule_name AS rule_name, a.description AS description, a.advice AS advice,
    a.status AS status, a.occurrences AS occurrences, a.first_seen AS first_seen,
    a.last_seen AS last_seen, a.created_at AS created_at, a.updated_at AS updated_at,
    a.closed_at AS closed_at, a.process_exe AS process_exe, a.process_cmdline AS process_cmdline,
    a.remote AS remote, a.file_path AS file_path, a.file_sha256 AS file_sha256,
    s.pod_name AS pod_name, s.namespace AS namespace, s.cluster AS cluster";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn view_from_row(row: &AnyRow) -> Result<AlertView, StoreError> {
    let kind: String = col(row, "alert_type")?;
    let severity: String = col(row, "severity")?;
    let status: String = col(row, "status")?;
    let status = AlertStatus::parse(&status).ok_or_else(|| corrupt("alert status", &status))?;
    Ok(AlertView {
        id: col(row, "id")?,
        asset: AlertAsset {
            id: col(row, "asset_id")?,
            pod_name: col(row, "pod_name")?,
            namespace: col(row, "namespace")?,
            cluster: col(row, "cluster")?,
        },
        container: col(row, "container")?,
        alert_type: parse_type(&kind).ok_or_else(|| corrupt("alert type", &kind))?,
        severity: parse_severity(&severity).ok_or_else(|| corrupt("severity", &severity))?,
        rule_id: col(row, "rule_id")?,
        rule_name: col(row, "rule_name")?,
        description: col(row, "description")?,
        status,
        open: status.is_open(),
        occurrences: col(row, "occurrences")?,
        first_seen: col(row, "first_seen")?,
        last_seen: col(row, "last_seen")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        closed_at: col(row, "closed_at")?,
        process_exe: col(row, "process_exe")?,
        process_cmdline: col(row, "process_cmdline")?,
        remote: col(row, "remote")?,
        file_path: col(row, "file_path")?,
        file_sha256: col(row, "file_sha256")?,
    })
}

fn rule_from_row(row: &AnyRow) -> Result<WhitelistRule, StoreError> {
    let kind: String = col(row, "alert_type")?;
    let summary: String = col(row, "match_summary")?;
    let asset_id: Option<i64> = col(row, "asset_id")?;
    Ok(WhitelistRule {
        id: col(row, "id")?,
        scope: if asset_id.is_some() { "asset" } else { "all" }.to_string(),
        asset_id,
        alert_type: parse_type(&kind).ok_or_else(|| corrupt("alert type", &kind))?,
        rule_id: col(row, "rule_id")?,
        rule_name: col(row, "rule_name")?,
        match_summary: serde_json::from_str(&summary).unwrap_or(serde_json::Value::Null),
        note: col(row, "note")?,
        source_alert_id: col(row, "source_alert_id")?,
        created_at: col(row, "created_at")?,
        created_by: col(row, "created_by")?,
        suppressed_count: col(row, "suppressed_count")?,
        last_suppressed_at: col(row, "last_suppressed_at")?,
    })
}

const RULE_COLUMNS: &str = "id, asset_id, alert_type, rule_id, rule_name, match_summary, note,
    source_alert_id, created_at, created_by, suppressed_count, last_suppressed_at";

/// Recounts the open alerts of an asset into `assets.alert_count`.
pub(crate) async fn recount_alerts(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE assets SET alert_count =
            (SELECT COUNT(*) FROM alerts WHERE tenant_id = $1 AND asset_id = $2 AND is_open = 1)
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(asset)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds `count` to the counter of uploads dropped because protection is off for an asset.
pub(crate) async fn count_drop(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
    kind: &str,
    reason: &str,
    count: i64,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO unprotected_drops (tenant_id, asset_id, kind, reason, dropped, first_at, last_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (tenant_id, asset_id, kind, reason)
         DO UPDATE SET dropped = unprotected_drops.dropped + excluded.dropped,
                       last_at = excluded.last_at",
    )
    .bind(tenant.0)
    .bind(asset)
    .bind(kind.to_string())
    .bind(reason.to_string())
    .bind(count)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A detection ready to store.
struct Prepared<'a> {
    detection: &'a Detection,
    evidence: Evidence,
    key: String,
    seen: Millis,
}

/// Identical detections of one batch, folded.
struct Group<'a> {
    latest: &'a Prepared<'a>,
    count: i64,
    first_seen: Millis,
    last_seen: Millis,
    severity: AlertSeverity,
}

/// Inserts the batch's detection ids; returns the ids that were new.
async fn insert_detection_ids(
    conn: &mut AnyConnection,
    agent: AgentPrincipal,
    rows: &[(&str, &'static str)],
    now: Millis,
) -> Result<HashSet<String>, StoreError> {
    let mut fresh = HashSet::with_capacity(rows.len());
    for chunk in rows.chunks(500) {
        let mut sql = Sql::for_connection(
            conn,
            "INSERT INTO detections (tenant_id, agent_id, asset_id, detection_id, outcome, received_at) VALUES ",
        );
        for (i, (id, outcome)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(agent.tenant.0)
                .push(", ")
                .bind(agent.agent_id)
                .push(", ")
                .bind(agent.asset_id)
                .push(", ")
                .bind(id.to_string())
                .push(", ")
                .bind(outcome.to_string())
                .push(", ")
                .bind(now)
                .push(")");
        }
        sql.push(
            " ON CONFLICT (tenant_id, agent_id, detection_id) DO NOTHING RETURNING detection_id",
        );
        for row in sql.build().fetch_all(&mut *conn).await? {
            fresh.insert(col::<String>(&row, "detection_id")?);
        }
    }
    Ok(fresh)
}

/// Whitelist rules (by evidence key) that apply to `asset`.
async fn whitelist_rules_for(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
    keys: &[&str],
) -> Result<HashMap<String, i64>, StoreError> {
    let mut rules = HashMap::new();
    for chunk in keys.chunks(500) {
        let mut sql = Sql::for_connection(
            conn,
            "SELECT id, dedup_key FROM alert_whitelist WHERE tenant_id = ",
        );
        sql.bind(tenant.0)
            .push(" AND (asset_id IS NULL OR asset_id = ")
            .bind(asset)
            .push(") AND dedup_key IN (");
        for (i, key) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(key.to_string());
        }
        // The most specific rule (this asset's) counts the suppression.
        sql.push(") ORDER BY CASE WHEN asset_id IS NULL THEN 1 ELSE 0 END, id");
        for row in sql.build().fetch_all(&mut *conn).await? {
            rules
                .entry(col::<String>(&row, "dedup_key")?)
                .or_insert(col::<i64>(&row, "id")?);
        }
    }
    Ok(rules)
}

const UPSERT_COLUMNS: &str = "tenant_id, asset_id, dedup_key, alert_type, severity, severity_rank,
    rule_id, rule_name, description, advice, container, process_exe, process_cmdline, remote,
    file_path, file_sha256, evidence, status, is_open, occurrences, first_seen, last_seen,
    created_at, updated_at";

const UPSERT_CONFLICT: &str = " ON CONFLICT (tenant_id, asset_id, dedup_key) WHERE is_open = 1
    DO UPDATE SET
        occurrences = alerts.occurrences + excluded.occurrences,
        first_seen = CASE WHEN excluded.first_seen < alerts.first_seen
                          THEN excluded.first_seen ELSE alerts.first_seen END,
        last_seen = CASE WHEN excluded.last_seen > alerts.last_seen
                         THEN excluded.last_seen ELSE alerts.last_seen END,
        evidence = CASE WHEN excluded.last_seen >= alerts.last_seen
                        THEN excluded.evidence ELSE alerts.evidence END,
        description = CASE WHEN excluded.last_seen >= alerts.last_seen
                           THEN excluded.description ELSE alerts.description END,
        advice = CASE WHEN excluded.last_seen >= alerts.last_seen
                      THEN excluded.advice ELSE alerts.advice END,
        rule_name = CASE WHEN excluded.last_seen >= alerts.last_seen
                         THEN excluded.rule_name ELSE alerts.rule_name END,
        container = CASE WHEN excluded.last_seen >= alerts.last_seen
                         THEN excluded.container ELSE alerts.container END,
        severity = CASE WHEN excluded.severity_rank > alerts.severity_rank
                        THEN excluded.severity ELSE alerts.severity END,
        severity_rank = CASE WHEN excluded.severity_rank > alerts.severity_rank
                             THEN excluded.severity_rank ELSE alerts.severity_rank END,
        updated_at = excluded.updated_at";

/// Inserts or aggregates the groups' alerts; returns how many alerts are new.
async fn upsert_alerts(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
    groups: &BTreeMap<&str, Group<'_>>,
    now: Millis,
) -> Result<usize, StoreError> {
    let mut created = 0;
    let all: Vec<(&&str, &Group<'_>)> = groups.iter().collect();
    for chunk in all.chunks(100) {
        let mut sql = Sql::for_connection(conn, "INSERT INTO alerts (");
        sql.push(UPSERT_COLUMNS).push(") VALUES ");
        for (i, (key, group)) in chunk.iter().enumerate() {
            let p = group.latest;
            let d = p.detection;
            let ev = &p.evidence;
            let evidence_json = serde_json::to_string(d)
                .map_err(|err| StoreError::Invalid(format!("detection {:?}: {err}", d.id)))?;
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(tenant.0)
                .push(", ")
                .bind(asset)
                .push(", ")
                .bind(key.to_string())
                .push(", ")
                .bind(type_name(d.alert_type).to_string())
                .push(", ")
                .bind(severity_name(group.severity).to_string())
                .push(", ")
                .bind(severity_rank(group.severity))
                .push(", ")
                .bind(d.rule_id.clone())
                .push(", ")
                .bind(d.rule_name.clone())
                .push(", ")
                .bind(d.description.clone())
                .push(", ")
                .bind(d.advice.clone())
                .push(", ")
                .bind(ev.container.clone())
                .push(", ")
                .bind(ev.process_exe.clone())
                .push(", ")
                .bind(ev.process_cmdline.clone())
                .push(", ")
                .bind(ev.remote.clone())
                .push(", ")
                .bind(ev.file_path.clone())
                .push(", ")
                .bind(ev.file_sha256.clone())
                .push(", ")
                .bind(evidence_json)
                .push(", ")
                .bind(AlertStatus::Unhandled.as_str().to_string())
                .push(", 1, ")
                .bind(group.count)
                .push(", ")
                .bind(group.first_seen)
                .push(", ")
                .bind(group.last_seen)
                .push(", ")
                .bind(now)
                .push(", ")
                .bind(now)
                .push(")");
        }
        // A new alert holds exactly this batch's occurrences; an aggregated one more.
        sql.push(UPSERT_CONFLICT)
            .push(" RETURNING dedup_key, occurrences");
        for row in sql.build().fetch_all(&mut *conn).await? {
            let key: String = col(&row, "dedup_key")?;
            let occurrences: i64 = col(&row, "occurrences")?;
            if groups.get(key.as_str()).map(|g| g.count) == Some(occurrences) {
                created += 1;
            }
        }
    }
    Ok(created)
}

/// Closes an alert with `status`.
async fn close_alert(
    conn: &mut AnyConnection,
    tenant: TenantId,
    alert: i64,
    status: AlertStatus,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE alerts SET status = $1, is_open = 0, closed_at = $2, updated_at = $2
         WHERE tenant_id = $3 AND id = $4",
    )
    .bind(status.as_str().to_string())
    .bind(now)
    .bind(tenant.0)
    .bind(alert)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the status of an alert (open or closed as the status says).
pub(crate) async fn set_alert_status(
    conn: &mut AnyConnection,
    tenant: TenantId,
    alert: i64,
    status: AlertStatus,
    now: Millis,
) -> Result<(), StoreError> {
    if !status.is_open() {
        return close_alert(conn, tenant, alert, status, now).await;
    }
    sqlx::query("UPDATE alerts SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(status.as_str().to_string())
        .bind(now)
        .bind(tenant.0)
        .bind(alert)
        .execute(conn)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_handling(
    conn: &mut AnyConnection,
    tenant: TenantId,
    alert: i64,
    method: HandleMethod,
    scope: Option<WhitelistScope>,
    note: &str,
    actor: &Actor,
    whitelist_id: Option<i64>,
    outcome: &str,
    now: Millis,
) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO alert_handlings (tenant_id, alert_id, method, scope, note, actor, at,
             whitelist_id, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(tenant.0)
    .bind(alert)
    .bind(method.as_str().to_string())
    .bind(scope.map(|s| s.as_str().to_string()))
    .bind(note.to_string())
    .bind(actor.0.clone())
    .bind(now)
    .bind(whitelist_id)
    .bind(outcome.to_string())
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// The stored detection of an alert.
fn stored_detection(evidence: &str) -> Option<Detection> {
    serde_json::from_str(evidence).ok()
}

impl Store {
    /// Stores a batch of detections from `agent` for its own asset: every detection id once
    /// (a retried batch changes nothing), identical detections aggregated into one open alert
    /// per asset and evidence key, whitelisted ones suppressed, and everything dropped with a
    /// counted reason while protection is not active for the asset. One transaction.
    pub async fn ingest_detections(
        &self,
        agent: AgentPrincipal,
        batch: &EventBatch,
    ) -> Result<EventBatchResponse, StoreError> {
        validate_batch(batch).map_err(StoreError::Invalid)?;
        let tenant = agent.tenant;
        let now = self.now();
        let mut response = EventBatchResponse {
            accepted: 0,
            duplicates: 0,
            suppressed: 0,
            dropped: 0,
            dropped_reason: None,
        };
        let mut ids = HashSet::with_capacity(batch.detections.len());
        let mut prepared = Vec::with_capacity(batch.detections.len());
        for detection in &batch.detections {
            if !ids.insert(detection.id.as_str()) {
                response.duplicates += 1;
                continue;
            }
            let ev = evidence(detection);
            prepared.push(Prepared {
                key: dedup_key(detection, &ev),
                evidence: ev,
                detection,
                seen: seen_at(detection.ts, now),
            });
        }

        let mut tx = self.db.begin_write().await?;
        let gate = protection_gate(
            &mut tx,
            tenant,
            agent.asset_id,
            now,
            self.settings.online_window_ms(),
        )
        .await?;
        let rules = if gate.alerts && !prepared.is_empty() {
            let mut keys: Vec<&str> = prepared.iter().map(|p| p.key.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            whitelist_rules_for(&mut tx, tenant, agent.asset_id, &keys).await?
        } else {
            HashMap::new()
        };
        let outcome = |p: &Prepared<'_>| {
            if !gate.alerts {
                "dropped"
            } else if rules.contains_key(&p.key) {
                "suppressed"
            } else {
                "raised"
            }
        };
        let rows: Vec<(&str, &'static str)> = prepared
            .iter()
            .map(|p| (p.detection.id.as_str(), outcome(p)))
            .collect();
        let fresh = insert_detection_ids(&mut tx, agent, &rows, now).await?;

        let mut groups: BTreeMap<&str, Group<'_>> = BTreeMap::new();
        let mut suppressed_by_rule: BTreeMap<i64, i64> = BTreeMap::new();
        for p in &prepared {
            if !fresh.contains(&p.detection.id) {
                response.duplicates += 1;
                continue;
            }
            match outcome(p) {
                "dropped" => response.dropped += 1,
                "suppressed" => {
                    response.suppressed += 1;
                    if let Some(rule) = rules.get(&p.key) {
                        *suppressed_by_rule.entry(*rule).or_default() += 1;
                    }
                }
                _ => {
                    response.accepted += 1;
                    let group = groups.entry(p.key.as_str()).or_insert(Group {
                        latest: p,
                        count: 0,
                        first_seen: p.seen,
                        last_seen: p.seen,
                        severity: p.detection.severity,
                    });
                    group.count += 1;
                    group.first_seen = group.first_seen.min(p.seen);
                    if p.seen >= group.last_seen {
                        group.last_seen = p.seen;
                        group.latest = p;
                    }
                    group.severity = group.severity.max(p.detection.severity);
                }
            }
        }
        if !groups.is_empty()
            && upsert_alerts(&mut tx, tenant, agent.asset_id, &groups, now).await? > 0
        {
            recount_alerts(&mut tx, tenant, agent.asset_id).await?;
        }
        for (rule, count) in &suppressed_by_rule {
            sqlx::query(
                "UPDATE alert_whitelist SET suppressed_count = suppressed_count + $1,
                     last_suppressed_at = $2
                 WHERE tenant_id = $3 AND id = $4",
            )
            .bind(*count)
            .bind(now)
            .bind(tenant.0)
            .bind(*rule)
            .execute(&mut *tx)
            .await?;
        }
        if response.dropped > 0 {
            let reason = gate.reason.unwrap_or("protection is not active");
            count_drop(
                &mut tx,
                tenant,
                agent.asset_id,
                "detections",
                reason,
                i64::from(response.dropped),
                now,
            )
            .await?;
            response.dropped_reason = Some(reason.to_string());
        }
        if let Some(loss) = &batch.dropped {
            let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            sqlx::query(
                "INSERT INTO agent_losses (tenant_id, asset_id, agent_id, info, low, medium, high,
                     critical, from_ts, to_ts, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (tenant_id, agent_id, from_ts, to_ts) DO NOTHING",
            )
            .bind(tenant.0)
            .bind(agent.asset_id)
            .bind(agent.agent_id)
            .bind(as_i64(loss.info))
            .bind(as_i64(loss.low))
            .bind(as_i64(loss.medium))
            .bind(as_i64(loss.high))
            .bind(as_i64(loss.critical))
            .bind(as_i64(loss.from_ts))
            .bind(as_i64(loss.to_ts))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if response.accepted > 0 {
            tracing::debug!(
                tenant = %tenant,
                asset = agent.asset_id,
                accepted = response.accepted,
                alerts = groups.len(),
                "detections raised"
            );
        }
        Ok(response)
    }

    /// One page of the tenant's alerts matching `filter`, most recently seen first.
    pub async fn list_alerts(
        &self,
        tenant: TenantId,
        filter: &AlertFilter,
        paging: Paging,
    ) -> Result<Page<AlertView>, StoreError> {
        let search = filter
            .q
            .as_deref()
            .filter(|q| !q.is_empty())
            .map(|q| AlertSearch::new(self.db.backend(), q));
        // The conditions after `WHERE`, but for the search. `count`: a COUNT(*) without search
        // runs on the facets index alone (tenant, is_open, severity, type, status) when no
        // asset is given, hence the explicit `is_open IN`.
        let conditions = |sql: &mut Sql, count: bool| {
            sql.push("a.tenant_id = ").bind(tenant.0);
            if let Some(asset) = filter.asset {
                sql.push(" AND a.asset_id = ").bind(asset);
            }
            match filter.status {
                Some(StatusFilter::Open) => {
                    sql.push(" AND a.is_open = 1");
                }
                Some(StatusFilter::Closed) => {
                    sql.push(" AND a.is_open = 0");
                }
                Some(StatusFilter::Exact(status)) => {
                    sql.push(if status.is_open() {
                        " AND a.is_open = 1"
                    } else {
                        " AND a.is_open = 0"
                    })
                    .push(" AND a.status = ")
                    .bind(status.as_str().to_string());
                }
                None if count && filter.asset.is_none() => {
                    sql.push(" AND a.is_open IN (0, 1)");
                }
                None => {}
            }
            if !filter.severities.is_empty() {
                sql.push(" AND a.severity IN (");
                for (i, severity) in filter.severities.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.bind(severity_name(*severity).to_string());
                }
                sql.push(")");
            }
            if let Some(kind) = filter.alert_type {
                sql.push(" AND a.alert_type = ")
                    .bind(type_name(kind).to_string());
            }
        };
        // `from_index`: the search's index drives the query (SQLite's FTS table), else the
        // alerts table is walked with the search as a condition on each row.
        let select = |select: &str, from_index: bool, count: bool| {
            let mut sql = Sql::new(select);
            match &search {
                Some(search) if from_index && search.push_indexed_from(&mut sql) => {
                    conditions(&mut sql, count);
                }
                _ => {
                    sql.push(" FROM alerts a WHERE ");
                    conditions(&mut sql, count);
                    if let Some(search) = &search {
                        search.push_row_condition(&mut sql);
                    }
                }
            }
            sql
        };
        let (total, total_is_lower_bound) = if search.is_some() {
            // Counted up to the cap: a broad search stops early instead of passing over
            // every match.
            let from_index = search.as_ref().is_some_and(AlertSearch::counts_from_index);
            let mut sql = select("SELECT COUNT(*) AS n FROM (SELECT 1", from_index, true);
            sql.push(" LIMIT ")
                .bind(SEARCH_COUNT_CAP + 1)
                .push(") matches");
            let n: i64 = col(&sql.build().fetch_one(self.db.reader()).await?, "n")?;
            (n.min(SEARCH_COUNT_CAP), n > SEARCH_COUNT_CAP)
        } else {
            let row = select("SELECT COUNT(*) AS n", false, true)
                .build()
                .fetch_one(self.db.reader())
                .await?;
            (col::<i64>(&row, "n")?, false)
        };
        // The page's ids first, from the alerts table alone (the skipped rows of a deep page
        // are walked on the last_seen index without the assets join), then their rows. A
        // search with few matches sorts them from its index; one with many finds the newest
        // sooner by walking the last_seen index and checking each row.
        let mut ids_sql = select("SELECT a.id", !total_is_lower_bound, false);
        ids_sql
            .push(" ORDER BY a.last_seen DESC, a.id DESC LIMIT ")
            .bind(i64::from(paging.per_page))
            .push(" OFFSET ")
            .bind(paging.offset());
        let ids = ids_sql
            .build()
            .fetch_all(self.db.reader())
            .await?
            .iter()
            .map(|row| col::<i64>(row, "id"))
            .collect::<Result<Vec<_>, _>>()?;
        let rows = if ids.is_empty() {
            Vec::new()
        } else {
            let mut sql = Sql::new(&format!("SELECT {ALERT_COLUMNS}"));
            sql.push(" FROM alerts a")
                .push(" JOIN assets s ON s.tenant_id = a.tenant_id AND s.id = a.asset_id")
                .push(" WHERE a.tenant_id = ")
                .bind(tenant.0)
                .push(" AND a.id IN (");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(*id);
            }
            sql.push(") ORDER BY a.last_seen DESC, a.id DESC");
            sql.build().fetch_all(self.db.reader()).await?
        };
        let items = rows
            .iter()
            .map(view_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            page: paging.page,
            per_page: paging.per_page,
            total,
            total_is_lower_bound,
        })
    }

    /// One alert of the tenant with its evidence and handling history.
    pub async fn get_alert(&self, tenant: TenantId, alert: i64) -> Result<AlertDetail, StoreError> {
        let mut conn = self.db.reader().acquire().await?;
        alert_detail(&mut conn, tenant, alert).await
    }

    /// Handles an open alert (see [`HandleMethod`]); recorded with the actor, note and time in
    /// the alert's history and the audit log.
    pub async fn handle_alert(
        &self,
        tenant: TenantId,
        alert_id: i64,
        request: &HandleRequest,
        actor: &Actor,
    ) -> Result<HandleResponse, StoreError> {
        check_text("note", &request.note, 2000).map_err(StoreError::Invalid)?;
        if request.scope.is_some() && request.method != HandleMethod::Whitelist {
            return Err(StoreError::Invalid(
                "scope applies to the whitelist method only".to_string(),
            ));
        }
        if (request.quarantine_file.is_some() || request.kill_process.is_some())
            && request.method != HandleMethod::Quarantine
        {
            return Err(StoreError::Invalid(
                "quarantine_file and kill_process apply to the quarantine method only".to_string(),
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(
            "SELECT asset_id, status, dedup_key, alert_type, rule_id, rule_name, evidence,
                    process_exe, process_cmdline, remote, file_path, file_sha256
             FROM alerts WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(alert_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("alert {alert_id}")))?;
        let asset: i64 = col(&row, "asset_id")?;
        let status_text: String = col(&row, "status")?;
        let status = AlertStatus::parse(&status_text)
            .ok_or_else(|| corrupt("alert status", &status_text))?;
        if !status.is_open() {
            return Err(StoreError::Conflict(format!(
                "alert {alert_id} is already closed ({})",
                status.as_str()
            )));
        }
        let note = request.note.trim().to_string();
        let mut whitelist = None;
        let mut also_closed = Vec::new();
        let mut command_ids = Vec::new();
        let handling_id = match request.method {
            HandleMethod::Ignore | HandleMethod::Handled => {
                let closed = if request.method == HandleMethod::Ignore {
                    AlertStatus::Ignored
                } else {
                    AlertStatus::Handled
                };
                close_alert(&mut tx, tenant, alert_id, closed, now).await?;
                recount_alerts(&mut tx, tenant, asset).await?;
                insert_handling(
                    &mut tx,
                    tenant,
                    alert_id,
                    request.method,
                    None,
                    &note,
                    actor,
                    None,
                    "done",
                    now,
                )
                .await?
            }
            HandleMethod::Whitelist => {
                let scope = request.scope.unwrap_or(WhitelistScope::Asset);
                let key: String = col(&row, "dedup_key")?;
                let rule_id = whitelist_rule_for_alert(
                    &mut tx, tenant, alert_id, asset, scope, &key, &row, &note, actor, now,
                )
                .await?;
                let handling = insert_handling(
                    &mut tx,
                    tenant,
                    alert_id,
                    request.method,
                    Some(scope),
                    &note,
                    actor,
                    Some(rule_id),
                    "done",
                    now,
                )
                .await?;
                // Close this alert and every other open alert the rule covers.
                let mut others = Sql::new("SELECT id, asset_id FROM alerts WHERE tenant_id = ");
                others
                    .bind(tenant.0)
                    .push(" AND dedup_key = ")
                    .bind(key.clone())
                    .push(" AND is_open = 1");
                if scope == WhitelistScope::Asset {
                    others.push(" AND asset_id = ").bind(asset);
                }
                let covered = others.build().fetch_all(&mut *tx).await?;
                let mut assets = vec![asset];
                for other in &covered {
                    let id: i64 = col(other, "id")?;
                    let other_asset: i64 = col(other, "asset_id")?;
                    close_alert(&mut tx, tenant, id, AlertStatus::Whitelisted, now).await?;
                    if id != alert_id {
                        also_closed.push(id);
                        insert_handling(
                            &mut tx,
                            tenant,
                            id,
                            request.method,
                            Some(scope),
                            &format!(
                                "closed by whitelist rule {rule_id} made from alert {alert_id}"
                            ),
                            actor,
                            Some(rule_id),
                            "done",
                            now,
                        )
                        .await?;
                    }
                    if !assets.contains(&other_asset) {
                        assets.push(other_asset);
                    }
                }
                for a in assets {
                    recount_alerts(&mut tx, tenant, a).await?;
                }
                let rule = sqlx::query(RuleSql::SELECT_ONE)
                    .bind(tenant.0)
                    .bind(rule_id)
                    .fetch_one(&mut *tx)
                    .await?;
                whitelist = Some(rule_from_row(&rule)?);
                handling
            }
            HandleMethod::Quarantine => {
                if status == AlertStatus::Quarantining {
                    return Err(StoreError::Conflict(format!(
                        "a quarantine of alert {alert_id} is already waiting for the agent"
                    )));
                }
                let agent: Option<i64> = sqlx::query_scalar(
                    "SELECT agent_id FROM assets WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(asset)
                .fetch_one(&mut *tx)
                .await?;
                if agent.is_none() {
                    return Err(StoreError::Conflict(format!(
                        "asset {asset} has no agent to carry out a quarantine"
                    )));
                }
                let evidence_text: String = col(&row, "evidence")?;
                let detection = stored_detection(&evidence_text);
                let actions = quarantine_actions(&row, detection.as_ref(), request)?;
                let handling = insert_handling(
                    &mut tx,
                    tenant,
                    alert_id,
                    request.method,
                    None,
                    &note,
                    actor,
                    None,
                    "pending",
                    now,
                )
                .await?;
                for action in &actions {
                    command_ids.push(
                        queue_command(
                            &mut tx,
                            tenant,
                            asset,
                            action,
                            Some(alert_id),
                            Some(handling),
                            now,
                        )
                        .await?,
                    );
                }
                set_alert_status(&mut tx, tenant, alert_id, AlertStatus::Quarantining, now).await?;
                handling
            }
        };
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "alert.handle",
            &format!("alert:{alert_id}"),
            serde_json::json!({
                "method": request.method.as_str(),
                "scope": request.scope.map(|s| s.as_str()),
                "note": note,
                "handling_id": handling_id,
                "whitelist_id": whitelist.as_ref().map(|w: &WhitelistRule| w.id),
                "also_closed": also_closed,
                "commands": command_ids,
            }),
        )
        .await?;
        tx.commit().await?;
        let alert = self.get_alert(tenant, alert_id).await?;
        Ok(HandleResponse {
            handling_id,
            alert,
            whitelist,
            also_closed,
            command_ids,
        })
    }

    /// One page of the tenant's alert whitelist rules (newest first), optionally those that
    /// apply to one asset (its own and the tenant-wide ones).
    pub async fn list_alert_whitelist(
        &self,
        tenant: TenantId,
        asset: Option<i64>,
        paging: Paging,
    ) -> Result<Page<WhitelistRule>, StoreError> {
        let of_asset = |sql: &mut Sql| {
            if let Some(asset) = asset {
                sql.push(" AND (asset_id IS NULL OR asset_id = ")
                    .bind(asset)
                    .push(")");
            }
        };
        rows::newest_first(
            self.db.reader(),
            "alert_whitelist",
            RULE_COLUMNS,
            tenant,
            of_asset,
            paging,
            rule_from_row,
        )
        .await
    }

    /// Deletes a whitelist rule: identical detections raise alerts again from now on.
    pub async fn delete_alert_whitelist(
        &self,
        tenant: TenantId,
        rule: i64,
        actor: &Actor,
    ) -> Result<WhitelistRule, StoreError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let deleted = rows::take(
            &mut tx,
            "alert_whitelist",
            RULE_COLUMNS,
            tenant,
            rule,
            "whitelist rule",
            rule_from_row,
        )
        .await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "whitelist.delete",
            &format!("whitelist:{rule}"),
            serde_json::json!({
                "rule_id": deleted.rule_id,
                "asset_id": deleted.asset_id,
                "match": deleted.match_summary,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }
}

/// Queries on whitelist rules shared by several functions.
struct RuleSql;

impl RuleSql {
    const SELECT_ONE: &'static str = "SELECT id, asset_id, alert_type, rule_id, rule_name,
        match_summary, note, source_alert_id, created_at, created_by, suppressed_count,
        last_suppressed_at FROM alert_whitelist WHERE tenant_id = $1 AND id = $2";
}

/// The rule for this alert's evidence and scope: an existing identical one, or a new one.
#[allow(clippy::too_many_arguments)]
async fn whitelist_rule_for_alert(
    conn: &mut AnyConnection,
    tenant: TenantId,
    alert_id: i64,
    asset: i64,
    scope: WhitelistScope,
    key: &str,
    alert: &AnyRow,
    note: &str,
    actor: &Actor,
    now: Millis,
) -> Result<i64, StoreError> {
    let scope_asset = (scope == WhitelistScope::Asset).then_some(asset);
    let mut existing = Sql::new("SELECT id FROM alert_whitelist WHERE tenant_id = ");
    existing
        .bind(tenant.0)
        .push(" AND dedup_key = ")
        .bind(key.to_string());
    match scope_asset {
        Some(asset) => existing.push(" AND asset_id = ").bind(asset),
        None => existing.push(" AND asset_id IS NULL"),
    };
    if let Some(row) = existing.build().fetch_optional(&mut *conn).await? {
        return col(&row, "id");
    }
    let summary = serde_json::json!({
        "process_exe": col::<Option<String>>(alert, "process_exe")?,
        "process_cmdline": col::<Option<String>>(alert, "process_cmdline")?,
        "remote": col::<Option<String>>(alert, "remote")?,
        "file_path": col::<Option<String>>(alert, "file_path")?,
        "file_sha256": col::<Option<String>>(alert, "file_sha256")?,
    });
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO alert_whitelist (tenant_id, asset_id, dedup_key, alert_type, rule_id,
             rule_name, match_summary, note, source_alert_id, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(tenant.0)
    .bind(scope_asset)
    .bind(key.to_string())
    .bind(col::<String>(alert, "alert_type")?)
    .bind(col::<String>(alert, "rule_id")?)
    .bind(col::<String>(alert, "rule_name")?)
    .bind(summary.to_string())
    .bind(note.to_string())
    .bind(alert_id)
    .bind(now)
    .bind(actor.0.clone())
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// The commands a quarantine queues: the file into the vault and/or a kill of the process.
fn quarantine_actions(
    alert: &AnyRow,
    detection: Option<&Detection>,
    request: &HandleRequest,
) -> Result<Vec<CommandAction>, StoreError> {
    let file: Option<String> = col(alert, "file_path")?;
    let process = detection.and_then(|d| {
        let ev = evidence(d);
        ev.pid.map(|pid| (pid, ev.process_start_ts))
    });
    let quarantine_file = request.quarantine_file.unwrap_or(file.is_some());
    let kill_process = request.kill_process.unwrap_or(file.is_none());
    let mut actions = Vec::new();
    if quarantine_file {
        let path = file.ok_or_else(|| {
            StoreError::Conflict("the alert names no file to quarantine".to_string())
        })?;
        actions.push(CommandAction::Quarantine { path });
    }
    if kill_process {
        let (pid, start_ts) = process.ok_or_else(|| {
            StoreError::Conflict("the alert names no process to kill".to_string())
        })?;
        actions.push(CommandAction::Kill { pid, start_ts });
    }
    if actions.is_empty() {
        return Err(StoreError::Conflict(
            "nothing to quarantine: choose quarantine_file and/or kill_process".to_string(),
        ));
    }
    Ok(actions)
}

/// An alert's detail, read with `conn`.
pub(crate) async fn alert_detail(
    conn: &mut AnyConnection,
    tenant: TenantId,
    alert: i64,
) -> Result<AlertDetail, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {ALERT_COLUMNS}, a.evidence AS evidence FROM alerts a
         JOIN assets s ON s.tenant_id = a.tenant_id AND s.id = a.asset_id WHERE a.tenant_id = "
    ));
    sql.bind(tenant.0).push(" AND a.id = ").bind(alert);
    let row = sql
        .build()
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("alert {alert}")))?;
    let view = view_from_row(&row)?;
    let evidence_text: String = col(&row, "evidence")?;
    let detection = stored_detection(&evidence_text);
    let rows = sqlx::query(
        "SELECT id, method, scope, note, actor, at, outcome, result_message, result_at,
                whitelist_id
         FROM alert_handlings WHERE tenant_id = $1 AND alert_id = $2 ORDER BY id",
    )
    .bind(tenant.0)
    .bind(alert)
    .fetch_all(&mut *conn)
    .await?;
    let handling_ids: Vec<i64> = rows
        .iter()
        .map(|r| col::<i64>(r, "id"))
        .collect::<Result<_, _>>()?;
    let mut commands = commands_of_handlings(conn, tenant, &handling_ids).await?;
    let mut handling = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = col(row, "id")?;
        handling.push(HandlingRecord {
            id,
            method: col(row, "method")?,
            scope: col(row, "scope")?,
            note: col(row, "note")?,
            actor: col(row, "actor")?,
            at: col(row, "at")?,
            outcome: col(row, "outcome")?,
            result_message: col(row, "result_message")?,
            result_at: col(row, "result_at")?,
            whitelist_id: col(row, "whitelist_id")?,
            commands: commands.remove(&id).unwrap_or_default(),
        });
    }
    Ok(AlertDetail {
        advice: col(&row, "advice")?,
        process_tree: detection.as_ref().map(process_tree).unwrap_or_default(),
        file: detection.as_ref().and_then(|d| d.file.clone()),
        connection: detection.as_ref().and_then(connection),
        evidence: serde_json::from_str(&evidence_text).unwrap_or(serde_json::Value::Null),
        handling,
        alert: view,
    })
}

/// Parses the `severity` filter: a comma-separated list of severities.
pub fn parse_severities(text: &str) -> Result<Vec<AlertSeverity>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            parse_severity(s).ok_or_else(|| {
                format!("severity must be info, low, medium, high or critical, got {s:?}")
            })
        })
        .collect()
}
