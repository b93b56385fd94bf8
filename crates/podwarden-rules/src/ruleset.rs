//! The compiled, immutable rule set: compile once from rule sources, evaluate every event
//! against the rules indexed under its event type, and report every rule that matches.

use crate::compile::{Compiler, Node};
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::extract::{Ctx, Scratch};
use crate::fields::{KINDS, Kind};
use crate::loader::Collected;
use crate::matchers::FastBuild;
use crate::output::OutputTemplate;
use crate::program::{Program, ProgramBuilder};
use podwarden_api::event::Event;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// A rule file's text and the name diagnostics use for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    /// File name (or any label) shown in diagnostics.
    pub name: String,
    /// YAML text.
    pub text: String,
}

impl RuleSource {
    /// A source named `name`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        RuleSource {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// Which rules to run.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Rules with any of these tags are compiled but not run.
    pub disabled_tags: Vec<String>,
    /// Rules less severe than this are compiled but not run.
    pub min_priority: Option<Priority>,
}

/// Falco's priorities, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Priority {
    /// EMERGENCY
    Emergency,
    /// ALERT
    Alert,
    /// CRITICAL
    Critical,
    /// ERROR
    Error,
    /// WARNING
    Warning,
    /// NOTICE
    Notice,
    /// INFORMATIONAL (or INFO)
    Informational,
    /// DEBUG
    Debug,
}

impl Priority {
    /// Parse a priority name, any case (`INFO` is `INFORMATIONAL`).
    pub fn parse(text: &str) -> Option<Priority> {
        Some(match text.trim().to_ascii_uppercase().as_str() {
            "EMERGENCY" => Priority::Emergency,
            "ALERT" => Priority::Alert,
            "CRITICAL" => Priority::Critical,
            "ERROR" => Priority::Error,
            "WARNING" | "WARN" => Priority::Warning,
            "NOTICE" => Priority::Notice,
            "INFORMATIONAL" | "INFO" => Priority::Informational,
            "DEBUG" => Priority::Debug,
            _ => return None,
        })
    }

    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "EMERGENCY",
            Priority::Alert => "ALERT",
            Priority::Critical => "CRITICAL",
            Priority::Error => "ERROR",
            Priority::Warning => "WARNING",
            Priority::Notice => "NOTICE",
            Priority::Informational => "INFORMATIONAL",
            Priority::Debug => "DEBUG",
        }
    }

    /// The alert severity shown to operators: `critical`, `high`, `medium`, `low` or `info`.
    pub fn severity(self) -> &'static str {
        match self {
            Priority::Emergency | Priority::Alert | Priority::Critical => "critical",
            Priority::Error => "high",
            Priority::Warning => "medium",
            Priority::Notice => "low",
            Priority::Informational | Priority::Debug => "info",
        }
    }
}

/// The product's three alert types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertType {
    /// Webshells.
    Webshell,
    /// Abnormal network connections.
    Network,
    /// Suspicious processes.
    Process,
}

impl AlertType {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::Webshell => "webshell",
            AlertType::Network => "network",
            AlertType::Process => "process",
        }
    }

    fn parse(text: &str) -> Option<AlertType> {
        match text.trim().to_ascii_lowercase().as_str() {
            "webshell" => Some(AlertType::Webshell),
            "network" => Some(AlertType::Network),
            "process" => Some(AlertType::Process),
            _ => None,
        }
    }
}

/// Whether a rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// Compiled and running.
    Enabled,
    /// Compiled, but `enabled: false` or filtered out by [`CompileOptions`].
    Off,
    /// Not compiled: see the diagnostics.
    Failed,
    /// For another event source (`k8s_audit`, plugins); not compiled.
    Skipped,
}

/// A rule as loaded.
#[derive(Debug)]
pub struct Rule {
    /// Rule name.
    pub name: String,
    /// Podwarden's rule id (`id:`), or the name for Falco rules.
    pub id: String,
    /// Description.
    pub desc: String,
    /// Priority.
    pub priority: Priority,
    /// Alert type: `alert_type:`, or for Falco rules `network` when tagged so, else `process`.
    pub alert_type: AlertType,
    /// Tags.
    pub tags: Vec<String>,
    /// What to do about an alert (`advice:`).
    pub advice: Option<String>,
    /// The output format as written.
    pub output_format: String,
    /// File it was defined in.
    pub file: String,
    /// Line of its definition.
    pub line: usize,
    /// Whether it runs.
    pub status: RuleStatus,
    /// Falco event types (`evt.type`) it can match.
    pub event_types: Vec<&'static str>,
    output: OutputTemplate,
}

