//! Detections and alerts: validation of what agents upload, the de-duplication key that
//! aggregates identical detections into one alert, alert statuses, and the evidence views the
//! alert detail shows (process tree, file, connection).

use super::{check_id, check_text};
use podwarden_api::event::{EventBody, Process};
use podwarden_api::uplink::{AlertSeverity, AlertType, Detection, EventBatch, LossReport};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Most detections one batch may carry.
pub const MAX_DETECTIONS_PER_BATCH: usize = 5_000;
/// Largest serialised detection kept as evidence.
pub const MAX_DETECTION_BYTES: usize = 64 * 1024;
/// Longest agent-made id.
pub const MAX_UPLOAD_ID: usize = 128;

/// Where an alert is in its handling. `unhandled`, `quarantining` and `quarantine_failed` are
/// open (they count in the asset's `alert_count` and new identical detections add to them);
/// the others are closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Raised, nobody acted yet.
    Unhandled,
    /// A quarantine command was queued; waiting for the agent's result.
    Quarantining,
    /// The agent could not quarantine (or did not answer); still open.
    QuarantineFailed,
    /// Marked handled manually.
    Handled,
    /// Closed without action.
    Ignored,
    /// Closed by a whitelist rule.
    Whitelisted,
    /// The agent quarantined the file and/or killed the process.
    Quarantined,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 7] = [
        AlertStatus::Unhandled,
        AlertStatus::Quarantining,
        AlertStatus::QuarantineFailed,
        AlertStatus::Handled,
        AlertStatus::Ignored,
        AlertStatus::Whitelisted,
        AlertStatus::Quarantined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Unhandled => "unhandled",
            AlertStatus::Quarantining => "quarantining",
            AlertStatus::QuarantineFailed => "quarantine_failed",
            AlertStatus::Handled => "handled",
            AlertStatus::Ignored => "ignored",
            AlertStatus::Whitelisted => "whitelisted",
            AlertStatus::Quarantined => "quarantined",
        }
    }

    pub fn parse(text: &str) -> Option<AlertStatus> {
        AlertStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the alert is still open.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            AlertStatus::Unhandled | AlertStatus::Quarantining | AlertStatus::QuarantineFailed
        )
    }
}

/// The wire name of a severity.
pub fn severity_name(severity: AlertSeverity) -> &'static str {
    match severity {
        AlertSeverity::Info => "info",
        AlertSeverity::Low => "low",
        AlertSeverity::Medium => "medium",
        AlertSeverity::High => "high",
        AlertSeverity::Critical => "critical",
    }
}

/// Severity by its wire name.
pub fn parse_severity(text: &str) -> Option<AlertSeverity> {
    [
        AlertSeverity::Info,
        AlertSeverity::Low,
        AlertSeverity::Medium,
        AlertSeverity::High,
        AlertSeverity::Critical,
    ]
    .into_iter()
    .find(|s| severity_name(*s) == text)
}

/// Sortable rank of a severity (info 0 … critical 4).
pub fn severity_rank(severity: AlertSeverity) -> i64 {
    match severity {
        AlertSeverity::Info => 0,
        AlertSeverity::Low => 1,
        AlertSeverity::Medium => 2,
        AlertSeverity::High => 3,
        AlertSeverity::Critical => 4,
    }
}

/// The wire name of an alert type.
pub fn type_name(kind: AlertType) -> &'static str {
    match kind {
        AlertType::Webshell => "webshell",
        AlertType::Network => "network",
        AlertType::Process => "process",
    }
}

/// Alert type by its wire name.
pub fn parse_type(text: &str) -> Option<AlertType> {
    [AlertType::Webshell, AlertType::Network, AlertType::Process]
        .into_iter()
        .find(|t| type_name(*t) == text)
}

/// Why a batch is refused (the whole batch: nothing is stored).
pub fn validate_batch(batch: &EventBatch) -> Result<(), String> {
    if batch.detections.len() > MAX_DETECTIONS_PER_BATCH {
        return Err(format!(
            "a batch carries at most {MAX_DETECTIONS_PER_BATCH} detections, this one {}",
            batch.detections.len()
        ));
    }
    for (index, detection) in batch.detections.iter().enumerate() {
        validate_detection(detection)
            .map_err(|message| format!("detections[{index}] ({:?}): {message}", detection.id))?;
    }
    if let Some(loss) = &batch.dropped {
        validate_loss(loss).map_err(|message| format!("dropped: {message}"))?;
    }
    Ok(())
}

