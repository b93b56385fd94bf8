//! The audit log: every change, who made it, when, and to what. Written in the same
//! transaction as the change it records.

use super::{Actor, Sql, Store, TenantId, col, rows};
use crate::clock::Millis;
use crate::error::StoreError;
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// `token:<id>:<name>`, `agent:<id>`, or `system`.
    pub actor: String,
    /// What was done, e.g. `protection.update`, `quota.add`, `token.create`.
    pub action: String,
    /// What it was done to, e.g. `tenant:3`, `asset:17`, `token:5`.
    pub target: String,
    /// Details of the change (JSON).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A page of a list, with the total count of matching items.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    /// Matching items; at least this many when `total_is_lower_bound`.
    pub total: i64,
    /// The count stopped at `total` (a free-text search matching more items than it is worth
    /// counting exactly, as search engines report "10,000+"); `false` for an exact count.
    pub total_is_lower_bound: bool,
}

impl<T> Page<T> {
    /// `paging`'s page of a list counted exactly: `total` matching items.
    pub fn exact(items: Vec<T>, paging: Paging, total: i64) -> Page<T> {
        Page {
            items,
            page: paging.page,
            per_page: paging.per_page,
            total,
            total_is_lower_bound: false,
        }
    }
}

/// Which page of a list (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

impl Paging {
    /// Most items a page may hold.
    pub const MAX_PER_PAGE: u32 = 500;

    /// Validated paging; defaults page 1, 50 per page.
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Result<Paging, StoreError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(50);
        if page == 0 {
            return Err(StoreError::Invalid("page starts at 1".to_string()));
        }
        if per_page == 0 || per_page > Paging::MAX_PER_PAGE {
            return Err(StoreError::Invalid(format!(
                "per_page must be between 1 and {}",
                Paging::MAX_PER_PAGE
            )));
        }
        Ok(Paging { page, per_page })
    }

    /// Rows to skip.
    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

/// Appends an audit entry (inside the caller's transaction).
pub(crate) async fn record(
    conn: &mut AnyConnection,
    tenant: TenantId,
    at: Millis,
    actor: &Actor,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, at, actor, action, target, details)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant.0)
    .bind(at)
    .bind(actor.0.clone())
    .bind(action.to_string())
    .bind(target.to_string())
    .bind(details.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let details: String = col(row, "details")?;
    Ok(AuditEntry {
        id: col(row, "id")?,
        at: col(row, "at")?,
        actor: col(row, "actor")?,
        action: col(row, "action")?,
        target: col(row, "target")?,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
    })
}

impl Store {
    /// The tenant's audit log, newest first.
    ///
    /// `q`: a substring (any case) of who, what or the target.
    pub async fn list_audit(
        &self,
        tenant: TenantId,
        q: Option<&str>,
        paging: Paging,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let search = |sql: &mut Sql| {
            if let Some(q) = q.filter(|q| !q.is_empty()) {
                sql.push(" AND ").push_contains_any(
                    self.db.backend(),
                    &["actor", "action", "target"],
                    q,
                );
            }
        };
        rows::newest_first(
            self.db.reader(),
            "audit_log",
            "id, at, actor, action, target, details",
            tenant,
            search,
            paging,
            entry_from_row,
        )
        .await
    }
}
