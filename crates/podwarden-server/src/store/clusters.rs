//! Clusters in the store: the tenant's asset sources (kubeconfig sealed at rest), their sync
//! status for the console's progress display, and the Pod documents a sync keeps on assets.

use super::{Actor, Sql, Store, TenantId, audit, col, flag};
use crate::assets::{SourceKind, SyncCounts};
use crate::clock::Millis;
use crate::clusters::kubeconfig::{self, KubeconfigSummary};
use crate::clusters::secrets::SealingKey;
use crate::clusters::{ClusterError, check_name, source_of};
use crate::error::StoreError;
use serde::Serialize;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// Where a cluster's sync stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClusterSyncStatus {
    /// `never` (not synced yet), `running`, `ok` or `failed` (the last finished sync).
    pub state: String,
    /// When the running sync started.
    pub started_at: Option<i64>,
    /// Pods listed so far by the running sync.
    pub progress_pods: Option<i64>,
    /// When the last sync finished, and how long it took.
    pub last_sync_at: Option<i64>,
    pub last_duration_ms: Option<i64>,
    /// When a sync last succeeded.
    pub last_ok_at: Option<i64>,
    /// Why the last sync failed.
    pub last_error: Option<String>,
    /// Pods of the last successful sync, and what it changed.
    pub pods: Option<i64>,
    pub added: Option<i64>,
    pub updated: Option<i64>,
    pub gone: Option<i64>,
}

/// A cluster as the API shows it (never its credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClusterView {
    pub id: i64,
    pub name: String,
    pub source_kind: SourceKind,
    /// The asset source id of its pods (`cluster:<id>`).
    pub source: String,
    /// API server URL and context of the kubeconfig.
    pub server: String,
    pub context: String,
    /// `token`, `client-certificate`, `basic` or `none`.
    pub auth: String,
    pub insecure_skip_tls_verify: bool,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    /// Its assets that are not gone.
    pub assets: i64,
    pub sync: ClusterSyncStatus,
}

/// A cluster with its kubeconfig opened, for a sync or a patch.
#[derive(Clone)]
pub struct ClusterAccess {
    pub id: i64,
    pub name: String,
    pub source_kind: SourceKind,
    pub kubeconfig: String,
}

impl std::fmt::Debug for ClusterAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterAccess")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("source_kind", &self.source_kind)
            .finish_non_exhaustive()
    }
}

/// Changes of `PUT /api/v1/clusters/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterUpdate {
    pub name: Option<String>,
    pub source_kind: Option<SourceKind>,
    pub kubeconfig: Option<String>,
}

/// How a cluster sync ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Ok { pods: u64, counts: SyncCounts },
    Failed { error: String },
}

const VIEW_COLUMNS: &str = "c.id AS id, c.name AS name, c.source_kind AS source_kind,
    c.server_url AS server_url, c.context_name AS context_name, c.auth_kind AS auth_kind,
    c.insecure_skip_tls_verify AS insecure_skip_tls_verify, c.created_at AS created_at,
    c.created_by AS created_by, c.updated_at AS updated_at, c.sync_started_at AS sync_started_at,
    c.sync_progress_pods AS sync_progress_pods, c.last_sync_at AS last_sync_at,
    c.last_sync_ms AS last_sync_ms, c.last_sync_ok AS last_sync_ok, c.last_error AS last_error,
    c.last_ok_at AS last_ok_at, c.last_pods AS last_pods, c.last_added AS last_added,
    c.last_updated AS last_updated, c.last_gone AS last_gone";

fn source_kind(row: &AnyRow) -> Result<SourceKind, StoreError> {
    let text: String = col(row, "source_kind")?;
    SourceKind::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("source_kind {text:?}")))
}

