//! The scan schedule (pure): per-tenant intervals for vulnerability scans and baseline checks,
//! the night window they run in (tenant time zone), and whether an asset is due.

use crate::clock::Millis;
use crate::metering::TimeZoneSetting;
use serde::{Deserialize, Serialize};

/// Which periodic scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScanKind {
    Vulnerability,
    Baseline,
}

impl ScanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanKind::Vulnerability => "vulnerability",
            ScanKind::Baseline => "baseline",
        }
    }
}

/// A tenant's scan settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanSettings {
    /// Hours between vulnerability scans of an asset (default 24).
    pub vulnerability_interval_hours: u32,
    /// Hours between baseline checks of an asset (default 48).
    pub baseline_interval_hours: u32,
    /// Start of the window scheduled scans run in, `HH:MM` in the tenant's time zone.
    pub window_start: String,
    /// End of the window (exclusive), `HH:MM`; before the start means it ends the next day;
    /// equal to the start means all day.
    pub window_end: String,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            vulnerability_interval_hours: 24,
            baseline_interval_hours: 48,
            window_start: "01:00".to_string(),
            window_end: "05:00".to_string(),
        }
    }
}

/// Minutes after midnight of `HH:MM`.
pub fn parse_clock(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// `HH:MM` of minutes after midnight.
pub fn format_clock(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60 % 24, minutes % 60)
}

impl ScanSettings {
    /// Checks the settings and puts the times in `HH:MM` form.
    pub fn validated(self) -> Result<ScanSettings, String> {
        for (name, hours) in [
            (
                "vulnerability_interval_hours",
                self.vulnerability_interval_hours,
            ),
            ("baseline_interval_hours", self.baseline_interval_hours),
        ] {
            if !(1..=24 * 90).contains(&hours) {
                return Err(format!("{name} must be between 1 and 2160, got {hours}"));
            }
        }
        let start = parse_clock(&self.window_start).ok_or_else(|| {
            format!(
                "window_start must be a time like 01:00, got {:?}",
                self.window_start
            )
        })?;
        let end = parse_clock(&self.window_end).ok_or_else(|| {
            format!(
                "window_end must be a time like 05:00, got {:?}",
                self.window_end
            )
        })?;
        Ok(ScanSettings {
            window_start: format_clock(start),
            window_end: format_clock(end),
            ..self
        })
    }

    /// The window as minutes after midnight (start, end).
    pub fn window_minutes(&self) -> (u32, u32) {
        (
            parse_clock(&self.window_start).unwrap_or(60),
            parse_clock(&self.window_end).unwrap_or(300),
        )
    }

    /// The window's length in milliseconds.
    pub fn window_ms(&self) -> Millis {
        let (start, end) = self.window_minutes();
        let minutes = if end > start {
            end - start
        } else {
            end + 24 * 60 - start
        };
        i64::from(minutes) * 60_000
    }

    /// The interval of `kind` in milliseconds.
    pub fn interval_ms(&self, kind: ScanKind) -> Millis {
        let hours = match kind {
            ScanKind::Vulnerability => self.vulnerability_interval_hours,
            ScanKind::Baseline => self.baseline_interval_hours,
        };
        i64::from(hours) * 3_600_000
    }
}

/// Whether `now` lies in the window, in `zone`.
pub fn in_window(settings: &ScanSettings, zone: &TimeZoneSetting, now: Millis) -> bool {
    let Some(day) = zone.day_of(now) else {
        return false;
    };
    let Some(midnight) = zone.start_of(day) else {
        return false;
    };
    let minute = u32::try_from((now - midnight) / 60_000).unwrap_or(0);
    let (start, end) = settings.window_minutes();
    if start == end {
        true
    } else if start < end {
        (start..end).contains(&minute)
    } else {
        minute >= start || minute < end
    }
}

/// The latest last-run time that makes an asset due now: an asset is due when it never ran,
/// or ran at least one interval ago less the window's length, so that a daily scan lands in
/// every daily window even when the previous one ran late in its window.
pub fn due_before(settings: &ScanSettings, kind: ScanKind, now: Millis) -> Millis {
    let slack = settings
        .window_ms()
        .min(settings.interval_ms(kind) / 2)
        .max(0);
    now - settings.interval_ms(kind) + slack
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let zone = TimeZoneSetting::parse("+08:00").unwrap_or_else(|e| panic!("{e}"));
        // 2024-01-02T00:00:00+08:00
        let midnight = 1_704_124_800_000;
        let at = |hh: i64, mm: i64| midnight + hh * 3_600_000 + mm * 60_000;
        let check = |start: &str, end: &str, times: &[((i64, i64), bool)]| {
            let settings = ScanSettings {
                window_start: start.to_string(),
                window_end: end.to_string(),
                ..ScanSettings::default()
            };
            for ((hh, mm), expected) in times {
                assert_eq!(
                    in_window(&settings, &zone, at(*hh, *mm)),
                    *expected,
                    "{start}-{end} at {hh}:{mm}"
                );
            }
        };
        check(
            "01:00",
            "05:00",
            &[
                ((0, 59), false),
                ((1, 0), true),
                ((4, 59), true),
                ((5, 0), false),
            ],
        );
        check(
            "23:00",
            "02:00",
            &[
                ((22, 59), false),
                ((23, 30), true),
                ((1, 0), true),
                ((2, 0), false),
            ],
        );
        check("03:00", "03:00", &[((12, 0), true)]);
    }

    #[test]
    fn settings_validation_and_due_times() {
        let good = ScanSettings {
            window_start: "1:05".to_string(),
            ..ScanSettings::default()
        }
        .validated();
        assert_eq!(good.map(|s| s.window_start), Ok("01:05".to_string()));
        for (bad, fragment) in [
            (
                ScanSettings {
                    window_end: "25:00".to_string(),
                    ..ScanSettings::default()
                },
                "window_end",
            ),
            (
                ScanSettings {
                    vulnerability_interval_hours: 0,
                    ..ScanSettings::default()
                },
                "vulnerability_interval_hours",
            ),
        ] {
            let err = bad.validated().err().unwrap_or_default();
            assert!(err.contains(fragment), "{err}");
        }
        let settings = ScanSettings::default();
        let now = 100 * 3_600_000;
        // Daily with a 4-hour window: due when the last run is 20 hours old.
        assert_eq!(
            due_before(&settings, ScanKind::Vulnerability, now),
            now - 20 * 3_600_000
        );
        assert_eq!(
            due_before(&settings, ScanKind::Baseline, now),
            now - 44 * 3_600_000
        );
    }
}
