//! Byte-preserving edits of one YAML (or JSON) document: a tree of node positions built from
//! granit-parser events, and JSON Patch operations turned into text splices that keep
//! comments, key order, quoting and indentation style of everything they do not touch.

use crate::finding::PatchOp;
use crate::patch::pointer_tokens;
use granit_parser::{Event, Parser, Span, StructureStyle};
use serde_json::Value;

/// Deepest nesting accepted when building the position tree.
const MAX_DEPTH: usize = 200;

/// A text edit that could not be made; the caller refuses the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EditError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, EditError> {
    Err(EditError(message.into()))
}

#[derive(Debug)]
struct Node {
    /// Byte offset of the node's first character (the `{`/`[` of flow collections, the first
    /// key or `-` of block collections).
    start: usize,
    /// Byte offset just past the node's last content character.
    end: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// `implicit`: an empty (null) value with no text, e.g. `key:` followed by a line break.
    Scalar {
        value: String,
        implicit: bool,
    },
    Map {
        flow: bool,
        entries: Vec<(Node, Node)>,
    },
    Seq {
        flow: bool,
        items: Vec<Node>,
    },
    Alias,
}

impl Node {
    fn is_block_collection(&self) -> bool {
        matches!(
            self.kind,
            Kind::Map { flow: false, .. } | Kind::Seq { flow: false, .. }
        )
    }
}

type Events<'a> = Parser<'a, granit_parser::StrInput<'a>>;

fn next_event<'a>(events: &mut Events<'a>) -> Result<(Event<'a>, Span), EditError> {
    match events.next() {
        Some(Ok(pair)) => Ok(pair),
        Some(Err(e)) => err(format!("YAML: {e}")),
        None => err("unexpected end of YAML events"),
    }
}

fn range(span: &Span) -> Result<(usize, usize), EditError> {
    span.byte_range()
        .map(|r| (r.start, r.end))
        .ok_or_else(|| EditError("parser gave no byte offsets".into()))
}

/// Moves `end` back over trailing whitespace (block scalars' spans run into the next line).
fn trim_back(text: &str, start: usize, mut end: usize) -> usize {
    let bytes = text.as_bytes();
    while end > start && matches!(bytes.get(end - 1), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        end -= 1;
    }
    end
}

fn parse_tree(text: &str) -> Result<Node, EditError> {
    let mut events: Events<'_> = Parser::new_from_str(text);
    loop {
        let (event, span) = next_event(&mut events)?;
        match event {
            Event::StreamStart | Event::DocumentStart(..) => continue,
            #[allow(unreachable_patterns)]
            Event::Comment(..) => continue,
            Event::StreamEnd | Event::DocumentEnd => return err("empty document"),
            _ => return read_node(text, &mut events, event, span, 0),
        }
    }
}

