//! Metering scenarios with a manual clock: every stop condition and boundary, with exact
//! core-seconds and money; bills closed the next day; JSON and CSV exports.

use crate::support::{Env, HOUR, MINUTE, T0, backends};
use crate::sync::pod;
use axum::http::{Method, StatusCode};
use podwarden_api::agent::{AgentMode, EnrollRequest};
use podwarden_server::auth::AgentPrincipal;
use podwarden_server::metering::PriceNano;
use podwarden_server::store::protection::{ProtectionUpdate, QuotaAction, QuotaTarget};
use podwarden_server::store::{Actor, TenantId};

#[derive(Debug, Clone)]
enum Act {
    Beat,
    Enabled(bool),
    Paused(bool),
    Overdue(bool),
    Bound(bool),
    Price(&'static str),
    Gone,
}

struct Case {
    name: &'static str,
    /// Start, relative to 2024-01-02T00:00+08:00.
    start: i64,
    limit: Option<i64>,
    request: Option<i64>,
    /// (offset from start, action); the agent enrols (first heartbeat) at offset 0.
    steps: Vec<(i64, Act)>,
    /// Usage is read at this offset.
    end: i64,
    /// (day, millicore-seconds, cost in pico-USD)
    expected: Vec<(&'static str, i64, i64)>,
}

/// Heartbeats every 10 minutes from `from` to `to` (inclusive).
fn beats(from: i64, to: i64) -> Vec<(i64, Act)> {
    (0..)
        .map(|i| from + i * 10 * MINUTE)
        .take_while(|t| *t <= to)
        .map(|t| (t, Act::Beat))
        .collect()
}

fn steps(mut list: Vec<(i64, Act)>, more: Vec<(i64, Act)>) -> Vec<(i64, Act)> {
    list.extend(more);
    list.sort_by_key(|(t, _)| *t);
    list
}

fn cases() -> Vec<Case> {
    let hour_of = |millicores: i64| 3600 * millicores;
    let cost = |mcs: i64, price_nano: i64| mcs * price_nano;
    vec![
        Case {
            name: "cores from the CPU limit",
            start: 0,
            limit: Some(500),
            request: Some(250),
            steps: beats(0, HOUR),
            end: HOUR,
            expected: vec![("2024-01-02", hour_of(500), cost(hour_of(500), 3000))],
        },
        Case {
            name: "cores from the CPU request without a limit",
            start: 0,
            limit: None,
            request: Some(250),
            steps: beats(0, HOUR),
            end: HOUR,
            expected: vec![("2024-01-02", hour_of(250), cost(hour_of(250), 3000))],
        },
        Case {
            name: "cores from the configured default",
            start: 0,
            limit: None,
            request: None,
            steps: beats(0, HOUR),
            end: HOUR,
            expected: vec![("2024-01-02", hour_of(1000), 10_800_000_000)],
        },
        Case {
            name: "midnight in UTC+8 splits the days",
            start: -HOUR,
            limit: None,
            request: None,
            steps: beats(0, 2 * HOUR),
            end: 2 * HOUR,
            expected: vec![
                ("2024-01-01", hour_of(1000), 10_800_000_000),
                ("2024-01-02", hour_of(1000), 10_800_000_000),
            ],
        },
        Case {
            name: "unbound mid-day stops at once",
            start: 0,
            limit: None,
            request: None,
            steps: steps(beats(0, 3 * HOUR), vec![(HOUR, Act::Bound(false))]),
            end: 3 * HOUR,
            expected: vec![("2024-01-02", hour_of(1000), 10_800_000_000)],
        },
        Case {
            name: "agent offline for a gap: window after the last beat, resumes at the next",
            start: 0,
            limit: None,
            request: None,
            steps: beats(2 * HOUR, 2 * HOUR + 10 * MINUTE),
            end: 2 * HOUR + 10 * MINUTE,
            // [0, 30 min) + [120 min, 130 min)
            expected: vec![("2024-01-02", 2400 * 1000, 2400 * 1000 * 3000)],
        },
        Case {
            name: "a heartbeat exactly at the window edge continues without loss",
            start: 0,
            limit: None,
            request: None,
            steps: vec![(30 * MINUTE, Act::Beat)],
            end: 40 * MINUTE,
            expected: vec![("2024-01-02", 2400 * 1000, 2400 * 1000 * 3000)],
        },
        Case {
            name: "price change mid-day applies from that moment",
            start: 0,
            limit: None,
            request: None,
            steps: steps(beats(0, 2 * HOUR), vec![(HOUR, Act::Price("0.000006"))]),
            end: 2 * HOUR,
            expected: vec![(
                "2024-01-02",
                2 * hour_of(1000),
                10_800_000_000 + 21_600_000_000,
            )],
        },
        Case {
            name: "pause and resume",
            start: 0,
            limit: None,
            request: None,
            steps: steps(
                beats(0, 3 * HOUR),
                vec![(HOUR, Act::Paused(true)), (2 * HOUR, Act::Paused(false))],
            ),
            end: 3 * HOUR,
            expected: vec![("2024-01-02", 2 * hour_of(1000), 21_600_000_000)],
        },
        Case {
            name: "overdue and paid",
            start: 0,
            limit: None,
            request: None,
            steps: steps(
                beats(0, 3 * HOUR),
                vec![(HOUR, Act::Overdue(true)), (2 * HOUR, Act::Overdue(false))],
            ),
            end: 3 * HOUR,
            expected: vec![("2024-01-02", 2 * hour_of(1000), 21_600_000_000)],
        },
        Case {
            name: "switched off and on again",
            start: 0,
            limit: None,
            request: None,
            steps: steps(
                beats(0, 3 * HOUR),
                vec![(HOUR, Act::Enabled(false)), (2 * HOUR, Act::Enabled(true))],
            ),
            end: 3 * HOUR,
            expected: vec![("2024-01-02", 2 * hour_of(1000), 21_600_000_000)],
        },
        Case {
            name: "asset gone",
            start: 0,
            limit: Some(500),
            request: None,
            steps: steps(beats(0, 2 * HOUR), vec![(HOUR, Act::Gone)]),
            end: 2 * HOUR,
            expected: vec![("2024-01-02", hour_of(500), cost(hour_of(500), 3000))],
        },
        Case {
            name: "protection off from the start: nothing",
            start: 0,
            limit: None,
            request: None,
            steps: steps(beats(0, HOUR), vec![(0, Act::Enabled(false))]),
            end: HOUR,
            expected: vec![],
        },
    ]
}

struct Scenario {
    tenant: TenantId,
    agent: AgentPrincipal,
    asset: i64,
}

async fn set_up(env: &Env, case: &Case) -> Scenario {
    let store = &env.store;
    let actor = Actor::system();
    let (tenant, _) = store
        .create_tenant(env.operator, "metered", &actor)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let tenant = tenant.id;
    store
        .upsert_assets_from_source(
            tenant,
            "cluster:1",
            vec![pod("m", case.limit, case.request)],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_protection(
            tenant,
            ProtectionUpdate {
                enabled: Some(true),
                ..Default::default()
            },
            &actor,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, secret) = store
        .create_enrollment_token(tenant, "agents", &actor)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let enrollment = store
        .authenticate_enrollment_token(&secret)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("enrolment token"));
    let request = EnrollRequest {
        pod_name: "m".to_string(),
        pod_namespace: "shop".to_string(),
        pod_uid: "uid-m".to_string(),
        cluster_hint: String::new(),
        source_kind: None,
        container_id: String::new(),
        agent_version: "0.1.0".to_string(),
        mode: AgentMode::Sidecar,
        hostname: "m".to_string(),
    };
    let enrolled = store
        .enroll_agent(enrollment, &request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let agent = store
        .authenticate_agent(&enrolled.credential)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("agent credential"));
    Scenario {
        tenant,
        agent,
        asset: enrolled.asset_id,
    }
}

async fn apply(env: &Env, scenario: &Scenario, act: &Act) {
    let store = &env.store;
    let actor = Actor::system();
    let update = |u: ProtectionUpdate| async move {
        store
            .update_protection(scenario.tenant, u, &Actor::system())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    };
    match act {
        Act::Beat => {
            store
                .heartbeat(scenario.agent, "0.1.0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        Act::Enabled(on) => {
            update(ProtectionUpdate {
                enabled: Some(*on),
                ..Default::default()
            })
            .await
        }
        Act::Paused(on) => {
            update(ProtectionUpdate {
                paused: Some(*on),
                ..Default::default()
            })
            .await
        }
        Act::Overdue(on) => {
            update(ProtectionUpdate {
                overdue: Some(*on),
                ..Default::default()
            })
            .await
        }
        Act::Price(text) => {
            let price = PriceNano::parse_usd(text).unwrap_or_else(|e| panic!("{e}"));
            update(ProtectionUpdate {
                price: Some(price),
                ..Default::default()
            })
            .await
        }
        Act::Bound(on) => {
            let action = if *on {
                QuotaAction::Add
            } else {
                QuotaAction::Remove
            };
            store
                .change_quota(
                    scenario.tenant,
                    action,
                    QuotaTarget::Assets(vec![scenario.asset]),
                    None,
                    &actor,
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        Act::Gone => {
            store
                .upsert_assets_from_source(scenario.tenant, "cluster:1", vec![])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

async fn check(env: &Env, case: &Case) {
    env.clock.set(T0 + case.start);
    let scenario = set_up(env, case).await;
    for (offset, act) in &case.steps {
        env.clock.set(T0 + case.start + offset);
        apply(env, &scenario, act).await;
    }
    env.clock.set(T0 + case.start + case.end);
    let usage = env
        .store
        .usage(scenario.tenant, "2023-12-31", "2024-01-05")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(String, i64, i64)> = usage
        .iter()
        .map(|row| (row.day.clone(), row.millicore_seconds, row.cost_pico_usd))
        .collect();
    let expected: Vec<(String, i64, i64)> = case
        .expected
        .iter()
        .map(|(d, m, c)| (d.to_string(), *m, *c))
        .collect();
    assert_eq!(got, expected, "{:?}: {}", env.backend, case.name);
    // Flushing again at the same instant adds nothing.
    env.store
        .flush_tenant(scenario.tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let again = env
        .store
        .usage(scenario.tenant, "2023-12-31", "2024-01-05")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, usage, "{}: a second flush changed usage", case.name);
}

#[tokio::test]
async fn metering_scenarios() {
    for backend in backends() {
        for case in cases() {
            let env = Env::new(&backend).await;
            check(&env, &case).await;
            env.finish().await;
        }
    }
}

#[tokio::test]
async fn bills_close_the_next_day_and_export() {
    for backend in backends() {
        let env = Env::new(&backend).await;
        let case = cases()
            .into_iter()
            .find(|c| c.name.starts_with("midnight"))
            .unwrap_or_else(|| panic!("midnight case"));
        check(&env, &case).await;
        let tenant = TenantId(env.operator.0 + 1);
        // At 01:00 on 2024-01-02 only 2024-01-01 is over.
        let closed = env
            .store
            .close_bills(tenant)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(closed, vec!["2024-01-01".to_string()]);
        assert!(
            env.store
                .close_bills(tenant)
                .await
                .unwrap_or_default()
                .is_empty(),
            "closing twice closes nothing"
        );
        let bills = env
            .store
            .bills(tenant, "2024-01-01", "2024-01-31")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let summary: Vec<(&str, i64, i64, &str, &str)> = bills
            .iter()
            .map(|b| {
                (
                    b.day.as_str(),
                    b.asset_count,
                    b.millicore_seconds,
                    b.core_seconds.as_str(),
                    b.cost_usd.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![("2024-01-01", 1, 3_600_000, "3600", "0.0108")]
        );

        // The next day: 2024-01-02 closes too, with everything metered up to midnight.
        env.clock.set(T0 + 24 * HOUR + MINUTE);
        let closed = env
            .store
            .close_bills(tenant)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(closed, vec!["2024-01-02".to_string()]);
        let bills = env
            .store
            .bills(tenant, "2024-01-02", "2024-01-02")
            .await
            .unwrap_or_default();
        // Online until 01:00 + 30 min window after the last heartbeat at 01:00.
        assert_eq!(
            bills.first().map(|b| b.millicore_seconds),
            Some(5_400_000),
            "{bills:?}"
        );

        // Through the API, as JSON and CSV.
        let admin = env
            .store
            .create_api_token(
                tenant,
                "reader",
                podwarden_server::auth::Role::Viewer,
                &Actor::system(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .1;
        let (status, content_type, body) = env
            .call_raw(
                Method::GET,
                "/api/v1/bills?from=2024-01-01&to=2024-01-02",
                Some(&admin),
                None,
                "",
                Some("text/csv"),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/csv"), "{content_type}");
        let csv = String::from_utf8_lossy(&body);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(
            lines[1].starts_with("2024-01-01,+08:00,1,3600,3600000,3600,10800000000,0.0108,"),
            "{csv}"
        );
        let (status, usage) = env
            .call(
                Method::GET,
                "/api/v1/usage?from=2024-01-01&to=2024-01-01",
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(usage[0]["core_seconds"], "3600");
        assert_eq!(usage[0]["cost_usd"], "0.0108");
        assert_eq!(usage[0]["asset_name"], "m");
        let (_, _, body) = env
            .call_raw(
                Method::GET,
                "/api/v1/usage?from=2024-01-01&to=2024-01-02",
                Some(&admin),
                None,
                "",
                Some("text/csv"),
            )
            .await;
        let csv = String::from_utf8_lossy(&body);
        assert_eq!(csv.lines().count(), 3, "{csv}");
        env.finish().await;
    }
}
