//! Podwarden's own rule files, embedded in the binary from the workspace's `rules/` directory.

use crate::RuleSource;

/// The embedded files, in load order (shared lists and macros first).
const FILES: &[(&str, &str)] = &[
    (
        "podwarden_macros.yaml",
        include_str!("../../../rules/podwarden_macros.yaml"),
    ),
    (
        "podwarden_process.yaml",
        include_str!("../../../rules/podwarden_process.yaml"),
    ),
    (
        "podwarden_network.yaml",
        include_str!("../../../rules/podwarden_network.yaml"),
    ),
    (
        "podwarden_webshell.yaml",
        include_str!("../../../rules/podwarden_webshell.yaml"),
    ),
];

/// The embedded rule files as sources (named `builtin:FILE`).
pub(crate) fn sources() -> Vec<RuleSource> {
    FILES
        .iter()
        .map(|(name, text)| RuleSource::new(format!("builtin:{name}"), *text))
        .collect()
}
