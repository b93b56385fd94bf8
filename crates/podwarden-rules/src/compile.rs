//! Turning a rule's condition into evaluable trees: macros substituted, lists expanded,
//! exceptions added, fields resolved, values compiled, then one tree per event kind with
//! `evt.type` and the fields that kind lacks folded away (that is the `evt.type` index).

use crate::condition::{self, Ast, CheckAst, FieldName, Literal, Op, Rhs};
use crate::diagnostic::{Code, Diagnostic, Location, Severity};
use crate::extract::Ctx;
use crate::fields::{self, AncPart, Availability, Constant, Field, FieldError, KINDS, Kind, Side};
use crate::loader::{Collected, ExceptionDef, ExceptionValue, OneOrMany, Piece};
use crate::matchers::{Matcher, NumOp, Val};
use std::collections::HashMap;
use std::sync::Arc;

/// Cost from which a term is evaluated after the cheaper terms of its `and`/`or`.
const EXPENSIVE: u32 = 24;

/// A compiled condition (tree).
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Const(bool),
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Check(Arc<Check>),
    /// A field we cannot fill; a rule still holding one after folding is disabled.
    Unsupported(Arc<UnsupportedField>),
}

/// One `field op value` check.
#[derive(Debug)]
pub(crate) struct Check {
    pub field: Field,
    pub matcher: Matcher,
    /// The field as written, for messages.
    pub text: String,
    pub loc: Location,
    /// Identifies what the check computes: two checks with the same key give the same answer
    /// on every event (field, operator and values), so an event evaluates it once.
    pub key: Box<str>,
}

#[derive(Debug)]
pub(crate) struct UnsupportedField {
    pub field: String,
    pub reason: String,
    pub loc: Location,
}

impl Check {
    #[inline]
    pub(crate) fn eval(&self, ctx: &mut Ctx<'_, '_>) -> bool {
        match &self.field {
            Field::Anc { part, level: None } => {
                let depth = ctx.depth();
                (1..=depth).any(|level| self.matcher.matches(ctx.ancestor_value(*part, level)))
            }
            Field::FdIp(Side::Either)
            | Field::FdPort(Side::Either)
            | Field::FdNet(Side::Either) => {
                let values = ctx.either(&self.field);
                if self.is_negative() {
                    values.iter().any(|v| *v != Val::Missing)
                        && values
                            .iter()
                            .all(|v| *v == Val::Missing || self.matcher.matches(*v))
                } else {
                    values.iter().any(|v| self.matcher.matches(*v))
                }
            }
            field if self.matcher.uses_mask() => match ctx.masked_value(field) {
                Some((value, mask)) => self.matcher.matches_masked(value, &mask),
                None => {
                    let value = ctx.value(field);
                    self.matcher.matches(value)
                }
            },
            field => {
                let value = ctx.value(field);
                self.matcher.matches(value)
            }
        }
    }

    fn is_negative(&self) -> bool {
        matches!(
            self.matcher,
            Matcher::IpNotIn(_) | Matcher::Num(NumOp::Ne, _) | Matcher::StrNe(_)
        )
    }

    /// Rough evaluation cost, to test cheap checks first.
    fn cost(&self) -> u32 {
        let field = match &self.field {
            Field::Anc { level: None, .. } => 24,
            Field::Anc {
                part: AncPart::Cmdline,
                ..
            }
            | Field::ProcArgs
            | Field::ProcCwd
            | Field::Cap(_)
            | Field::FdName
            | Field::EvtTime
            | Field::EvtTimeIso => 6,
            _ => 2,
        };
        let matcher = match &self.matcher {
            Matcher::Regex(_) => 24,
            Matcher::Glob(_) | Matcher::PMatch(_) => 6,
            Matcher::Contains(_) | Matcher::IContains(_) => 4,
            Matcher::StrIn(_) | Matcher::IpIn(_) | Matcher::IpNotIn(_) => 2,
            _ => 1,
        };
        field * matcher
    }
}

