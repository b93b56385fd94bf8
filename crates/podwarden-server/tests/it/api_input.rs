//! Bad input: malformed JSON, unknown fields, wrong types, oversized bodies, bad query
//! strings and ids all get a 4xx with the JSON error body, and nothing is half-written.

use crate::support::{Env, OPERATOR_TOKEN, test_config};
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn bad_requests_get_clear_4xx_errors() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let cases: Vec<(Method, &str, Option<&str>, StatusCode, &str)> = vec![
        (
            Method::PUT,
            "/api/v1/protection",
            Some("{\"enabled\": tru"),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::PUT,
            "/api/v1/protection",
            Some("{\"enabled\": \"yes\"}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::PUT,
            "/api/v1/protection",
            Some("{\"enabld\": true}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::PUT,
            "/api/v1/protection",
            Some("{\"timezone\": \"Mars/Base\"}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::PUT,
            "/api/v1/protection",
            Some("{\"price_per_core_second\": \"-1\"}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::PUT,
            "/api/v1/protection",
            Some("{\"price_per_core_second\": \"0.0000000001\"}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::PUT,
            "/api/v1/protection",
            Some("{\"binding\": \"all\"}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/quota",
            Some("{\"action\": \"add\"}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/quota",
            Some("{\"action\": \"add\", \"all\": true, \"asset_ids\": [1]}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/quota",
            Some("{\"action\": \"steal\", \"all\": true}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            "/api/v1/quota",
            Some("{\"action\": \"add\", \"asset_ids\": [999]}"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            "/api/v1/quota",
            Some("{\"action\": \"add\", \"asset_ids\": []}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/tokens",
            Some("{\"name\": \"x\", \"role\": \"root\"}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            "/api/v1/tokens",
            Some("{\"name\": \"\", \"role\": \"admin\"}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/tenants",
            Some("{\"name\": \"operator\"}"),
            StatusCode::CONFLICT,
            "conflict",
        ),
        (
            Method::POST,
            "/api/v1/enrollment-tokens",
            Some("{\"namespace\": \"Not_A_Namespace\"}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/v1/enrollment-tokens",
            Some("{\"nope\": 1}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::GET,
            "/api/v1/assets?per_page=0",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            "/api/v1/assets?per_page=501",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            "/api/v1/assets?page=abc",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::GET,
            "/api/v1/assets?agent=sleepy",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            "/api/v1/assets?colour=red",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::GET,
            "/api/v1/assets/abc",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            Method::GET,
            "/api/v1/assets/42",
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::GET,
            "/api/v1/usage?from=yesterday",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            "/api/v1/nothing-here",
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::PATCH,
            "/api/v1/protection",
            Some("{}"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::PATCH,
            "/api/v1/tenants/999",
            Some("{\"overdue\": true}"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got, reply) = env
            .call_text(
                method.clone(),
                path,
                Some(OPERATOR_TOKEN),
                body,
                "application/json",
            )
            .await;
        assert_eq!(
            (got, reply["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path} {body:?}: {reply}"
        );
        assert!(
            reply["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{reply}"
        );
    }
    // A JSON body without the JSON content type.
    let (status, reply) = env
        .call_text(
            Method::PUT,
            "/api/v1/protection",
            Some(OPERATOR_TOKEN),
            Some("{}"),
            "text/plain",
        )
        .await;
    assert_eq!(
        (status, reply["error"]["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
    // None of the refused requests changed the protection settings.
    let (_, protection) = env
        .call(
            Method::GET,
            "/api/v1/protection",
            Some(OPERATOR_TOKEN),
            None,
        )
        .await;
    assert_eq!(protection["enabled"], false);
    assert_eq!(protection["timezone"], "+08:00");
    assert_eq!(protection["price_per_core_second"], "0.000003");
    env.finish().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let mut config = test_config();
    config.api_body_limit_bytes = Some(2048);
    config.agent_body_limit_bytes = Some(4096);
    let env = Env::with_config(&crate::support::Backend::Sqlite, config).await;
    let big_name = "x".repeat(3000);
    let body = json!({"name": big_name, "role": "viewer"}).to_string();
    let (status, reply) = env
        .call_text(
            Method::POST,
            "/api/v1/tokens",
            Some(OPERATOR_TOKEN),
            Some(&body),
            "application/json",
        )
        .await;
    assert_eq!(
        (status, reply["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")),
        "{reply}"
    );
    // The agent limit is separate: 3000 bytes pass there (and fail validation, not size).
    let enrollment = env.enrollment_token(OPERATOR_TOKEN).await;
    let body =
        json!({"agent_version": "1", "mode": "host", "hostname": "x".repeat(3000)}).to_string();
    let (status, reply) = env
        .call_text(
            Method::POST,
            "/agent/v1/enroll",
            Some(&enrollment),
            Some(&body),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    let body =
        json!({"agent_version": "1", "mode": "host", "hostname": "x".repeat(5000)}).to_string();
    let (status, _) = env
        .call_text(
            Method::POST,
            "/agent/v1/enroll",
            Some(&enrollment),
            Some(&body),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (_, tokens) = env
        .call(Method::GET, "/api/v1/tokens", Some(OPERATOR_TOKEN), None)
        .await;
    assert_eq!(
        tokens.as_array().map(Vec::len),
        Some(1),
        "no token was created: {tokens}"
    );
    env.finish().await;
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let (status, doc) = env
        .call(Method::GET, "/openapi.json", Some(OPERATOR_TOKEN), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/api/v1/protection",
        "/api/v1/quota",
        "/api/v1/assets",
        "/api/v1/assets/{id}",
        "/api/v1/assets/sync",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/tenants",
        "/api/v1/tenants/{id}",
        "/api/v1/enrollment-tokens",
        "/api/v1/enrollment-tokens/{id}",
        "/api/v1/usage",
        "/api/v1/bills",
        "/api/v1/audit",
        "/agent/v1/enroll",
        "/agent/v1/heartbeat",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["EnrollRequest"].is_object());
    env.finish().await;
}
