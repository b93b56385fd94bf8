//! Metering in the store: flushing accrued usage into `usage_daily`, closing daily bills, and
//! reading usage and bills back.
//!
//! Accrual is by intervals, not ticks. Each asset carries `accrued_until`; everything that
//! decides whether it accrues (switch, pause, overdue, price, time zone, binding, cores,
//! gone, agent online run) is constant since then, because every change to any of it first
//! flushes the affected assets up to "now" inside the same transaction. A periodic job
//! flushes everything, and the bill job flushes before closing a day.

use super::{Sql, Store, TenantId, col, flag};
use crate::clock::Millis;
use crate::error::StoreError;
use crate::metering::{MeterInputs, PriceNano, TimeZoneSetting, accrue, cost_pico, format_scaled};
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

/// The tenant-wide half of the metering inputs.
#[derive(Debug, Clone)]
pub(crate) struct TenantMeter {
    /// Enabled, not paused, not overdue.
    pub active: bool,
    pub price: PriceNano,
    pub zone: TimeZoneSetting,
}

/// Loads the tenant's metering state from its protection row.
pub(crate) async fn load_tenant_meter(
    conn: &mut AnyConnection,
    tenant: TenantId,
) -> Result<TenantMeter, StoreError> {
    let row = sqlx::query(
        "SELECT enabled, paused, overdue, price_nano, timezone FROM protection WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("tenant {tenant}")))?;
    tenant_meter_from_row(&row)
}

pub(crate) fn tenant_meter_from_row(row: &AnyRow) -> Result<TenantMeter, StoreError> {
    let zone_name: String = col(row, "timezone")?;
    let zone = TimeZoneSetting::parse(&zone_name)
        .map_err(|e| StoreError::Corrupt(format!("timezone: {e}")))?;
    Ok(TenantMeter {
        active: flag(row, "enabled")? && !flag(row, "paused")? && !flag(row, "overdue")?,
        price: PriceNano(col(row, "price_nano")?),
        zone,
    })
}

/// The asset columns metering reads.
pub(crate) const METER_COLUMNS: &str = "id, accrued_until, bound, status, protectable, online_since, last_heartbeat_at, effective_millicores";

/// The per-asset half of the metering inputs.
pub(crate) fn meter_inputs(row: &AnyRow, tenant: &TenantMeter) -> Result<MeterInputs, StoreError> {
    let status: String = col(row, "status")?;
    let protectable: String = col(row, "protectable")?;
    Ok(MeterInputs {
        accrued_until: col(row, "accrued_until")?,
        billable: tenant.active && flag(row, "bound")? && status != "gone" && protectable != "no",
        online_since: col(row, "online_since")?,
        last_heartbeat: col(row, "last_heartbeat_at")?,
        millicores: col(row, "effective_millicores")?,
    })
}

/// One row to add into `usage_daily`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UsageDelta {
    asset_id: i64,
    day: String,
    seconds: i64,
    millicore_seconds: i64,
}

/// Assets per transaction of the periodic flush.
const FLUSH_CHUNK: usize = 200;

/// Which assets a flush covers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FlushScope<'a> {
    All,
    Assets(&'a [i64]),
}

/// Accrues the usage of the tenant's assets in `scope` up to `now` and moves their
/// `accrued_until` to `now`. Runs inside the caller's write transaction.
pub(crate) async fn flush(
    conn: &mut AnyConnection,
    tenant: TenantId,
    meter: &TenantMeter,
    now: Millis,
    window_ms: Millis,
    scope: FlushScope<'_>,
) -> Result<u64, StoreError> {
    let ids: Vec<i64> = match scope {
        FlushScope::Assets([]) => return Ok(0),
        FlushScope::Assets(ids) => ids.to_vec(),
        FlushScope::All => Vec::new(),
    };
    let mut deltas = Vec::new();
    let mut touched = 0u64;
    for chunk in id_chunks(&ids) {
        let mut sql = Sql::for_connection(conn, "SELECT ");
        sql.push(METER_COLUMNS)
            .push(" FROM assets WHERE tenant_id = ")
            .bind(tenant.0)
            .push(" AND accrued_until < ")
            .bind(now);
        push_id_filter(&mut sql, chunk);
        let rows = sql.build().fetch_all(&mut *conn).await?;
        touched += rows.len() as u64;
        for row in &rows {
            let inputs = meter_inputs(row, meter)?;
            let asset_id: i64 = col(row, "id")?;
            for day in accrue(&inputs, now, window_ms, &meter.zone) {
                deltas.push(UsageDelta {
                    asset_id,
                    day: day.day,
                    seconds: day.seconds,
                    millicore_seconds: day.millicore_seconds,
                });
            }
        }
        let mut update = Sql::for_connection(conn, "UPDATE assets SET accrued_until = ");
        update
            .bind(now)
            .push(" WHERE tenant_id = ")
            .bind(tenant.0)
            .push(" AND accrued_until < ")
            .bind(now);
        push_id_filter(&mut update, chunk);
        update.build().execute(&mut *conn).await?;
    }
    write_usage(conn, tenant, meter.price, &deltas).await?;
    Ok(touched)
}

