//! End-to-end tests of the `podwarden` binary (one test binary for the crate).
mod agent_e2e;
mod center_scenarios;
mod db;
mod http;
mod inject;
mod rules;
mod scan_k8s;
mod scan_vuln;
mod scan_webshell;
mod server;
mod up;