fn read_node<'a>(
    text: &str,
    events: &mut Events<'a>,
    first: Event<'a>,
    span: Span,
    depth: usize,
) -> Result<Node, EditError> {
    if depth > MAX_DEPTH {
        return err("document nests too deeply to edit");
    }
    let (start, end) = range(&span)?;
    match first {
        Event::Scalar(value, ..) => {
            let end = trim_back(text, start, end);
            Ok(Node {
                start,
                end,
                kind: Kind::Scalar {
                    implicit: start == end,
                    value: value.into_owned(),
                },
            })
        }
        Event::Alias(..) => Ok(Node {
            start,
            end,
            kind: Kind::Alias,
        }),
        Event::MappingStart(style, ..) => {
            let flow = style == StructureStyle::Flow;
            let mut entries = Vec::new();
            let mut last_end = start;
            loop {
                let (event, span) = next_event(events)?;
                match event {
                    Event::MappingEnd => {
                        let end = if flow { range(&span)?.1 } else { last_end };
                        return Ok(Node {
                            start,
                            end,
                            kind: Kind::Map { flow, entries },
                        });
                    }
                    #[allow(unreachable_patterns)]
                    Event::Comment(..) => continue,
                    event => {
                        let key = read_node(text, events, event, span, depth + 1)?;
                        let (event, span) = loop {
                            let (event, span) = next_event(events)?;
                            #[allow(unreachable_patterns)]
                            if !matches!(event, Event::Comment(..)) {
                                break (event, span);
                            }
                        };
                        let value = read_node(text, events, event, span, depth + 1)?;
                        last_end = value.end.max(key.end);
                        entries.push((key, value));
                    }
                }
            }
        }
        Event::SequenceStart(style, ..) => {
            let flow = style == StructureStyle::Flow;
            let mut items: Vec<Node> = Vec::new();
            let mut last_end = start;
            loop {
                let (event, span) = next_event(events)?;
                match event {
                    Event::SequenceEnd => {
                        let end = if flow { range(&span)?.1 } else { last_end };
                        // A block sequence starts at its first `-` (the parser's start event
                        // may point at the first item's content instead).
                        let start = match items.first() {
                            Some(first) if !flow => dash_before(text, first.start).unwrap_or(start),
                            _ => start,
                        };
                        return Ok(Node {
                            start,
                            end,
                            kind: Kind::Seq { flow, items },
                        });
                    }
                    #[allow(unreachable_patterns)]
                    Event::Comment(..) => continue,
                    event => {
                        let item = read_node(text, events, event, span, depth + 1)?;
                        last_end = item.end;
                        items.push(item);
                    }
                }
            }
        }
        _ => err("unexpected YAML event"),
    }
}

/// Offset of the `-` introducing a block sequence item that starts at `item_start`.
fn dash_before(text: &str, item_start: usize) -> Option<usize> {
    let before = text[..item_start].trim_end_matches([' ', '\t', '\r', '\n']);
    before.ends_with('-').then(|| before.len() - 1)
}

/// Lines (from `start_line`) where each element of the root mapping's `items` starts.
pub(crate) fn item_lines(text: &str, start_line: usize) -> Option<Vec<usize>> {
    let root = parse_tree(text).ok()?;
    let Kind::Map { entries, .. } = &root.kind else {
        return None;
    };
    let (_, items) = entries
        .iter()
        .find(|(k, _)| matches!(&k.kind, Kind::Scalar { value, .. } if value == "items"))?;
    let Kind::Seq { items, .. } = &items.kind else {
        return None;
    };
    Some(
        items
            .iter()
            .map(|i| start_line + crate::manifest::line_of(text, i.start) - 1)
            .collect(),
    )
}

// ---- layout helpers ----

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0)
}

fn column(text: &str, at: usize) -> usize {
    at - line_start(text, at)
}

/// Offset of the end of the line holding `at` (before `\r\n` or `\n`, or the text's end).
fn line_end(text: &str, at: usize) -> usize {
    let end = text[at..].find('\n').map(|i| at + i).unwrap_or(text.len());
    if end > at && text.as_bytes().get(end - 1) == Some(&b'\r') {
        end - 1
    } else {
        end
    }
}

/// Offset just past the line break ending the line holding `at`.
fn after_line(text: &str, at: usize) -> usize {
    text[at..]
        .find('\n')
        .map(|i| at + i + 1)
        .unwrap_or(text.len())
}

/// Offset just past the `:` that follows a mapping key.
fn after_colon(text: &str, key: &Node) -> Result<usize, EditError> {
    let rest = &text[key.end..];
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if rest[skipped..].starts_with(':') {
        Ok(key.end + skipped + 1)
    } else {
        err("cannot find the ':' after a mapping key")
    }
}

/// How the document lays out block collections.
struct Style {
    /// Indentation added for a nested block mapping.
    step: usize,
    /// Indentation of a block sequence's `-` relative to its parent key (0 = Kubernetes style).
    seq_offset: usize,
    newline: &'static str,
    /// JSON document: every inserted collection is flow, every string quoted.
    json: bool,
}

