//! What every handler and job shares: the store, the metrics, and the hooks later features
//! plug into (asset sources for "sync now").

use crate::clusters::SyncReport;
use crate::error::StoreError;
use crate::metrics::Metrics;
use crate::store::{Store, TenantId};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future (for object-safe async hooks).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Fetches the latest pods from every source of a tenant and applies them with
/// [`Store::upsert_assets_from_source`]; [`crate::clusters::ClusterSyncer`] is the real one.
pub trait AssetSyncer: Send + Sync + 'static {
    fn sync_tenant<'a>(
        &'a self,
        store: &'a Store,
        tenant: TenantId,
    ) -> BoxFuture<'a, Result<SyncReport, StoreError>>;
}

/// No asset sources configured: a sync changes nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSources;

impl AssetSyncer for NoSources {
    fn sync_tenant<'a>(
        &'a self,
        _store: &'a Store,
        _tenant: TenantId,
    ) -> BoxFuture<'a, Result<SyncReport, StoreError>> {
        Box::pin(async { Ok(SyncReport::default()) })
    }
}

/// Shared state of the HTTP app.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub syncer: Arc<dyn AssetSyncer>,
    /// Applies baseline fixes to cluster workloads.
    pub patcher: Arc<dyn crate::findings::patcher::WorkloadPatcher>,
}

impl AppState {
    /// State syncing the tenant's clusters and applying baseline fixes to their workloads.
    pub fn new(store: Store) -> AppState {
        AppState {
            patcher: Arc::new(crate::clusters::patch::KubePatcher::new(store.clone())),
            store,
            metrics: Arc::new(Metrics::default()),
            syncer: Arc::new(crate::clusters::ClusterSyncer::new()),
        }
    }
}
