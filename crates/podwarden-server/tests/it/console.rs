//! The web console without a browser, through `app(state).oneshot(...)`: signed-out
//! redirects, sign-in (token, username and password), sessions and their cookies, CSRF
//! refusals, the viewer role (no buttons, POSTs refused), tenancy, languages, security
//! headers, the message catalogues, actions with their effects, and page weight.
#![allow(clippy::type_complexity)] // test tables are tuples on purpose

use crate::console_support::{Answer, Session, csrf_of, form, seed_assets, send, session_cookie};
use crate::findings_support::{
    agent, check_batch, process_detection, protected_tenant, webshell_detection,
};
use crate::support::{Env, OPERATOR_TOKEN, backends};
use axum::http::{Method, StatusCode};
use podwarden_server::console::i18n::{Lang, catalogue};
use podwarden_server::console::static_files;
use podwarden_server::store::assets::AssetFilter;
use podwarden_server::store::audit::Paging;
use std::collections::BTreeSet;

/// Every page of the console (ids of rows that may or may not exist).
const PAGES: [&str; 14] = [
    "/",
    "/assets",
    "/assets?view=no-quota",
    "/assets/1",
    "/alerts",
    "/alerts/1",
    "/alerts?tab=whitelist",
    "/vulnerabilities",
    "/vulnerabilities?tab=supported",
    "/baseline",
    "/baseline/1/fix",
    "/usage",
    "/usage/usage.csv",
    "/settings",
];

/// Every form target of the console and fields that would make it act.
const POSTS: [(&str, &[(&str, &str)]); 22] = [
    (
        "/protection",
        &[("action", "enable"), ("binding", "default")],
    ),
    ("/assets/sync", &[]),
    ("/assets/quota", &[("action", "add"), ("target", "all")]),
    ("/assets/1/quota", &[("action", "add")]),
    ("/assets/1/scan", &[("kind", "baseline")]),
    ("/alerts/1/handle", &[("method", "ignore"), ("note", "x")]),
    ("/alerts/whitelist/1/delete", &[]),
    (
        "/vulnerabilities/whitelist",
        &[
            ("advisory_id", "CVE-2024-0001"),
            ("scope", "all"),
            ("reason", "x"),
        ],
    ),
    ("/vulnerabilities/whitelist/1/delete", &[]),
    ("/baseline/1/fix", &[]),
    ("/baseline/whitelist", &[("risk_id", "1"), ("reason", "x")]),
    ("/baseline/whitelist/1/delete", &[]),
    ("/settings/protection", &[("timezone", "UTC")]),
    (
        "/settings/scans",
        &[
            ("vulnerability_interval_hours", "12"),
            ("baseline_interval_hours", "12"),
            ("window_start", "00:00"),
            ("window_end", "00:00"),
        ],
    ),
    (
        "/settings/clusters",
        &[
            ("name", "c"),
            ("source_kind", "k8s-serverless"),
            ("kubeconfig", "x"),
        ],
    ),
    ("/settings/clusters/1/delete", &[]),
    ("/settings/tokens", &[("name", "t"), ("role", "admin")]),
    ("/settings/tokens/1/revoke", &[]),
    (
        "/settings/users",
        &[
            ("username", "mallory"),
            ("password", "a long enough password"),
            ("role", "admin"),
        ],
    ),
    ("/settings/users/1/delete", &[]),
    (
        "/settings/enrollment",
        &[("name", "e"), ("namespace", "default")],
    ),
    ("/settings/tenants", &[("name", "evil")]),
];

/// Expects a redirect to the sign-in page.
fn check_signed_out(path: &str, answer: &Answer) {
    assert!(
        matches!(
            answer.status,
            StatusCode::SEE_OTHER | StatusCode::FOUND | StatusCode::TEMPORARY_REDIRECT
        ),
        "{path}: {} {}",
        answer.status,
        answer.body
    );
    assert!(
        answer.location().starts_with("/login"),
        "{path} → {}",
        answer.location()
    );
}

