//! Scans in the store: the tenant's scan settings, on-demand scans (`POST /api/v1/scans`) and
//! the scheduled runs. A vulnerability scan asks the asset's agent for a fresh inventory (a
//! `rescan` command); a baseline check runs on the center from the stored pod spec (synced
//! from the cluster or uploaded by the agent), or asks the agent for its pod spec when none is
//! stored. Only protected assets are scanned: protection active, bound, agent online, not
//! gone, a standard instance.

use super::commands::{queue_command, rescan_outstanding};
use super::{Actor, Sql, Store, TenantId, audit, col, flag};
use crate::error::StoreError;
use crate::findings::schedule::{ScanKind, ScanSettings, due_before, in_window};
use crate::metering::TimeZoneSetting;
use podwarden_api::uplink::{CommandAction, RescanKind};
use serde::Serialize;

/// Which assets a scan request covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanTarget {
    /// Every protected asset.
    All,
    Assets(Vec<i64>),
}

/// An asset a scan left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SkippedScan {
    pub asset_id: i64,
    pub reason: String,
}

/// What a scan request did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ScanOutcome {
    /// Assets whose agent was asked to rescan (a `rescan` command queued).
    pub queued: Vec<i64>,
    /// Assets whose agent already has a rescan of this kind outstanding.
    pub already_queued: Vec<i64>,
    /// Assets checked on the center now (baseline from the stored pod spec).
    pub checked: Vec<i64>,
    pub skipped: Vec<SkippedScan>,
}

/// An asset as scanning needs it.
struct Candidate {
    id: i64,
    skip: Option<&'static str>,
    has_pod_spec: bool,
}

fn rescan_action(kind: ScanKind) -> CommandAction {
    CommandAction::Rescan {
        scan: match kind {
            ScanKind::Vulnerability => RescanKind::Vulnerability,
            ScanKind::Baseline => RescanKind::Baseline,
        },
    }
}

/// Pause before each asset a scheduled run scans (at most 100 assets/s).
const SCHEDULED_SCAN_PACE: std::time::Duration = std::time::Duration::from_millis(10);

impl Store {
    /// The tenant's scan settings (defaults until changed).
    pub async fn scan_settings(&self, tenant: TenantId) -> Result<ScanSettings, StoreError> {
        let row = sqlx::query(
            "SELECT vulnerability_interval_hours, baseline_interval_hours, window_start, window_end
             FROM scan_settings WHERE tenant_id = $1",
        )
        .bind(tenant.0)
        .fetch_optional(self.db.reader())
        .await?;
        let Some(row) = row else {
            if !self.tenant_exists(tenant).await? {
                return Err(StoreError::NotFound(format!("tenant {tenant}")));
            }
            return Ok(ScanSettings::default());
        };
        let hours = |name: &str| -> Result<u32, StoreError> {
            u32::try_from(col::<i64>(&row, name)?)
                .map_err(|_| StoreError::Corrupt(format!("{name} out of range")))
        };
        Ok(ScanSettings {
            vulnerability_interval_hours: hours("vulnerability_interval_hours")?,
            baseline_interval_hours: hours("baseline_interval_hours")?,
            window_start: col(&row, "window_start")?,
            window_end: col(&row, "window_end")?,
        })
    }

