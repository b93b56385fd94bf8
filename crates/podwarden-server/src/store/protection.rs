//! The protection switch (enable, pause, overdue, auto-add, price, time zone), the default
//! binding rules applied when protection is enabled, and quota binding of assets.
//!
//! Binding rules (product §3), applied when `enabled` goes from false to true and the
//! operator does not pass an explicit [`BindingChoice`]:
//! - first time ever enabled: bind every protectable asset and turn auto-add on;
//! - enabled again after being off: bind again the assets bound when it was switched off;
//!   if none were, bind every asset and turn auto-add on.
//!
//! Switching off remembers the bound set (`previously_bound`) and unbinds everything (the
//! quota is released). Overdue going true → false changes no binding. Pause changes no
//! binding. Every change flushes metering first and is written to the audit log.

use super::usage::{FlushScope, flush, load_tenant_meter};
use super::{Actor, Sql, Store, TenantId, audit, col, flag};
use crate::error::StoreError;
use crate::metering::{PriceNano, TimeZoneSetting};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// A tenant's protection settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProtectionState {
    /// The pay-as-you-go switch.
    pub enabled: bool,
    /// Checks and metering stopped for all assets.
    pub paused: bool,
    /// The account is overdue: no protection, no metering.
    pub overdue: bool,
    /// New assets are bound automatically.
    pub auto_add: bool,
    /// USD per core-second, exact decimal string.
    pub price_per_core_second: String,
    /// The same price in nano-USD per core-second.
    pub price_nano_usd_per_core_second: i64,
    /// Day boundaries for usage and bills.
    pub timezone: String,
    /// Whether protection was ever enabled.
    pub ever_enabled: bool,
    /// Protection is active now (enabled, not paused, not overdue).
    pub active: bool,
    pub updated_at: i64,
}

/// How to bind assets when protection is enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BindingChoice {
    /// The product rules (see the module doc).
    Default,
    /// Leave the binding as it is.
    Keep,
    /// Bind every protectable asset.
    All,
    /// Bind the assets bound when protection was last switched off.
    Previous,
    /// Unbind everything.
    None,
}

/// A change to the protection settings; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ProtectionUpdate {
    pub enabled: Option<bool>,
    pub paused: Option<bool>,
    pub overdue: Option<bool>,
    pub auto_add: Option<bool>,
    pub price: Option<PriceNano>,
    pub timezone: Option<TimeZoneSetting>,
    /// Used when `enabled` turns true (and `keep` also when it turns false).
    pub binding: Option<BindingChoice>,
}

/// What an update did to the binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BindingOutcome {
    /// Which rule ran: `none`, `first-enable-all`, `previous`, `no-previous-all`, `keep`,
    /// `all`, `unbind-all`, `switch-off-unbind`.
    pub rule: String,
    /// Assets bound by this change.
    pub bound: u64,
    /// Assets unbound by this change.
    pub unbound: u64,
}

/// Quota action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuotaAction {
    Add,
    Remove,
}

/// Which assets a quota action covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaTarget {
    All,
    Assets(Vec<i64>),
}

/// An asset a quota action left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SkippedAsset {
    pub asset_id: i64,
    pub reason: String,
}

/// What a quota action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QuotaOutcome {
    /// Assets whose binding changed.
    pub changed: u64,
    /// Assets not bound (gone or not protectable).
    pub skipped: Vec<SkippedAsset>,
    /// The auto-add flag after the action.
    pub auto_add: bool,
}

async fn read_state(
    conn: &mut AnyConnection,
    tenant: TenantId,
) -> Result<ProtectionState, StoreError> {
    let row = sqlx::query(
        "SELECT enabled, paused, overdue, auto_add, ever_enabled, price_nano, timezone, updated_at
         FROM protection WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("tenant {tenant}")))?;
    let enabled = flag(&row, "enabled")?;
    let paused = flag(&row, "paused")?;
    let overdue = flag(&row, "overdue")?;
    let price = PriceNano(col(&row, "price_nano")?);
    Ok(ProtectionState {
        enabled,
        paused,
        overdue,
        auto_add: flag(&row, "auto_add")?,
        price_per_core_second: price.to_usd_string(),
        price_nano_usd_per_core_second: price.0,
        timezone: col(&row, "timezone")?,
        ever_enabled: flag(&row, "ever_enabled")?,
        active: enabled && !paused && !overdue,
        updated_at: col(&row, "updated_at")?,
    })
}

/// Binds every protectable, not-gone asset (optionally only the previously bound ones).
async fn bind_all(
    conn: &mut AnyConnection,
    tenant: TenantId,
    only_previous: bool,
) -> Result<u64, StoreError> {
    let mut sql = Sql::new("UPDATE assets SET bound = 1 WHERE tenant_id = ");
    sql.bind(tenant.0)
        .push(" AND bound = 0 AND status <> 'gone' AND protectable <> 'no'");
    if only_previous {
        sql.push(" AND previously_bound = 1");
    }
    Ok(sql.build().execute(conn).await?.rows_affected())
}

