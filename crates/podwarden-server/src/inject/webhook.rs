//! `POST /admission/mutate`: the mutating admission webhook that injects the agent.
//!
//! Takes an `AdmissionReview` (`admission.k8s.io/v1`; `v1beta1` is answered in kind) and answers
//! with the same review carrying a `response`: `uid` of the request, `allowed: true`, and when
//! something was injected a base64 RFC 6902 JSON Patch (`patchType: JSONPatch`). Pods that ask
//! for the agent but cannot take it are allowed unchanged with a warning (or denied with 403
//! when `webhook_deny_on_refusal` is set): the webhook never blocks a workload by default.
//! A body that is not an AdmissionReview gets HTTP 400 (the API server then applies the
//! webhook's `failurePolicy`; `Ignore` is recommended).
//!
//! The webhook needs no bearer token: the API server authenticates the webhook by the CA in
//! the `MutatingWebhookConfiguration`, and the webhook can in turn require the API server's
//! client certificate (`webhook_client_ca`). It reads nothing from the store: the injected
//! environment refers to the enrolment Secret by name in the pod's own namespace.
//!
//! Operations: `CREATE` of every supported kind and `UPDATE` of workloads (their templates are
//! mutable; a Pod's containers are not) are mutated; sub-resources, `DELETE` and `CONNECT` are
//! allowed untouched. Dry-run requests are answered the same way (the webhook has no side
//! effects: `sideEffects: None`).

use super::patch::diff;
use super::{InjectConfig, Outcome, Selection, TemplateReport, inject};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

/// Largest AdmissionReview accepted, bytes (objects are at most ~3 MiB in etcd; a review of
/// an UPDATE carries two of them).
pub const MAX_REVIEW_BYTES: usize = 8 * 1024 * 1024;

/// Why a body is not a usable AdmissionReview (answered with HTTP 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("not an AdmissionReview: {0}")]
    NotAReview(String),
    #[error("unsupported AdmissionReview apiVersion {0:?} (expected admission.k8s.io/v1)")]
    Version(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReviewIn {
    api_version: String,
    kind: String,
    request: Option<RequestIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestIn {
    uid: String,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    sub_resource: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    object: Option<Value>,
    #[serde(default)]
    dry_run: Option<bool>,
}

/// How the webhook answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewPolicy {
    pub config: InjectConfig,
    pub deny_on_refusal: bool,
}

/// Answers one AdmissionReview body with the response review (pure: no IO, no clock).
pub fn review(body: &[u8], policy: &ReviewPolicy) -> Result<Value, ReviewError> {
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| ReviewError::NotJson(e.to_string()))?;
    let review: ReviewIn =
        serde_json::from_value(raw).map_err(|e| ReviewError::NotAReview(e.to_string()))?;
    if review.kind != "AdmissionReview" {
        return Err(ReviewError::NotAReview(format!(
            "kind is {:?}",
            review.kind
        )));
    }
    if !matches!(
        review.api_version.as_str(),
        "admission.k8s.io/v1" | "admission.k8s.io/v1beta1"
    ) {
        return Err(ReviewError::Version(review.api_version));
    }
    let request = review
        .request
        .ok_or_else(|| ReviewError::NotAReview("no request".to_string()))?;
    if request.uid.is_empty() {
        return Err(ReviewError::NotAReview("request.uid is empty".to_string()));
    }
    let response = respond(&request, policy);
    Ok(json!({
        "apiVersion": review.api_version,
        "kind": "AdmissionReview",
        "response": response,
    }))
}

