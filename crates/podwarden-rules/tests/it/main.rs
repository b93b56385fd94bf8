//! Integration tests of podwarden-rules (one test binary for the crate).
