//! Integration tests of the center: store tests on SQLite (always) and PostgreSQL (when
//! `PODWARDEN_TEST_POSTGRES_URL` is set), handler tests through `app(state).oneshot(...)`.

mod console_support;
mod fake_apiserver;
mod findings_support;
mod support;

mod admission;
mod agents;
mod alerts;
mod api_access;
mod api_input;
mod baseline_risks;
mod binding;
mod clusters;
mod console;
mod console_ja;
mod handling;
mod metering;
mod migrations;
mod routes;
mod scans;
mod sync;
mod sync_k8s;
mod uploads;
mod vulns;
mod workload_fix;
