//! Metering: exact money, CPU quantities, time zones, and the accrual of core-seconds over
//! intervals split at day boundaries.
//!
//! Units (all integers, so every sum is exact):
//! - usage in **millicore-seconds**: each whole second that starts while an asset is billable
//!   counts its millicores once. Counting the integer seconds `k` with `start <= 1000k < end` is
//!   additive — splitting an interval anywhere (flushes, midnight, state changes) never changes
//!   the total — so accruing in many small pieces is exactly the same as accruing at once;
//! - price in **nano-USD per core-second** (the default 0.000003 USD is 3000);
//! - money in **pico-USD**: `millicore-seconds × nano-USD/core-second` (10⁻³ × 10⁻⁹ = 10⁻¹²).
//!
//! The pure functions here know nothing of the store; `store::usage` reads the state, calls
//! [`accrue`], and writes the result in the same transaction as the state change.

use crate::clock::Millis;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, civil::Date};

/// CPU in thousandths of a core.
pub type Millicores = i64;

/// Largest CPU quantity accepted from a pod spec (100,000 cores); more is a typo.
const MAX_MILLICORES: i64 = 100_000_000;

/// A price in nano-USD per core-second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PriceNano(pub i64);

/// Highest accepted price: 1000 USD per core-second.
const MAX_PRICE_NANO: i64 = 1_000_000_000_000;

impl PriceNano {
    /// Parses a decimal USD amount per core-second (`"0.000003"`, `"3e-6"`) exactly.
    /// Refuses negatives, more precision than a nano-USD, and absurd values.
    pub fn parse_usd(text: &str) -> Result<PriceNano, String> {
        let nano = parse_decimal_scaled(text.trim(), 9).ok_or_else(|| {
            format!(
                "{text:?} is not a price in USD per core-second with at most 9 decimals, like \"0.000003\""
            )
        })?;
        if !(0..=i128::from(MAX_PRICE_NANO)).contains(&nano) {
            return Err(format!("{text:?} is outside 0 to 1000 USD per core-second"));
        }
        Ok(PriceNano(nano as i64))
    }

    /// The price as a decimal USD string (`"0.000003"`).
    pub fn to_usd_string(self) -> String {
        format_scaled(i128::from(self.0), 9)
    }
}

/// Parses a non-negative or negative decimal with an optional exponent into an integer scaled
/// by `10^scale`; `None` if it is not a number or is not exact at that scale.
fn parse_decimal_scaled(text: &str, scale: i32) -> Option<i128> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => {
            let exp: i32 = body.get(at + 1..)?.parse().ok()?;
            (body.get(..at)?, exp)
        }
        None => (body, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return None;
    }
    let mut value: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    // value × 10^(exponent − frac_len + scale)
    let shift = exponent
        .checked_sub(frac_part.len() as i32)?
        .checked_add(scale)?;
    if shift >= 0 {
        for _ in 0..shift {
            value = value.checked_mul(10)?;
        }
    } else {
        for _ in 0..(-shift) {
            if value % 10 != 0 {
                return None;
            }
            value /= 10;
        }
    }
    Some(if negative { -value } else { value })
}

/// Formats an integer scaled by `10^scale` as a decimal string without trailing zeros.
pub fn format_scaled(value: i128, scale: u32) -> String {
    let divisor = 10i128.pow(scale);
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    let divisor = divisor as u128;
    let int_part = magnitude / divisor;
    let frac_part = magnitude % divisor;
    if frac_part == 0 {
        return format!("{sign}{int_part}");
    }
    let frac = format!("{frac_part:0width$}", width = scale as usize);
    format!("{sign}{int_part}.{}", frac.trim_end_matches('0'))
}

/// Cost in pico-USD of `millicore_seconds` at `price`.
pub fn cost_pico(millicore_seconds: i64, price: PriceNano) -> i128 {
    i128::from(millicore_seconds) * i128::from(price.0)
}

/// Parses a Kubernetes CPU quantity (`500m`, `1`, `0.5`, `2500u`) into millicores, rounding
/// up like Kubernetes does; `None` when it is not a CPU quantity or is absurdly large.
pub fn parse_cpu_quantity(text: &str) -> Option<Millicores> {
    let text = text.trim();
    let (number, scale_to_milli) = if let Some(n) = text.strip_suffix('m') {
        (n, 0)
    } else if let Some(n) = text.strip_suffix('u') {
        (n, -3)
    } else if let Some(n) = text.strip_suffix('n') {
        (n, -6)
    } else if let Some(n) = text.strip_suffix('k') {
        (n, 6)
    } else {
        (text, 3)
    };
    if number.starts_with('-') || number.contains(['e', 'E']) {
        return None;
    }
    // Parse at nano-millicore precision, then round up to whole millicores.
    let scaled = parse_decimal_scaled(number, scale_to_milli + 6)?;
    let millicores = (scaled + 999_999) / 1_000_000;
    if millicores > i128::from(MAX_MILLICORES) {
        return None;
    }
    Some(millicores as i64)
}

