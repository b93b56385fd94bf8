//! Baseline checks of pod specs: Pod Security Standards, hardening checks, fixes and exemptions.
//!
//! - [`check_source`] reads a manifest source (YAML stream or JSON) document by document and
//!   returns a [`Report`]: findings with file, document, line, object and container, plus the
//!   documents that could not be read.
//! - [`check_document`] checks one already-parsed object (or `kind: List`).
//! - [`fix()`] rewrites a source, applying the fixes of chosen findings byte-preservingly.
//! - [`CATALOGUE`] describes every check; [`Options`] selects level, Pod Security Standards
//!   version, custom kinds and exemptions.
//!
//! The crate opens no socket and reads no clock: exemption expiry compares with
//! [`Options::now`], which the caller passes in.

mod catalogue;
mod engine;
mod exempt;
mod files;
mod finding;
mod fix;
mod hardening;
mod manifest;
mod options;
mod patch;
mod pod;
mod pss;
pub mod sarif;
mod yaml_edit;
mod yaml_value;

pub use catalogue::{CATALOGUE, Check, CheckLevel, check};
pub use engine::{Report, check_document, check_pod_spec, check_source};
pub use exempt::{
    ExemptionRule, Exemptions, SKIP_ANNOTATION, SKIP_CONTAINER_ANNOTATION_PREFIX,
    SKIP_REASON_ANNOTATION, glob_match,
};
pub use files::{
    FileResult, MAX_MANIFEST_BYTES, ReadError, check_files, check_files_with, manifest_paths,
    read_manifest, read_manifest_from,
};
pub use finding::{
    ContainerKind, ContainerRef, Exemption, ExemptionSource, Finding, FindingKey, Fix, FixSafety,
    Location, ObjectRef, PatchOp, Severity,
};
pub use fix::{AppliedFix, FixMode, FixOutcome, NotFixed, fix};
pub use manifest::{
    Document, DocumentError, Format, PodLocation, escape_pointer, list_items, object_ref,
    parse_document, pod_location, split_documents,
};
pub use options::{
    Config, ConfigError, CustomKind, Level, Options, PssVersion, default_custom_kinds,
};
pub use patch::{PatchError, apply as apply_patch};
pub use pss::active_checks;

/// The time crate used for [`Options::now`], re-exported so that callers need not depend on it.
pub use jiff;
