//! Agent channel: enrolment creates or attaches to the asset, heartbeats keep the agent
//! online, silence makes it offline with a reason, credentials are per agent.

use crate::support::{Env, MINUTE, OPERATOR_TOKEN, backends};
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn enrol_heartbeat_online_offline() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let (_, admin) = env.new_tenant("acme").await;
        let (status, created) = env
            .call(
                Method::POST,
                "/api/v1/enrollment-tokens",
                Some(&admin),
                Some(json!({"namespace": "shop"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let enrollment = created["token"].as_str().unwrap_or_default().to_string();
        assert!(enrollment.starts_with("pwe_"), "{created}");
        let manifest = created["secret_manifest"].as_str().unwrap_or_default();
        assert!(manifest.contains("kind: Secret") && manifest.contains("namespace: shop"));
        assert!(
            manifest.contains(&format!("token: \"{enrollment}\"")),
            "{manifest}"
        );

        // Before any agent: no asset.
        let (_, list) = env
            .call(Method::GET, "/api/v1/assets", Some(&admin), None)
            .await;
        assert_eq!(list["total"], 0);

        let (asset, credential) = env.enroll(&enrollment, "uid-a", "web-1").await;
        assert!(credential.starts_with("pwa_"));
        let (status, beat) = env.heartbeat(&credential).await;
        assert_eq!(status, StatusCode::OK, "{beat}");
        assert_eq!(beat["asset_id"], asset);
        assert_eq!(beat["heartbeat_interval_secs"], 600);
        assert_eq!(
            beat["protection_active"], false,
            "protection is off: {beat}"
        );
        assert_eq!(beat["pending_commands"], 0);
        assert_eq!(
            beat["capabilities"],
            json!({"alerts": true, "vulnerability": true, "baseline": true})
        );

        let check_agent = |expected: &'static str, reason: Option<String>| {
            let env = &env;
            let admin = admin.clone();
            async move {
                let (_, detail) = env
                    .call(
                        Method::GET,
                        &format!("/api/v1/assets/{asset}"),
                        Some(&admin),
                        None,
                    )
                    .await;
                assert_eq!(detail["agent"]["status"], expected, "{detail}");
                assert_eq!(
                    detail["agent"]["reason"].as_str().map(str::to_string),
                    reason,
                    "{detail}"
                );
                let (_, filtered) = env
                    .call(
                        Method::GET,
                        &format!("/api/v1/assets?agent={expected}"),
                        Some(&admin),
                        None,
                    )
                    .await;
                assert_eq!(filtered["total"], 1, "{filtered}");
            }
        };
        check_agent("online", None).await;
        env.clock.advance(29 * MINUTE);
        check_agent("online", None).await;
        env.clock.advance(MINUTE);
        check_agent(
            "offline",
            Some("no heartbeat since 2024-01-01T16:00:00Z".to_string()),
        )
        .await;
        let (status, _) = env.heartbeat(&credential).await;
        assert_eq!(status, StatusCode::OK);
        check_agent("online", None).await;

        // Re-enrolling the same pod attaches to the same asset and retires the old credential.
        let (again, fresh) = env.enroll(&enrollment, "uid-a", "web-1").await;
        assert_eq!(again, asset);
        assert_eq!(env.heartbeat(&credential).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(env.heartbeat(&fresh).await.0, StatusCode::OK);

        // A second pod never installed: offline, "never installed" (registered by sync).
        let (_, list) = env
            .call(
                Method::GET,
                "/api/v1/assets?agent=offline",
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(list["total"], 0);

        // A revoked enrolment token enrols nothing.
        let (_, tokens) = env
            .call(Method::GET, "/api/v1/enrollment-tokens", Some(&admin), None)
            .await;
        let id = tokens[0]["id"].as_i64().unwrap_or_default();
        let (status, _) = env
            .call(
                Method::DELETE,
                &format!("/api/v1/enrollment-tokens/{id}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = env
            .call(
                Method::POST,
                "/agent/v1/enroll",
                Some(&enrollment),
                Some(json!({"agent_version": "1", "mode": "host", "hostname": "h2"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // Agents that enrolled keep working.
        assert_eq!(env.heartbeat(&fresh).await.0, StatusCode::OK);

        // Protection on: the heartbeat says so (first enable binds the asset).
        let (status, _) = env
            .call(
                Method::PUT,
                "/api/v1/protection",
                Some(&admin),
                Some(json!({"enabled": true})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, beat) = env.heartbeat(&fresh).await;
        assert_eq!(beat["protection_active"], true, "{beat}");
        env.finish().await;
    }
}

#[tokio::test]
async fn enrolment_identity_is_validated() {
    let env = Env::new(&crate::support::Backend::Sqlite).await;
    let enrollment = env.enrollment_token(OPERATOR_TOKEN).await;
    let cases = [
        (
            json!({"agent_version": "1", "mode": "host"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"agent_version": "", "mode": "host", "hostname": "h"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"agent_version": "1", "mode": "daemon", "hostname": "h"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"agent_version": "1", "mode": "host", "hostname": "h\u{7}"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"mode": "host", "hostname": "h"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"agent_version": "1", "mode": "host", "hostname": "h", "source_kind": "app-engine"}),
            StatusCode::OK,
        ),
    ];
    for (body, expected) in cases {
        let (status, reply) = env
            .call(
                Method::POST,
                "/agent/v1/enroll",
                Some(&enrollment),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, expected, "{body}: {reply}");
    }
    // The app-engine host with the default 1 core is protectable; its asset says where it came from.
    let (_, list) = env
        .call(
            Method::GET,
            "/api/v1/assets?source=app-engine",
            Some(OPERATOR_TOKEN),
            None,
        )
        .await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["source"], "agent");
    assert_eq!(list["items"][0]["pod_uid"], "host:h");
    env.finish().await;
}