fn detect_style(text: &str, root: &Node, json: bool) -> Style {
    let mut step = None;
    let mut seq_offset = None;
    fn walk(text: &str, node: &Node, step: &mut Option<usize>, seq: &mut Option<usize>) {
        match &node.kind {
            Kind::Map {
                entries,
                flow: false,
            } => {
                for (k, v) in entries {
                    let key_col = column(text, k.start);
                    match &v.kind {
                        Kind::Map { flow: false, .. } if step.is_none() => {
                            *step = column(text, v.start)
                                .checked_sub(key_col)
                                .filter(|s| *s > 0);
                        }
                        Kind::Seq { flow: false, .. } if seq.is_none() => {
                            *seq = column(text, v.start).checked_sub(key_col);
                        }
                        _ => {}
                    }
                    walk(text, v, step, seq);
                }
            }
            Kind::Map {
                entries,
                flow: true,
            } => {
                for (_, v) in entries {
                    walk(text, v, step, seq);
                }
            }
            Kind::Seq { items, .. } => {
                for i in items {
                    walk(text, i, step, seq);
                }
            }
            _ => {}
        }
    }
    walk(text, root, &mut step, &mut seq_offset);
    Style {
        step: step.unwrap_or(2),
        seq_offset: seq_offset.unwrap_or(0),
        newline: if text.contains("\r\n") { "\r\n" } else { "\n" },
        json,
    }
}

// ---- emitting values ----

fn plain_safe(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
}

fn scalar_text(value: &Value, style: &Style) -> String {
    match value {
        Value::String(s) if !style.json && plain_safe(s) => s.clone(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        other => other.to_string(),
    }
}

fn key_text(key: &str, style: &Style) -> String {
    scalar_text(&Value::String(key.to_string()), style)
}

/// One-line (flow) text of a value.
fn flow_text(value: &Value, style: &Style) -> String {
    match value {
        Value::Object(m) if !m.is_empty() => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", key_text(k, style), flow_text(v, style)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::Array(a) if !a.is_empty() => {
            let inner: Vec<String> = a.iter().map(|v| flow_text(v, style)).collect();
            format!("[{}]", inner.join(", "))
        }
        other => scalar_text(other, style),
    }
}

fn is_inline(value: &Value, style: &Style) -> bool {
    style.json
        || match value {
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => true,
        }
}

/// Block lines of a mapping whose keys sit at column `indent`.
fn block_map_lines(
    map: &serde_json::Map<String, Value>,
    indent: usize,
    style: &Style,
    out: &mut Vec<String>,
) {
    let pad = " ".repeat(indent);
    for (k, v) in map {
        let head = format!("{pad}{}:", key_text(k, style));
        match v {
            Value::Object(m) if !m.is_empty() => {
                out.push(head);
                block_map_lines(m, indent + style.step, style, out);
            }
            Value::Array(a) if !a.is_empty() => {
                out.push(head);
                block_seq_lines(a, indent + style.seq_offset, style, out);
            }
            other => out.push(format!("{head} {}", scalar_text(other, style))),
        }
    }
}

/// Block lines of a sequence whose dashes sit at column `indent`.
fn block_seq_lines(items: &[Value], indent: usize, style: &Style, out: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    for item in items {
        match item {
            Value::Object(m) if !m.is_empty() => {
                let mut lines = Vec::new();
                block_map_lines(m, indent + 2, style, &mut lines);
                for (i, line) in lines.into_iter().enumerate() {
                    if i == 0 {
                        out.push(format!(
                            "{pad}- {}",
                            line.get(indent + 2..).unwrap_or(&line)
                        ));
                    } else {
                        out.push(line);
                    }
                }
            }
            Value::Array(a) if !a.is_empty() => {
                out.push(format!("{pad}- {}", flow_text(item, style)))
            }
            other => out.push(format!("{pad}- {}", scalar_text(other, style))),
        }
    }
}