impl Node {
    /// Whether the tree holds a costly check (a regex, an any-ancestor loop).
    fn is_expensive(&self) -> bool {
        match self {
            Node::And(terms) | Node::Or(terms) => terms.iter().any(Node::is_expensive),
            Node::Not(inner) => inner.is_expensive(),
            Node::Check(check) => check.cost() >= EXPENSIVE,
            Node::Const(_) | Node::Unsupported(_) => false,
        }
    }

    /// The tree for events of `kind`: constants folded, inapplicable fields false, cheap
    /// terms first.
    pub(crate) fn fold(&self, kind: Kind) -> Node {
        match self {
            Node::Const(b) => Node::Const(*b),
            Node::Unsupported(u) => Node::Unsupported(u.clone()),
            Node::Not(inner) => match inner.fold(kind) {
                Node::Const(b) => Node::Const(!b),
                other => Node::Not(Box::new(other)),
            },
            Node::And(terms) | Node::Or(terms) => {
                let is_and = matches!(self, Node::And(_));
                let mut kept = Vec::with_capacity(terms.len());
                for term in terms.iter() {
                    match term.fold(kind) {
                        Node::Const(b) if b == is_and => {}
                        Node::Const(b) => return Node::Const(b),
                        // Flatten `a and (b and c)`, `a or (b or c)`.
                        Node::And(inner) if is_and => kept.extend(inner.into_vec()),
                        Node::Or(inner) if !is_and => kept.extend(inner.into_vec()),
                        other => kept.push(other),
                    }
                }
                if kept.len() <= 1 {
                    return kept.pop().unwrap_or(Node::Const(is_and));
                }
                // Authors put selective checks first; only push the costly ones (regexes,
                // any-ancestor loops) behind the rest.
                if !is_and {
                    kept = merge_alternatives(kept);
                    if kept.len() == 1 {
                        return kept.pop().unwrap_or(Node::Const(false));
                    }
                }
                kept.sort_by_key(Node::is_expensive);
                if is_and {
                    Node::And(kept.into_boxed_slice())
                } else {
                    Node::Or(kept.into_boxed_slice())
                }
            }
            Node::Check(check) => match check.field.availability(kind) {
                Availability::NotApplicable => Node::Const(false),
                Availability::Unsupported => Node::Unsupported(Arc::new(UnsupportedField {
                    field: check.text.clone(),
                    reason: format!("not observable for `{}` events", kind.evt_type()),
                    loc: check.loc.clone(),
                })),
                Availability::Yes => match check.field.constant(kind) {
                    Some(Constant::Str(s)) => Node::Const(check.matcher.matches(Val::Str(s))),
                    Some(Constant::Bool(b)) => Node::Const(check.matcher.matches(Val::Bool(b))),
                    None => Node::Check(check.clone()),
                },
            },
        }
    }