/// A tenant's time zone for day boundaries: a fixed offset or an IANA zone.
#[derive(Debug, Clone)]
pub struct TimeZoneSetting {
    name: String,
    zone: TimeZone,
}

impl PartialEq for TimeZoneSetting {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl TimeZoneSetting {
    /// Parses `UTC`, a fixed offset (`+08:00`, `-05:30`, `UTC+8`, `UTC+08:00`) or an IANA
    /// name (`Asia/Shanghai`). Fixed offsets are stored in the canonical `+HH:MM` form.
    pub fn parse(text: &str) -> Result<TimeZoneSetting, String> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("utc") || trimmed == "Z" {
            return Ok(TimeZoneSetting {
                name: "UTC".to_string(),
                zone: TimeZone::UTC,
            });
        }
        let offset_text = trimmed
            .strip_prefix("UTC")
            .or_else(|| trimmed.strip_prefix("GMT"))
            .unwrap_or(trimmed);
        if offset_text.starts_with(['+', '-']) {
            let seconds = parse_offset_seconds(offset_text).ok_or_else(|| {
                format!("{text:?} is not a UTC offset like +08:00 (hours 0-14, minutes 0-59)")
            })?;
            let offset = Offset::from_seconds(seconds)
                .map_err(|err| format!("{text:?} is not a valid UTC offset: {err}"))?;
            let hours = seconds.abs() / 3600;
            let minutes = seconds.abs() % 3600 / 60;
            let sign = if seconds < 0 { '-' } else { '+' };
            return Ok(TimeZoneSetting {
                name: format!("{sign}{hours:02}:{minutes:02}"),
                zone: TimeZone::fixed(offset),
            });
        }
        let zone = TimeZone::get(trimmed).map_err(|_| {
            format!("{text:?} is neither a UTC offset like +08:00 nor a known IANA time zone name")
        })?;
        Ok(TimeZoneSetting {
            name: trimmed.to_string(),
            zone,
        })
    }

    /// The canonical name (`+08:00`, `UTC`, `Asia/Shanghai`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The calendar day (`YYYY-MM-DD`) that `at` falls on in this zone.
    pub fn day_of(&self, at: Millis) -> Option<Date> {
        let ts = Timestamp::from_millisecond(at).ok()?;
        Some(ts.to_zoned(self.zone.clone()).date())
    }

    /// The first instant (Unix ms) of `day` in this zone.
    pub fn start_of(&self, day: Date) -> Option<Millis> {
        let zoned = day.to_zoned(self.zone.clone()).ok()?;
        let start = zoned.start_of_day().ok()?;
        Some(start.timestamp().as_millisecond())
    }
}

fn parse_offset_seconds(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, text.get(1..)?),
        b'-' => (-1, text.get(1..)?),
        _ => return None,
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => (rest.get(..2)?, rest.get(2..)?),
        None => (rest, "0"),
    };
    if hours.is_empty() || hours.len() > 2 || minutes.is_empty() || minutes.len() > 2 {
        return None;
    }
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    if hours > 14 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

/// Number of whole seconds whose first instant lies in `[start, end)` (ms).
pub fn grid_seconds(start: Millis, end: Millis) -> i64 {
    if end <= start {
        return 0;
    }
    ceil_div_1000(end) - ceil_div_1000(start)
}

fn ceil_div_1000(ms: Millis) -> i64 {
    -((-ms).div_euclid(1000))
}

/// What decides whether one asset accrues, constant since `accrued_until` (every change to
/// any of it flushes the asset first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterInputs {
    /// Usage is recorded up to here.
    pub accrued_until: Millis,
    /// Protection enabled, not paused, tenant not overdue, asset bound, not gone, protectable.
    pub billable: bool,
    /// Start of the agent's current unbroken run of heartbeats.
    pub online_since: Option<Millis>,
    /// The latest heartbeat; the agent is online until `last_heartbeat + window`.
    pub last_heartbeat: Option<Millis>,
    /// Cores metered: CPU limit, else request, else the configured default.
    pub millicores: Millicores,
}

/// Usage of one asset on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayUsage {
    /// `YYYY-MM-DD` in the tenant's time zone.
    pub day: String,
    /// Billable seconds.
    pub seconds: i64,
    /// Seconds × millicores.
    pub millicore_seconds: i64,
}

