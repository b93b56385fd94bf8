//! Server settings: the TOML config file, its defaults, and the typed form the server uses.
//!
//! Precedence: command-line flags and `PODWARDEN_*` environment variables (handled by the CLI)
//! override the file, which overrides the defaults below.

use crate::metering::{Millicores, PriceNano, TimeZoneSetting, parse_cpu_quantity};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;

/// The default database: one SQLite file under `./podwarden-data`.
pub const DEFAULT_DATABASE: &str = "sqlite://./podwarden-data/podwarden.db";
/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("setting `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

/// The config file as written (every key optional).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `sqlite://PATH` or `postgres://...`.
    pub database: Option<String>,
    /// Listen address, e.g. `0.0.0.0:8080`.
    pub listen: Option<String>,
    /// Seconds between agent heartbeats (default 30).
    pub heartbeat_interval_secs: Option<u64>,
    /// An agent is online while its last heartbeat is younger than this (default 3 × interval).
    pub online_window_secs: Option<u64>,
    /// Price for new tenants, USD per core-second, as a decimal string (default "0.000003").
    pub price_per_core_second: Option<String>,
    /// Day boundaries for new tenants: a fixed offset (`+08:00`, `UTC+08:00`) or an IANA name.
    pub timezone: Option<String>,
    /// Cores metered for a pod with neither CPU limit nor request (`1`, `500m`; default `1`).
    pub default_cores: Option<String>,
    /// `runtimeClassName`s that make a pod a sandboxed instance.
    pub sandboxed_runtime_classes: Option<Vec<String>>,
    /// Body limit for `/api/v1` requests, bytes (default 1 MiB).
    pub api_body_limit_bytes: Option<usize>,
    /// Body limit for `/agent/v1` uploads, bytes (default 8 MiB).
    pub agent_body_limit_bytes: Option<usize>,
    /// Seconds between metering flushes (default 60).
    pub metering_flush_secs: Option<u64>,
    /// Seconds between runs of the bill-closing job (default 300).
    pub bill_close_secs: Option<u64>,
    /// Seconds between periodic syncs of every cluster (default 300).
    pub cluster_sync_secs: Option<u64>,
    /// Pods per page when listing a cluster (default 500).
    pub cluster_page_size: Option<u64>,
    /// Seconds to connect to a cluster's API server (default 10).
    pub cluster_connect_timeout_secs: Option<u64>,
    /// Seconds to wait for an API server response (default 30).
    pub cluster_read_timeout_secs: Option<u64>,
    /// Seconds a whole cluster fetch may take (default 300).
    pub cluster_sync_timeout_secs: Option<u64>,
    /// Most pods read from one cluster (default 200000).
    pub cluster_max_pods: Option<u64>,
    /// Largest API server response read, bytes (default 64 MiB).
    pub cluster_max_response_bytes: Option<u64>,
    /// Node labels `key=value` that mark virtual nodes (default `["type=virtual-kubelet"]`).
    pub virtual_node_labels: Option<Vec<String>>,
    /// Node name prefixes that mark virtual nodes (default `["virtual-kubelet"]`).
    pub virtual_node_name_prefixes: Option<Vec<String>>,
    /// Node taint keys that mark virtual nodes (default `["virtual-kubelet.io/provider"]`).
    pub virtual_node_taints: Option<Vec<String>>,
    /// Key file sealing stored kubeconfigs (default `secrets.key` beside the SQLite file).
    pub secrets_key_file: Option<String>,
    /// Directory of the OSV vulnerability database (`podwarden db import|update --db DIR`);
    /// without one, uploaded inventories are kept but not matched.
    pub vuln_db: Option<String>,
    /// Seconds between checks for an updated vulnerability database (default 300).
    pub vuln_db_check_secs: Option<u64>,
    /// Seconds between runs of the scan scheduler (default 300).
    pub scan_schedule_secs: Option<u64>,
    /// Days detection ids are kept to de-duplicate retried uploads (default 7).
    pub detection_retention_days: Option<u64>,
    /// Seconds before a delivered command without a result is delivered again (default 300).
    pub command_lease_secs: Option<u64>,
    /// Admission webhook HTTPS listener, e.g. `0.0.0.0:8443` (with `webhook_tls_cert` and
    /// `webhook_tls_key`; the API server calls webhooks over HTTPS only).
    pub webhook_listen: Option<String>,
    /// PEM certificate chain of the webhook listener (re-read when the file changes).
    pub webhook_tls_cert: Option<String>,
    /// PEM private key of the webhook listener.
    pub webhook_tls_key: Option<String>,
    /// PEM CA bundle: when set, webhook clients must present a certificate it signed.
    pub webhook_client_ca: Option<String>,
    /// Deny pods that ask for the agent but cannot take it (default false: allow, with a warning).
    pub webhook_deny_on_refusal: Option<bool>,
    /// The injected agent sidecar (`[inject]` table; see `inject::settings`).
    pub inject: Option<crate::inject::settings::InjectFile>,
    /// Simulations and end-to-end tests only: read "now" (Unix milliseconds) from this file
    /// instead of the wall clock, so a real server can be driven through days in seconds.
    pub clock_file: Option<String>,
}

