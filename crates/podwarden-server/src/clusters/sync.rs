//! Syncing clusters into the asset store: every cluster of a tenant is read concurrently, and
//! each one that answered is applied with
//! [`Store::upsert_assets_from_source`](crate::store::Store::upsert_assets_from_source) (new
//! pods added and auto-bound, changed ones updated, vanished ones marked gone), with its Pod
//! documents kept for baseline checks. A cluster that fails leaves its assets alone and
//! reports its error; the others go on. Sync status and progress are stored per cluster.

use super::kube_client::{self, ClusterTarget, FetchError, Fetched, OwnerCache};
use super::source_of;
use crate::assets::SyncCounts;
use crate::error::StoreError;
use crate::jobs::Job;
use crate::state::{AssetSyncer, BoxFuture};
use crate::store::clusters::{ClusterAccess, SyncOutcome};
use crate::store::{Store, TenantId};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How often a running sync records its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What syncing one cluster did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClusterSyncResult {
    pub id: i64,
    pub name: String,
    pub ok: bool,
    /// Why it failed (its assets were left as they were).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Pods of this source read from the cluster.
    pub pods: u64,
    pub added: u64,
    pub updated: u64,
    pub gone: u64,
    pub duration_ms: u64,
    /// Problems that did not stop the sync.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What a sync of all of a tenant's clusters did: totals and one entry per cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SyncReport {
    pub added: u64,
    pub updated: u64,
    pub gone: u64,
    pub clusters: Vec<ClusterSyncResult>,
}

impl SyncReport {
    /// The totals.
    pub fn counts(&self) -> SyncCounts {
        SyncCounts {
            added: self.added,
            updated: self.updated,
            gone: self.gone,
        }
    }
}

/// Reads every cluster of a tenant and applies what it found.
#[derive(Debug, Default, Clone)]
pub struct ClusterSyncer {
    owners: Arc<OwnerCache>,
}

impl ClusterSyncer {
    pub fn new() -> ClusterSyncer {
        ClusterSyncer::default()
    }

    /// Syncs every cluster of `tenant`.
    pub async fn sync(&self, store: &Store, tenant: TenantId) -> Result<SyncReport, StoreError> {
        let clusters = store.clusters_for_sync(tenant).await?;
        let mut report = SyncReport::default();
        let mut reads = tokio::task::JoinSet::new();
        for entry in clusters {
            match entry {
                Ok(access) => {
                    let store = store.clone();
                    let owners = self.owners.clone();
                    reads.spawn(async move {
                        let started = Instant::now();
                        let read = read_cluster(&store, tenant, &access, &owners).await;
                        (access, started, read)
                    });
                }
                Err((id, name, err)) => {
                    let error = err.to_string();
                    store
                        .finish_cluster_sync(
                            tenant,
                            id,
                            0,
                            &SyncOutcome::Failed {
                                error: error.clone(),
                            },
                        )
                        .await?;
                    report.clusters.push(failed(id, name, error, 0));
                }
            }
        }
        // Apply each cluster as soon as it has been read (writes are serialised anyway).
        while let Some(joined) = reads.join_next().await {
            let (access, started, read) = match joined {
                Ok(done) => done,
                Err(err) => {
                    tracing::error!(error = %err, "cluster read task failed");
                    continue;
                }
            };
            let result = match read {
                Read::Busy => failed(
                    access.id,
                    access.name.clone(),
                    "another sync of this cluster is running".to_string(),
                    0,
                ),
                Read::Failed(err) => {
                    let error = err.to_string();
                    let ms = elapsed_ms(started);
                    tracing::warn!(tenant = %tenant, cluster = access.id, error = %error,
                        "cluster sync failed");
                    store
                        .finish_cluster_sync(
                            tenant,
                            access.id,
                            ms as i64,
                            &SyncOutcome::Failed {
                                error: error.clone(),
                            },
                        )
                        .await?;
                    failed(access.id, access.name.clone(), error, ms)
                }
                Read::Done(fetched) => apply(store, tenant, &access, fetched, started).await?,
            };
            report.added += result.added;
            report.updated += result.updated;
            report.gone += result.gone;
            report.clusters.push(result);
        }
        report.clusters.sort_by_key(|c| c.id);
        Ok(report)
    }
}

impl AssetSyncer for ClusterSyncer {
    fn sync_tenant<'a>(
        &'a self,
        store: &'a Store,
        tenant: TenantId,
    ) -> BoxFuture<'a, Result<SyncReport, StoreError>> {
        Box::pin(self.sync(store, tenant))
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn failed(id: i64, name: String, error: String, duration_ms: u64) -> ClusterSyncResult {
    ClusterSyncResult {
        id,
        name,
        ok: false,
        error: Some(error),
        pods: 0,
        added: 0,
        updated: 0,
        gone: 0,
        duration_ms,
        warnings: Vec::new(),
    }
}

