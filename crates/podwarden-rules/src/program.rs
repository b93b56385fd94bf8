//! The optimised evaluation of the rules of one event kind: every distinct check of all those
//! rules is an entry of one predicate table, evaluated at most once per event (a two-bitset
//! memo); equality checks of one field (`proc.name = x`, `proc.name in (...)`, `!=`) are
//! answered together by one hash lookup of the field's value, substring checks of one field
//! (`proc.args contains x`, `icontains`) together by one multi-pattern scan of it; and each
//! rule's condition is a flat branching program (test a predicate, jump on its truth) instead
//! of a tree.

use crate::compile::{Check, Node};
use crate::extract::Ctx;
use crate::fields::{Field, Side};
use crate::matchers::{FastBuild, Matcher, Val};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::collections::HashMap;
use std::sync::Arc;

/// Jump target: the condition holds.
const ACCEPT: u32 = u32::MAX;
/// Jump target: the condition does not hold.
const REJECT: u32 = u32::MAX - 1;

/// At most this many checks form one group (one `u64` of answers).
const GROUP_WIDTH: usize = 64;

/// One instruction: test a predicate, continue at `then` if it holds, else at `otherwise`.
#[derive(Debug, Clone, Copy)]
struct Test {
    pred: u32,
    then: u32,
    otherwise: u32,
}

/// How a predicate is answered.
#[derive(Debug)]
enum Pred {
    /// Evaluate the check.
    Check(Arc<Check>),
    /// Bit `bit` of the answers of equality group `group`.
    Member { group: u32, bit: u32 },
}

/// Checks of one field answered together (bit `i` of the answers for member `i`).
#[derive(Debug)]
struct Group {
    field: Field,
    how: GroupKind,
}

#[derive(Debug)]
enum GroupKind {
    /// `=`, `in`, `!=`: one lookup of the value.
    Equal {
        /// For each value some member names: the members that hold.
        table: HashMap<Box<str>, u64, FastBuild>,
        /// The members that hold for a value no member names (the `!=` checks).
        otherwise: u64,
    },
    /// `contains`, `icontains`: one scan of the value for all needles.
    Substrings(Box<SubstringScan>),
}

/// The needles of a group's substring checks, in one ASCII case-insensitive automaton
/// reporting every needle found (one scan of the value for `contains` and `icontains` alike;
/// an exact needle's occurrence is confirmed byte for byte).
#[derive(Debug)]
struct SubstringScan {
    /// Needles, lower-cased and deduplicated.
    automaton: Option<AhoCorasick>,
    /// Per automaton pattern: what an occurrence answers.
    patterns: Vec<PatternMembers>,
    /// Members with an empty needle (true for any value).
    empty: u64,
    /// All members (stop scanning once all hold).
    all: u64,
}

/// The members an automaton pattern satisfies.
#[derive(Debug, Default)]
struct PatternMembers {
    /// Members of `icontains` checks: any occurrence.
    folded: u64,
    /// Members of `contains` checks, with the exact bytes an occurrence must have.
    exact: Vec<(Box<[u8]>, u64)>,
}