impl ConfigFile {
    /// Reads and parses a TOML config file.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        ConfigFile::parse(&text, &path.display().to_string())
    }

    /// Parses TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<ConfigFile, ConfigError> {
        toml::from_str(text).map_err(|err| ConfigError::Parse {
            path: origin.to_string(),
            message: err.to_string(),
        })
    }
}

/// The settings the server runs with, validated and typed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: String,
    pub listen: SocketAddr,
    pub heartbeat_interval_secs: u64,
    pub online_window_secs: u64,
    pub default_price: PriceNano,
    pub default_timezone: TimeZoneSetting,
    pub default_millicores: Millicores,
    pub sandboxed_runtime_classes: BTreeSet<String>,
    pub api_body_limit_bytes: usize,
    pub agent_body_limit_bytes: usize,
    pub metering_flush_secs: u64,
    pub bill_close_secs: u64,
    /// Cluster asset sources: sync, paging, timeouts, virtual nodes, kubeconfig sealing.
    pub clusters: crate::clusters::ClusterSettings,
    /// Alerts, vulnerability and baseline findings.
    pub findings: crate::findings::settings::FindingsSettings,
    /// Sidecar injection and the admission webhook's listener.
    pub inject: crate::inject::settings::InjectSettings,
    /// When set, the server's clock reads this file ([`crate::clock::FileClock`]).
    pub clock_file: Option<std::path::PathBuf>,
}

/// Runtime classes treated as sandboxed when the config names none.
pub const DEFAULT_SANDBOXED_RUNTIME_CLASSES: &[&str] = &[
    "gvisor",
    "runsc",
    "kata",
    "kata-containers",
    "kata-qemu",
    "kata-clh",
    "kata-fc",
    "kata-dragonball",
    "sandboxed",
];

