//! Integration tests of podwarden-baseline (one test binary for the crate).

mod psa;
