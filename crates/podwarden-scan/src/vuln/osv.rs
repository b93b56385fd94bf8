//! OSV records (https://ossf.github.io/osv-schema/): the fields the scanner uses, parsed
//! leniently (unknown fields ignored, `null` read as absent) and then validated, so that a
//! record the matcher could misread is rejected with a reason instead of half-used.

use serde::Deserialize;
use serde_json::Value;
use std::fmt;

/// One OSV vulnerability record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub modified: Option<String>,
    pub published: Option<String>,
    /// Set when the record was withdrawn; a withdrawn record never matches.
    pub withdrawn: Option<String>,
    pub aliases: Vec<String>,
    pub upstream: Vec<String>,
    pub related: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    pub severity: Vec<SeverityScore>,
    pub affected: Vec<Affected>,
    pub references: Vec<Reference>,
    /// Record-level `database_specific` (GHSA puts its `severity` label here).
    pub database_specific: Option<Value>,
}

/// One `severity[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityScore {
    pub kind: SeverityType,
    /// A CVSS vector for the CVSS types, a priority label (`medium`) for `Ubuntu`.
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeverityType {
    CvssV2,
    CvssV3,
    CvssV4,
    Ubuntu,
    /// A type this version of the schema does not know; kept, never used for scoring.
    Other(String),
}

/// One `affected[]` entry: a package and the versions of it the record affects.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected {
    /// Absent for entries that only name a git repository.
    pub package: Option<AffectedPackage>,
    pub severity: Vec<SeverityScore>,
    pub ranges: Vec<Range>,
    pub versions: Vec<String>,
    pub ecosystem_specific: Option<Value>,
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedPackage {
    /// Full ecosystem string, release suffix included (`Debian:12`, `Ubuntu:22.04:LTS`).
    pub ecosystem: String,
    pub name: String,
    pub purl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub kind: RangeType,
    pub repo: Option<String>,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeType {
    Semver,
    Ecosystem,
    Git,
}

/// A range event; each OSV event object has exactly one of these keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl Event {
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `ADVISORY`, `WEB`, `FIX`, `PACKAGE`, `REPORT`, ...
    pub kind: String,
    pub url: String,
}

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidReason(pub String);

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Record {
    /// Parses and validates one record. The error says what is wrong and where in the record
    /// (`affected[1].ranges[0].events[2]: ...`, or the JSON line and column).
    pub fn from_json(bytes: &[u8]) -> Result<Record, InvalidReason> {
        let raw: RawRecord = serde_json::from_slice(bytes)
            .map_err(|err| InvalidReason(format!("invalid JSON: {err}")))?;
        raw.validate()
    }

    /// The record's identifiers other than its own id: aliases, then upstream ids.
    pub fn other_ids(&self) -> impl Iterator<Item = &str> {
        self.aliases
            .iter()
            .chain(self.upstream.iter())
            .map(String::as_str)
    }
}

// ---- raw, lenient serde shapes ----------------------------------------------------------

/// Reads `null` (or an absent field, with `#[serde(default)]`) as the type's default.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(default, deserialize_with = "nullable")]
    id: Option<Value>,
    #[serde(default, deserialize_with = "nullable")]
    modified: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    published: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    withdrawn: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    aliases: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    upstream: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    related: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    summary: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    details: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    severity: Vec<RawSeverity>,
    #[serde(default, deserialize_with = "nullable")]
    affected: Vec<RawAffected>,
    #[serde(default, deserialize_with = "nullable")]
    references: Vec<RawReference>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawAffected {
    #[serde(default, deserialize_with = "nullable")]
    package: Option<RawPackage>,
    #[serde(default, deserialize_with = "nullable")]
    severity: Vec<RawSeverity>,
    #[serde(default, deserialize_with = "nullable")]
    ranges: Vec<RawRange>,
    #[serde(default, deserialize_with = "nullable")]
    versions: Vec<String>,
    #[serde(default)]
    ecosystem_specific: Option<Value>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    #[serde(default, deserialize_with = "nullable")]
    ecosystem: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    repo: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    events: Vec<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    url: Option<String>,
}

