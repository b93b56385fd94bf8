//! Reading Falco-format rule files: `rule`, `macro` and `list` items with `append` and
//! `override` applied in load order as Falco defines them, `exceptions`, required versions, and
//! Podwarden's own rule keys (`id`, `alert_type`, `advice`).

use crate::diagnostic::{Code, Diagnostic, Location, Severity};
use crate::yaml::{self, Node};
use crate::{Priority, RuleSource};
use std::collections::HashMap;
use std::sync::Arc;

/// The Falco rule-engine version whose file format this engine reads.
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 57, 0);

/// Part of a condition, with where it was written (an appended condition has several).
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub text: String,
    pub loc: Location,
    /// The source lines the condition spans, to find the line of a field in it.
    pub raw: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ListDef {
    pub items: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct MacroDef {
    pub name: String,
    pub condition: Vec<Piece>,
    pub loc: Location,
}

#[derive(Debug, Clone)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone)]
pub(crate) enum ExceptionValue {
    Scalar(String),
    List(Vec<String>),
}

#[derive(Debug, Clone)]
pub(crate) struct ExceptionDef {
    pub name: String,
    pub fields: Option<OneOrMany>,
    pub comps: Option<OneOrMany>,
    /// One tuple per value entry (a one-element tuple when `fields` is a single field).
    pub values: Vec<(Vec<ExceptionValue>, Location)>,
    pub loc: Location,
}

#[derive(Debug, Clone)]
pub(crate) struct RuleDef {
    pub name: String,
    pub loc: Location,
    pub condition: Vec<Piece>,
    pub output: String,
    pub desc: String,
    pub priority: Priority,
    pub enabled: bool,
    pub tags: Vec<String>,
    pub exceptions: Vec<ExceptionDef>,
    pub source: String,
    pub id: Option<String>,
    pub alert_type: Option<String>,
    pub advice: Option<String>,
    /// Problems found while loading that disable the rule.
    pub errors: Vec<Diagnostic>,
}

/// Everything loaded from the sources, in definition order.
#[derive(Default)]
pub(crate) struct Collected {
    pub lists: HashMap<String, ListDef>,
    pub macros: HashMap<String, MacroDef>,
    pub rules: Vec<RuleDef>,
    rule_index: HashMap<String, usize>,
    pub diagnostics: Vec<Diagnostic>,
    /// Sources that could not be parsed at all.
    pub unparsable: usize,
}

const RULE_KEYS: &[&str] = &[
    "rule",
    "condition",
    "output",
    "desc",
    "priority",
    "enabled",
    "tags",
    "exceptions",
    "source",
    "append",
    "override",
    "required_engine_version",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
    "id",
    "alert_type",
    "advice",
];
const RULE_APPENDABLE: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
const RULE_REPLACEABLE: &[&str] = &[
    "condition",
    "output",
    "desc",
    "priority",
    "tags",
    "exceptions",
    "enabled",
    "warn_evttypes",
    "capture",
    "capture_duration",
    "skip-if-unknown-filter",
    "id",
    "alert_type",
    "advice",
];

struct FileCtx<'a> {
    file: Arc<str>,
    lines: Vec<&'a str>,
}

impl FileCtx<'_> {
    fn at(&self, node: &Node) -> Location {
        Location {
            file: self.file.clone(),
            line: node.line,
        }
    }

    fn raw(&self, node: &Node) -> String {
        let start = node.line.saturating_sub(1);
        let end = node.end_line.max(node.line).min(self.lines.len());
        self.lines
            .get(start..end)
            .map(|l| l.join("\n"))
            .unwrap_or_default()
    }

    fn piece(&self, node: &Node, text: &str) -> Piece {
        Piece {
            text: text.to_string(),
            loc: self.at(node),
            raw: self.raw(node),
        }
    }
}

fn diag(code: Code, severity: Severity, at: &Location, message: String) -> Diagnostic {
    Diagnostic::new(code, severity, at, message)
}

