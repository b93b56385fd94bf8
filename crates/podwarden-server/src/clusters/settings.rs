//! Settings of the cluster sources, validated from the config file: sync interval, paging,
//! timeouts, bounds, which nodes are virtual, and where the kubeconfig sealing key lives.

use crate::config::{ConfigError, ConfigFile};
use crate::store::sqlite_path;
use std::path::PathBuf;
use std::time::Duration;

/// Which nodes are virtual nodes (for `k8s-virtual-node` clusters): a node is virtual when any
/// one rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualNodeRules {
    /// Labels `key=value` (e.g. `type=virtual-kubelet`).
    pub labels: Vec<(String, String)>,
    /// Name prefixes (e.g. `virtual-kubelet`).
    pub name_prefixes: Vec<String>,
    /// Taint keys (e.g. `virtual-kubelet.io/provider`).
    pub taint_keys: Vec<String>,
}

impl Default for VirtualNodeRules {
    fn default() -> VirtualNodeRules {
        VirtualNodeRules {
            labels: vec![("type".to_string(), "virtual-kubelet".to_string())],
            name_prefixes: vec!["virtual-kubelet".to_string()],
            taint_keys: vec!["virtual-kubelet.io/provider".to_string()],
        }
    }
}

/// Validated cluster settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// Seconds between periodic syncs of every cluster.
    pub sync_interval_secs: u64,
    /// Pods per page when listing (`limit`).
    pub page_size: u32,
    pub connect_timeout: Duration,
    /// Longest wait for the API server to send anything on an open connection.
    pub read_timeout: Duration,
    /// Longest a whole cluster fetch may take.
    pub sync_timeout: Duration,
    /// Most pods read from one cluster (a sync reading more fails).
    pub max_pods: usize,
    /// Largest response body read from an API server, bytes.
    pub max_response_bytes: usize,
    pub virtual_nodes: VirtualNodeRules,
    /// The kubeconfig sealing key file; None: `secrets.key` beside the SQLite database, or
    /// `./podwarden-data/secrets.key`.
    pub secrets_key_file: Option<PathBuf>,
}

impl Default for ClusterSettings {
    fn default() -> ClusterSettings {
        ClusterSettings {
            sync_interval_secs: 300,
            page_size: 500,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            sync_timeout: Duration::from_secs(300),
            max_pods: 200_000,
            max_response_bytes: 64 * 1024 * 1024,
            virtual_nodes: VirtualNodeRules::default(),
            secrets_key_file: None,
        }
    }
}

impl ClusterSettings {
    /// The cluster part of a config file.
    pub fn from_file(file: &ConfigFile) -> Result<ClusterSettings, ConfigError> {
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
        let defaults = ClusterSettings::default();
        let mut virtual_nodes = VirtualNodeRules::default();
        if let Some(labels) = &file.virtual_node_labels {
            virtual_nodes.labels = labels
                .iter()
                .map(|text| {
                    text.split_once('=')
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .filter(|(k, _)| !k.is_empty())
                        .ok_or_else(|| ConfigError::Invalid {
                            key: "virtual_node_labels",
                            message: format!("{text:?} is not key=value"),
                        })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(prefixes) = &file.virtual_node_name_prefixes {
            virtual_nodes.name_prefixes =
                prefixes.iter().filter(|p| !p.is_empty()).cloned().collect();
        }
        if let Some(taints) = &file.virtual_node_taints {
            virtual_nodes.taint_keys = taints.iter().filter(|t| !t.is_empty()).cloned().collect();
        }
        let secs = |value: u64| Duration::from_secs(value);
        Ok(ClusterSettings {
            sync_interval_secs: within(
                "cluster_sync_secs",
                file.cluster_sync_secs
                    .unwrap_or(defaults.sync_interval_secs),
                10..=86_400,
            )?,
            page_size: within(
                "cluster_page_size",
                file.cluster_page_size
                    .unwrap_or(u64::from(defaults.page_size)),
                1..=10_000,
            )? as u32,
            connect_timeout: secs(within(
                "cluster_connect_timeout_secs",
                file.cluster_connect_timeout_secs.unwrap_or(10),
                1..=600,
            )?),
            read_timeout: secs(within(
                "cluster_read_timeout_secs",
                file.cluster_read_timeout_secs.unwrap_or(30),
                1..=3600,
            )?),
            sync_timeout: secs(within(
                "cluster_sync_timeout_secs",
                file.cluster_sync_timeout_secs.unwrap_or(300),
                1..=86_400,
            )?),
            max_pods: within(
                "cluster_max_pods",
                file.cluster_max_pods.unwrap_or(defaults.max_pods as u64),
                1..=10_000_000,
            )? as usize,
            max_response_bytes: within(
                "cluster_max_response_bytes",
                file.cluster_max_response_bytes
                    .unwrap_or(defaults.max_response_bytes as u64),
                64 * 1024..=1024 * 1024 * 1024,
            )? as usize,
            virtual_nodes,
            secrets_key_file: file
                .secrets_key_file
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        })
    }

    /// The sealing key file for a server on `database`.
    pub fn key_file(&self, database: &str) -> PathBuf {
        if let Some(path) = &self.secrets_key_file {
            return path.clone();
        }
        match sqlite_path(database) {
            Some(db) => db
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("secrets.key"), |d| d.join("secrets.key")),
            None => PathBuf::from("./podwarden-data/secrets.key"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml_text: &str, expected: Result<(u64, u32, usize, &str), &str>) {
        let result = ConfigFile::parse(toml_text, "t.toml")
            .and_then(|file| ClusterSettings::from_file(&file));
        match (result, expected) {
            (Ok(s), Ok((interval, page, labels, key))) => {
                assert_eq!(s.sync_interval_secs, interval);
                assert_eq!(s.page_size, page);
                assert_eq!(s.virtual_nodes.labels.len(), labels);
                assert_eq!(
                    s.key_file("sqlite:///var/lib/podwarden/pw.db"),
                    PathBuf::from(key)
                );
            }
            (Err(err), Err(fragment)) => {
                let text = err.to_string();
                assert!(text.contains(fragment), "{text:?} lacks {fragment:?}");
            }
            (got, want) => panic!("{toml_text:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn cluster_settings() {
        check("", Ok((300, 500, 1, "/var/lib/podwarden/secrets.key")));
        check(
            "cluster_sync_secs = 60\ncluster_page_size = 100\nvirtual_node_labels = [\"a=b\", \"c = d\"]\nsecrets_key_file = \"/etc/pw.key\"",
            Ok((60, 100, 2, "/etc/pw.key")),
        );
        check("cluster_sync_secs = 1", Err("cluster_sync_secs"));
        check("cluster_page_size = 0", Err("cluster_page_size"));
        check(
            "virtual_node_labels = [\"novalue\"]",
            Err("virtual_node_labels"),
        );
        let postgres = ClusterSettings::default().key_file("postgres://db/pw");
        assert_eq!(postgres, PathBuf::from("./podwarden-data/secrets.key"));
    }
}
