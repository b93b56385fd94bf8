//! Commands for agents in the store: queueing (quarantine, kill, rescan), delivery to the
//! agent of the asset (`GET /agent/v1/commands`, with redelivery after a lease), results
//! (`POST /agent/v1/commands`) recorded on the command and on the alert's handling record, and
//! expiry of commands that never got a result.

use super::alerts::{recount_alerts, set_alert_status};
use super::{Store, TenantId, col};
use crate::auth::AgentPrincipal;
use crate::clock::Millis;
use crate::error::StoreError;
use crate::findings::check_text;
use crate::findings::detections::AlertStatus;
use podwarden_api::uplink::{
    Command, CommandAction, CommandList, CommandResults, CommandResultsResponse,
};
use serde::Serialize;
use sqlx::AnyConnection;
use std::collections::HashMap;

/// Deliveries of a command before it expires without a result.
pub const MAX_ATTEMPTS: i64 = 3;
/// Most commands one fetch returns.
const FETCH_LIMIT: i64 = 100;
/// Most results one post may carry.
pub const MAX_RESULTS: usize = 1_000;
/// A command never fetched expires after this long.
const PENDING_EXPIRY_MS: Millis = 24 * 3_600_000;

/// A command as the alert detail shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CommandView {
    pub id: i64,
    /// The action (`{"kind": "quarantine", "path": ...}`, `{"kind": "kill", ...}`).
    #[schema(value_type = Object)]
    pub action: serde_json::Value,
    /// `pending`, `delivered`, `succeeded`, `failed` or `expired`.
    pub status: String,
    pub attempts: i64,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The agent's result (`ok`, `message`, `vault_id`, `sha256`, `finished_at`).
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
}

fn kind_of(action: &CommandAction) -> &'static str {
    match action {
        CommandAction::Quarantine { .. } => "quarantine",
        CommandAction::Kill { .. } => "kill",
        CommandAction::Restore { .. } => "restore",
        CommandAction::Rescan { .. } => "rescan",
    }
}

/// Queues a command for the agent of `asset`.
pub(crate) async fn queue_command(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
    action: &CommandAction,
    alert: Option<i64>,
    handling: Option<i64>,
    now: Millis,
) -> Result<i64, StoreError> {
    let payload = serde_json::to_string(action)
        .map_err(|err| StoreError::Invalid(format!("command: {err}")))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO agent_commands (tenant_id, asset_id, kind, payload, status, created_at,
             updated_at, alert_id, handling_id, attempts)
         VALUES ($1, $2, $3, $4, 'pending', $5, $5, $6, $7, 0) RETURNING id",
    )
    .bind(tenant.0)
    .bind(asset)
    .bind(kind_of(action).to_string())
    .bind(payload)
    .bind(now)
    .bind(alert)
    .bind(handling)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Whether a rescan of `kind` is queued or delivered and not finished for `asset`.
pub(crate) async fn rescan_outstanding(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
    payload: &str,
) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM agent_commands
         WHERE tenant_id = $1 AND asset_id = $2 AND kind = 'rescan' AND payload = $3
           AND status IN ('pending', 'delivered')",
    )
    .bind(tenant.0)
    .bind(asset)
    .bind(payload.to_string())
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// The commands of each handling record (for the alert detail).
pub(crate) async fn commands_of_handlings(
    conn: &mut AnyConnection,
    tenant: TenantId,
    handlings: &[i64],
) -> Result<HashMap<i64, Vec<CommandView>>, StoreError> {
    let mut out: HashMap<i64, Vec<CommandView>> = HashMap::new();
    for chunk in handlings.chunks(500) {
        let mut sql = super::Sql::for_connection(
            conn,
            "SELECT id, handling_id, payload, status, attempts, created_at, delivered_at,
                    finished_at, result
             FROM agent_commands WHERE tenant_id = ",
        );
        sql.bind(tenant.0).push(" AND handling_id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*id);
        }
        sql.push(") ORDER BY id");
        for row in sql.build().fetch_all(&mut *conn).await? {
            let handling: i64 = col(&row, "handling_id")?;
            let payload: String = col(&row, "payload")?;
            let result: Option<String> = col(&row, "result")?;
            out.entry(handling).or_default().push(CommandView {
                id: col(&row, "id")?,
                action: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                status: col(&row, "status")?,
                attempts: col(&row, "attempts")?,
                created_at: col(&row, "created_at")?,
                delivered_at: col(&row, "delivered_at")?,
                finished_at: col(&row, "finished_at")?,
                result: result.and_then(|r| serde_json::from_str(&r).ok()),
            });
        }
    }
    Ok(out)
}

