//! Baseline risks: checking a pod spec with the baseline crate (Pod Security Standards and
//! hardening checks) into rows to store, and computing a risk's fix against the stored spec.

use super::check_id;
use crate::findings::detections::MAX_UPLOAD_ID;
use podwarden_api::uplink::PodSpecUpload;
use podwarden_baseline::{Fix, Options, PatchOp, Severity};
use serde_json::Value;

/// One baseline risk, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskRow {
    /// Container name; empty for a pod-level risk.
    pub container: String,
    pub check_id: String,
    pub severity: &'static str,
    pub severity_rank: i64,
    /// `baseline`, `restricted` or `hardening`.
    pub level: String,
    pub title: String,
    pub message: String,
    pub rationale: String,
    pub remediation: String,
    /// JSON pointer of the offending field in the pod.
    pub path: String,
    pub fix: Option<Fix>,
    pub no_fix_reason: Option<String>,
    /// Why the pod's own annotations exempt it (`podwarden.io/skip`), if they do.
    pub exemption: Option<String>,
}

/// Sortable rank of a baseline severity (info 0 … critical 4).
pub fn severity_rank(severity: Severity) -> i64 {
    match severity {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

/// Why a pod spec upload is refused (nothing is stored).
pub fn validate(upload: &PodSpecUpload) -> Result<(), String> {
    check_id("id", &upload.id, MAX_UPLOAD_ID)?;
    i64::try_from(upload.observed_at).map_err(|_| "observed_at is out of range".to_string())?;
    validate_pod(&upload.pod).map_err(|message| format!("pod: {message}"))
}

/// A pod object: `kind: Pod` (or no kind) with a `spec` holding a `containers` list.
pub fn validate_pod(pod: &Value) -> Result<(), String> {
    let object = pod.as_object().ok_or("not a JSON object")?;
    match object.get("kind") {
        None => {}
        Some(Value::String(kind)) if kind == "Pod" => {}
        Some(other) => return Err(format!("kind must be Pod, got {other}")),
    }
    let spec = object
        .get("spec")
        .and_then(Value::as_object)
        .ok_or("spec is missing or not an object")?;
    if !spec.get("containers").is_some_and(Value::is_array) {
        return Err("spec.containers is missing or not a list".to_string());
    }
    Ok(())
}

/// The checked document: the pod with `apiVersion` and `kind` filled in when absent.
fn as_pod_document(pod: &Value) -> Value {
    let mut doc = pod.clone();
    if let Some(object) = doc.as_object_mut() {
        object
            .entry("apiVersion")
            .or_insert_with(|| Value::String("v1".to_string()));
        object
            .entry("kind")
            .or_insert_with(|| Value::String("Pod".to_string()));
    }
    doc
}

/// Every baseline risk of a pod (all levels and hardening checks).
pub fn check_pod(pod: &Value) -> Vec<RiskRow> {
    let doc = as_pod_document(pod);
    let findings = podwarden_baseline::check_document(&doc, &Options::default());
    let mut rows: Vec<RiskRow> = Vec::with_capacity(findings.len());
    for finding in findings {
        let check = podwarden_baseline::check(&finding.check_id);
        let row = RiskRow {
            container: finding
                .location
                .container
                .as_ref()
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            severity: finding.severity.as_str(),
            severity_rank: severity_rank(finding.severity),
            level: check
                .and_then(|c| serde_json::to_value(c.level).ok())
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            title: check.map_or_else(|| finding.check_id.clone(), |c| c.title.to_string()),
            rationale: check.map(|c| c.rationale.to_string()).unwrap_or_default(),
            remediation: check.map(|c| c.remediation.to_string()).unwrap_or_default(),
            message: finding.message,
            path: finding.location.path,
            fix: finding.fix,
            no_fix_reason: finding.no_fix_reason,
            exemption: finding.exemption.map(|e| e.reason),
            check_id: finding.check_id,
        };
        // One row per (container, check, path): the store's key.
        if !rows.iter().any(|r| {
            r.container == row.container && r.check_id == row.check_id && r.path == row.path
        }) {
            rows.push(row);
        }
    }
    rows
}

/// The pod after applying `patch`, or why the patch does not apply to it.
pub fn apply_fix(pod: &Value, patch: &[PatchOp]) -> Result<Value, String> {
    let doc = as_pod_document(pod);
    podwarden_baseline::apply_patch(&doc, patch).map_err(|err| err.to_string())
}

/// YAML text of a JSON value (for people copying a fixed object).
pub fn to_yaml(value: &Value) -> String {
    serde_saphyr::to_string(value).unwrap_or_else(|_| {
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_are_validated() {
        let check = |pod: Value, expected: Result<(), &str>| {
            assert_eq!(
                validate_pod(&pod),
                expected.map_err(str::to_string),
                "{pod}"
            );
        };
        check(json!({"spec": {"containers": []}}), Ok(()));
        check(
            json!({"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "x"}]}}),
            Ok(()),
        );
        check(
            json!({"kind": "Deployment", "spec": {"containers": []}}),
            Err("kind must be Pod, got \"Deployment\""),
        );
        check(json!([]), Err("not a JSON object"));
        check(
            json!({"spec": {}}),
            Err("spec.containers is missing or not a list"),
        );
    }

    #[test]
    fn a_privileged_pod_has_risks_with_fixes() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.25",
                "securityContext": {"privileged": true}}]}
        });
        let rows = check_pod(&pod);
        let privileged = rows
            .iter()
            .find(|r| r.check_id == "pss.privileged")
            .unwrap_or_else(|| panic!("no pss.privileged in {rows:?}"));
        assert_eq!(privileged.container, "app");
        assert!(!privileged.title.is_empty() && !privileged.remediation.is_empty());
        let fix = privileged
            .fix
            .as_ref()
            .unwrap_or_else(|| panic!("no fix for {privileged:?}"));
        let fixed = apply_fix(&pod, &fix.patch).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(
            fixed["spec"]["containers"][0]["securityContext"]["privileged"],
            json!(true)
        );
        assert!(
            !check_pod(&fixed)
                .iter()
                .any(|r| r.check_id == "pss.privileged"),
            "the fix removes the risk"
        );
        assert!(to_yaml(&fixed).contains("containers:"));
    }
}