fn view_from_row(row: &AnyRow, assets: i64) -> Result<ClusterView, StoreError> {
    let id: i64 = col(row, "id")?;
    let started_at: Option<i64> = col(row, "sync_started_at")?;
    let last_ok: Option<i64> = col(row, "last_sync_ok")?;
    let state = match (started_at, last_ok) {
        (Some(_), _) => "running",
        (None, None) => "never",
        (None, Some(0)) => "failed",
        (None, Some(_)) => "ok",
    };
    Ok(ClusterView {
        id,
        name: col(row, "name")?,
        source_kind: source_kind(row)?,
        source: source_of(id),
        server: col(row, "server_url")?,
        context: col(row, "context_name")?,
        auth: col(row, "auth_kind")?,
        insecure_skip_tls_verify: flag(row, "insecure_skip_tls_verify")?,
        created_at: col(row, "created_at")?,
        created_by: col(row, "created_by")?,
        updated_at: col(row, "updated_at")?,
        assets,
        sync: ClusterSyncStatus {
            state: state.to_string(),
            started_at,
            progress_pods: if started_at.is_some() {
                col(row, "sync_progress_pods")?
            } else {
                None
            },
            last_sync_at: col(row, "last_sync_at")?,
            last_duration_ms: col(row, "last_sync_ms")?,
            last_ok_at: col(row, "last_ok_at")?,
            last_error: col(row, "last_error")?,
            pods: col(row, "last_pods")?,
            added: col(row, "last_added")?,
            updated: col(row, "last_updated")?,
            gone: col(row, "last_gone")?,
        },
    })
}

impl Store {
    /// The key sealing this server's kubeconfigs (created on first use).
    fn sealing_key(&self) -> Result<SealingKey, ClusterError> {
        let path = self.settings.clusters.key_file(&self.settings.database);
        Ok(SealingKey::load_or_create(&path)?)
    }