impl RawRecord {
    fn validate(self) -> Result<Record, InvalidReason> {
        let id = match self.id {
            Some(Value::String(id)) if !id.trim().is_empty() => id,
            Some(Value::String(_)) => return Err(InvalidReason("`id` is empty".into())),
            Some(_) => return Err(InvalidReason("`id` is not a string".into())),
            None => return Err(InvalidReason("missing `id`".into())),
        };
        let severity = self.severity.into_iter().map(convert_severity).collect();
        let mut affected = Vec::with_capacity(self.affected.len());
        for (i, raw) in self.affected.into_iter().enumerate() {
            affected.push(
                raw.validate()
                    .map_err(|why| InvalidReason(format!("affected[{i}]{why}")))?,
            );
        }
        let references = self
            .references
            .into_iter()
            .filter_map(|r| {
                Some(Reference {
                    kind: r.kind.unwrap_or_default(),
                    url: r.url?,
                })
            })
            .collect();
        Ok(Record {
            id,
            modified: self.modified,
            published: self.published,
            withdrawn: self.withdrawn.filter(|w| !w.is_empty()),
            aliases: self.aliases,
            upstream: self.upstream,
            related: self.related,
            summary: self.summary,
            details: self.details,
            severity,
            affected,
            references,
            database_specific: self.database_specific,
        })
    }
}

fn convert_severity(raw: RawSeverity) -> SeverityScore {
    let kind = match raw.kind.as_str() {
        "CVSS_V2" => SeverityType::CvssV2,
        "CVSS_V3" => SeverityType::CvssV3,
        "CVSS_V4" => SeverityType::CvssV4,
        "Ubuntu" => SeverityType::Ubuntu,
        _ => SeverityType::Other(raw.kind),
    };
    SeverityScore {
        kind,
        score: raw.score,
    }
}

impl RawAffected {
    /// Errors are the path suffix after `affected[i]` plus the reason.
    fn validate(self) -> Result<Affected, String> {
        let package = match self.package {
            None => None,
            Some(p) => {
                let ecosystem = p
                    .ecosystem
                    .filter(|e| !e.is_empty())
                    .ok_or(".package: missing `ecosystem`")?;
                let name = p
                    .name
                    .filter(|n| !n.is_empty())
                    .ok_or(".package: missing `name`")?;
                Some(AffectedPackage {
                    ecosystem,
                    name,
                    purl: p.purl,
                })
            }
        };
        let mut ranges = Vec::with_capacity(self.ranges.len());
        for (r, raw) in self.ranges.into_iter().enumerate() {
            ranges.push(raw.validate().map_err(|why| format!(".ranges[{r}]{why}"))?);
        }
        Ok(Affected {
            package,
            severity: self.severity.into_iter().map(convert_severity).collect(),
            ranges,
            versions: self.versions,
            ecosystem_specific: self.ecosystem_specific,
            database_specific: self.database_specific,
        })
    }
}

impl RawRange {
    fn validate(self) -> Result<Range, String> {
        let kind = match self.kind.as_deref() {
            Some("SEMVER") => RangeType::Semver,
            Some("ECOSYSTEM") => RangeType::Ecosystem,
            Some("GIT") => RangeType::Git,
            Some(other) => return Err(format!(": unknown range type {other:?}")),
            None => return Err(": missing range `type`".into()),
        };
        let mut events = Vec::with_capacity(self.events.len());
        for (e, object) in self.events.into_iter().enumerate() {
            if object.len() != 1 {
                let keys: Vec<&str> = object.keys().map(String::as_str).collect();
                return Err(format!(
                    ".events[{e}]: an event must have exactly one key, found {} ({})",
                    keys.len(),
                    keys.join(", ")
                ));
            }
            let Some((key, value)) = object.into_iter().next() else {
                return Err(format!(".events[{e}]: empty event"));
            };
            let Value::String(version) = value else {
                return Err(format!(".events[{e}].{key}: version is not a string"));
            };
            events.push(match key.as_str() {
                "introduced" => Event::Introduced(version),
                "fixed" => Event::Fixed(version),
                "last_affected" => Event::LastAffected(version),
                "limit" => Event::Limit(version),
                _ => return Err(format!(".events[{e}]: unknown event {key:?}")),
            });
        }
        Ok(Range {
            kind,
            repo: self.repo,
            events,
        })
    }
}
