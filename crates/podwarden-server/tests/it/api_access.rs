//! Access control: every route refuses a missing or wrong credential, a viewer changes
//! nothing, agents reach only the agent channel, and tenants see nothing of each other.

use crate::support::{Env, OPERATOR_TOKEN, backends};
use axum::http::{Method, StatusCode};
use serde_json::json;

/// Every authenticated route with a plausible body.
fn routes() -> Vec<(Method, &'static str, Option<serde_json::Value>)> {
    vec![
        (Method::GET, "/api/v1/protection", None),
        (
            Method::PUT,
            "/api/v1/protection",
            Some(json!({"enabled": true})),
        ),
        (
            Method::POST,
            "/api/v1/quota",
            Some(json!({"action": "add", "all": true})),
        ),
        (Method::GET, "/api/v1/assets", None),
        (Method::GET, "/api/v1/assets/1", None),
        (Method::POST, "/api/v1/assets/sync", None),
        (
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "x", "role": "viewer"})),
        ),
        (Method::GET, "/api/v1/tokens", None),
        (Method::DELETE, "/api/v1/tokens/1", None),
        (Method::POST, "/api/v1/tenants", Some(json!({"name": "t"}))),
        (Method::GET, "/api/v1/tenants", None),
        (
            Method::PATCH,
            "/api/v1/tenants/1",
            Some(json!({"overdue": true})),
        ),
        (Method::POST, "/api/v1/enrollment-tokens", None),
        (Method::GET, "/api/v1/enrollment-tokens", None),
        (Method::DELETE, "/api/v1/enrollment-tokens/1", None),
        (Method::GET, "/api/v1/usage", None),
        (Method::GET, "/api/v1/bills", None),
        (Method::GET, "/api/v1/audit", None),
        (Method::GET, "/openapi.json", None),
        (Method::GET, "/metrics", None),
        (
            Method::POST,
            "/agent/v1/enroll",
            Some(json!({"agent_version": "1", "mode": "host", "hostname": "h"})),
        ),
        (
            Method::POST,
            "/agent/v1/heartbeat",
            Some(json!({"agent_version": "1"})),
        ),
    ]
}

#[tokio::test]
async fn every_route_refuses_missing_and_wrong_credentials() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let enrollment = env.enrollment_token(OPERATOR_TOKEN).await;
    let (_, agent) = env.enroll(&enrollment, "uid-1", "host-1").await;
    for (method, path, body) in routes() {
        for token in [None, Some("pw_not_a_real_token"), Some("garbage")] {
            let (status, reply) = env.call(method.clone(), path, token, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {token:?}: {reply}"
            );
            assert_eq!(reply["error"]["code"], "unauthorized", "{reply}");
        }
        // A credential of the wrong kind is as good as none.
        let wrong_kind = if path.starts_with("/agent/v1/heartbeat") {
            vec![OPERATOR_TOKEN, enrollment.as_str()]
        } else if path.starts_with("/agent/v1/enroll") {
            vec![OPERATOR_TOKEN, agent.as_str()]
        } else {
            vec![agent.as_str(), enrollment.as_str()]
        };
        for token in wrong_kind {
            let (status, reply) = env
                .call(method.clone(), path, Some(token), body.clone())
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {reply}");
        }
    }
    let (status, body) = env.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    env.finish().await;
}