impl SubstringScan {
    fn new(members: &[&Arc<Check>]) -> Option<SubstringScan> {
        let mut lowered: Vec<Vec<u8>> = Vec::new();
        let mut patterns: Vec<PatternMembers> = Vec::new();
        let mut empty = 0u64;
        let mut all = 0u64;
        for (bit, check) in members.iter().enumerate() {
            let mask = 1u64 << bit;
            all |= mask;
            let (needles, fold) = match &check.matcher {
                Matcher::Contains(needles) => (needles, false),
                Matcher::IContains(needles) => (needles, true),
                _ => return None,
            };
            for needle in needles.iter() {
                if needle.bytes.is_empty() {
                    empty |= mask;
                    continue;
                }
                let lower = needle.bytes.to_ascii_lowercase();
                let at = match lowered.iter().position(|bytes| *bytes == lower) {
                    Some(at) => at,
                    None => {
                        lowered.push(lower);
                        patterns.push(PatternMembers::default());
                        lowered.len() - 1
                    }
                };
                let entry = patterns.get_mut(at)?;
                if fold {
                    entry.folded |= mask;
                } else {
                    match entry.exact.iter_mut().find(|(b, _)| **b == *needle.bytes) {
                        Some((_, members)) => *members |= mask,
                        None => entry.exact.push((needle.bytes.clone(), mask)),
                    }
                }
            }
        }
        let automaton = if lowered.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .ascii_case_insensitive(true)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&lowered)
                    .ok()?,
            )
        };
        Some(SubstringScan {
            automaton,
            patterns,
            empty,
            all,
        })
    }

    /// The members whose needles occur in `haystack`.
    fn scan(&self, haystack: &str) -> u64 {
        let mut answers = self.empty;
        let Some(automaton) = &self.automaton else {
            return answers;
        };
        let Ok(found) = automaton.try_find_overlapping_iter(haystack) else {
            return answers;
        };
        let bytes = haystack.as_bytes();
        for m in found {
            let Some(pattern) = self.patterns.get(m.pattern().as_usize()) else {
                continue;
            };
            answers |= pattern.folded;
            for (exact, members) in &pattern.exact {
                if bytes.get(m.range()) == Some(&**exact) {
                    answers |= members;
                }
            }
            if answers == self.all {
                return answers;
            }
        }
        answers
    }
}

/// Per-event answers, reset for each event (kept in [`crate::Scratch`]).
#[derive(Debug, Default)]
pub(crate) struct Memo {
    /// Per predicate: [`UNKNOWN`], [`FALSE`] or [`TRUE`].
    preds: Vec<u8>,
    /// Per group: its answers, valid when its bit in `groups_known` is set.
    group_answers: Vec<u64>,
    groups_known: Vec<u64>,
}

/// A predicate not evaluated yet for this event.
const UNKNOWN: u8 = 0;
/// A predicate evaluated false.
const FALSE: u8 = 1;
/// A predicate evaluated true.
const TRUE: u8 = 2;

impl Memo {
    fn reset(&mut self, preds: usize, groups: usize) {
        self.preds.clear();
        self.preds.resize(preds, UNKNOWN);
        let group_words = groups.div_ceil(64);
        self.groups_known.clear();
        self.groups_known.resize(group_words, 0);
        self.group_answers
            .resize(groups.max(self.group_answers.len()), 0);
    }

    #[inline(always)]
    fn get(&self, pred: u32) -> u8 {
        self.preds.get(pred as usize).copied().unwrap_or(UNKNOWN)
    }

    #[inline(always)]
    fn set(&mut self, pred: u32, value: bool) {
        if let Some(slot) = self.preds.get_mut(pred as usize) {
            *slot = if value { TRUE } else { FALSE };
        }
    }

    #[inline]
    fn group(&self, group: u32) -> Option<u64> {
        let known = self.groups_known.get((group / 64) as usize)?;
        if known & (1u64 << (group % 64)) == 0 {
            return None;
        }
        self.group_answers.get(group as usize).copied()
    }

    #[inline]
    fn set_group(&mut self, group: u32, answers: u64) {
        if let Some(known) = self.groups_known.get_mut((group / 64) as usize) {
            *known |= 1u64 << (group % 64);
        }
        if let Some(slot) = self.group_answers.get_mut(group as usize) {
            *slot = answers;
        }
    }
}

/// The compiled rules of one event kind.
#[derive(Debug, Default)]
pub(crate) struct Program {
    preds: Box<[Pred]>,
    groups: Box<[Group]>,
    code: Box<[Test]>,
}

/// The kinds of checks answered together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Equal,
    Substring,
}

/// Whether a check can join a group, and which kind.
fn class(check: &Check) -> Option<Class> {
    match &check.field {
        Field::Anc { level: None, .. }
        | Field::FdIp(Side::Either)
        | Field::FdPort(Side::Either)
        | Field::FdNet(Side::Either) => return None,
        _ => {}
    }
    match &check.matcher {
        Matcher::StrEq(_) | Matcher::StrNe(_) | Matcher::StrIn(_) => Some(Class::Equal),
        Matcher::Contains(_) | Matcher::IContains(_) => Some(Class::Substring),
        _ => None,
    }
}

