//! Schema migrations: the same numbered steps for SQLite and PostgreSQL, embedded in the
//! binary, applied in order once each (recorded in `schema_migrations`).

use super::{Backend, Db};
use crate::error::StoreError;
use sqlx::{Acquire, Executor, Row};

/// One migration step, in both dialects.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Every migration, in order. File names are `NNNN_name.sql` in `migrations/sqlite/` and
/// `migrations/postgres/`; a test checks both directories match this list.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "clusters",
        sqlite: include_str!("../../migrations/sqlite/0002_clusters.sql"),
        postgres: include_str!("../../migrations/postgres/0002_clusters.sql"),
    },
    Migration {
        version: 3,
        name: "findings",
        sqlite: include_str!("../../migrations/sqlite/0003_findings.sql"),
        postgres: include_str!("../../migrations/postgres/0003_findings.sql"),
    },
    Migration {
        version: 4,
        name: "console",
        sqlite: include_str!("../../migrations/sqlite/0004_console.sql"),
        postgres: include_str!("../../migrations/postgres/0004_console.sql"),
    },
    Migration {
        version: 5,
        name: "alert_search",
        sqlite: include_str!("../../migrations/sqlite/0005_alert_search.sql"),
        postgres: include_str!("../../migrations/postgres/0005_alert_search.sql"),
    },
];

/// Key of the PostgreSQL advisory lock that serialises migrations across replicas.
const MIGRATION_LOCK_KEY: i64 = 0x7077_6d69_6772; // "pwmigr"

/// Applies the migrations not applied yet.
pub async fn run(db: &Db) -> Result<(), StoreError> {
    let mut conn = db.writer().acquire().await?;
    if db.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    let result = apply_pending(db.backend(), &mut conn).await;
    if db.backend() == Backend::Postgres {
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *conn)
            .await;
        if let Err(err) = unlocked {
            tracing::warn!(error = %err, "cannot release the migration lock");
        }
    }
    result
}

async fn apply_pending(
    backend: Backend,
    conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
) -> Result<(), StoreError> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    )
    .await?;
    let rows = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(&mut **conn)
        .await?;
    let mut applied = Vec::with_capacity(rows.len());
    for row in rows {
        applied.push(row.try_get::<i64, _>("version")?);
    }
    for migration in MIGRATIONS {
        if applied.contains(&migration.version) {
            continue;
        }
        let sql = match backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        let fail = |source| StoreError::Migration {
            version: migration.version,
            name: migration.name,
            source,
        };
        let mut tx = conn.begin().await.map_err(fail)?;
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(fail)?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(jiff::Timestamp::now().as_millisecond())
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    Ok(())
}
