//! Rule output templates: `%field` substitutions compiled once, rendered per match (`<NA>` for
//! a value the event does not have).

use crate::condition::FieldName;
use crate::extract::Ctx;
use crate::fields::{self, Field};
use crate::matchers::Val;
use std::fmt::Write as _;

#[derive(Debug)]
enum Segment {
    Text(String),
    Field(Field),
    /// A field we cannot fill.
    NotAvailable,
}

/// A compiled output format.
#[derive(Debug, Default)]
pub(crate) struct OutputTemplate {
    segments: Vec<Segment>,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl OutputTemplate {
    /// Compile `format`; also returns the fields that will print as `<NA>`.
    pub(crate) fn compile(format: &str) -> (OutputTemplate, Vec<String>) {
        let bytes = format.as_bytes();
        let mut segments = Vec::new();
        let mut unavailable = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        let mut literal_start = 0;
        while i < bytes.len() {
            if bytes.get(i) != Some(&b'%')
                || !bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic())
            {
                i += 1;
                continue;
            }
            text.push_str(format.get(literal_start..i).unwrap_or_default());
            let start = i + 1;
            let mut end = start;
            while bytes.get(end).copied().is_some_and(is_name_byte) {
                end += 1;
            }
            while bytes.get(end) == Some(&b'.')
                && bytes.get(end + 1).copied().is_some_and(is_name_byte)
            {
                end += 1;
                while bytes.get(end).copied().is_some_and(is_name_byte) {
                    end += 1;
                }
            }
            let name = format.get(start..end).unwrap_or_default().to_string();
            let mut arg = None;
            if bytes.get(end) == Some(&b'[')
                && let Some(close) = format.get(end..).and_then(|rest| rest.find(']'))
            {
                arg = format.get(end + 1..end + close).map(str::to_string);
                end += close + 1;
            }
            let field = FieldName { name, arg };
            if !text.is_empty() {
                segments.push(Segment::Text(std::mem::take(&mut text)));
            }
            match fields::resolve(&field) {
                Ok(resolved) => segments.push(Segment::Field(resolved)),
                Err(_) => {
                    let written = field.to_string();
                    if !unavailable.contains(&written) {
                        unavailable.push(written);
                    }
                    segments.push(Segment::NotAvailable);
                }
            }
            i = end;
            literal_start = end;
        }
        text.push_str(format.get(literal_start..).unwrap_or_default());
        if !text.is_empty() {
            segments.push(Segment::Text(text));
        }
        (OutputTemplate { segments }, unavailable)
    }

    /// Render for the event in `ctx` into `out` (cleared first).
    pub(crate) fn render(&self, ctx: &mut Ctx<'_, '_>, out: &mut String) {
        out.clear();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::NotAvailable => out.push_str("<NA>"),
                Segment::Field(field) => match ctx.value(field) {
                    Val::Missing => out.push_str("<NA>"),
                    Val::Str(s) => out.push_str(s),
                    Val::Num(n) => {
                        let _ = write!(out, "{n}");
                    }
                    Val::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                    Val::Ip(ip) => {
                        let _ = write!(out, "{ip}");
                    }
                },
            }
        }
    }
}
