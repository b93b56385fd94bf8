//! Injection settings: the config file's `[inject]` table (what the sidecar looks like) and the
//! `webhook_*` keys (the TLS listener of the admission webhook), validated.
//!
//! ```toml
//! webhook_listen = "0.0.0.0:8443"
//! webhook_tls_cert = "/etc/podwarden/webhook/tls.crt"
//! webhook_tls_key = "/etc/podwarden/webhook/tls.key"
//! # webhook_client_ca = "/etc/podwarden/webhook/apiserver-ca.crt"  # require client certificates
//! # webhook_deny_on_refusal = false
//!
//! [inject]
//! image = "registry.example/podwarden:0.1.0"
//! server_url = "https://podwarden.example:8080"
//! secret_name = "podwarden-enrollment"
//! cpu_limit = "200m"
//! ```

use super::{InjectConfig, SidecarResources};
use crate::config::{ConfigError, ConfigFile};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The `[inject]` table as written (every key optional; defaults in [`InjectConfig`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectFile {
    /// Agent image (default `podwarden/podwarden:<version>`).
    pub image: Option<String>,
    /// `Always`, `IfNotPresent` or `Never` (default: the cluster's).
    pub image_pull_policy: Option<String>,
    /// Container command (default `["podwarden", "agent"]`).
    pub command: Option<Vec<String>>,
    /// The center's address as pods reach it (default `http://podwarden.podwarden.svc:8080`).
    pub server_url: Option<String>,
    /// Secret in the pod's namespace holding the enrolment token (default `podwarden-enrollment`).
    pub secret_name: Option<String>,
    /// Key of the token in that Secret (default `token`).
    pub secret_key: Option<String>,
    /// Requests and limits; `""` leaves one out (defaults 50m / 64Mi, limits 200m / 128Mi).
    pub cpu_request: Option<String>,
    pub memory_request: Option<String>,
    pub cpu_limit: Option<String>,
    pub memory_limit: Option<String>,
    /// Capabilities added after dropping all (default `["SYS_PTRACE"]`).
    pub capabilities: Option<Vec<String>>,
    /// `PODWARDEN_CLUSTER` given to agents.
    pub cluster: Option<String>,
    /// `PODWARDEN_SOURCE_KIND` given to agents.
    pub source_kind: Option<String>,
    /// Pass the pod spec to the agent inline (default true).
    pub pod_spec_env: Option<bool>,
    /// Inject Job-like pods as native sidecars (default true; false refuses them).
    pub native_sidecar_for_jobs: Option<bool>,
}

impl InjectFile {
    /// Applies the table over `config` (flags of `podwarden inject` go on top afterwards).
    pub fn apply(&self, config: &mut InjectConfig) {
        let set = |slot: &mut String, value: &Option<String>| {
            if let Some(v) = value {
                *slot = v.trim().to_string();
            }
        };
        set(&mut config.image, &self.image);
        set(&mut config.server_url, &self.server_url);
        set(&mut config.secret_name, &self.secret_name);
        set(&mut config.secret_key, &self.secret_key);
        if let Some(policy) = &self.image_pull_policy {
            config.image_pull_policy = Some(policy.clone()).filter(|p| !p.is_empty());
        }
        if let Some(command) = &self.command {
            config.command = command.clone();
        }
        let quantity = |slot: &mut Option<String>, value: &Option<String>| {
            if let Some(v) = value {
                *slot = Some(v.trim().to_string()).filter(|v| !v.is_empty());
            }
        };
        let r: &mut SidecarResources = &mut config.resources;
        quantity(&mut r.cpu_request, &self.cpu_request);
        quantity(&mut r.memory_request, &self.memory_request);
        quantity(&mut r.cpu_limit, &self.cpu_limit);
        quantity(&mut r.memory_limit, &self.memory_limit);
        if let Some(caps) = &self.capabilities {
            config.capabilities = caps.iter().map(|c| c.trim().to_ascii_uppercase()).collect();
        }
        if let Some(cluster) = &self.cluster {
            config.cluster = Some(cluster.clone()).filter(|c| !c.is_empty());
        }
        if let Some(kind) = &self.source_kind {
            config.source_kind = Some(kind.clone()).filter(|k| !k.is_empty());
        }
        if let Some(on) = self.pod_spec_env {
            config.pod_spec_env = on;
        }
        if let Some(on) = self.native_sidecar_for_jobs {
            config.native_sidecar_for_jobs = on;
        }
    }
}

/// The webhook's TLS listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTls {
    pub listen: SocketAddr,
    /// PEM certificate chain and private key (re-read when they change on disk).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// PEM CA bundle; when set, clients must present a certificate it signed.
    pub client_ca: Option<PathBuf>,
}

/// Validated injection settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InjectSettings {
    pub config: InjectConfig,
    /// Deny (instead of allow with a warning) pods that ask for the agent but cannot take it.
    pub deny_on_refusal: bool,
    /// The TLS listener, when configured.
    pub webhook: Option<WebhookTls>,
}

