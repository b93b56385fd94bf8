//! Japanese console pages show the baseline checks in Japanese (title, rationale, hardening
//! suggestion, violation message, why there is no automatic fix, the fix's description and
//! risk, the fix page's "no automatic fix" notice) while English pages keep the baseline
//! crate's text, for risks that arrive the real way: an agent posting a risky pod spec.

use crate::console_support::Session;
use crate::findings_support::{agent, get_ok, post_podspec, protected_tenant, risky_pod};
use crate::support::{Env, T0, backends};
use axum::http::{Method, StatusCode};
use podwarden_server::console::check_texts;
use podwarden_server::console::i18n::Lang;
use serde_json::{Value, json};

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
    check_pages(env, session, &[path.to_string()], language, shown, hidden).await;
}

/// Fetches the `paths` (pages of one list) in `language` and checks that every `shown` text is
/// on one of them and no `hidden` text is on any.
async fn check_pages(
    env: &Env,
    session: &Session,
    paths: &[String],
    language: &str,
    shown: &[&str],
    hidden: &[&str],
) {
    let mut bodies = String::new();
    for path in paths {
        let page = session
            .get_with(env, path, &[("accept-language", language)])
            .await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(
            page.body.contains(&format!("lang=\"{language}\"")),
            "{path} in {language}"
        );
        bodies.push_str(&page.body);
    }
    for text in shown {
        assert!(
            bodies.contains(&html(text)),
            "{paths:?} ({language}) should show {text:?}"
        );
    }
    for text in hidden {
        assert!(
            !bodies.contains(&html(text)),
            "{paths:?} ({language}) should not show {text:?}"
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

/// A pod failing many checks: messages carrying container names, capabilities, ports, paths
/// and lists, risks with and without an automatic fix, risky fixes.
fn many_risks_pod() -> Value {
    let mut pod = risky_pod("a");
    pod["metadata"]["namespace"] = json!("default");
    pod["spec"]["hostPID"] = json!(true);
    pod["spec"]["securityContext"] = json!({
        "runAsUser": 0,
        "seLinuxOptions": {"user": "root_u"},
        "sysctls": [{"name": "kernel.msgmax", "value": "1"}]
    });
    pod["spec"]["volumes"] = json!([
        {"name": "sock", "hostPath": {"path": "/run/containerd"}},
        {"name": "logs", "hostPath": {"path": "/var/log"}}
    ]);
    let app = &mut pod["spec"]["containers"][0];
    app["volumeMounts"] = json!([{"name": "sock", "mountPath": "/run/containerd"},
        {"name": "logs", "mountPath": "/logs"}]);
    app["ports"] = json!([{"containerPort": 80, "hostPort": 8080}]);
    app["env"] = json!([{"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}]);
    app["envFrom"] = json!([{"secretRef": {"name": "db"}}]);
    app["securityContext"]["capabilities"] = json!({"add": ["SYS_ADMIN", "NET_RAW"]});
    app["securityContext"]["procMount"] = json!("Unmasked");
    pod["spec"]["containers"]
        .as_array_mut()
        .map(|containers| {
            containers.push(json!({"name": "sidecar", "image": "busybox",
                "ports": [{"containerPort": 90, "hostPort": 9090},
                    {"containerPort": 91, "hostPort": 9091}],
                "securityContext": {"runAsNonRoot": false,
                    "seccompProfile": {"type": "Unconfined"}}}))
        })
        .unwrap_or_else(|| panic!("risky_pod has a container list"));
    pod
}

/// `text` in Japanese, checked to be a translation.
fn japanese_of(kind: &str, english: &str, japanese: &str) -> String {
    assert!(
        japanese != english && !japanese.is_empty(),
        "{kind} {english:?} has no Japanese text"
    );
    japanese.to_string()
}

/// For a pod failing many checks, the Japanese risk list and fix pages show every violation
/// message, no-fix reason, fix risk and "no automatic fix" notice in Japanese and none of the
/// English ones; the English pages show the English ones.
#[tokio::test]
async fn no_message_reason_or_risk_on_a_japanese_page_stays_in_english() {
    let env = Env::new(&backends()[0]).await;
    let tenant = protected_tenant(&env, "acme").await;
    let a = agent(&env, &tenant, "uid-a").await;
    let (status, reply) = post_podspec(&env, &a.credential, "p-1", T0, many_risks_pod()).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let session = Session::with_token(&env, &tenant.admin).await;
    let risks = get_ok(&env, &tenant.admin, "/api/v1/baseline-risks?per_page=500").await;
    let items = risks["items"].as_array().cloned().unwrap_or_default();
    assert!(items.len() > 30, "the pod fails many checks: {risks}");

    let (mut japanese, mut english) = (Vec::new(), Vec::new());
    let (mut fixes, mut no_fixes, mut reasons, mut fix_risks) = (0, 0, 0, 0);
    for risk in &items {
        let check_id = risk["check_id"].as_str().unwrap_or_default();
        let message = risk["message"].as_str().unwrap_or_default();
        japanese.push(japanese_of(
            "message",
            message,
            &check_texts::message(Lang::Ja, check_id, message),
        ));
        english.push(message.to_string());
        if let Some(reason) = risk["no_fix_reason"].as_str() {
            reasons += 1;
            japanese.push(japanese_of(
                "no-fix reason",
                reason,
                &check_texts::no_fix_reason(Lang::Ja, check_id, reason),
            ));
            english.push(reason.to_string());
        }

        let id = risk["id"].as_i64().unwrap_or_default();
        let path = format!("/baseline/{id}/fix");
        let (status, plan) = env
            .call(
                Method::POST,
                &format!("/api/v1/baseline-risks/{id}/fix"),
                Some(&tenant.admin),
                None,
            )
            .await;
        let (page_english, page_japanese) = if risk["fix_available"] == json!(true) {
            assert_eq!(status, StatusCode::OK, "{plan}");
            fixes += 1;
            let description = plan["description"].as_str().unwrap_or_default();
            let mut english = vec![description.to_string()];
            let mut japanese = vec![japanese_of(
                "fix",
                description,
                &check_texts::fix_description(Lang::Ja, check_id, description),
            )];
            if let Some(fix_risk) = plan["risk"].as_str() {
                fix_risks += 1;
                english.push(fix_risk.to_string());
                japanese.push(japanese_of(
                    "fix risk",
                    fix_risk,
                    &check_texts::fix_risk(Lang::Ja, check_id, fix_risk),
                ));
            }
            (english, japanese)
        } else {
            assert_eq!(status, StatusCode::CONFLICT, "{plan}");
            no_fixes += 1;
            let conflict = plan["error"]["message"].as_str().unwrap_or_default();
            assert!(
                conflict.starts_with(&format!("{check_id} has no automatic fix")),
                "{conflict}"
            );
            let remediation = risk["remediation"].as_str().unwrap_or_default();
            let mut english = vec![conflict.to_string(), remediation.to_string()];
            english.extend(risk["no_fix_reason"].as_str().map(str::to_string));
            let japanese = vec![japanese_of(
                "fix conflict",
                conflict,
                &check_texts::fix_conflict(Lang::Ja, conflict),
            )];
            (english, japanese)
        };
        let english_shown: Vec<&str> = page_english.iter().take(1).map(String::as_str).collect();
        let english_all: Vec<&str> = page_english.iter().map(String::as_str).collect();
        let japanese_all: Vec<&str> = page_japanese.iter().map(String::as_str).collect();
        check(&env, &session, &path, "ja", &japanese_all, &english_all).await;
        check(&env, &session, &path, "en", &english_shown, &japanese_all).await;
    }
    assert!(
        fixes >= 10 && no_fixes >= 10 && reasons >= 10 && fix_risks >= 8,
        "{fixes} fixes ({fix_risks} risky), {no_fixes} without ({reasons} with a reason)"
    );

    let japanese: Vec<&str> = japanese.iter().map(String::as_str).collect();
    let english: Vec<&str> = english
        .iter()
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .collect();
    let pages: Vec<String> = (1..=items.len().div_ceil(50))
        .map(|page| format!("/baseline?tab=risks&per_page=50&page={page}"))
        .collect();
    check_pages(&env, &session, &pages, "ja", &japanese, &english).await;
    check_pages(&env, &session, &pages, "en", &english, &japanese).await;
    env.finish().await;
}
