//! Baseline risks in the store: replacing an asset's risks after a check, listing them (flat,
//! by check, by asset), computing a risk's fix against the stored pod spec, and the baseline
//! whitelist.

use super::alerts::{AlertAsset, WhitelistScope};
use super::audit::{Page, Paging};
use super::{Actor, Sql, Store, TenantId, audit, col, rows};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::findings::baseline::{RiskRow, apply_fix, to_yaml};
use crate::findings::check_text;
use crate::findings::patcher::WorkloadTarget;
use podwarden_baseline::Fix;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use std::collections::{BTreeSet, HashMap};

/// One baseline risk of an asset.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BaselineRisk {
    pub id: i64,
    pub asset: AlertAsset,
    /// Container name; empty for a pod-level risk.
    pub container: String,
    pub check_id: String,
    /// `info`, `low`, `medium`, `high`, `critical`.
    pub severity: String,
    /// `baseline`, `restricted` (Pod Security Standards) or `hardening`.
    pub level: String,
    pub title: String,
    pub message: String,
    pub rationale: String,
    pub remediation: String,
    /// JSON pointer of the offending field in the pod.
    pub path: String,
    /// An automatic fix exists (`POST /api/v1/baseline-risks/{id}/fix`).
    pub fix_available: bool,
    /// `safe` or `risky`.
    pub fix_safety: Option<String>,
    pub fix_description: Option<String>,
    pub no_fix_reason: Option<String>,
    /// The pod's own `podwarden.io/skip` annotation exempts it.
    pub exemption: Option<String>,
    /// Covered by a baseline whitelist rule or an exemption (not counted).
    pub whitelisted: bool,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// Risks grouped by check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckGroup {
    pub check_id: String,
    pub title: String,
    pub severity: String,
    pub level: String,
    pub asset_count: i64,
    pub risk_count: i64,
}

/// Risks grouped by asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AssetRiskGroup {
    pub asset: AlertAsset,
    pub risk_count: i64,
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub info: i64,
}

/// How `GET /api/v1/baseline-risks` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RiskGroupBy {
    Check,
    Asset,
}

/// The answer of `GET /api/v1/baseline-risks`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum RiskListing {
    Risks(Page<BaselineRisk>),
    ByCheck(Page<CheckGroup>),
    ByAsset(Page<AssetRiskGroup>),
}

/// Filters of `GET /api/v1/baseline-risks`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskFilter {
    pub asset: Option<i64>,
    pub check: Option<String>,
    pub severities: Vec<String>,
    pub include_whitelisted: bool,
    /// Substring (any case) of the check id or title, the container, the field path, or the
    /// asset's pod name or namespace.
    pub q: Option<String>,
}

/// A risk's fix, computed against the asset's stored pod spec.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FixPlan {
    pub risk_id: i64,
    pub check_id: String,
    /// `safe` (does not change what the workload can do in practice) or `risky`.
    pub safety: String,
    pub description: String,
    /// Why the fix is risky.
    pub risk: Option<String>,
    /// RFC 6902 JSON Patch over the Pod object.
    #[schema(value_type = Vec<Object>)]
    pub patch: serde_json::Value,
    /// The Pod object with the patch applied.
    #[schema(value_type = Object)]
    pub fixed_object: serde_json::Value,
    /// The same, as YAML.
    pub fixed_yaml: String,
}

/// A baseline whitelist rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BaselineWhitelistRule {
    pub id: i64,
    pub check_id: String,
    /// `asset` or `all`.
    pub scope: String,
    pub asset_id: Option<i64>,
    pub reason: String,
    pub source_risk_id: Option<i64>,
    pub created_at: i64,
    pub created_by: String,
}

/// `POST /api/v1/baseline-risks/{id}/whitelist` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineWhitelistRequest {
    /// `asset` (default): this check on this asset; `all`: this check on every asset.
    pub scope: Option<WhitelistScope>,
    pub reason: String,
}

/// What a baseline whitelist change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BaselineWhitelistOutcome {
    pub rule: BaselineWhitelistRule,
    /// Risks whose whitelisted flag changed.
    pub risks_changed: u64,
}