impl Settings {
    /// Validates a config file into settings.
    pub fn from_file(file: ConfigFile) -> Result<Settings, ConfigError> {
        let clusters = crate::clusters::ClusterSettings::from_file(&file)?;
        let findings = crate::findings::settings::FindingsSettings::from_file(&file)?;
        let inject = crate::inject::settings::InjectSettings::from_file(&file)?;
        let listen_text = file.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text
            .parse::<SocketAddr>()
            .map_err(|err| ConfigError::Invalid {
                key: "listen",
                message: format!("{listen_text:?} is not an address like 127.0.0.1:8080 ({err})"),
            })?;
        let heartbeat_interval_secs = file.heartbeat_interval_secs.unwrap_or(30);
        if !(1..=3600).contains(&heartbeat_interval_secs) {
            return Err(ConfigError::Invalid {
                key: "heartbeat_interval_secs",
                message: format!("{heartbeat_interval_secs} is outside 1..=3600"),
            });
        }
        let online_window_secs = file
            .online_window_secs
            .unwrap_or(heartbeat_interval_secs * 3);
        if online_window_secs < heartbeat_interval_secs || online_window_secs > 86_400 {
            return Err(ConfigError::Invalid {
                key: "online_window_secs",
                message: format!(
                    "{online_window_secs} must be at least the heartbeat interval ({heartbeat_interval_secs}) and at most 86400"
                ),
            });
        }
        let price_text = file
            .price_per_core_second
            .unwrap_or_else(|| "0.000003".to_string());
        let default_price =
            PriceNano::parse_usd(&price_text).map_err(|message| ConfigError::Invalid {
                key: "price_per_core_second",
                message,
            })?;
        let tz_text = file.timezone.unwrap_or_else(|| "+08:00".to_string());
        let default_timezone =
            TimeZoneSetting::parse(&tz_text).map_err(|message| ConfigError::Invalid {
                key: "timezone",
                message,
            })?;
        let cores_text = file.default_cores.unwrap_or_else(|| "1".to_string());
        let default_millicores = parse_cpu_quantity(&cores_text)
            .filter(|m| *m > 0)
            .ok_or_else(|| ConfigError::Invalid {
                key: "default_cores",
                message: format!("{cores_text:?} is not a positive CPU quantity like 1 or 500m"),
            })?;
        let sandboxed_runtime_classes = match file.sandboxed_runtime_classes {
            Some(list) => list.into_iter().collect(),
            None => DEFAULT_SANDBOXED_RUNTIME_CLASSES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let positive = |key: &'static str, value: u64| {
            if value == 0 {
                Err(ConfigError::Invalid {
                    key,
                    message: "must be at least 1".to_string(),
                })
            } else {
                Ok(value)
            }
        };
        Ok(Settings {
            database: file
                .database
                .unwrap_or_else(|| DEFAULT_DATABASE.to_string()),
            listen,
            heartbeat_interval_secs,
            online_window_secs,
            default_price,
            default_timezone,
            default_millicores,
            sandboxed_runtime_classes,
            api_body_limit_bytes: file.api_body_limit_bytes.unwrap_or(1024 * 1024).max(1024),
            agent_body_limit_bytes: file
                .agent_body_limit_bytes
                .unwrap_or(8 * 1024 * 1024)
                .max(1024),
            metering_flush_secs: positive(
                "metering_flush_secs",
                file.metering_flush_secs.unwrap_or(60),
            )?,
            bill_close_secs: positive("bill_close_secs", file.bill_close_secs.unwrap_or(300))?,
            clusters,
            findings,
            inject,
            clock_file: file
                .clock_file
                .filter(|path| !path.is_empty())
                .map(std::path::PathBuf::from),
        })
    }

    /// The defaults (no config file).
    pub fn defaults() -> Settings {
        // The defaults are valid by construction; fall back field by field if that ever changes.
        Settings::from_file(ConfigFile::default()).unwrap_or_else(|err| {
            panic!("built-in defaults are invalid: {err}");
        })
    }

    /// The online window in milliseconds.
    pub fn online_window_ms(&self) -> i64 {
        (self.online_window_secs as i64) * 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml_text: &str, expected: Result<(u64, u64, i64, &str, i64), &str>) {
        let result = ConfigFile::parse(toml_text, "test.toml").and_then(Settings::from_file);
        match (result, expected) {
            (Ok(s), Ok((interval, window, price, tz, millicores))) => {
                assert_eq!(s.heartbeat_interval_secs, interval);
                assert_eq!(s.online_window_secs, window);
                assert_eq!(s.default_price.0, price);
                assert_eq!(s.default_timezone.name(), tz);
                assert_eq!(s.default_millicores, millicores);
            }
            (Err(err), Err(fragment)) => {
                let text = err.to_string();
                assert!(text.contains(fragment), "{text:?} lacks {fragment:?}");
            }
            (got, want) => panic!("{toml_text:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn config_files() {
        check("", Ok((30, 90, 3000, "+08:00", 1000)));
        check(
            "heartbeat_interval_secs = 10\nprice_per_core_second = \"0.00001\"\ntimezone = \"UTC\"\ndefault_cores = \"250m\"",
            Ok((10, 30, 10_000, "UTC", 250)),
        );
        check("online_window_secs = 5", Err("online_window_secs"));
        check(
            "price_per_core_second = \"abc\"",
            Err("price_per_core_second"),
        );
        check("timezone = \"Mars/Olympus\"", Err("timezone"));
        check("surprise = 1", Err("test.toml"));
        check("listen = \"nowhere\"", Err("listen"));
        check("default_cores = \"0\"", Err("default_cores"));
        check(
            include_str!("../podwarden.example.toml"),
            Ok((30, 90, 3000, "+08:00", 1000)),
        );
    }
}