/// Text for a value placed after `key:` at a key column of `key_col`: either ` value` on the
/// same line, or a line break and block lines.
fn value_after_colon(value: &Value, key_col: usize, style: &Style) -> String {
    if is_inline(value, style) {
        return format!(" {}", flow_text(value, style));
    }
    let mut lines = Vec::new();
    match value {
        Value::Object(m) => block_map_lines(m, key_col + style.step, style, &mut lines),
        Value::Array(a) => block_seq_lines(a, key_col + style.seq_offset, style, &mut lines),
        _ => {}
    }
    format!("{}{}", style.newline, lines.join(style.newline))
}

// ---- applying operations ----

struct Splice {
    at: usize,
    end: usize,
    text: String,
}

/// How a node was reached from its parent.
enum Parent<'n> {
    Root,
    /// Value of `key` in a mapping.
    Entry {
        map: &'n Node,
        key: &'n Node,
    },
    /// Item of a sequence.
    Item {
        seq: &'n Node,
    },
}

fn find_entry<'n>(node: &'n Node, key: &str) -> Option<(usize, &'n Node, &'n Node)> {
    match &node.kind {
        Kind::Map { entries, .. } => entries
            .iter()
            .enumerate()
            .find(|(_, (k, _))| matches!(&k.kind, Kind::Scalar { value, .. } if value == key))
            .map(|(i, (k, v))| (i, k, v)),
        _ => None,
    }
}

/// Walks `tokens` from the root; returns the node reached and how it was reached.
fn walk<'n>(root: &'n Node, tokens: &[String]) -> Result<(&'n Node, Parent<'n>), EditError> {
    let mut node = root;
    let mut parent = Parent::Root;
    for token in tokens {
        match &node.kind {
            Kind::Map { .. } => {
                let Some((_, key, value)) = find_entry(node, token) else {
                    return err(format!(
                        "no key {token:?} in the text (merge keys or aliases?)"
                    ));
                };
                parent = Parent::Entry { map: node, key };
                node = value;
            }
            Kind::Seq { items, .. } => {
                let index: usize = token
                    .parse()
                    .map_err(|_| EditError(format!("bad list index {token:?}")))?;
                let Some(item) = items.get(index) else {
                    return err(format!("no item {index} in the text"));
                };
                parent = Parent::Item { seq: node };
                node = item;
            }
            Kind::Alias => return err("the path goes through a YAML alias"),
            Kind::Scalar { .. } => return err(format!("{token:?} is under a scalar")),
        }
    }
    Ok((node, parent))
}

