//! Integration tests of podwarden-webshell (one test binary for the crate).
