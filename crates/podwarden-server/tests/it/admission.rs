//! The admission webhook, `POST /admission/mutate`: AdmissionReviews as the API server sends
//! them (`tests/data/admission/*.json`) through the app; the returned JSON Patch is applied
//! with the `json-patch` crate (an independent RFC 6902 implementation) and the result compared
//! with golden files (`*.expected.json`, rewritten with `PODWARDEN_BLESS=1`, never by hand);
//! malformed bodies; the deny option; and the webhook's own TLS listener, with and without
//! client certificates (certificates made by rcgen, a rustls client trusting them).

use crate::support::{Backend, Env, test_config};
use axum::http::{Method, StatusCode};
use base64::Engine;
use podwarden_server::Server;
use podwarden_server::config::{ConfigFile, Settings};
use podwarden_server::inject::settings::InjectFile;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const IMAGE: &str = "registry.example.com/podwarden/podwarden:1.0.0";
const SERVER_URL: &str = "https://podwarden.example.com:8443";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/admission")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(data(name)).unwrap_or_else(|e| panic!("{}: {e}", data(name).display()))
}

fn config(deny: bool) -> ConfigFile {
    ConfigFile {
        webhook_deny_on_refusal: Some(deny),
        inject: Some(InjectFile {
            image: Some(IMAGE.to_string()),
            server_url: Some(SERVER_URL.to_string()),
            cluster: Some("shop-prod".to_string()),
            ..InjectFile::default()
        }),
        ..test_config()
    }
}

/// What a review's answer amounts to: allowed, warnings, and the object after the patch
/// (`null` when there is no patch).
fn outcome(request: &Value, answer: &Value) -> Value {
    let response = &answer["response"];
    assert_eq!(answer["apiVersion"], request["apiVersion"], "{answer}");
    assert_eq!(answer["kind"], json!("AdmissionReview"));
    assert_eq!(
        response["uid"], request["request"]["uid"],
        "response.uid must be the request's"
    );
    let patched = match response.get("patch") {
        None => {
            assert_eq!(response.get("patchType"), None);
            Value::Null
        }
        Some(patch) => {
            assert_eq!(response["patchType"], json!("JSONPatch"));
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(
                    patch
                        .as_str()
                        .unwrap_or_else(|| panic!("patch is not a string")),
                )
                .unwrap_or_else(|e| panic!("patch is not base64: {e}"));
            let ops: json_patch::Patch = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("patch is not a JSON Patch: {e}"));
            let mut object = request["request"]["object"].clone();
            json_patch::patch(&mut object, &ops)
                .unwrap_or_else(|e| panic!("patch does not apply: {e}"));
            object
        }
    };
    json!({
        "allowed": response["allowed"],
        "warnings": response.get("warnings").cloned().unwrap_or(json!([])),
        "status": response.get("status").cloned().unwrap_or(Value::Null),
        "patched": patched,
    })
}

/// Compares with the golden file, or rewrites it with `PODWARDEN_BLESS=1`.
fn golden(name: &str, actual: &Value) {
    let path = data(name);
    let text = format!(
        "{}\n",
        serde_json::to_string_pretty(actual).unwrap_or_default()
    );
    if std::env::var("PODWARDEN_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "golden file {} unreadable ({e}); run with PODWARDEN_BLESS=1 to create it",
            path.display()
        )
    });
    let expected: Value =
        serde_json::from_str(&expected).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        actual,
        &expected,
        "{} differs (rerun with PODWARDEN_BLESS=1 if the change is intended)",
        path.display()
    );
}

/// Sends a review file to the app (no token) and returns its outcome, compared with the
/// golden file `CASE.expected.json`.
async fn check(env: &Env, case: &str) -> Value {
    check_as(env, case, case).await
}