/// Replaces `node` (reached through `parent`) with `value`.
fn replace_node(
    text: &str,
    node: &Node,
    parent: &Parent<'_>,
    value: &Value,
    style: &Style,
) -> Result<Splice, EditError> {
    if matches!(node.kind, Kind::Alias) {
        return err("cannot replace a YAML alias");
    }
    let inline = is_inline(value, style);
    match parent {
        Parent::Entry { map, key } => {
            let key_col = column(text, key.start);
            let in_flow = matches!(map.kind, Kind::Map { flow: true, .. });
            if inline || in_flow {
                let new = flow_text(value, style);
                match &node.kind {
                    Kind::Scalar { implicit: true, .. } => {
                        let at = after_colon(text, key)?;
                        Ok(Splice {
                            at,
                            end: at,
                            text: format!(" {new}"),
                        })
                    }
                    _ if node.is_block_collection() => {
                        let at = after_colon(text, key)?;
                        Ok(Splice {
                            at,
                            end: node.end,
                            text: format!(" {new}"),
                        })
                    }
                    _ => Ok(Splice {
                        at: node.start,
                        end: node.end,
                        text: new,
                    }),
                }
            } else {
                let new = value_after_colon(value, key_col, style);
                match &node.kind {
                    Kind::Scalar { implicit: true, .. } => {
                        // After any comment on the key's line.
                        let at = line_end(text, key.end);
                        Ok(Splice {
                            at,
                            end: at,
                            text: new,
                        })
                    }
                    _ => {
                        let at = after_colon(text, key)?;
                        Ok(Splice {
                            at,
                            end: node.end,
                            text: new,
                        })
                    }
                }
            }
        }
        Parent::Item { seq } => {
            let in_flow = matches!(seq.kind, Kind::Seq { flow: true, .. });
            if inline || in_flow || !value.is_object() {
                return Ok(Splice {
                    at: node.start,
                    end: node.end,
                    text: flow_text(value, style),
                });
            }
            let col = column(text, node.start);
            let mut lines = Vec::new();
            if let Value::Object(m) = value {
                block_map_lines(m, col, style, &mut lines);
            }
            let joined = lines.join(style.newline);
            Ok(Splice {
                at: node.start,
                end: node.end,
                text: joined.get(col..).unwrap_or(&joined).to_string(),
            })
        }
        Parent::Root => {
            if node.is_block_collection() && !inline {
                return err("cannot replace a whole block document");
            }
            Ok(Splice {
                at: node.start,
                end: node.end,
                text: flow_text(value, style),
            })
        }
    }
}

fn add_entry(
    text: &str,
    map: &Node,
    key: &str,
    value: &Value,
    style: &Style,
) -> Result<Splice, EditError> {
    let Kind::Map { flow, entries } = &map.kind else {
        return err("not a mapping");
    };
    let key_out = key_text(key, style);
    if *flow {
        let entry = format!("{key_out}: {}", flow_text(value, style));
        let Some((last_key, last_value)) = entries.last() else {
            return Ok(Splice {
                at: map.start,
                end: map.end,
                text: format!("{{{entry}}}"),
            });
        };
        let close = map.end.saturating_sub(1);
        let multi_line = text
            .get(last_value.end..close)
            .is_some_and(|t| t.contains('\n'));
        let sep = if multi_line {
            format!(
                ",{}{}",
                style.newline,
                " ".repeat(column(text, last_key.start))
            )
        } else {
            ", ".to_string()
        };
        return Ok(Splice {
            at: last_value.end,
            end: last_value.end,
            text: format!("{sep}{entry}"),
        });
    }
    let Some((first_key, _)) = entries.first() else {
        return err("empty block mapping");
    };
    let col = column(text, first_key.start);
    let at = line_end(text, map.end);
    Ok(Splice {
        at,
        end: at,
        text: format!(
            "{}{}{key_out}:{}",
            style.newline,
            " ".repeat(col),
            value_after_colon(value, col, style)
        ),
    })
}

fn append_item(text: &str, seq: &Node, value: &Value, style: &Style) -> Result<Splice, EditError> {
    let Kind::Seq { flow, items } = &seq.kind else {
        return err("not a sequence");
    };
    if *flow {
        let item = flow_text(value, style);
        let Some(last) = items.last() else {
            return Ok(Splice {
                at: seq.start,
                end: seq.end,
                text: format!("[{item}]"),
            });
        };
        let close = seq.end.saturating_sub(1);
        let multi_line = text.get(last.end..close).is_some_and(|t| t.contains('\n'));
        let sep = if multi_line {
            format!(",{}{}", style.newline, " ".repeat(column(text, last.start)))
        } else {
            ", ".to_string()
        };
        return Ok(Splice {
            at: last.end,
            end: last.end,
            text: format!("{sep}{item}"),
        });
    }
    let dash_col = column(text, seq.start);
    let mut lines = Vec::new();
    block_seq_lines(std::slice::from_ref(value), dash_col, style, &mut lines);
    let at = line_end(text, seq.end);
    Ok(Splice {
        at,
        end: at,
        text: format!("{}{}", style.newline, lines.join(style.newline)),
    })
}

