//! One module per command; each has its clap `Args` and a `run` returning the exit code.

pub mod agent;
pub mod db;
pub mod inject;
pub mod rules;
pub mod scan_k8s;
pub mod scan_vuln;
pub mod scan_webshell;
pub mod server;
pub mod up;
