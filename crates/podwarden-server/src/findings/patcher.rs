//! How a baseline fix reaches a cluster workload. The center computes the fix as an RFC 6902
//! JSON Patch over the asset's Pod object; applying it to the workload that owns the pod
//! (Deployment, StatefulSet, ... — `/spec/...` of the pod becomes `/spec/template/spec/...`
//! of the owner) needs the cluster client, which the cluster-sync feature provides by
//! implementing [`WorkloadPatcher`] and setting `AppState::patcher`. Without one, the fix
//! endpoint still computes and returns the patch for the user to apply.

use crate::state::BoxFuture;
use crate::store::TenantId;
use podwarden_baseline::PatchOp;

/// The workload a pod belongs to, as the asset records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadTarget {
    pub tenant: TenantId,
    pub asset_id: i64,
    /// `cluster:<id>` for a cluster-synced asset.
    pub source: String,
    pub cluster: String,
    pub namespace: String,
    pub pod_name: String,
    pub owner_kind: Option<String>,
    pub owner_name: Option<String>,
}

/// What applying did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchApplied {
    /// What was patched, e.g. `Deployment shop/web in cluster prod`.
    pub target: String,
    pub message: String,
}

/// Why a patch was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchRefused {
    /// No cluster client can reach this asset's workload (agent-only asset, no cluster
    /// support configured): the user applies the returned patch.
    #[error("{0}")]
    Unavailable(String),
    /// The cluster refused or failed.
    #[error("the cluster refused the patch: {0}")]
    Failed(String),
}

/// Applies a pod-relative JSON Patch to the workload owning the pod.
pub trait WorkloadPatcher: Send + Sync + 'static {
    fn apply<'a>(
        &'a self,
        target: &'a WorkloadTarget,
        patch: &'a [PatchOp],
    ) -> BoxFuture<'a, Result<PatchApplied, PatchRefused>>;
}

/// No cluster client: every apply is refused as unavailable.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoWorkloadPatcher;

impl WorkloadPatcher for NoWorkloadPatcher {
    fn apply<'a>(
        &'a self,
        target: &'a WorkloadTarget,
        _patch: &'a [PatchOp],
    ) -> BoxFuture<'a, Result<PatchApplied, PatchRefused>> {
        let message = if target.source.starts_with("cluster:") {
            "no cluster client is configured on this server: apply the returned patch to the \
             workload yourself"
        } else {
            "this asset was registered by its agent, not synced from a cluster: apply the \
             returned patch to the workload's manifest yourself"
        };
        Box::pin(async move { Err(PatchRefused::Unavailable(message.to_string())) })
    }
}