fn respond(request: &RequestIn, policy: &ReviewPolicy) -> Value {
    let allow = |extra: Option<(&str, Value)>| {
        let mut response = json!({"uid": request.uid, "allowed": true});
        if let Some((key, value)) = extra
            && let Some(map) = response.as_object_mut()
        {
            map.insert(key.to_string(), value);
        }
        response
    };
    let operation = request.operation.as_str();
    if request
        .sub_resource
        .as_deref()
        .is_some_and(|s| !s.is_empty())
        || !matches!(operation, "CREATE" | "UPDATE")
    {
        return allow(None);
    }
    let Some(original) = request.object.as_ref().filter(|o| o.is_object()) else {
        return allow(None);
    };
    let is_pod = original.get("kind").and_then(Value::as_str) == Some("Pod");
    if operation == "UPDATE" && is_pod {
        // A running pod's containers cannot change.
        return allow(None);
    }
    let mut mutated = original.clone();
    let reports = inject(&mut mutated, &policy.config, Selection::Annotated);
    let object = describe(request, original);
    let refusals: Vec<&TemplateReport> = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Refused(_)))
        .collect();
    let injected = reports
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Injected { .. }));
    for report in &reports {
        match &report.outcome {
            Outcome::Injected { native_sidecar } => tracing::info!(
                object = %object, dry_run = request.dry_run.unwrap_or(false),
                native_sidecar, "agent injected"
            ),
            Outcome::Refused(refusal) => tracing::warn!(
                object = %object, reason = refusal.code.as_str(), "agent not injected: {}",
                refusal.message
            ),
            Outcome::AlreadyInjected | Outcome::NotRequested => {}
        }
    }
    let warnings: Vec<String> = refusals
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Refused(refusal) => Some(warning(refusal)),
            _ => None,
        })
        .collect();
    if policy.deny_on_refusal && !warnings.is_empty() {
        return json!({
            "uid": request.uid,
            "allowed": false,
            "status": {
                "status": "Failure",
                "code": 403,
                "reason": "Forbidden",
                "message": warnings.join("; "),
            },
        });
    }
    let mut response = allow(None);
    let Some(map) = response.as_object_mut() else {
        return response;
    };
    if injected {
        let ops = diff(original, &mutated);
        let patch = serde_json::to_vec(&ops).unwrap_or_default();
        map.insert("patchType".to_string(), json!("JSONPatch"));
        map.insert(
            "patch".to_string(),
            json!(base64::engine::general_purpose::STANDARD.encode(patch)),
        );
        map.insert(
            "auditAnnotations".to_string(),
            json!({"injection": "injected"}),
        );
    }
    if !warnings.is_empty() {
        map.insert("warnings".to_string(), json!(warnings));
    }
    response
}

/// Longest warning: the API server may truncate longer ones.
const MAX_WARNING: usize = 120;

/// The admission warning for a refusal, at most [`MAX_WARNING`] characters.
fn warning(refusal: &super::Refusal) -> String {
    let text = format!(
        "podwarden: agent not injected ({}): {}",
        refusal.code.as_str(),
        refusal.message
    );
    if text.chars().count() <= MAX_WARNING {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_WARNING - 3).collect();
    cut.push_str("...");
    cut
}

/// `namespace/kind/name` of the request's object, for the log.
fn describe(request: &RequestIn, object: &Value) -> String {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("?");
    let name = request
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| {
            let metadata = object.get("metadata")?;
            metadata
                .get("name")
                .or_else(|| metadata.get("generateName"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    format!(
        "{}/{kind}/{name}",
        request.namespace.as_deref().unwrap_or("")
    )
}

/// The policy from the server's settings.
pub fn policy(state: &AppState) -> ReviewPolicy {
    let settings = &state.store.settings().inject;
    ReviewPolicy {
        config: settings.config.clone(),
        deny_on_refusal: settings.deny_on_refusal,
    }
}

/// `POST /admission/mutate`.
#[utoipa::path(post, path = "/admission/mutate", tag = "admission",
    description = "Kubernetes mutating admission webhook (AdmissionReview admission.k8s.io/v1) that injects the agent sidecar into pods and pod templates annotated `podwarden.io/agent: \"enabled\"`. No bearer token: served over TLS to the API server (`webhook_listen`).",
    request_body(content = Object, description = "AdmissionReview with a request", content_type = "application/json"),
    responses(
        (status = 200, description = "AdmissionReview with the response", body = Object),
        (status = 400, description = "Not an AdmissionReview", body = crate::error::ErrorBody)
    ))]
pub async fn mutate(State(state): State<AppState>, body: Bytes) -> Response {
    let policy = policy(&state);
    // Large reviews take a few milliseconds to diff; keep them off the I/O threads.
    let answer = if body.len() > 256 * 1024 {
        match tokio::task::spawn_blocking(move || review(&body, &policy)).await {
            Ok(answer) => answer,
            Err(_) => Err(ReviewError::NotAReview(
                "the review could not be processed".into(),
            )),
        }
    } else {
        review(&body, &policy)
    };
    match answer {
        Ok(review) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_vec(&review).unwrap_or_default(),
        )
            .into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "admission review refused");
            crate::error::ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_admission_review",
                err.to_string(),
            )
            .into_response()
        }
    }
}

/// The router of the webhook listener: just `POST /admission/mutate` (no other route is
/// reachable through the webhook's port).
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/admission/mutate", axum::routing::post(mutate))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REVIEW_BYTES))
        .with_state(state)
}