/// When every command of a handling has finished: records the combined result on the
/// handling and moves a quarantining alert to `quarantined` or `quarantine_failed`.
async fn finish_handling(
    conn: &mut AnyConnection,
    tenant: TenantId,
    handling: i64,
    now: Millis,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT kind, status, result FROM agent_commands
         WHERE tenant_id = $1 AND handling_id = $2 ORDER BY id",
    )
    .bind(tenant.0)
    .bind(handling)
    .fetch_all(&mut *conn)
    .await?;
    let mut all_ok = true;
    let mut messages = Vec::new();
    for row in &rows {
        let status: String = col(row, "status")?;
        if status == "pending" || status == "delivered" {
            return Ok(());
        }
        all_ok &= status == "succeeded";
        let kind: String = col(row, "kind")?;
        let result: Option<String> = col(row, "result")?;
        let message = result
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r).ok())
            .and_then(|v| {
                v.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| status.clone());
        messages.push(format!("{kind}: {message}"));
    }
    let outcome = if all_ok { "succeeded" } else { "failed" };
    sqlx::query(
        "UPDATE alert_handlings SET outcome = $1, result_message = $2, result_at = $3
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(outcome.to_string())
    .bind(messages.join("; "))
    .bind(now)
    .bind(tenant.0)
    .bind(handling)
    .execute(&mut *conn)
    .await?;
    let alert = sqlx::query(
        "SELECT a.id AS id, a.asset_id AS asset_id, a.status AS status
         FROM alert_handlings h JOIN alerts a ON a.tenant_id = h.tenant_id AND a.id = h.alert_id
         WHERE h.tenant_id = $1 AND h.id = $2",
    )
    .bind(tenant.0)
    .bind(handling)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(alert) = alert {
        let status: String = col(&alert, "status")?;
        // A quarantine that failed (or expired) may still succeed late: the agent's answer
        // wins over the expiry.
        if status == AlertStatus::Quarantining.as_str()
            || status == AlertStatus::QuarantineFailed.as_str()
        {
            let next = if all_ok {
                AlertStatus::Quarantined
            } else {
                AlertStatus::QuarantineFailed
            };
            let id: i64 = col(&alert, "id")?;
            let asset: i64 = col(&alert, "asset_id")?;
            set_alert_status(conn, tenant, id, next, now).await?;
            recount_alerts(conn, tenant, asset).await?;
        }
    }
    Ok(())
}

impl Store {
    /// The commands waiting for `agent`'s asset, oldest first, marked delivered. A delivered
    /// command without a result is delivered again after the lease, up to
    /// [`MAX_ATTEMPTS`] times.
    pub async fn fetch_commands(&self, agent: AgentPrincipal) -> Result<CommandList, StoreError> {
        let tenant = agent.tenant;
        let now = self.now();
        let lease_ms = i64::try_from(self.settings.findings.command_lease_secs)
            .unwrap_or(300)
            .saturating_mul(1000);
        let mut tx = self.db.begin_write().await?;
        let rows = sqlx::query(
            "SELECT id, payload, alert_id FROM agent_commands
             WHERE tenant_id = $1 AND asset_id = $2
               AND (status = 'pending'
                    OR (status = 'delivered' AND delivered_at <= $3 AND attempts < $4))
             ORDER BY id LIMIT $5",
        )
        .bind(tenant.0)
        .bind(agent.asset_id)
        .bind(now - lease_ms)
        .bind(MAX_ATTEMPTS)
        .bind(FETCH_LIMIT)
        .fetch_all(&mut *tx)
        .await?;
        let mut commands = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = col(row, "id")?;
            let payload: String = col(row, "payload")?;
            let action: CommandAction = serde_json::from_str(&payload)
                .map_err(|err| StoreError::Corrupt(format!("command {id} payload: {err}")))?;
            sqlx::query(
                "UPDATE agent_commands SET status = 'delivered', attempts = attempts + 1,
                     delivered_at = $1, updated_at = $1
                 WHERE tenant_id = $2 AND id = $3",
            )
            .bind(now)
            .bind(tenant.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            commands.push(Command {
                id,
                action,
                alert_id: col(row, "alert_id")?,
            });
        }
        tx.commit().await?;
        Ok(CommandList { commands })
    }

