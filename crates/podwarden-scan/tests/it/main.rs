//! Integration tests of podwarden-scan (one test binary for the crate).
mod image;
mod inventory_os;
mod lang;
mod matching;
mod osv;
mod ranks;
mod report;
mod rootfs;
mod versions;