/// The values an equality check names.
fn named_values(check: &Check) -> Vec<&str> {
    match &check.matcher {
        Matcher::StrEq(value) | Matcher::StrNe(value) => vec![&**value],
        Matcher::StrIn(set) => set.values(),
        _ => Vec::new(),
    }
}

fn equal_group(members: &[&Arc<Check>]) -> GroupKind {
    let mut table: HashMap<Box<str>, u64, FastBuild> = HashMap::default();
    let mut otherwise = 0u64;
    for check in members {
        for value in named_values(check) {
            table.entry(value.into()).or_insert(0);
        }
    }
    for (bit, check) in members.iter().enumerate() {
        let mask = 1u64 << bit;
        if matches!(check.matcher, Matcher::StrNe(_)) {
            otherwise |= mask;
        }
        for (value, answers) in table.iter_mut() {
            if check.matcher.matches(Val::Str(value)) {
                *answers |= mask;
            }
        }
    }
    GroupKind::Equal { table, otherwise }
}

/// Builds the [`Program`] of one event kind from the folded conditions of its rules.
pub(crate) struct ProgramBuilder {
    checks: Vec<Arc<Check>>,
    by_key: HashMap<Box<str>, u32>,
}

impl ProgramBuilder {
    /// Collect the checks of all `conditions` (one per rule).
    pub(crate) fn new<'n>(conditions: impl Iterator<Item = &'n Node>) -> ProgramBuilder {
        let mut builder = ProgramBuilder {
            checks: Vec::new(),
            by_key: HashMap::new(),
        };
        for node in conditions {
            builder.collect(node);
        }
        builder
    }

    fn collect(&mut self, node: &Node) {
        match node {
            Node::And(terms) | Node::Or(terms) => terms.iter().for_each(|t| self.collect(t)),
            Node::Not(inner) => self.collect(inner),
            Node::Check(check) => {
                if !self.by_key.contains_key(&check.key) {
                    let id = u32::try_from(self.checks.len()).unwrap_or(u32::MAX);
                    self.by_key.insert(check.key.clone(), id);
                    self.checks.push(check.clone());
                }
            }
            Node::Const(_) | Node::Unsupported(_) => {}
        }
    }

    /// The predicate table (equality checks of a field grouped) and a compiler of conditions
    /// into branching code over it.
    pub(crate) fn finish(self) -> ProgramCode {
        // Checks answered together, by field and class, in first-seen order.
        let mut by_field: Vec<((Field, Class), Vec<u32>)> = Vec::new();
        for (id, check) in self.checks.iter().enumerate() {
            let Some(class) = class(check) else {
                continue;
            };
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let key = (check.field.clone(), class);
            match by_field.iter_mut().find(|(k, _)| *k == key) {
                Some((_, ids)) => ids.push(id),
                None => by_field.push((key, vec![id])),
            }
        }
        let mut preds: Vec<Pred> = self.checks.iter().cloned().map(Pred::Check).collect();
        let mut groups = Vec::new();
        for ((field, class), ids) in by_field {
            if ids.len() < 2 {
                continue;
            }
            for chunk in ids.chunks(GROUP_WIDTH) {
                let group = u32::try_from(groups.len()).unwrap_or(u32::MAX);
                let members: Vec<&Arc<Check>> = chunk
                    .iter()
                    .filter_map(|id| self.checks.get(*id as usize))
                    .collect();
                let how = match class {
                    Class::Equal => equal_group(&members),
                    Class::Substring => match SubstringScan::new(&members) {
                        Some(scan) => GroupKind::Substrings(Box::new(scan)),
                        // No automaton: the members stay plain checks.
                        None => continue,
                    },
                };
                for (bit, id) in chunk.iter().enumerate() {
                    if let Some(pred) = preds.get_mut(*id as usize) {
                        *pred = Pred::Member {
                            group,
                            bit: u32::try_from(bit).unwrap_or(0),
                        };
                    }
                }
                groups.push(Group {
                    field: field.clone(),
                    how,
                });
            }
        }
        ProgramCode {
            by_key: self.by_key,
            program: Program {
                preds: preds.into_boxed_slice(),
                groups: groups.into_boxed_slice(),
                code: Box::default(),
            },
            code: Vec::new(),
        }
    }
}