/// [`check`] with the golden file `GOLDEN.expected.json`.
async fn check_as(env: &Env, case: &str, golden_name: &str) -> Value {
    let body = read(&format!("{case}.json"));
    let request: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{case}: {e}"));
    let (status, answer) = env
        .call_text(
            Method::POST,
            "/admission/mutate",
            None,
            Some(&body),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{case}: {answer}");
    let outcome = outcome(&request, &answer);
    golden(&format!("{golden_name}.expected.json"), &outcome);
    outcome
}

fn env_names(container: &Value) -> Vec<String> {
    container["env"]
        .as_array()
        .map(|env| {
            env.iter()
                .filter_map(|v| v["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn reviews_as_the_api_server_sends_them() {
    let env = Env::with_config(&Backend::Sqlite, config(false)).await;

    let pod = check(&env, "pod-create").await;
    assert_eq!(pod["allowed"], json!(true));
    let spec = &pod["patched"]["spec"];
    assert_eq!(spec["shareProcessNamespace"], json!(true));
    assert_eq!(
        spec.pointer("/containers/0/name"),
        Some(&json!("storefront"))
    );
    let agent = &spec["containers"][1];
    assert_eq!(agent["name"], json!("podwarden-agent"));
    assert_eq!(agent["image"], json!(IMAGE));
    for name in [
        "PODWARDEN_CONTAINER_TYPE",
        "PODWARDEN_SERVER",
        "PODWARDEN_TOKEN",
        "POD_NAME",
        "POD_NAMESPACE",
        "POD_UID",
        "PODWARDEN_CLUSTER",
        "PODWARDEN_POD_SPEC",
    ] {
        assert!(
            env_names(agent).contains(&name.to_string()),
            "{name} missing in {agent}"
        );
    }
    let volumes: Vec<&str> = spec["volumes"]
        .as_array()
        .map(|v| v.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        volumes,
        [
            "kube-api-access-x7k2p",
            "podwarden-agent-state",
            "podwarden-podinfo"
        ]
    );
    // The rest of the pod is untouched.
    let mut original: Value = serde_json::from_str(&read("pod-create.json")).unwrap_or_default();
    let mut patched = pod["patched"].clone();
    for object in [&mut original["request"]["object"], &mut patched] {
        if let Some(spec) = object["spec"].as_object_mut() {
            spec.remove("shareProcessNamespace");
            spec.remove("volumes");
            if let Some(containers) = spec.get_mut("containers").and_then(Value::as_array_mut) {
                containers.truncate(1);
            }
        }
        if let Some(annotations) = object
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            annotations.remove("kubectl.kubernetes.io/default-container");
        }
    }
    assert_eq!(patched, original["request"]["object"]);

    // A dry run is answered like the real thing.
    let dry = check(&env, "pod-create-dry-run").await;
    assert_eq!(
        dry["patched"].pointer("/spec/containers/1/name"),
        Some(&json!("podwarden-agent"))
    );

    // A Job's pod gets a native sidecar, first among the init containers.
    let job = check(&env, "pod-create-job").await;
    assert_eq!(
        job["patched"].pointer("/spec/initContainers/0/name"),
        Some(&json!("podwarden-agent"))
    );
    assert_eq!(
        job["patched"].pointer("/spec/initContainers/0/restartPolicy"),
        Some(&json!("Always"))
    );
    assert_eq!(
        job["patched"].pointer("/spec/initContainers/1/name"),
        Some(&json!("migrate"))
    );
    assert_eq!(
        job["patched"]["spec"]["containers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // A Deployment: the template is injected, the alias annotation on the template counts.
    let deployment = check(&env, "deployment-create").await;
    let template = &deployment["patched"]["spec"]["template"];
    assert_eq!(
        template.pointer("/spec/containers/2/name"),
        Some(&json!("podwarden-agent"))
    );
    assert_eq!(
        template.pointer("/spec/shareProcessNamespace"),
        Some(&json!(true))
    );

    // Already injected (the API server's reinvocation): allowed, no patch.
    let again = check(&env, "pod-already-injected").await;
    assert_eq!(
        again,
        json!({"allowed": true, "warnings": [], "status": null, "patched": null})
    );

    // A Windows pod asking for the agent: allowed unchanged, with a warning saying why.
    let windows = check(&env, "pod-create-windows").await;
    assert_eq!(windows["allowed"], json!(true));
    assert_eq!(windows["patched"], Value::Null);
    let warning = windows["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.contains("windows"), "{warning}");

    // Not asked for; an UPDATE of a pod (containers are immutable): nothing.
    for case in ["pod-create-not-annotated", "pod-update"] {
        let quiet = check(&env, case).await;
        assert_eq!(
            quiet,
            json!({"allowed": true, "warnings": [], "status": null, "patched": null}),
            "{case}"
        );
    }
    env.finish().await;
}

#[tokio::test]
async fn the_reinvocation_payload_is_the_injected_pod() {
    // pod-already-injected.json is pod-create.json as the API server re-sends it after the
    // patch; keep the two files in step.
    let injected: Value =
        serde_json::from_str(&read("pod-already-injected.json")).unwrap_or_default();
    let expected: Value =
        serde_json::from_str(&read("pod-create.expected.json")).unwrap_or_default();
    assert_eq!(injected["request"]["object"], expected["patched"]);
}

#[tokio::test]
async fn refusals_can_deny() {
    let env = Env::with_config(&Backend::Sqlite, config(true)).await;
    let windows = check_as(&env, "pod-create-windows", "pod-create-windows.deny").await;
    assert_eq!(windows["allowed"], json!(false));
    assert_eq!(windows["status"]["code"], json!(403));
    // Pods that can take the agent are still injected.
    let body = read("pod-create.json");
    let (status, answer) = env
        .call_text(
            Method::POST,
            "/admission/mutate",
            None,
            Some(&body),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["response"]["allowed"], json!(true));
    assert!(answer["response"]["patch"].is_string());
    env.finish().await;
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let env = Env::with_config(&Backend::Sqlite, config(false)).await;
    let truncated = read("malformed-truncated.json");
    let cases: [(&str, &str); 6] = [
        (&truncated, "not JSON"),
        ("[]", "not an AdmissionReview"),
        (
            r#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}"#,
            "no request",
        ),
        (
            r#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": ""}}"#,
            "uid",
        ),
        (
            r#"{"apiVersion": "admission.k8s.io/v2", "kind": "AdmissionReview", "request": {"uid": "a"}}"#,
            "admission.k8s.io/v2",
        ),
        (
            r#"{"apiVersion": "v1", "kind": "Pod", "request": {"uid": "a"}}"#,
            "Pod",
        ),
    ];
    for (body, fragment) in cases {
        let (status, answer) = env
            .call_text(
                Method::POST,
                "/admission/mutate",
                None,
                Some(body),
                "application/json",
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], json!("bad_admission_review"));
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
    }
    // An object that is not a pod spec is allowed unchanged, with a warning.
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u-1", "operation": "CREATE", "namespace": "x",
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"annotations": {"podwarden.io/agent": "enabled"}}, "spec": {"containers": "nope"}}
    }});
    let (status, answer) = env
        .call(
            Method::POST,
            "/admission/mutate",
            None,
            Some(review.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let outcome = outcome(&review, &answer);
    assert_eq!(outcome["allowed"], json!(true));
    assert_eq!(outcome["patched"], Value::Null);
    assert!(
        outcome["warnings"][0]
            .as_str()
            .unwrap_or_default()
            .contains("malformed")
    );
    env.finish().await;
}

/// A CA, a server certificate for localhost and a client certificate, all as PEM.
struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let fail = |e: rcgen::Error| -> ! { panic!("rcgen: {e}") };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| fail(e));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "podwarden test CA");
    let ca_key = KeyPair::generate().unwrap_or_else(|e| fail(e));
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap_or_else(|e| fail(e));
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap_or_else(|e| fail(e));
        let params = CertificateParams::new(names).unwrap_or_else(|e| fail(e));
        let cert = params.signed_by(&key, &ca).unwrap_or_else(|e| fail(e));
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".to_string()]);
    let (client_cert, client_key) = leaf(vec!["kube-apiserver".to_string()]);
    Pki {
        ca: ca.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}

/// POSTs `body` to `/admission/mutate` over TLS; `Err` when the TLS session fails.
async fn post_tls(
    addr: std::net::SocketAddr,
    pki: &Pki,
    client_cert: bool,
    body: &str,
) -> Result<(u16, Value), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pki.ca.as_bytes()) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let config = if client_cert {
        let chain = CertificateDer::pem_slice_iter(pki.client_cert.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let key =
            PrivateKeyDer::from_pem_slice(pki.client_key.as_bytes()).map_err(|e| e.to_string())?;
        builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| e.to_string())?
    } else {
        builder.with_no_client_auth()
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST /admission/mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP response: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let value = serde_json::from_str(body).map_err(|e| format!("body {body:?}: {e}"))?;
    Ok((status, value))
}