#[tokio::test]
async fn signed_out_requests_go_to_sign_in() {
    let env = Env::new(&backends()[0]).await;
    for path in PAGES {
        let answer = send(&env, Method::GET, path, &[], None).await;
        check_signed_out(path, &answer);
    }
    // The page asked for comes back after signing in.
    let answer = send(&env, Method::GET, "/assets?view=no-quota", &[], None).await;
    assert_eq!(answer.location(), "/login?next=/assets%3Fview%3Dno-quota");
    // A bogus or malformed cookie is as good as none.
    for cookie in [
        "pw_session=pws_0000",
        "pw_session=",
        "pw_session=pws_".to_string().as_str(),
    ] {
        let answer = send(&env, Method::GET, "/", &[("cookie", cookie)], None).await;
        check_signed_out(cookie, &answer);
    }
    // Forms too: nothing happens signed out.
    for (path, fields) in POSTS {
        let answer = send(&env, Method::POST, path, &[], Some(form(fields))).await;
        check_signed_out(path, &answer);
    }
    // htmx requests get HX-Redirect.
    let answer = send(
        &env,
        Method::GET,
        "/assets",
        &[("hx-request", "true")],
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.headers.get("hx-redirect").is_some());
    // The sign-in page itself and the static files are open.
    assert_eq!(
        send(&env, Method::GET, "/login", &[], None).await.status,
        StatusCode::OK
    );
    let css = static_files::url("app.css");
    let answer = send(&env, Method::GET, &css, &[], None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=31536000, immutable")
    );
    env.finish().await;
}

