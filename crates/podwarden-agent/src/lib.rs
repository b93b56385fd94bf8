//! The Podwarden agent: watches a pod (or a host) and reports to the center.
pub mod respond;
