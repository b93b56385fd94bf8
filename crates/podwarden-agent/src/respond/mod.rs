//! Response actions the agent carries out on the host: quarantine of files (the vault).

pub mod files;
pub mod kill;
pub mod vault;
