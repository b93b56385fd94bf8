//! Applying fixes: for each requested finding with a fix allowed by the mode, patch the
//! document, refuse the patch if the API server would reject the result, if it introduces a
//! finding or does not resolve its own, or if the text cannot be rewritten faithfully; then
//! splice the text so that comments, key order and untouched documents stay byte-for-byte.

use crate::engine::{DocPlace, check_value};
use crate::finding::{Finding, FindingKey, Fix, FixSafety, Location, PatchOp};
use crate::manifest::{self, Format, get, get_str, list_items};
use crate::options::Options;
use crate::patch;
use crate::yaml_edit;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Which fixes to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixMode {
    /// Only fixes classed safe.
    Safe,
    /// Safe and risky fixes.
    Risky,
}

impl FixMode {
    fn allows(self, safety: FixSafety) -> bool {
        self == FixMode::Risky || safety == FixSafety::Safe
    }
}

/// A fix that was applied.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppliedFix {
    pub check_id: String,
    pub location: Location,
    pub safety: FixSafety,
    pub description: String,
    pub patch: Vec<PatchOp>,
}

/// A requested finding that is still there after fixing, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotFixed {
    pub check_id: String,
    pub location: Location,
    pub reason: String,
}

/// The result of [`fix`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixOutcome {
    /// The rewritten source (equal to the input when nothing changed).
    pub text: String,
    pub changed: bool,
    pub applied: Vec<AppliedFix>,
    pub not_fixed: Vec<NotFixed>,
}

/// Most fixes applied to one document (a guard against a fix loop).
const MAX_FIXES_PER_DOCUMENT: usize = 500;

/// Fixes the given findings (typically a [`crate::Report`]'s, for this same `text`) in `text`.
/// Exempted findings are left alone. `options` must be the ones the findings came from, since
/// every fix is re-checked with them.
pub fn fix(
    file: &str,
    text: &str,
    findings: &[Finding],
    mode: FixMode,
    options: &Options,
) -> FixOutcome {
    let requested: HashSet<FindingKey> = findings
        .iter()
        .filter(|f| !f.is_exempted())
        .map(Finding::key)
        .collect();
    let by_document: BTreeSet<usize> = requested.iter().map(|k| k.document).collect();
    let mut applied = Vec::new();
    let mut not_fixed = Vec::new();
    let docs = manifest::split_documents(text);
    let mut out = String::with_capacity(text.len() + 256);
    let mut copied_to = 0usize;
    for doc in &docs {
        out.push_str(&text[copied_to..doc.start]);
        copied_to = doc.end;
        if !by_document.contains(&doc.index) {
            out.push_str(doc.text);
            continue;
        }
        let doc_findings: Vec<&Finding> = findings
            .iter()
            .filter(|f| !f.is_exempted() && f.location.document == doc.index)
            .collect();
        let value = match manifest::parse_document(file, doc) {
            Ok(Some(v)) => v,
            Ok(None) | Err(_) => {
                for f in doc_findings {
                    not_fixed.push(NotFixed {
                        check_id: f.check_id.clone(),
                        location: f.location.clone(),
                        reason: "the document cannot be parsed".into(),
                    });
                }
                out.push_str(doc.text);
                continue;
            }
        };
        let result = fix_document(
            file,
            doc.index,
            doc.text,
            doc.format,
            value,
            &requested,
            mode,
            options,
            &|f: &Finding| f.fix.clone(),
        );
        applied.extend(result.applied);
        for f in doc_findings {
            if let Some(reason) = result.remaining.get(&f.key()) {
                not_fixed.push(NotFixed {
                    check_id: f.check_id.clone(),
                    location: f.location.clone(),
                    reason: reason.clone(),
                });
            }
        }
        out.push_str(&result.text);
    }
    out.push_str(&text[copied_to..]);
    let changed = out != text;
    FixOutcome {
        text: out,
        changed,
        applied,
        not_fixed,
    }
}

struct DocumentFix {
    text: String,
    applied: Vec<AppliedFix>,
    /// Requested findings still present, with the reason.
    remaining: BTreeMap<FindingKey, String>,
}

fn recheck(file: &str, index: usize, value: &Value, options: &Options) -> Vec<Finding> {
    let mut findings = Vec::new();
    let place = DocPlace {
        file,
        index,
        line: 0,
        item_lines: None,
    };
    check_value(value, options, place, &mut findings);
    findings
}

fn parse_text(text: &str, format: Format) -> Option<Value> {
    match format {
        Format::Json => serde_json::from_str(text).ok(),
        Format::Yaml => crate::yaml_value::parse(text).ok().flatten(),
    }
}

