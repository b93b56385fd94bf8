//! Pure analyses of software content: package inventory, OSV vulnerability matching, reports.
//!
//! This crate opens no socket and no database and reads no clock; callers pass time in.

pub mod inventory;
pub mod report;
pub mod vuln;
