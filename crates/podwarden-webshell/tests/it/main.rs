//! Integration tests of podwarden-webshell (one test binary for the crate).

mod corpus;
mod samples;
mod tree;
