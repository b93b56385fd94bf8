//! Vulnerability findings in the store: replacing an asset container's findings after a match
//! (resolved ones disappear), listing them (flat, by advisory, by asset), the vulnerability
//! whitelist, and re-matching stored inventories when the database changes.

use super::alerts::AlertAsset;
use super::audit::{Page, Paging};
use super::{Actor, Sql, Store, TenantId, audit, col, rows};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::findings::inventory::{VulnRow, match_records};
use crate::findings::vulndb::LoadedDb;
use crate::findings::{check_id, check_text};
use podwarden_api::uplink::PackageRecord;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// One vulnerability finding: a package of an asset's container affected by an advisory.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VulnFinding {
    pub id: i64,
    pub asset: AlertAsset,
    pub container: String,
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    /// Where the package was found in the container.
    pub location: String,
    pub purl: String,
    pub advisory_id: String,
    /// CVE and other ids of the same vulnerability.
    pub aliases: Vec<String>,
    pub summary: String,
    /// `unknown`, `low`, `medium`, `high`, `critical`.
    pub severity: String,
    pub cvss_score: Option<f64>,
    /// The version to upgrade to, when a fix exists.
    pub fixed_version: Option<String>,
    pub fixed_versions: Vec<String>,
    /// `upgrade openssl to >= 3.0.7`, or `no fix available yet`.
    pub remediation: String,
    pub url: Option<String>,
    /// Covered by a vulnerability whitelist rule (not counted).
    pub whitelisted: bool,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// Findings grouped by advisory (the console's "by vulnerability" view).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AdvisoryGroup {
    pub advisory_id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    pub severity: String,
    pub asset_count: i64,
    pub finding_count: i64,
    /// Affected package names (distinct).
    pub packages: Vec<String>,
    pub remediation: String,
    pub url: Option<String>,
}

/// Findings grouped by asset (the console's "by asset" view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AssetVulnGroup {
    pub asset: AlertAsset,
    pub finding_count: i64,
    pub advisory_count: i64,
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub unknown: i64,
}

/// How `GET /api/v1/vulnerabilities` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VulnGroupBy {
    Advisory,
    Asset,
}

/// The answer of `GET /api/v1/vulnerabilities`: findings, or groups when `group_by` is set.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum VulnListing {
    Findings(Page<VulnFinding>),
    ByAdvisory(Page<AdvisoryGroup>),
    ByAsset(Page<AssetVulnGroup>),
}

/// Filters of `GET /api/v1/vulnerabilities`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VulnFilter {
    pub asset: Option<i64>,
    /// Severities (`unknown` … `critical`); empty: all.
    pub severities: Vec<String>,
    /// Package name, advisory id or alias (CVE) substring.
    pub q: Option<String>,
    pub include_whitelisted: bool,
}

/// A vulnerability whitelist rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VulnWhitelistRule {
    pub id: i64,
    /// Advisory id or alias (CVE) it covers.
    pub advisory_id: String,
    /// The asset it applies to; None: every asset.
    pub asset_id: Option<i64>,
    pub reason: String,
    pub created_at: i64,
    pub created_by: String,
}

/// `POST /api/v1/vulnerabilities/whitelist` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VulnWhitelistRequest {
    pub advisory_id: String,
    /// Limit the rule to one asset; absent: every asset.
    pub asset_id: Option<i64>,
    pub reason: String,
}

/// What a whitelist change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VulnWhitelistOutcome {
    pub rule: VulnWhitelistRule,
    /// Findings whose whitelisted flag changed.
    pub findings_changed: u64,
}

/// Severity names of vulnerability findings.
pub const VULN_SEVERITIES: [&str; 5] = ["unknown", "low", "medium", "high", "critical"];

fn rank_name(rank: i64) -> &'static str {
    VULN_SEVERITIES
        .get(usize::try_from(rank).unwrap_or(0))
        .copied()
        .unwrap_or("unknown")
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Recounts an asset's non-whitelisted findings into `assets.vulnerability_count`.
pub(crate) async fn recount_vulns(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE assets SET vulnerability_count =
            (SELECT COUNT(*) FROM vuln_findings
             WHERE tenant_id = $1 AND asset_id = $2 AND whitelisted = 0)
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(asset)
    .execute(conn)
    .await?;
    Ok(())
}

/// A whitelist rule as matching needs it.
struct RuleKey {
    advisory: String,
    asset: Option<i64>,
}

