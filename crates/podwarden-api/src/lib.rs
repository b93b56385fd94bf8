//! Wire types shared by the agent, the server and the CLI: versioned, serialisable, no IO.

/// Version of the wire format; bumped when a type changes incompatibly.
pub const WIRE_VERSION: u32 = 1;

pub mod agent;
pub mod event;
pub mod uplink;