    /// Replaces the tenant's scan settings.
    pub async fn put_scan_settings(
        &self,
        tenant: TenantId,
        settings: ScanSettings,
        actor: &Actor,
    ) -> Result<ScanSettings, StoreError> {
        let settings = settings.validated().map_err(StoreError::Invalid)?;
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO scan_settings (tenant_id, vulnerability_interval_hours,
                 baseline_interval_hours, window_start, window_end, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant_id) DO UPDATE SET
                 vulnerability_interval_hours = excluded.vulnerability_interval_hours,
                 baseline_interval_hours = excluded.baseline_interval_hours,
                 window_start = excluded.window_start, window_end = excluded.window_end,
                 updated_at = excluded.updated_at",
        )
        .bind(tenant.0)
        .bind(i64::from(settings.vulnerability_interval_hours))
        .bind(i64::from(settings.baseline_interval_hours))
        .bind(settings.window_start.clone())
        .bind(settings.window_end.clone())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "scan_settings.update",
            &format!("tenant:{tenant}"),
            serde_json::to_value(&settings).unwrap_or(serde_json::Value::Null),
        )
        .await?;
        tx.commit().await?;
        Ok(settings)
    }

    /// Candidates of a scan: the requested (or due) assets with the reason each cannot be
    /// scanned, if any.
    async fn scan_candidates(
        &self,
        tenant: TenantId,
        target: &ScanTarget,
        due: Option<(ScanKind, i64)>,
    ) -> Result<(Vec<Candidate>, Vec<SkippedScan>), StoreError> {
        let now = self.now();
        let window = self.settings.online_window_ms();
        let protection = self.protection(tenant).await?;
        let mut conn = self.db.reader().acquire().await?;
        let mut sql = Sql::for_connection(
            &conn,
            "SELECT id, bound, status, protectable, instance_type, last_heartbeat_at,
                    CASE WHEN pod_spec IS NULL THEN 0 ELSE 1 END AS has_pod_spec
             FROM assets WHERE tenant_id = ",
        );
        sql.bind(tenant.0);
        if let ScanTarget::Assets(ids) = target {
            if ids.is_empty() {
                return Ok((Vec::new(), Vec::new()));
            }
            sql.push(" AND id IN (");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(*id);
            }
            sql.push(")");
        } else {
            sql.push(" AND status <> 'gone' AND bound = 1");
        }
        if let Some((kind, before)) = due {
            let column = match kind {
                ScanKind::Vulnerability => "last_vulnerability_scan_at",
                ScanKind::Baseline => "last_baseline_check_at",
            };
            sql.push(&format!(" AND ({column} IS NULL OR {column} <= "))
                .bind(before)
                .push(")");
        }
        sql.push(" ORDER BY id");
        let rows = sql.build().fetch_all(&mut *conn).await?;
        drop(conn);
        let mut candidates = Vec::with_capacity(rows.len());
        let mut found = std::collections::HashSet::new();
        for row in &rows {
            let id: i64 = col(row, "id")?;
            found.insert(id);
            let status: String = col(row, "status")?;
            let protectable: String = col(row, "protectable")?;
            let instance_type: String = col(row, "instance_type")?;
            let heartbeat: Option<i64> = col(row, "last_heartbeat_at")?;
            let skip = if !protection.active {
                Some("protection is not active for this tenant (switched off, paused or overdue)")
            } else if status == "gone" {
                Some("the asset is gone")
            } else if !flag(row, "bound")? {
                Some("the asset is not bound to the protection quota")
            } else if protectable != "yes" || instance_type != "standard" {
                Some("sandboxed instances get alert detection only")
            } else if heartbeat.is_none_or(|at| now >= at.saturating_add(window)) {
                Some("the asset's agent is offline")
            } else {
                None
            };
            candidates.push(Candidate {
                id,
                skip,
                has_pod_spec: col::<i64>(row, "has_pod_spec")? != 0,
            });
        }
        let mut missing = Vec::new();
        if let ScanTarget::Assets(ids) = target {
            for id in ids {
                if !found.contains(id) {
                    missing.push(SkippedScan {
                        asset_id: *id,
                        reason: "no such asset".to_string(),
                    });
                }
            }
        }
        Ok((candidates, missing))
    }

    /// Runs `kind` for the candidates (see the module doc). `pace` (scheduled runs) spaces
    /// the per-asset writes so a night's batch of thousands never crowds heartbeats and
    /// uploads out of the single SQLite writer.
    async fn run_scans(
        &self,
        tenant: TenantId,
        kind: ScanKind,
        candidates: Vec<Candidate>,
        outcome: &mut ScanOutcome,
        pace: Option<std::time::Duration>,
    ) -> Result<(), StoreError> {
        let action = rescan_action(kind);
        let payload = serde_json::to_string(&action)
            .map_err(|err| StoreError::Invalid(format!("command: {err}")))?;
        for candidate in candidates {
            if let Some(reason) = candidate.skip {
                outcome.skipped.push(SkippedScan {
                    asset_id: candidate.id,
                    reason: reason.to_string(),
                });
                continue;
            }
            if let Some(pace) = pace {
                tokio::time::sleep(pace).await;
            }
            if kind == ScanKind::Baseline
                && candidate.has_pod_spec
                && self
                    .check_stored_pod_spec(tenant, candidate.id)
                    .await?
                    .is_some()
            {
                outcome.checked.push(candidate.id);
                continue;
            }
            let now = self.now();
            let mut tx = self.db.begin_write().await?;
            if rescan_outstanding(&mut tx, tenant, candidate.id, &payload).await? {
                outcome.already_queued.push(candidate.id);
            } else {
                queue_command(&mut tx, tenant, candidate.id, &action, None, None, now).await?;
                outcome.queued.push(candidate.id);
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Runs a scan now for the given assets (or every bound asset), recorded in the audit log.
    pub async fn request_scans(
        &self,
        tenant: TenantId,
        kind: ScanKind,
        target: &ScanTarget,
        actor: &Actor,
    ) -> Result<ScanOutcome, StoreError> {
        let (candidates, missing) = self.scan_candidates(tenant, target, None).await?;
        let mut outcome = ScanOutcome {
            skipped: missing,
            ..ScanOutcome::default()
        };
        self.run_scans(tenant, kind, candidates, &mut outcome, None)
            .await?;
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "scan.request",
            &format!("tenant:{tenant}"),
            serde_json::json!({
                "kind": kind.as_str(),
                "all": matches!(target, ScanTarget::All),
                "queued": outcome.queued.len(),
                "already_queued": outcome.already_queued.len(),
                "checked": outcome.checked.len(),
                "skipped": outcome.skipped.len(),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// One run of the schedule for the tenant: inside its window, every protected asset due
    /// for a vulnerability scan or a baseline check gets one. Returns what was done per kind.
    pub async fn run_scheduled_scans(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<(ScanKind, ScanOutcome)>, StoreError> {
        let protection = self.protection(tenant).await?;
        if !protection.active {
            return Ok(Vec::new());
        }
        let settings = self.scan_settings(tenant).await?;
        let zone = TimeZoneSetting::parse(&protection.timezone).map_err(StoreError::Corrupt)?;
        let now = self.now();
        if !in_window(&settings, &zone, now) {
            return Ok(Vec::new());
        }
        let mut done = Vec::new();
        for kind in [ScanKind::Vulnerability, ScanKind::Baseline] {
            let before = due_before(&settings, kind, now);
            let (candidates, _) = self
                .scan_candidates(tenant, &ScanTarget::All, Some((kind, before)))
                .await?;
            // Scheduled runs only touch protected assets; the rest are not worth reporting.
            let protected: Vec<Candidate> = candidates
                .into_iter()
                .filter(|c| c.skip.is_none())
                .collect();
            let mut outcome = ScanOutcome::default();
            self.run_scans(
                tenant,
                kind,
                protected,
                &mut outcome,
                Some(SCHEDULED_SCAN_PACE),
            )
            .await?;
            done.push((kind, outcome));
        }
        Ok(done)
    }
}