    /// The values `proc.name` is compared with by `=`, `!=` and `in` anywhere in the tree.
    pub(crate) fn named_process_names<'n>(&'n self, out: &mut Vec<&'n str>) {
        match self {
            Node::Check(check) if is_process_name(&check.field) => match &check.matcher {
                Matcher::StrEq(name) | Matcher::StrNe(name) => out.push(name),
                Matcher::StrIn(set) => out.extend(set.values()),
                _ => {}
            },
            Node::And(terms) | Node::Or(terms) => {
                terms.iter().for_each(|t| t.named_process_names(out))
            }
            Node::Not(inner) => inner.named_process_names(out),
            Node::Check(_) | Node::Const(_) | Node::Unsupported(_) => {}
        }
    }

    /// The tree for processes named `name` (the 15-byte comm), or for processes with a name
    /// that no `=`, `!=` or `in` check of `proc.name` in the tree mentions (`None`): those
    /// checks answered, constants folded. Only existing checks remain (nothing merged).
    pub(crate) fn assume_name(&self, name: Option<&str>) -> Node {
        match self {
            Node::Check(check) if is_process_name(&check.field) => match (name, &check.matcher) {
                (Some(name), matcher) => Node::Const(matcher.matches(Val::Str(name))),
                (None, Matcher::StrEq(_) | Matcher::StrIn(_)) => Node::Const(false),
                (None, Matcher::StrNe(_)) => Node::Const(true),
                (None, _) => self.clone(),
            },
            Node::Not(inner) => match inner.assume_name(name) {
                Node::Const(b) => Node::Const(!b),
                other => Node::Not(Box::new(other)),
            },
            Node::And(terms) | Node::Or(terms) => {
                let is_and = matches!(self, Node::And(_));
                let mut kept = Vec::with_capacity(terms.len());
                for term in terms.iter() {
                    match term.assume_name(name) {
                        Node::Const(b) if b == is_and => {}
                        Node::Const(b) => return Node::Const(b),
                        other => kept.push(other),
                    }
                }
                if kept.len() <= 1 {
                    return kept.pop().unwrap_or(Node::Const(is_and));
                }
                if is_and {
                    Node::And(kept.into_boxed_slice())
                } else {
                    Node::Or(kept.into_boxed_slice())
                }
            }
            Node::Check(_) | Node::Const(_) | Node::Unsupported(_) => self.clone(),
        }
    }

    fn collect_unsupported<'n>(&'n self, out: &mut Vec<&'n UnsupportedField>) {
        match self {
            Node::Unsupported(u) => out.push(u),
            Node::And(terms) | Node::Or(terms) => {
                terms.iter().for_each(|t| t.collect_unsupported(out))
            }
            Node::Not(inner) => inner.collect_unsupported(out),
            Node::Const(_) | Node::Check(_) => {}
        }
    }
}

/// `proc.name`: the process's own name.
fn is_process_name(field: &Field) -> bool {
    matches!(
        field,
        Field::Anc {
            part: AncPart::Name,
            level: Some(0),
        }
    )
}

/// In an `or`, checks of one field with `=`, `contains`, `icontains` or `startswith` become one
/// check against all their values (a set, a multi-pattern search, a prefix list).
fn merge_alternatives(terms: Vec<Node>) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::with_capacity(terms.len());
    // (field, kind) -> (checks, their values)
    type Group = ((Field, u8), Vec<Arc<Check>>, Vec<Vec<u8>>);
    let mut groups: Vec<Group> = Vec::new();
    for term in terms {
        let Node::Check(check) = term else {
            out.push(term);
            continue;
        };
        let Some((kind, values)) = check.matcher.alternatives() else {
            out.push(Node::Check(check));
            continue;
        };
        let key = (check.field.clone(), kind);
        match groups.iter_mut().find(|(k, ..)| *k == key) {
            Some((_, checks, all)) => {
                checks.push(check);
                all.extend(values);
            }
            None => groups.push((key, vec![check], values)),
        }
    }
    for ((field, kind), checks, values) in groups {
        let values_for_key = values.clone();
        let merged = match checks.as_slice() {
            [_, _, ..] => Matcher::any_of(kind, values),
            _ => None,
        };
        match (merged, checks.first()) {
            (Some(matcher), Some(first)) => out.push(Node::Check(Arc::new(Check {
                key: merged_key(&field, kind, values_for_key),
                field,
                matcher,
                text: first.text.clone(),
                loc: first.loc.clone(),
            }))),
            _ => out.extend(checks.into_iter().map(Node::Check)),
        }
    }
    out
}

/// The key of a check as written: field, operator, values (a set for list operators).
fn check_key(field: &Field, op: &str, values: &[Literal]) -> Box<str> {
    let mut texts: Vec<&str> = values.iter().map(|v| v.text.as_str()).collect();
    if matches!(op, "in" | "intersects" | "pmatch") {
        texts.sort_unstable();
        texts.dedup();
    }
    let mut key = format!("{field:?}\u{0}{op}");
    for text in texts {
        key.push_str(&format!("\u{0}{}:{text}", text.len()));
    }
    key.into_boxed_str()
}

