//! Integration tests of podwarden-scan (one test binary for the crate).