async fn whitelist_keys(
    conn: &mut AnyConnection,
    tenant: TenantId,
) -> Result<Vec<RuleKey>, StoreError> {
    let rows = sqlx::query("SELECT advisory_id, asset_id FROM vuln_whitelist WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(RuleKey {
                advisory: col(r, "advisory_id")?,
                asset: col(r, "asset_id")?,
            })
        })
        .collect()
}

fn whitelisted(rules: &[RuleKey], asset: i64, advisory: &str, aliases: &[String]) -> bool {
    rules.iter().any(|rule| {
        rule.asset.is_none_or(|a| a == asset)
            && (rule.advisory == advisory || aliases.contains(&rule.advisory))
    })
}

/// Replaces the findings of one container of an asset with `rows` (first-seen times of
/// findings that stay are kept) and recounts the asset. Returns the number stored.
pub(crate) async fn replace_vuln_findings(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
    container: &str,
    rows: &[VulnRow],
    now: Millis,
) -> Result<u32, StoreError> {
    type Key = (String, String, String, String, String);
    let key_of = |r: &VulnRow| -> Key {
        (
            r.ecosystem.clone(),
            r.package.clone(),
            r.version.clone(),
            r.location.clone(),
            r.advisory_id.clone(),
        )
    };
    let existing = sqlx::query(
        "SELECT ecosystem, package, version, location, advisory_id, first_seen FROM vuln_findings
         WHERE tenant_id = $1 AND asset_id = $2 AND container = $3",
    )
    .bind(tenant.0)
    .bind(asset)
    .bind(container.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut first_seen: HashMap<Key, i64> = HashMap::with_capacity(existing.len());
    for row in &existing {
        first_seen.insert(
            (
                col(row, "ecosystem")?,
                col(row, "package")?,
                col(row, "version")?,
                col(row, "location")?,
                col(row, "advisory_id")?,
            ),
            col(row, "first_seen")?,
        );
    }
    let rules = whitelist_keys(conn, tenant).await?;
    sqlx::query(
        "DELETE FROM vuln_findings WHERE tenant_id = $1 AND asset_id = $2 AND container = $3",
    )
    .bind(tenant.0)
    .bind(asset)
    .bind(container.to_string())
    .execute(&mut *conn)
    .await?;
    let mut seen = HashSet::with_capacity(rows.len());
    let unique: Vec<&VulnRow> = rows.iter().filter(|r| seen.insert(key_of(r))).collect();
    for chunk in unique.chunks(50) {
        let mut sql = Sql::for_connection(
            conn,
            "INSERT INTO vuln_findings (tenant_id, asset_id, container, ecosystem, package,
                version, location, purl, advisory_id, aliases, summary, severity, severity_rank,
                cvss_score10, fixed_version, fixed_versions, remediation, url, whitelisted,
                first_seen, last_seen) VALUES ",
        );
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let first = first_seen.get(&key_of(r)).copied().unwrap_or(now);
            sql.push("(")
                .bind(tenant.0)
                .push(", ")
                .bind(asset)
                .push(", ")
                .bind(container.to_string())
                .push(", ")
                .bind(r.ecosystem.clone())
                .push(", ")
                .bind(r.package.clone())
                .push(", ")
                .bind(r.version.clone())
                .push(", ")
                .bind(r.location.clone())
                .push(", ")
                .bind(r.purl.clone())
                .push(", ")
                .bind(r.advisory_id.clone())
                .push(", ")
                .bind(serde_json::to_string(&r.aliases).unwrap_or_else(|_| "[]".to_string()))
                .push(", ")
                .bind(r.summary.clone())
                .push(", ")
                .bind(r.severity.to_string())
                .push(", ")
                .bind(r.severity_rank)
                .push(", ")
                .bind(r.cvss_score10)
                .push(", ")
                .bind(r.fixed_version.clone())
                .push(", ")
                .bind(serde_json::to_string(&r.fixed_versions).unwrap_or_else(|_| "[]".to_string()))
                .push(", ")
                .bind(r.remediation.clone())
                .push(", ")
                .bind(r.url.clone())
                .push(", ")
                .bind(i64::from(whitelisted(
                    &rules,
                    asset,
                    &r.advisory_id,
                    &r.aliases,
                )))
                .push(", ")
                .bind(first)
                .push(", ")
                .bind(now)
                .push(")");
        }
        sql.build().execute(&mut *conn).await?;
    }
    recount_vulns(conn, tenant, asset).await?;
    Ok(u32::try_from(unique.len()).unwrap_or(u32::MAX))
}

