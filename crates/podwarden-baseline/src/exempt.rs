//! Exemptions (the whitelist): central rules matching namespace, kind, name, container and
//! check id, with a reason and an optional expiry; and `podwarden.io/skip` annotations on a
//! workload or its pod template. Exempted findings stay in the report, marked as exempted.

use crate::finding::{Exemption, ExemptionSource, Finding};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Annotation listing check ids to skip for the whole pod: `podwarden.io/skip: "a,b"`.
pub const SKIP_ANNOTATION: &str = "podwarden.io/skip";
/// Per-container form: `podwarden.io/skip.<container-name>: "a,b"`.
pub const SKIP_CONTAINER_ANNOTATION_PREFIX: &str = "podwarden.io/skip.";
/// Optional reason shown for annotation exemptions.
pub const SKIP_REASON_ANNOTATION: &str = "podwarden.io/skip-reason";

/// One entry of the central exemptions file. Matchers left out match anything; `*` globs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExemptionRule {
    /// Check ids (or globs such as `pss.*`); one string or a list. Required.
    #[serde(deserialize_with = "one_or_many", alias = "check")]
    pub checks: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub reason: String,
    /// `YYYY-MM-DD` (valid through that day, UTC) or an RFC 3339 time.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_date"
    )]
    pub expires: Option<String>,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

fn string_or_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

impl ExemptionRule {
    /// Checks the rule is usable: a reason, at least one check, a readable expiry.
    pub fn validate(&self) -> Result<(), String> {
        if self.reason.trim().is_empty() {
            return Err("reason must not be empty".into());
        }
        if self.checks.is_empty() || self.checks.iter().any(|c| c.trim().is_empty()) {
            return Err("checks must name at least one check id".into());
        }
        self.expiry().map(|_| ())
    }

    /// The instant the rule stops applying.
    pub fn expiry(&self) -> Result<Option<jiff::Timestamp>, String> {
        let Some(text) = self.expires.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if let Ok(date) = text.parse::<jiff::civil::Date>()
            && text.len() == 10
        {
            let next = date
                .tomorrow()
                .map_err(|e| format!("expires {text:?}: {e}"))?;
            return next
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| Some(z.timestamp()))
                .map_err(|e| format!("expires {text:?}: {e}"));
        }
        text.parse::<jiff::Timestamp>().map(Some).map_err(|e| {
            format!("expires {text:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time: {e}")
        })
    }

    fn is_active(&self, now: Option<jiff::Timestamp>) -> bool {
        match (now, self.expiry()) {
            (_, Err(_)) => false,
            (None, Ok(_)) | (_, Ok(None)) => true,
            (Some(now), Ok(Some(until))) => now < until,
        }
    }

    fn matches(&self, finding: &Finding) -> bool {
        let object = &finding.location.object;
        let field = |pattern: &Option<String>, value: Option<&str>| match pattern {
            None => true,
            Some(p) => glob_match(p, value.unwrap_or("")),
        };
        self.checks.iter().any(|c| glob_match(c, &finding.check_id))
            && field(&self.namespace, object.namespace.as_deref())
            && self
                .kind
                .as_deref()
                .is_none_or(|k| k == "*" || k.eq_ignore_ascii_case(&object.kind))
            && field(&self.name, object.name.as_deref())
            && match &self.container {
                None => true,
                Some(p) => finding
                    .location
                    .container
                    .as_ref()
                    .is_some_and(|c| glob_match(p, &c.name)),
            }
    }
}

/// The exemption settings: central rules and whether annotations count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemptions {
    pub rules: Vec<ExemptionRule>,
    /// Honour `podwarden.io/skip` annotations (default true; the central file can turn it off).
    pub honour_annotations: bool,
}

impl Default for Exemptions {
    fn default() -> Self {
        Exemptions {
            rules: Vec::new(),
            honour_annotations: true,
        }
    }
}

impl Exemptions {
    /// The exemption that applies to `finding`, if any. `annotation_sources` are the metadata
    /// objects whose annotations count (the workload's and its pod template's).
    pub(crate) fn find(
        &self,
        finding: &Finding,
        annotation_sources: &[Option<&Value>],
        now: Option<jiff::Timestamp>,
    ) -> Option<Exemption> {
        if let Some(rule) = self
            .rules
            .iter()
            .find(|r| r.is_active(now) && r.matches(finding))
        {
            return Some(Exemption {
                source: ExemptionSource::File,
                reason: rule.reason.clone(),
                expires: rule.expires.clone(),
            });
        }
        if !self.honour_annotations {
            return None;
        }
        for metadata in annotation_sources.iter().flatten() {
            let Some(annotations) = metadata.get("annotations").and_then(Value::as_object) else {
                continue;
            };
            let listed = |key: &str| {
                annotations
                    .get(key)
                    .and_then(Value::as_str)
                    .is_some_and(|ids| {
                        ids.split(',')
                            .map(str::trim)
                            .any(|id| !id.is_empty() && glob_match(id, &finding.check_id))
                    })
            };
            let container_key = finding
                .location
                .container
                .as_ref()
                .map(|c| format!("{SKIP_CONTAINER_ANNOTATION_PREFIX}{}", c.name));
            let hit = if listed(SKIP_ANNOTATION) {
                Some(SKIP_ANNOTATION.to_string())
            } else {
                container_key.filter(|k| listed(k))
            };
            if let Some(key) = hit {
                let reason = annotations
                    .get(SKIP_REASON_ANNOTATION)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("skipped by annotation {key}"));
                return Some(Exemption {
                    source: ExemptionSource::Annotation,
                    reason,
                    expires: None,
                });
            }
        }
        None
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (pattern, text, expected) in [
            ("*", "", true),
            ("pss.*", "pss.privileged", true),
            ("pss.*", "hardening.capabilities", false),
            ("a*c", "abbbc", true),
            ("a*c", "abbb", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("*-prod", "web-prod", true),
        ] {
            assert_eq!(glob_match(pattern, text), expected, "{pattern} vs {text}");
        }
    }

    #[test]
    fn expiry_is_end_of_day_utc() {
        let rule = |expires: &str| ExemptionRule {
            checks: vec!["*".into()],
            namespace: None,
            kind: None,
            name: None,
            container: None,
            reason: "r".into(),
            expires: Some(expires.into()),
        };
        let now: jiff::Timestamp = "2026-03-01T12:00:00Z".parse().expect("time");
        for (expires, active) in [
            ("2026-03-01", true),
            ("2026-02-28", false),
            ("2026-03-01T11:59:59Z", false),
            ("2026-03-01T12:00:01Z", true),
        ] {
            assert_eq!(rule(expires).is_active(Some(now)), active, "{expires}");
        }
        assert!(rule("tomorrow").validate().is_err());
    }
}