/// The key of a check merged from alternatives of one kind (see [`Matcher::alternatives`]).
fn merged_key(field: &Field, kind: u8, mut values: Vec<Vec<u8>>) -> Box<str> {
    values.sort_unstable();
    values.dedup();
    format!("{field:?}\u{0}any{kind}\u{0}{values:?}").into_boxed_str()
}

/// The compiled condition of one rule.
pub(crate) struct CompiledCondition {
    /// The condition with its exceptions as bound, before folding (the reference evaluation).
    pub bound: Node,
    pub per_kind: Vec<(Kind, Node)>,
    /// Event types left out because a field is not observable for them.
    pub warnings: Vec<Diagnostic>,
}

/// Compiles rule conditions against the loaded lists and macros.
pub(crate) struct Compiler<'c> {
    collected: &'c Collected,
    parsed_macros: HashMap<String, Result<Ast, condition::ParseError>>,
}

/// Deepest list-in-list nesting followed.
const MAX_LIST_DEPTH: usize = 32;

/// Unquote a list item written with quotes (`'"(systemd)"'`), as Falco pastes items into the
/// condition text where the quotes make one value.
fn item_literal(raw: &str) -> Literal {
    let trimmed = raw.trim();
    let bytes = trimmed.as_bytes();
    if let (Some(&first), Some(&last)) = (bytes.first(), bytes.last())
        && bytes.len() >= 2
        && first == last
        && (first == b'"' || first == b'\'')
    {
        let inner = trimmed.get(1..trimmed.len() - 1).unwrap_or_default();
        let mut text = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some(e @ ('\\' | '"' | '\'')) => text.push(e),
                    Some(other) => {
                        text.push('\\');
                        text.push(other);
                    }
                    None => text.push('\\'),
                }
            } else {
                text.push(c);
            }
        }
        return Literal { text, quoted: true };
    }
    Literal {
        text: trimmed.to_string(),
        quoted: false,
    }
}

/// Find where `needle` is written among the pieces of a condition.
fn locate(origin: &[Piece], needle: &str, fallback: &Location) -> Location {
    for piece in origin {
        if let Some(pos) = piece.raw.find(needle) {
            let newlines = piece
                .raw
                .get(..pos)
                .unwrap_or_default()
                .matches('\n')
                .count();
            return Location {
                file: piece.loc.file.clone(),
                line: piece.loc.line + newlines,
            };
        }
    }
    origin
        .first()
        .map_or_else(|| fallback.clone(), |p| p.loc.clone())
}

/// Where a parse error offset of a joined condition lies.
fn locate_offset(origin: &[Piece], offset: usize, fallback: &Location) -> Location {
    let mut start = 0;
    for piece in origin {
        let end = start + piece.text.len();
        if offset <= end {
            let local = (offset - start).min(piece.text.trim_end().len());
            let newlines = piece
                .text
                .get(..local)
                .unwrap_or_default()
                .matches('\n')
                .count();
            return Location {
                file: piece.loc.file.clone(),
                line: piece.loc.line + newlines,
            };
        }
        start = end + 1;
    }
    origin
        .last()
        .map_or_else(|| fallback.clone(), |p| p.loc.clone())
}

fn join(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Per-rule state while binding.
struct RuleBinding<'r> {
    rule: &'r str,
    rule_loc: &'r Location,
    diagnostics: Vec<Diagnostic>,
    macro_stack: Vec<String>,
}

impl RuleBinding<'_> {
    fn error(&mut self, code: Code, at: &Location, message: String) {
        self.diagnostics
            .push(Diagnostic::new(code, Severity::Error, at, message).rule(self.rule));
    }
}

