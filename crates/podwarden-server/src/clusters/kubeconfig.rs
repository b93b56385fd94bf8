//! Kubeconfig text from a tenant: parsed, checked for what a multi-tenant server may run, and
//! summarised without credentials (context, server URL, kind of authentication).
//!
//! The center runs many tenants' kubeconfigs in one process, so a kubeconfig may carry only
//! inline credentials: `exec` plugins (they run a command on the server), `auth-provider`
//! plugins, and file references (`certificate-authority`, `client-certificate`, `client-key`,
//! `tokenFile`: they read the server's files) are refused.

use super::error_chain;
use kube::config::{AuthInfo, Kubeconfig};
use serde::Serialize;

/// Largest kubeconfig accepted, bytes.
pub const MAX_KUBECONFIG_BYTES: usize = 256 * 1024;

/// Why a kubeconfig is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeconfigError {
    #[error("kubeconfig is empty")]
    Empty,
    #[error("kubeconfig is {size} bytes; at most {MAX_KUBECONFIG_BYTES} are accepted")]
    TooLarge { size: usize },
    #[error("kubeconfig is not valid kubeconfig YAML: {0}")]
    Yaml(String),
    #[error("kubeconfig has no current-context")]
    NoCurrentContext,
    #[error("kubeconfig current-context {0:?} is not among its contexts")]
    ContextNotFound(String),
    #[error(
        "kubeconfig context {context:?} names cluster {cluster:?}, which is not among its clusters"
    )]
    ClusterNotFound { context: String, cluster: String },
    #[error("kubeconfig cluster {cluster:?} has no server URL")]
    NoServer { cluster: String },
    #[error(
        "kubeconfig cluster {cluster:?}: server {server:?} is not an http(s) URL with a host ({reason})"
    )]
    BadServer {
        cluster: String,
        server: String,
        reason: String,
    },
    #[error("kubeconfig context {context:?} names user {user:?}, which is not among its users")]
    UserNotFound { context: String, user: String },
    #[error(
        "kubeconfig {place}: `{field}` is not accepted by a shared server ({why}); use inline \
         credentials (certificate-authority-data, client-certificate-data, client-key-data, token)"
    )]
    Refused {
        place: String,
        field: &'static str,
        why: &'static str,
    },
    #[error("kubeconfig cannot be turned into a client: {0}")]
    Client(String),
}

/// What a kubeconfig points at, without its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KubeconfigSummary {
    /// The current context.
    pub context: String,
    /// The API server URL (user information removed).
    pub server: String,
    /// `token`, `client-certificate`, `basic` or `none`.
    pub auth: &'static str,
    /// The kubeconfig turns server certificate verification off.
    pub insecure_skip_tls_verify: bool,
}

/// Parses and checks kubeconfig text; returns the parsed kubeconfig and its summary.
pub fn parse(text: &str) -> Result<(Kubeconfig, KubeconfigSummary), KubeconfigError> {
    if text.trim().is_empty() {
        return Err(KubeconfigError::Empty);
    }
    if text.len() > MAX_KUBECONFIG_BYTES {
        return Err(KubeconfigError::TooLarge { size: text.len() });
    }
    let kubeconfig =
        Kubeconfig::from_yaml(text).map_err(|err| KubeconfigError::Yaml(error_chain(&err)))?;
    let summary = check(&kubeconfig)?;
    Ok((kubeconfig, summary))
}

/// Checks the current context, its cluster and user, and refuses what a shared server must not run.
pub fn check(kubeconfig: &Kubeconfig) -> Result<KubeconfigSummary, KubeconfigError> {
    let context_name = kubeconfig
        .current_context
        .as_deref()
        .filter(|name| !name.is_empty())
        .ok_or(KubeconfigError::NoCurrentContext)?;
    let context = kubeconfig
        .contexts
        .iter()
        .find(|named| named.name == context_name)
        .and_then(|named| named.context.as_ref())
        .ok_or_else(|| KubeconfigError::ContextNotFound(context_name.to_string()))?;
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|named| named.name == context.cluster)
        .ok_or_else(|| KubeconfigError::ClusterNotFound {
            context: context_name.to_string(),
            cluster: context.cluster.clone(),
        })?
        .cluster
        .as_ref()
        .ok_or_else(|| KubeconfigError::NoServer {
            cluster: context.cluster.clone(),
        })?;
    let cluster_place = format!("cluster {:?}", context.cluster);
    if cluster.certificate_authority.is_some() {
        return Err(KubeconfigError::Refused {
            place: cluster_place,
            field: "certificate-authority",
            why: "it reads a file on the server",
        });
    }
    let server = cluster
        .server
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| KubeconfigError::NoServer {
            cluster: context.cluster.clone(),
        })?;
    let server = check_server(&context.cluster, server)?;

    let auth = match context.user.as_deref() {
        None | Some("") => "none",
        Some(user_name) => {
            let user = kubeconfig
                .auth_infos
                .iter()
                .find(|named| named.name == user_name)
                .ok_or_else(|| KubeconfigError::UserNotFound {
                    context: context_name.to_string(),
                    user: user_name.to_string(),
                })?;
            match &user.auth_info {
                None => "none",
                Some(info) => check_user(user_name, info)?,
            }
        }
    };
    Ok(KubeconfigSummary {
        context: context_name.to_string(),
        server,
        auth,
        insecure_skip_tls_verify: cluster.insecure_skip_tls_verify.unwrap_or(false),
    })
}

