//! Integration tests of podwarden-baseline (one test binary for the crate).

mod exemptions;
mod fix;
mod hardening;
mod manifests;
mod psa;