/// Starts a real server with the webhook listener on free ports; returns it running.
async fn start_server(
    dir: &Path,
    pki: &Pki,
    client_ca: bool,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path.display().to_string()
    };
    let mut file = config(false);
    file.database = Some(format!("sqlite://{}/podwarden.db", dir.display()));
    file.listen = Some("127.0.0.1:0".to_string());
    file.webhook_listen = Some("127.0.0.1:0".to_string());
    file.webhook_tls_cert = Some(write("tls.crt", &pki.server_cert));
    file.webhook_tls_key = Some(write("tls.key", &pki.server_key));
    if client_ca {
        file.webhook_client_ca = Some(write("client-ca.crt", &pki.ca));
    }
    let settings = Settings::from_file(file).unwrap_or_else(|e| panic!("settings: {e}"));
    let server = Server::start(settings, Some(crate::support::OPERATOR_TOKEN))
        .await
        .unwrap_or_else(|e| panic!("server: {e}"));
    let addr = server
        .webhook_addr()
        .unwrap_or_else(|| panic!("no webhook listener"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = server
            .run(async move {
                let _ = stopped.await;
            })
            .await;
    });
    (addr, stop, task)
}

#[tokio::test]
async fn webhook_over_tls() {
    let pki = pki();
    let body = read("pod-create.json");
    for client_ca in [false, true] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let (addr, stop, task) = start_server(dir.path(), &pki, client_ca).await;
        let (status, answer) = post_tls(addr, &pki, true, &body)
            .await
            .unwrap_or_else(|e| panic!("client_ca={client_ca}: {e}"));
        assert_eq!(status, 200, "{answer}");
        let request: Value = serde_json::from_str(&body).unwrap_or_default();
        let outcome = outcome(&request, &answer);
        let expected: Value =
            serde_json::from_str(&read("pod-create.expected.json")).unwrap_or_default();
        assert_eq!(outcome, expected);
        let anonymous = post_tls(addr, &pki, false, &body).await;
        if client_ca {
            assert!(
                anonymous.is_err(),
                "a client without a certificate was served: {anonymous:?}"
            );
        } else {
            assert_eq!(anonymous.map(|(status, _)| status), Ok(200));
        }
        // Only the webhook route is reachable through the webhook's port.
        let request = "{}";
        let other = post_tls(addr, &pki, true, request).await;
        assert_eq!(other.map(|(status, _)| status), Ok(400));
        let _ = stop.send(());
        let _ = task.await;
    }
}

#[tokio::test]
async fn bad_certificates_stop_the_start() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let cases = [
        ("not a certificate", pki.server_key.as_str(), "tls.crt"),
        (pki.server_cert.as_str(), "no key here", "tls.key"),
        (
            pki.client_cert.as_str(),
            pki.server_key.as_str(),
            "does not go with",
        ),
    ];
    for (cert, key, fragment) in cases {
        std::fs::write(dir.path().join("tls.crt"), cert).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("tls.key"), key).unwrap_or_else(|e| panic!("{e}"));
        let mut file = config(false);
        file.database = Some(format!("sqlite://{}/podwarden.db", dir.path().display()));
        file.listen = Some("127.0.0.1:0".to_string());
        file.webhook_listen = Some("127.0.0.1:0".to_string());
        file.webhook_tls_cert = Some(dir.path().join("tls.crt").display().to_string());
        file.webhook_tls_key = Some(dir.path().join("tls.key").display().to_string());
        let settings = Settings::from_file(file).unwrap_or_else(|e| panic!("settings: {e}"));
        let error = match Server::start(settings, Some(crate::support::OPERATOR_TOKEN)).await {
            Ok(_) => panic!("started with a bad certificate ({fragment})"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
    }
}