#[allow(clippy::too_many_arguments)]
fn fix_document(
    file: &str,
    index: usize,
    text: &str,
    format: Format,
    mut value: Value,
    requested: &HashSet<FindingKey>,
    mode: FixMode,
    options: &Options,
    fix_for: &dyn Fn(&Finding) -> Option<Fix>,
) -> DocumentFix {
    let mut text = text.to_string();
    let mut refused: BTreeMap<FindingKey, String> = BTreeMap::new();
    let mut applied = Vec::new();
    let mut findings = recheck(file, index, &value, options);
    for _ in 0..MAX_FIXES_PER_DOCUMENT {
        let candidate = findings.iter().find(|f| {
            let key = f.key();
            requested.contains(&key)
                && !refused.contains_key(&key)
                && !f.is_exempted()
                && fix_for(f).is_some_and(|fix| mode.allows(fix.safety))
        });
        let Some(candidate) = candidate else { break };
        let key = candidate.key();
        let Some(fix) = fix_for(candidate) else {
            break;
        };
        match try_fix(
            file, index, &text, format, &value, &findings, &key, &fix.patch, options,
        ) {
            Ok((new_text, new_value, new_findings)) => {
                applied.push(AppliedFix {
                    check_id: candidate.check_id.clone(),
                    location: candidate.location.clone(),
                    safety: fix.safety,
                    description: fix.description.clone(),
                    patch: fix.patch.clone(),
                });
                text = new_text;
                value = new_value;
                findings = new_findings;
            }
            Err(reason) => {
                refused.insert(key, format!("fix refused: {reason}"));
            }
        }
    }
    let mut remaining = BTreeMap::new();
    for f in &findings {
        let key = f.key();
        if !requested.contains(&key) {
            continue;
        }
        let reason = if let Some(reason) = refused.get(&key) {
            reason.clone()
        } else if let Some(fix) = &f.fix {
            if mode.allows(fix.safety) {
                "not fixed".to_string()
            } else {
                format!(
                    "risky fix not applied (use --fix=risky): {} — {}",
                    fix.description,
                    fix.risk.as_deref().unwrap_or("it may break the workload")
                )
            }
        } else {
            match &f.no_fix_reason {
                Some(r) => format!("no automatic fix: {r}"),
                None => "no automatic fix".to_string(),
            }
        };
        remaining.insert(key, reason);
    }
    DocumentFix {
        text,
        applied,
        remaining,
    }
}

#[allow(clippy::too_many_arguments)]
fn try_fix(
    file: &str,
    index: usize,
    text: &str,
    format: Format,
    value: &Value,
    findings: &[Finding],
    key: &FindingKey,
    ops: &[PatchOp],
    options: &Options,
) -> Result<(String, Value, Vec<Finding>), String> {
    let new_value = patch::apply(value, ops).map_err(|e| e.to_string())?;
    let before = api_problems(value, options);
    let introduced: Vec<String> = api_problems(&new_value, options)
        .difference(&before)
        .cloned()
        .collect();
    if !introduced.is_empty() {
        return Err(format!(
            "the API server would reject the result: {}",
            introduced.join("; ")
        ));
    }
    let new_findings = recheck(file, index, &new_value, options);
    let old_keys: HashSet<FindingKey> = findings.iter().map(Finding::key).collect();
    let mut new_checks: Vec<&str> = new_findings
        .iter()
        .filter(|f| !old_keys.contains(&f.key()))
        .map(|f| f.check_id.as_str())
        .collect();
    if !new_checks.is_empty() {
        new_checks.sort_unstable();
        new_checks.dedup();
        return Err(format!("it would introduce {}", new_checks.join(", ")));
    }
    if new_findings.iter().any(|f| &f.key() == key) {
        return Err("it does not resolve the finding".into());
    }
    let mut new_text = text.to_string();
    for op in ops {
        new_text = yaml_edit::apply_op(&new_text, op, format == Format::Json)
            .map_err(|e| format!("cannot rewrite the text: {e}"))?;
    }
    if parse_text(&new_text, format).as_ref() != Some(&new_value) {
        return Err(
            "cannot rewrite the text faithfully (anchors, merge keys or an unusual layout)".into(),
        );
    }
    Ok((new_text, new_value, new_findings))
}

