//! Assets in the store: the sync from a source (`upsert_assets_from_source`), listing with
//! filters and paging, and the detail view.

use super::usage::{FlushScope, flush, load_tenant_meter};
use super::{Actor, Sql, Store, TenantId, audit, col, flag};
use crate::assets::{
    AssetStatus, InstanceType, ObservedPod, Protectable, SourceKind, SyncCounts,
    classify_instance_type, effective_millicores, protectable_verdict,
};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::store::audit::{Page, Paging};
use podwarden_api::agent::Capabilities;
use serde::Serialize;
use sqlx::any::AnyRow;
use std::collections::{BTreeMap, HashMap};

/// The agent side of an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgentView {
    /// `online` (heartbeat within the window) or `offline`.
    pub status: String,
    /// Why offline: `never installed` or `no heartbeat since <time>`.
    pub reason: Option<String>,
    pub agent_id: Option<i64>,
    pub version: Option<String>,
    pub mode: Option<String>,
    pub last_heartbeat_at: Option<i64>,
}

/// An asset as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssetView {
    pub id: i64,
    /// `cluster:<id>` for a cluster sync, `agent` for a self-registered agent.
    pub source: String,
    pub source_kind: SourceKind,
    pub instance_type: InstanceType,
    pub cluster: String,
    pub namespace: String,
    pub pod_name: String,
    pub pod_uid: String,
    pub owner_kind: Option<String>,
    pub owner_name: Option<String>,
    pub node_name: Option<String>,
    pub runtime_class: Option<String>,
    pub images: Vec<String>,
    pub cpu_limit_millicores: Option<i64>,
    pub cpu_request_millicores: Option<i64>,
    /// Cores metered ×1000: limit, else request, else the configured default.
    pub effective_millicores: i64,
    pub annotations: BTreeMap<String, String>,
    pub status: AssetStatus,
    pub restart_count: i64,
    pub pod_created_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub gone_at: Option<i64>,
    /// Bound to the protection quota.
    pub bound: bool,
    /// Metered right now: protection active, bound, agent online, not gone, protectable.
    pub consumes_quota: bool,
    pub protectable: Protectable,
    pub protectable_reason: Option<String>,
    pub agent: AgentView,
    pub last_vulnerability_scan_at: Option<i64>,
    pub last_baseline_check_at: Option<i64>,
    pub alert_count: i64,
    pub vulnerability_count: i64,
    pub baseline_risk_count: i64,
    /// `at_risk` when any of the three counts is non-zero, else `safe`.
    pub risk: String,
}

/// An asset's detail: the view plus the protections its instance type gets.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssetDetail {
    #[serde(flatten)]
    pub asset: AssetView,
    pub capabilities: Capabilities,
    /// Inventories, vulnerability database state, pod spec, agent status, losses.
    pub findings: super::uploads::AssetFindings,
}

/// Filters of `GET /api/v1/assets`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetFilter {
    /// A source kind (`k8s-serverless`, ...) or a source id (`cluster:3`, `agent`).
    pub source: Option<String>,
    pub instance_type: Option<InstanceType>,
    /// `Some(true)` online, `Some(false)` offline.
    pub agent_online: Option<bool>,
    pub bound: Option<bool>,
    /// `Some(true)` at risk, `Some(false)` safe.
    pub at_risk: Option<bool>,
    pub status: Option<AssetStatus>,
    /// Substring of the pod name or namespace (case-insensitive).
    pub q: Option<String>,
}

const VIEW_COLUMNS: &str =
    "id, source, source_kind, instance_type, cluster, namespace, pod_name, pod_uid,
    owner_kind, owner_name, node_name, runtime_class, images, cpu_limit_millicores,
    cpu_request_millicores, effective_millicores, annotations, status, restart_count,
    pod_created_at, created_at, updated_at, gone_at, bound, protectable, protectable_reason,
    agent_id, agent_version, agent_mode, last_heartbeat_at, last_vulnerability_scan_at,
    last_baseline_check_at, alert_count, vulnerability_count, baseline_risk_count";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

/// Agent status from the last heartbeat.
pub fn agent_status(
    last_heartbeat: Option<Millis>,
    now: Millis,
    window_ms: Millis,
) -> (bool, Option<String>) {
    match last_heartbeat {
        None => (false, Some("never installed".to_string())),
        Some(at) if now < at.saturating_add(window_ms) => (true, None),
        Some(at) => {
            let when = jiff::Timestamp::from_millisecond(at)
                .map(|t| t.to_string())
                .unwrap_or_else(|_| at.to_string());
            (false, Some(format!("no heartbeat since {when}")))
        }
    }
}

