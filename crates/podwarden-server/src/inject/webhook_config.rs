//! The `MutatingWebhookConfiguration` that registers the injector with a cluster
//! (`podwarden inject --webhook-config`).
//!
//! It sends Pod `CREATE`s only: injecting at pod creation covers every workload kind (their
//! controllers create the pods) without changing the workloads themselves, so rollouts and
//! GitOps diffs stay quiet. `failurePolicy: Ignore` keeps pods starting when the center is
//! down, `sideEffects: None` allows dry runs, `reinvocationPolicy: IfNeeded` lets the injector
//! see containers other webhooks add, and `kube-system`, `kube-node-lease` and the center's own
//! namespace are left out.

use base64::Engine;
use serde_json::{Value, json};

/// Where the API server reaches the webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookTarget {
    /// A URL, `https://host:port/admission/mutate`.
    Url(String),
    /// A Service in the cluster.
    Service {
        namespace: String,
        name: String,
        port: u16,
    },
}

/// Why a configuration cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookConfigError {
    #[error("--url {0:?}: the API server calls webhooks over https:// only")]
    NotHttps(String),
    #[error("--service {0:?}: expected NAMESPACE/NAME or NAMESPACE/NAME:PORT")]
    Service(String),
    #[error("the CA bundle holds no PEM CERTIFICATE block")]
    NoCertificate,
}

/// Parses `NAMESPACE/NAME[:PORT]` (port default 443).
pub fn parse_service(text: &str) -> Result<WebhookTarget, WebhookConfigError> {
    let fail = || WebhookConfigError::Service(text.to_string());
    let (namespace, rest) = text.split_once('/').ok_or_else(fail)?;
    let (name, port) = match rest.split_once(':') {
        Some((name, port)) => (name, port.parse::<u16>().map_err(|_| fail())?),
        None => (rest, 443),
    };
    let label = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !label(namespace) || !label(name) || port == 0 {
        return Err(fail());
    }
    Ok(WebhookTarget::Service {
        namespace: namespace.to_string(),
        name: name.to_string(),
        port,
    })
}

/// The configuration object. `ca_pem` is the PEM bundle the API server trusts for the webhook.
pub fn webhook_configuration(
    target: &WebhookTarget,
    ca_pem: &str,
) -> Result<Value, WebhookConfigError> {
    if !ca_pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(WebhookConfigError::NoCertificate);
    }
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes());
    let mut excluded = vec!["kube-system".to_string(), "kube-node-lease".to_string()];
    let client_config = match target {
        WebhookTarget::Url(url) => {
            if !url.starts_with("https://") {
                return Err(WebhookConfigError::NotHttps(url.clone()));
            }
            json!({"url": url, "caBundle": ca_bundle})
        }
        WebhookTarget::Service {
            namespace,
            name,
            port,
        } => {
            if !excluded.contains(namespace) {
                excluded.push(namespace.clone());
            }
            json!({
                "service": {"namespace": namespace, "name": name, "path": "/admission/mutate", "port": port},
                "caBundle": ca_bundle
            })
        }
    };
    Ok(json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "name": "podwarden-agent-injector",
            "labels": {"app.kubernetes.io/name": "podwarden", "app.kubernetes.io/component": "agent-injector"}
        },
        "webhooks": [{
            "name": "agent-injector.podwarden.io",
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": "Ignore",
            "reinvocationPolicy": "IfNeeded",
            "matchPolicy": "Equivalent",
            "timeoutSeconds": 5,
            "clientConfig": client_config,
            "rules": [{
                "operations": ["CREATE"],
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "resources": ["pods"],
                "scope": "Namespaced"
            }],
            "namespaceSelector": {"matchExpressions": [{
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": excluded
            }]}
        }]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn check(
        target: Result<WebhookTarget, WebhookConfigError>,
        ca: &str,
        expected: Result<(&str, Value), WebhookConfigError>,
    ) {
        let result = target.and_then(|t| webhook_configuration(&t, ca));
        match (result, expected) {
            (Ok(config), Ok((pointer, value))) => {
                assert_eq!(
                    config.pointer(pointer),
                    Some(&value),
                    "{pointer} in {config}"
                );
                assert_eq!(
                    config
                        .pointer("/webhooks/0/clientConfig/caBundle")
                        .and_then(Value::as_str),
                    Some(
                        base64::engine::general_purpose::STANDARD
                            .encode(ca)
                            .as_str()
                    )
                );
            }
            (Err(got), Err(want)) => assert_eq!(got, want),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn configurations() {
        check(
            Ok(WebhookTarget::Url(
                "https://10.0.0.1:8443/admission/mutate".into(),
            )),
            CA,
            Ok((
                "/webhooks/0/clientConfig/url",
                json!("https://10.0.0.1:8443/admission/mutate"),
            )),
        );
        check(
            parse_service("podwarden/podwarden-webhook:8443"),
            CA,
            Ok((
                "/webhooks/0/namespaceSelector/matchExpressions/0/values",
                json!(["kube-system", "kube-node-lease", "podwarden"]),
            )),
        );
        check(
            parse_service("podwarden/webhook"),
            CA,
            Ok(("/webhooks/0/clientConfig/service/port", json!(443))),
        );
        check(
            Ok(WebhookTarget::Url(
                "http://10.0.0.1/admission/mutate".into(),
            )),
            CA,
            Err(WebhookConfigError::NotHttps(
                "http://10.0.0.1/admission/mutate".into(),
            )),
        );
        check(
            parse_service("webhook"),
            CA,
            Err(WebhookConfigError::Service("webhook".into())),
        );
        check(
            parse_service("ns/Web:x"),
            CA,
            Err(WebhookConfigError::Service("ns/Web:x".into())),
        );
        check(
            parse_service("ns/web"),
            "not pem",
            Err(WebhookConfigError::NoCertificate),
        );
    }
}