/// Parse `MAJOR.MINOR.PATCH` or an old integer engine version `N` (= `0.N.0`).
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u64>() {
        return Some((0, n, 0));
    }
    let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    Some((major, minor, patch))
}

impl Collected {
    /// Load one source after those already loaded.
    pub(crate) fn load(&mut self, source: &RuleSource) {
        let file: Arc<str> = Arc::from(source.name.as_str());
        let documents = match yaml::parse(&source.text) {
            Ok(documents) => documents,
            Err(err) => {
                self.unparsable += 1;
                let at = Location {
                    file,
                    line: err.line,
                };
                self.diagnostics.push(diag(
                    Code::YamlSyntax,
                    Severity::Error,
                    &at,
                    format!("not valid YAML, file skipped: {}", err.message),
                ));
                return;
            }
        };
        let ctx = FileCtx {
            file,
            lines: source.text.lines().collect(),
        };
        for document in &documents {
            if document.is_null() {
                continue;
            }
            let Some(items) = document.as_seq() else {
                self.diagnostics.push(diag(
                    Code::InvalidItem,
                    Severity::Error,
                    &ctx.at(document),
                    format!(
                        "a rules file is a sequence of items, found {}",
                        document.type_name()
                    ),
                ));
                continue;
            };
            for item in items {
                self.load_item(&ctx, item);
            }
        }
    }

    fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    fn load_item(&mut self, ctx: &FileCtx<'_>, item: &Node) {
        let at = ctx.at(item);
        if item.as_map().is_none() {
            self.push(diag(
                Code::InvalidItem,
                Severity::Error,
                &at,
                format!("an item must be a mapping, found {}", item.type_name()),
            ));
            return;
        }
        if item.get("rule").is_some() {
            self.load_rule(ctx, item);
        } else if item.get("macro").is_some() {
            self.load_macro(ctx, item);
        } else if item.get("list").is_some() {
            self.load_list(ctx, item);
        } else if let Some(version) = item.get("required_engine_version") {
            self.check_engine_version(ctx, version, None);
        } else if let Some(plugins) = item.get("required_plugin_versions") {
            self.note_plugins(ctx, plugins);
        } else {
            let keys: Vec<&str> = item
                .as_map()
                .unwrap_or_default()
                .iter()
                .filter_map(|(k, _)| k.as_str())
                .collect();
            self.push(diag(
                Code::UnknownKey,
                Severity::Warning,
                &at,
                format!("unknown item (keys: {}); ignored", keys.join(", ")),
            ));
        }
    }

    fn check_engine_version(&mut self, ctx: &FileCtx<'_>, node: &Node, rule: Option<&str>) {
        let at = ctx.at(node);
        let text = node.as_str().unwrap_or_default();
        match parse_version(text) {
            Some(required) if required > ENGINE_VERSION => {
                let (a, b, c) = ENGINE_VERSION;
                let mut d = diag(
                    Code::EngineVersion,
                    Severity::Warning,
                    &at,
                    format!(
                        "requires engine version {text}, this engine implements {a}.{b}.{c}; loading anyway"
                    ),
                );
                if let Some(rule) = rule {
                    d = d.rule(rule);
                }
                self.push(d);
            }
            Some(_) => {}
            None => self.push(diag(
                Code::InvalidItem,
                Severity::Warning,
                &at,
                format!("`{text}` is not an engine version; ignored"),
            )),
        }
    }

    fn note_plugins(&mut self, ctx: &FileCtx<'_>, plugins: &Node) {
        for plugin in plugins.as_seq().unwrap_or_default() {
            let name = plugin.get("name").and_then(Node::as_str).unwrap_or("?");
            let at = ctx.at(plugin);
            let d = if name == "container" {
                diag(
                    Code::PluginRequired,
                    Severity::Info,
                    &at,
                    "plugin `container` is built in: container.* and k8s.* fields come from the agent's pod context".to_string(),
                )
            } else {
                diag(
                    Code::PluginRequired,
                    Severity::Warning,
                    &at,
                    format!(
                        "plugin `{name}` is not available: rules using its source or fields are skipped"
                    ),
                )
            };
            self.push(d);
        }
    }