impl<'c> Compiler<'c> {
    pub(crate) fn new(collected: &'c Collected) -> Self {
        Compiler {
            collected,
            parsed_macros: HashMap::new(),
        }
    }

    /// Expand list references among `items` (unquoted items naming a list).
    fn expand(&self, items: &[Literal], out: &mut Vec<Literal>, depth: usize) {
        for item in items {
            match self.collected.lists.get(&item.text) {
                Some(list) if !item.quoted && depth < MAX_LIST_DEPTH => {
                    let literals: Vec<Literal> =
                        list.items.iter().map(|raw| item_literal(raw)).collect();
                    self.expand(&literals, out, depth + 1);
                }
                _ => out.push(Literal {
                    text: item.text.clone(),
                    quoted: true,
                }),
            }
        }
    }

    /// Compile the condition of a rule (with its exceptions) into one tree per event kind.
    pub(crate) fn compile_rule(
        &mut self,
        name: &str,
        loc: &Location,
        condition: &[Piece],
        exceptions: &[ExceptionDef],
    ) -> Result<CompiledCondition, Vec<Diagnostic>> {
        let mut binding = RuleBinding {
            rule: name,
            rule_loc: loc,
            diagnostics: Vec::new(),
            macro_stack: Vec::new(),
        };
        let text = join(condition);
        let ast = match condition::parse(&text) {
            Ok(ast) => ast,
            Err(err) => {
                let at = locate_offset(condition, err.offset, loc);
                binding.error(
                    Code::ConditionSyntax,
                    &at,
                    format!("condition does not parse: {}", err.message),
                );
                return Err(binding.diagnostics);
            }
        };
        let mut terms = vec![self.bind(&ast, condition, &mut binding)];
        for exception in exceptions {
            if let Some(node) = self.bind_exception(exception, &mut binding) {
                terms.push(Node::Not(Box::new(node)));
            }
        }
        if !binding.diagnostics.is_empty() {
            return Err(binding.diagnostics);
        }
        let bound = if terms.len() == 1 {
            terms.pop().unwrap_or(Node::Const(false))
        } else {
            Node::And(terms.into_boxed_slice())
        };
        let mut per_kind = Vec::new();
        let mut unsupported: Vec<(String, String, Location, Vec<&'static str>)> = Vec::new();
        for kind in KINDS {
            let folded = bound.fold(kind);
            if matches!(folded, Node::Const(false)) {
                continue;
            }
            let mut found = Vec::new();
            folded.collect_unsupported(&mut found);
            if found.is_empty() {
                per_kind.push((kind, folded));
                continue;
            }
            for u in found {
                match unsupported.iter_mut().find(|(field, ..)| *field == u.field) {
                    Some(entry) => entry.3.push(kind.evt_type()),
                    None => unsupported.push((
                        u.field.clone(),
                        u.reason.clone(),
                        u.loc.clone(),
                        vec![kind.evt_type()],
                    )),
                }
            }
        }
        if !unsupported.is_empty() {
            // With other event types left the rule still runs on those (a warning); with none
            // left it is disabled.
            let disabled = per_kind.is_empty();
            for (field, reason, at, kinds) in unsupported {
                let kinds_text = kinds
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let reason = if reason.starts_with("not observable for") {
                    format!("not observable for {kinds_text} events")
                } else {
                    reason
                };
                let (severity, consequence) = if disabled {
                    (Severity::Error, "rule disabled".to_string())
                } else {
                    (
                        Severity::Warning,
                        format!("rule not evaluated on {kinds_text} events"),
                    )
                };
                binding.diagnostics.push(
                    Diagnostic::new(
                        Code::UnsupportedField,
                        severity,
                        &at,
                        format!("field `{field}` cannot be filled by the Podwarden agent ({reason}); {consequence}"),
                    )
                    .rule(name)
                    .field(&field),
                );
            }
            if disabled {
                return Err(binding.diagnostics);
            }
        }
        if per_kind.is_empty() {
            let mut types = Vec::new();
            collect_evt_types(&ast, self.collected, &mut types, 0);
            types.sort();
            types.dedup();
            let listed = if types.is_empty() {
                String::new()
            } else {
                format!(" ({})", types.join(", "))
            };
            binding.error(
                Code::NoMatchingEventType,
                loc,
                format!(
                    "the rule can only match event types{listed} that the agent does not produce (it produces {}); rule disabled",
                    KINDS.iter().map(|k| k.evt_type()).collect::<Vec<_>>().join(", ")
                ),
            );
            return Err(binding.diagnostics);
        }
        Ok(CompiledCondition {
            bound,
            per_kind,
            warnings: binding.diagnostics,
        })
    }

    fn macro_ast(&mut self, name: &str) -> Option<Result<Ast, condition::ParseError>> {
        let def = self.collected.macros.get(name)?;
        Some(
            self.parsed_macros
                .entry(name.to_string())
                .or_insert_with(|| condition::parse(&join(&def.condition)))
                .clone(),
        )
    }

    fn bind(&mut self, ast: &Ast, origin: &[Piece], binding: &mut RuleBinding<'_>) -> Node {
        match ast {
            Ast::And(terms) => Node::And(
                terms
                    .iter()
                    .map(|t| self.bind(t, origin, binding))
                    .collect(),
            ),
            Ast::Or(terms) => Node::Or(
                terms
                    .iter()
                    .map(|t| self.bind(t, origin, binding))
                    .collect(),
            ),
            Ast::Not(inner) => Node::Not(Box::new(self.bind(inner, origin, binding))),
            Ast::Macro(name) => {
                let collected = self.collected;
                let Some(parsed) = self.macro_ast(name) else {
                    let at = locate(origin, name, binding.rule_loc);
                    binding.error(
                        Code::UndefinedMacro,
                        &at,
                        format!("`{name}` is not a defined macro"),
                    );
                    return Node::Const(false);
                };
                let Some(def) = collected.macros.get(name) else {
                    return Node::Const(false);
                };
                if binding.macro_stack.iter().any(|m| m == name) {
                    let chain = format!("{} -> {name}", binding.macro_stack.join(" -> "));
                    binding.error(
                        Code::MacroCycle,
                        &def.loc,
                        format!("macro `{name}` includes itself ({chain})"),
                    );
                    return Node::Const(false);
                }
                match parsed {
                    Ok(ast) => {
                        binding.macro_stack.push(name.clone());
                        let node = self.bind(&ast, &def.condition, binding);
                        binding.macro_stack.pop();
                        node
                    }
                    Err(err) => {
                        let at = locate_offset(&def.condition, err.offset, &def.loc);
                        binding.error(
                            Code::ConditionSyntax,
                            &at,
                            format!("macro `{}` does not parse: {}", def.name, err.message),
                        );
                        Node::Const(false)
                    }
                }
            }
            Ast::Check(check) => self.bind_check(check, origin, binding),
        }
    }

    fn bind_check(
        &mut self,
        check: &CheckAst,
        origin: &[Piece],
        binding: &mut RuleBinding<'_>,
    ) -> Node {
        let text = check.field.to_string();
        let at = locate(origin, &check.field.name, binding.rule_loc);
        let field = match fields::resolve(&check.field) {
            Ok(field) => field,
            Err(FieldError::Unknown) => {
                binding.diagnostics.push(
                    Diagnostic::new(
                        Code::UnknownField,
                        Severity::Error,
                        &at,
                        format!("`{text}` is not a field of Falco's syscall source nor of Podwarden (plugin field or misspelling?); rule disabled"),
                    )
                    .rule(binding.rule)
                    .field(&text),
                );
                return Node::Const(false);
            }
            Err(FieldError::Unsupported(reason)) => {
                return Node::Unsupported(Arc::new(UnsupportedField {
                    field: text,
                    reason: reason.to_string(),
                    loc: at,
                }));
            }
            Err(FieldError::BadArgument(message)) => {
                binding.diagnostics.push(
                    Diagnostic::new(Code::InvalidValue, Severity::Error, &at, message)
                        .rule(binding.rule)
                        .field(&text),
                );
                return Node::Const(false);
            }
        };
        let mut values = Vec::new();
        match &check.rhs {
            Rhs::None => {}
            Rhs::Value(literal) => values.push(literal.clone()),
            Rhs::List(items) => self.expand(items, &mut values, 0),
        }
        match Matcher::compile(field.value_type(), check.op, &values) {
            Ok(matcher) => Node::Check(Arc::new(Check {
                key: check_key(&field, check.op.as_str(), &values),
                field,
                matcher,
                text,
                loc: at,
            })),
            Err(message) => {
                binding.diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        Severity::Error,
                        &at,
                        format!("`{text} {}`: {message}", check.op.as_str()),
                    )
                    .rule(binding.rule)
                    .field(&text),
                );
                Node::Const(false)
            }
        }
    }

    /// The condition an exception excludes: `(f1 c1 v1 and f2 c2 v2) or ...`.
    fn bind_exception(
        &mut self,
        exception: &ExceptionDef,
        binding: &mut RuleBinding<'_>,
    ) -> Option<Node> {
        if exception.values.is_empty() {
            return None;
        }
        let at = &exception.loc;
        let origin = [Piece {
            text: String::new(),
            loc: at.clone(),
            raw: String::new(),
        }];
        let field = |name: &str| -> Option<FieldName> {
            let (name, arg) = match name.split_once('[') {
                Some((name, rest)) => (name, Some(rest.trim_end_matches(']').to_string())),
                None => (name, None),
            };
            Some(FieldName {
                name: name.trim().to_string(),
                arg,
            })
        };
        let op = |name: &str, binding: &mut RuleBinding<'_>| -> Option<Op> {
            let op = Op::from_name(name.trim());
            if op.is_none() {
                binding.error(
                    Code::InvalidException,
                    at,
                    format!(
                        "exception `{}`: `{name}` is not an operator",
                        exception.name
                    ),
                );
            }
            op
        };
        let rhs = |op: Op, value: &ExceptionValue| -> Option<Rhs> {
            match (op.takes_list(), value) {
                (true, ExceptionValue::Scalar(s)) => Some(Rhs::List(vec![item_literal(s)])),
                (true, ExceptionValue::List(items)) => {
                    Some(Rhs::List(items.iter().map(|i| item_literal(i)).collect()))
                }
                (false, ExceptionValue::Scalar(s)) => Some(Rhs::Value(Literal {
                    text: s.clone(),
                    quoted: true,
                })),
                (false, ExceptionValue::List(_)) => None,
            }
        };
        let checks: Vec<Ast> = match &exception.fields {
            None => {
                binding.error(
                    Code::InvalidException,
                    at,
                    format!("exception `{}` has values but no `fields`", exception.name),
                );
                return None;
            }
            Some(OneOrMany::One(name)) => {
                let comp = match &exception.comps {
                    Some(OneOrMany::One(c)) => op(c, binding)?,
                    Some(OneOrMany::Many(_)) => {
                        binding.error(
                            Code::InvalidException,
                            at,
                            format!(
                                "exception `{}`: a single field takes a single comp",
                                exception.name
                            ),
                        );
                        return None;
                    }
                    None => Op::In,
                };
                let field = field(name)?;
                let mut scalars = Vec::new();
                for (tuple, _) in &exception.values {
                    for value in tuple {
                        match value {
                            ExceptionValue::Scalar(s) => scalars.push(s.clone()),
                            ExceptionValue::List(items) => scalars.extend(items.iter().cloned()),
                        }
                    }
                }
                if comp.takes_list() {
                    vec![Ast::Check(CheckAst {
                        field,
                        op: comp,
                        rhs: Rhs::List(scalars.iter().map(|s| item_literal(s)).collect()),
                    })]
                } else {
                    scalars
                        .iter()
                        .map(|s| {
                            Ast::Check(CheckAst {
                                field: field.clone(),
                                op: comp,
                                rhs: Rhs::Value(Literal {
                                    text: s.clone(),
                                    quoted: true,
                                }),
                            })
                        })
                        .collect()
                }
            }
            Some(OneOrMany::Many(names)) => {
                let comps: Vec<Op> = match &exception.comps {
                    None => vec![Op::Eq; names.len()],
                    Some(OneOrMany::One(c)) => vec![op(c, binding)?; names.len()],
                    Some(OneOrMany::Many(cs)) => {
                        if cs.len() != names.len() {
                            binding.error(
                                Code::InvalidException,
                                at,
                                format!(
                                    "exception `{}` has {} fields but {} comps",
                                    exception.name,
                                    names.len(),
                                    cs.len()
                                ),
                            );
                            return None;
                        }
                        let mut ops = Vec::new();
                        for c in cs {
                            ops.push(op(c, binding)?);
                        }
                        ops
                    }
                };
                let mut tuples = Vec::new();
                for (tuple, value_at) in &exception.values {
                    if tuple.len() != names.len() {
                        binding.error(
                            Code::InvalidException,
                            value_at,
                            format!(
                                "exception `{}`: a value has {} items for {} fields",
                                exception.name,
                                tuple.len(),
                                names.len()
                            ),
                        );
                        return None;
                    }
                    let mut terms = Vec::new();
                    for ((name, comp), value) in names.iter().zip(&comps).zip(tuple) {
                        let Some(rhs) = rhs(*comp, value) else {
                            binding.error(Code::InvalidException, value_at, format!("exception `{}`: a list value needs `in`, `intersects` or `pmatch`", exception.name));
                            return None;
                        };
                        terms.push(Ast::Check(CheckAst {
                            field: field(name)?,
                            op: *comp,
                            rhs,
                        }));
                    }
                    tuples.push(Ast::And(terms));
                }
                tuples
            }
        };
        Some(self.bind(&Ast::Or(checks), &origin, binding))
    }
}

