//! Findings and their handling: alerts raised from agent detections, vulnerability findings
//! from uploaded inventories, baseline risks from pod specs, whitelists, commands to agents,
//! and the scan schedule.
//!
//! Code map:
//! - [`detections`]: validating detections, the de-duplication key that aggregates identical
//!   detections into one alert, alert statuses, the evidence views (process tree, file,
//!   connection);
//! - [`vulndb`]: the OSV database the center matches inventories against (loaded from the
//!   `vuln_db` directory, reloaded when it changes) and its browsable catalogue;
//! - [`inventory`]: uploaded package records → scan-crate packages → vulnerability rows;
//! - [`baseline`]: pod spec → baseline risk rows (the baseline crate), fixes;
//! - [`patcher`]: [`patcher::WorkloadPatcher`], how a fix reaches a cluster workload (the
//!   cluster-sync feature implements it);
//! - [`schedule`]: scan intervals and the night window (pure);
//! - [`settings`]: the settings of this feature;
//! - [`jobs`]: scheduled scans, database reloads with re-matching, command expiry, pruning.
//!
//! The SQL lives in `store::{alerts, commands, uploads, vulns, baseline, scans}`, the routes
//! in `api::{alerts, agent_uploads, vulns, baseline, scans}`.
//!
//! **Protection gate.** Product rule: only assets that are bound and whose agent is online are
//! protected. An agent that uploads is online by the fact of uploading, so the center checks
//! the rest when data arrives: the tenant's protection is enabled, not paused, not overdue,
//! and the asset is bound, not gone and protectable (vulnerability and baseline uploads also
//! need a standard instance). Data arriving while the gate is closed is answered with 200 and
//! dropped with a counted reason (`unprotected_drops`, shown in asset detail): refusing it
//! with an error would make agents retry forever.

pub mod baseline;
pub mod detections;
pub mod inventory;
pub mod jobs;
pub mod patcher;
pub mod schedule;
pub mod settings;
pub mod vulndb;

use crate::error::StoreError;
use crate::store::{TenantId, col, flag};
use sqlx::AnyConnection;

/// Whether protection covers an asset right now, and why not when it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    /// Alerts may be raised.
    pub alerts: bool,
    /// Vulnerability scans and baseline checks may run (standard instances only).
    pub scans: bool,
    /// Why `alerts` (or `scans`) is false.
    pub reason: Option<&'static str>,
    /// The asset has an agent that heartbeat within the online window.
    pub agent_online: bool,
    pub agent_id: Option<i64>,
}

/// Reads the protection gate of `asset` in `tenant` (inside the caller's transaction).
pub(crate) async fn protection_gate(
    conn: &mut AnyConnection,
    tenant: TenantId,
    asset: i64,
    now: i64,
    online_window_ms: i64,
) -> Result<Gate, StoreError> {
    let row = sqlx::query(
        "SELECT a.bound AS bound, a.status AS status, a.protectable AS protectable,
                a.instance_type AS instance_type, a.agent_id AS agent_id,
                a.last_heartbeat_at AS last_heartbeat_at,
                p.enabled AS enabled, p.paused AS paused, p.overdue AS overdue
         FROM assets a JOIN protection p ON p.tenant_id = a.tenant_id
         WHERE a.tenant_id = $1 AND a.id = $2",
    )
    .bind(tenant.0)
    .bind(asset)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("asset {asset}")))?;
    let status: String = col(&row, "status")?;
    let protectable: String = col(&row, "protectable")?;
    let instance_type: String = col(&row, "instance_type")?;
    let last_heartbeat: Option<i64> = col(&row, "last_heartbeat_at")?;
    let reason = if !flag(&row, "enabled")? {
        Some("protection is switched off for this tenant")
    } else if flag(&row, "paused")? {
        Some("protection is paused for this tenant")
    } else if flag(&row, "overdue")? {
        Some("the tenant is overdue")
    } else if status == "gone" {
        Some("the asset is gone")
    } else if protectable == "no" {
        Some("the asset cannot be protected")
    } else if !flag(&row, "bound")? {
        Some("the asset is not bound to the protection quota")
    } else {
        None
    };
    let alerts = reason.is_none();
    let standard = instance_type == "standard" && protectable == "yes";
    let scans = alerts && standard;
    Ok(Gate {
        alerts,
        scans,
        reason: reason.or(if alerts && !standard {
            Some("sandboxed instances get alert detection only")
        } else {
            None
        }),
        agent_online: last_heartbeat.is_some_and(|at| now < at.saturating_add(online_window_ms)),
        agent_id: col(&row, "agent_id")?,
    })
}

/// `%text%` for `LIKE ... ESCAPE '\'`, lower-cased.
pub(crate) fn like_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Checks a free-text field: at most `max` bytes, no control characters other than newline
/// and tab.
pub(crate) fn check_text(name: &str, value: &str, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!("{name} is longer than {max} bytes"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(format!("{name} contains control characters"));
    }
    Ok(())
}

/// Checks an identifier: 1 to `max` bytes, no control characters.
pub(crate) fn check_id(name: &str, value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{name} is empty"));
    }
    if value.len() > max {
        return Err(format!("{name} is longer than {max} bytes"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{name} contains control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_checks() {
        let check = |value: &str, max: usize, expected: Result<(), &str>| {
            assert_eq!(
                check_text("f", value, max),
                expected.map_err(str::to_string),
                "{value:?}"
            );
        };
        check("ok\nline\ttab", 20, Ok(()));
        check("toolong", 3, Err("f is longer than 3 bytes"));
        check("bell\u{7}", 20, Err("f contains control characters"));
        assert_eq!(check_id("id", " ", 5), Err("id is empty".to_string()));
        assert_eq!(
            check_id("id", "a\nb", 5),
            Err("id contains control characters".to_string())
        );
        assert_eq!(like_pattern("A_b%"), "%a\\_b\\%%");
    }
}