    fn warn_unknown_keys(
        &mut self,
        ctx: &FileCtx<'_>,
        item: &Node,
        known: &[&str],
        what: &str,
        name: &str,
    ) {
        for (key, _) in item.as_map().unwrap_or_default() {
            let key_name = key.as_str().unwrap_or_default();
            if !known.contains(&key_name) {
                self.push(
                    diag(
                        Code::UnknownKey,
                        Severity::Warning,
                        &ctx.at(key),
                        format!("unknown key `{key_name}` in {what} `{name}`; ignored"),
                    )
                    .rule(name),
                );
            }
        }
    }

    /// Reads `append` and `override`; `Err` when they are used wrongly (diagnostic pushed).
    fn update_mode(
        &mut self,
        ctx: &FileCtx<'_>,
        item: &Node,
        name_key: &str,
        name: &str,
        appendable: &[&str],
        replaceable: &[&str],
    ) -> Result<Update, ()> {
        let at = ctx.at(item);
        let append = match item.get("append") {
            Some(node) => match node.as_bool() {
                Some(b) => b,
                None => {
                    self.push(
                        diag(
                            Code::InvalidItem,
                            Severity::Error,
                            &ctx.at(node),
                            format!("`append` of `{name}` must be true or false"),
                        )
                        .rule(name),
                    );
                    return Err(());
                }
            },
            None => false,
        };
        let Some(override_node) = item.get("override") else {
            return Ok(if append {
                Update::LegacyAppend
            } else {
                Update::Define
            });
        };
        if append {
            self.push(
                diag(
                    Code::InvalidOverride,
                    Severity::Error,
                    &at,
                    format!("`{name}` uses both `append` and `override`"),
                )
                .rule(name),
            );
            return Err(());
        }
        let Some(entries) = override_node.as_map() else {
            self.push(
                diag(
                    Code::InvalidOverride,
                    Severity::Error,
                    &ctx.at(override_node),
                    format!("`override` of `{name}` must be a mapping"),
                )
                .rule(name),
            );
            return Err(());
        };
        let mut modes = Vec::new();
        for (key, mode) in entries {
            let key_name = key.as_str().unwrap_or_default().to_string();
            let mode_name = mode.as_str().unwrap_or_default();
            let allowed = match mode_name {
                "append" => appendable.contains(&key_name.as_str()),
                "replace" => replaceable.contains(&key_name.as_str()),
                _ => false,
            };
            if !allowed {
                self.push(
                    diag(
                        Code::InvalidOverride,
                        Severity::Error,
                        &ctx.at(key),
                        format!("`{key_name}: {mode_name}` is not a valid override of `{name}`"),
                    )
                    .rule(name),
                );
                return Err(());
            }
            if item.get(&key_name).is_none() {
                self.push(diag(Code::InvalidOverride, Severity::Error, &ctx.at(key), format!("`override` of `{name}` lists `{key_name}` but the item has no `{key_name}`")).rule(name));
                return Err(());
            }
            modes.push((key_name, mode_name == "append"));
        }
        for (key, _) in item.as_map().unwrap_or_default() {
            let key_name = key.as_str().unwrap_or_default();
            if key_name != name_key
                && key_name != "override"
                && !modes.iter().any(|(k, _)| k == key_name)
            {
                self.push(
                    diag(
                        Code::InvalidOverride,
                        Severity::Error,
                        &ctx.at(key),
                        format!("`{key_name}` of `{name}` is not listed in its `override`"),
                    )
                    .rule(name),
                );
                return Err(());
            }
        }
        Ok(Update::Override(modes))
    }

