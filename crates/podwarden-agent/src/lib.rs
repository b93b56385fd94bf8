//! The Podwarden agent: watches a pod (or a host) and reports to the center.
pub mod collect;
pub mod config;
pub mod detect;
pub mod ids;
pub mod respond;
pub mod runtime;
pub mod scan;
pub mod spool;
pub mod uplink;