fn validate_detection(detection: &Detection) -> Result<(), String> {
    check_id("id", &detection.id, MAX_UPLOAD_ID)?;
    check_id("rule_id", &detection.rule_id, 256)?;
    check_text("rule_name", &detection.rule_name, 512)?;
    check_text("description", &detection.description, 8 * 1024)?;
    if let Some(advice) = &detection.advice {
        check_text("advice", advice, 8 * 1024)?;
    }
    if let Some(file) = &detection.file {
        check_id("file.path", &file.path, 4096)?;
        if let Some(sha) = &file.sha256
            && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err("file.sha256 is not 64 hex digits".to_string());
        }
    }
    i64::try_from(detection.ts).map_err(|_| "ts is out of range".to_string())?;
    let size = serde_json::to_vec(detection).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_DETECTION_BYTES {
        return Err(format!(
            "the detection is {size} bytes of JSON, more than {MAX_DETECTION_BYTES}"
        ));
    }
    Ok(())
}

fn validate_loss(loss: &LossReport) -> Result<(), String> {
    if loss.from_ts > loss.to_ts {
        return Err("from_ts is after to_ts".to_string());
    }
    for value in [
        loss.info,
        loss.low,
        loss.medium,
        loss.high,
        loss.critical,
        loss.from_ts,
        loss.to_ts,
    ] {
        i64::try_from(value).map_err(|_| "a count or time is out of range".to_string())?;
    }
    Ok(())
}

/// The searchable, aggregatable facts of a detection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub container: String,
    pub process_exe: Option<String>,
    /// `argv` joined with spaces.
    pub process_cmdline: Option<String>,
    pub pid: Option<u32>,
    /// Start time of the process (as the agent reports it), for a safe kill.
    pub process_start_ts: u64,
    /// `tcp 203.0.113.7:4444` for a connection, `listen tcp 0.0.0.0:31337` for a listener.
    pub remote: Option<String>,
    pub file_path: Option<String>,
    pub file_sha256: Option<String>,
}

fn cmdline(argv: &[String]) -> String {
    argv.join(" ")
}

/// The facts of `detection`, from its event, file and container.
pub fn evidence(detection: &Detection) -> Evidence {
    let mut ev = Evidence {
        container: detection
            .event
            .as_ref()
            .and_then(|e| e.container.as_ref())
            .or(detection.container.as_ref())
            .map(|c| c.name.clone().unwrap_or_else(|| c.id.clone()))
            .unwrap_or_default(),
        ..Evidence::default()
    };
    if let Some(event) = &detection.event {
        if let Some(process) = event.process() {
            ev.process_exe = Some(process.exe.clone()).filter(|e| !e.is_empty());
            ev.process_cmdline = Some(cmdline(&process.argv)).filter(|c| !c.is_empty());
            ev.pid = Some(process.pid).filter(|pid| *pid > 0);
            ev.process_start_ts = process.start_ts;
        }
        match &event.body {
            EventBody::Connection { connection, .. }
            | EventBody::StdioSocket { connection, .. } => {
                ev.remote = Some(format!(
                    "{} {}",
                    connection.protocol.as_str(),
                    connection.remote
                ));
            }
            EventBody::Listen {
                protocol, local, ..
            } => {
                ev.remote = Some(format!("listen {} {local}", protocol.as_str()));
            }
            EventBody::FileCreated { file, .. }
            | EventBody::FileModified { file, .. }
            | EventBody::FileRenamed { file, .. } => {
                ev.file_path = Some(file.path.clone());
            }
            _ => {}
        }
    }
    if let Some(file) = &detection.file {
        ev.file_path = Some(file.path.clone());
        ev.file_sha256 = file.sha256.as_ref().map(|s| s.to_ascii_lowercase());
    }
    ev
}

