//! "Sync assets" from the console: the sync runs in the background (the same
//! [`AssetSyncer`](crate::state::AssetSyncer) the API calls) while the page polls its
//! progress; one sync per tenant at a time.

use crate::clusters::SyncReport;
use crate::state::AppState;
use crate::store::TenantId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where a tenant's last console sync is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncState {
    Running {
        started_at: i64,
    },
    Done {
        report: SyncReport,
        started_at: i64,
        finished_at: i64,
    },
    Failed {
        message: String,
        finished_at: i64,
    },
}

/// The console's sync jobs, per tenant.
#[derive(Debug, Default)]
pub struct SyncJobs {
    jobs: Mutex<HashMap<TenantId, SyncState>>,
}

impl SyncJobs {
    /// The tenant's last sync, if any.
    pub fn get(&self, tenant: TenantId) -> Option<SyncState> {
        self.jobs
            .lock()
            .ok()
            .and_then(|jobs| jobs.get(&tenant).cloned())
    }

    fn set(&self, tenant: TenantId, state: SyncState) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(tenant, state);
        }
    }

    /// Starts a sync of `tenant` unless one is running; returns whether it started.
    pub fn start(self: &Arc<Self>, state: &AppState, tenant: TenantId) -> bool {
        let started_at = state.store.now();
        {
            let Ok(mut jobs) = self.jobs.lock() else {
                return false;
            };
            if matches!(jobs.get(&tenant), Some(SyncState::Running { .. })) {
                return false;
            }
            jobs.insert(tenant, SyncState::Running { started_at });
        }
        let jobs = Arc::clone(self);
        let app = state.clone();
        tokio::spawn(async move {
            let result = app.syncer.sync_tenant(&app.store, tenant).await;
            let finished_at = app.store.now();
            let next = match result {
                Ok(report) => {
                    tracing::info!(tenant = %tenant, added = report.added,
                        updated = report.updated, gone = report.gone, "console asset sync done");
                    SyncState::Done {
                        report,
                        started_at,
                        finished_at,
                    }
                }
                Err(err) => {
                    tracing::warn!(tenant = %tenant, error = %err, "console asset sync failed");
                    SyncState::Failed {
                        message: err.to_string(),
                        finished_at,
                    }
                }
            };
            jobs.set(tenant, next);
        });
        true
    }
}