/// Splits an id list into chunks for `IN (...)`; an empty list means "no filter" (one pass).
fn id_chunks(ids: &[i64]) -> Vec<&[i64]> {
    if ids.is_empty() {
        vec![&[][..]]
    } else {
        ids.chunks(200).collect()
    }
}

fn push_id_filter(sql: &mut Sql, ids: &[i64]) {
    if ids.is_empty() {
        return;
    }
    sql.push(" AND id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*id);
    }
    sql.push(")");
}

async fn write_usage(
    conn: &mut AnyConnection,
    tenant: TenantId,
    price: PriceNano,
    deltas: &[UsageDelta],
) -> Result<(), StoreError> {
    for chunk in deltas.chunks(100) {
        let mut sql = Sql::for_connection(
            conn,
            "INSERT INTO usage_daily (tenant_id, asset_id, day, price_nano, seconds, millicore_seconds, cost_pico) VALUES ",
        );
        for (i, delta) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let cost = cost_pico(delta.millicore_seconds, price);
            let cost = i64::try_from(cost).unwrap_or_else(|_| {
                tracing::error!(asset = delta.asset_id, day = %delta.day, "usage cost overflows; capped");
                i64::MAX
            });
            sql.push("(")
                .bind(tenant.0)
                .push(", ")
                .bind(delta.asset_id)
                .push(", ")
                .bind(delta.day.clone())
                .push(", ")
                .bind(price.0)
                .push(", ")
                .bind(delta.seconds)
                .push(", ")
                .bind(delta.millicore_seconds)
                .push(", ")
                .bind(cost)
                .push(")");
        }
        sql.push(
            " ON CONFLICT (tenant_id, asset_id, day, price_nano) DO UPDATE SET
                seconds = usage_daily.seconds + excluded.seconds,
                millicore_seconds = usage_daily.millicore_seconds + excluded.millicore_seconds,
                cost_pico = usage_daily.cost_pico + excluded.cost_pico",
        );
        sql.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Usage of one asset on one day (all prices of that day summed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UsageRow {
    /// `YYYY-MM-DD` in the tenant's time zone.
    pub day: String,
    pub asset_id: i64,
    pub asset_name: String,
    pub namespace: String,
    /// Billable seconds.
    pub seconds: i64,
    /// Core-seconds × 1000 (exact).
    pub millicore_seconds: i64,
    /// Core-seconds as an exact decimal string.
    pub core_seconds: String,
    /// Cost in pico-USD (10⁻¹² USD, exact).
    pub cost_pico_usd: i64,
    /// Cost in USD as an exact decimal string.
    pub cost_usd: String,
}

/// A closed daily bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Bill {
    pub day: String,
    /// The time zone the day was cut in.
    pub timezone: String,
    /// Assets that accrued usage that day.
    pub asset_count: i64,
    pub seconds: i64,
    pub millicore_seconds: i64,
    pub core_seconds: String,
    pub cost_pico_usd: i64,
    pub cost_usd: String,
    /// When the bill was produced (Unix ms).
    pub closed_at: i64,
}

/// Checks a `YYYY-MM-DD` query bound.
pub fn check_day(what: &str, text: &str) -> Result<String, StoreError> {
    text.parse::<jiff::civil::Date>()
        .map(|d| d.to_string())
        .map_err(|_| {
            StoreError::Invalid(format!(
                "{what} must be a date like 2024-01-31, got {text:?}"
            ))
        })
}

impl Store {
    /// Flushes every asset of the tenant up to now, in transactions of a few hundred assets
    /// so that heartbeats and API writes interleave instead of waiting for one long write.
    pub async fn flush_tenant(&self, tenant: TenantId) -> Result<u64, StoreError> {
        let now = self.now();
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM assets WHERE tenant_id = $1 AND accrued_until < $2 ORDER BY id",
        )
        .bind(tenant.0)
        .bind(now)
        .fetch_all(self.db.reader())
        .await?;
        let mut touched = 0;
        for chunk in ids.chunks(FLUSH_CHUNK) {
            let mut tx = self.db.begin_write().await?;
            let meter = load_tenant_meter(&mut tx, tenant).await?;
            // An asset changed since the id list was read has been flushed past `now` by
            // that change and is skipped here (`accrued_until < now`).
            touched += flush(
                &mut tx,
                tenant,
                &meter,
                now,
                self.settings.online_window_ms(),
                FlushScope::Assets(chunk),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(touched)
    }

    /// Every tenant id (for jobs that walk all tenants; not tenant data).
    pub async fn all_tenant_ids(&self) -> Result<Vec<TenantId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM tenants ORDER BY id")
            .fetch_all(self.db.reader())
            .await?;
        Ok(ids.into_iter().map(TenantId).collect())
    }

    /// Closes every day before today (tenant time zone) that has usage and no bill yet, and
    /// yesterday even without usage. Flushes first, so the closed days are complete.
    /// Returns the days closed.
    pub async fn close_bills(&self, tenant: TenantId) -> Result<Vec<String>, StoreError> {
        // Most of the work in short transactions first; the closing transaction then only
        // flushes what changed in between.
        self.flush_tenant(tenant).await?;
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
        let Some(today) = meter.zone.day_of(now) else {
            return Ok(Vec::new());
        };
        let today_text = today.to_string();
        let rows = sqlx::query(
            "SELECT u.day AS day,
                    COUNT(DISTINCT u.asset_id) AS asset_count,
                    CAST(SUM(u.seconds) AS BIGINT) AS seconds,
                    CAST(SUM(u.millicore_seconds) AS BIGINT) AS millicore_seconds,
                    CAST(SUM(u.cost_pico) AS BIGINT) AS cost_pico
             FROM usage_daily u
             WHERE u.tenant_id = $1 AND u.day < $2
               AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.tenant_id = u.tenant_id AND b.day = u.day)
             GROUP BY u.day ORDER BY u.day",
        )
        .bind(tenant.0)
        .bind(today_text.clone())
        .fetch_all(&mut *tx)
        .await?;
        let mut closing: BTreeMap<String, (i64, i64, i64, i64)> = BTreeMap::new();
        for row in &rows {
            closing.insert(
                col(row, "day")?,
                (
                    col(row, "asset_count")?,
                    col(row, "seconds")?,
                    col(row, "millicore_seconds")?,
                    col(row, "cost_pico")?,
                ),
            );
        }
        let ever_enabled: i64 =
            sqlx::query_scalar("SELECT ever_enabled FROM protection WHERE tenant_id = $1")
                .bind(tenant.0)
                .fetch_one(&mut *tx)
                .await?;
        if ever_enabled == 1
            && let Ok(yesterday) = today.yesterday()
        {
            let day = yesterday.to_string();
            let billed: Option<String> =
                sqlx::query_scalar("SELECT day FROM bills WHERE tenant_id = $1 AND day = $2")
                    .bind(tenant.0)
                    .bind(day.clone())
                    .fetch_optional(&mut *tx)
                    .await?;
            if billed.is_none() {
                closing.entry(day).or_insert((0, 0, 0, 0));
            }
        }
        for (day, (assets, seconds, millicore_seconds, cost)) in &closing {
            sqlx::query(
                "INSERT INTO bills (tenant_id, day, timezone, asset_count, seconds, millicore_seconds, cost_pico, closed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(tenant.0)
            .bind(day.clone())
            .bind(meter.zone.name().to_string())
            .bind(*assets)
            .bind(*seconds)
            .bind(*millicore_seconds)
            .bind(*cost)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(closing.into_keys().collect())
    }

    /// Usage per asset and day between `from` and `to` (inclusive, `YYYY-MM-DD`), flushed up
    /// to now first.
    pub async fn usage(
        &self,
        tenant: TenantId,
        from: &str,
        to: &str,
    ) -> Result<Vec<UsageRow>, StoreError> {
        check_day("from", from)?;
        check_day("to", to)?;
        self.flush_tenant(tenant).await?;
        self.usage_as_flushed(tenant, from, to).await
    }

    /// Like [`Store::usage`], without flushing first: usage up to the last periodic flush.
    /// For pages read often (the console), where flushing every bound asset on each view
    /// would cost a write per asset.
    pub async fn usage_as_flushed(
        &self,
        tenant: TenantId,
        from: &str,
        to: &str,
    ) -> Result<Vec<UsageRow>, StoreError> {
        let from = check_day("from", from)?;
        let to = check_day("to", to)?;
        let rows = sqlx::query(
            "SELECT u.day AS day, u.asset_id AS asset_id, a.pod_name AS pod_name, a.namespace AS namespace,
                    u.seconds AS seconds, u.millicore_seconds AS millicore_seconds, u.cost_pico AS cost_pico
             FROM usage_daily u JOIN assets a ON a.id = u.asset_id AND a.tenant_id = u.tenant_id
             WHERE u.tenant_id = $1 AND u.day >= $2 AND u.day <= $3
             ORDER BY u.day, u.asset_id",
        )
        .bind(tenant.0)
        .bind(from)
        .bind(to)
        .fetch_all(self.db.reader())
        .await?;
        let mut merged: BTreeMap<(String, i64), UsageRow> = BTreeMap::new();
        for row in &rows {
            let day: String = col(row, "day")?;
            let asset_id: i64 = col(row, "asset_id")?;
            let seconds: i64 = col(row, "seconds")?;
            let millicore_seconds: i64 = col(row, "millicore_seconds")?;
            let cost: i64 = col(row, "cost_pico")?;
            let entry = merged
                .entry((day.clone(), asset_id))
                .or_insert_with(|| UsageRow {
                    day,
                    asset_id,
                    asset_name: col(row, "pod_name").unwrap_or_default(),
                    namespace: col(row, "namespace").unwrap_or_default(),
                    seconds: 0,
                    millicore_seconds: 0,
                    core_seconds: String::new(),
                    cost_pico_usd: 0,
                    cost_usd: String::new(),
                });
            entry.seconds = entry.seconds.saturating_add(seconds);
            entry.millicore_seconds = entry.millicore_seconds.saturating_add(millicore_seconds);
            entry.cost_pico_usd = entry.cost_pico_usd.saturating_add(cost);
        }
        Ok(merged
            .into_values()
            .map(|mut row| {
                row.core_seconds = format_scaled(i128::from(row.millicore_seconds), 3);
                row.cost_usd = format_scaled(i128::from(row.cost_pico_usd), 12);
                row
            })
            .collect())
    }

    /// Closed bills between `from` and `to` (inclusive).
    pub async fn bills(
        &self,
        tenant: TenantId,
        from: &str,
        to: &str,
    ) -> Result<Vec<Bill>, StoreError> {
        let from = check_day("from", from)?;
        let to = check_day("to", to)?;
        let rows = sqlx::query(
            "SELECT day, timezone, asset_count, seconds, millicore_seconds, cost_pico, closed_at
             FROM bills WHERE tenant_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
        )
        .bind(tenant.0)
        .bind(from)
        .bind(to)
        .fetch_all(self.db.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let millicore_seconds: i64 = col(row, "millicore_seconds")?;
                let cost: i64 = col(row, "cost_pico")?;
                Ok(Bill {
                    day: col(row, "day")?,
                    timezone: col(row, "timezone")?,
                    asset_count: col(row, "asset_count")?,
                    seconds: col(row, "seconds")?,
                    millicore_seconds,
                    core_seconds: format_scaled(i128::from(millicore_seconds), 3),
                    cost_pico_usd: cost,
                    cost_usd: format_scaled(i128::from(cost), 12),
                    closed_at: col(row, "closed_at")?,
                })
            })
            .collect()
    }
}