/// A rule that matched an event, with its rendered output (borrowed; valid during the callback).
#[derive(Debug, Clone, Copy)]
pub struct Match<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// Its output for this event.
    pub output: &'a str,
}

/// An owned match, for collecting and printing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Rule name.
    pub rule: String,
    /// Rule id.
    pub id: String,
    /// Priority.
    pub priority: Priority,
    /// Severity derived from the priority.
    pub severity: &'static str,
    /// Alert type.
    pub alert_type: AlertType,
    /// Rule tags.
    pub tags: Vec<String>,
    /// Rendered output.
    pub output: String,
}

impl Match<'_> {
    /// An owned copy.
    pub fn to_alert(&self) -> Alert {
        Alert {
            rule: self.rule.name.clone(),
            id: self.rule.id.clone(),
            priority: self.rule.priority,
            severity: self.rule.priority.severity(),
            alert_type: self.rule.alert_type,
            tags: self.rule.tags.clone(),
            output: self.output.to_string(),
        }
    }
}

/// Counts of rules by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Rules loaded (all statuses).
    pub total: usize,
    /// Running.
    pub enabled: usize,
    /// Switched off.
    pub off: usize,
    /// Disabled by a diagnostic.
    pub failed: usize,
    /// For another event source.
    pub skipped: usize,
}

/// A compiled rule set: immutable, `Send + Sync`, share it behind an `Arc`.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Per event kind: the rules that can match it, compiled.
    index: Vec<KindIndex>,
    /// The running rules' conditions as bound, for [`RuleSet::evaluate_reference`].
    reference: Vec<ReferenceRule>,
}

