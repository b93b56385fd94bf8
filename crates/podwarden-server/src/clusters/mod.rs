//! Kubernetes clusters as asset sources: kubeconfig checks and sealing, the kube-rs client
//! that lists pods, nodes and owners, the sync into the asset store (on demand and as a
//! periodic job), and applying baseline fixes to the workloads that own pods.
//!
//! - [`kubeconfig`]: parse and check tenant kubeconfig text (inline credentials only);
//! - [`secrets`]: seal kubeconfigs at rest under the server key file;
//! - [`kube_client`]: build a `kube::Client`, list pods (paged), nodes and owners, turn pods
//!   into [`ObservedPod`](crate::assets::ObservedPod)s and stored Pod documents;
//! - [`sync`]: [`ClusterSyncer`] (the [`AssetSyncer`](crate::state::AssetSyncer) of the
//!   server) and [`sync::ClusterSyncJob`];
//! - [`patch`]: [`patch::KubePatcher`], the [`WorkloadPatcher`](crate::findings::patcher::WorkloadPatcher)
//!   that applies pod-relative JSON Patches to Deployments, StatefulSets, ... and CronJobs;
//! - [`settings`]: the [`ClusterSettings`].
//!
//! SQL lives in `store::clusters`, routes in `api::clusters`.

pub mod kube_client;
pub mod kubeconfig;
pub mod patch;
pub mod secrets;
pub mod settings;
pub mod sync;

pub use settings::ClusterSettings;
pub use sync::{ClusterSyncResult, ClusterSyncer, SyncReport};

use crate::error::{ApiError, StoreError};
use axum::http::StatusCode;

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Kubeconfig(#[from] kubeconfig::KubeconfigError),
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
    #[error("{0}")]
    Invalid(String),
}

impl From<ClusterError> for ApiError {
    fn from(err: ClusterError) -> ApiError {
        match err {
            ClusterError::Store(err) => ApiError::from(err),
            ClusterError::Kubeconfig(err) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_kubeconfig",
                err.to_string(),
            ),
            ClusterError::Invalid(message) => ApiError::bad_request(message),
            ClusterError::Secret(err) => {
                tracing::error!(error = %err, "cluster secrets");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server cannot seal or open kubeconfigs; see the server log",
                )
            }
        }
    }
}

/// An error and its sources on one line (YAML errors carry line and column in a source,
/// connection errors the reason in theirs).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

/// The `source` of assets synced from cluster `id`.
pub fn source_of(id: i64) -> String {
    format!("cluster:{id}")
}

/// The cluster id of a `cluster:<id>` source.
pub fn cluster_of_source(source: &str) -> Option<i64> {
    source
        .strip_prefix("cluster:")
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
}

/// A valid cluster name: trimmed, 1 to 100 characters, no control characters.
pub fn check_name(name: &str) -> Result<String, ClusterError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ClusterError::Invalid(
            "name must be 1 to 100 characters".to_string(),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ClusterError::Invalid(
            "name must not contain control characters".to_string(),
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_names() {
        assert_eq!(cluster_of_source(&source_of(12)), Some(12));
        for bad in ["agent", "cluster:", "cluster:x", "cluster:-1", "cluster:0"] {
            assert_eq!(cluster_of_source(bad), None, "{bad}");
        }
        let cases: &[(&str, Option<&str>)] = &[
            (" prod ", Some("prod")),
            ("", None),
            ("  ", None),
            ("a\nb", None),
            ("東京-1", Some("東京-1")),
        ];
        for (input, expected) in cases {
            assert_eq!(check_name(input).ok().as_deref(), *expected, "{input:?}");
        }
        assert!(check_name(&"x".repeat(101)).is_err());
    }
}
