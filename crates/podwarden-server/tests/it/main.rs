//! Integration tests of the center: store tests on SQLite (always) and PostgreSQL (when
//! `PODWARDEN_TEST_POSTGRES_URL` is set), handler tests through `app(state).oneshot(...)`.

mod support;

mod admission;
mod agents;
mod api_access;
mod api_input;
mod binding;
mod metering;
mod migrations;
mod sync;