#[tokio::test]
async fn sign_in_with_tokens_and_passwords() {
    let env = Env::new(&backends()[0]).await;
    let (_, admin) = env.new_tenant("acme").await;
    let viewer = env.new_token(&admin, "viewer").await;

    // Wrong or missing credentials: the form again, 401, no cookie.
    for fields in [
        vec![("token", "pw_wrong")],
        vec![("username", "nobody"), ("password", "whatever password")],
        vec![],
    ] {
        let answer = send(&env, Method::POST, "/login", &[], Some(form(&fields))).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{fields:?}");
        assert!(session_cookie(&answer).is_empty());
        assert!(answer.body.contains("<form"), "{fields:?}");
    }

    // A token signs in; the cookie is HttpOnly, SameSite=Strict, and Secure behind TLS.
    let answer = send(
        &env,
        Method::POST,
        "/login",
        &[("x-forwarded-proto", "https")],
        Some(form(&[("token", &admin), ("next", "/assets")])),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/assets");
    let set = answer.set_cookies().join("\n");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    let plain = send(
        &env,
        Method::POST,
        "/login",
        &[],
        Some(form(&[("token", &admin)])),
    )
    .await;
    assert!(
        !plain.set_cookies().join(";").contains("Secure"),
        "no Secure over plain HTTP"
    );
    // An open redirect is refused.
    let answer = send(
        &env,
        Method::POST,
        "/login",
        &[],
        Some(form(&[("token", &admin), ("next", "//evil.example/")])),
    )
    .await;
    assert_eq!(answer.location(), "/");

    // Admins create console users through the API; viewers cannot.
    let user = serde_json::json!({"username": "alice", "password": "correct horse battery", "role": "admin"});
    let (status, body) = env
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&viewer),
            Some(user.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = env
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(user.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = env
        .call(Method::POST, "/api/v1/users", Some(&admin), Some(user))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "usernames are unique");
    let short = serde_json::json!({"username": "bob", "password": "short", "role": "viewer"});
    let (status, _) = env
        .call(Method::POST, "/api/v1/users", Some(&admin), Some(short))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "passwords have a minimum length"
    );
    let (status, body) = env
        .call(Method::GET, "/api/v1/users", Some(&viewer), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 1, "{body}");
    assert!(
        !body.to_string().contains("argon2"),
        "no hashes in listings: {body}"
    );

    let wrong = send(
        &env,
        Method::POST,
        "/login",
        &[],
        Some(form(&[
            ("username", "alice"),
            ("password", "correct horse batterY"),
        ])),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let alice = Session::sign_in(
        &env,
        &[("username", "alice"), ("password", "correct horse battery")],
    )
    .await;
    let page = alice.get(&env, "/settings").await;
    assert!(page.body.contains("alice"), "the header names the user");

    // Signing out ends the session on the server.
    let out = alice.post(&env, "/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with("pw_session=;") && c.contains("Max-Age=0"))
    );
    check_signed_out("after sign-out", &alice.get(&env, "/").await);

    // Revoking the token or deleting the user ends their sessions at once.
    let viewer_session = Session::with_token(&env, &viewer).await;
    let (status, tokens) = env
        .call(Method::GET, "/api/v1/tokens", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let viewer_id = tokens
        .as_array()
        .and_then(|all| all.iter().find(|t| t["role"] == "viewer"))
        .and_then(|t| t["id"].as_i64())
        .unwrap_or_default();
    let (status, _) = env
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{viewer_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    check_signed_out("revoked token", &viewer_session.get(&env, "/").await);

    let bob = serde_json::json!({"username": "bob", "password": "another long password", "role": "viewer"});
    let (_, created) = env
        .call(Method::POST, "/api/v1/users", Some(&admin), Some(bob))
        .await;
    let bob_session = Session::sign_in(
        &env,
        &[("username", "bob"), ("password", "another long password")],
    )
    .await;
    let bob_id = created["id"].as_i64().unwrap_or_default();
    let (status, _) = env
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{bob_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    check_signed_out("deleted user", &bob_session.get(&env, "/").await);
    env.finish().await;
}

#[tokio::test]
async fn forms_need_the_session_csrf_token_and_this_origin() {
    let env = Env::new(&backends()[0]).await;
    let (tenant, admin) = env.new_tenant("acme").await;
    let (_, other_admin) = env.new_tenant("other").await;
    let session = Session::with_token(&env, &admin).await;
    let other = Session::with_token(&env, &other_admin).await;
    let enable = [("action", "enable"), ("binding", "default")];
    let headers = [("origin", "http://console.test"), ("host", "console.test")];
    let cases: Vec<(&str, Vec<(&str, String)>, Vec<(&str, &str)>)> = vec![
        ("no token", vec![], headers.to_vec()),
        (
            "wrong token",
            vec![("csrf", "0".repeat(64))],
            headers.to_vec(),
        ),
        (
            "another session's token",
            vec![("csrf", other.csrf.clone())],
            headers.to_vec(),
        ),
        (
            "another origin",
            vec![("csrf", session.csrf.clone())],
            vec![("origin", "https://evil.example"), ("host", "console.test")],
        ),
    ];
    for (what, csrf, headers) in cases {
        let mut fields: Vec<(&str, &str)> = csrf.iter().map(|(k, v)| (*k, v.as_str())).collect();
        fields.extend_from_slice(&enable);
        let answer = session
            .post_raw(&env, "/protection", &headers, form(&fields))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            answer.body
        );
        assert!(
            !env.store
                .protection(tenant)
                .await
                .map(|p| p.enabled)
                .unwrap_or(true),
            "{what}"
        );
    }
    let answer = session.post(&env, "/protection", &enable).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert!(
        env.store
            .protection(tenant)
            .await
            .map(|p| p.enabled)
            .unwrap_or(false)
    );
    env.finish().await;
}

#[tokio::test]
async fn viewers_see_no_action_and_their_posts_are_refused() {
    let env = Env::new(&backends()[0]).await;
    let t = protected_tenant(&env, "acme").await;
    seed_assets(&env, t.id, 3).await;
    let a = agent(&env, &t, "uid-web-0000").await;
    check_batch(
        &env,
        &a.credential,
        vec![process_detection("d1", "/tmp/xmrig", &["xmrig"], "high")],
        (1, 0, 0, 0),
    )
    .await;
    let viewer = env.new_token(&t.admin, "viewer").await;
    let viewer_session = Session::with_token(&env, &viewer).await;
    let admin_session = Session::with_token(&env, &t.admin).await;
    let alert_id = env
        .store
        .list_alerts(
            t.id,
            &Default::default(),
            Paging {
                page: 1,
                per_page: 1,
            },
        )
        .await
        .ok()
        .and_then(|p| p.items.first().map(|a| a.id))
        .unwrap_or_default();
    let pages = [
        "/",
        "/assets",
        &format!("/assets/{}", a.asset),
        "/alerts",
        &format!("/alerts/{alert_id}"),
        "/vulnerabilities",
        "/vulnerabilities?tab=whitelist",
        "/baseline",
        "/baseline?tab=risks",
        "/usage",
        "/settings",
    ];
    for path in pages {
        let page = viewer_session.get(&env, path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        let posts = page.body.matches("method=\"post\"").count();
        assert_eq!(posts, 1, "{path}: the viewer's only form is sign-out");
        assert!(page.body.contains("action=\"/logout\""), "{path}");
        for control in ["data-open=", "data-select-all", "hx-post"] {
            assert!(
                !page.body.contains(control),
                "{path}: viewer sees {control}"
            );
        }
        // The admin sees the actions of the same page.
        let admin_page = admin_session.get(&env, path).await;
        if ["/", "/assets", "/settings"].contains(&path)
            || path.starts_with("/assets/")
            || path.starts_with("/alerts/")
        {
            assert!(
                admin_page.body.matches("method=\"post\"").count() > 1,
                "{path}: admin actions"
            );
        }
    }
    let before = env
        .store
        .list_audit(
            t.id,
            None,
            Paging {
                page: 1,
                per_page: 1,
            },
        )
        .await
        .map(|p| p.total)
        .unwrap_or_default();
    for (path, fields) in POSTS {
        let answer = viewer_session.post(&env, path, fields).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "viewer POST {path}: {}",
            answer.body
        );
    }
    let after = env
        .store
        .list_audit(
            t.id,
            None,
            Paging {
                page: 1,
                per_page: 1,
            },
        )
        .await
        .map(|p| p.total)
        .unwrap_or_default();
    assert_eq!(before, after, "nothing a viewer posted changed anything");
    env.finish().await;
}

#[tokio::test]
async fn tenants_see_only_their_own_data() {
    let env = Env::new(&backends()[0]).await;
    let acme = protected_tenant(&env, "acme").await;
    let other = protected_tenant(&env, "other").await;
    let a = agent(&env, &acme, "uid-acme-1").await;
    check_batch(
        &env,
        &a.credential,
        vec![webshell_detection("w1", "/var/www/shell.php", 'a')],
        (1, 0, 0, 0),
    )
    .await;
    let alert_id = env
        .store
        .list_alerts(
            acme.id,
            &Default::default(),
            Paging {
                page: 1,
                per_page: 1,
            },
        )
        .await
        .ok()
        .and_then(|p| p.items.first().map(|a| a.id))
        .unwrap_or_default();
    let stranger = Session::with_token(&env, &other.admin).await;
    for path in [
        format!("/assets/{}", a.asset),
        format!("/alerts/{alert_id}"),
    ] {
        let page = stranger.get(&env, &path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.body.contains("shell.php"));
    }
    let list = stranger.get(&env, "/alerts").await;
    assert!(
        !list.body.contains("shell.php"),
        "another tenant's alert listed"
    );
    let answer = stranger
        .post(
            &env,
            &format!("/alerts/{alert_id}/handle"),
            &[("method", "ignore")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let still_open = env
        .store
        .get_alert(acme.id, alert_id)
        .await
        .map(|d| d.alert.open)
        .unwrap_or(false);
    assert!(still_open, "another tenant could not handle it");
    env.finish().await;
}

#[tokio::test]
async fn language_comes_from_the_browser_and_the_switch() {
    let env = Env::new(&backends()[0]).await;
    let session = Session::with_token(&env, OPERATOR_TOKEN).await;
    let cases: [(&[(&str, &str)], &str, &str); 4] = [
        (&[], "lang=\"en\"", "Serverless assets"),
        (
            &[("accept-language", "ja-JP,ja;q=0.9,en;q=0.5")],
            "lang=\"ja\"",
            "サーバーレス資産",
        ),
        (
            &[("accept-language", "en-US,en;q=0.9,ja;q=0.2")],
            "lang=\"en\"",
            "Serverless assets",
        ),
        (
            &[("accept-language", "fr-FR,ja;q=0.5")],
            "lang=\"ja\"",
            "サーバーレス資産",
        ),
    ];
    for (headers, lang, nav) in cases {
        let page = session.get_with(&env, "/assets", headers).await;
        assert!(page.body.contains(lang), "{headers:?}: {lang}");
        assert!(page.body.contains(nav), "{headers:?}: {nav}");
    }
    // The switch sets a cookie that wins over the header, and goes back.
    let answer = send(&env, Method::GET, "/lang/ja?next=/assets", &[], None).await;
    assert_eq!(answer.location(), "/assets");
    let cookie = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("pw_lang=ja"))
        .unwrap_or_default();
    assert!(!cookie.is_empty());
    let both = format!("{}; pw_lang=ja", session.cookie);
    let page = send(
        &env,
        Method::GET,
        "/",
        &[("cookie", &both), ("accept-language", "en")],
        None,
    )
    .await;
    assert!(page.body.contains("lang=\"ja\"") && page.body.contains("概要"));
    // The sign-in page speaks the browser's language too.
    let login = send(
        &env,
        Method::GET,
        "/login",
        &[("accept-language", "ja")],
        None,
    )
    .await;
    assert!(login.body.contains("サインイン"));
    env.finish().await;
}

#[tokio::test]
async fn pages_carry_security_headers_and_no_inline_script() {
    let env = Env::new(&backends()[0]).await;
    let session = Session::with_token(&env, OPERATOR_TOKEN).await;
    for path in [
        "/",
        "/assets",
        "/alerts",
        "/vulnerabilities",
        "/baseline",
        "/usage",
        "/settings",
        "/login",
    ] {
        let page = if path == "/login" {
            send(&env, Method::GET, path, &[], None).await
        } else {
            session.get(&env, path).await
        };
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let header = |name: &str| {
            page.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert!(
            header("content-security-policy").contains("script-src 'self'"),
            "{path}"
        );
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
        assert!(!page.body.contains("<script>"), "{path}: inline script");
        assert!(!page.body.contains(" style=\""), "{path}: inline style");
        assert!(!page.body.contains("onclick="), "{path}: inline handler");
    }
    env.finish().await;
}

/// Every catalogue key in the console's sources, and the dynamic keys of every value they are
/// built from.
fn used_keys() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/console");
    let mut keys = BTreeSet::new();
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for piece in text.split('"').skip(1).step_by(2) {
                let known_prefix = catalogue(Lang::En)
                    .keys()
                    .any(|k| k.split('.').next() == piece.split('.').next());
                let shaped = piece.contains('.')
                    && !piece.contains(' ')
                    && !piece.contains('/')
                    && piece
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                    && !piece.ends_with('.')
                    && !piece.starts_with('.');
                if known_prefix && shaped && !piece.ends_with(".css") && !piece.ends_with(".js") {
                    keys.insert(piece.to_string());
                }
            }
        }
    }
    // Audit action names the console writes are not catalogue keys.
    for action in [
        "user.create",
        "user.delete",
        "console.sign_in",
        "console.sign_out",
    ] {
        keys.remove(action);
    }
    let families: [(&str, &[&str]); 22] = [
        (
            "tab",
            &[
                "all",
                "no-quota",
                "bound-offline",
                "unhandled",
                "handled",
                "whitelist",
                "advisory",
                "asset",
                "findings",
                "supported",
                "check",
                "risks",
            ],
        ),
        (
            "severity",
            &["critical", "high", "medium", "low", "info", "unknown"],
        ),
        (
            "status",
            &["running", "pending", "terminated", "unknown", "gone"],
        ),
        (
            "source",
            &[
                "k8s-virtual-node",
                "k8s-serverless",
                "container-compute",
                "app-engine",
            ],
        ),
        ("instance", &["standard", "sandboxed"]),
        ("alert_type", &["webshell", "network", "process"]),
        (
            "alert_status",
            &[
                "unhandled",
                "quarantining",
                "quarantine_failed",
                "handled",
                "ignored",
                "whitelisted",
                "quarantined",
            ],
        ),
        ("role", &["admin", "viewer"]),
        (
            "handle.method",
            &["quarantine", "whitelist", "ignore", "handled"],
        ),
        (
            "handle.outcome",
            &["done", "pending", "succeeded", "failed"],
        ),
        (
            "command.status",
            &["pending", "delivered", "succeeded", "failed", "expired"],
        ),
        ("baseline.level", &["baseline", "restricted", "hardening"]),
        ("baseline.safety", &["safe", "risky"]),
        ("alerts.direction", &["outbound", "inbound", "listen"]),
        ("alerts.default_advice", &["webshell", "network", "process"]),
        ("asset.spec_from", &["agent", "cluster"]),
        (
            "binding.outcome",
            &[
                "none",
                "first-enable-all",
                "previous",
                "no-previous-all",
                "keep",
                "all",
                "unbind-all",
                "switch-off-unbind",
            ],
        ),
        (
            "flash.protection",
            &[
                "enable",
                "disable",
                "pause",
                "resume",
                "auto_add_on",
                "auto_add_off",
            ],
        ),
        (
            "flash.handle",
            &["quarantine", "whitelist", "ignore", "handled"],
        ),
        ("protection.state", &["active", "off", "paused", "overdue"]),
        (
            "protection.explain",
            &["active", "off", "paused", "overdue"],
        ),
        ("whitelist", &["scope_asset", "scope_all"]),
    ];
    for (prefix, values) in families {
        for value in values {
            keys.insert(format!("{prefix}.{value}"));
        }
    }
    keys
}

#[test]
fn catalogues_have_exactly_the_same_keys_and_every_key_used() {
    let en: BTreeSet<&String> = catalogue(Lang::En).keys().collect();
    let ja: BTreeSet<&String> = catalogue(Lang::Ja).keys().collect();
    assert!(
        en.len() > 300,
        "the English catalogue loaded ({} keys)",
        en.len()
    );
    let only_en: Vec<_> = en.difference(&ja).collect();
    let only_ja: Vec<_> = ja.difference(&en).collect();
    assert!(
        only_en.is_empty() && only_ja.is_empty(),
        "only in en: {only_en:?}; only in ja: {only_ja:?}"
    );
    let missing: Vec<String> = used_keys()
        .into_iter()
        .filter(|k| !catalogue(Lang::En).contains_key(k))
        .collect();
    assert!(
        missing.is_empty(),
        "keys used by the console but not in the catalogues: {missing:?}"
    );
    for lang in Lang::ALL {
        for (key, text) in catalogue(lang) {
            assert!(!text.trim().is_empty(), "{lang:?} {key} is empty");
            let placeholders = |t: &str| {
                t.split('{')
                    .skip(1)
                    .filter_map(|p| p.split('}').next().map(str::to_string))
                    .collect::<BTreeSet<_>>()
            };
            assert_eq!(
                placeholders(text),
                placeholders(&catalogue(Lang::En)[key]),
                "{lang:?} {key}: placeholders differ"
            );
        }
    }
}

/// Bytes of a page with the CSS and scripts it loads.
async fn page_weight(env: &Env, session: &Session, path: &str) -> usize {
    let page = session.get(env, path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}");
    let mut total = page.body.len();
    for name in ["app.css", "app.js", "htmx.min.js"] {
        let url = static_files::url(name);
        assert!(page.body.contains(&url), "{path} loads {url}");
        total += send(env, Method::GET, &url, &[], None).await.body.len();
    }
    total
}

#[tokio::test]
async fn every_page_weighs_under_150_kb() {
    let env = Env::new(&backends()[0]).await;
    let t = protected_tenant(&env, "acme").await;
    seed_assets(&env, t.id, 300).await;
    let a = agent(&env, &t, "uid-web-0001").await;
    let detections = (0..60)
        .map(|i| {
            process_detection(
                &format!("p{i}"),
                &format!("/tmp/miner-{i}"),
                &["miner", "-o", "pool.example:3333"],
                "high",
            )
        })
        .collect();
    check_batch(&env, &a.credential, detections, (60, 0, 0, 0)).await;
    let session = Session::with_token(&env, &t.admin).await;
    let alert = env
        .store
        .list_alerts(
            t.id,
            &Default::default(),
            Paging {
                page: 1,
                per_page: 1,
            },
        )
        .await
        .ok()
        .and_then(|p| p.items.first().map(|a| a.id))
        .unwrap_or_default();
    let paths = [
        "/",
        "/assets",
        "/assets?per_page=50",
        &format!("/assets/{}", a.asset),
        "/alerts",
        "/alerts?per_page=50",
        &format!("/alerts/{alert}"),
        "/vulnerabilities",
        "/baseline",
        "/usage",
        "/settings",
    ];
    for path in paths {
        let weight = page_weight(&env, &session, path).await;
        assert!(weight < 150 * 1024, "{path}: {weight} bytes");
    }
    env.finish().await;
}

#[tokio::test]
async fn console_actions_reach_the_store() {
    let env = Env::new(&backends()[0]).await;
    let (tenant, admin) = env.new_tenant("acme").await;
    seed_assets(&env, tenant, 5).await;
    let session = Session::with_token(&env, &admin).await;
    let count_bound = |bound: bool| {
        let store = env.store.clone();
        async move {
            let filter = AssetFilter {
                bound: Some(bound),
                ..AssetFilter::default()
            };
            store
                .list_assets(
                    tenant,
                    &filter,
                    Paging {
                        page: 1,
                        per_page: 1,
                    },
                )
                .await
                .map(|p| p.total)
                .unwrap_or(-1)
        }
    };
    let ids: Vec<i64> = env
        .store
        .list_assets(
            tenant,
            &AssetFilter::default(),
            Paging {
                page: 1,
                per_page: 50,
            },
        )
        .await
        .map(|p| p.items.iter().map(|a| a.id).collect())
        .unwrap_or_default();
    let first = ids[0].to_string();
    let second = ids[1].to_string();
    // (form target, fields, bound afterwards, flash text expected on the next page)
    let steps: Vec<(&str, Vec<(&str, &str)>, i64, &str)> = vec![
        (
            "/protection",
            vec![("action", "enable"), ("binding", "none")],
            0,
            "Protection enabled",
        ),
        (
            "/assets/quota",
            vec![
                ("action", "add"),
                ("target", "selected"),
                ("asset_ids", &first),
                ("asset_ids", &second),
                ("auto_add_shown", "1"),
            ],
            2,
            "2 assets bound",
        ),
        (
            "/assets/quota",
            vec![
                ("action", "remove"),
                ("target", "selected"),
                ("asset_ids", &first),
                ("auto_add_shown", "1"),
            ],
            1,
            "1 assets unbound",
        ),
        (
            "/assets/quota",
            vec![
                ("action", "add"),
                ("target", "all"),
                ("auto_add_shown", "1"),
                ("auto_add", "on"),
            ],
            5,
            "Auto-add is on",
        ),
        (
            "/protection",
            vec![("action", "disable")],
            0,
            "switched off",
        ),
        (
            "/protection",
            vec![("action", "enable")],
            5,
            "previously bound",
        ),
    ];
    for (path, fields, bound, flash) in steps {
        let mut fields = fields;
        fields.push(("next", "/assets"));
        let answer = session.post(&env, path, &fields).await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "{path} {fields:?}: {}",
            answer.body
        );
        assert_eq!(count_bound(true).await, bound, "{path} {fields:?}");
        let flash_cookie = answer
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("pw_flash="))
            .unwrap_or_default();
        let with_flash = format!(
            "{}; {}",
            session.cookie,
            flash_cookie.split(';').next().unwrap_or_default()
        );
        let page = send(
            &env,
            Method::GET,
            "/assets",
            &[("cookie", &with_flash)],
            None,
        )
        .await;
        assert!(
            page.body.contains(flash),
            "{path}: flash {flash:?} in the page"
        );
    }
    // A refused action tells why (the store's message), without changing anything.
    let answer = session
        .post(
            &env,
            "/assets/quota",
            &[
                ("action", "add"),
                ("target", "selected"),
                ("asset_ids", "999999"),
            ],
        )
        .await;
    let flash_cookie = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("pw_flash="))
        .unwrap_or_default();
    let with_flash = format!(
        "{}; {}",
        session.cookie,
        flash_cookie.split(';').next().unwrap_or_default()
    );
    let page = send(
        &env,
        Method::GET,
        "/assets",
        &[("cookie", &with_flash)],
        None,
    )
    .await;
    assert!(
        page.body.contains("flash error") && page.body.contains("999999"),
        "refusal shown"
    );
    // A new token is shown once, on the answer page.
    let answer = session
        .post(
            &env,
            "/settings/tokens",
            &[("name", "ci"), ("role", "viewer")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let secret = answer
        .body
        .split("id=\"secret-value\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or_default()
        .to_string();
    assert!(secret.starts_with("pw_"), "{secret}");
    let (status, _) = env
        .call(Method::GET, "/api/v1/assets", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::OK, "the shown token works");
    assert!(
        !session.get(&env, "/settings").await.body.contains(&secret),
        "shown only once"
    );
    // An enrolment token comes with its Secret manifest and the annotation.
    let answer = session
        .post(
            &env,
            "/settings/enrollment",
            &[("name", "agents"), ("namespace", "shop")],
        )
        .await;
    for expected in [
        "kind: Secret",
        "namespace: shop",
        "podwarden.io/agent: &quot;enabled&quot;",
        "pwe_",
    ] {
        assert!(answer.body.contains(expected), "{expected}");
    }
    // CSV exports answer CSV.
    let csv = session.get(&env, "/usage/usage.csv").await;
    assert_eq!(
        csv.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    assert!(csv.body.starts_with("day,asset_id,"));
    let bills = session
        .get(&env, "/usage/bills.csv?from=2020-01-01&to=2020-01-31")
        .await;
    assert!(bills.body.starts_with("day,timezone,"));
    // The CSRF token of a page is the session's.
    assert_eq!(
        csrf_of(&session.get(&env, "/settings").await.body),
        session.csrf
    );
    env.finish().await;
}