    fn load_list(&mut self, ctx: &FileCtx<'_>, item: &Node) {
        let at = ctx.at(item);
        let Some(name) = item.get("list").and_then(Node::as_str).map(str::to_string) else {
            self.push(diag(
                Code::InvalidItem,
                Severity::Error,
                &at,
                "`list` must be a name".to_string(),
            ));
            return;
        };
        self.warn_unknown_keys(
            ctx,
            item,
            &["list", "items", "append", "override"],
            "list",
            &name,
        );
        let Ok(mode) = self.update_mode(ctx, item, "list", &name, &["items"], &["items"]) else {
            return;
        };
        let items = match item.get("items") {
            None => None,
            Some(node) if node.is_null() => Some(Vec::new()),
            Some(node) => {
                match node.as_seq() {
                    Some(seq) => {
                        let mut items = Vec::new();
                        for value in seq {
                            match value.as_str() {
                            Some(text) => items.push(text.to_string()),
                            None => self.push(diag(Code::InvalidList, Severity::Warning, &ctx.at(value), format!("list `{name}`: an item must be a scalar, found {}; ignored", value.type_name()))),
                        }
                        }
                        Some(items)
                    }
                    None => {
                        self.push(diag(
                            Code::InvalidItem,
                            Severity::Error,
                            &ctx.at(node),
                            format!("`items` of list `{name}` must be a sequence"),
                        ));
                        return;
                    }
                }
            }
        };
        let Some(items) = items else {
            self.push(diag(
                Code::InvalidItem,
                Severity::Error,
                &at,
                format!("list `{name}` has no `items`"),
            ));
            return;
        };
        let append = match &mode {
            Update::Define => false,
            Update::LegacyAppend => true,
            Update::Override(modes) => modes.iter().any(|(_, append)| *append),
        };
        let replace_existing = !append && matches!(mode, Update::Override(_));
        if append || replace_existing {
            match self.lists.get_mut(&name) {
                Some(existing) if append => existing.items.extend(items),
                Some(existing) => existing.items = items,
                None => self.push(diag(
                    Code::NothingToAppendTo,
                    Severity::Error,
                    &at,
                    format!(
                        "list `{name}` is appended to or overridden but was not defined before"
                    ),
                )),
            }
        } else {
            self.lists.insert(name, ListDef { items });
        }
    }

    fn load_macro(&mut self, ctx: &FileCtx<'_>, item: &Node) {
        let at = ctx.at(item);
        let Some(name) = item.get("macro").and_then(Node::as_str).map(str::to_string) else {
            self.push(diag(
                Code::InvalidItem,
                Severity::Error,
                &at,
                "`macro` must be a name".to_string(),
            ));
            return;
        };
        self.warn_unknown_keys(
            ctx,
            item,
            &[
                "macro",
                "condition",
                "append",
                "override",
                "required_engine_version",
            ],
            "macro",
            &name,
        );
        let Ok(mode) = self.update_mode(ctx, item, "macro", &name, &["condition"], &["condition"])
        else {
            return;
        };
        let Some(cond_node) = item.get("condition") else {
            self.push(diag(
                Code::InvalidItem,
                Severity::Error,
                &at,
                format!("macro `{name}` has no `condition`"),
            ));
            return;
        };
        let Some(text) = cond_node.as_str() else {
            self.push(diag(
                Code::InvalidItem,
                Severity::Error,
                &ctx.at(cond_node),
                format!("`condition` of macro `{name}` must be a string"),
            ));
            return;
        };
        let piece = ctx.piece(cond_node, text);
        let append = match &mode {
            Update::Define => None,
            Update::LegacyAppend => Some(true),
            Update::Override(modes) => Some(modes.iter().any(|(_, append)| *append)),
        };
        match append {
            None => {
                self.macros.insert(
                    name.clone(),
                    MacroDef {
                        name,
                        condition: vec![piece],
                        loc: at,
                    },
                );
            }
            Some(append) => match self.macros.get_mut(&name) {
                Some(existing) if append => existing.condition.push(piece),
                Some(existing) => existing.condition = vec![piece],
                None => self.push(diag(
                    Code::NothingToAppendTo,
                    Severity::Error,
                    &at,
                    format!(
                        "macro `{name}` is appended to or overridden but was not defined before"
                    ),
                )),
            },
        }
    }

