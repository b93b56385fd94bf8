//! Background jobs: a small scheduler of periodic tokio tasks. On PostgreSQL each run takes an
//! advisory lock named after the job, so with several replicas only one runs it at a time.
//!
//! Built in: `metering-flush` (accrue usage of every tenant up to now), `close-bills`
//! (produce yesterday's bills) and, on SQLite, `wal-checkpoint`. Agent online/offline is derived from the last heartbeat at
//! read time, so no job marks agents offline. Later features add their jobs (asset sync,
//! scan schedules) with [`Scheduler::add`].

use crate::error::StoreError;
use crate::state::BoxFuture;
use crate::store::{Backend, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A periodic job.
pub trait Job: Send + Sync + 'static {
    /// Stable name (logs, lock key).
    fn name(&self) -> &'static str;
    /// One run.
    fn run<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Flushes metering for every tenant.
#[derive(Debug, Default)]
pub struct MeteringFlush;

impl Job for MeteringFlush {
    fn name(&self) -> &'static str {
        "metering-flush"
    }

    fn run<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            for tenant in store.all_tenant_ids().await? {
                store.flush_tenant(tenant).await?;
            }
            Ok(())
        })
    }
}

/// Closes the bills of finished days for every tenant.
#[derive(Debug, Default)]
pub struct CloseBills;

impl Job for CloseBills {
    fn name(&self) -> &'static str {
        "close-bills"
    }

    fn run<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            for tenant in store.all_tenant_ids().await? {
                let closed = store.close_bills(tenant).await?;
                if !closed.is_empty() {
                    tracing::info!(tenant = %tenant, days = ?closed, "closed bills");
                }
            }
            Ok(())
        })
    }
}

/// SQLite only: copies the write-ahead log back into the database file with a passive
/// checkpoint on a reader connection, so the single writer never stalls on a checkpoint (and
/// its fsync) in the middle of a heartbeat burst.
#[derive(Debug, Default)]
pub struct WalCheckpoint;

impl Job for WalCheckpoint {
    fn name(&self) -> &'static str {
        "wal-checkpoint"
    }

    fn run<'a>(&'a self, store: &'a Store) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if store.db().backend() == Backend::Sqlite {
                sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_optional(store.db().reader())
                    .await?;
            }
            Ok(())
        })
    }
}

/// Stable 63-bit key of a job name for `pg_try_advisory_lock`.
pub fn lock_key(name: &str) -> i64 {
    // FNV-1a: stable across builds and platforms (unlike std's hasher).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 1) as i64
}

/// Runs a job once, under its advisory lock on PostgreSQL. Returns false when another
/// replica holds the lock (the run is skipped).
pub async fn run_once(store: &Store, job: &dyn Job) -> Result<bool, StoreError> {
    if store.db().backend() != Backend::Postgres {
        job.run(store).await?;
        return Ok(true);
    }
    let key = lock_key(job.name());
    let mut conn = store.db().writer().acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Ok(false);
    }
    let result = job.run(store).await;
    if let Err(err) = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(&mut *conn)
        .await
    {
        tracing::warn!(job = job.name(), error = %err, "cannot release job lock");
    }
    result.map(|()| true)
}

/// Periodic jobs and their intervals.
pub struct Scheduler {
    store: Store,
    jobs: Vec<(Arc<dyn Job>, Duration)>,
}

impl Scheduler {
    /// A scheduler with no jobs.
    pub fn new(store: Store) -> Scheduler {
        Scheduler {
            store,
            jobs: Vec::new(),
        }
    }

    /// A scheduler with the built-in jobs at their configured intervals.
    pub fn with_builtin_jobs(store: Store) -> Scheduler {
        let flush = Duration::from_secs(store.settings().metering_flush_secs);
        let bills = Duration::from_secs(store.settings().bill_close_secs);
        let mut scheduler = Scheduler::new(store);
        scheduler.add(Arc::new(MeteringFlush), flush);
        scheduler.add(Arc::new(CloseBills), bills);
        if scheduler.store.db().backend() == Backend::Sqlite {
            scheduler.add(Arc::new(WalCheckpoint), Duration::from_secs(1));
        }
        let cluster_sync =
            Duration::from_secs(scheduler.store.settings().clusters.sync_interval_secs);
        scheduler.add(
            Arc::new(crate::clusters::sync::ClusterSyncJob::new()),
            cluster_sync,
        );
        for (job, every) in crate::findings::jobs::jobs(&scheduler.store) {
            scheduler.add(job, every);
        }
        scheduler
    }

    /// Adds a job run every `every`.
    pub fn add(&mut self, job: Arc<dyn Job>, every: Duration) {
        self.jobs.push((job, every));
    }

    /// Starts one task per job; each stops when `shutdown` turns true.
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        self.jobs
            .into_iter()
            .map(|(job, every)| {
                let store = self.store.clone();
                let mut shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let mut ticker = tokio::time::interval(every);
                    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tokio::select! {
                            _ = ticker.tick() => {}
                            _ = shutdown.changed() => break,
                        }
                        if *shutdown.borrow() {
                            break;
                        }
                        match run_once(&store, job.as_ref()).await {
                            Ok(true) => tracing::debug!(job = job.name(), "job ran"),
                            Ok(false) => tracing::debug!(
                                job = job.name(),
                                "job skipped: another replica holds it"
                            ),
                            Err(err) => {
                                tracing::error!(job = job.name(), error = %err, "job failed")
                            }
                        }
                    }
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        assert_eq!(lock_key("metering-flush"), lock_key("metering-flush"));
        assert_ne!(lock_key("metering-flush"), lock_key("close-bills"));
        assert!(lock_key("x") >= 0);
    }
}