/// Recomputes the whitelisted flag of the tenant's findings that `advisory` (id or alias)
/// names, optionally on one asset, and recounts the assets whose findings changed.
async fn reflag(
    conn: &mut AnyConnection,
    tenant: TenantId,
    advisory: &str,
    asset: Option<i64>,
) -> Result<u64, StoreError> {
    let rules = whitelist_keys(conn, tenant).await?;
    let mut sql = Sql::new(
        "SELECT id, asset_id, advisory_id, aliases, whitelisted FROM vuln_findings WHERE tenant_id = ",
    );
    sql.bind(tenant.0)
        .push(" AND (advisory_id = ")
        .bind(advisory.to_string())
        .push(" OR aliases LIKE ")
        .bind(format!(
            "%{}%",
            serde_json::to_string(advisory)
                .unwrap_or_default()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        ))
        .push(" ESCAPE '\\')");
    if let Some(asset) = asset {
        sql.push(" AND asset_id = ").bind(asset);
    }
    let rows = sql.build().fetch_all(&mut *conn).await?;
    let mut changed = 0u64;
    let mut assets = BTreeMap::new();
    for row in &rows {
        let id: i64 = col(row, "id")?;
        let asset_id: i64 = col(row, "asset_id")?;
        let advisory_id: String = col(row, "advisory_id")?;
        let aliases = json_list(&col::<String>(row, "aliases")?);
        let now_flag = whitelisted(&rules, asset_id, &advisory_id, &aliases);
        let was = col::<i64>(row, "whitelisted")? != 0;
        if now_flag != was {
            sqlx::query(
                "UPDATE vuln_findings SET whitelisted = $1 WHERE tenant_id = $2 AND id = $3",
            )
            .bind(i64::from(now_flag))
            .bind(tenant.0)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            changed += 1;
            assets.insert(asset_id, ());
        }
    }
    for asset in assets.keys() {
        recount_vulns(conn, tenant, *asset).await?;
    }
    Ok(changed)
}

fn finding_from_row(row: &sqlx::any::AnyRow) -> Result<VulnFinding, StoreError> {
    let score: Option<i64> = col(row, "cvss_score10")?;
    Ok(VulnFinding {
        id: col(row, "id")?,
        asset: AlertAsset {
            id: col(row, "asset_id")?,
            pod_name: col(row, "pod_name")?,
            namespace: col(row, "namespace")?,
            cluster: col(row, "cluster")?,
        },
        container: col(row, "container")?,
        ecosystem: col(row, "ecosystem")?,
        package: col(row, "package")?,
        version: col(row, "version")?,
        location: col(row, "location")?,
        purl: col(row, "purl")?,
        advisory_id: col(row, "advisory_id")?,
        aliases: json_list(&col::<String>(row, "aliases")?),
        summary: col(row, "summary")?,
        severity: col(row, "severity")?,
        cvss_score: score.map(|s| s as f64 / 10.0),
        fixed_version: col(row, "fixed_version")?,
        fixed_versions: json_list(&col::<String>(row, "fixed_versions")?),
        remediation: col(row, "remediation")?,
        url: col(row, "url")?,
        whitelisted: col::<i64>(row, "whitelisted")? != 0,
        first_seen: col(row, "first_seen")?,
        last_seen: col(row, "last_seen")?,
    })
}

const VULN_RULE_COLUMNS: &str = "id, advisory_id, asset_id, reason, created_at, created_by";

fn rule_from_row(row: &sqlx::any::AnyRow) -> Result<VulnWhitelistRule, StoreError> {
    Ok(VulnWhitelistRule {
        id: col(row, "id")?,
        advisory_id: col(row, "advisory_id")?,
        asset_id: col(row, "asset_id")?,
        reason: col(row, "reason")?,
        created_at: col(row, "created_at")?,
        created_by: col(row, "created_by")?,
    })
}