/// A program being filled with the code of each rule.
pub(crate) struct ProgramCode {
    by_key: HashMap<Box<str>, u32>,
    program: Program,
    code: Vec<Test>,
}

impl ProgramCode {
    /// Compile a condition; returns its entry point.
    pub(crate) fn add(&mut self, node: &Node) -> u32 {
        self.emit(node, ACCEPT, REJECT)
    }

    /// Emit `node` so that it continues at `then` when it holds and at `otherwise` when not;
    /// returns where it starts. Terms are emitted last to first so each knows its successor.
    fn emit(&mut self, node: &Node, then: u32, otherwise: u32) -> u32 {
        match node {
            Node::Const(true) => then,
            Node::Const(false) | Node::Unsupported(_) => otherwise,
            Node::Not(inner) => self.emit(inner, otherwise, then),
            Node::And(terms) => terms
                .iter()
                .rev()
                .fold(then, |next, term| self.emit(term, next, otherwise)),
            Node::Or(terms) => terms
                .iter()
                .rev()
                .fold(otherwise, |next, term| self.emit(term, then, next)),
            Node::Check(check) => {
                let Some(&pred) = self.by_key.get(&check.key) else {
                    // Not collected: cannot happen for a node given to the builder.
                    return otherwise;
                };
                let at = u32::try_from(self.code.len()).unwrap_or(REJECT);
                self.code.push(Test {
                    pred,
                    then,
                    otherwise,
                });
                at
            }
        }
    }

    pub(crate) fn finish(mut self) -> Program {
        self.program.code = self.code.into_boxed_slice();
        self.program
    }
}

impl Program {
    /// Start a new event.
    pub(crate) fn reset(&self, ctx: &mut Ctx<'_, '_>) {
        ctx.memo().reset(self.preds.len(), self.groups.len());
    }

    /// Whether the condition starting at `entry` holds (after [`Program::reset`] for this
    /// event).
    #[inline]
    pub(crate) fn run(&self, entry: u32, ctx: &mut Ctx<'_, '_>) -> bool {
        let mut at = entry;
        loop {
            let Some(test) = self.code.get(at as usize) else {
                return at == ACCEPT;
            };
            at = if self.pred(test.pred, ctx) {
                test.then
            } else {
                test.otherwise
            };
        }
    }

    #[inline(always)]
    fn pred(&self, pred: u32, ctx: &mut Ctx<'_, '_>) -> bool {
        match ctx.memo().get(pred) {
            UNKNOWN => self.eval_pred(pred, ctx),
            known => known == TRUE,
        }
    }

    #[inline(never)]
    fn eval_pred(&self, pred: u32, ctx: &mut Ctx<'_, '_>) -> bool {
        let value = match self.preds.get(pred as usize) {
            Some(Pred::Check(check)) => check.eval(ctx),
            Some(Pred::Member { group, bit }) => (self.group(*group, ctx) >> bit) & 1 == 1,
            None => false,
        };
        ctx.memo().set(pred, value);
        value
    }

    fn group(&self, group: u32, ctx: &mut Ctx<'_, '_>) -> u64 {
        if let Some(answers) = ctx.memo().group(group) {
            return answers;
        }
        let answers = match self.groups.get(group as usize) {
            Some(g) => match (ctx.value(&g.field), &g.how) {
                (Val::Str(value), GroupKind::Equal { table, otherwise }) => {
                    table.get(value).copied().unwrap_or(*otherwise)
                }
                (Val::Str(value), GroupKind::Substrings(scan)) => scan.scan(value),
                _ => 0,
            },
            None => 0,
        };
        ctx.memo().set_group(group, answers);
        answers
    }
}