    /// Non-gone asset counts of the tenant's cluster sources.
    async fn cluster_asset_counts(
        &self,
        tenant: TenantId,
    ) -> Result<HashMap<String, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT source, COUNT(*) AS n FROM assets
             WHERE tenant_id = $1 AND source LIKE 'cluster:%' AND status <> 'gone'
             GROUP BY source",
        )
        .bind(tenant.0)
        .fetch_all(self.db.reader())
        .await?;
        let mut counts = HashMap::with_capacity(rows.len());
        for row in &rows {
            counts.insert(col::<String>(row, "source")?, col::<i64>(row, "n")?);
        }
        Ok(counts)
    }

    /// The tenant's clusters, by id.
    pub async fn list_clusters(&self, tenant: TenantId) -> Result<Vec<ClusterView>, StoreError> {
        let counts = self.cluster_asset_counts(tenant).await?;
        let mut sql = Sql::new("SELECT ");
        sql.push(VIEW_COLUMNS)
            .push(" FROM clusters c WHERE c.tenant_id = ")
            .bind(tenant.0)
            .push(" ORDER BY c.id");
        let rows = sql.build().fetch_all(self.db.reader()).await?;
        rows.iter()
            .map(|row| {
                let id: i64 = col(row, "id")?;
                view_from_row(row, counts.get(&source_of(id)).copied().unwrap_or(0))
            })
            .collect()
    }

    /// One cluster of the tenant.
    pub async fn get_cluster(&self, tenant: TenantId, id: i64) -> Result<ClusterView, StoreError> {
        let mut sql = Sql::new("SELECT ");
        sql.push(VIEW_COLUMNS)
            .push(" FROM clusters c WHERE c.tenant_id = ")
            .bind(tenant.0)
            .push(" AND c.id = ")
            .bind(id);
        let row = sql
            .build()
            .fetch_optional(self.db.reader())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("cluster {id}")))?;
        let assets: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM assets WHERE tenant_id = $1 AND source = $2 AND status <> 'gone'",
        )
        .bind(tenant.0)
        .bind(source_of(id))
        .fetch_one(self.db.reader())
        .await?;
        view_from_row(&row, assets)
    }

    /// Adds a cluster: checks the name and kubeconfig, seals the kubeconfig, audits.
    pub async fn create_cluster(
        &self,
        tenant: TenantId,
        actor: &Actor,
        name: &str,
        kind: SourceKind,
        kubeconfig_text: &str,
    ) -> Result<ClusterView, ClusterError> {
        let name = check_name(name)?;
        let (_, summary) = kubeconfig::parse(kubeconfig_text)?;
        let sealed = self.sealing_key()?.seal(tenant, kubeconfig_text)?;
        let now = self.now();
        let mut tx = self.db.begin_write().await.map_err(ClusterError::from)?;
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM clusters WHERE tenant_id = $1 AND name = $2")
                .bind(tenant.0)
                .bind(name.clone())
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!("a cluster named {name:?} exists")).into());
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO clusters (tenant_id, name, source_kind, kubeconfig_sealed, server_url,
                context_name, auth_kind, insecure_skip_tls_verify, created_at, created_by,
                updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(tenant.0)
        .bind(name.clone())
        .bind(kind.as_str())
        .bind(sealed)
        .bind(summary.server.clone())
        .bind(summary.context.clone())
        .bind(summary.auth)
        .bind(i64::from(summary.insecure_skip_tls_verify))
        .bind(now)
        .bind(actor.0.clone())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "cluster.create",
            &source_of(id),
            serde_json::json!({"name": name, "source_kind": kind.as_str(),
                "server": summary.server, "context": summary.context, "auth": summary.auth}),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(self.get_cluster(tenant, id).await?)
    }

    /// Renames a cluster, changes its kind, or replaces its kubeconfig; audits.
    pub async fn update_cluster(
        &self,
        tenant: TenantId,
        actor: &Actor,
        id: i64,
        update: ClusterUpdate,
    ) -> Result<ClusterView, ClusterError> {
        let name = update.name.as_deref().map(check_name).transpose()?;
        let sealed: Option<(String, KubeconfigSummary)> = match update.kubeconfig.as_deref() {
            None => None,
            Some(text) => {
                let (_, summary) = kubeconfig::parse(text)?;
                Some((self.sealing_key()?.seal(tenant, text)?, summary))
            }
        };
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM clusters WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        if found.is_none() {
            return Err(StoreError::NotFound(format!("cluster {id}")).into());
        }
        let mut details = serde_json::Map::new();
        if let Some(name) = &name {
            let taken: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM clusters WHERE tenant_id = $1 AND name = $2 AND id <> $3",
            )
            .bind(tenant.0)
            .bind(name.clone())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            if taken.is_some() {
                return Err(
                    StoreError::Conflict(format!("a cluster named {name:?} exists")).into(),
                );
            }
            sqlx::query("UPDATE clusters SET name = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(name.clone())
                .bind(tenant.0)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            details.insert("name".into(), name.clone().into());
        }
        if let Some(kind) = update.source_kind {
            sqlx::query("UPDATE clusters SET source_kind = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(kind.as_str())
                .bind(tenant.0)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            details.insert("source_kind".into(), kind.as_str().into());
        }
        if let Some((sealed, summary)) = sealed {
            sqlx::query(
                "UPDATE clusters SET kubeconfig_sealed = $1, server_url = $2, context_name = $3,
                    auth_kind = $4, insecure_skip_tls_verify = $5
                 WHERE tenant_id = $6 AND id = $7",
            )
            .bind(sealed)
            .bind(summary.server.clone())
            .bind(summary.context.clone())
            .bind(summary.auth)
            .bind(i64::from(summary.insecure_skip_tls_verify))
            .bind(tenant.0)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            details.insert(
                "kubeconfig".into(),
                serde_json::json!({"server": summary.server, "context": summary.context,
                    "auth": summary.auth}),
            );
        }
        sqlx::query("UPDATE clusters SET updated_at = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(now)
            .bind(tenant.0)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "cluster.update",
            &source_of(id),
            serde_json::Value::Object(details),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(self.get_cluster(tenant, id).await?)
    }

    /// Removes a cluster and marks its assets gone (metering stops for them). Returns the
    /// number of assets marked gone.
    pub async fn delete_cluster(
        &self,
        tenant: TenantId,
        actor: &Actor,
        id: i64,
    ) -> Result<u64, StoreError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let name: Option<String> =
            sqlx::query_scalar("SELECT name FROM clusters WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(name) = name else {
            return Err(StoreError::NotFound(format!("cluster {id}")));
        };
        sqlx::query("DELETE FROM clusters WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "cluster.delete",
            &source_of(id),
            serde_json::json!({"name": name}),
        )
        .await?;
        tx.commit().await?;
        // No pod of a removed source exists any more: an empty sync marks them all gone.
        let counts = self
            .upsert_assets_from_source(tenant, &source_of(id), Vec::new())
            .await?;
        Ok(counts.gone)
    }

    /// The tenant's clusters with their kubeconfigs opened, by id.
    pub async fn clusters_for_sync(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<Result<ClusterAccess, (i64, String, ClusterError)>>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, source_kind, kubeconfig_sealed FROM clusters
             WHERE tenant_id = $1 ORDER BY id",
        )
        .bind(tenant.0)
        .fetch_all(self.db.reader())
        .await?;
        let key = self.sealing_key();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = col(row, "id")?;
            let name: String = col(row, "name")?;
            let opened = match &key {
                Ok(key) => key
                    .open(tenant, &col::<String>(row, "kubeconfig_sealed")?)
                    .map_err(ClusterError::from),
                Err(err) => Err(ClusterError::Invalid(err.to_string())),
            };
            out.push(match opened {
                Ok(kubeconfig) => Ok(ClusterAccess {
                    id,
                    name,
                    source_kind: source_kind(row)?,
                    kubeconfig,
                }),
                Err(err) => Err((id, name, err)),
            });
        }
        Ok(out)
    }

    /// One cluster of the tenant with its kubeconfig opened.
    pub async fn cluster_access(
        &self,
        tenant: TenantId,
        id: i64,
    ) -> Result<ClusterAccess, ClusterError> {
        let row = sqlx::query(
            "SELECT id, name, source_kind, kubeconfig_sealed FROM clusters
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(self.db.reader())
        .await
        .map_err(StoreError::from)?
        .ok_or_else(|| StoreError::NotFound(format!("cluster {id}")))?;
        let sealed: String = col(&row, "kubeconfig_sealed")?;
        Ok(ClusterAccess {
            id,
            name: col(&row, "name")?,
            source_kind: source_kind(&row)?,
            kubeconfig: self.sealing_key()?.open(tenant, &sealed)?,
        })
    }

    /// Marks a cluster's sync as running, unless another one started after `stale_before`
    /// is still running. False when the cluster is busy (or gone).
    pub async fn claim_cluster_sync(
        &self,
        tenant: TenantId,
        id: i64,
        stale_before: Millis,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let claimed = sqlx::query(
            "UPDATE clusters SET sync_started_at = $1, sync_progress_pods = 0
             WHERE tenant_id = $2 AND id = $3
               AND (sync_started_at IS NULL OR sync_started_at < $4)",
        )
        .bind(now)
        .bind(tenant.0)
        .bind(id)
        .bind(stale_before)
        .execute(self.db.writer())
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Records how many pods the running sync has listed.
    pub async fn set_cluster_sync_progress(
        &self,
        tenant: TenantId,
        id: i64,
        pods: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE clusters SET sync_progress_pods = $1
             WHERE tenant_id = $2 AND id = $3 AND sync_started_at IS NOT NULL",
        )
        .bind(pods)
        .bind(tenant.0)
        .bind(id)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Records the end of a sync. False when the cluster no longer exists.
    pub async fn finish_cluster_sync(
        &self,
        tenant: TenantId,
        id: i64,
        duration_ms: i64,
        outcome: &SyncOutcome,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let done = match outcome {
            SyncOutcome::Ok { pods, counts } => {
                sqlx::query(
                    "UPDATE clusters SET sync_started_at = NULL, sync_progress_pods = NULL,
                    last_sync_at = $1, last_sync_ms = $2, last_sync_ok = 1, last_error = NULL,
                    last_ok_at = $3, last_pods = $4, last_added = $5, last_updated = $6,
                    last_gone = $7
                 WHERE tenant_id = $8 AND id = $9",
                )
                .bind(now)
                .bind(duration_ms)
                .bind(now)
                .bind(i64::try_from(*pods).unwrap_or(i64::MAX))
                .bind(i64::try_from(counts.added).unwrap_or(i64::MAX))
                .bind(i64::try_from(counts.updated).unwrap_or(i64::MAX))
                .bind(i64::try_from(counts.gone).unwrap_or(i64::MAX))
                .bind(tenant.0)
                .bind(id)
                .execute(self.db.writer())
                .await?
            }
            SyncOutcome::Failed { error } => {
                sqlx::query(
                    "UPDATE clusters SET sync_started_at = NULL, sync_progress_pods = NULL,
                    last_sync_at = $1, last_sync_ms = $2, last_sync_ok = 0, last_error = $3
                 WHERE tenant_id = $4 AND id = $5",
                )
                .bind(now)
                .bind(duration_ms)
                .bind(error.chars().take(2000).collect::<String>())
                .bind(tenant.0)
                .bind(id)
                .execute(self.db.writer())
                .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }

    /// Tenants that have at least one cluster (for the periodic sync).
    pub async fn tenants_with_clusters(&self) -> Result<Vec<TenantId>, StoreError> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT DISTINCT tenant_id FROM clusters ORDER BY tenant_id")
                .fetch_all(self.db.reader())
                .await?;
        Ok(ids.into_iter().map(TenantId).collect())
    }

    /// Stores the Pod documents a sync of `source` read on the assets they describe, writing
    /// only those that changed (or were last written by an agent). Returns how many were
    /// written.
    pub async fn store_cluster_pod_documents(
        &self,
        tenant: TenantId,
        source: &str,
        documents: Vec<(String, String)>,
    ) -> Result<u64, StoreError> {
        let now = self.now();
        let rows = sqlx::query(
            "SELECT pod_uid, pod_spec, pod_spec_source FROM assets
             WHERE tenant_id = $1 AND source = $2",
        )
        .bind(tenant.0)
        .bind(source.to_string())
        .fetch_all(self.db.reader())
        .await?;
        let mut stored: HashMap<String, (Option<String>, Option<String>)> =
            HashMap::with_capacity(rows.len());
        for row in &rows {
            stored.insert(
                col(row, "pod_uid")?,
                (col(row, "pod_spec")?, col(row, "pod_spec_source")?),
            );
        }
        drop(rows);
        let changed: Vec<(String, String)> = documents
            .into_iter()
            .filter(|(uid, document)| match stored.get(uid) {
                None => false,
                Some((text, from)) => {
                    text.as_deref() != Some(document.as_str()) || from.as_deref() != Some("cluster")
                }
            })
            .collect();
        if changed.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db.begin_write().await?;
        for (uid, document) in &changed {
            sqlx::query(
                "UPDATE assets SET pod_spec = $1, pod_spec_source = 'cluster',
                    pod_spec_observed_at = $2
                 WHERE tenant_id = $3 AND pod_uid = $4 AND source = $5",
            )
            .bind(document.clone())
            .bind(now)
            .bind(tenant.0)
            .bind(uid.clone())
            .bind(source.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(changed.len() as u64)
    }

    /// The Pod document stored on an asset of the tenant.
    pub async fn asset_pod_document(
        &self,
        tenant: TenantId,
        asset: i64,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT pod_spec FROM assets WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0)
                .bind(asset)
                .fetch_optional(self.db.reader())
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("asset {asset}")))?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }
}
