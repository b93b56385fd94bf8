//! Japanese console pages show the baseline checks in Japanese (title, rationale, hardening
//! suggestion, fix description) while English pages keep the catalogue's text, for risks
//! that arrive the real way: an agent posting a risky pod spec.

use crate::console_support::Session;
use crate::findings_support::{agent, get_ok, post_podspec, protected_tenant, risky_pod};
use crate::support::{Env, T0, backends};
use axum::http::StatusCode;
use podwarden_server::console::check_texts;
use serde_json::json;

/// `text` as maud writes it into a page.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Fetches `path` in `language` and checks that every `shown` text is on the page and no
/// `hidden` text is.
async fn check(
    env: &Env,
    session: &Session,
    path: &str,
    language: &str,
    shown: &[&str],
    hidden: &[&str],
) {
    let page = session
        .get_with(env, path, &[("accept-language", language)])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    assert!(
        page.body.contains(&format!("lang=\"{language}\"")),
        "{path} in {language}"
    );
    for text in shown {
        assert!(
            page.body.contains(&html(text)),
            "{path} ({language}) should show {text:?}"
        );
    }
    for text in hidden {
        assert!(
            !page.body.contains(&html(text)),
            "{path} ({language}) should not show {text:?}"
        );
    }
}

/// The id of the tenant's risk of `check_id`.
async fn risk_id(env: &Env, token: &str, check_id: &str) -> i64 {
    let body = get_ok(
        env,
        token,
        &format!("/api/v1/baseline-risks?check={check_id}"),
    )
    .await;
    body["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no risk of {check_id}: {body}"))
}

#[tokio::test]
async fn japanese_pages_show_japanese_check_texts() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let tenant = protected_tenant(&env, "acme").await;
        let a = agent(&env, &tenant, "uid-a").await;
        let mut pod = risky_pod("a");
        pod["spec"]["hostNetwork"] = json!(true);
        let (status, reply) = post_podspec(&env, &a.credential, "p-1", T0, pod).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        let session = Session::with_token(&env, &tenant.admin).await;
        let privileged = risk_id(&env, &tenant.admin, "pss.privileged").await;
        let host_network = risk_id(&env, &tenant.admin, "pss.hostNamespaces").await;

        let privileged_fix = format!("/baseline/{privileged}/fix");
        let host_network_fix = format!("/baseline/{host_network}/fix");
        let cases: [(&str, &str, &[&str], &[&str]); 8] = [
            (
                "/baseline?tab=check",
                "ja",
                &["特権コンテナ", "ホストの名前空間"],
                &["Privileged containers", "Host namespaces"],
            ),
            (
                "/baseline?tab=check",
                "en",
                &["Privileged containers", "Host namespaces"],
                &["特権コンテナ", "ホストの名前空間"],
            ),
            (
                "/baseline?tab=risks&per_page=100",
                "ja",
                &[
                    "特権コンテナ",
                    "特権コンテナはすべてのケーパビリティとホストのすべてのデバイスを持ちます。",
                    "securityContext.privileged を削除する(または false に設定する)とともに、プロセスに必要なケーパビリティだけを付与してください。",
                ],
                &[
                    "Privileged containers",
                    "A privileged container has every capability",
                    "Remove securityContext.privileged (or set it to false)",
                ],
            ),
            (
                "/baseline?tab=risks&per_page=100",
                "en",
                &[
                    "Privileged containers",
                    "A privileged container has every capability",
                    "Remove securityContext.privileged (or set it to false)",
                ],
                &["特権コンテナ", "付与してください"],
            ),
            (
                &privileged_fix,
                "ja",
                &["securityContext.privileged を false に設定"],
                &["set securityContext.privileged to false"],
            ),
            (
                &privileged_fix,
                "en",
                &["set securityContext.privileged to false"],
                &["securityContext.privileged を false に設定"],
            ),
            (
                &host_network_fix,
                "ja",
                &["hostNetwork を false に設定"],
                &["set hostNetwork to false"],
            ),
            (
                &host_network_fix,
                "en",
                &["set hostNetwork to false"],
                &["hostNetwork を false に設定"],
            ),
        ];
        for (path, language, shown, hidden) in cases {
            check(&env, &session, path, language, shown, hidden).await;
        }
        env.finish().await;
    }
}

/// Whatever checks a pod fails, the Japanese risk list shows none of their English texts.
#[tokio::test]
async fn no_check_on_a_japanese_page_stays_in_english() {
    let env = Env::new(&backends()[0]).await;
    let tenant = protected_tenant(&env, "acme").await;
    let a = agent(&env, &tenant, "uid-a").await;
    let mut pod = risky_pod("a");
    pod["metadata"]["namespace"] = json!("default");
    pod["spec"]["hostPID"] = json!(true);
    pod["spec"]["volumes"] = json!([{"name": "sock", "hostPath": {"path": "/run/containerd"}}]);
    pod["spec"]["containers"][0]["volumeMounts"] =
        json!([{"name": "sock", "mountPath": "/run/containerd"}]);
    pod["spec"]["containers"][0]["env"] = json!([{"name": "DB_PASSWORD", "value": "hunter2"}]);
    let (status, reply) = post_podspec(&env, &a.credential, "p-1", T0, pod).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let session = Session::with_token(&env, &tenant.admin).await;
    let risks = get_ok(&env, &tenant.admin, "/api/v1/baseline-risks?per_page=500").await;
    let items = risks["items"].as_array().cloned().unwrap_or_default();
    assert!(items.len() > 10, "the pod fails many checks: {risks}");

    let mut japanese = Vec::new();
    let mut english = Vec::new();
    for risk in &items {
        let check_id = risk["check_id"].as_str().unwrap_or_default();
        let Some(texts) = check_texts::japanese().get(check_id) else {
            panic!("{check_id} has no Japanese text");
        };
        japanese.extend([
            texts.title.clone(),
            texts.rationale.clone(),
            texts.remediation.clone(),
        ]);
        for field in ["title", "rationale", "remediation"] {
            english.push(risk[field].as_str().map(str::to_string).unwrap_or_default());
        }
    }
    let japanese: Vec<&str> = japanese.iter().map(String::as_str).collect();
    let english: Vec<&str> = english
        .iter()
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .collect();
    let path = "/baseline?tab=risks&per_page=100";
    check(&env, &session, path, "ja", &japanese, &english).await;
    check(&env, &session, path, "en", &english, &japanese).await;
    env.finish().await;
}