/// A running rule for the reference evaluation.
#[derive(Debug)]
struct ReferenceRule {
    position: usize,
    kinds: Vec<Kind>,
    condition: Node,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

static BUILTIN: OnceLock<Arc<RuleSet>> = OnceLock::new();

impl RuleSet {
    /// Compile rule sources, later sources appending to and overriding earlier ones. Never
    /// fails: whatever cannot be used is reported in the diagnostics and left out.
    pub fn compile(sources: &[RuleSource], options: &CompileOptions) -> (RuleSet, Vec<Diagnostic>) {
        let mut collected = Collected::default();
        for source in sources {
            collected.load(source);
        }
        let mut diagnostics = std::mem::take(&mut collected.diagnostics);
        let mut compiler = Compiler::new(&collected);
        let mut rules = Vec::with_capacity(collected.rules.len());
        let mut index: Vec<Vec<(usize, Node)>> = KINDS.iter().map(|_| Vec::new()).collect();
        let mut reference = Vec::new();
        for def in &collected.rules {
            let alert_type = match def.alert_type.as_deref() {
                Some(text) => AlertType::parse(text).unwrap_or_else(|| {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::InvalidItem,
                            Severity::Warning,
                            &def.loc,
                            format!("`alert_type: {text}` is not webshell, network or process; using process"),
                        )
                        .rule(&def.name),
                    );
                    AlertType::Process
                }),
                None if def.tags.iter().any(|t| t == "network") => AlertType::Network,
                None => AlertType::Process,
            };
            let (output, unavailable) = OutputTemplate::compile(&def.output);
            let mut rule = Rule {
                name: def.name.clone(),
                id: def.id.clone().unwrap_or_else(|| def.name.clone()),
                desc: def.desc.trim().to_string(),
                priority: def.priority,
                alert_type,
                tags: def.tags.clone(),
                advice: def.advice.as_ref().map(|a| a.trim().to_string()),
                output_format: def.output.trim().to_string(),
                file: def.loc.file.to_string(),
                line: def.loc.line,
                status: RuleStatus::Enabled,
                event_types: Vec::new(),
                output,
            };
            if def.source != "syscall" {
                diagnostics.push(
                    Diagnostic::new(
                        Code::UnsupportedSource,
                        Severity::Warning,
                        &def.loc,
                        format!("rule is for the `{}` event source; only `syscall` rules run on agent events; skipped", def.source),
                    )
                    .rule(&def.name),
                );
                rule.status = RuleStatus::Skipped;
                rules.push(rule);
                continue;
            }
            if !def.errors.is_empty() {
                diagnostics.extend(def.errors.iter().cloned());
                rule.status = RuleStatus::Failed;
                rules.push(rule);
                continue;
            }
            let compiled =
                match compiler.compile_rule(&def.name, &def.loc, &def.condition, &def.exceptions) {
                    Ok(compiled) => compiled,
                    Err(errors) => {
                        diagnostics.extend(errors);
                        rule.status = RuleStatus::Failed;
                        rules.push(rule);
                        continue;
                    }
                };
            diagnostics.extend(compiled.warnings.iter().cloned());
            if !unavailable.is_empty() {
                diagnostics.push(
                    Diagnostic::new(
                        Code::OutputField,
                        Severity::Warning,
                        &def.loc,
                        format!(
                            "output fields print as <NA> (not available to the agent): {}",
                            unavailable.join(", ")
                        ),
                    )
                    .rule(&def.name),
                );
            }
            rule.event_types = compiled
                .per_kind
                .iter()
                .map(|(k, _)| k.evt_type())
                .collect();
            let filtered = options.disabled_tags.iter().any(|t| def.tags.contains(t))
                || options.min_priority.is_some_and(|min| def.priority > min);
            if !def.enabled || filtered {
                rule.status = RuleStatus::Off;
            } else {
                let position = rules.len();
                reference.push(ReferenceRule {
                    position,
                    kinds: compiled.per_kind.iter().map(|(k, _)| *k).collect(),
                    condition: compiled.bound,
                });
                for (kind, node) in compiled.per_kind {
                    if let Some(slot) = index.get_mut(kind.index()) {
                        slot.push((position, node));
                    }
                }
            }
            rules.push(rule);
        }
        let index = index.into_iter().map(KindIndex::new).collect();
        (
            RuleSet {
                rules,
                index,
                reference,
            },
            diagnostics,
        )
    }

    /// Podwarden's own rules (embedded in the binary), compiled once per process.
    pub fn builtin() -> Arc<RuleSet> {
        BUILTIN
            .get_or_init(|| {
                Arc::new(RuleSet::compile(&crate::builtin::sources(), &CompileOptions::default()).0)
            })
            .clone()
    }

    /// Podwarden's own rule files, to compile together with others.
    pub fn builtin_sources() -> Vec<RuleSource> {
        crate::builtin::sources()
    }

    /// Every rule loaded, whatever its status, in definition order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Counts by status.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            total: self.rules.len(),
            ..Summary::default()
        };
        for rule in &self.rules {
            match rule.status {
                RuleStatus::Enabled => summary.enabled += 1,
                RuleStatus::Off => summary.off += 1,
                RuleStatus::Failed => summary.failed += 1,
                RuleStatus::Skipped => summary.skipped += 1,
            }
        }
        summary
    }

    /// Names of the running rules an event of this Falco event type meets (the index).
    pub fn rules_for_event_type(&self, evt_type: &str) -> Vec<&str> {
        KINDS
            .iter()
            .filter(|k| k.evt_type() == evt_type)
            .flat_map(|k| {
                self.index
                    .get(k.index())
                    .into_iter()
                    .flat_map(|i| i.rules.iter())
            })
            .filter_map(|(i, _)| self.rules.get(*i).map(|r| r.name.as_str()))
            .collect()
    }

    /// Evaluate an event: `on_match` is called for every running rule that matches, in
    /// definition order. Uses a per-thread scratch buffer; allocates nothing once warm.
    pub fn evaluate(&self, event: &Event, on_match: &mut impl FnMut(&Match<'_>)) {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.evaluate_with(event, &mut scratch, on_match),
            // Re-entered from a callback: use a fresh buffer.
            Err(_) => self.evaluate_with(event, &mut Scratch::default(), on_match),
        });
    }

    /// [`RuleSet::evaluate`] with a caller-owned scratch buffer.
    pub fn evaluate_with(
        &self,
        event: &Event,
        scratch: &mut Scratch,
        on_match: &mut impl FnMut(&Match<'_>),
    ) {
        let kind = Kind::of(event);
        let Some(index) = self.index.get(kind.index()) else {
            return;
        };
        let mut ctx = Ctx::new(event, kind, scratch);
        index.program.reset(&mut ctx);
        for &(position, entry) in index.candidates(event) {
            if !index.program.run(entry, &mut ctx) {
                continue;
            }
            if let Some(rule) = self.rules.get(position) {
                report(rule, &mut ctx, on_match);
            }
        }
    }

    /// [`RuleSet::evaluate`] done the plain way, for testing the optimised evaluation against:
    /// every running rule of the event's type is tested by walking its condition as written
    /// (macros substituted, nothing folded, merged, shared or cached). Same matches, slower.
    #[doc(hidden)]
    pub fn evaluate_reference(&self, event: &Event, on_match: &mut impl FnMut(&Match<'_>)) {
        let kind = Kind::of(event);
        let mut scratch = Scratch::default();
        let mut ctx = Ctx::new(event, kind, &mut scratch);
        for candidate in &self.reference {
            if !candidate.kinds.contains(&kind)
                || !crate::reference::eval(&candidate.condition, &mut ctx)
            {
                continue;
            }
            if let Some(rule) = self.rules.get(candidate.position) {
                report(rule, &mut ctx, on_match);
            }
        }
    }

    /// All matches of an event, owned.
    pub fn matches(&self, event: &Event) -> Vec<Alert> {
        let mut alerts = Vec::new();
        self.evaluate(event, &mut |m| alerts.push(m.to_alert()));
        alerts
    }
}

/// Render a matching rule's output and hand the match to the caller.
fn report(rule: &Rule, ctx: &mut Ctx<'_, '_>, on_match: &mut impl FnMut(&Match<'_>)) {
    let mut buffer = ctx.take_output();
    rule.output.render(ctx, &mut buffer);
    ctx.put_output(buffer);
    on_match(&Match {
        rule,
        output: ctx.output(),
    });
}

/// The rules of one event kind, specialised by process name: most checks of `proc.name`
/// (`proc.name in (...)` gating a rule, `not proc.name in (...)` excepting one) are answered
/// once per event by looking its name up, each name with its own copy of the conditions
/// with those checks folded away, so an event meets only the rules its name leaves possible
/// and tests no `proc.name` check twice.
#[derive(Debug)]
struct KindIndex {
    /// Rule position and the entry of its condition as compiled (no name assumed), in
    /// definition order: for events without a process.
    rules: Vec<(usize, u32)>,
    /// The conditions of all these rules and of their specialisations.
    program: Program,
    /// For each name some `=`, `!=` or `in` check of `proc.name` mentions: the rules that
    /// can match a process so named, and the entries of their specialised conditions.
    by_name: HashMap<Box<str>, Candidates, FastBuild>,
    /// The same for any other name.
    other: Candidates,
}

/// Rule positions and the entries of their conditions, in definition order.
type Candidates = Box<[(usize, u32)]>;

impl KindIndex {
    fn new(all: Vec<(usize, Node)>) -> KindIndex {
        let mut names: Vec<&str> = Vec::new();
        for (_, node) in &all {
            node.named_process_names(&mut names);
        }
        names.sort_unstable();
        names.dedup();
        let mut code = ProgramBuilder::new(all.iter().map(|(_, node)| node)).finish();
        let rules = all
            .iter()
            .map(|(position, node)| (*position, code.add(node)))
            .collect();
        let mut specialise = |name: Option<&str>| -> Candidates {
            all.iter()
                .filter_map(|(position, node)| match node.assume_name(name) {
                    Node::Const(false) => None,
                    folded => Some((*position, code.add(&folded))),
                })
                .collect()
        };
        let other = specialise(None);
        let by_name = names
            .iter()
            .map(|name| (Box::<str>::from(*name), specialise(Some(name))))
            .collect();
        KindIndex {
            rules,
            program: code.finish(),
            by_name,
            other,
        }
    }

    /// The rules worth evaluating for this event and their entries, in definition order.
    #[inline]
    fn candidates(&self, event: &Event) -> &[(usize, u32)] {
        match event.process() {
            Some(process) => self
                .by_name
                .get(crate::extract::comm(&process.name))
                .map_or(&self.other, |rules| rules),
            None => &self.rules,
        }
    }
}
