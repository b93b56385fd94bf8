//! Runtime detection rules: Falco-format rule files and Podwarden's own rules, compiled once.
//!
//! [`RuleSet::compile`] reads rule sources (Falco's YAML format: `rule`, `macro`, `list`,
//! `exceptions`, `append`/`override`, plus Podwarden's `id`, `alert_type`, `advice` keys) and
//! never fails: what cannot be used is reported as a [`Diagnostic`] with a stable code, the file
//! and line, and left out. The result is immutable; share it behind an `Arc` and call
//! [`RuleSet::evaluate`] for each [`podwarden_api::event::Event`]. The crate does no IO and
//! reads no clock: callers hand it text and events.

mod builtin;
mod compile;
mod condition;
pub mod diagnostic;
mod extract;
mod fields;
mod loader;
mod matchers;
mod output;
mod program;
mod reference;
mod ruleset;
mod yaml;

pub use diagnostic::{Code, Diagnostic, Severity};
pub use extract::Scratch;
pub use fields::Kind;
pub use loader::ENGINE_VERSION;
pub use ruleset::{
    Alert, AlertType, CompileOptions, Match, Priority, Rule, RuleSet, RuleSource, RuleStatus,
    Summary,
};
