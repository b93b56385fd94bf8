//! Agent uploads in the store: inventories (idempotent per agent and upload id, replacing the
//! container's previous inventory, matched against the OSV database), pod specs (checked into
//! baseline risks), agent status from heartbeats, and the findings part of the asset detail
//! (inventories, database state, losses, drops).

use super::alerts::count_drop;
use super::baseline::replace_baseline_risks;
use super::vulns::replace_vuln_findings;
use super::{Store, TenantId, col};
use crate::auth::AgentPrincipal;
use crate::clock::Millis;
use crate::error::StoreError;
use crate::findings::baseline::{RiskRow, check_pod, validate as validate_podspec, validate_pod};
use crate::findings::detections::loss_message;
use crate::findings::inventory::{VulnRow, match_records, validate as validate_inventory};
use crate::findings::vulndb::LoadedDb;
use crate::findings::{check_text, protection_gate};
use podwarden_api::uplink::{
    AgentStatus, InventoryUpload, LossReport, PodSpecUpload, UploadResponse,
};
use serde::Serialize;
use sqlx::AnyConnection;
use std::sync::Arc;

/// An inventory of one container, as the asset detail lists it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InventorySummary {
    pub container: String,
    pub image: Option<String>,
    /// `/etc/os-release` of the container (`id`, `version_id`, `pretty_name`).
    #[schema(value_type = Option<Object>)]
    pub os: Option<serde_json::Value>,
    pub package_count: i64,
    /// Packages of ecosystems the matcher does not know.
    pub unmatched_count: i64,
    pub warning_count: i64,
    /// When the agent took it (agent clock) and when the center received it.
    pub scanned_at: i64,
    pub received_at: i64,
    /// When it was last matched, and against which database; None: not matched (no
    /// database loaded).
    pub matched_at: Option<i64>,
    pub matched_db: Option<String>,
}

/// Detections the agent reported it had to drop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LossView {
    /// "the agent dropped 12 low-severity detections between … and …".
    pub message: String,
    pub info: i64,
    pub low: i64,
    pub medium: i64,
    pub high: i64,
    pub critical: i64,
    pub from_ts: i64,
    pub to_ts: i64,
    pub received_at: i64,
}

/// Uploads the center dropped because protection was not active for the asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DropView {
    /// `detections`, `inventory` or `podspec`.
    pub kind: String,
    pub reason: String,
    pub dropped: i64,
    pub first_at: i64,
    pub last_at: i64,
}

/// The agent's last reported status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgentStatusView {
    #[serde(flatten)]
    pub status: AgentStatus,
    pub reported_at: i64,
}

/// Where the stored pod spec came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PodSpecSummary {
    /// `agent` or `cluster`.
    pub source: String,
    pub observed_at: Option<i64>,
}

/// The findings part of an asset's detail.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssetFindings {
    /// Whether the center can match inventories now, and why not.
    pub vulnerability_db_loaded: bool,
    pub vulnerability_db_message: Option<String>,
    pub inventories: Vec<InventorySummary>,
    pub pod_spec: Option<PodSpecSummary>,
    pub agent_status: Option<AgentStatusView>,
    /// The 20 latest loss reports of the agent.
    pub losses: Vec<LossView>,
    pub dropped_while_unprotected: Vec<DropView>,
    /// Commands queued or delivered and not answered yet.
    pub outstanding_commands: i64,
}

