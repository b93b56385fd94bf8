//! The store: one schema on SQLite or PostgreSQL behind `sqlx::AnyPool`, and every query the
//! server runs.
//!
//! **Why `AnyPool`.** Both backends take the same SQL when the schema sticks to the common
//! ground: `$1` placeholders (SQLite accepts them), `INSERT ... ON CONFLICT ... DO UPDATE`,
//! `RETURNING`, 64-bit integers for ids, times (Unix ms) and flags, and `TEXT` for JSON. So
//! one code path serves both, every query is tested on SQLite always and on PostgreSQL when a
//! test server is at hand, and no query is written twice. The cost is a value conversion per
//! column (negligible next to the IO) and no compile-time query checking (which would need a
//! live database at build time anyway). `sqlx`'s query builder emits `?` for `Any`, which
//! PostgreSQL rejects, so dynamic SQL goes through [`Sql`], which numbers its placeholders.
//!
//! **SQLite** is one file in WAL mode with `synchronous=NORMAL`, `busy_timeout` and foreign
//! keys on. Writes go through a pool of one connection and start with `BEGIN IMMEDIATE`, so
//! writers queue in the pool instead of failing with `SQLITE_BUSY` on a lock upgrade; reads use
//! a separate pool and run concurrently with the writer (WAL).
//! **PostgreSQL** uses one pool for both.
//!
//! **Tenancy.** Every function that reads or writes tenant data takes a [`TenantId`] and puts
//! it in the `WHERE` clause (or the inserted row); there is no query over tenant data without
//! one. Ids of one tenant's rows are useless to another: a lookup by id is always
//! `WHERE tenant_id = $1 AND id = $2`.

pub mod agents;
mod alert_search;
pub mod alerts;
pub mod assets;
pub mod audit;
pub mod baseline;
pub mod clusters;
pub mod commands;
pub mod migrate;
pub mod protection;
mod rows;
pub mod scans;
pub mod tenants;
pub mod tokens;
pub mod uploads;
pub mod usage;
pub mod vulns;

use crate::clock::{Clock, Millis};
use crate::config::Settings;
use crate::error::StoreError;
use serde::{Deserialize, Serialize};
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Arguments, AssertSqlSafe, Encode, Executor, Row, Transaction, Type};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A tenant (account). Every query over tenant data takes one.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct TenantId(pub i64);

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which database engine is behind the pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connection pools.
#[derive(Debug, Clone)]
pub struct Db {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
}

/// SQLite pragmas set on every connection. Checkpoints run in the `wal-checkpoint` job off the
/// write path; the writer checkpoints itself only if the WAL grows past ~40 MB.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
     PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 10000;";

impl Db {
    /// Connects to `sqlite://PATH` (creating the directory and file) or `postgres://...`,
    /// and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let db = if let Some(path) = sqlite_path(url) {
            Db::connect_sqlite(url, &path).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            Db {
                read: pool.clone(),
                write: pool,
                backend: Backend::Postgres,
            }
        } else {
            return Err(StoreError::Url {
                url: url.to_string(),
                message: "expected sqlite://PATH or postgres://USER@HOST/DB".to_string(),
            });
        };
        migrate::run(&db).await?;
        Ok(db)
    }

    async fn connect_sqlite(url: &str, path: &Path) -> Result<Db, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| StoreError::Url {
                url: url.to_string(),
                message: format!("cannot create directory {}: {err}", dir.display()),
            })?;
        }
        let absolute = std::path::absolute(path).map_err(|err| StoreError::Url {
            url: url.to_string(),
            message: format!("cannot resolve {}: {err}", path.display()),
        })?;
        let encoded: String = absolute
            .to_string_lossy()
            .chars()
            .map(|c| match c {
                '%' => "%25".to_string(),
                ' ' => "%20".to_string(),
                '?' => "%3F".to_string(),
                '#' => "%23".to_string(),
                other => other.to_string(),
            })
            .collect();
        let connect_url = format!("sqlite://{encoded}?mode=rwc");
        let options = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute(SQLITE_PRAGMAS).await?;
                        Ok(())
                    })
                })
        };
        let write = options(1).connect(&connect_url).await?;
        // WAL is a property of the file; set it once, before the readers open.
        sqlx::query("PRAGMA journal_mode = WAL")
            .fetch_optional(&write)
            .await?;
        let read = options(8).connect(&connect_url).await?;
        Ok(Db {
            read,
            write,
            backend: Backend::Sqlite,
        })
    }

    /// The engine in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for reads.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// The pool for writes (on SQLite a single connection).
    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }

    /// Closes the pools.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// The file path of a `sqlite://PATH` or `sqlite:PATH` URL (query string dropped).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(path))
}