/// The usage an asset accrued from `inputs.accrued_until` to `now`, split into days of `zone`.
/// The online run is `[online_since, last_heartbeat + window_ms)`.
pub fn accrue(
    inputs: &MeterInputs,
    now: Millis,
    window_ms: Millis,
    zone: &TimeZoneSetting,
) -> Vec<DayUsage> {
    if !inputs.billable || now <= inputs.accrued_until || inputs.millicores <= 0 {
        return Vec::new();
    }
    let (Some(since), Some(last)) = (inputs.online_since, inputs.last_heartbeat) else {
        return Vec::new();
    };
    let start = inputs.accrued_until.max(since);
    let end = now.min(last.saturating_add(window_ms));
    split_by_day(start, end, zone)
        .into_iter()
        .filter(|(_, seconds)| *seconds > 0)
        .map(|(day, seconds)| DayUsage {
            day,
            seconds,
            millicore_seconds: seconds.saturating_mul(inputs.millicores),
        })
        .collect()
}

/// Splits `[start, end)` at midnights of `zone` into `(day, grid seconds)` pieces.
pub fn split_by_day(start: Millis, end: Millis, zone: &TimeZoneSetting) -> Vec<(String, i64)> {
    let mut pieces = Vec::new();
    let mut cursor = start;
    while cursor < end {
        let Some(day) = zone.day_of(cursor) else {
            break;
        };
        let next_midnight = day
            .tomorrow()
            .ok()
            .and_then(|next| zone.start_of(next))
            .unwrap_or(end);
        let piece_end = end.min(next_midnight.max(cursor + 1));
        pieces.push((day.to_string(), grid_seconds(cursor, piece_end)));
        cursor = piece_end;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0.000003", Some(3000)),
            ("3e-6", Some(3000)),
            ("0.000000001", Some(1)),
            ("0.0000000001", None),
            ("1", Some(1_000_000_000)),
            ("-1", None),
            ("abc", None),
            ("", None),
            ("1001", None),
            ("0", Some(0)),
        ];
        for (text, expected) in cases {
            assert_eq!(
                PriceNano::parse_usd(text).ok().map(|p| p.0),
                *expected,
                "{text}"
            );
        }
        assert_eq!(PriceNano(3000).to_usd_string(), "0.000003");
        assert_eq!(PriceNano(1_500_000_000).to_usd_string(), "1.5");
    }

    #[test]
    fn cpu_quantities() {
        let cases: &[(&str, Option<i64>)] = &[
            ("500m", Some(500)),
            ("1", Some(1000)),
            ("0.5", Some(500)),
            ("2.25", Some(2250)),
            ("1500u", Some(2)),
            ("100n", Some(1)),
            ("1k", Some(1_000_000)),
            ("-1", None),
            ("x", None),
            ("1e3", None),
            ("999999999", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_cpu_quantity(text), *expected, "{text}");
        }
    }

    #[test]
    fn time_zones() {
        let cases: &[(&str, Option<&str>)] = &[
            ("+08:00", Some("+08:00")),
            ("UTC+8", Some("+08:00")),
            ("UTC+08:00", Some("+08:00")),
            ("-0530", Some("-05:30")),
            ("utc", Some("UTC")),
            ("Asia/Shanghai", Some("Asia/Shanghai")),
            ("+15:00", None),
            ("Nowhere/Town", None),
        ];
        for (text, expected) in cases {
            let got = TimeZoneSetting::parse(text).ok();
            assert_eq!(got.as_ref().map(|z| z.name()), *expected, "{text}");
        }
    }

    #[test]
    fn grid_seconds_are_additive() {
        assert_eq!(grid_seconds(0, 1000), 1);
        assert_eq!(grid_seconds(1, 1000), 0);
        assert_eq!(grid_seconds(999, 1001), 1);
        assert_eq!(grid_seconds(-1500, 1500), 3);
        for split in [0, 1, 500, 999, 1000, 1001, 2500] {
            assert_eq!(
                grid_seconds(0, split) + grid_seconds(split, 3000),
                3,
                "{split}"
            );
        }
    }

    #[test]
    fn split_at_midnight_in_utc_plus_8() {
        let zone = TimeZoneSetting::parse("+08:00").unwrap_or_else(|e| panic!("{e}"));
        // 2024-01-01T15:00:00Z = 2024-01-01 23:00 +08:00; two hours later is 01:00 next day.
        let start = 1_704_121_200_000;
        let pieces = split_by_day(start, start + 7_200_000, &zone);
        assert_eq!(
            pieces,
            vec![
                ("2024-01-01".to_string(), 3600),
                ("2024-01-02".to_string(), 3600)
            ]
        );
    }
}
