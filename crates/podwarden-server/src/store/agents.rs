//! Agents: enrolment with a tenant enrolment token (creating or attaching to the asset),
//! per-agent credentials, and heartbeats (last seen, online runs for metering).

use super::assets::{NewAsset, agent_asset_fields, auto_add, insert_one};
use super::usage::{FlushScope, flush, meter_inputs, tenant_meter_from_row};
use super::{Actor, Store, TenantId, audit, col, flag};
use crate::assets::{InstanceType, SourceKind};
use crate::auth::{AgentPrincipal, EnrollmentPrincipal, SecretKind, generate_secret, hash_secret};
use crate::error::StoreError;
use podwarden_api::agent::{EnrollRequest, EnrollResponse, HeartbeatResponse};

/// Longest accepted identity field (pod names are ≤ 253 characters).
const MAX_FIELD: usize = 253;

fn check_field(name: &str, value: &str) -> Result<(), StoreError> {
    if value.len() > MAX_FIELD {
        return Err(StoreError::Invalid(format!(
            "{name} is longer than {MAX_FIELD} bytes"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{name} must not contain control characters"
        )));
    }
    Ok(())
}

impl Store {
    /// Enrols an agent: finds the asset by pod UID (or `host:<hostname>` in host mode) or
    /// creates it (bound when auto-add is on), revokes earlier credentials of that asset's
    /// agents, and returns a new credential. Enrolment counts as the first heartbeat.
    pub async fn enroll_agent(
        &self,
        enrollment: EnrollmentPrincipal,
        request: &EnrollRequest,
    ) -> Result<EnrollResponse, StoreError> {
        for (name, value) in [
            ("pod_name", &request.pod_name),
            ("pod_namespace", &request.pod_namespace),
            ("pod_uid", &request.pod_uid),
            ("cluster_hint", &request.cluster_hint),
            ("container_id", &request.container_id),
            ("agent_version", &request.agent_version),
            ("hostname", &request.hostname),
        ] {
            check_field(name, value)?;
        }
        if request.agent_version.trim().is_empty() {
            return Err(StoreError::Invalid("agent_version is empty".to_string()));
        }
        let uid = if !request.pod_uid.trim().is_empty() {
            request.pod_uid.trim().to_string()
        } else if !request.hostname.trim().is_empty() {
            format!("host:{}", request.hostname.trim())
        } else {
            return Err(StoreError::Invalid(
                "the agent identity needs a pod_uid (sidecar) or a hostname (host mode)"
                    .to_string(),
            ));
        };
        let tenant = enrollment.tenant;
        let now = self.now();
        let window = self.settings.online_window_ms();
        let credential =
            generate_secret(SecretKind::Agent).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut tx = self.db.begin_write().await?;
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM assets WHERE tenant_id = $1 AND pod_uid = $2")
                .bind(tenant.0)
                .bind(uid.clone())
                .fetch_optional(&mut *tx)
                .await?;
        let (asset_id, created) = match existing {
            Some(id) => {
                let meter = super::usage::load_tenant_meter(&mut tx, tenant).await?;
                flush(
                    &mut tx,
                    tenant,
                    &meter,
                    now,
                    window,
                    FlushScope::Assets(&[id]),
                )
                .await?;
                (id, false)
            }
            None => {
                let name = if request.pod_name.trim().is_empty() {
                    request.hostname.trim()
                } else {
                    request.pod_name.trim()
                };
                let fields = agent_asset_fields(
                    self,
                    request.source_kind.unwrap_or(SourceKind::ContainerCompute),
                    request.cluster_hint.trim(),
                    request.pod_namespace.trim(),
                    name,
                );
                let bound = auto_add(&mut tx, tenant).await? && fields.protectable();
                let id = insert_one(
                    &mut tx,
                    tenant,
                    now,
                    NewAsset {
                        uid: uid.clone(),
                        fields,
                        bound,
                    },
                )
                .await?;
                (id, true)
            }
        };
        sqlx::query(
            "UPDATE agents SET revoked_at = $1 WHERE tenant_id = $2 AND asset_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(tenant.0)
        .bind(asset_id)
        .execute(&mut *tx)
        .await?;
        let agent_id: i64 = sqlx::query_scalar(
            "INSERT INTO agents (tenant_id, asset_id, credential_hash, enrollment_token_id,
                 agent_version, mode, hostname, container_id, cluster_hint, enrolled_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(tenant.0)
        .bind(asset_id)
        .bind(hash_secret(&credential))
        .bind(enrollment.enrollment_token_id)
        .bind(request.agent_version.trim().to_string())
        .bind(request.mode.as_str())
        .bind(request.hostname.trim().to_string())
        .bind(request.container_id.trim().to_string())
        .bind(request.cluster_hint.trim().to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        // Enrolment is the first heartbeat; a new online run starts unless one is going on.
        sqlx::query(
            "UPDATE assets SET agent_id = $1, agent_version = $2, agent_mode = $3,
                 online_since = CASE WHEN last_heartbeat_at IS NOT NULL AND last_heartbeat_at <= $4
                                      AND $4 < last_heartbeat_at + $5 THEN online_since ELSE $4 END,
                 last_heartbeat_at = $4,
                 status = CASE WHEN status = 'gone' THEN 'running' ELSE status END,
                 gone_at = CASE WHEN status = 'gone' THEN NULL ELSE gone_at END,
                 updated_at = $4
             WHERE tenant_id = $6 AND id = $7",
        )
        .bind(agent_id)
        .bind(request.agent_version.trim().to_string())
        .bind(request.mode.as_str())
        .bind(now)
        .bind(window)
        .bind(tenant.0)
        .bind(asset_id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            &Actor(format!(
                "enrollment_token:{}",
                enrollment.enrollment_token_id
            )),
            "agent.enroll",
            &format!("asset:{asset_id}"),
            serde_json::json!({
                "agent_id": agent_id,
                "asset_created": created,
                "mode": request.mode.as_str(),
                "agent_version": request.agent_version,
                "hostname": request.hostname,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(EnrollResponse {
            agent_id,
            asset_id,
            credential,
            heartbeat_interval_secs: self.settings.heartbeat_interval_secs,
            online_window_secs: self.settings.online_window_secs,
            wire_version: podwarden_api::WIRE_VERSION,
        })
    }

    /// The agent behind a credential, if it is live.
    pub async fn authenticate_agent(
        &self,
        credential: &str,
    ) -> Result<Option<AgentPrincipal>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, asset_id FROM agents WHERE credential_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash_secret(credential))
        .fetch_optional(self.db.reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(AgentPrincipal {
            tenant: TenantId(col(&row, "tenant_id")?),
            agent_id: col(&row, "id")?,
            asset_id: col(&row, "asset_id")?,
        }))
    }

    /// Records a heartbeat of `agent` (its own asset only). A heartbeat after a gap (none
    /// within the online window) first flushes the asset's usage, then starts a new online
    /// run.
    pub async fn heartbeat(
        &self,
        agent: AgentPrincipal,
        agent_version: &str,
    ) -> Result<HeartbeatResponse, StoreError> {
        check_field("agent_version", agent_version)?;
        let tenant = agent.tenant;
        let now = self.now();
        let window = self.settings.online_window_ms();
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(
            "SELECT a.id AS id, a.accrued_until AS accrued_until, a.bound AS bound,
                    a.status AS status, a.protectable AS protectable,
                    a.online_since AS online_since, a.last_heartbeat_at AS last_heartbeat_at,
                    a.effective_millicores AS effective_millicores,
                    a.instance_type AS instance_type,
                    p.enabled AS enabled, p.paused AS paused, p.overdue AS overdue,
                    p.price_nano AS price_nano, p.timezone AS timezone
             FROM assets a JOIN protection p ON p.tenant_id = a.tenant_id
             WHERE a.tenant_id = $1 AND a.id = $2",
        )
        .bind(tenant.0)
        .bind(agent.asset_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("asset {}", agent.asset_id)))?;
        let meter = tenant_meter_from_row(&row)?;
        let inputs = meter_inputs(&row, &meter)?;
        let continuing = inputs
            .last_heartbeat
            .is_some_and(|last| last <= now && now < last.saturating_add(window));
        if !continuing {
            flush(
                &mut tx,
                tenant,
                &meter,
                now,
                window,
                FlushScope::Assets(&[agent.asset_id]),
            )
            .await?;
        }
        sqlx::query(
            "UPDATE assets SET last_heartbeat_at = $1, agent_version = $2,
                 online_since = CASE WHEN $3 = 1 THEN online_since ELSE $1 END
             WHERE tenant_id = $4 AND id = $5",
        )
        .bind(now)
        .bind(agent_version.trim().to_string())
        .bind(i64::from(continuing))
        .bind(tenant.0)
        .bind(agent.asset_id)
        .execute(&mut *tx)
        .await?;
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM agent_commands WHERE tenant_id = $1 AND asset_id = $2 AND status = 'pending'",
        )
        .bind(tenant.0)
        .bind(agent.asset_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let instance_type: String = col(&row, "instance_type")?;
        let instance_type = InstanceType::parse(&instance_type)
            .ok_or_else(|| StoreError::Corrupt(format!("instance_type {instance_type:?}")))?;
        let status: String = col(&row, "status")?;
        let protectable: String = col(&row, "protectable")?;
        Ok(HeartbeatResponse {
            asset_id: agent.asset_id,
            heartbeat_interval_secs: self.settings.heartbeat_interval_secs,
            protection_active: meter.active
                && flag(&row, "bound")?
                && status != "gone"
                && protectable != "no",
            capabilities: instance_type.capabilities(),
            pending_commands: u64::try_from(pending).unwrap_or(0),
            server_time_ms: now,
        })
    }
}
