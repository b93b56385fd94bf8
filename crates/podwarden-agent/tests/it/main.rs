//! Integration tests of podwarden-agent (one test binary for the crate).
mod vault;
