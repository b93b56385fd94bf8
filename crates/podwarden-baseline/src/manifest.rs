//! Reading manifests: splitting a YAML stream (or JSON values) into documents, parsing each
//! on its own into `serde_json::Value`, expanding `kind: List`, and finding the pod template of
//! every pod-bearing object.

use crate::finding::ObjectRef;
use crate::options::CustomKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The text format of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Yaml,
    Json,
}

/// A document that could not be read, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{file}: document {document} (line {line}): {message}")]
pub struct DocumentError {
    pub file: String,
    pub document: usize,
    /// Line (from 1) of the problem in the file.
    pub line: usize,
    pub message: String,
}

/// One document of a source: its place in the text and its parsed value.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    /// Index in the stream, from 0.
    pub index: usize,
    /// Byte range of the document's text in the source.
    pub start: usize,
    pub end: usize,
    /// Line (from 1) of the document's first content.
    pub line: usize,
    /// Line (from 1) where the document's text starts.
    pub start_line: usize,
    pub format: Format,
    pub text: &'a str,
}

/// The serde-saphyr options used for manifests: YAML 1.1 booleans (like Kubernetes'
/// go-yaml), duplicate keys rejected, merge keys expanded, budgets on.
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { with_snippet: false }
}

/// First line of a parser message (serde-saphyr messages may carry a snippet).
pub(crate) fn one_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}

/// Splits a source into documents. JSON sources (the first character is `{` or `[` and the
/// text parses as JSON values) yield one document per JSON value; everything else is a YAML
/// stream split at `---` / `...` marker lines. Splitting never fails; parsing is per document.
pub fn split_documents(text: &str) -> Vec<Document<'_>> {
    if let Some(docs) = split_json(text) {
        return docs;
    }
    split_yaml(text)
}

/// Parses one document. `Ok(None)` for an empty document (only comments or nothing).
pub fn parse_document(file: &str, doc: &Document<'_>) -> Result<Option<Value>, DocumentError> {
    let fail = |line: usize, message: String| DocumentError {
        file: file.to_string(),
        document: doc.index,
        line,
        message,
    };
    match doc.format {
        Format::Json => serde_json::from_str::<Value>(doc.text)
            .map(Some)
            .map_err(|e| fail(doc.start_line + e.line().saturating_sub(1), e.to_string())),
        Format::Yaml => {
            if !has_content(doc.text) {
                return Ok(None);
            }
            match crate::yaml_value::parse(doc.text) {
                Ok(value) => Ok(value.filter(|v| !v.is_null())),
                Err(e) => {
                    let line = doc.start_line + e.line.saturating_sub(1);
                    let mut message = e.message;
                    if doc.text.contains("{{") {
                        message.push_str(" (the document looks like an unrendered template: render it first, e.g. `helm template ... | podwarden scan k8s -`)");
                    }
                    Err(fail(line, message))
                }
            }
        }
    }
}

fn has_content(text: &str) -> bool {
    text.lines().any(line_is_content)
}

/// Whether a line holds YAML content (not blank, a comment, a directive or a bare marker).
fn line_is_content(line: &str) -> bool {
    let rest = if is_marker(line, "---") || is_marker(line, "...") {
        &line[3..]
    } else if line.starts_with('%') {
        return false;
    } else {
        line
    };
    let t = rest.trim();
    !(t.is_empty() || t.starts_with('#'))
}

/// 1-based line (within `text`) of the first line with content.
fn first_content_line(text: &str) -> usize {
    text.lines()
        .position(line_is_content)
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// 1-based line number of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    memchr::memchr_iter(b'\n', &text.as_bytes()[..at]).count() + 1
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.starts_with(marker)
        && matches!(
            line.as_bytes().get(3),
            None | Some(b' ' | b'\t' | b'\r' | b'\n')
        )
}