/// Removes `node` from its parent collection (entry `index`).
fn remove_node(
    text: &str,
    container: &Node,
    container_parent: &Parent<'_>,
    index: usize,
    style: &Style,
) -> Result<Splice, EditError> {
    let (flow, count, start_of, end_of): (bool, usize, Vec<usize>, Vec<usize>) =
        match &container.kind {
            Kind::Map { flow, entries } => (
                *flow,
                entries.len(),
                entries.iter().map(|(k, _)| k.start).collect(),
                entries.iter().map(|(k, v)| v.end.max(k.end)).collect(),
            ),
            Kind::Seq { flow, items } => (
                *flow,
                items.len(),
                items.iter().map(|i| i.start).collect(),
                items.iter().map(|i| i.end).collect(),
            ),
            _ => return err("not a collection"),
        };
    if index >= count {
        return err("no such entry");
    }
    let is_map = matches!(container.kind, Kind::Map { .. });
    if count == 1 {
        // The collection becomes empty: write it as `{}` / `[]`.
        let empty = if is_map {
            Value::Object(Default::default())
        } else {
            Value::Array(Vec::new())
        };
        return replace_node(text, container, container_parent, &empty, style);
    }
    if flow {
        return Ok(if index + 1 < count {
            Splice {
                at: start_of[index],
                end: start_of[index + 1],
                text: String::new(),
            }
        } else {
            Splice {
                at: end_of[index - 1],
                end: end_of[index],
                text: String::new(),
            }
        });
    }
    // Block: the entry starts at its key, or at the `-` of a sequence item.
    let entry_start = if is_map {
        start_of[index]
    } else {
        match dash_before(text, start_of[index]) {
            Some(dash) => dash,
            None => return err("cannot find the '-' of a sequence item"),
        }
    };
    let ls = line_start(text, entry_start);
    if text[ls..entry_start].trim().is_empty() {
        Ok(Splice {
            at: ls,
            end: after_line(text, end_of[index]),
            text: String::new(),
        })
    } else if index + 1 < count {
        // First entry of a mapping that follows a `- `: pull the next entry up.
        Ok(Splice {
            at: entry_start,
            end: start_of[index + 1],
            text: String::new(),
        })
    } else {
        err("cannot remove this entry without rewriting its line")
    }
}

