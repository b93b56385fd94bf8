//! Detection: runtime events through the rule engine, files through the webshell scanner,
//! each match wrapped into an upload-ready [`Detection`] with an agent-made id. Repeats of
//! the same rule on the same process with the same output are reported once.

use crate::ids::{IdGen, now_ms};
use podwarden_api::event::{Event, EventBody};
use podwarden_api::uplink::{AlertSeverity, AlertType, ContentMatch, Detection, FileEvidence};
use podwarden_rules::{Priority, RuleSet};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The same rule on the same process with the same output within this window is one report.
const DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// Most remembered reports for deduplication.
const DEDUP_CAPACITY: usize = 8192;
/// Longest excerpt of a content match sent to the center.
const MAX_EXCERPT: usize = 200;

/// The alert severity of a rule priority.
pub fn severity_of_priority(priority: Priority) -> AlertSeverity {
    match priority {
        Priority::Emergency | Priority::Alert | Priority::Critical => AlertSeverity::Critical,
        Priority::Error => AlertSeverity::High,
        Priority::Warning => AlertSeverity::Medium,
        Priority::Notice => AlertSeverity::Low,
        Priority::Informational | Priority::Debug => AlertSeverity::Info,
    }
}

/// The alert severity of a webshell score (0-100).
pub fn severity_of_score(score: u32) -> AlertSeverity {
    match score {
        90.. => AlertSeverity::Critical,
        75..=89 => AlertSeverity::High,
        60..=74 => AlertSeverity::Medium,
        _ => AlertSeverity::Low,
    }
}

fn alert_type(kind: podwarden_rules::AlertType) -> AlertType {
    match kind {
        podwarden_rules::AlertType::Webshell => AlertType::Webshell,
        podwarden_rules::AlertType::Network => AlertType::Network,
        podwarden_rules::AlertType::Process => AlertType::Process,
    }
}

/// Runs events through a compiled rule set.
#[derive(Debug)]
pub struct RuleDetector {
    rules: Arc<RuleSet>,
    seen: HashMap<u64, Instant>,
    /// Matches suppressed as repeats.
    pub repeats: u64,
}

impl RuleDetector {
    /// A detector over `rules`.
    pub fn new(rules: Arc<RuleSet>) -> RuleDetector {
        RuleDetector {
            rules,
            seen: HashMap::new(),
            repeats: 0,
        }
    }

    /// Whether any running rule looks at this Falco event type (`procexit`, ...).
    pub fn wants(&self, evt_type: &str) -> bool {
        !self.rules.rules_for_event_type(evt_type).is_empty()
    }

    /// Evaluates one event and appends a detection per matching rule (repeats left out).
    pub fn evaluate(&mut self, event: &Event, ids: &IdGen, out: &mut Vec<Detection>) {
        let now = Instant::now();
        let mut matches: Vec<(
            String,
            String,
            String,
            AlertSeverity,
            AlertType,
            Option<String>,
        )> = Vec::new();
        self.rules.evaluate(event, &mut |m| {
            matches.push((
                m.rule.id.clone(),
                m.rule.name.clone(),
                m.output.to_string(),
                severity_of_priority(m.rule.priority),
                alert_type(m.rule.alert_type),
                m.rule.advice.clone(),
            ));
        });
        for (rule_id, rule_name, output, severity, kind, advice) in matches {
            let mut hasher = DefaultHasher::new();
            rule_id.hash(&mut hasher);
            output.hash(&mut hasher);
            if let Some(process) = event.process() {
                (process.pid, process.start_ts).hash(&mut hasher);
            }
            let key = hasher.finish();
            if self
                .seen
                .get(&key)
                .is_some_and(|at| now.duration_since(*at) < DEDUP_WINDOW)
            {
                self.repeats += 1;
                continue;
            }
            if self.seen.len() >= DEDUP_CAPACITY {
                self.seen
                    .retain(|_, at| now.duration_since(*at) < DEDUP_WINDOW);
                if self.seen.len() >= DEDUP_CAPACITY {
                    self.seen.clear();
                }
            }
            self.seen.insert(key, now);
            let file = file_of(event).map(|(path, size)| FileEvidence {
                path,
                sha256: None,
                size,
                matches: Vec::new(),
                score: None,
            });
            out.push(Detection {
                id: ids.next("det"),
                ts: event.ts / 1_000_000,
                alert_type: kind,
                severity,
                rule_id,
                rule_name,
                description: output,
                advice,
                event: Some(event.clone()),
                file,
                container: None,
            });
        }
    }
}

fn file_of(event: &Event) -> Option<(String, Option<u64>)> {
    match &event.body {
        EventBody::FileCreated { file, .. }
        | EventBody::FileModified { file, .. }
        | EventBody::FileRenamed { file, .. } => Some((file.path.clone(), file.size)),
        _ => None,
    }
}

/// A webshell verdict on one file, as a detection.
pub fn webshell_detection(
    ids: &IdGen,
    verdict: &podwarden_webshell::Detection,
    container_path: &str,
    sha256: &str,
    size: u64,
    event: Option<Event>,
    container: Option<podwarden_api::event::Container>,
) -> Detection {
    let matches = verdict
        .rules
        .iter()
        .map(|hit| ContentMatch {
            rule: hit.name.clone(),
            line: hit.line.and_then(|l| u32::try_from(l).ok()),
            excerpt: cut(&hit.excerpt, MAX_EXCERPT),
        })
        .collect();
    let strongest = verdict
        .rules
        .first()
        .map(|hit| hit.name.clone())
        .unwrap_or_else(|| "webshell".to_string());
    let names: Vec<&str> = verdict.rules.iter().map(|hit| hit.name.as_str()).collect();
    let container = if event.as_ref().is_some_and(|e| e.container.is_some()) {
        None
    } else {
        container
    };
    Detection {
        id: ids.next("det"),
        ts: event.as_ref().map_or_else(now_ms, |e| e.ts / 1_000_000),
        alert_type: AlertType::Webshell,
        severity: severity_of_score(verdict.score),
        rule_id: strongest,
        rule_name: format!("Webshell ({})", verdict.category),
        description: format!(
            "Webshell found (file={container_path} category={} score={} rules={})",
            verdict.category,
            verdict.score,
            names.join(",")
        ),
        advice: Some(
            "Quarantine the file, then find how it was written (an upload form, a vulnerable \
             plugin, command injection) and fix that entry point."
                .to_string(),
        ),
        event,
        file: Some(FileEvidence {
            path: container_path.to_string(),
            sha256: Some(sha256.to_string()),
            size: Some(size),
            matches,
            score: Some(verdict.score),
        }),
        container,
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", text.get(..end).unwrap_or_default())
}