    /// Records results of commands `agent` ran. Results for commands of other assets (or of
    /// another tenant) change nothing and count as unknown; a repeated result counts as a
    /// duplicate.
    pub async fn record_command_results(
        &self,
        agent: AgentPrincipal,
        results: &CommandResults,
    ) -> Result<CommandResultsResponse, StoreError> {
        if results.results.len() > MAX_RESULTS {
            return Err(StoreError::Invalid(format!(
                "at most {MAX_RESULTS} results per post, got {}",
                results.results.len()
            )));
        }
        for (index, result) in results.results.iter().enumerate() {
            let check = || -> Result<(), String> {
                check_text("message", &result.message, 8 * 1024)?;
                if let Some(vault) = &result.vault_id {
                    check_text("vault_id", vault, 256)?;
                }
                if let Some(sha) = &result.sha256 {
                    check_text("sha256", sha, 128)?;
                }
                i64::try_from(result.finished_at)
                    .map_err(|_| "finished_at is out of range".to_string())?;
                Ok(())
            };
            check()
                .map_err(|message| StoreError::Invalid(format!("results[{index}]: {message}")))?;
        }
        let tenant = agent.tenant;
        let now = self.now();
        let mut response = CommandResultsResponse::default();
        let mut tx = self.db.begin_write().await?;
        let mut handlings = Vec::new();
        for result in &results.results {
            let row = sqlx::query(
                "SELECT status, handling_id FROM agent_commands
                 WHERE tenant_id = $1 AND asset_id = $2 AND id = $3",
            )
            .bind(tenant.0)
            .bind(agent.asset_id)
            .bind(result.command_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                response.unknown += 1;
                continue;
            };
            let status: String = col(&row, "status")?;
            if status == "succeeded" || status == "failed" {
                response.duplicates += 1;
                continue;
            }
            let stored = serde_json::to_string(result)
                .map_err(|err| StoreError::Invalid(format!("result: {err}")))?;
            sqlx::query(
                "UPDATE agent_commands SET status = $1, result = $2, finished_at = $3,
                     updated_at = $3
                 WHERE tenant_id = $4 AND id = $5",
            )
            .bind(if result.ok { "succeeded" } else { "failed" }.to_string())
            .bind(stored)
            .bind(now)
            .bind(tenant.0)
            .bind(result.command_id)
            .execute(&mut *tx)
            .await?;
            response.recorded += 1;
            if let Some(handling) = col::<Option<i64>>(&row, "handling_id")?
                && !handlings.contains(&handling)
            {
                handlings.push(handling);
            }
        }
        for handling in handlings {
            finish_handling(&mut tx, tenant, handling, now).await?;
        }
        tx.commit().await?;
        Ok(response)
    }

    /// Expires the tenant's commands that will get no result: delivered [`MAX_ATTEMPTS`]
    /// times and silent for a lease since, or never fetched for a day. Their handlings fail.
    /// Returns how many expired.
    pub async fn expire_commands(&self, tenant: TenantId) -> Result<u64, StoreError> {
        let now = self.now();
        let lease_ms = i64::try_from(self.settings.findings.command_lease_secs)
            .unwrap_or(300)
            .saturating_mul(1000);
        let mut tx = self.db.begin_write().await?;
        let rows = sqlx::query(
            "SELECT id, handling_id, status FROM agent_commands
             WHERE tenant_id = $1
               AND ((status = 'delivered' AND attempts >= $2 AND delivered_at <= $3)
                    OR (status = 'pending' AND created_at <= $4))",
        )
        .bind(tenant.0)
        .bind(MAX_ATTEMPTS)
        .bind(now - lease_ms)
        .bind(now - PENDING_EXPIRY_MS)
        .fetch_all(&mut *tx)
        .await?;
        let mut handlings = Vec::new();
        for row in &rows {
            let id: i64 = col(row, "id")?;
            let status: String = col(row, "status")?;
            let message = if status == "pending" {
                "the agent never fetched the command"
            } else {
                "the agent did not report a result"
            };
            sqlx::query(
                "UPDATE agent_commands SET status = 'expired', result = $1, finished_at = $2,
                     updated_at = $2
                 WHERE tenant_id = $3 AND id = $4",
            )
            .bind(serde_json::json!({"ok": false, "message": message}).to_string())
            .bind(now)
            .bind(tenant.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if let Some(handling) = col::<Option<i64>>(row, "handling_id")?
                && !handlings.contains(&handling)
            {
                handlings.push(handling);
            }
        }
        for handling in handlings {
            finish_handling(&mut tx, tenant, handling, now).await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }
}