/// Applies one JSON Patch operation to a document's text.
pub(crate) fn apply_op(text: &str, op: &PatchOp, json: bool) -> Result<String, EditError> {
    let root = parse_tree(text)?;
    let style = detect_style(text, &root, json);
    let mut tokens = pointer_tokens(op.path()).map_err(EditError)?;
    let Some(last) = tokens.pop() else {
        return err("cannot edit the whole document");
    };
    let (container, container_parent) = walk(&root, &tokens)?;
    let splice = match op {
        PatchOp::Test { .. } => return Ok(text.to_string()),
        PatchOp::Add { value, .. } | PatchOp::Replace { value, .. } => match &container.kind {
            Kind::Map { .. } => match find_entry(container, &last) {
                Some((_, key, node)) => replace_node(
                    text,
                    node,
                    &Parent::Entry {
                        map: container,
                        key,
                    },
                    value,
                    &style,
                )?,
                None if matches!(op, PatchOp::Add { .. }) => {
                    add_entry(text, container, &last, value, &style)?
                }
                None => return err(format!("no key {last:?} to replace")),
            },
            Kind::Seq { items, .. } => {
                if last == "-" && matches!(op, PatchOp::Add { .. }) {
                    append_item(text, container, value, &style)?
                } else if let (PatchOp::Replace { .. }, Ok(i)) = (op, last.parse::<usize>()) {
                    let node = items
                        .get(i)
                        .ok_or_else(|| EditError(format!("no item {i}")))?;
                    replace_node(text, node, &Parent::Item { seq: container }, value, &style)?
                } else {
                    return err("only appending to or replacing in a list is supported");
                }
            }
            _ => return err("the parent is not a collection"),
        },
        PatchOp::Remove { .. } => {
            let index = match &container.kind {
                Kind::Map { .. } => find_entry(container, &last)
                    .map(|(i, _, _)| i)
                    .ok_or_else(|| EditError(format!("no key {last:?} to remove")))?,
                Kind::Seq { .. } => last
                    .parse::<usize>()
                    .map_err(|_| EditError(format!("bad list index {last:?}")))?,
                _ => return err("the parent is not a collection"),
            };
            remove_node(text, container, &container_parent, index, &style)?
        }
    };
    let mut out = String::with_capacity(text.len() + splice.text.len());
    out.push_str(&text[..splice.at]);
    out.push_str(&splice.text);
    out.push_str(&text[splice.end..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(before: &str, op: PatchOp, after: &str) {
        let json = before.starts_with('{');
        let got =
            apply_op(before, &op, json).unwrap_or_else(|e| panic!("{op:?} on {before:?}: {e}"));
        assert_eq!(got, after, "{op:?}");
    }

    fn add(path: &str, value: Value) -> PatchOp {
        PatchOp::Add {
            path: path.into(),
            value,
        }
    }

    #[test]
    fn edits_keep_everything_else() {
        check(
            "a: 1 # one\nb:\n  c: 2\n",
            add("/b/d", json!(true)),
            "a: 1 # one\nb:\n  c: 2\n  d: true\n",
        );
        check(
            "a: 1\nb: {}\n",
            add("/b/x", json!({"t": "RuntimeDefault", "y": "on"})),
            "a: 1\nb: {x: {t: RuntimeDefault, \"y\": \"on\"}}\n",
        );
        check(
            "spec:\n  containers:\n  - name: a\n    image: x # pinned?\n",
            add(
                "/spec/containers/0/securityContext",
                json!({"capabilities": {"drop": ["ALL"]}}),
            ),
            "spec:\n  containers:\n  - name: a\n    image: x # pinned?\n    securityContext:\n      capabilities:\n        drop:\n        - ALL\n",
        );
        check(
            "drop:\n  - NET_RAW\n",
            add("/drop/-", json!("ALL")),
            "drop:\n  - NET_RAW\n  - ALL\n",
        );
        check("x: [a, b]\n", add("/x/-", json!("ALL")), "x: [a, b, ALL]\n");
        check(
            "k:\n  add:\n  - A\n  - B\n  z: 1\n",
            PatchOp::Remove {
                path: "/k/add/0".into(),
            },
            "k:\n  add:\n  - B\n  z: 1\n",
        );
        check(
            "k:\n  add:\n  - A\n  z: 1\n",
            PatchOp::Remove {
                path: "/k/add/0".into(),
            },
            "k:\n  add: []\n  z: 1\n",
        );
        check(
            "ports:\n- hostPort: 80\n  containerPort: 80\n",
            PatchOp::Remove {
                path: "/ports/0/hostPort".into(),
            },
            "ports:\n- containerPort: 80\n",
        );
        check(
            "a:\n  privileged: true # why\n  b: 1\n",
            PatchOp::Replace {
                path: "/a/privileged".into(),
                value: json!(false),
            },
            "a:\n  privileged: false # why\n  b: 1\n",
        );
        check(
            "sc:\nz: 1\n",
            add("/sc", json!({"runAsNonRoot": true})),
            "sc:\n  runAsNonRoot: true\nz: 1\n",
        );
        check(
            "{\n  \"a\": {\"b\": 1},\n  \"c\": 2\n}\n",
            add("/d", json!(false)),
            "{\n  \"a\": {\"b\": 1},\n  \"c\": 2,\n  \"d\": false\n}\n",
        );
    }
}