/// Severity names of baseline risks, by rank.
const RISK_SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// Recounts an asset's non-whitelisted risks into `assets.baseline_risk_count`.
pub(crate) async fn recount_risks(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE assets SET baseline_risk_count =
            (SELECT COUNT(*) FROM baseline_risks
             WHERE tenant_id = $1 AND asset_id = $2 AND whitelisted = 0)
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(asset)
    .execute(conn)
    .await?;
    Ok(())
}

/// Baseline whitelist rules of the tenant: (check id, asset or all).
async fn rule_keys(
    conn: &mut AnyConnection,
    tenant: TenantId,
) -> Result<Vec<(String, Option<i64>)>, StoreError> {
    let rows =
        sqlx::query("SELECT check_id, asset_id FROM baseline_whitelist WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|r| Ok((col(r, "check_id")?, col(r, "asset_id")?)))
        .collect()
}

fn covered(rules: &[(String, Option<i64>)], check: &str, asset: i64) -> bool {
    rules
        .iter()
        .any(|(c, a)| c == check && a.is_none_or(|a| a == asset))
}

/// Replaces an asset's baseline risks with `rows` (first-seen times of risks that stay are
/// kept), marks the check time and recounts. Returns the number stored.
pub(crate) async fn replace_baseline_risks(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
    rows: &[RiskRow],
    now: Millis,
) -> Result<u32, StoreError> {
    let existing = sqlx::query(
        "SELECT container, check_id, path, first_seen FROM baseline_risks
         WHERE tenant_id = $1 AND asset_id = $2",
    )
    .bind(tenant.0)
    .bind(asset)
    .fetch_all(&mut *conn)
    .await?;
    let mut first_seen: HashMap<(String, String, String), i64> = HashMap::new();
    for row in &existing {
        first_seen.insert(
            (
                col(row, "container")?,
                col(row, "check_id")?,
                col(row, "path")?,
            ),
            col(row, "first_seen")?,
        );
    }
    let rules = rule_keys(conn, tenant).await?;
    sqlx::query("DELETE FROM baseline_risks WHERE tenant_id = $1 AND asset_id = $2")
        .bind(tenant.0)
        .bind(asset)
        .execute(&mut *conn)
        .await?;
    for chunk in rows.chunks(50) {
        let mut sql = Sql::for_connection(
            conn,
            "INSERT INTO baseline_risks (tenant_id, asset_id, container, check_id, severity,
                severity_rank, level, title, message, rationale, remediation, path, fix,
                no_fix_reason, exemption, whitelisted, first_seen, last_seen) VALUES ",
        );
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let key = (r.container.clone(), r.check_id.clone(), r.path.clone());
            let whitelisted = r.exemption.is_some() || covered(&rules, &r.check_id, asset);
            sql.push("(")
                .bind(tenant.0)
                .push(", ")
                .bind(asset)
                .push(", ")
                .bind(r.container.clone())
                .push(", ")
                .bind(r.check_id.clone())
                .push(", ")
                .bind(r.severity.to_string())
                .push(", ")
                .bind(r.severity_rank)
                .push(", ")
                .bind(r.level.clone())
                .push(", ")
                .bind(r.title.clone())
                .push(", ")
                .bind(r.message.clone())
                .push(", ")
                .bind(r.rationale.clone())
                .push(", ")
                .bind(r.remediation.clone())
                .push(", ")
                .bind(r.path.clone())
                .push(", ")
                .bind(r.fix.as_ref().and_then(|f| serde_json::to_string(f).ok()))
                .push(", ")
                .bind(r.no_fix_reason.clone())
                .push(", ")
                .bind(r.exemption.clone())
                .push(", ")
                .bind(i64::from(whitelisted))
                .push(", ")
                .bind(first_seen.get(&key).copied().unwrap_or(now))
                .push(", ")
                .bind(now)
                .push(")");
        }
        sql.build().execute(&mut *conn).await?;
    }
    sqlx::query("UPDATE assets SET last_baseline_check_at = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(now)
        .bind(tenant.0)
        .bind(asset)
        .execute(&mut *conn)
        .await?;
    recount_risks(conn, tenant, asset).await?;
    Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
}