    fn string_list(
        &mut self,
        ctx: &FileCtx<'_>,
        node: &Node,
        what: &str,
        rule: &str,
    ) -> Vec<String> {
        if let Some(text) = node.as_str() {
            if node.is_null() {
                return Vec::new();
            }
            return vec![text.to_string()];
        }
        let mut out = Vec::new();
        for value in node.as_seq().unwrap_or_default() {
            match value.as_str() {
                Some(text) => out.push(text.to_string()),
                None => self.push(
                    diag(
                        Code::InvalidItem,
                        Severity::Warning,
                        &ctx.at(value),
                        format!("{what} of `{rule}` must be strings; an entry ignored"),
                    )
                    .rule(rule),
                ),
            }
        }
        out
    }

    fn load_exceptions(
        &mut self,
        ctx: &FileCtx<'_>,
        node: &Node,
        rule: &str,
        errors: &mut Vec<Diagnostic>,
    ) -> Vec<ExceptionDef> {
        let mut out = Vec::new();
        if node.is_null() {
            return out;
        }
        let Some(seq) = node.as_seq() else {
            errors.push(
                diag(
                    Code::InvalidException,
                    Severity::Error,
                    &ctx.at(node),
                    "`exceptions` must be a sequence".to_string(),
                )
                .rule(rule),
            );
            return out;
        };
        for entry in seq {
            let at = ctx.at(entry);
            let Some(name) = entry.get("name").and_then(Node::as_str) else {
                errors.push(
                    diag(
                        Code::InvalidException,
                        Severity::Error,
                        &at,
                        "an exception needs a `name`".to_string(),
                    )
                    .rule(rule),
                );
                continue;
            };
            let one_or_many = |node: Option<&Node>| -> Option<OneOrMany> {
                let node = node?;
                if let Some(text) = node.as_str() {
                    return Some(OneOrMany::One(text.to_string()));
                }
                Some(OneOrMany::Many(
                    node.as_seq()?
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect(),
                ))
            };
            let fields = one_or_many(entry.get("fields"));
            let comps = one_or_many(entry.get("comps"));
            let mut values = Vec::new();
            for value in entry
                .get("values")
                .and_then(Node::as_seq)
                .unwrap_or_default()
            {
                let value_at = ctx.at(value);
                let element = |n: &Node| -> Option<ExceptionValue> {
                    if let Some(text) = n.as_str() {
                        return Some(ExceptionValue::Scalar(text.to_string()));
                    }
                    Some(ExceptionValue::List(
                        n.as_seq()?
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_string))
                            .collect(),
                    ))
                };
                let tuple = match (&fields, value.as_seq()) {
                    (Some(OneOrMany::Many(_)), Some(seq)) => {
                        seq.iter().map(element).collect::<Option<Vec<_>>>()
                    }
                    (_, _) => element(value).map(|v| vec![v]),
                };
                match tuple {
                    Some(tuple) => values.push((tuple, value_at)),
                    None => errors.push(
                        diag(
                            Code::InvalidException,
                            Severity::Error,
                            &value_at,
                            format!(
                                "exception `{name}`: a value must be a scalar or a list of scalars"
                            ),
                        )
                        .rule(rule),
                    ),
                }
            }
            out.push(ExceptionDef {
                name: name.to_string(),
                fields,
                comps,
                values,
                loc: at,
            });
        }
        out
    }

    fn load_rule(&mut self, ctx: &FileCtx<'_>, item: &Node) {
        let at = ctx.at(item);
        let Some(name) = item.get("rule").and_then(Node::as_str).map(str::to_string) else {
            self.push(diag(
                Code::InvalidItem,
                Severity::Error,
                &at,
                "`rule` must be a name".to_string(),
            ));
            return;
        };
        self.warn_unknown_keys(ctx, item, RULE_KEYS, "rule", &name);
        if let Some(version) = item.get("required_engine_version") {
            self.check_engine_version(ctx, version, Some(&name));
        }
        let Ok(mode) =
            self.update_mode(ctx, item, "rule", &name, RULE_APPENDABLE, RULE_REPLACEABLE)
        else {
            return;
        };
        let mut errors = Vec::new();
        let text_of = |key: &str| item.get(key).and_then(Node::as_str).map(str::to_string);
        let condition = item
            .get("condition")
            .and_then(|n| n.as_str().map(|t| ctx.piece(n, t)));
        let exceptions = item
            .get("exceptions")
            .map(|n| self.load_exceptions(ctx, n, &name, &mut errors));
        let tags = item
            .get("tags")
            .map(|n| self.string_list(ctx, n, "tags", &name));
        let enabled = item.get("enabled").map(|n| {
            n.as_bool().unwrap_or_else(|| {
                errors.push(
                    diag(
                        Code::InvalidItem,
                        Severity::Error,
                        &ctx.at(n),
                        "`enabled` must be true or false".to_string(),
                    )
                    .rule(&name),
                );
                false
            })
        });
        let priority = item.get("priority").map(|n| {
            let text = n.as_str().unwrap_or_default();
            Priority::parse(text).ok_or_else(|| {
                diag(Code::InvalidPriority, Severity::Error, &ctx.at(n), format!("`{text}` is not a priority (EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFORMATIONAL, DEBUG)")).rule(&name)
            })
        });
        let priority = match priority {
            Some(Ok(p)) => Some(p),
            Some(Err(d)) => {
                errors.push(d);
                None
            }
            None => None,
        };
        match mode {
            Update::Define => {
                let Some(condition) = condition else {
                    // `- rule: X` with `enabled` alone switches an existing rule on or off.
                    if let (Some(enabled), Some(&index)) = (enabled, self.rule_index.get(&name)) {
                        if let Some(rule) = self.rules.get_mut(index) {
                            rule.enabled = enabled;
                        }
                        return;
                    }
                    let message = if enabled.is_some() {
                        format!("rule `{name}` is enabled/disabled but was not defined before")
                    } else {
                        format!("rule `{name}` has no `condition`")
                    };
                    let code = if enabled.is_some() {
                        Code::NothingToAppendTo
                    } else {
                        Code::InvalidItem
                    };
                    self.push(diag(code, Severity::Error, &at, message).rule(&name));
                    return;
                };
                let Some(output) = text_of("output") else {
                    self.push(
                        diag(
                            Code::InvalidItem,
                            Severity::Error,
                            &at,
                            format!("rule `{name}` has no `output`"),
                        )
                        .rule(&name),
                    );
                    return;
                };
                if priority.is_none() && errors.is_empty() {
                    self.push(
                        diag(
                            Code::InvalidItem,
                            Severity::Error,
                            &at,
                            format!("rule `{name}` has no `priority`"),
                        )
                        .rule(&name),
                    );
                    return;
                }
                let def = RuleDef {
                    name: name.clone(),
                    loc: at,
                    condition: vec![condition],
                    output,
                    desc: text_of("desc").unwrap_or_default(),
                    priority: priority.unwrap_or(Priority::Debug),
                    enabled: enabled.unwrap_or(true),
                    tags: tags.unwrap_or_default(),
                    exceptions: exceptions.unwrap_or_default(),
                    source: text_of("source").unwrap_or_else(|| "syscall".to_string()),
                    id: text_of("id"),
                    alert_type: text_of("alert_type"),
                    advice: text_of("advice"),
                    errors,
                };
                match self.rule_index.get(&name) {
                    Some(&index) => {
                        if let Some(slot) = self.rules.get_mut(index) {
                            *slot = def;
                        }
                    }
                    None => {
                        self.rule_index.insert(name, self.rules.len());
                        self.rules.push(def);
                    }
                }
            }
            Update::LegacyAppend | Update::Override(_) => {
                let Some(rule) = self
                    .rule_index
                    .get(&name)
                    .and_then(|&i| self.rules.get_mut(i))
                else {
                    self.diagnostics.push(diag(Code::NothingToAppendTo, Severity::Error, &at, format!("rule `{name}` is appended to or overridden but was not defined before")).rule(&name));
                    return;
                };
                let is_append = |key: &str| match &mode {
                    Update::LegacyAppend => true,
                    Update::Override(modes) => modes.iter().any(|(k, append)| k == key && *append),
                    Update::Define => false,
                };
                let listed = |key: &str| match &mode {
                    Update::LegacyAppend => true,
                    Update::Override(modes) => modes.iter().any(|(k, _)| k == key),
                    Update::Define => false,
                };
                rule.errors.extend(errors);
                if let Some(piece) = condition.filter(|_| listed("condition")) {
                    if is_append("condition") {
                        rule.condition.push(piece);
                    } else {
                        rule.condition = vec![piece];
                    }
                }
                for (key, slot) in [("output", &mut rule.output), ("desc", &mut rule.desc)] {
                    if let Some(text) = text_of(key).filter(|_| listed(key)) {
                        if is_append(key) {
                            slot.push(' ');
                            slot.push_str(&text);
                        } else {
                            *slot = text;
                        }
                    }
                }
                if let Some(tags) = tags.filter(|_| listed("tags")) {
                    if is_append("tags") {
                        for tag in tags {
                            if !rule.tags.contains(&tag) {
                                rule.tags.push(tag);
                            }
                        }
                    } else {
                        rule.tags = tags;
                    }
                }
                if let Some(exceptions) = exceptions.filter(|_| listed("exceptions")) {
                    if is_append("exceptions") {
                        merge_exceptions(&mut rule.exceptions, exceptions);
                    } else {
                        rule.exceptions = exceptions;
                    }
                }
                if !matches!(mode, Update::LegacyAppend) {
                    if let Some(priority) = priority.filter(|_| listed("priority")) {
                        rule.priority = priority;
                    }
                    if let Some(enabled) = enabled.filter(|_| listed("enabled")) {
                        rule.enabled = enabled;
                    }
                    for (key, slot) in [
                        ("id", &mut rule.id),
                        ("alert_type", &mut rule.alert_type),
                        ("advice", &mut rule.advice),
                    ] {
                        if let Some(text) = text_of(key).filter(|_| listed(key)) {
                            *slot = Some(text);
                        }
                    }
                }
            }
        }
    }
}

/// Appending exceptions: values of an exception with the same name are added to it; new names
/// are added as new exceptions.
fn merge_exceptions(existing: &mut Vec<ExceptionDef>, added: Vec<ExceptionDef>) {
    for exception in added {
        match existing.iter_mut().find(|e| e.name == exception.name) {
            Some(current) => {
                current.values.extend(exception.values);
                if current.fields.is_none() {
                    current.fields = exception.fields;
                }
                if current.comps.is_none() {
                    current.comps = exception.comps;
                }
            }
            None => existing.push(exception),
        }
    }
}

enum Update {
    Define,
    LegacyAppend,
    /// `(key, append?)` for each key of `override`.
    Override(Vec<(String, bool)>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("0.57.0"), Some((0, 57, 0)));
        assert_eq!(parse_version("13"), Some((0, 13, 0)));
        assert_eq!(parse_version("1.2"), Some((1, 2, 0)));
        assert_eq!(parse_version("x"), None);
    }
}
