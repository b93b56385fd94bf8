//! SARIF 2.1.0 output, written incrementally: one result per finding, located at the file and
//! the line of the object; exempted findings carry a suppression with the exemption's reason.

use crate::catalogue::{CATALOGUE, CheckLevel};
use crate::finding::{Finding, Severity};
use serde_json::{Value, json};
use std::io::{self, Write};

/// A file or document that could not be read, for the SARIF invocation record.
#[derive(Debug, Clone)]
pub struct InputProblem {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Streams a SARIF log: [`SarifWriter::begin`], then [`SarifWriter::result`] per finding, then
/// [`SarifWriter::finish`].
pub struct SarifWriter<W: Write> {
    out: W,
    first: bool,
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn uri(file: &str) -> String {
    if file == "-" || file.is_empty() {
        return "stdin".into();
    }
    let slashed = file.replace('\\', "/");
    if slashed.starts_with('/') {
        format!("file://{slashed}")
    } else {
        slashed.trim_start_matches("./").to_string()
    }
}

/// The SARIF rule objects, one per catalogue entry.
pub fn rules() -> Vec<Value> {
    CATALOGUE
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.title,
                "shortDescription": {"text": c.title},
                "fullDescription": {"text": c.rationale},
                "help": {"text": c.remediation},
                "defaultConfiguration": {"level": level(c.severity)},
                "properties": {
                    "security-severity": security_severity(c.severity),
                    "tags": ["security", "kubernetes", match c.level {
                        CheckLevel::Baseline => "pod-security-standards-baseline",
                        CheckLevel::Restricted => "pod-security-standards-restricted",
                        CheckLevel::Hardening => "hardening",
                    }],
                },
            })
        })
        .collect()
}

/// The SARIF result object of one finding.
pub fn result(finding: &Finding) -> Value {
    let loc = &finding.location;
    let mut logical = loc.object.to_string();
    if let Some(c) = &loc.container {
        logical.push_str(&format!(" container {}", c.name));
    }
    let mut result = json!({
        "ruleId": finding.check_id,
        "ruleIndex": CATALOGUE.iter().position(|c| c.id == finding.check_id),
        "level": level(finding.severity),
        "message": {"text": finding.message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri(&loc.file)},
                "region": {"startLine": loc.line.max(1)},
            },
            "logicalLocations": [{"fullyQualifiedName": logical, "kind": "object"}],
        }],
        "partialFingerprints": {
            "podwarden/v1": format!("{}|{}|{}|{}", finding.check_id, loc.object, loc.path, loc.document),
        },
        "properties": {
            "severity": finding.severity,
            "document": loc.document,
            "path": loc.path,
        },
    });
    if let Some(fix) = &finding.fix {
        result["properties"]["fix"] = json!({
            "safety": fix.safety,
            "description": fix.description,
            "patch": fix.patch,
        });
    }
    if let Some(exemption) = &finding.exemption {
        result["suppressions"] = json!([{
            "kind": "external",
            "justification": exemption.reason,
        }]);
    }
    result
}

impl<W: Write> SarifWriter<W> {
    /// Writes the log's opening (tool, rules) up to the results array.
    pub fn begin(mut out: W, version: &str) -> io::Result<Self> {
        let driver = json!({
            "name": "podwarden",
            "version": version,
            "rules": rules(),
        });
        write!(
            out,
            "{{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{{\"tool\":{{\"driver\":{driver}}},\"results\":["
        )?;
        Ok(SarifWriter { out, first: true })
    }

    /// Writes one result.
    pub fn result(&mut self, finding: &Finding) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        write!(self.out, "\n{}", result(finding))
    }

    /// Writes results already serialized as comma-separated JSON objects (e.g. rendered in
    /// worker threads with [`result`]).
    pub fn raw_results(&mut self, serialized: &[u8]) -> io::Result<()> {
        let trimmed = serialized.trim_ascii_start();
        if trimmed.is_empty() {
            return Ok(());
        }
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        self.out.write_all(b"\n")?;
        self.out.write_all(trimmed)
    }

    /// Closes the log, reporting unreadable documents and files as tool execution
    /// notifications, and returns the writer.
    pub fn finish(mut self, errors: &[InputProblem]) -> io::Result<W> {
        let notifications: Vec<Value> = errors
            .iter()
            .map(|e| {
                let mut n = json!({
                    "level": "error",
                    "message": {"text": e.message},
                    "locations": [{
                        "physicalLocation": {"artifactLocation": {"uri": uri(&e.file)}},
                    }],
                });
                if let Some(line) = e.line {
                    n["locations"][0]["physicalLocation"]["region"] = json!({"startLine": line});
                }
                n
            })
            .collect();
        let invocation = json!({
            "executionSuccessful": errors.is_empty(),
            "toolExecutionNotifications": notifications,
        });
        write!(self.out, "\n],\"invocations\":[{invocation}]}}]}}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}