/// SQL text with numbered placeholders and its arguments, built piece by piece.
///
/// Placeholders are `$n`, which both engines accept. For statements with many parameters
/// (batched inserts) use [`Sql::for_connection`]: on SQLite it writes `?n` instead, because
/// SQLite looks each `$name` up by a linear scan of the names seen so far (quadratic in the
/// number of parameters: seconds for a 10,000-parameter insert), while `?n` costs nothing.
pub struct Sql {
    text: String,
    args: AnyArguments,
    count: usize,
    marker: char,
}

impl Sql {
    /// Starts with a fixed piece of SQL; placeholders are `$n`.
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: AnyArguments::default(),
            count: 0,
            marker: '$',
        }
    }

    /// Like [`Sql::new`], with the cheapest placeholder form of the connection's engine.
    pub fn for_connection(conn: &sqlx::AnyConnection, text: &str) -> Sql {
        let mut sql = Sql::new(text);
        if conn.backend_name() == "SQLite" {
            sql.marker = '?';
        }
        sql
    }

    /// Appends `(c1 LIKE p OR c2 LIKE p ...)`: `q` as a substring of any of the `columns`
    /// (fixed SQL, never user input), any case, with `%` and `_` taken literally. The pattern
    /// is lower-cased; PostgreSQL compares `LOWER(column)`, SQLite's `LIKE` already ignores
    /// ASCII case (its `LOWER` knows no other letters either), and skipping the call per row
    /// and column makes a scan 1.7x faster.
    pub fn push_contains_any(&mut self, backend: Backend, columns: &[&str], q: &str) -> &mut Sql {
        let pattern = crate::findings::like_pattern(q);
        self.push("(");
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                self.push(" OR ");
            }
            match backend {
                Backend::Postgres => self.push("LOWER(").push(column).push(")"),
                Backend::Sqlite => self.push(column),
            };
            self.push(" LIKE ")
                .bind(pattern.clone())
                .push(" ESCAPE '\\'");
        }
        self.push(")")
    }

    /// Appends fixed SQL text (never user input).
    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Sql
    where
        T: for<'q> Encode<'q, Any> + Type<Any> + 'static,
    {
        self.count += 1;
        let _ = write!(self.text, "{}{}", self.marker, self.count);
        // Encoding into `AnyArguments` only fails for types `Any` cannot carry, which the
        // bounds above rule out; keep the placeholder count and the arguments in step anyway.
        if let Err(err) = self.args.add(value) {
            tracing::error!(error = %err, "cannot bind SQL argument");
        }
        self
    }

    /// The number of placeholders so far.
    pub fn arg_count(&self) -> usize {
        self.count
    }

    /// The query, ready to execute.
    pub fn build(self) -> sqlx::query::Query<'static, Any, AnyArguments> {
        sqlx::query_with(AssertSqlSafe(self.text), self.args)
    }
}

/// Reads a column, naming it in the error.
pub(crate) fn col<T>(row: &AnyRow, name: &str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, Any> + Type<Any>,
{
    row.try_get::<T, _>(name)
        .map_err(|err| StoreError::Corrupt(format!("column {name}: {err}")))
}

/// Reads a 0/1 flag column.
pub(crate) fn flag(row: &AnyRow, name: &str) -> Result<bool, StoreError> {
    Ok(col::<i64>(row, name)? != 0)
}

/// The store: the database plus what its queries need to know (clock, settings).
#[derive(Clone)]
pub struct Store {
    db: Db,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
    /// The OSV database inventories are matched against (from `settings.findings.vuln_db`).
    vuln_db: Arc<crate::findings::vulndb::VulnDb>,
}

impl Store {
    /// Wraps a connected database.
    pub fn new(db: Db, clock: Arc<dyn Clock>, settings: Arc<Settings>) -> Store {
        let vuln_db = Arc::new(crate::findings::vulndb::VulnDb::new(
            settings.findings.vuln_db.clone(),
        ));
        Store {
            db,
            clock,
            settings,
            vuln_db,
        }
    }

    /// The same store matching against `vuln_db` (tests, benchmarks).
    pub fn with_vuln_db(mut self, vuln_db: Arc<crate::findings::vulndb::VulnDb>) -> Store {
        self.vuln_db = vuln_db;
        self
    }

    /// The vulnerability database holder.
    pub fn vuln_db(&self) -> &Arc<crate::findings::vulndb::VulnDb> {
        &self.vuln_db
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// Who did something, for the audit log and `created_by` columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    /// The server itself (jobs, bootstrap).
    pub fn system() -> Actor {
        Actor("system".to_string())
    }
}
