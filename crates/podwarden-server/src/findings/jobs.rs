//! Background jobs of the findings feature: the scan schedule, reloading the vulnerability
//! database (re-matching stored inventories when it changed), expiring commands that will get
//! no result, and pruning old de-duplication keys.

use crate::error::StoreError;
use crate::jobs::Job;
use crate::state::BoxFuture;
use crate::store::{Store, TenantId};
use std::sync::Arc;

/// Runs each tenant's scheduled scans inside its window.
#[derive(Debug, Default)]
pub struct ScanSchedule;

impl Job for ScanSchedule {
    fn name(&self) -> &'static str {
        "scan-schedule"
    }

    fn run<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            for tenant in store.all_tenant_ids().await? {
                for (kind, outcome) in store.run_scheduled_scans(tenant).await? {
                    if !outcome.queued.is_empty() || !outcome.checked.is_empty() {
                        tracing::info!(
                            tenant = %tenant,
                            kind = kind.as_str(),
                            queued = outcome.queued.len(),
                            checked = outcome.checked.len(),
                            "scheduled scans"
                        );
                    }
                }
            }
            Ok(())
        })
    }
}

/// Reloads the vulnerability database when its index changed and re-matches the stored
/// inventories not matched against the current one.
#[derive(Debug, Default)]
pub struct VulnDbRefresh;

impl Job for VulnDbRefresh {
    fn name(&self) -> &'static str {
        "vuln-db-refresh"
    }

    fn run<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let holder = Arc::clone(store.vuln_db());
            let _ = tokio::task::spawn_blocking(move || holder.refresh()).await;
            let Some(db) = store.vuln_db().current() else {
                return Ok(());
            };
            for tenant in store.all_tenant_ids().await? {
                let n = store.rematch_inventories(tenant, &db).await?;
                if n > 0 {
                    tracing::info!(tenant = %tenant, inventories = n, "re-matched inventories");
                }
            }
            Ok(())
        })
    }
}

/// Expires commands that will get no result.
#[derive(Debug, Default)]
pub struct CommandExpiry;

impl Job for CommandExpiry {
    fn name(&self) -> &'static str {
        "command-expiry"
    }

    fn run<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            for tenant in store.all_tenant_ids().await? {
                let n = store.expire_commands(tenant).await?;
                if n > 0 {
                    tracing::info!(tenant = %tenant, commands = n, "commands expired");
                }
            }
            Ok(())
        })
    }
}

/// Deletes detection ids and upload ids older than the retention (retries never come that
/// late), tenant by tenant.
#[derive(Debug, Default)]
pub struct DedupPrune;

impl Job for DedupPrune {
    fn name(&self) -> &'static str {
        "dedup-prune"
    }

    fn run<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            for tenant in store.all_tenant_ids().await? {
                prune_tenant(store, tenant).await?;
            }
            Ok(())
        })
    }
}

async fn prune_tenant(store: &Store, tenant: TenantId) -> Result<(), StoreError> {
    let days = i64::try_from(store.settings().findings.detection_retention_days).unwrap_or(7);
    let before = store.now() - days * 86_400_000;
    let mut tx = store.db().begin_write().await?;
    for table in ["detections", "agent_uploads"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND received_at < $2"
        )))
        .bind(tenant.0)
        .bind(before)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The findings jobs and their intervals, for the scheduler.
pub fn jobs(store: &Store) -> Vec<(Arc<dyn Job>, std::time::Duration)> {
    let settings = &store.settings().findings;
    let secs = std::time::Duration::from_secs;
    vec![
        (Arc::new(ScanSchedule), secs(settings.scan_schedule_secs)),
        (Arc::new(VulnDbRefresh), secs(settings.vuln_db_check_secs)),
        (
            Arc::new(CommandExpiry),
            secs((settings.command_lease_secs / 2).max(10)),
        ),
        (Arc::new(DedupPrune), secs(3600)),
    ]
}
