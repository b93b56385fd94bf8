//! Settings of the findings feature, validated from the config file: where the vulnerability
//! database lives and how often the findings jobs run.

use crate::config::{ConfigError, ConfigFile};
use std::path::PathBuf;

/// Validated findings settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingsSettings {
    /// Directory of the OSV index (`podwarden db import|update --db DIR`); None: inventories
    /// are stored but not matched.
    pub vuln_db: Option<PathBuf>,
    /// Seconds between checks for an updated database (which re-match stored inventories).
    pub vuln_db_check_secs: u64,
    /// Seconds between runs of the scan scheduler.
    pub scan_schedule_secs: u64,
    /// Days detection ids are kept for de-duplicating retried uploads.
    pub detection_retention_days: u64,
    /// A delivered command without a result is delivered again after this many seconds.
    pub command_lease_secs: u64,
}

impl FindingsSettings {
    /// The findings part of a config file.
    pub fn from_file(file: &ConfigFile) -> Result<FindingsSettings, ConfigError> {
        let within = |key: &'static str, value: u64, range: std::ops::RangeInclusive<u64>| {
            if range.contains(&value) {
                Ok(value)
            } else {
                Err(ConfigError::Invalid {
                    key,
                    message: format!("{value} is outside {}..={}", range.start(), range.end()),
                })
            }
        };
        let vuln_db = match file.vuln_db.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(dir) => Some(PathBuf::from(dir)),
        };
        Ok(FindingsSettings {
            vuln_db,
            vuln_db_check_secs: within(
                "vuln_db_check_secs",
                file.vuln_db_check_secs.unwrap_or(300),
                10..=86_400,
            )?,
            scan_schedule_secs: within(
                "scan_schedule_secs",
                file.scan_schedule_secs.unwrap_or(300),
                10..=86_400,
            )?,
            detection_retention_days: within(
                "detection_retention_days",
                file.detection_retention_days.unwrap_or(7),
                1..=365,
            )?,
            command_lease_secs: within(
                "command_lease_secs",
                file.command_lease_secs.unwrap_or(300),
                10..=86_400,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml_text: &str, expected: Result<(Option<&str>, u64, u64), &str>) {
        let result = ConfigFile::parse(toml_text, "t.toml")
            .and_then(|file| FindingsSettings::from_file(&file));
        match (result, expected) {
            (Ok(s), Ok((db, schedule, lease))) => {
                assert_eq!(s.vuln_db, db.map(PathBuf::from));
                assert_eq!(s.scan_schedule_secs, schedule);
                assert_eq!(s.command_lease_secs, lease);
            }
            (Err(err), Err(fragment)) => {
                assert!(err.to_string().contains(fragment), "{err}")
            }
            (got, want) => panic!("{toml_text:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn findings_settings() {
        check("", Ok((None, 300, 300)));
        check(
            "vuln_db = \"/var/lib/osv\"\nscan_schedule_secs = 60\ncommand_lease_secs = 30",
            Ok((Some("/var/lib/osv"), 60, 30)),
        );
        check("vuln_db = \" \"", Ok((None, 300, 300)));
        check("scan_schedule_secs = 1", Err("scan_schedule_secs"));
        check(
            "detection_retention_days = 0",
            Err("detection_retention_days"),
        );
    }
}
