//! Integration tests of podwarden-webshell (one test binary for the crate).

mod anchored_rules;
mod corpus;
mod rule_warnings;
mod samples;
mod tree;