fn view_from_row(
    row: &AnyRow,
    now: Millis,
    window_ms: Millis,
    protection_active: bool,
) -> Result<AssetView, StoreError> {
    let source_kind: String = col(row, "source_kind")?;
    let instance_type: String = col(row, "instance_type")?;
    let status: String = col(row, "status")?;
    let protectable: String = col(row, "protectable")?;
    let images: String = col(row, "images")?;
    let annotations: String = col(row, "annotations")?;
    let last_heartbeat: Option<i64> = col(row, "last_heartbeat_at")?;
    let (online, reason) = agent_status(last_heartbeat, now, window_ms);
    let status = AssetStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?;
    let protectable =
        Protectable::parse(&protectable).ok_or_else(|| corrupt("protectable", &protectable))?;
    let bound = flag(row, "bound")?;
    let counts: [i64; 3] = [
        col(row, "alert_count")?,
        col(row, "vulnerability_count")?,
        col(row, "baseline_risk_count")?,
    ];
    Ok(AssetView {
        id: col(row, "id")?,
        source: col(row, "source")?,
        source_kind: SourceKind::parse(&source_kind)
            .ok_or_else(|| corrupt("source_kind", &source_kind))?,
        instance_type: InstanceType::parse(&instance_type)
            .ok_or_else(|| corrupt("instance_type", &instance_type))?,
        cluster: col(row, "cluster")?,
        namespace: col(row, "namespace")?,
        pod_name: col(row, "pod_name")?,
        pod_uid: col(row, "pod_uid")?,
        owner_kind: col(row, "owner_kind")?,
        owner_name: col(row, "owner_name")?,
        node_name: col(row, "node_name")?,
        runtime_class: col(row, "runtime_class")?,
        images: serde_json::from_str(&images).map_err(|_| corrupt("images", &images))?,
        cpu_limit_millicores: col(row, "cpu_limit_millicores")?,
        cpu_request_millicores: col(row, "cpu_request_millicores")?,
        effective_millicores: col(row, "effective_millicores")?,
        annotations: serde_json::from_str(&annotations)
            .map_err(|_| corrupt("annotations", &annotations))?,
        status,
        restart_count: col(row, "restart_count")?,
        pod_created_at: col(row, "pod_created_at")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        gone_at: col(row, "gone_at")?,
        bound,
        consumes_quota: protection_active
            && bound
            && online
            && status != AssetStatus::Gone
            && protectable != Protectable::No,
        protectable,
        protectable_reason: col(row, "protectable_reason")?,
        agent: AgentView {
            status: if online { "online" } else { "offline" }.to_string(),
            reason,
            agent_id: col(row, "agent_id")?,
            version: col(row, "agent_version")?,
            mode: col(row, "agent_mode")?,
            last_heartbeat_at: last_heartbeat,
        },
        last_vulnerability_scan_at: col(row, "last_vulnerability_scan_at")?,
        last_baseline_check_at: col(row, "last_baseline_check_at")?,
        alert_count: counts[0],
        vulnerability_count: counts[1],
        baseline_risk_count: counts[2],
        risk: if counts.iter().any(|c| *c > 0) {
            "at_risk"
        } else {
            "safe"
        }
        .to_string(),
    })
}

/// The stored fields a sync compares and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SyncedFields {
    source: String,
    source_kind: String,
    instance_type: String,
    cluster: String,
    namespace: String,
    pod_name: String,
    owner_kind: Option<String>,
    owner_name: Option<String>,
    node_name: Option<String>,
    runtime_class: Option<String>,
    images: String,
    cpu_limit_millicores: Option<i64>,
    cpu_request_millicores: Option<i64>,
    effective_millicores: i64,
    annotations: String,
    status: String,
    restart_count: i64,
    pod_created_at: Option<i64>,
    protectable: String,
    protectable_reason: Option<String>,
}

