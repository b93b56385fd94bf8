//! Integration tests of podwarden-scan (one test binary for the crate).
mod inventory_os;
mod rootfs;
mod versions;
mod matching;
mod osv;
mod lang;
mod image;
mod report;