/// The `evt.type` values a condition names (for the message of a rule that matches none of ours).
fn collect_evt_types(ast: &Ast, collected: &Collected, out: &mut Vec<String>, depth: usize) {
    if depth > 64 {
        return;
    }
    match ast {
        Ast::And(terms) | Ast::Or(terms) => terms
            .iter()
            .for_each(|t| collect_evt_types(t, collected, out, depth + 1)),
        Ast::Not(inner) => collect_evt_types(inner, collected, out, depth + 1),
        Ast::Macro(name) => {
            if let Some(Ok(ast)) = collected
                .macros
                .get(name)
                .map(|m| condition::parse(&join(&m.condition)))
            {
                collect_evt_types(&ast, collected, out, depth + 1);
            }
        }
        Ast::Check(check) if check.field.name == "evt.type" => match &check.rhs {
            Rhs::Value(v) => out.push(v.text.clone()),
            Rhs::List(items) => out.extend(items.iter().map(|i| i.text.clone())),
            Rhs::None => {}
        },
        Ast::Check(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_list_items_are_single_values() {
        let check = |raw: &str, text: &str, quoted: bool| {
            assert_eq!(
                item_literal(raw),
                Literal {
                    text: text.to_string(),
                    quoted
                },
                "{raw}"
            );
        };
        check("\"(systemd)\"", "(systemd)", true);
        check("'\"x\"'", "\"x\"", true);
        check("bash", "bash", false);
        check("\"sh -c \\\"a\\\"\"", "sh -c \"a\"", true);
    }
}
