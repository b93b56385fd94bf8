//! Integration tests of podwarden-rules (one test binary for the crate).

mod diagnostics;
mod differential;
mod events;
mod exceptions;
mod falco_mutations;
mod falco_stable;
mod grammar;
mod own_rules;
mod semantics;
mod support;