#[tokio::test]
async fn a_viewer_cannot_change_anything() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let viewer = env.new_token(OPERATOR_TOKEN, "viewer").await;
    for (method, path, body) in routes() {
        if !path.starts_with("/api/v1") {
            continue;
        }
        let (status, reply) = env.call(method.clone(), path, Some(&viewer), body).await;
        if method == Method::GET {
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{path}: {reply}");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {reply}");
            assert_eq!(reply["error"]["code"], "forbidden");
        }
    }
    // Nothing was written by the viewer: the audit log holds only the token creation.
    let (_, audit) = env
        .call(Method::GET, "/api/v1/audit", Some(OPERATOR_TOKEN), None)
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, vec!["token.create", "tenant.bootstrap"]);
    // The audit log is searchable by who, what and target, any case.
    for (q, expected) in [
        ("TOKEN.", vec!["token.create"]),
        ("BOOTSTRAP", vec!["token.create", "tenant.bootstrap"]),
        ("token:2", vec!["token.create"]),
        ("SYSTEM", vec!["tenant.bootstrap"]),
        ("nothing-like-it", vec![]),
    ] {
        let (status, found) = env
            .call(
                Method::GET,
                &format!("/api/v1/audit?q={q}"),
                Some(OPERATOR_TOKEN),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let actions: Vec<&str> = found["items"]
            .as_array()
            .map(|items| items.iter().filter_map(|i| i["action"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(actions, expected, "q={q}");
        assert_eq!(found["total"], expected.len(), "q={q}");
    }
    env.finish().await;
}

#[tokio::test]
async fn operator_only_routes_refuse_other_tenants() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let (_, admin) = env.new_tenant("acme").await;
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"name": "evil"})),
        ),
        (Method::GET, "/api/v1/tenants", None),
        (
            Method::PATCH,
            "/api/v1/tenants/1",
            Some(json!({"overdue": true})),
        ),
        (Method::GET, "/metrics", None),
        (
            Method::PUT,
            "/api/v1/protection",
            Some(json!({"price_per_core_second": "0"})),
        ),
    ] {
        let (status, reply) = env.call(method.clone(), path, Some(&admin), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {reply}");
    }
    let (status, text) = env
        .call(Method::GET, "/metrics", Some(OPERATOR_TOKEN), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap_or_default();
    assert!(
        text.contains(
            "podwarden_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"403\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("podwarden_agents_online 0"), "{text}");
    env.finish().await;
}

#[tokio::test]
async fn tenants_see_nothing_of_each_other() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let (_, alice) = env.new_tenant("alice").await;
        let (_, bob) = env.new_tenant("bob").await;
        let alice_enrollment = env.enrollment_token(&alice).await;
        let (alice_asset, _) = env
            .enroll(&alice_enrollment, "alice-pod", "alice-host")
            .await;
        let (status, _) = env
            .call(
                Method::PUT,
                "/api/v1/protection",
                Some(&alice),
                Some(json!({"enabled": true})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        // Alice sees her asset.
        let (_, list) = env
            .call(Method::GET, "/api/v1/assets", Some(&alice), None)
            .await;
        assert_eq!(list["total"], 1, "{list}");
        // Bob sees no asset, cannot get it, cannot bind it, does not see Alice's audit.
        let (_, list) = env
            .call(Method::GET, "/api/v1/assets", Some(&bob), None)
            .await;
        assert_eq!(list["total"], 0, "{backend:?}: {list}");
        let path = format!("/api/v1/assets/{alice_asset}");
        let (status, _) = env.call(Method::GET, &path, Some(&bob), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = env
            .call(
                Method::POST,
                "/api/v1/quota",
                Some(&bob),
                Some(json!({"action": "remove", "asset_ids": [alice_asset]})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, quota) = env
            .call(
                Method::POST,
                "/api/v1/quota",
                Some(&bob),
                Some(json!({"action": "remove", "all": true})),
            )
            .await;
        assert_eq!(quota["changed"], 0, "{quota}");
        let (_, detail) = env.call(Method::GET, &path, Some(&alice), None).await;
        assert_eq!(
            detail["bound"], true,
            "Bob's quota call must not touch Alice: {detail}"
        );
        let (_, audit) = env
            .call(Method::GET, "/api/v1/audit", Some(&bob), None)
            .await;
        let leaked = audit["items"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|entry| {
                entry["target"].as_str() == Some(&format!("asset:{alice_asset}"))
                    || entry["action"] == "agent.enroll"
                    || entry["action"] == "protection.update"
            });
        assert!(!leaked, "{audit}");
        // Tokens are per tenant too.
        let (_, tokens) = env
            .call(Method::GET, "/api/v1/tokens", Some(&bob), None)
            .await;
        assert_eq!(tokens.as_array().map(Vec::len), Some(1), "{tokens}");
        let alice_token_id = {
            let (_, tokens) = env
                .call(Method::GET, "/api/v1/tokens", Some(&alice), None)
                .await;
            tokens[0]["id"].as_i64().unwrap_or_default()
        };
        let (status, _) = env
            .call(
                Method::DELETE,
                &format!("/api/v1/tokens/{alice_token_id}"),
                Some(&bob),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Usage is per tenant.
        let (_, usage) = env
            .call(
                Method::GET,
                "/api/v1/usage?from=2024-01-01&to=2024-01-31",
                Some(&bob),
                None,
            )
            .await;
        assert_eq!(usage, json!([]));
        env.finish().await;
    }
}

#[tokio::test]
async fn tokens_are_shown_once_and_revocable() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let (_, admin) = env.new_tenant("acme").await;
    let second = env.new_token(&admin, "admin").await;
    assert!(second.starts_with("pw_") && second.len() >= 67, "{second}");
    let (_, tokens) = env
        .call(Method::GET, "/api/v1/tokens", Some(&admin), None)
        .await;
    let listed = tokens.to_string();
    assert!(
        !listed.contains(&second),
        "a listed token must not carry its secret"
    );
    let second_id = tokens[1]["id"].as_i64().unwrap_or_default();
    let (status, _) = env
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{second_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = env
        .call(Method::GET, "/api/v1/assets", Some(&second), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The last admin token cannot be revoked.
    let first_id = tokens[0]["id"].as_i64().unwrap_or_default();
    let (status, body) = env
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{first_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    env.finish().await;
}
