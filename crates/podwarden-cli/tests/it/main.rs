//! End-to-end tests of the `podwarden` binary (one test binary for the crate).
mod db;
mod scan_vuln;
mod scan_k8s;
mod server;
mod rules;
mod scan_webshell;
mod inject;