/// The server URL without user information, or why it is unusable.
fn check_server(cluster: &str, server: &str) -> Result<String, KubeconfigError> {
    let bad = |reason: &str| KubeconfigError::BadServer {
        cluster: cluster.to_string(),
        server: server.to_string(),
        reason: reason.to_string(),
    };
    let uri = server
        .parse::<http::Uri>()
        .map_err(|err| bad(&err.to_string()))?;
    match uri.scheme_str() {
        Some("https" | "http") => {}
        Some(other) => return Err(bad(&format!("scheme {other:?}"))),
        None => return Err(bad("no scheme")),
    }
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    if authority.host().is_empty() {
        return Err(bad("no host"));
    }
    let host_port = authority
        .as_str()
        .rsplit_once('@')
        .map_or(authority.as_str(), |(_, rest)| rest);
    let path = uri.path().trim_end_matches('/');
    Ok(format!(
        "{}://{host_port}{path}",
        uri.scheme_str().unwrap_or("https")
    ))
}

/// Refuses plugins and file references; returns the kind of authentication.
fn check_user(name: &str, info: &AuthInfo) -> Result<&'static str, KubeconfigError> {
    let refuse = |field: &'static str, why: &'static str| KubeconfigError::Refused {
        place: format!("user {name:?}"),
        field,
        why,
    };
    if info.exec.is_some() {
        return Err(refuse("exec", "it runs a command on the server"));
    }
    if info.auth_provider.is_some() {
        return Err(refuse(
            "auth-provider",
            "it runs a plugin and may read the server's files",
        ));
    }
    if info.token_file.is_some() {
        return Err(refuse("tokenFile", "it reads a file on the server"));
    }
    if info.client_certificate.is_some() {
        return Err(refuse(
            "client-certificate",
            "it reads a file on the server",
        ));
    }
    if info.client_key.is_some() {
        return Err(refuse("client-key", "it reads a file on the server"));
    }
    Ok(if info.token.is_some() {
        "token"
    } else if info.client_certificate_data.is_some() || info.client_key_data.is_some() {
        "client-certificate"
    } else if info.username.is_some() || info.password.is_some() {
        "basic"
    } else {
        "none"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://user:pw@10.0.0.1:6443/
    certificate-authority-data: ""
contexts:
- name: prod
  context:
    cluster: prod-cluster
    user: admin
users:
- name: admin
  user:
    token: abc
"#;

    fn check_text(text: &str, expected: Result<(&str, &str, &str), &str>) {
        match (parse(text), expected) {
            (Ok((_, summary)), Ok((context, server, auth))) => {
                assert_eq!(
                    (
                        summary.context.as_str(),
                        summary.server.as_str(),
                        summary.auth
                    ),
                    (context, server, auth),
                    "{text}"
                );
            }
            (Err(err), Err(fragment)) => {
                let message = err.to_string();
                assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
            }
            (got, want) => panic!("{text}\ngot {got:?}\nwant {want:?}"),
        }
    }

    #[test]
    fn kubeconfigs() {
        check_text(GOOD, Ok(("prod", "https://10.0.0.1:6443", "token")));
        check_text("", Err("empty"));
        check_text("clusters: [", Err("not valid kubeconfig YAML"));
        check_text(
            &GOOD.replace("current-context: prod\n", ""),
            Err("no current-context"),
        );
        check_text(
            &GOOD.replace("current-context: prod", "current-context: staging"),
            Err("\"staging\" is not among its contexts"),
        );
        check_text(
            &GOOD.replace("cluster: prod-cluster", "cluster: other"),
            Err("names cluster \"other\""),
        );
        check_text(
            &GOOD.replace("user: admin", "user: nobody"),
            Err("names user \"nobody\""),
        );
        check_text(
            &GOOD.replace("server: https://user:pw@10.0.0.1:6443/", "server: ''"),
            Err("has no server URL"),
        );
        check_text(
            &GOOD.replace("https://user:pw@10.0.0.1:6443/", "ftp://10.0.0.1"),
            Err("scheme \"ftp\""),
        );
        check_text(
            &GOOD.replace(
                "token: abc",
                "exec:\n      command: /bin/sh\n      apiVersion: client.authentication.k8s.io/v1",
            ),
            Err("`exec` is not accepted"),
        );
        check_text(
            &GOOD.replace("token: abc", "tokenFile: /etc/shadow"),
            Err("`tokenFile` is not accepted"),
        );
        check_text(
            &GOOD.replace("token: abc", "client-key: /root/key.pem"),
            Err("`client-key` is not accepted"),
        );
        check_text(
            &GOOD.replace(
                "certificate-authority-data: \"\"",
                "certificate-authority: /etc/ssl/ca.pem",
            ),
            Err("`certificate-authority` is not accepted"),
        );
        check_text(
            &GOOD.replace(
                "token: abc",
                "client-certificate-data: AAAA\n    client-key-data: AAAA",
            ),
            Ok(("prod", "https://10.0.0.1:6443", "client-certificate")),
        );
        check_text(
            &GOOD.replace("token: abc", "username: u\n    password: p"),
            Ok(("prod", "https://10.0.0.1:6443", "basic")),
        );
        check_text(&"x".repeat(MAX_KUBECONFIG_BYTES + 1), Err("at most"));
    }
}
