//! A small YAML document tree that remembers the line of every node, built from
//! `granit-parser` events (rule diagnostics must point at lines).

use granit_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

/// Upper bound on nodes in one file, aliases included (guards against alias bombs).
const MAX_NODES: usize = 2_000_000;

/// A YAML node and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub value: Value,
    /// 1-based line where the node starts.
    pub line: usize,
    /// 1-based line where the node ends.
    pub end_line: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// A scalar and whether it was written plain (unquoted, not a block).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax error.
#[derive(Debug, Clone)]
pub(crate) struct YamlError {
    pub line: usize,
    pub message: String,
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Whether this is a plain `~`, `null` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if text.is_empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
    }

    /// A boolean scalar (`true`/`false`, any case; also `yes`/`no`, `on`/`off` as YAML 1.1 has it).
    pub fn as_bool(&self) -> Option<bool> {
        let text = self.as_str()?;
        match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Some(true),
            "false" | "no" | "off" => Some(false),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the node's type for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

enum Frame {
    Seq {
        line: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        line: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
    },
}

/// Parse every document of `text`; each document's root node is returned.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut documents = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut node_count = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|err| YamlError {
            line: err.marker().line(),
            message: err.info(),
        })?;
        let line = span.start.line();
        let end_line = span.end.line();
        let finished: Option<Node> = match event {
            Event::Scalar(value, style, anchor, _tag) => {
                let node = Node {
                    value: Value::Scalar {
                        text: value.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                    line,
                    end_line,
                };
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                Some(node)
            }
            Event::Alias(id) => {
                let node = anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    line,
                    message: "alias to an unknown anchor".to_string(),
                })?;
                node_count += count_nodes(&node);
                Some(node)
            }
            Event::SequenceStart(_, anchor, _) => {
                stack.push(Frame::Seq {
                    line,
                    anchor,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(_, anchor, _) => {
                stack.push(Frame::Map {
                    line,
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    line: start,
                    anchor,
                    items,
                }) => {
                    let node = Node {
                        value: Value::Seq(items),
                        line: start,
                        end_line,
                    };
                    if anchor != 0 {
                        anchors.insert(anchor, node.clone());
                    }
                    Some(node)
                }
                _ => return Err(unbalanced(line)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    line: start,
                    anchor,
                    entries,
                    ..
                }) => {
                    let node = Node {
                        value: Value::Map(entries),
                        line: start,
                        end_line,
                    };
                    if anchor != 0 {
                        anchors.insert(anchor, node.clone());
                    }
                    Some(node)
                }
                _ => return Err(unbalanced(line)),
            },
            Event::DocumentEnd => {
                anchors.clear();
                None
            }
            _ => None,
        };
        let Some(node) = finished else { continue };
        node_count += 1;
        if node_count > MAX_NODES {
            return Err(YamlError {
                line,
                message: format!("more than {MAX_NODES} YAML nodes (alias expansion?)"),
            });
        }
        match stack.last_mut() {
            None => documents.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
    Ok(documents)
}

fn unbalanced(line: usize) -> YamlError {
    YamlError {
        line,
        message: "unbalanced collection end".to_string(),
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        Value::Scalar { .. } => 1,
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_know_their_lines() {
        let docs =
            parse("- rule: a\n  condition: >\n    x and\n    y\n- list: l\n  items: [a, b]\n")
                .unwrap_or_default();
        let items = docs.first().and_then(Node::as_seq).unwrap_or_default();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].line, 1);
        // A block scalar starts on its first content line.
        assert_eq!(items[0].get("condition").map(|n| n.line), Some(3));
        assert_eq!(
            items[0].get("condition").and_then(Node::as_str),
            Some("x and y\n")
        );
        assert_eq!(items[1].line, 5);
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = parse("- rule: a\n  condition: [x\n- b: c\n").err();
        assert!(err.is_some_and(|e| e.line >= 2), "error expected");
    }

    #[test]
    fn aliases_resolve() {
        let docs = parse("a: &x [1, 2]\nb: *x\n").unwrap_or_default();
        let b = docs.first().and_then(|d| d.get("b")).and_then(Node::as_seq);
        assert_eq!(b.map(<[Node]>::len), Some(2));
    }
}