/// The key that makes two detections "identical": same asset (applied by the caller), alert
/// type and rule, and the evidence that matters for the type — the file path and content hash
/// for webshells, the remote address and port for network alerts, the executable and command
/// line for process alerts (each falling back to the others, then to the description, when
/// the evidence is missing). SHA-256 hex of those parts.
pub fn dedup_key(detection: &Detection, ev: &Evidence) -> String {
    let process = || {
        ev.process_exe.as_ref().map(|exe| {
            vec![
                "process".to_string(),
                exe.clone(),
                ev.process_cmdline.clone().unwrap_or_default(),
            ]
        })
    };
    let file = || {
        ev.file_path.as_ref().map(|path| {
            vec![
                "file".to_string(),
                path.clone(),
                ev.file_sha256.clone().unwrap_or_default(),
            ]
        })
    };
    let remote = || {
        ev.remote
            .as_ref()
            .map(|remote| vec!["remote".to_string(), remote.clone()])
    };
    let parts = match detection.alert_type {
        AlertType::Webshell => file().or_else(process).or_else(remote),
        AlertType::Network => remote().or_else(process).or_else(file),
        AlertType::Process => process().or_else(file).or_else(remote),
    }
    .unwrap_or_else(|| vec!["description".to_string(), detection.description.clone()]);
    let mut hasher = Sha256::new();
    hasher.update(type_name(detection.alert_type).as_bytes());
    hasher.update([0]);
    hasher.update(detection.rule_id.as_bytes());
    for part in parts {
        hasher.update([0]);
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// One process of an alert's process tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProcessNode {
    pub pid: u32,
    pub name: String,
    pub exe: String,
    pub cmdline: String,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// Start time as the agent reported it (nanoseconds since the epoch), when known.
    pub start_ts: Option<u64>,
}

/// The process and its parent chain, the process first.
pub fn process_tree(detection: &Detection) -> Vec<ProcessNode> {
    let Some(process) = detection.event.as_ref().and_then(|e| e.process()) else {
        return Vec::new();
    };
    let mut nodes = vec![node_of(process)];
    nodes.extend(process.ancestors.iter().map(|a| ProcessNode {
        pid: a.pid,
        name: a.name.clone(),
        exe: a.exe.clone(),
        cmdline: cmdline(&a.argv),
        uid: a.uid,
        user: None,
        start_ts: None,
    }));
    nodes
}

fn node_of(process: &Process) -> ProcessNode {
    ProcessNode {
        pid: process.pid,
        name: process.name.clone(),
        exe: process.exe.clone(),
        cmdline: cmdline(&process.argv),
        uid: Some(process.uid),
        user: process.user.clone(),
        start_ts: Some(process.start_ts).filter(|ts| *ts > 0),
    }
}

/// A network connection of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub protocol: String,
    pub local: String,
    /// None for a listening socket.
    pub remote: Option<String>,
    /// `outbound`, `inbound` or `listen`.
    pub direction: String,
    pub state: Option<String>,
}

/// The connection (or listener) of a detection's event.
pub fn connection(detection: &Detection) -> Option<ConnectionView> {
    let event = detection.event.as_ref()?;
    let state_name = |state: Option<podwarden_api::event::TcpState>| {
        state.and_then(|s| {
            serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
        })
    };
    match &event.body {
        EventBody::Connection { connection, .. } | EventBody::StdioSocket { connection, .. } => {
            Some(ConnectionView {
                protocol: connection.protocol.as_str().to_string(),
                local: connection.local.to_string(),
                remote: Some(connection.remote.to_string()),
                direction: match connection.direction {
                    podwarden_api::event::Direction::Outbound => "outbound",
                    podwarden_api::event::Direction::Inbound => "inbound",
                }
                .to_string(),
                state: state_name(connection.state),
            })
        }
        EventBody::Listen {
            protocol, local, ..
        } => Some(ConnectionView {
            protocol: protocol.as_str().to_string(),
            local: local.to_string(),
            remote: None,
            direction: "listen".to_string(),
            state: None,
        }),
        _ => None,
    }
}

/// The detection time to store: the agent's, unless it is absent or in the future by more
/// than five minutes (a wrong agent clock), in which case the server's.
pub fn seen_at(detection_ts: u64, now: i64) -> i64 {
    match i64::try_from(detection_ts) {
        Ok(ts) if ts > 0 && ts <= now.saturating_add(300_000) => ts,
        _ => now,
    }
}