impl Store {
    /// The tenant's vulnerability findings matching `filter`: flat (most severe first) or
    /// grouped by advisory or by asset.
    pub async fn list_vulnerabilities(
        &self,
        tenant: TenantId,
        filter: &VulnFilter,
        group_by: Option<VulnGroupBy>,
        paging: Paging,
    ) -> Result<VulnListing, StoreError> {
        let conditions = |sql: &mut Sql| {
            sql.push(" WHERE f.tenant_id = ").bind(tenant.0);
            if let Some(asset) = filter.asset {
                sql.push(" AND f.asset_id = ").bind(asset);
            }
            if !filter.include_whitelisted {
                sql.push(" AND f.whitelisted = 0");
            }
            if !filter.severities.is_empty() {
                sql.push(" AND f.severity IN (");
                for (i, severity) in filter.severities.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.bind(severity.clone());
                }
                sql.push(")");
            }
            if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
                sql.push(" AND ").push_contains_any(
                    self.db.backend(),
                    &["f.package", "f.advisory_id", "f.aliases"],
                    q,
                );
            }
        };
        let reader = self.db.reader();
        match group_by {
            None => {
                let mut count = Sql::new("SELECT COUNT(*) AS n FROM vuln_findings f");
                conditions(&mut count);
                let total: i64 = col(&count.build().fetch_one(reader).await?, "n")?;
                let mut sql = Sql::new(
                    "SELECT f.id AS id, f.asset_id AS asset_id, s.pod_name AS pod_name,
                        s.namespace AS namespace, s.cluster AS cluster, f.container AS container,
                        f.ecosystem AS ecosystem, f.package AS package, f.version AS version,
                        f.location AS location, f.purl AS purl, f.advisory_id AS advisory_id,
                        f.aliases AS aliases, f.summary AS summary, f.severity AS severity,
                        f.cvss_score10 AS cvss_score10, f.fixed_version AS fixed_version,
                        f.fixed_versions AS fixed_versions, f.remediation AS remediation,
                        f.url AS url, f.whitelisted AS whitelisted, f.first_seen AS first_seen,
                        f.last_seen AS last_seen
                     FROM vuln_findings f
                     JOIN assets s ON s.tenant_id = f.tenant_id AND s.id = f.asset_id",
                );
                conditions(&mut sql);
                sql.push(" ORDER BY f.severity_rank DESC, f.advisory_id, f.id LIMIT ")
                    .bind(i64::from(paging.per_page))
                    .push(" OFFSET ")
                    .bind(paging.offset());
                let rows = sql.build().fetch_all(reader).await?;
                Ok(VulnListing::Findings(Page::exact(
                    rows.iter()
                        .map(finding_from_row)
                        .collect::<Result<Vec<_>, _>>()?,
                    paging,
                    total,
                )))
            }
            Some(VulnGroupBy::Advisory) => {
                let mut count = Sql::new(
                    "SELECT COUNT(*) AS n FROM (SELECT f.advisory_id FROM vuln_findings f",
                );
                conditions(&mut count);
                count.push(" GROUP BY f.advisory_id) g");
                let total: i64 = col(&count.build().fetch_one(reader).await?, "n")?;
                let mut sql = Sql::new(
                    "SELECT f.advisory_id AS advisory_id, MAX(f.severity_rank) AS severity_rank,
                        COUNT(DISTINCT f.asset_id) AS asset_count, COUNT(*) AS finding_count,
                        MAX(f.summary) AS summary, MAX(f.aliases) AS aliases, MAX(f.url) AS url,
                        MIN(f.remediation) AS remediation
                     FROM vuln_findings f",
                );
                conditions(&mut sql);
                sql.push(
                    " GROUP BY f.advisory_id
                      ORDER BY MAX(f.severity_rank) DESC, COUNT(DISTINCT f.asset_id) DESC,
                               f.advisory_id LIMIT ",
                )
                .bind(i64::from(paging.per_page))
                .push(" OFFSET ")
                .bind(paging.offset());
                let rows = sql.build().fetch_all(reader).await?;
                let mut items = Vec::with_capacity(rows.len());
                for row in &rows {
                    let advisory: String = col(row, "advisory_id")?;
                    let mut packages_sql =
                        Sql::new("SELECT DISTINCT f.package AS package FROM vuln_findings f");
                    conditions(&mut packages_sql);
                    packages_sql
                        .push(" AND f.advisory_id = ")
                        .bind(advisory.clone())
                        .push(" ORDER BY f.package LIMIT 50");
                    let packages = packages_sql
                        .build()
                        .fetch_all(reader)
                        .await?
                        .iter()
                        .map(|r| col::<String>(r, "package"))
                        .collect::<Result<Vec<_>, _>>()?;
                    items.push(AdvisoryGroup {
                        advisory_id: advisory,
                        aliases: json_list(&col::<String>(row, "aliases")?),
                        summary: col(row, "summary")?,
                        severity: rank_name(col(row, "severity_rank")?).to_string(),
                        asset_count: col(row, "asset_count")?,
                        finding_count: col(row, "finding_count")?,
                        packages,
                        remediation: col(row, "remediation")?,
                        url: col(row, "url")?,
                    });
                }
                Ok(VulnListing::ByAdvisory(Page::exact(items, paging, total)))
            }
            Some(VulnGroupBy::Asset) => {
                let mut count =
                    Sql::new("SELECT COUNT(*) AS n FROM (SELECT f.asset_id FROM vuln_findings f");
                conditions(&mut count);
                count.push(" GROUP BY f.asset_id) g");
                let total: i64 = col(&count.build().fetch_one(reader).await?, "n")?;
                let mut sql = Sql::new(
                    "SELECT f.asset_id AS asset_id, s.pod_name AS pod_name,
                        s.namespace AS namespace, s.cluster AS cluster,
                        COUNT(*) AS finding_count,
                        COUNT(DISTINCT f.advisory_id) AS advisory_count,
                        COUNT(CASE WHEN f.severity_rank = 4 THEN 1 END) AS critical,
                        COUNT(CASE WHEN f.severity_rank = 3 THEN 1 END) AS high,
                        COUNT(CASE WHEN f.severity_rank = 2 THEN 1 END) AS medium,
                        COUNT(CASE WHEN f.severity_rank = 1 THEN 1 END) AS low,
                        COUNT(CASE WHEN f.severity_rank = 0 THEN 1 END) AS unknown
                     FROM vuln_findings f
                     JOIN assets s ON s.tenant_id = f.tenant_id AND s.id = f.asset_id",
                );
                conditions(&mut sql);
                sql.push(
                    " GROUP BY f.asset_id, s.pod_name, s.namespace, s.cluster
                      ORDER BY COUNT(CASE WHEN f.severity_rank = 4 THEN 1 END) DESC,
                               COUNT(CASE WHEN f.severity_rank = 3 THEN 1 END) DESC,
                               COUNT(*) DESC, f.asset_id LIMIT ",
                )
                .bind(i64::from(paging.per_page))
                .push(" OFFSET ")
                .bind(paging.offset());
                let rows = sql.build().fetch_all(reader).await?;
                let items = rows
                    .iter()
                    .map(|row| {
                        Ok(AssetVulnGroup {
                            asset: AlertAsset {
                                id: col(row, "asset_id")?,
                                pod_name: col(row, "pod_name")?,
                                namespace: col(row, "namespace")?,
                                cluster: col(row, "cluster")?,
                            },
                            finding_count: col(row, "finding_count")?,
                            advisory_count: col(row, "advisory_count")?,
                            critical: col(row, "critical")?,
                            high: col(row, "high")?,
                            medium: col(row, "medium")?,
                            low: col(row, "low")?,
                            unknown: col(row, "unknown")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(VulnListing::ByAsset(Page::exact(items, paging, total)))
            }
        }
    }

    /// Adds a vulnerability whitelist rule (advisory id or alias, one asset or all) and flags
    /// the findings it covers.
    pub async fn add_vuln_whitelist(
        &self,
        tenant: TenantId,
        request: &VulnWhitelistRequest,
        actor: &Actor,
    ) -> Result<VulnWhitelistOutcome, StoreError> {
        let advisory = request.advisory_id.trim().to_string();
        check_id("advisory_id", &advisory, 128).map_err(StoreError::Invalid)?;
        let reason = request.reason.trim().to_string();
        if reason.is_empty() {
            return Err(StoreError::Invalid("reason is empty".to_string()));
        }
        check_text("reason", &reason, 2000).map_err(StoreError::Invalid)?;
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        if let Some(asset) = request.asset_id {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM assets WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(asset)
                    .fetch_optional(&mut *tx)
                    .await?;
            if found.is_none() {
                return Err(StoreError::NotFound(format!("asset {asset}")));
            }
        }
        let row = sqlx::query(
            "INSERT INTO vuln_whitelist (tenant_id, advisory_id, asset_id, reason, created_at,
                 created_by)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id, advisory_id, asset_id, reason, created_at, created_by",
        )
        .bind(tenant.0)
        .bind(advisory.clone())
        .bind(request.asset_id)
        .bind(reason.clone())
        .bind(now)
        .bind(actor.0.clone())
        .fetch_one(&mut *tx)
        .await?;
        let rule = rule_from_row(&row)?;
        let changed = reflag(&mut tx, tenant, &advisory, request.asset_id).await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "vulnerability_whitelist.add",
            &format!("vulnerability_whitelist:{}", rule.id),
            serde_json::json!({"advisory_id": advisory, "asset_id": request.asset_id,
                "reason": reason, "findings_changed": changed}),
        )
        .await?;
        tx.commit().await?;
        Ok(VulnWhitelistOutcome {
            rule,
            findings_changed: changed,
        })
    }

    /// The tenant's vulnerability whitelist, newest first.
    pub async fn list_vuln_whitelist(
        &self,
        tenant: TenantId,
        paging: Paging,
    ) -> Result<Page<VulnWhitelistRule>, StoreError> {
        rows::newest_first(
            self.db.reader(),
            "vuln_whitelist",
            VULN_RULE_COLUMNS,
            tenant,
            |_| {},
            paging,
            rule_from_row,
        )
        .await
    }

    /// Deletes a vulnerability whitelist rule; the findings it covered count again (unless
    /// another rule covers them).
    pub async fn delete_vuln_whitelist(
        &self,
        tenant: TenantId,
        id: i64,
        actor: &Actor,
    ) -> Result<VulnWhitelistOutcome, StoreError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let rule = rows::take(
            &mut tx,
            "vuln_whitelist",
            VULN_RULE_COLUMNS,
            tenant,
            id,
            "vulnerability whitelist rule",
            rule_from_row,
        )
        .await?;
        let changed = reflag(&mut tx, tenant, &rule.advisory_id, rule.asset_id).await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "vulnerability_whitelist.delete",
            &format!("vulnerability_whitelist:{id}"),
            serde_json::json!({"advisory_id": rule.advisory_id, "asset_id": rule.asset_id,
                "findings_changed": changed}),
        )
        .await?;
        tx.commit().await?;
        Ok(VulnWhitelistOutcome {
            rule,
            findings_changed: changed,
        })
    }

    /// Re-matches the tenant's stored inventories not yet matched against `db` (one
    /// transaction per inventory). Returns the number re-matched.
    pub async fn rematch_inventories(
        &self,
        tenant: TenantId,
        db: &Arc<LoadedDb>,
    ) -> Result<u64, StoreError> {
        let label = db.label();
        let rows = sqlx::query(
            "SELECT id FROM inventories
             WHERE tenant_id = $1 AND (matched_db IS NULL OR matched_db <> $2) ORDER BY id",
        )
        .bind(tenant.0)
        .bind(label.clone())
        .fetch_all(self.db.reader())
        .await?;
        let mut done = 0;
        for row in rows {
            let id: i64 = col(&row, "id")?;
            let inventory = sqlx::query(
                "SELECT asset_id, container, packages FROM inventories
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(self.db.reader())
            .await?;
            let Some(inventory) = inventory else {
                continue;
            };
            let asset: i64 = col(&inventory, "asset_id")?;
            let container: String = col(&inventory, "container")?;
            let packages_text: String = col(&inventory, "packages")?;
            let records: Vec<PackageRecord> = serde_json::from_str(&packages_text)
                .map_err(|err| StoreError::Corrupt(format!("inventory {id} packages: {err}")))?;
            let matcher = Arc::clone(db);
            let (found, _) =
                tokio::task::spawn_blocking(move || match_records(&matcher.db, &records))
                    .await
                    .map_err(|err| StoreError::Invalid(format!("matching failed: {err}")))?;
            let now = self.now();
            let mut tx = self.db.begin_write().await?;
            replace_vuln_findings(&mut tx, tenant, asset, &container, &found, now).await?;
            sqlx::query(
                "UPDATE inventories SET matched_at = $1, matched_db = $2
                 WHERE tenant_id = $3 AND id = $4",
            )
            .bind(now)
            .bind(label.clone())
            .bind(tenant.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE assets SET last_vulnerability_scan_at = $1 WHERE tenant_id = $2 AND id = $3",
            )
            .bind(now)
            .bind(tenant.0)
            .bind(asset)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            done += 1;
        }
        Ok(done)
    }
}
