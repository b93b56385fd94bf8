//! The reference evaluation: a plain recursive walk over a rule's condition as bound (macros
//! substituted, exceptions added, nothing folded, merged, reordered, shared or cached), used to
//! check the optimised evaluation ([`crate::program`]) against (see
//! [`crate::RuleSet::evaluate_reference`]).

use crate::compile::{Check, Node};
use crate::extract::Ctx;
use crate::fields::{Availability, Field, Side};
use crate::matchers::{Matcher, NumOp, Val};

/// Whether the bound condition `node` holds for the event in `ctx`.
pub(crate) fn eval(node: &Node, ctx: &mut Ctx<'_, '_>) -> bool {
    match node {
        Node::Const(b) => *b,
        Node::And(terms) => terms.iter().all(|t| eval(t, ctx)),
        Node::Or(terms) => terms.iter().any(|t| eval(t, ctx)),
        Node::Not(inner) => !eval(inner, ctx),
        Node::Check(check) => eval_check(check, ctx),
        // A rule runs on an event type only where its unsupported fields cannot decide the
        // outcome (they were folded away), so any value gives the same answer.
        Node::Unsupported(_) => false,
    }
}

fn eval_check(check: &Check, ctx: &mut Ctx<'_, '_>) -> bool {
    // Falco has no value for a field the event type lacks: every comparison is false.
    if check.field.availability(ctx.kind) != Availability::Yes {
        return false;
    }
    let matcher = &check.matcher;
    match &check.field {
        Field::Anc { part, level: None } => {
            let depth = ctx.depth();
            (1..=depth).any(|level| matcher.matches(ctx.ancestor_value(*part, level)))
        }
        field @ (Field::FdIp(Side::Either)
        | Field::FdPort(Side::Either)
        | Field::FdNet(Side::Either)) => {
            let values = ctx.either(field);
            let negative = matches!(
                matcher,
                Matcher::IpNotIn(_) | Matcher::Num(NumOp::Ne, _) | Matcher::StrNe(_)
            );
            if negative {
                values.iter().any(|v| *v != Val::Missing)
                    && values
                        .iter()
                        .all(|v| *v == Val::Missing || matcher.matches(*v))
            } else {
                values.iter().any(|v| matcher.matches(*v))
            }
        }
        field => {
            let value = ctx.value(field);
            matcher.matches(value)
        }
    }
}
