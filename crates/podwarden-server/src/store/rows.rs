//! Tenant-scoped row helpers shared by tables listed newest first and deleted by id (the
//! whitelists of alerts, vulnerabilities and baseline risks; the audit log).

use super::audit::{Page, Paging};
use super::{Sql, TenantId, col};
use crate::error::StoreError;
use sqlx::AnyConnection;
use sqlx::AnyPool;
use sqlx::any::AnyRow;

/// One page of the tenant's rows of `table`, newest (highest id) first. `table` and
/// `columns` are fixed SQL; `narrow` may append ` AND ...` conditions.
pub(super) async fn newest_first<T>(
    pool: &AnyPool,
    table: &str,
    columns: &str,
    tenant: TenantId,
    narrow: impl Fn(&mut Sql),
    paging: Paging,
    from_row: fn(&AnyRow) -> Result<T, StoreError>,
) -> Result<Page<T>, StoreError> {
    let build = |select: &str| {
        let mut sql = Sql::new(select);
        sql.push(" FROM ")
            .push(table)
            .push(" WHERE tenant_id = ")
            .bind(tenant.0);
        narrow(&mut sql);
        sql
    };
    let total: i64 = col(
        &build("SELECT COUNT(*) AS n")
            .build()
            .fetch_one(pool)
            .await?,
        "n",
    )?;
    let mut sql = build(&format!("SELECT {columns}"));
    sql.push(" ORDER BY id DESC LIMIT ")
        .bind(i64::from(paging.per_page))
        .push(" OFFSET ")
        .bind(paging.offset());
    let items = sql
        .build()
        .fetch_all(pool)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::exact(items, paging, total))
}

/// Deletes the tenant's row `id` of `table` and returns it as it was; `NotFound` naming
/// `what` when the tenant has no such row. `table` and `columns` are fixed SQL.
pub(super) async fn take<T>(
    conn: &mut AnyConnection,
    table: &str,
    columns: &str,
    tenant: TenantId,
    id: i64,
    what: &str,
    from_row: fn(&AnyRow) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut select = Sql::new(&format!("SELECT {columns} FROM {table} WHERE tenant_id = "));
    select.bind(tenant.0).push(" AND id = ").bind(id);
    let row = select
        .build()
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("{what} {id}")))?;
    let taken = from_row(&row)?;
    let mut delete = Sql::new(&format!("DELETE FROM {table} WHERE tenant_id = "));
    delete.bind(tenant.0).push(" AND id = ").bind(id);
    delete.build().execute(&mut *conn).await?;
    Ok(taken)
}