fn split_yaml(text: &str) -> Vec<Document<'_>> {
    // Chunks end before a `---` line or after a `...` line. A chunk that holds only comments,
    // blank lines or directives and no `---` is a preamble and joins the next chunk.
    let mut bounds: Vec<(usize, usize, bool)> = Vec::new(); // (start, end, explicit)
    let mut chunk_start = 0usize;
    let mut chunk_explicit = false;
    let mut chunk_has_content = false;
    let mut pos = 0usize;
    let bytes = text.as_bytes();
    while pos < text.len() {
        let line_end = memchr::memchr(b'\n', &bytes[pos..])
            .map(|i| pos + i + 1)
            .unwrap_or(text.len());
        let line = &text[pos..line_end];
        if is_marker(line, "---") {
            if chunk_explicit || chunk_has_content {
                bounds.push((chunk_start, pos, chunk_explicit));
                chunk_start = pos;
            }
            chunk_explicit = true;
            chunk_has_content = line_is_content(line);
        } else if is_marker(line, "...") {
            if chunk_explicit || chunk_has_content {
                bounds.push((chunk_start, line_end, chunk_explicit));
                chunk_start = line_end;
            }
            chunk_explicit = false;
            chunk_has_content = false;
        } else if line_is_content(line) {
            chunk_has_content = true;
        }
        pos = line_end;
    }
    if chunk_explicit || chunk_has_content {
        bounds.push((chunk_start, text.len(), chunk_explicit));
    } else if let Some(last) = bounds.last_mut() {
        // Trailing comments belong to the last document's text.
        last.1 = text.len();
    }
    bounds
        .into_iter()
        .enumerate()
        .map(|(index, (start, end, _))| {
            let body = &text[start..end];
            let start_line = line_of(text, start);
            Document {
                index,
                start,
                end,
                line: start_line + first_content_line(body) - 1,
                start_line,
                format: Format::Yaml,
                text: body,
            }
        })
        .collect()
}

fn split_json<'a>(text: &'a str) -> Option<Vec<Document<'a>>> {
    let first = text
        .char_indices()
        .find(|(_, c)| !c.is_whitespace() && *c != '\u{feff}')?;
    if first.1 != '{' && first.1 != '[' {
        return None;
    }
    // Each document covers the text from the previous document's end to its own end, so that
    // the pieces put together give back the source exactly.
    let mut docs: Vec<Document<'a>> = Vec::new();
    let mut start = 0usize;
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    let push = |docs: &mut Vec<Document<'a>>, start: usize, end: usize| {
        let body = &text[start..end];
        let lead = body.len() - body.trim_start().len();
        docs.push(Document {
            index: docs.len(),
            start,
            end,
            line: line_of(text, start + lead),
            start_line: line_of(text, start),
            format: Format::Json,
            text: body,
        });
    };
    loop {
        match stream.next() {
            None => break,
            Some(Ok(_)) => {
                let end = stream.byte_offset();
                push(&mut docs, start, end);
                start = end;
            }
            Some(Err(_)) if docs.is_empty() => return None, // not JSON after all: read as YAML
            Some(Err(_)) => {
                // A broken value after good ones: its own document, so that parsing reports the
                // error with its line.
                push(&mut docs, start, text.len());
                start = text.len();
                break;
            }
        }
    }
    // Trailing whitespace stays with the last document.
    if start < text.len()
        && let Some(last) = docs.last_mut()
    {
        last.end = text.len();
        last.text = &text[last.start..];
    }
    Some(docs)
}

/// Reads `/a/b/c`-style access on a JSON value, treating `null` like absence.
pub(crate) fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value.get(key) {
        Some(Value::Null) | None => None,
        Some(v) => Some(v),
    }
}

pub(crate) fn get_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    get(value, key).and_then(Value::as_str)
}

/// The identity of an object: apiVersion, kind, namespace, name.
pub fn object_ref(object: &Value) -> ObjectRef {
    let meta = get(object, "metadata");
    let text = |key: &str| meta.and_then(|m| get_str(m, key)).map(str::to_string);
    ObjectRef {
        api_version: get_str(object, "apiVersion").unwrap_or("").to_string(),
        kind: get_str(object, "kind").unwrap_or("").to_string(),
        namespace: text("namespace"),
        name: text("name").or_else(|| text("generateName").map(|g| format!("{g}*"))),
    }
}

