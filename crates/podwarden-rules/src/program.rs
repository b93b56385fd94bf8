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

/// The needles of a group's substring checks, as automata reporting every needle found.
#[derive(Debug)]
struct SubstringScan {
    /// Needles compared exactly, and the members each one satisfies.
    exact: Option<(AhoCorasick, Vec<u64>)>,
    /// Needles compared ignoring ASCII case, and the members each one satisfies.
    folded: Option<(AhoCorasick, Vec<u64>)>,
    /// Members with an empty needle (true for any value).
    empty: u64,
    /// All members (stop scanning once all hold).
    all: u64,
}

impl SubstringScan {
    fn new(members: &[&Arc<Check>]) -> Option<SubstringScan> {
        let mut exact: Vec<(Vec<u8>, u64)> = Vec::new();
        let mut folded: Vec<(Vec<u8>, u64)> = Vec::new();
        let mut empty = 0u64;
        let mut all = 0u64;
        for (bit, check) in members.iter().enumerate() {
            let mask = 1u64 << bit;
            all |= mask;
            let (needles, list) = match &check.matcher {
                Matcher::Contains(needles) => (needles, &mut exact),
                Matcher::IContains(needles) => (needles, &mut folded),
                _ => return None,
            };
            for needle in needles.iter() {
                if needle.bytes.is_empty() {
                    empty |= mask;
                    continue;
                }
                match list.iter_mut().find(|(bytes, _)| **bytes == *needle.bytes) {
                    Some((_, members)) => *members |= mask,
                    None => list.push((needle.bytes.to_vec(), mask)),
                }
            }
        }
        let automaton = |needles: Vec<(Vec<u8>, u64)>, fold: bool| {
            if needles.is_empty() {
                return Ok(None);
            }
            let (bytes, members): (Vec<Vec<u8>>, Vec<u64>) = needles.into_iter().unzip();
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(fold)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&bytes)
                .map(|ac| Some((ac, members)))
        };
        Some(SubstringScan {
            exact: automaton(exact, false).ok()?,
            folded: automaton(folded, true).ok()?,
            empty,
            all,
        })
    }

    /// The members whose needles occur in `haystack`.
    fn scan(&self, haystack: &str) -> u64 {
        let mut answers = self.empty;
        for (automaton, members) in [&self.exact, &self.folded].into_iter().flatten() {
            let Ok(found) = automaton.try_find_overlapping_iter(haystack) else {
                continue;
            };
            for m in found {
                answers |= members.get(m.pattern().as_usize()).copied().unwrap_or(0);
                if answers == self.all {
                    return answers;
                }
            }
        }
        answers
    }
}

/// Per-event answers, reset for each event (kept in [`crate::Scratch`]).
#[derive(Debug, Default)]
pub(crate) struct Memo {
    known: Vec<u64>,
    truth: Vec<u64>,
    groups_known: Vec<u64>,
    group_answers: Vec<u64>,
}

impl Memo {
    fn reset(&mut self, preds: usize, groups: usize) {
        let words = preds.div_ceil(64);
        self.known.clear();
        self.known.resize(words, 0);
        self.truth.resize(words.max(self.truth.len()), 0);
        let group_words = groups.div_ceil(64);
        self.groups_known.clear();
        self.groups_known.resize(group_words, 0);
        self.group_answers
            .resize(groups.max(self.group_answers.len()), 0);
    }

    #[inline]
    fn get(&self, pred: u32) -> Option<bool> {
        let word = (pred / 64) as usize;
        let bit = 1u64 << (pred % 64);
        let known = self.known.get(word)?;
        if known & bit == 0 {
            return None;
        }
        Some(self.truth.get(word).is_some_and(|t| t & bit != 0))
    }

    #[inline]
    fn set(&mut self, pred: u32, value: bool) {
        let word = (pred / 64) as usize;
        let bit = 1u64 << (pred % 64);
        if let (Some(known), Some(truth)) = (self.known.get_mut(word), self.truth.get_mut(word)) {
            *known |= bit;
            if value {
                *truth |= bit;
            } else {
                *truth &= !bit;
            }
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

    #[inline]
    fn pred(&self, pred: u32, ctx: &mut Ctx<'_, '_>) -> bool {
        if let Some(known) = ctx.memo().get(pred) {
            return known;
        }
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