/// Recomputes the whitelisted flag of the tenant's risks of `check` (optionally on one asset)
/// and recounts the assets whose risks changed.
async fn reflag(
    conn: &mut AnyConnection,
    tenant: TenantId,
    check: &str,
    asset: Option<i64>,
) -> Result<u64, StoreError> {
    let rules = rule_keys(conn, tenant).await?;
    let mut sql = Sql::new(
        "SELECT id, asset_id, exemption, whitelisted FROM baseline_risks WHERE tenant_id = ",
    );
    sql.bind(tenant.0)
        .push(" AND check_id = ")
        .bind(check.to_string());
    if let Some(asset) = asset {
        sql.push(" AND asset_id = ").bind(asset);
    }
    let rows = sql.build().fetch_all(&mut *conn).await?;
    let mut changed = 0;
    let mut assets = BTreeSet::new();
    for row in &rows {
        let asset_id: i64 = col(row, "asset_id")?;
        let exemption: Option<String> = col(row, "exemption")?;
        let wanted = exemption.is_some() || covered(&rules, check, asset_id);
        if wanted != (col::<i64>(row, "whitelisted")? != 0) {
            sqlx::query(
                "UPDATE baseline_risks SET whitelisted = $1 WHERE tenant_id = $2 AND id = $3",
            )
            .bind(i64::from(wanted))
            .bind(tenant.0)
            .bind(col::<i64>(row, "id")?)
            .execute(&mut *conn)
            .await?;
            changed += 1;
            assets.insert(asset_id);
        }
    }
    for asset in assets {
        recount_risks(conn, tenant, asset).await?;
    }
    Ok(changed)
}

const RISK_COLUMNS: &str = "r.id AS id, r.asset_id AS asset_id, s.pod_name AS pod_name,
    s.namespace AS namespace, s.cluster AS cluster, r.container AS container,
    r.check_id AS check_id, r.severity AS severity, r.level AS level, r.title AS title,
    r.message AS message, r.rationale AS rationale, r.remediation AS remediation,
    r.path AS path, r.fix AS fix, r.no_fix_reason AS no_fix_reason, r.exemption AS exemption,
    r.whitelisted AS whitelisted, r.first_seen AS first_seen, r.last_seen AS last_seen";

fn risk_from_row(row: &sqlx::any::AnyRow) -> Result<BaselineRisk, StoreError> {
    let fix_text: Option<String> = col(row, "fix")?;
    let fix: Option<Fix> = fix_text.and_then(|f| serde_json::from_str(&f).ok());
    Ok(BaselineRisk {
        id: col(row, "id")?,
        asset: AlertAsset {
            id: col(row, "asset_id")?,
            pod_name: col(row, "pod_name")?,
            namespace: col(row, "namespace")?,
            cluster: col(row, "cluster")?,
        },
        container: col(row, "container")?,
        check_id: col(row, "check_id")?,
        severity: col(row, "severity")?,
        level: col(row, "level")?,
        title: col(row, "title")?,
        message: col(row, "message")?,
        rationale: col(row, "rationale")?,
        remediation: col(row, "remediation")?,
        path: col(row, "path")?,
        fix_available: fix.is_some(),
        fix_safety: fix.as_ref().and_then(|f| {
            serde_json::to_value(f.safety)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
        }),
        fix_description: fix.map(|f| f.description),
        no_fix_reason: col(row, "no_fix_reason")?,
        exemption: col(row, "exemption")?,
        whitelisted: col::<i64>(row, "whitelisted")? != 0,
        first_seen: col(row, "first_seen")?,
        last_seen: col(row, "last_seen")?,
    })
}

const BASELINE_RULE_COLUMNS: &str =
    "id, check_id, asset_id, reason, source_risk_id, created_at, created_by";

fn baseline_rule_from_row(row: &sqlx::any::AnyRow) -> Result<BaselineWhitelistRule, StoreError> {
    let asset_id: Option<i64> = col(row, "asset_id")?;
    Ok(BaselineWhitelistRule {
        id: col(row, "id")?,
        check_id: col(row, "check_id")?,
        scope: if asset_id.is_some() { "asset" } else { "all" }.to_string(),
        asset_id,
        reason: col(row, "reason")?,
        source_risk_id: col(row, "source_risk_id")?,
        created_at: col(row, "created_at")?,
        created_by: col(row, "created_by")?,
    })
}