enum Read {
    Busy,
    Failed(FetchError),
    Done(Fetched),
}

/// Claims the cluster, reads it (bounded by the sync timeout), and records progress while
/// reading.
async fn read_cluster(
    store: &Store,
    tenant: TenantId,
    access: &ClusterAccess,
    owners: &OwnerCache,
) -> Read {
    let settings = &store.settings().clusters;
    let stale_ms = i64::try_from(settings.sync_timeout.as_millis())
        .unwrap_or(i64::MAX)
        .saturating_add(60_000);
    match store
        .claim_cluster_sync(tenant, access.id, store.now().saturating_sub(stale_ms))
        .await
    {
        Ok(true) => {}
        Ok(false) => return Read::Busy,
        Err(err) => {
            return Read::Failed(FetchError::Request {
                what: "recording the sync start".to_string(),
                message: err.to_string(),
            });
        }
    }
    let progress = AtomicUsize::new(0);
    let target = ClusterTarget {
        id: access.id,
        name: access.name.clone(),
        source_kind: access.source_kind,
    };
    let read = async {
        let client = kube_client::client(&access.kubeconfig, settings).await?;
        kube_client::fetch(&client, &target, settings, owners, &progress).await
    };
    let bounded = tokio::time::timeout(settings.sync_timeout, read);
    tokio::pin!(bounded);
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    ticker.tick().await;
    let mut reported = 0usize;
    let outcome = loop {
        tokio::select! {
            done = &mut bounded => break done,
            _ = ticker.tick() => {
                let now = progress.load(Ordering::Relaxed);
                if now != reported {
                    reported = now;
                    if let Err(err) = store
                        .set_cluster_sync_progress(tenant, access.id, now as i64)
                        .await
                    {
                        tracing::debug!(error = %err, "cannot record sync progress");
                    }
                }
            }
        }
    };
    match outcome {
        Ok(Ok(fetched)) => Read::Done(fetched),
        Ok(Err(err)) => Read::Failed(err),
        Err(_) => Read::Failed(FetchError::TimedOut {
            secs: settings.sync_timeout.as_secs(),
        }),
    }
}

/// Applies a cluster's pods to the store and records the sync.
async fn apply(
    store: &Store,
    tenant: TenantId,
    access: &ClusterAccess,
    fetched: Fetched,
    started: Instant,
) -> Result<ClusterSyncResult, StoreError> {
    let source = source_of(access.id);
    let pods = fetched.pods.len() as u64;
    let mut observed = Vec::with_capacity(fetched.pods.len());
    let mut documents = Vec::with_capacity(fetched.pods.len());
    for pod in fetched.pods {
        documents.push((pod.observed.uid.clone(), pod.document));
        observed.push(pod.observed);
    }
    let counts = store
        .upsert_assets_from_source(tenant, &source, observed)
        .await?;
    // FINDINGS-BEGIN
    store
        .store_cluster_pod_documents(tenant, &source, documents)
        .await?;
    // FINDINGS-END
    let ms = elapsed_ms(started);
    let still_there = store
        .finish_cluster_sync(
            tenant,
            access.id,
            ms as i64,
            &SyncOutcome::Ok { pods, counts },
        )
        .await?;
    if !still_there {
        // Removed while it was being read: what this sync added must not outlive it.
        store
            .upsert_assets_from_source(tenant, &source, Vec::new())
            .await?;
    }
    tracing::info!(tenant = %tenant, cluster = access.id, pods, added = counts.added,
        updated = counts.updated, gone = counts.gone, ms, "cluster synced");
    Ok(ClusterSyncResult {
        id: access.id,
        name: access.name.clone(),
        ok: true,
        error: None,
        pods,
        added: counts.added,
        updated: counts.updated,
        gone: counts.gone,
        duration_ms: ms,
        warnings: fetched.warnings,
    })
}

/// The periodic sync of every tenant's clusters.
#[derive(Debug, Default)]
pub struct ClusterSyncJob {
    syncer: ClusterSyncer,
}

impl ClusterSyncJob {
    pub fn new() -> ClusterSyncJob {
        ClusterSyncJob::default()
    }
}

impl Job for ClusterSyncJob {
    fn name(&self) -> &'static str {
        "cluster-sync"
    }

    fn run<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            for tenant in store.tenants_with_clusters().await? {
                let report = self.syncer.sync(store, tenant).await?;
                for cluster in report.clusters.iter().filter(|c| !c.ok) {
                    tracing::warn!(tenant = %tenant, cluster = cluster.id,
                        error = cluster.error.as_deref().unwrap_or_default(),
                        "periodic cluster sync failed");
                }
            }
            Ok(())
        })
    }
}