/// "the agent dropped 12 low-severity and 1 high-severity detections between … and …".
pub fn loss_message(loss: &LossReport) -> String {
    let parts: Vec<String> = [
        (loss.critical, "critical"),
        (loss.high, "high"),
        (loss.medium, "medium"),
        (loss.low, "low"),
        (loss.info, "info"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, name)| format!("{n} {name}-severity"))
    .collect();
    let what = if parts.is_empty() {
        "no".to_string()
    } else {
        parts.join(" and ")
    };
    let when = |ms: u64| {
        i64::try_from(ms)
            .ok()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map_or_else(|| ms.to_string(), |t| t.to_string())
    };
    format!(
        "the agent dropped {what} detections between {} and {} (its spool was full)",
        when(loss.from_ts),
        when(loss.to_ts)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use podwarden_api::event::{Connection, Direction, Event, FileInfo, L4Protocol};
    use podwarden_api::uplink::FileEvidence;

    fn detection(kind: AlertType, body: Option<EventBody>, file: Option<&str>) -> Detection {
        Detection {
            id: "d-1".to_string(),
            ts: 1_000,
            alert_type: kind,
            severity: AlertSeverity::High,
            rule_id: "PW-1".to_string(),
            rule_name: "rule".to_string(),
            description: "desc".to_string(),
            advice: None,
            event: body.map(|body| Event {
                v: 1,
                id: 1,
                ts: 1,
                container: None,
                body,
            }),
            file: file.map(|path| FileEvidence {
                path: path.to_string(),
                sha256: Some("ab".repeat(32)),
                size: None,
                matches: Vec::new(),
                score: None,
            }),
            container: None,
        }
    }

    fn exec(exe: &str, argv: &[&str]) -> EventBody {
        EventBody::ProcessExec {
            process: Process::new(42, exe, argv),
        }
    }

    fn connect(remote: &str) -> EventBody {
        EventBody::Connection {
            process: Some(Process::new(7, "/bin/sh", &["sh"])),
            connection: Connection {
                protocol: L4Protocol::Tcp,
                local: "10.0.0.2:40000".parse().unwrap_or_else(|e| panic!("{e}")),
                remote: remote.parse().unwrap_or_else(|e| panic!("{e}")),
                state: None,
                direction: Direction::Outbound,
            },
        }
    }

    /// Pairs of detections and whether they aggregate into one alert.
    fn check(a: &Detection, b: &Detection, same: bool) {
        let ka = dedup_key(a, &evidence(a));
        let kb = dedup_key(b, &evidence(b));
        assert_eq!(ka == kb, same, "{a:?}\n{b:?}");
        assert_eq!(ka.len(), 64);
    }

    #[test]
    fn identical_detections_share_a_key() {
        let p = |exe, argv: &[&str]| detection(AlertType::Process, Some(exec(exe, argv)), None);
        check(&p("/tmp/x", &["x", "-a"]), &p("/tmp/x", &["x", "-a"]), true);
        check(
            &p("/tmp/x", &["x", "-a"]),
            &p("/tmp/x", &["x", "-b"]),
            false,
        );
        check(&p("/tmp/x", &["x"]), &p("/tmp/y", &["x"]), false);
        let mut other_rule = p("/tmp/x", &["x"]);
        other_rule.rule_id = "PW-2".to_string();
        check(&p("/tmp/x", &["x"]), &other_rule, false);

        let n = |remote| detection(AlertType::Network, Some(connect(remote)), None);
        check(&n("203.0.113.7:4444"), &n("203.0.113.7:4444"), true);
        check(&n("203.0.113.7:4444"), &n("203.0.113.7:4445"), false);

        let w = |path| detection(AlertType::Webshell, None, Some(path));
        check(&w("/var/www/a.php"), &w("/var/www/a.php"), true);
        check(&w("/var/www/a.php"), &w("/var/www/b.php"), false);
        let mut other_hash = w("/var/www/a.php");
        if let Some(file) = other_hash.file.as_mut() {
            file.sha256 = Some("cd".repeat(32));
        }
        check(&w("/var/www/a.php"), &other_hash, false);

        // Without evidence the description decides.
        let bare = detection(AlertType::Process, None, None);
        let mut other_text = bare.clone();
        other_text.description = "other".to_string();
        check(&bare, &bare.clone(), true);
        check(&bare, &other_text, false);
    }

    #[test]
    fn evidence_views() {
        let d = detection(AlertType::Network, Some(connect("198.51.100.1:3333")), None);
        let ev = evidence(&d);
        assert_eq!(ev.remote.as_deref(), Some("tcp 198.51.100.1:3333"));
        assert_eq!(ev.process_exe.as_deref(), Some("/bin/sh"));
        assert_eq!(ev.pid, Some(7));
        let conn = connection(&d).unwrap_or_else(|| panic!("no connection"));
        assert_eq!(conn.direction, "outbound");
        let mut process = Process::new(9, "/bin/bash", &["bash", "-i"]);
        process.ancestors = vec![podwarden_api::event::Ancestor::new(
            1,
            "/usr/sbin/nginx",
            &["nginx"],
        )];
        let d = detection(
            AlertType::Process,
            Some(EventBody::ProcessExec { process }),
            None,
        );
        let tree = process_tree(&d);
        assert_eq!(
            tree.iter().map(|n| n.pid).collect::<Vec<_>>(),
            vec![9, 1],
            "{tree:?}"
        );
        assert_eq!(tree[0].cmdline, "bash -i");
        let d = detection(
            AlertType::Webshell,
            Some(EventBody::FileCreated {
                process: None,
                file: FileInfo {
                    path: "/var/www/x.php".to_string(),
                    size: None,
                    fd: None,
                },
            }),
            None,
        );
        assert_eq!(evidence(&d).file_path.as_deref(), Some("/var/www/x.php"));
    }

    #[test]
    fn validation() {
        let good = detection(AlertType::Process, Some(exec("/bin/sh", &["sh"])), None);
        let check = |mutate: &dyn Fn(&mut Detection), expected: Option<&str>| {
            let mut d = good.clone();
            mutate(&mut d);
            let batch = EventBatch {
                detections: vec![d],
                dropped: None,
            };
            match (validate_batch(&batch), expected) {
                (Ok(()), None) => {}
                (Err(message), Some(fragment)) => {
                    assert!(message.contains(fragment), "{message:?} lacks {fragment:?}")
                }
                (got, want) => panic!("got {got:?}, want {want:?}"),
            }
        };
        check(&|_| {}, None);
        check(
            &|d| d.id = String::new(),
            Some("detections[0] (\"\"): id is empty"),
        );
        check(&|d| d.id = "x".repeat(200), Some("id is longer"));
        check(
            &|d| d.rule_id = "a\u{0}".to_string(),
            Some("rule_id contains"),
        );
        check(&|d| d.ts = u64::MAX, Some("ts is out of range"));
        check(
            &|d| d.description = "x".repeat(9000),
            Some("description is longer"),
        );
        check(
            &|d| {
                d.file = Some(FileEvidence {
                    path: "/x".to_string(),
                    sha256: Some("zz".to_string()),
                    size: None,
                    matches: Vec::new(),
                    score: None,
                })
            },
            Some("sha256"),
        );
        let too_many = EventBatch {
            detections: vec![good.clone(); MAX_DETECTIONS_PER_BATCH + 1],
            dropped: None,
        };
        assert!(validate_batch(&too_many).is_err());
        let bad_loss = EventBatch {
            detections: Vec::new(),
            dropped: Some(LossReport {
                from_ts: 5,
                to_ts: 1,
                ..LossReport::default()
            }),
        };
        assert_eq!(
            validate_batch(&bad_loss),
            Err("dropped: from_ts is after to_ts".to_string())
        );
    }

    #[test]
    fn times_and_messages() {
        assert_eq!(seen_at(1_000, 2_000), 1_000);
        assert_eq!(seen_at(0, 2_000), 2_000);
        assert_eq!(seen_at(10_000_000, 2_000), 2_000);
        assert_eq!(seen_at(u64::MAX, 2_000), 2_000);
        let loss = LossReport {
            low: 12,
            high: 1,
            from_ts: 1_704_124_800_000,
            to_ts: 1_704_124_860_000,
            ..LossReport::default()
        };
        assert_eq!(
            loss_message(&loss),
            "the agent dropped 1 high-severity and 12 low-severity detections between \
             2024-01-01T16:00:00Z and 2024-01-01T16:01:00Z (its spool was full)"
        );
        for status in AlertStatus::ALL {
            assert_eq!(AlertStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(parse_severity("critical"), Some(AlertSeverity::Critical));
        assert_eq!(parse_type("network"), Some(AlertType::Network));
        assert_eq!(parse_type("nope"), None);
    }
}