/// Whether a document is a list of objects (`kind: List`, or `<Kind>List` with `items`).
pub fn list_items(document: &Value) -> Option<&Vec<Value>> {
    let kind = get_str(document, "kind")?;
    if kind == "List" || kind.ends_with("List") {
        get(document, "items")?.as_array()
    } else {
        None
    }
}

/// Where a pod-bearing object keeps its pod: JSON pointers of the pod's metadata and spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodLocation {
    /// Pointer to the pod (template) metadata (may not exist in the object).
    pub metadata: String,
    /// Pointer to the pod spec.
    pub spec: String,
}

const BUILTIN_GROUPS: &[&str] = &["", "apps", "extensions", "batch"];

/// The pod template location of an object, or `None` when the kind carries no pod.
pub fn pod_location(object: &Value, custom_kinds: &[CustomKind]) -> Option<PodLocation> {
    let kind = get_str(object, "kind")?;
    let api_version = get_str(object, "apiVersion").unwrap_or("");
    let group = match api_version.split_once('/') {
        Some((group, _)) => group,
        None => "",
    };
    if BUILTIN_GROUPS.contains(&group) {
        let template = match kind {
            "Pod" => {
                return Some(PodLocation {
                    metadata: "/metadata".into(),
                    spec: "/spec".into(),
                });
            }
            "PodTemplate" => Some("/template"),
            "ReplicationController"
            | "ReplicaSet"
            | "Deployment"
            | "DaemonSet"
            | "StatefulSet"
            | "Job" => Some("/spec/template"),
            "CronJob" => Some("/spec/jobTemplate/spec/template"),
            _ => None,
        };
        if let Some(template) = template {
            return Some(PodLocation {
                metadata: format!("{template}/metadata"),
                spec: format!("{template}/spec"),
            });
        }
    }
    let custom = custom_kinds.iter().find(|c| c.matches(api_version, kind))?;
    let pointer = |dotted: &str| {
        dotted
            .split('.')
            .filter(|s| !s.is_empty())
            .map(|s| format!("/{}", escape_pointer(s)))
            .collect::<String>()
    };
    if let Some(template) = &custom.template_path {
        let t = pointer(template);
        Some(PodLocation {
            metadata: format!("{t}/metadata"),
            spec: format!("{t}/spec"),
        })
    } else {
        custom.pod_spec_path.as_ref().map(|spec| PodLocation {
            metadata: "/metadata".into(),
            spec: pointer(spec),
        })
    }
}

/// Escapes one JSON pointer token (RFC 6901).
pub fn escape_pointer(token: &str) -> String {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1")
    } else {
        token.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[(usize, &str)]) {
        let docs = split_documents(text);
        let got: Vec<(usize, &str)> = docs.iter().map(|d| (d.line, d.text)).collect();
        assert_eq!(got, expected, "splitting {text:?}");
        assert_eq!(docs.iter().map(|d| d.text).collect::<String>(), text);
    }

    #[test]
    fn splits_streams() {
        check("a: 1\n", &[(1, "a: 1\n")]);
        check(
            "# header\n---\na: 1\n---\nb: 2\n",
            &[(3, "# header\n---\na: 1\n"), (5, "---\nb: 2\n")],
        );
        check(
            "a: 1\n---\n# empty\n---\nb: 2\n# tail\n",
            &[
                (1, "a: 1\n"),
                (2, "---\n# empty\n"),
                (5, "---\nb: 2\n# tail\n"),
            ],
        );
        check(
            "a: 1\n...\n---\nb: 2\n",
            &[(1, "a: 1\n...\n"), (4, "---\nb: 2\n")],
        );
        check("--- {a: 1}\n", &[(1, "--- {a: 1}\n")]);
        check("x: |\n  ---not\n", &[(1, "x: |\n  ---not\n")]);
        check(
            "{\"a\": 1}\n{\"b\": 2}\n",
            &[(1, "{\"a\": 1}"), (2, "\n{\"b\": 2}\n")],
        );
        check("{a: 1}\n", &[(1, "{a: 1}\n")]);
    }
}
