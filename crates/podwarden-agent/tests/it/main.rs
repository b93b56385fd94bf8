//! Integration tests of podwarden-agent (one test binary for the crate).
mod config;
mod detect;
mod files;
mod kill;
mod procfs;
mod spool;
mod tracker;
mod uplink;
mod vault;
mod webroot;