/// What the API server (or the kubelet, for runAsNonRoot with UID 0) would reject in the pods
/// of a document. Fixes must not add to this.
pub(crate) fn api_problems(doc: &Value, options: &Options) -> BTreeSet<String> {
    let mut problems = BTreeSet::new();
    let objects: Vec<(String, &Value)> = match list_items(doc) {
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("/items/{i}"), v))
            .collect(),
        None => vec![(String::new(), doc)],
    };
    for (prefix, object) in objects {
        let Some(location) = manifest::pod_location(object, &options.custom_kinds) else {
            continue;
        };
        let Some(pod) = crate::pod::Pod::new(doc, &prefix, &location) else {
            continue;
        };
        let windows = pod.is_windows();
        let linux = get(pod.spec, "os").and_then(|os| get_str(os, "name")) == Some("linux");
        if windows {
            for field in [
                "seLinuxOptions",
                "seccompProfile",
                "appArmorProfile",
                "runAsUser",
                "runAsGroup",
                "sysctls",
                "fsGroup",
                "supplementalGroups",
            ] {
                if pod.sc(field).is_some() {
                    problems.insert(format!("{prefix} Windows pod sets securityContext.{field}"));
                }
            }
        }
        if linux && pod.sc("windowsOptions").is_some() {
            problems.insert(format!(
                "{prefix} Linux pod sets securityContext.windowsOptions"
            ));
        }
        for c in &pod.containers {
            let at = &c.path;
            if c.sc_bool("allowPrivilegeEscalation") == Some(false) {
                if c.sc_bool("privileged") == Some(true) {
                    problems.insert(format!(
                        "{at}: allowPrivilegeEscalation: false with privileged: true"
                    ));
                }
                if c.capabilities("add")
                    .iter()
                    .any(|(_, cap)| matches!(*cap, "SYS_ADMIN" | "CAP_SYS_ADMIN"))
                {
                    problems.insert(format!(
                        "{at}: allowPrivilegeEscalation: false with SYS_ADMIN added"
                    ));
                }
            }
            if windows {
                for field in [
                    "seLinuxOptions",
                    "seccompProfile",
                    "appArmorProfile",
                    "capabilities",
                    "readOnlyRootFilesystem",
                    "privileged",
                    "allowPrivilegeEscalation",
                    "procMount",
                    "runAsUser",
                    "runAsGroup",
                ] {
                    if c.sc(field).is_some() {
                        problems.insert(format!(
                            "{at}: Windows container sets securityContext.{field}"
                        ));
                    }
                }
            }
            if linux && c.sc("windowsOptions").is_some() {
                problems.insert(format!(
                    "{at}: Linux container sets securityContext.windowsOptions"
                ));
            }
            let non_root = pod.effective(c, "runAsNonRoot").and_then(Value::as_bool) == Some(true);
            let uid_zero = pod.effective(c, "runAsUser").and_then(Value::as_f64) == Some(0.0);
            if non_root && uid_zero {
                problems.insert(format!(
                    "{at}: runAsNonRoot: true with runAsUser: 0 (the container cannot start)"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Level;
    use serde_json::json;

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: x\n";

    /// Runs the fix loop with a replacement patch for allowPrivilegeEscalation and returns
    /// the reason it was refused.
    fn refusal(bad_patch: Vec<PatchOp>) -> String {
        let options = Options {
            level: Level::Restricted,
            ..Options::default()
        };
        let doc = &manifest::split_documents(POD)[0];
        let value = manifest::parse_document("p.yaml", doc)
            .ok()
            .flatten()
            .expect("pod parses");
        let findings = recheck("p.yaml", 0, &value, &options);
        let requested: HashSet<FindingKey> = findings.iter().map(Finding::key).collect();
        let target = "pss.allowPrivilegeEscalation";
        let fix_for = |f: &Finding| {
            (f.check_id == target).then(|| Fix {
                safety: FixSafety::Safe,
                description: "test".into(),
                risk: None,
                patch: bad_patch.clone(),
            })
        };
        let result = fix_document(
            "p.yaml",
            0,
            doc.text,
            doc.format,
            value,
            &requested,
            FixMode::Risky,
            &options,
            &fix_for,
        );
        assert!(result.applied.is_empty());
        assert_eq!(result.text, POD, "a refused fix must leave the text alone");
        result
            .remaining
            .iter()
            .find(|(k, _)| k.check_id == target)
            .map(|(_, r)| r.clone())
            .expect("still reported")
    }

    #[test]
    fn refuses_fixes_that_break_or_worsen_the_pod() {
        let add = |path: &str, value| PatchOp::Add {
            path: path.into(),
            value,
        };
        let cases = [
            (
                vec![add(
                    "/spec/containers/0/securityContext",
                    json!({"allowPrivilegeEscalation": false, "privileged": true}),
                )],
                "fix refused: the API server would reject the result",
            ),
            (
                vec![
                    add(
                        "/spec/containers/0/securityContext",
                        json!({"allowPrivilegeEscalation": false}),
                    ),
                    add("/spec/hostNetwork", json!(true)),
                ],
                "fix refused: it would introduce pss.hostNamespaces",
            ),
            (
                vec![add("/spec/dnsPolicy", json!("Default"))],
                "fix refused: it does not resolve the finding",
            ),
            (
                vec![PatchOp::Remove {
                    path: "/spec/nothing".into(),
                }],
                "fix refused: cannot apply JSON patch remove",
            ),
        ];
        for (patch, expected) in cases {
            let reason = refusal(patch);
            assert!(reason.starts_with(expected), "{reason}");
        }
    }
}