async fn unbind_all(conn: &mut AnyConnection, tenant: TenantId) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("UPDATE assets SET bound = 0 WHERE tenant_id = $1 AND bound = 1")
            .bind(tenant.0)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

impl Store {
    /// The tenant's protection settings.
    pub async fn protection(&self, tenant: TenantId) -> Result<ProtectionState, StoreError> {
        let mut conn = self.db.reader().acquire().await?;
        read_state(&mut conn, tenant).await
    }

    /// Applies a change to the protection settings (see the module doc for the binding
    /// rules). Flushes metering first; records the change in the audit log.
    pub async fn update_protection(
        &self,
        tenant: TenantId,
        update: ProtectionUpdate,
        actor: &Actor,
    ) -> Result<(ProtectionState, BindingOutcome), StoreError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let before = read_state(&mut tx, tenant).await?;
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

        let mut auto_add = before.auto_add;
        let mut ever_enabled = before.ever_enabled;
        let mut outcome = BindingOutcome {
            rule: "none".to_string(),
            bound: 0,
            unbound: 0,
        };
        let enabling = update.enabled == Some(true) && !before.enabled;
        let disabling = update.enabled == Some(false) && before.enabled;
        if enabling {
            let choice = update.binding.unwrap_or(BindingChoice::Default);
            match choice {
                BindingChoice::Default if !before.ever_enabled => {
                    outcome.rule = "first-enable-all".to_string();
                    outcome.bound = bind_all(&mut tx, tenant, false).await?;
                    auto_add = true;
                }
                BindingChoice::Default => {
                    let previous: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM assets WHERE tenant_id = $1 AND previously_bound = 1",
                    )
                    .bind(tenant.0)
                    .fetch_one(&mut *tx)
                    .await?;
                    if previous > 0 {
                        outcome.rule = "previous".to_string();
                        outcome.bound = bind_all(&mut tx, tenant, true).await?;
                    } else {
                        outcome.rule = "no-previous-all".to_string();
                        outcome.bound = bind_all(&mut tx, tenant, false).await?;
                        auto_add = true;
                    }
                }
                BindingChoice::Keep => outcome.rule = "keep".to_string(),
                BindingChoice::All => {
                    outcome.rule = "all".to_string();
                    outcome.bound = bind_all(&mut tx, tenant, false).await?;
                }
                BindingChoice::Previous => {
                    outcome.rule = "previous".to_string();
                    outcome.bound = bind_all(&mut tx, tenant, true).await?;
                }
                BindingChoice::None => {
                    outcome.rule = "unbind-all".to_string();
                    outcome.unbound = unbind_all(&mut tx, tenant).await?;
                }
            }
            ever_enabled = true;
        } else if disabling {
            if update.binding == Some(BindingChoice::Keep) {
                outcome.rule = "keep".to_string();
            } else {
                outcome.rule = "switch-off-unbind".to_string();
                sqlx::query("UPDATE assets SET previously_bound = bound WHERE tenant_id = $1")
                    .bind(tenant.0)
                    .execute(&mut *tx)
                    .await?;
                outcome.unbound = unbind_all(&mut tx, tenant).await?;
            }
        } else if let Some(choice) = update.binding
            && choice != BindingChoice::Default
            && choice != BindingChoice::Keep
        {
            return Err(StoreError::Invalid(
                "`binding` applies only when `enabled` changes".to_string(),
            ));
        }
        if let Some(explicit) = update.auto_add {
            auto_add = explicit;
        }
        let enabled = update.enabled.unwrap_or(before.enabled);
        let paused = update.paused.unwrap_or(before.paused);
        let overdue = update.overdue.unwrap_or(before.overdue);
        let price = update
            .price
            .unwrap_or(PriceNano(before.price_nano_usd_per_core_second));
        let timezone = update
            .timezone
            .as_ref()
            .map_or(before.timezone.clone(), |z| z.name().to_string());
        sqlx::query(
            "UPDATE protection SET enabled = $1, paused = $2, overdue = $3, auto_add = $4,
                 ever_enabled = $5, price_nano = $6, timezone = $7, updated_at = $8
             WHERE tenant_id = $9",
        )
        .bind(i64::from(enabled))
        .bind(i64::from(paused))
        .bind(i64::from(overdue))
        .bind(i64::from(auto_add))
        .bind(i64::from(ever_enabled))
        .bind(price.0)
        .bind(timezone)
        .bind(now)
        .bind(tenant.0)
        .execute(&mut *tx)
        .await?;
        let after = read_state(&mut tx, tenant).await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "protection.update",
            &format!("tenant:{tenant}"),
            serde_json::json!({
                "before": state_json(&before),
                "after": state_json(&after),
                "binding": {"rule": outcome.rule, "bound": outcome.bound, "unbound": outcome.unbound},
            }),
        )
        .await?;
        tx.commit().await?;
        Ok((after, outcome))
    }

    /// Binds (`add`) or unbinds (`remove`) assets. Unknown ids (or ids of another tenant)
    /// fail the whole request with nothing changed. Gone and unprotectable assets are
    /// skipped when adding.
    pub async fn change_quota(
        &self,
        tenant: TenantId,
        action: QuotaAction,
        target: QuotaTarget,
        auto_add: Option<bool>,
        actor: &Actor,
    ) -> Result<QuotaOutcome, StoreError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let mut skipped = Vec::new();
        let mut selected: Vec<i64> = Vec::new();
        let mut sql = Sql::new(
            "SELECT id, bound, status, protectable, protectable_reason FROM assets WHERE tenant_id = ",
        );
        sql.bind(tenant.0);
        if let QuotaTarget::Assets(ids) = &target {
            if ids.is_empty() {
                return Err(StoreError::Invalid(
                    "asset_ids is empty; pass ids or \"all\": true".to_string(),
                ));
            }
            if ids.len() > 10_000 {
                return Err(StoreError::Invalid(
                    "at most 10000 asset_ids per request".to_string(),
                ));
            }
            // Filtering happens in Rust so that any number of ids works on both databases.
        }
        let rows = sql.build().fetch_all(&mut *tx).await?;
        let mut known = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = col(row, "id")?;
            known.insert(id, row);
        }
        let wanted: Vec<i64> = match &target {
            QuotaTarget::All => {
                let mut ids: Vec<i64> = known.keys().copied().collect();
                ids.sort_unstable();
                ids
            }
            QuotaTarget::Assets(ids) => {
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids.dedup();
                let missing: Vec<String> = ids
                    .iter()
                    .filter(|id| !known.contains_key(id))
                    .map(|id| id.to_string())
                    .collect();
                if !missing.is_empty() {
                    return Err(StoreError::NotFound(format!(
                        "asset {}",
                        missing.join(", ")
                    )));
                }
                ids
            }
        };
        for id in wanted {
            let Some(row) = known.get(&id) else {
                continue;
            };
            let bound = flag(row, "bound")?;
            match action {
                QuotaAction::Add => {
                    let status: String = col(row, "status")?;
                    let protectable: String = col(row, "protectable")?;
                    if status == "gone" {
                        skipped.push(SkippedAsset {
                            asset_id: id,
                            reason: "the asset is gone".to_string(),
                        });
                    } else if protectable == "no" {
                        let reason: Option<String> = col(row, "protectable_reason")?;
                        skipped.push(SkippedAsset {
                            asset_id: id,
                            reason: reason.unwrap_or_else(|| "cannot be protected".to_string()),
                        });
                    } else if !bound {
                        selected.push(id);
                    }
                }
                QuotaAction::Remove => {
                    if bound {
                        selected.push(id);
                    }
                }
            }
        }
        let meter = load_tenant_meter(&mut tx, tenant).await?;
        flush(
            &mut tx,
            tenant,
            &meter,
            now,
            self.settings.online_window_ms(),
            FlushScope::Assets(&selected),
        )
        .await?;
        let new_bound = i64::from(action == QuotaAction::Add);
        for chunk in selected.chunks(500) {
            let mut update = Sql::for_connection(&tx, "UPDATE assets SET bound = ");
            update
                .bind(new_bound)
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
        let mut auto_add_now: bool =
            sqlx::query_scalar::<_, i64>("SELECT auto_add FROM protection WHERE tenant_id = $1")
                .bind(tenant.0)
                .fetch_one(&mut *tx)
                .await?
                == 1;
        if let Some(flag_value) = auto_add {
            sqlx::query(
                "UPDATE protection SET auto_add = $1, updated_at = $2 WHERE tenant_id = $3",
            )
            .bind(i64::from(flag_value))
            .bind(now)
            .bind(tenant.0)
            .execute(&mut *tx)
            .await?;
            auto_add_now = flag_value;
        }
        let action_name = match action {
            QuotaAction::Add => "quota.add",
            QuotaAction::Remove => "quota.remove",
        };
        let target_text = match &target {
            QuotaTarget::All => "assets:all".to_string(),
            QuotaTarget::Assets(ids) => match ids.as_slice() {
                [one] => format!("asset:{one}"),
                many => format!("assets:{}", many.len()),
            },
        };
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            action_name,
            &target_text,
            serde_json::json!({
                "changed": selected,
                "skipped": skipped.iter().map(|s| s.asset_id).collect::<Vec<_>>(),
                "auto_add": auto_add,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(QuotaOutcome {
            changed: selected.len() as u64,
            skipped,
            auto_add: auto_add_now,
        })
    }
}

fn state_json(state: &ProtectionState) -> serde_json::Value {
    serde_json::json!({
        "enabled": state.enabled,
        "paused": state.paused,
        "overdue": state.overdue,
        "auto_add": state.auto_add,
        "price_per_core_second": state.price_per_core_second,
        "timezone": state.timezone,
    })
}