impl SyncedFields {
    fn from_row(row: &AnyRow) -> Result<SyncedFields, StoreError> {
        Ok(SyncedFields {
            source: col(row, "source")?,
            source_kind: col(row, "source_kind")?,
            instance_type: col(row, "instance_type")?,
            cluster: col(row, "cluster")?,
            namespace: col(row, "namespace")?,
            pod_name: col(row, "pod_name")?,
            owner_kind: col(row, "owner_kind")?,
            owner_name: col(row, "owner_name")?,
            node_name: col(row, "node_name")?,
            runtime_class: col(row, "runtime_class")?,
            images: col(row, "images")?,
            cpu_limit_millicores: col(row, "cpu_limit_millicores")?,
            cpu_request_millicores: col(row, "cpu_request_millicores")?,
            effective_millicores: col(row, "effective_millicores")?,
            annotations: col(row, "annotations")?,
            status: col(row, "status")?,
            restart_count: col(row, "restart_count")?,
            pod_created_at: col(row, "pod_created_at")?,
            protectable: col(row, "protectable")?,
            protectable_reason: col(row, "protectable_reason")?,
        })
    }

    fn from_pod(store: &Store, source: &str, pod: &ObservedPod) -> SyncedFields {
        let settings = store.settings();
        let instance_type =
            classify_instance_type(pod.runtime_class.as_deref(), &pod.annotations, settings);
        let millicores = effective_millicores(
            pod.cpu_limit_millicores,
            pod.cpu_request_millicores,
            settings.default_millicores,
        );
        let (protectable, reason) = protectable_verdict(pod.source_kind, instance_type, millicores);
        let status = if pod.status == AssetStatus::Gone {
            AssetStatus::Unknown
        } else {
            pod.status
        };
        SyncedFields {
            source: source.to_string(),
            source_kind: pod.source_kind.as_str().to_string(),
            instance_type: instance_type.as_str().to_string(),
            cluster: pod.cluster.clone(),
            namespace: pod.namespace.clone(),
            pod_name: pod.name.clone(),
            owner_kind: pod.owner_kind.clone(),
            owner_name: pod.owner_name.clone(),
            node_name: pod.node_name.clone(),
            runtime_class: pod.runtime_class.clone(),
            images: serde_json::to_string(&pod.images).unwrap_or_else(|_| "[]".to_string()),
            cpu_limit_millicores: pod.cpu_limit_millicores,
            cpu_request_millicores: pod.cpu_request_millicores,
            effective_millicores: millicores,
            annotations: serde_json::to_string(&pod.annotations)
                .unwrap_or_else(|_| "{}".to_string()),
            status: status.as_str().to_string(),
            restart_count: pod.restart_count.max(0),
            pod_created_at: pod.created_at_ms,
            protectable: protectable.as_str().to_string(),
            protectable_reason: reason.map(str::to_string),
        }
    }
}

/// Number of columns [`insert_assets`] writes per row.
const INSERT_COLUMNS: &str =
    "tenant_id, source, source_kind, instance_type, cluster, namespace, pod_name,
    pod_uid, owner_kind, owner_name, node_name, runtime_class, images, cpu_limit_millicores,
    cpu_request_millicores, effective_millicores, annotations, status, restart_count,
    pod_created_at, created_at, updated_at, bound, protectable, protectable_reason, accrued_until";

/// A new asset row.
pub(crate) struct NewAsset {
    pub uid: String,
    pub fields: SyncedFieldsPublic,
    pub bound: bool,
}

/// Fields of a new asset (crate-internal constructor for agents and syncs).
pub(crate) struct SyncedFieldsPublic(SyncedFields);

