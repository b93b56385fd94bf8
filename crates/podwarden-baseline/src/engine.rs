//! Running the checks: over the objects of a document (expanding Lists), over the documents of
//! a source (streaming, one parsed document at a time), turning violations into findings with
//! full locations, and applying exemptions.

use crate::catalogue;
use crate::finding::{Finding, Location, Severity};
use crate::hardening::{self, ObjectInfo};
use crate::manifest::{self, DocumentError, Format, get, get_str, list_items, object_ref};
use crate::options::{Level, Options};
use crate::pod::Pod;
use crate::pss::{self, Ctx};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The result of checking one source (file or standard input).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub file: String,
    /// Documents in the source (including empty ones and ones that failed to parse).
    pub documents: usize,
    /// Kubernetes objects read (List items counted one by one).
    pub objects: usize,
    /// Pod-bearing objects checked.
    pub pods: usize,
    pub findings: Vec<Finding>,
    /// Documents that could not be read; never skipped silently.
    pub errors: Vec<DocumentError>,
}

impl Report {
    /// Findings that are not exempted.
    pub fn active_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_exempted())
    }
}

/// Where a document sits in its source, for locations.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DocPlace<'a> {
    pub file: &'a str,
    pub index: usize,
    pub line: usize,
    /// Lines of `items[i]` for a List document, when known.
    pub item_lines: Option<&'a [usize]>,
}

/// Checks one parsed document (an object or a List of objects).
pub fn check_document(document: &Value, options: &Options) -> Vec<Finding> {
    let place = DocPlace {
        file: "",
        index: 0,
        line: 0,
        item_lines: None,
    };
    let mut findings = Vec::new();
    check_value(document, options, place, &mut findings);
    findings
}

/// Checks a bare pod spec (e.g. one uploaded by an agent), with the pod's metadata if known;
/// findings point at `/spec/...` of a pod object built around it.
pub fn check_pod_spec(spec: &Value, metadata: Option<&Value>, options: &Options) -> Vec<Finding> {
    let mut pod = serde_json::Map::new();
    pod.insert("apiVersion".into(), Value::String("v1".into()));
    pod.insert("kind".into(), Value::String("Pod".into()));
    if let Some(metadata) = metadata {
        pod.insert("metadata".into(), metadata.clone());
    }
    pod.insert("spec".into(), spec.clone());
    check_document(&Value::Object(pod), options)
}

/// Counts of what a document held.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub objects: usize,
    pub pods: usize,
}

pub(crate) fn check_value(
    document: &Value,
    options: &Options,
    place: DocPlace<'_>,
    findings: &mut Vec<Finding>,
) -> Counts {
    let mut counts = Counts::default();
    match list_items(document) {
        Some(items) => {
            for i in 0..items.len() {
                let line = place
                    .item_lines
                    .and_then(|l| l.get(i).copied())
                    .unwrap_or(place.line);
                counts.objects += 1;
                if check_object(
                    document,
                    &format!("/items/{i}"),
                    Some(i),
                    line,
                    options,
                    place,
                    findings,
                ) {
                    counts.pods += 1;
                }
            }
        }
        None => {
            counts.objects += 1;
            if check_object(document, "", None, place.line, options, place, findings) {
                counts.pods += 1;
            }
        }
    }
    counts
}

/// Checks the object at `prefix` in `doc`; returns whether it carried a pod.
fn check_object(
    doc: &Value,
    prefix: &str,
    item: Option<usize>,
    line: usize,
    options: &Options,
    place: DocPlace<'_>,
    findings: &mut Vec<Finding>,
) -> bool {
    let Some(object) = doc.pointer(prefix).filter(|o| o.is_object()) else {
        return false;
    };
    let Some(location) = manifest::pod_location(object, &options.custom_kinds) else {
        return false;
    };
    let Some(pod) = Pod::new(doc, prefix, &location) else {
        return false;
    };
    let ctx = Ctx {
        version: options.pss_version.minor(),
        relax_user_namespace_pods: options.relax_user_namespace_pods,
    };
    let mut violations = pss::evaluate(&pod, &ctx, options.level != Level::Baseline);
    let object_metadata = get(object, "metadata");
    let namespace = object_metadata.and_then(|m| get_str(m, "namespace"));
    if options.level == Level::All {
        let kind = get_str(object, "kind").unwrap_or("");
        violations.extend(hardening::evaluate(
            &pod,
            &ObjectInfo {
                kind,
                namespace,
                prefix,
            },
        ));
    }
    let object_ref = object_ref(object);
    // The pod template's metadata, when it is not the object's own (annotations count on both).
    let template_metadata = match (pod.metadata, object_metadata) {
        (Some(t), Some(o)) if std::ptr::eq(t, o) => None,
        (t, _) => t,
    };
    for v in violations {
        let severity = catalogue::check(v.check)
            .map(|c| c.severity)
            .unwrap_or(Severity::Medium);
        let mut finding = Finding {
            check_id: v.check.to_string(),
            severity,
            message: v.message,
            location: Location {
                file: place.file.to_string(),
                document: place.index,
                line,
                item,
                object: object_ref.clone(),
                container: v
                    .container
                    .and_then(|i| pod.containers.get(i))
                    .map(|c| c.reference()),
                path: v.path,
            },
            fix: v.fix,
            no_fix_reason: v.no_fix_reason,
            exemption: None,
        };
        finding.exemption =
            options
                .exemptions
                .find(&finding, &[object_metadata, template_metadata], options.now);
        findings.push(finding);
    }
    true
}

/// Checks every document of a source. Documents are parsed and checked one at a time, so
/// memory holds one document (plus the findings), whatever the source's size.
pub fn check_source(file: &str, text: &str, options: &Options) -> Report {
    let mut report = Report {
        file: file.to_string(),
        ..Report::default()
    };
    for doc in manifest::split_documents(text) {
        report.documents += 1;
        let value = match manifest::parse_document(file, &doc) {
            Ok(Some(value)) => value,
            Ok(None) => continue,
            Err(error) => {
                report.errors.push(error);
                continue;
            }
        };
        if !value.is_object() {
            report.errors.push(DocumentError {
                file: file.to_string(),
                document: doc.index,
                line: doc.line,
                message: format!(
                    "not a Kubernetes object: the document is {}",
                    describe(&value)
                ),
            });
            continue;
        }
        let item_lines = if doc.format == Format::Yaml && list_items(&value).is_some() {
            crate::yaml_edit::item_lines(doc.text, doc.start_line)
        } else {
            None
        };
        let place = DocPlace {
            file,
            index: doc.index,
            line: doc.line,
            item_lines: item_lines.as_deref(),
        };
        let counts = check_value(&value, options, place, &mut report.findings);
        report.objects += counts.objects;
        report.pods += counts.pods;
    }
    report
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