impl InjectSettings {
    /// Reads the `[inject]` table and the `webhook_*` keys.
    pub fn from_file(file: &ConfigFile) -> Result<InjectSettings, ConfigError> {
        let mut config = InjectConfig::default();
        if let Some(table) = &file.inject {
            table.apply(&mut config);
        }
        config
            .validate()
            .map_err(|(key, message)| ConfigError::Invalid {
                key: inject_key(key),
                message,
            })?;
        let webhook = match (
            &file.webhook_listen,
            &file.webhook_tls_cert,
            &file.webhook_tls_key,
        ) {
            (None, None, None) => None,
            (Some(listen), Some(cert), Some(key)) => {
                let listen = listen
                    .parse::<SocketAddr>()
                    .map_err(|err| ConfigError::Invalid {
                        key: "webhook_listen",
                        message: format!("{listen:?} is not an address like 0.0.0.0:8443 ({err})"),
                    })?;
                Some(WebhookTls {
                    listen,
                    cert: PathBuf::from(cert),
                    key: PathBuf::from(key),
                    client_ca: file.webhook_client_ca.as_ref().map(PathBuf::from),
                })
            }
            _ => {
                return Err(ConfigError::Invalid {
                    key: "webhook_listen",
                    message: "the webhook needs all of webhook_listen, webhook_tls_cert and webhook_tls_key (the API server calls webhooks over HTTPS only)".to_string(),
                });
            }
        };
        if webhook.is_none() && file.webhook_client_ca.is_some() {
            return Err(ConfigError::Invalid {
                key: "webhook_client_ca",
                message: "set without webhook_listen".to_string(),
            });
        }
        Ok(InjectSettings {
            config,
            deny_on_refusal: file.webhook_deny_on_refusal.unwrap_or(false),
            webhook,
        })
    }
}

/// The config-file name of an `[inject]` field.
fn inject_key(field: &'static str) -> &'static str {
    match field {
        "image" => "inject.image",
        "image_pull_policy" => "inject.image_pull_policy",
        "command" => "inject.command",
        "server_url" => "inject.server_url",
        "secret_name" => "inject.secret_name",
        "secret_key" => "inject.secret_key",
        "cpu_request" => "inject.cpu_request",
        "cpu_limit" => "inject.cpu_limit",
        "memory_request" => "inject.memory_request",
        "memory_limit" => "inject.memory_limit",
        "capabilities" => "inject.capabilities",
        "source_kind" => "inject.source_kind",
        _ => "inject",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml_text: &str, expected: Result<(&str, Option<&str>, bool, bool), &str>) {
        let result = ConfigFile::parse(toml_text, "test.toml")
            .and_then(|file| InjectSettings::from_file(&file));
        match (result, expected) {
            (Ok(s), Ok((image, cpu_limit, deny, webhook))) => {
                assert_eq!(s.config.image, image);
                assert_eq!(s.config.resources.cpu_limit.as_deref(), cpu_limit);
                assert_eq!(s.deny_on_refusal, deny);
                assert_eq!(s.webhook.is_some(), webhook);
            }
            (Err(err), Err(fragment)) => {
                let text = err.to_string();
                assert!(text.contains(fragment), "{text:?} lacks {fragment:?}");
            }
            (got, want) => panic!("{toml_text:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn settings() {
        let default_image = super::super::default_image();
        check("", Ok((&default_image, Some("200m"), false, false)));
        check(
            "webhook_deny_on_refusal = true\n[inject]\nimage = \"r.example/pw:1\"\ncpu_limit = \"\"",
            Ok(("r.example/pw:1", None, true, false)),
        );
        check(
            "webhook_listen = \"0.0.0.0:8443\"\nwebhook_tls_cert = \"c.pem\"\nwebhook_tls_key = \"k.pem\"",
            Ok((&default_image, Some("200m"), false, true)),
        );
        check("webhook_listen = \"0.0.0.0:8443\"", Err("webhook_tls_cert"));
        check(
            "webhook_listen = \"nowhere\"\nwebhook_tls_cert = \"c\"\nwebhook_tls_key = \"k\"",
            Err("webhook_listen"),
        );
        check("webhook_client_ca = \"ca.pem\"", Err("webhook_client_ca"));
        check(
            "[inject]\nserver_url = \"ftp://x\"",
            Err("inject.server_url"),
        );
        check("[inject]\ncpu_limit = \"lots\"", Err("inject.cpu_limit"));
        check(
            "[inject]\nmemory_request = \"64Mb\"",
            Err("inject.memory_request"),
        );
        check(
            "[inject]\nsecret_name = \"Bad_Name\"",
            Err("inject.secret_name"),
        );
        check(
            "[inject]\nsource_kind = \"mainframe\"",
            Err("inject.source_kind"),
        );
        check(
            "[inject]\nimage_pull_policy = \"Sometimes\"",
            Err("inject.image_pull_policy"),
        );
        check("[inject]\nsurprise = 1", Err("test.toml"));
    }
}