async fn insert_assets(
    conn: &mut sqlx::AnyConnection,
    tenant: TenantId,
    now: Millis,
    rows: &[NewAsset],
) -> Result<(), StoreError> {
    // 50 rows × 26 columns per statement: larger statements get slower per row on SQLite
    // (10,000 pods: 0.6 s at 50 rows, 3.9 s at 400).
    for chunk in rows.chunks(50) {
        let mut sql = Sql::for_connection(conn, "INSERT INTO assets (");
        sql.push(INSERT_COLUMNS).push(") VALUES ");
        for (i, new) in chunk.iter().enumerate() {
            let f = &new.fields.0;
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(tenant.0)
                .push(", ")
                .bind(f.source.clone())
                .push(", ")
                .bind(f.source_kind.clone())
                .push(", ")
                .bind(f.instance_type.clone())
                .push(", ")
                .bind(f.cluster.clone())
                .push(", ")
                .bind(f.namespace.clone())
                .push(", ")
                .bind(f.pod_name.clone())
                .push(", ")
                .bind(new.uid.clone())
                .push(", ")
                .bind(f.owner_kind.clone())
                .push(", ")
                .bind(f.owner_name.clone())
                .push(", ")
                .bind(f.node_name.clone())
                .push(", ")
                .bind(f.runtime_class.clone())
                .push(", ")
                .bind(f.images.clone())
                .push(", ")
                .bind(f.cpu_limit_millicores)
                .push(", ")
                .bind(f.cpu_request_millicores)
                .push(", ")
                .bind(f.effective_millicores)
                .push(", ")
                .bind(f.annotations.clone())
                .push(", ")
                .bind(f.status.clone())
                .push(", ")
                .bind(f.restart_count)
                .push(", ")
                .bind(f.pod_created_at)
                .push(", ")
                .bind(now)
                .push(", ")
                .bind(now)
                .push(", ")
                .bind(i64::from(new.bound))
                .push(", ")
                .bind(f.protectable.clone())
                .push(", ")
                .bind(f.protectable_reason.clone())
                .push(", ")
                .bind(now)
                .push(")");
        }
        sql.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn update_synced(
    conn: &mut sqlx::AnyConnection,
    tenant: TenantId,
    id: i64,
    f: &SyncedFields,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE assets SET source = $1, source_kind = $2, instance_type = $3, cluster = $4,
            namespace = $5, pod_name = $6, owner_kind = $7, owner_name = $8, node_name = $9,
            runtime_class = $10, images = $11, cpu_limit_millicores = $12,
            cpu_request_millicores = $13, effective_millicores = $14, annotations = $15,
            status = $16, restart_count = $17, pod_created_at = $18, protectable = $19,
            protectable_reason = $20, updated_at = $21, gone_at = NULL,
            bound = CASE WHEN $22 = 'no' THEN 0 ELSE bound END
         WHERE tenant_id = $23 AND id = $24",
    )
    .bind(f.source.clone())
    .bind(f.source_kind.clone())
    .bind(f.instance_type.clone())
    .bind(f.cluster.clone())
    .bind(f.namespace.clone())
    .bind(f.pod_name.clone())
    .bind(f.owner_kind.clone())
    .bind(f.owner_name.clone())
    .bind(f.node_name.clone())
    .bind(f.runtime_class.clone())
    .bind(f.images.clone())
    .bind(f.cpu_limit_millicores)
    .bind(f.cpu_request_millicores)
    .bind(f.effective_millicores)
    .bind(f.annotations.clone())
    .bind(f.status.clone())
    .bind(f.restart_count)
    .bind(f.pod_created_at)
    .bind(f.protectable.clone())
    .bind(f.protectable_reason.clone())
    .bind(now)
    .bind(f.protectable.clone())
    .bind(tenant.0)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the tenant binds new assets automatically.
pub(crate) async fn auto_add(
    conn: &mut sqlx::AnyConnection,
    tenant: TenantId,
) -> Result<bool, StoreError> {
    let value: i64 = sqlx::query_scalar("SELECT auto_add FROM protection WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("tenant {tenant}")))?;
    Ok(value == 1)
}

/// Fields of an asset an agent registers by itself (no cluster sync has seen it).
pub(crate) fn agent_asset_fields(
    store: &Store,
    source_kind: SourceKind,
    cluster: &str,
    namespace: &str,
    name: &str,
) -> SyncedFieldsPublic {
    let millicores = store.settings().default_millicores;
    let (protectable, reason) =
        protectable_verdict(source_kind, InstanceType::Standard, millicores);
    SyncedFieldsPublic(SyncedFields {
        source: "agent".to_string(),
        source_kind: source_kind.as_str().to_string(),
        instance_type: InstanceType::Standard.as_str().to_string(),
        cluster: cluster.to_string(),
        namespace: namespace.to_string(),
        pod_name: name.to_string(),
        owner_kind: None,
        owner_name: None,
        node_name: None,
        runtime_class: None,
        images: "[]".to_string(),
        cpu_limit_millicores: None,
        cpu_request_millicores: None,
        effective_millicores: millicores,
        annotations: "{}".to_string(),
        status: AssetStatus::Running.as_str().to_string(),
        restart_count: 0,
        pod_created_at: None,
        protectable: protectable.as_str().to_string(),
        protectable_reason: reason.map(str::to_string),
    })
}

impl SyncedFieldsPublic {
    /// Whether these fields make a protectable asset.
    pub(crate) fn protectable(&self) -> bool {
        self.0.protectable != Protectable::No.as_str()
    }
}

/// Inserts one asset and returns its id.
pub(crate) async fn insert_one(
    conn: &mut sqlx::AnyConnection,
    tenant: TenantId,
    now: Millis,
    new: NewAsset,
) -> Result<i64, StoreError> {
    let uid = new.uid.clone();
    insert_assets(conn, tenant, now, std::slice::from_ref(&new)).await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM assets WHERE tenant_id = $1 AND pod_uid = $2")
        .bind(tenant.0)
        .bind(uid)
        .fetch_one(conn)
        .await?;
    Ok(id)
}

impl Store {
    /// Brings the tenant's assets from `source` (e.g. `cluster:3`) in line with what the
    /// source reports: new pods are added (bound when auto-add is on), changed or restarted
    /// ones updated (an asset an agent registered is adopted by the source), pods of this
    /// source no longer reported are marked gone. One transaction; metering is flushed first.
    pub async fn upsert_assets_from_source(
        &self,
        tenant: TenantId,
        source: &str,
        pods: Vec<ObservedPod>,
    ) -> Result<SyncCounts, StoreError> {
        if source.is_empty() || source == "agent" {
            return Err(StoreError::Invalid(format!(
                "{source:?} cannot be a sync source name"
            )));
        }
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let meter = load_tenant_meter(&mut tx, tenant).await?;
        flush(
            &mut tx,
            tenant,
            &meter,
            now,
            self.settings.online_window_ms(),
            FlushScope::All,
        )
        .await?;
        let auto_add = auto_add(&mut tx, tenant).await?;

        let mut sql = Sql::new(
            "SELECT id, pod_uid, source, source_kind, instance_type, cluster, namespace, pod_name,
                owner_kind, owner_name, node_name, runtime_class, images, cpu_limit_millicores,
                cpu_request_millicores, effective_millicores, annotations, status, restart_count,
                pod_created_at, protectable, protectable_reason
             FROM assets WHERE tenant_id = ",
        );
        sql.bind(tenant.0);
        let rows = sql.build().fetch_all(&mut *tx).await?;
        let mut existing: HashMap<String, (i64, SyncedFields)> = HashMap::with_capacity(rows.len());
        for row in &rows {
            existing.insert(
                col(row, "pod_uid")?,
                (col(row, "id")?, SyncedFields::from_row(row)?),
            );
        }

        let mut observed: BTreeMap<String, ObservedPod> = BTreeMap::new();
        for pod in pods {
            if !pod.uid.is_empty() {
                observed.insert(pod.uid.clone(), pod);
            }
        }
        let mut counts = SyncCounts::default();
        let mut inserts = Vec::new();
        for (uid, pod) in &observed {
            let wanted = SyncedFields::from_pod(self, source, pod);
            match existing.get(uid) {
                Some((id, current)) => {
                    if *current != wanted {
                        update_synced(&mut tx, tenant, *id, &wanted, now).await?;
                        counts.updated += 1;
                    }
                }
                None => {
                    let bound = auto_add && wanted.protectable != Protectable::No.as_str();
                    inserts.push(NewAsset {
                        uid: uid.clone(),
                        fields: SyncedFieldsPublic(wanted),
                        bound,
                    });
                }
            }
        }
        counts.added = inserts.len() as u64;
        insert_assets(&mut tx, tenant, now, &inserts).await?;

        let vanished: Vec<i64> = existing
            .iter()
            .filter(|(uid, (_, f))| {
                f.source == source && f.status != "gone" && !observed.contains_key(*uid)
            })
            .map(|(_, (id, _))| *id)
            .collect();
        for chunk in vanished.chunks(500) {
            let mut update =
                Sql::for_connection(&tx, "UPDATE assets SET status = 'gone', gone_at = ");
            update
                .bind(now)
                .push(", updated_at = ")
                .bind(now)
                .push(" WHERE tenant_id = ")
                .bind(tenant.0)
                .push(" AND id IN (");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    update.push(", ");
                }
                update.bind(*id);
            }
            update.push(")");
            update.build().execute(&mut *tx).await?;
        }
        counts.gone = vanished.len() as u64;
        audit::record(
            &mut tx,
            tenant,
            now,
            &Actor::system(),
            "assets.sync",
            &format!("source:{source}"),
            serde_json::json!({"added": counts.added, "updated": counts.updated, "gone": counts.gone}),
        )
        .await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// One page of the tenant's assets matching `filter`, ordered by id.
    pub async fn list_assets(
        &self,
        tenant: TenantId,
        filter: &AssetFilter,
        paging: Paging,
    ) -> Result<Page<AssetView>, StoreError> {
        let now = self.now();
        let window = self.settings.online_window_ms();
        let active = self.protection(tenant).await?.active;
        let build = |select: &str| {
            let mut sql = Sql::new(select);
            sql.push(" FROM assets WHERE tenant_id = ").bind(tenant.0);
            if let Some(source) = &filter.source {
                match SourceKind::parse(source) {
                    Some(kind) => sql
                        .push(" AND source_kind = ")
                        .bind(kind.as_str().to_string()),
                    None => sql.push(" AND source = ").bind(source.clone()),
                };
            }
            if let Some(kind) = filter.instance_type {
                sql.push(" AND instance_type = ")
                    .bind(kind.as_str().to_string());
            }
            if let Some(status) = filter.status {
                sql.push(" AND status = ").bind(status.as_str().to_string());
            }
            if let Some(bound) = filter.bound {
                sql.push(" AND bound = ").bind(i64::from(bound));
            }
            match filter.agent_online {
                Some(true) => {
                    sql.push(" AND last_heartbeat_at IS NOT NULL AND last_heartbeat_at > ")
                        .bind(now - window);
                }
                Some(false) => {
                    sql.push(" AND (last_heartbeat_at IS NULL OR last_heartbeat_at <= ")
                        .bind(now - window)
                        .push(")");
                }
                None => {}
            }
            match filter.at_risk {
                Some(true) => {
                    sql.push(" AND (alert_count + vulnerability_count + baseline_risk_count) > 0");
                }
                Some(false) => {
                    sql.push(" AND (alert_count + vulnerability_count + baseline_risk_count) = 0");
                }
                None => {}
            }
            if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
                sql.push(" AND ").push_contains_any(
                    self.db.backend(),
                    &["pod_name", "namespace"],
                    q,
                );
            }
            sql
        };
        let total: i64 = {
            let row = build("SELECT COUNT(*) AS n")
                .build()
                .fetch_one(self.db.reader())
                .await?;
            col(&row, "n")?
        };
        let mut sql = build(&format!("SELECT {VIEW_COLUMNS}"));
        sql.push(" ORDER BY id LIMIT ")
            .bind(i64::from(paging.per_page))
            .push(" OFFSET ")
            .bind(paging.offset());
        let rows = sql.build().fetch_all(self.db.reader()).await?;
        let items = rows
            .iter()
            .map(|row| view_from_row(row, now, window, active))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::exact(items, paging, total))
    }

    /// One of the tenant's assets, with its capabilities.
    pub async fn get_asset(
        &self,
        tenant: TenantId,
        asset_id: i64,
    ) -> Result<AssetDetail, StoreError> {
        let now = self.now();
        let active = self.protection(tenant).await?.active;
        let mut sql = Sql::new(&format!(
            "SELECT {VIEW_COLUMNS} FROM assets WHERE tenant_id = "
        ));
        sql.bind(tenant.0).push(" AND id = ").bind(asset_id);
        let row = sql
            .build()
            .fetch_optional(self.db.reader())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("asset {asset_id}")))?;
        let asset = view_from_row(&row, now, self.settings.online_window_ms(), active)?;
        let capabilities = asset.instance_type.capabilities();
        let findings = self.asset_findings(tenant, asset_id).await?;
        Ok(AssetDetail {
            asset,
            capabilities,
            findings,
        })
    }

    /// Counts of the tenant's assets by status and of online agents (for metrics and the
    /// overview). `tenant = None` counts every tenant (operator metrics only).
    pub async fn asset_stats(
        &self,
        tenant: Option<TenantId>,
    ) -> Result<(BTreeMap<String, i64>, i64), StoreError> {
        let now = self.now();
        let window = self.settings.online_window_ms();
        let mut sql = Sql::new("SELECT status, COUNT(*) AS n FROM assets");
        if let Some(tenant) = tenant {
            sql.push(" WHERE tenant_id = ").bind(tenant.0);
        }
        sql.push(" GROUP BY status");
        let rows = sql.build().fetch_all(self.db.reader()).await?;
        let mut by_status = BTreeMap::new();
        for row in &rows {
            by_status.insert(col::<String>(row, "status")?, col::<i64>(row, "n")?);
        }
        let mut online = Sql::new("SELECT COUNT(*) AS n FROM assets WHERE last_heartbeat_at > ");
        online.bind(now - window);
        if let Some(tenant) = tenant {
            online.push(" AND tenant_id = ").bind(tenant.0);
        }
        let row = online.build().fetch_one(self.db.reader()).await?;
        Ok((by_status, col(&row, "n")?))
    }
}
