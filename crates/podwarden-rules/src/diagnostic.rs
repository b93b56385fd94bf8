//! Diagnostics of rule compilation: stable codes, the file and line they point at, the rule and
//! field concerned.

use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A note; nothing was lost.
    Info,
    /// Accepted with a caveat (an unknown key ignored, an output field shown as `<NA>`).
    Warning,
    /// Something was not loaded: a file, an item, or a rule that is now disabled.
    Error,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Stable diagnostic codes. The code says what happened; [`Diagnostic::message`] says where and
/// why in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Code {
    /// `R001`: the file is not valid YAML (whole file skipped).
    YamlSyntax,
    /// `R002`: an item has the wrong shape (not a mapping, a key of the wrong type, a missing
    /// required key); the item is skipped.
    InvalidItem,
    /// `R003`: a key this engine does not know; ignored.
    UnknownKey,
    /// `R004`: a condition does not parse; the rule (or the rules using the macro) is disabled.
    ConditionSyntax,
    /// `R005`: a condition names a macro that is not defined.
    UndefinedMacro,
    /// `R006`: a macro includes itself (directly or through others).
    MacroCycle,
    /// `R007`: a field that neither Falco's syscall source nor Podwarden defines.
    UnknownField,
    /// `R008`: a Falco field whose value the agent cannot observe (it sees `/proc`, not
    /// syscalls); the rule is disabled rather than evaluated on a made-up value.
    UnsupportedField,
    /// `R009`: a rule for another event source (`k8s_audit`, `aws_cloudtrail`, plugins); skipped.
    UnsupportedSource,
    /// `R010`: `append`/`override` of something not defined before.
    NothingToAppendTo,
    /// `R011`: the rule can only match event types the agent never produces.
    NoMatchingEventType,
    /// `R012`: a value that does not fit the field or operator (not a number, a bad regex or
    /// network, an operator the field's type does not have).
    InvalidValue,
    /// `R013`: output fields that will print as `<NA>` (unknown or not observable).
    OutputField,
    /// `R014`: the file requires a newer engine version than this one.
    EngineVersion,
    /// `R015`: the file requires a plugin; plugin fields are not available.
    PluginRequired,
    /// `R016`: an invalid priority.
    InvalidPriority,
    /// `R017`: an invalid exception (fields, comps and values do not line up).
    InvalidException,
    /// `R018`: `append`/`override` used wrongly (both together, keys not listed, ...).
    InvalidOverride,
    /// `R019`: a list item that is neither a value nor a list name known to this engine.
    InvalidList,
}

impl Code {
    /// The stable code, e.g. `R008`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::YamlSyntax => "R001",
            Code::InvalidItem => "R002",
            Code::UnknownKey => "R003",
            Code::ConditionSyntax => "R004",
            Code::UndefinedMacro => "R005",
            Code::MacroCycle => "R006",
            Code::UnknownField => "R007",
            Code::UnsupportedField => "R008",
            Code::UnsupportedSource => "R009",
            Code::NothingToAppendTo => "R010",
            Code::NoMatchingEventType => "R011",
            Code::InvalidValue => "R012",
            Code::OutputField => "R013",
            Code::EngineVersion => "R014",
            Code::PluginRequired => "R015",
            Code::InvalidPriority => "R016",
            Code::InvalidException => "R017",
            Code::InvalidOverride => "R018",
            Code::InvalidList => "R019",
        }
    }

    /// A short kebab-case name, e.g. `unsupported-field`.
    pub fn name(self) -> &'static str {
        match self {
            Code::YamlSyntax => "yaml-syntax",
            Code::InvalidItem => "invalid-item",
            Code::UnknownKey => "unknown-key",
            Code::ConditionSyntax => "condition-syntax",
            Code::UndefinedMacro => "undefined-macro",
            Code::MacroCycle => "macro-cycle",
            Code::UnknownField => "unknown-field",
            Code::UnsupportedField => "unsupported-field",
            Code::UnsupportedSource => "unsupported-source",
            Code::NothingToAppendTo => "nothing-to-append-to",
            Code::NoMatchingEventType => "no-matching-event-type",
            Code::InvalidValue => "invalid-value",
            Code::OutputField => "output-field",
            Code::EngineVersion => "engine-version",
            Code::PluginRequired => "plugin-required",
            Code::InvalidPriority => "invalid-priority",
            Code::InvalidException => "invalid-exception",
            Code::InvalidOverride => "invalid-override",
            Code::InvalidList => "invalid-list",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding of the compiler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// What happened.
    pub code: Code,
    /// How bad it is.
    pub severity: Severity,
    /// The rule source (file name) it points at.
    pub file: String,
    /// 1-based line in that file; 0 when there is none.
    pub line: usize,
    /// The rule concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The field concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Explanation.
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn new(code: Code, severity: Severity, at: &Location, message: String) -> Self {
        Diagnostic {
            code,
            severity,
            file: at.file.to_string(),
            line: at.line,
            rule: None,
            field: None,
            message,
        }
    }

    pub(crate) fn rule(mut self, name: &str) -> Self {
        self.rule = Some(name.to_string());
        self
    }

    pub(crate) fn field(mut self, name: &str) -> Self {
        self.field = Some(name.to_string());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(
            f,
            ": {}[{}]: {}",
            self.severity.as_str(),
            self.code,
            self.message
        )?;
        if let Some(rule) = &self.rule {
            write!(f, " (rule \"{rule}\")")?;
        }
        Ok(())
    }
}

/// A place in a rule source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub file: std::sync::Arc<str>,
    pub line: usize,
}
