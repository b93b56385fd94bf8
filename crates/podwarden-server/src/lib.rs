//! The Podwarden center: REST API, agent channel, store (SQLite or PostgreSQL), metering and
//! jobs. `podwarden server` (in the CLI crate) parses flags and calls [`Server::start`].
//!
//! Code map:
//! - [`api`]: routes and handlers; [`app`] builds the whole router for a state;
//! - [`auth`]: tokens, roles, principals, authentication middleware (tenancy starts here);
//! - [`store`]: every SQL query, each taking the tenant it works in; [`store::migrate`];
//! - [`assets`]: the asset domain (instance types, protectable verdicts, observed pods);
//! - [`metering`]: exact money, CPU quantities, time zones, accrual over intervals;
//! - [`clusters`]: Kubernetes clusters as asset sources: kubeconfig checks and sealing, the
//!   kube-rs client, the sync (on demand and periodic), applying baseline fixes to workloads
//!   (SQL in `store::clusters`, routes in `api::clusters`);
//! - [`jobs`]: the periodic scheduler (metering flush, bills, hooks for later jobs);
//! - [`findings`]: alerts from agent detections, vulnerability findings, baseline risks,
//!   whitelists, commands to agents and the scan schedule (SQL in `store::{alerts, commands,
//!   uploads, vulns, baseline, scans}`, routes in `api::{alerts, agent_uploads, vulns,
//!   baseline, scans}`);
//! - [`inject`]: agent sidecar injection (pure, shared with `podwarden inject`) and the
//!   admission webhook (`POST /admission/mutate`, also on its own TLS listener);
//! - [`console`]: the web console (HTML pages, sign-in, sessions, console users);
//! - [`metrics`]: Prometheus metrics; [`config`]: settings; [`clock`]: injectable time.

pub mod api;
pub mod assets;
pub mod auth;
pub mod clock;
pub mod clusters;
pub mod config;
pub mod console;
pub mod error;
pub mod findings;
pub mod inject;
pub mod jobs;
pub mod metering;
pub mod metrics;
pub mod state;
pub mod store;

pub use api::app;
pub use state::AppState;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::error::StoreError;
use crate::jobs::Scheduler;
use crate::store::tenants::Bootstrap;
use crate::store::{Db, Store};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Why the server cannot start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Webhook(#[from] crate::inject::tls::WebhookError),
    #[error(transparent)]
    Clock(#[from] crate::clock::ClockFileError),
}

/// A started server: database open and migrated, operator bootstrapped, socket bound.
pub struct Server {
    state: AppState,
    listener: TcpListener,
    bootstrap: Bootstrap,
    /// The admission webhook's TLS listener, when `webhook_listen` is set.
    webhook: Option<crate::inject::tls::WebhookListener>,
}

impl Server {
    /// Opens the database, applies migrations, bootstraps the operator tenant, and binds
    /// the listen address.
    pub async fn start(
        settings: Settings,
        bootstrap_token: Option<&str>,
    ) -> Result<Server, ServeError> {
        let clock: Arc<dyn Clock> = match &settings.clock_file {
            Some(path) => crate::clock::FileClock::open(path)?,
            None => Arc::new(SystemClock),
        };
        Server::start_with_clock(settings, bootstrap_token, clock).await
    }

    /// [`Server::start`] with a given clock.
    pub async fn start_with_clock(
        settings: Settings,
        bootstrap_token: Option<&str>,
        clock: Arc<dyn Clock>,
    ) -> Result<Server, ServeError> {
        let db = Db::connect(&settings.database).await?;
        let listen = settings.listen;
        let webhook = match &settings.inject.webhook {
            Some(tls) => Some(crate::inject::tls::WebhookListener::bind(tls).await?),
            None => None,
        };
        let store = Store::new(db, clock, Arc::new(settings));
        let bootstrap = store.bootstrap(bootstrap_token).await?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: listen,
                source,
            })?;
        Ok(Server {
            state: AppState::new(store),
            listener,
            bootstrap,
            webhook,
        })
    }

    /// What the bootstrap did (the CLI prints a generated token once).
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// The admission webhook's bound address, when it listens.
    pub fn webhook_addr(&self) -> Option<SocketAddr> {
        self.webhook.as_ref().and_then(|w| w.local_addr())
    }

    /// The shared state (to plug in hooks before [`Server::run`]).
    pub fn state_mut(&mut self) -> &mut AppState {
        &mut self.state
    }

    /// Serves until `shutdown` completes, then stops accepting, finishes open requests,
    /// stops the jobs and closes the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let store = self.state.store.clone();
        let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
        let jobs = Scheduler::with_builtin_jobs(store.clone()).spawn(jobs_stopped);
        let webhook = self.webhook.map(|w| w.spawn(self.state.clone()));
        let router = app(self.state);
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Some(webhook) = webhook {
            webhook.stop().await;
        }
        let _ = stop_jobs.send(true);
        for job in jobs {
            let _ = job.await;
        }
        // Record usage up to the moment of shutdown.
        for tenant in store.all_tenant_ids().await.unwrap_or_default() {
            if let Err(err) = store.flush_tenant(tenant).await {
                tracing::warn!(tenant = %tenant, error = %err, "final metering flush failed");
            }
        }
        store.db().close().await;
        served.map_err(ServeError::Serve)
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        _ = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