/// Records an upload id; false when it was recorded before (a retry).
async fn first_upload(
    conn: &mut AnyConnection,
    agent: AgentPrincipal,
    kind: &str,
    id: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO agent_uploads (tenant_id, agent_id, kind, upload_id, asset_id, received_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, agent_id, kind, upload_id) DO NOTHING",
    )
    .bind(agent.tenant.0)
    .bind(agent.agent_id)
    .bind(kind.to_string())
    .bind(id.to_string())
    .bind(agent.asset_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

fn response(duplicate: bool, stored: bool, reason: Option<&str>, findings: u32) -> UploadResponse {
    UploadResponse {
        duplicate,
        stored,
        reason: reason.map(str::to_string),
        findings,
    }
}

/// Stores `pod` as the asset's pod spec and, when `risks` is given, replaces its baseline
/// risks. Returns the number of risks stored.
#[allow(clippy::too_many_arguments)]
async fn store_pod_spec(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
    pod: &serde_json::Value,
    source: &str,
    observed_at: Option<Millis>,
    risks: Option<&[RiskRow]>,
    now: Millis,
) -> Result<u32, StoreError> {
    sqlx::query(
        "UPDATE assets SET pod_spec = $1, pod_spec_source = $2, pod_spec_observed_at = $3
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(pod.to_string())
    .bind(source.to_string())
    .bind(observed_at)
    .bind(tenant.0)
    .bind(asset)
    .execute(&mut *conn)
    .await?;
    match risks {
        Some(risks) => replace_baseline_risks(conn, tenant, asset, risks, now).await,
        None => Ok(0),
    }
}

impl Store {
    /// Stores an inventory from `agent` for its own asset, replacing the previous inventory of
    /// that container, and matches it against the loaded vulnerability database (when none is
    /// loaded the inventory is kept unmatched). Idempotent per upload id; an upload older than
    /// the stored inventory is not stored.
    pub async fn store_inventory(
        &self,
        agent: AgentPrincipal,
        upload: &InventoryUpload,
    ) -> Result<UploadResponse, StoreError> {
        validate_inventory(upload).map_err(StoreError::Invalid)?;
        let tenant = agent.tenant;
        let window = self.settings.online_window_ms();
        let gate = {
            let mut conn = self.db.reader().acquire().await?;
            protection_gate(&mut conn, tenant, agent.asset_id, self.now(), window).await?
        };
        let db: Option<Arc<LoadedDb>> = self.vuln_db().get().await;
        let matched: Option<(Vec<VulnRow>, usize, String)> = match (&db, gate.scans) {
            (Some(db), true) => {
                let db = Arc::clone(db);
                let records = upload.packages.clone();
                let label = db.label();
                let (rows, unknown) =
                    tokio::task::spawn_blocking(move || match_records(&db.db, &records))
                        .await
                        .map_err(|err| StoreError::Invalid(format!("matching failed: {err}")))?;
                Some((rows, unknown, label))
            }
            _ => None,
        };
        let now = self.now();
        let scanned_at = i64::try_from(upload.scanned_at).unwrap_or(i64::MAX);
        let mut tx = self.db.begin_write().await?;
        if !first_upload(&mut tx, agent, "inventory", &upload.id, now).await? {
            tx.commit().await?;
            return Ok(response(true, false, Some("already received"), 0));
        }
        let gate = protection_gate(&mut tx, tenant, agent.asset_id, now, window).await?;
        if !gate.scans {
            let reason = gate.reason.unwrap_or("protection is not active");
            count_drop(&mut tx, tenant, agent.asset_id, "inventory", reason, 1, now).await?;
            tx.commit().await?;
            return Ok(response(false, false, Some(reason), 0));
        }
        let stored_at: Option<i64> = sqlx::query_scalar(
            "SELECT scanned_at FROM inventories WHERE tenant_id = $1 AND asset_id = $2 AND container = $3",
        )
        .bind(tenant.0)
        .bind(agent.asset_id)
        .bind(upload.container.clone())
        .fetch_optional(&mut *tx)
        .await?;
        if stored_at.is_some_and(|at| at > scanned_at) {
            tx.commit().await?;
            return Ok(response(
                false,
                false,
                Some("a newer inventory of this container is already stored"),
                0,
            ));
        }
        let packages = serde_json::to_string(&upload.packages)
            .map_err(|err| StoreError::Invalid(format!("packages: {err}")))?;
        let os = upload
            .os
            .as_ref()
            .and_then(|os| serde_json::to_string(os).ok());
        let unknown = matched.as_ref().map_or(0, |m| m.1);
        sqlx::query(
            "INSERT INTO inventories (tenant_id, asset_id, container, upload_id, scanned_at,
                 received_at, image, os, package_count, unmatched_count, warnings, packages,
                 matched_at, matched_db)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (tenant_id, asset_id, container) DO UPDATE SET
                 upload_id = excluded.upload_id, scanned_at = excluded.scanned_at,
                 received_at = excluded.received_at, image = excluded.image, os = excluded.os,
                 package_count = excluded.package_count,
                 unmatched_count = excluded.unmatched_count, warnings = excluded.warnings,
                 packages = excluded.packages, matched_at = excluded.matched_at,
                 matched_db = excluded.matched_db",
        )
        .bind(tenant.0)
        .bind(agent.asset_id)
        .bind(upload.container.clone())
        .bind(upload.id.clone())
        .bind(scanned_at)
        .bind(now)
        .bind(upload.image.clone())
        .bind(os)
        .bind(i64::try_from(upload.packages.len()).unwrap_or(i64::MAX))
        .bind(i64::try_from(unknown).unwrap_or(i64::MAX))
        .bind(serde_json::to_string(&upload.warnings).unwrap_or_else(|_| "[]".to_string()))
        .bind(packages)
        .bind(matched.as_ref().map(|_| now))
        .bind(matched.as_ref().map(|m| m.2.clone()))
        .execute(&mut *tx)
        .await?;
        // The inventory is the scan: it counts as done even before a database matches it.
        sqlx::query(
            "UPDATE assets SET last_vulnerability_scan_at = $1 WHERE tenant_id = $2 AND id = $3",
        )
        .bind(now)
        .bind(tenant.0)
        .bind(agent.asset_id)
        .execute(&mut *tx)
        .await?;
        let (findings, reason) = match &matched {
            Some((rows, _, _)) => {
                let n = replace_vuln_findings(
                    &mut tx,
                    tenant,
                    agent.asset_id,
                    &upload.container,
                    rows,
                    now,
                )
                .await?;
                (n, None)
            }
            None => (
                0,
                Some(
                    "no vulnerability database is loaded: the inventory is stored and will be \
                     matched when one is",
                ),
            ),
        };
        tx.commit().await?;
        Ok(response(false, true, reason, findings))
    }

    /// Stores the pod spec `agent` saw for its own asset and checks it into baseline risks
    /// (when protection covers the asset). Idempotent per upload id; a spec observed before
    /// the stored one is not stored.
    pub async fn store_pod_spec_upload(
        &self,
        agent: AgentPrincipal,
        upload: &PodSpecUpload,
    ) -> Result<UploadResponse, StoreError> {
        validate_podspec(upload).map_err(StoreError::Invalid)?;
        let tenant = agent.tenant;
        let window = self.settings.online_window_ms();
        let observed_at = i64::try_from(upload.observed_at).unwrap_or(i64::MAX);
        let pod = upload.pod.clone();
        let risks = tokio::task::spawn_blocking(move || check_pod(&pod))
            .await
            .map_err(|err| StoreError::Invalid(format!("baseline check failed: {err}")))?;
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        if !first_upload(&mut tx, agent, "podspec", &upload.id, now).await? {
            tx.commit().await?;
            return Ok(response(true, false, Some("already received"), 0));
        }
        let stored_at: Option<i64> = sqlx::query_scalar(
            "SELECT pod_spec_observed_at FROM assets WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(agent.asset_id)
        .fetch_one(&mut *tx)
        .await?;
        if stored_at.is_some_and(|at| at > observed_at) {
            tx.commit().await?;
            return Ok(response(
                false,
                false,
                Some("a pod spec observed later is already stored"),
                0,
            ));
        }
        let gate = protection_gate(&mut tx, tenant, agent.asset_id, now, window).await?;
        let (findings, reason) = if gate.scans {
            let n = store_pod_spec(
                &mut tx,
                tenant,
                agent.asset_id,
                &upload.pod,
                "agent",
                Some(observed_at),
                Some(&risks),
                now,
            )
            .await?;
            (n, None)
        } else {
            let reason = gate.reason.unwrap_or("protection is not active");
            store_pod_spec(
                &mut tx,
                tenant,
                agent.asset_id,
                &upload.pod,
                "agent",
                Some(observed_at),
                None,
                now,
            )
            .await?;
            count_drop(&mut tx, tenant, agent.asset_id, "podspec", reason, 1, now).await?;
            (0, Some(reason))
        };
        tx.commit().await?;
        Ok(response(false, true, reason, findings))
    }

    /// Stores a pod spec obtained from a cluster sync for an asset of the tenant (the baseline
    /// check runs on the schedule or on demand).
    pub async fn set_pod_spec(
        &self,
        tenant: TenantId,
        asset: i64,
        pod: &serde_json::Value,
        observed_at: Option<Millis>,
    ) -> Result<(), StoreError> {
        validate_pod(pod).map_err(|message| StoreError::Invalid(format!("pod: {message}")))?;
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM assets WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0)
                .bind(asset)
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Err(StoreError::NotFound(format!("asset {asset}")));
        }
        store_pod_spec(
            &mut tx,
            tenant,
            asset,
            pod,
            "cluster",
            observed_at,
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Runs the baseline check of an asset from its stored pod spec. Returns the number of
    /// risks, or None when no pod spec is stored.
    pub async fn check_stored_pod_spec(
        &self,
        tenant: TenantId,
        asset: i64,
    ) -> Result<Option<u32>, StoreError> {
        let spec: Option<String> =
            sqlx::query_scalar("SELECT pod_spec FROM assets WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0)
                .bind(asset)
                .fetch_optional(self.db.reader())
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("asset {asset}")))?;
        let Some(pod) = spec.and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        else {
            return Ok(None);
        };
        let risks = tokio::task::spawn_blocking(move || check_pod(&pod))
            .await
            .map_err(|err| StoreError::Invalid(format!("baseline check failed: {err}")))?;
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let n = replace_baseline_risks(&mut tx, tenant, asset, &risks, now).await?;
        tx.commit().await?;
        Ok(Some(n))
    }

    /// Records the status an agent reported with its heartbeat.
    pub async fn record_agent_status(
        &self,
        agent: AgentPrincipal,
        status: &AgentStatus,
    ) -> Result<(), StoreError> {
        if status.collectors.len() > 64 || status.web_roots.len() > 256 {
            return Err(StoreError::Invalid(
                "status lists at most 64 collectors and 256 web roots".to_string(),
            ));
        }
        for item in status.collectors.iter().chain(&status.web_roots) {
            check_text("status", item, 4096).map_err(StoreError::Invalid)?;
        }
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO agent_status (tenant_id, asset_id, agent_id, status, reported_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, asset_id) DO UPDATE SET agent_id = excluded.agent_id,
                 status = excluded.status, reported_at = excluded.reported_at",
        )
        .bind(agent.tenant.0)
        .bind(agent.asset_id)
        .bind(agent.agent_id)
        .bind(serde_json::to_string(status).unwrap_or_else(|_| "{}".to_string()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The findings part of an asset's detail.
    pub async fn asset_findings(
        &self,
        tenant: TenantId,
        asset: i64,
    ) -> Result<AssetFindings, StoreError> {
        let reader = self.db.reader();
        let db = self.vuln_db().status();
        let rows = sqlx::query(
            "SELECT container, image, os, package_count, unmatched_count, warnings, scanned_at,
                    received_at, matched_at, matched_db
             FROM inventories WHERE tenant_id = $1 AND asset_id = $2 ORDER BY container",
        )
        .bind(tenant.0)
        .bind(asset)
        .fetch_all(reader)
        .await?;
        let mut inventories = Vec::with_capacity(rows.len());
        for row in &rows {
            let os: Option<String> = col(row, "os")?;
            let warnings: String = col(row, "warnings")?;
            inventories.push(InventorySummary {
                container: col(row, "container")?,
                image: col(row, "image")?,
                os: os.and_then(|o| serde_json::from_str(&o).ok()),
                package_count: col(row, "package_count")?,
                unmatched_count: col(row, "unmatched_count")?,
                warning_count: serde_json::from_str::<Vec<serde_json::Value>>(&warnings)
                    .map_or(0, |w| w.len() as i64),
                scanned_at: col(row, "scanned_at")?,
                received_at: col(row, "received_at")?,
                matched_at: col(row, "matched_at")?,
                matched_db: col(row, "matched_db")?,
            });
        }
        let spec = sqlx::query(
            "SELECT pod_spec_source, pod_spec_observed_at FROM assets
             WHERE tenant_id = $1 AND id = $2 AND pod_spec IS NOT NULL",
        )
        .bind(tenant.0)
        .bind(asset)
        .fetch_optional(reader)
        .await?;
        let pod_spec = match spec {
            Some(row) => Some(PodSpecSummary {
                source: col::<Option<String>>(&row, "pod_spec_source")?.unwrap_or_default(),
                observed_at: col(&row, "pod_spec_observed_at")?,
            }),
            None => None,
        };
        let status = sqlx::query(
            "SELECT status, reported_at FROM agent_status WHERE tenant_id = $1 AND asset_id = $2",
        )
        .bind(tenant.0)
        .bind(asset)
        .fetch_optional(reader)
        .await?;
        let agent_status = match status {
            Some(row) => {
                let text: String = col(&row, "status")?;
                serde_json::from_str::<AgentStatus>(&text)
                    .ok()
                    .map(|status| -> Result<AgentStatusView, StoreError> {
                        Ok(AgentStatusView {
                            status,
                            reported_at: col(&row, "reported_at")?,
                        })
                    })
                    .transpose()?
            }
            None => None,
        };
        let rows = sqlx::query(
            "SELECT info, low, medium, high, critical, from_ts, to_ts, received_at
             FROM agent_losses WHERE tenant_id = $1 AND asset_id = $2 ORDER BY id DESC LIMIT 20",
        )
        .bind(tenant.0)
        .bind(asset)
        .fetch_all(reader)
        .await?;
        let mut losses = Vec::with_capacity(rows.len());
        for row in &rows {
            let n = |name: &str| col::<i64>(row, name);
            let report = LossReport {
                info: n("info")?.max(0) as u64,
                low: n("low")?.max(0) as u64,
                medium: n("medium")?.max(0) as u64,
                high: n("high")?.max(0) as u64,
                critical: n("critical")?.max(0) as u64,
                from_ts: n("from_ts")?.max(0) as u64,
                to_ts: n("to_ts")?.max(0) as u64,
            };
            losses.push(LossView {
                message: loss_message(&report),
                info: n("info")?,
                low: n("low")?,
                medium: n("medium")?,
                high: n("high")?,
                critical: n("critical")?,
                from_ts: n("from_ts")?,
                to_ts: n("to_ts")?,
                received_at: n("received_at")?,
            });
        }
        let rows = sqlx::query(
            "SELECT kind, reason, dropped, first_at, last_at FROM unprotected_drops
             WHERE tenant_id = $1 AND asset_id = $2 ORDER BY kind, reason",
        )
        .bind(tenant.0)
        .bind(asset)
        .fetch_all(reader)
        .await?;
        let dropped_while_unprotected = rows
            .iter()
            .map(|row| {
                Ok(DropView {
                    kind: col(row, "kind")?,
                    reason: col(row, "reason")?,
                    dropped: col(row, "dropped")?,
                    first_at: col(row, "first_at")?,
                    last_at: col(row, "last_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let outstanding_commands: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM agent_commands
             WHERE tenant_id = $1 AND asset_id = $2 AND status IN ('pending', 'delivered')",
        )
        .bind(tenant.0)
        .bind(asset)
        .fetch_one(reader)
        .await?;
        Ok(AssetFindings {
            vulnerability_db_loaded: db.loaded,
            vulnerability_db_message: db.message,
            inventories,
            pod_spec,
            agent_status,
            losses,
            dropped_while_unprotected,
            outstanding_commands,
        })
    }
}