impl Store {
    /// The tenant's baseline risks matching `filter`: flat (most severe first) or grouped by
    /// check or by asset.
    pub async fn list_baseline_risks(
        &self,
        tenant: TenantId,
        filter: &RiskFilter,
        group_by: Option<RiskGroupBy>,
        paging: Paging,
    ) -> Result<RiskListing, StoreError> {
        let conditions = |sql: &mut Sql| {
            sql.push(" WHERE r.tenant_id = ").bind(tenant.0);
            if let Some(asset) = filter.asset {
                sql.push(" AND r.asset_id = ").bind(asset);
            }
            if let Some(check) = &filter.check {
                sql.push(" AND r.check_id = ").bind(check.clone());
            }
            if !filter.include_whitelisted {
                sql.push(" AND r.whitelisted = 0");
            }
            if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
                sql.push(" AND (")
                    .push_contains_any(
                        self.db.backend(),
                        &["r.check_id", "r.title", "r.container", "r.path"],
                        q,
                    )
                    .push(" OR r.asset_id IN (SELECT id FROM assets WHERE tenant_id = ")
                    .bind(tenant.0)
                    .push(" AND ")
                    .push_contains_any(self.db.backend(), &["pod_name", "namespace"], q)
                    .push("))");
            }
            if !filter.severities.is_empty() {
                sql.push(" AND r.severity IN (");
                for (i, severity) in filter.severities.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.bind(severity.clone());
                }
                sql.push(")");
            }
        };
        let reader = self.db.reader();
        let page_of = |sql: &mut Sql| {
            sql.push(" LIMIT ")
                .bind(i64::from(paging.per_page))
                .push(" OFFSET ")
                .bind(paging.offset());
        };
        match group_by {
            None => {
                let mut count = Sql::new("SELECT COUNT(*) AS n FROM baseline_risks r");
                conditions(&mut count);
                let total: i64 = col(&count.build().fetch_one(reader).await?, "n")?;
                let mut sql = Sql::new(&format!(
                    "SELECT {RISK_COLUMNS} FROM baseline_risks r
                     JOIN assets s ON s.tenant_id = r.tenant_id AND s.id = r.asset_id"
                ));
                conditions(&mut sql);
                sql.push(" ORDER BY r.severity_rank DESC, r.check_id, r.id");
                page_of(&mut sql);
                let rows = sql.build().fetch_all(reader).await?;
                Ok(RiskListing::Risks(Page::exact(
                    rows.iter()
                        .map(risk_from_row)
                        .collect::<Result<Vec<_>, _>>()?,
                    paging,
                    total,
                )))
            }
            Some(RiskGroupBy::Check) => {
                let mut count =
                    Sql::new("SELECT COUNT(*) AS n FROM (SELECT r.check_id FROM baseline_risks r");
                conditions(&mut count);
                count.push(" GROUP BY r.check_id) g");
                let total: i64 = col(&count.build().fetch_one(reader).await?, "n")?;
                let mut sql = Sql::new(
                    "SELECT r.check_id AS check_id, MAX(r.title) AS title,
                        MAX(r.severity_rank) AS severity_rank, MAX(r.level) AS level,
                        COUNT(DISTINCT r.asset_id) AS asset_count, COUNT(*) AS risk_count
                     FROM baseline_risks r",
                );
                conditions(&mut sql);
                sql.push(
                    " GROUP BY r.check_id
                      ORDER BY MAX(r.severity_rank) DESC, COUNT(DISTINCT r.asset_id) DESC,
                               r.check_id",
                );
                page_of(&mut sql);
                let rows = sql.build().fetch_all(reader).await?;
                let items = rows
                    .iter()
                    .map(|row| {
                        let rank: i64 = col(row, "severity_rank")?;
                        Ok(CheckGroup {
                            check_id: col(row, "check_id")?,
                            title: col(row, "title")?,
                            severity: RISK_SEVERITIES
                                .get(usize::try_from(rank).unwrap_or(0))
                                .copied()
                                .unwrap_or("info")
                                .to_string(),
                            level: col(row, "level")?,
                            asset_count: col(row, "asset_count")?,
                            risk_count: col(row, "risk_count")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(RiskListing::ByCheck(Page::exact(items, paging, total)))
            }
            Some(RiskGroupBy::Asset) => {
                let mut count =
                    Sql::new("SELECT COUNT(*) AS n FROM (SELECT r.asset_id FROM baseline_risks r");
                conditions(&mut count);
                count.push(" GROUP BY r.asset_id) g");
                let total: i64 = col(&count.build().fetch_one(reader).await?, "n")?;
                let mut sql = Sql::new(
                    "SELECT r.asset_id AS asset_id, s.pod_name AS pod_name,
                        s.namespace AS namespace, s.cluster AS cluster, COUNT(*) AS risk_count,
                        COUNT(CASE WHEN r.severity_rank = 4 THEN 1 END) AS critical,
                        COUNT(CASE WHEN r.severity_rank = 3 THEN 1 END) AS high,
                        COUNT(CASE WHEN r.severity_rank = 2 THEN 1 END) AS medium,
                        COUNT(CASE WHEN r.severity_rank = 1 THEN 1 END) AS low,
                        COUNT(CASE WHEN r.severity_rank = 0 THEN 1 END) AS info
                     FROM baseline_risks r
                     JOIN assets s ON s.tenant_id = r.tenant_id AND s.id = r.asset_id",
                );
                conditions(&mut sql);
                sql.push(
                    " GROUP BY r.asset_id, s.pod_name, s.namespace, s.cluster
                      ORDER BY COUNT(CASE WHEN r.severity_rank = 4 THEN 1 END) DESC,
                               COUNT(CASE WHEN r.severity_rank = 3 THEN 1 END) DESC,
                               COUNT(*) DESC, r.asset_id",
                );
                page_of(&mut sql);
                let rows = sql.build().fetch_all(reader).await?;
                let items = rows
                    .iter()
                    .map(|row| {
                        Ok(AssetRiskGroup {
                            asset: AlertAsset {
                                id: col(row, "asset_id")?,
                                pod_name: col(row, "pod_name")?,
                                namespace: col(row, "namespace")?,
                                cluster: col(row, "cluster")?,
                            },
                            risk_count: col(row, "risk_count")?,
                            critical: col(row, "critical")?,
                            high: col(row, "high")?,
                            medium: col(row, "medium")?,
                            low: col(row, "low")?,
                            info: col(row, "info")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(RiskListing::ByAsset(Page::exact(items, paging, total)))
            }
        }
    }

    /// A risk's fix against the asset's stored pod spec, and the workload it would patch.
    pub async fn baseline_fix(
        &self,
        tenant: TenantId,
        risk: i64,
    ) -> Result<(FixPlan, WorkloadTarget), StoreError> {
        let row = sqlx::query(
            "SELECT r.check_id AS check_id, r.fix AS fix, r.no_fix_reason AS no_fix_reason,
                    r.remediation AS remediation, r.asset_id AS asset_id,
                    s.pod_spec AS pod_spec, s.source AS source, s.cluster AS cluster,
                    s.namespace AS namespace, s.pod_name AS pod_name,
                    s.owner_kind AS owner_kind, s.owner_name AS owner_name
             FROM baseline_risks r JOIN assets s ON s.tenant_id = r.tenant_id AND s.id = r.asset_id
             WHERE r.tenant_id = $1 AND r.id = $2",
        )
        .bind(tenant.0)
        .bind(risk)
        .fetch_optional(self.db.reader())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("baseline risk {risk}")))?;
        let check_id: String = col(&row, "check_id")?;
        let fix_text: Option<String> = col(&row, "fix")?;
        let Some(fix) = fix_text.and_then(|f| serde_json::from_str::<Fix>(&f).ok()) else {
            let why: Option<String> = col(&row, "no_fix_reason")?;
            let remediation: String = col(&row, "remediation")?;
            return Err(StoreError::Conflict(format!(
                "{check_id} has no automatic fix{}; remediation: {remediation}",
                why.map(|w| format!(" ({w})")).unwrap_or_default()
            )));
        };
        let spec_text: Option<String> = col(&row, "pod_spec")?;
        let pod: serde_json::Value = spec_text
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or_else(|| {
                StoreError::Conflict("the asset's pod spec is no longer stored".to_string())
            })?;
        let fixed = apply_fix(&pod, &fix.patch).map_err(|message| {
            StoreError::Conflict(format!(
                "the fix no longer applies to the stored pod spec ({message}); re-run the baseline check"
            ))
        })?;
        let plan = FixPlan {
            risk_id: risk,
            check_id,
            safety: serde_json::to_value(fix.safety)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            description: fix.description.clone(),
            risk: fix.risk.clone(),
            patch: serde_json::to_value(&fix.patch).unwrap_or(serde_json::Value::Null),
            fixed_yaml: to_yaml(&fixed),
            fixed_object: fixed,
        };
        let target = WorkloadTarget {
            tenant,
            asset_id: col(&row, "asset_id")?,
            source: col(&row, "source")?,
            cluster: col(&row, "cluster")?,
            namespace: col(&row, "namespace")?,
            pod_name: col(&row, "pod_name")?,
            owner_kind: col(&row, "owner_kind")?,
            owner_name: col(&row, "owner_name")?,
        };
        Ok((plan, target))
    }

    /// Records an attempt to apply a fix to a workload in the audit log.
    pub async fn audit_fix_applied(
        &self,
        tenant: TenantId,
        risk: i64,
        actor: &Actor,
        applied: bool,
        message: &str,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "baseline_risk.fix",
            &format!("baseline_risk:{risk}"),
            serde_json::json!({"applied": applied, "message": message}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whitelists a risk's check on its asset (or on every asset) and flags the risks the
    /// rule covers.
    pub async fn whitelist_baseline_risk(
        &self,
        tenant: TenantId,
        risk: i64,
        request: &BaselineWhitelistRequest,
        actor: &Actor,
    ) -> Result<BaselineWhitelistOutcome, StoreError> {
        let reason = request.reason.trim().to_string();
        if reason.is_empty() {
            return Err(StoreError::Invalid("reason is empty".to_string()));
        }
        check_text("reason", &reason, 2000).map_err(StoreError::Invalid)?;
        let scope = request.scope.unwrap_or(WhitelistScope::Asset);
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(
            "SELECT check_id, asset_id FROM baseline_risks WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(risk)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("baseline risk {risk}")))?;
        let check: String = col(&row, "check_id")?;
        let asset: i64 = col(&row, "asset_id")?;
        let scope_asset = (scope == WhitelistScope::Asset).then_some(asset);
        let inserted = sqlx::query(
            "INSERT INTO baseline_whitelist (tenant_id, check_id, asset_id, reason, source_risk_id,
                 created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING id, check_id, asset_id, reason, source_risk_id, created_at, created_by",
        )
        .bind(tenant.0)
        .bind(check.clone())
        .bind(scope_asset)
        .bind(reason.clone())
        .bind(risk)
        .bind(now)
        .bind(actor.0.clone())
        .fetch_one(&mut *tx)
        .await?;
        let rule = baseline_rule_from_row(&inserted)?;
        let changed = reflag(&mut tx, tenant, &check, scope_asset).await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "baseline_whitelist.add",
            &format!("baseline_whitelist:{}", rule.id),
            serde_json::json!({"check_id": check, "asset_id": scope_asset, "reason": reason,
                "risk_id": risk, "risks_changed": changed}),
        )
        .await?;
        tx.commit().await?;
        Ok(BaselineWhitelistOutcome {
            rule,
            risks_changed: changed,
        })
    }

    /// The tenant's baseline whitelist, newest first.
    pub async fn list_baseline_whitelist(
        &self,
        tenant: TenantId,
        paging: Paging,
    ) -> Result<Page<BaselineWhitelistRule>, StoreError> {
        rows::newest_first(
            self.db.reader(),
            "baseline_whitelist",
            BASELINE_RULE_COLUMNS,
            tenant,
            |_| {},
            paging,
            baseline_rule_from_row,
        )
        .await
    }

    /// Deletes a baseline whitelist rule; the risks it covered count again (unless another
    /// rule or an exemption covers them).
    pub async fn delete_baseline_whitelist(
        &self,
        tenant: TenantId,
        id: i64,
        actor: &Actor,
    ) -> Result<BaselineWhitelistOutcome, StoreError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let rule = rows::take(
            &mut tx,
            "baseline_whitelist",
            BASELINE_RULE_COLUMNS,
            tenant,
            id,
            "baseline whitelist rule",
            baseline_rule_from_row,
        )
        .await?;
        let changed = reflag(&mut tx, tenant, &rule.check_id, rule.asset_id).await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "baseline_whitelist.delete",
            &format!("baseline_whitelist:{id}"),
            serde_json::json!({"check_id": rule.check_id, "asset_id": rule.asset_id,
                "risks_changed": changed}),
        )
        .await?;
        tx.commit().await?;
        Ok(BaselineWhitelistOutcome {
            rule,
            risks_changed: changed,
        })
    }
}
