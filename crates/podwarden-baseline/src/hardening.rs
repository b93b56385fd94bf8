//! Hardening checks beyond the Pod Security Standards: root and capabilities (the two headline
//! items), read-only root filesystem, resources, image pinning, token automount, secrets in
//! the environment, runtime sockets, writable hostPath, default namespace, probes.

use crate::finding::{Fix, FixSafety, PatchOp};
use crate::manifest::{get, get_str};
use crate::patch;
use crate::pod::{Container, Pod, join_quote, quote};
use crate::pss::Violation;
use serde_json::{Value, json};

/// What the hardening checks need to know about the object around the pod.
pub(crate) struct ObjectInfo<'a> {
    pub kind: &'a str,
    pub namespace: Option<&'a str>,
    /// Pointer of the object inside the document.
    pub prefix: &'a str,
}

pub(crate) fn evaluate(pod: &Pod<'_>, object: &ObjectInfo<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    root_container(pod, &mut out);
    capabilities(pod, &mut out);
    dangerous_capabilities(pod, &mut out);
    readonly_rootfs(pod, &mut out);
    resources(pod, &mut out);
    images(pod, &mut out);
    token_automount(pod, &mut out);
    secrets_in_env(pod, &mut out);
    host_paths(pod, &mut out);
    default_namespace(pod, object, &mut out);
    probes(pod, object, &mut out);
    out
}

fn at(
    check: &'static str,
    pod: &Pod<'_>,
    c: Option<&Container<'_>>,
    path: String,
    message: String,
) -> Violation {
    Violation {
        check,
        container: c.and_then(|c| {
            pod.containers
                .iter()
                .position(|x| x.kind == c.kind && x.index == c.index)
        }),
        path,
        message,
        fix: None,
        no_fix_reason: None,
    }
}

fn risky(
    mut v: Violation,
    description: &str,
    risk: &str,
    patch: Option<Vec<PatchOp>>,
) -> Violation {
    v.fix = patch.filter(|p| !p.is_empty()).map(|patch| Fix {
        safety: FixSafety::Risky,
        description: description.to_string(),
        risk: Some(risk.to_string()),
        patch,
    });
    v
}

fn no_fix(mut v: Violation, reason: &str) -> Violation {
    v.no_fix_reason = Some(reason.to_string());
    v
}

fn name(c: &Container<'_>) -> String {
    format!("container {}", quote(c.name))
}

/// Largest UID the API server accepts in runAsUser.
const MAX_UID: f64 = 2_147_483_647.0;

fn root_container(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    if pod.is_windows() {
        return;
    }
    for c in &pod.containers {
        let uid = pod.effective(c, "runAsUser");
        // Only a whole number in the API's range names a user: anything else (negative, too
        // large, fractional, a string) is rejected by the API server and proves nothing.
        let valid_uid = uid
            .and_then(Value::as_f64)
            .filter(|u| u.fract() == 0.0 && (0.0..=MAX_UID).contains(u));
        match valid_uid {
            Some(0.0) => {
                let path = if c.sc("runAsUser").is_some() {
                    c.sub("securityContext/runAsUser")
                } else {
                    pod.spec_path("securityContext/runAsUser")
                };
                out.push(no_fix(
                    at(
                        "hardening.root-container",
                        pod,
                        Some(c),
                        path,
                        format!("{} runs as root (runAsUser: 0)", name(c)),
                    ),
                    "choose the non-root UID the image supports and set it by hand",
                ));
            }
            Some(_) => {}
            None => {
                if pod.effective(c, "runAsNonRoot").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let user = match uid {
                    None => "no runAsUser is set".to_string(),
                    Some(u) => format!("runAsUser {u} is not a valid UID (0 to {MAX_UID})"),
                };
                let v = at(
                    "hardening.root-container",
                    pod,
                    Some(c),
                    c.sub("securityContext/runAsNonRoot"),
                    format!(
                        "{} may run as root: runAsNonRoot is not true and {user}, so the user is the image's USER, which is unknown here",
                        name(c)
                    ),
                );
                out.push(risky(
                    v,
                    "set securityContext.runAsNonRoot to true",
                    "if the image's USER is root (or unset), the container will no longer start",
                    patch::set(
                        c.value,
                        &c.path,
                        &["securityContext", "runAsNonRoot"],
                        json!(true),
                    ),
                ));
            }
        }
    }
}

fn capabilities(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    if pod.is_windows() {
        return;
    }
    for c in &pod.containers {
        // containerd, CRI-O and Docker read "all" in any case as every capability (the Pod
        // Security Standards check, pss.capabilities_restricted, wants "ALL" exactly).
        if c.capabilities("drop")
            .iter()
            .any(|(_, cap)| cap.eq_ignore_ascii_case("ALL"))
        {
            continue;
        }
        let v = at(
            "hardening.capabilities",
            pod,
            Some(c),
            c.sub("securityContext/capabilities/drop"),
            format!(
                "{} does not drop ALL capabilities: it runs with the container runtime's default set",
                name(c)
            ),
        );
        out.push(risky(
            v,
            "add ALL to securityContext.capabilities.drop",
            "processes that need CHOWN, SETUID, SETGID, DAC_OVERRIDE or other default capabilities will fail",
            patch::append(c.value, &c.path,
                &["securityContext", "capabilities", "drop"],
                json!("ALL"),
            ),
        ));
    }
}

const DANGEROUS_CAPABILITIES: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "NET_RAW",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "SYSLOG",
    "LINUX_IMMUTABLE",
];

fn dangerous_capabilities(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    for c in &pod.containers {
        let bad: Vec<(usize, &str)> = c
            .capabilities("add")
            .into_iter()
            .filter(|(_, cap)| {
                let upper = cap.to_ascii_uppercase();
                let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
                DANGEROUS_CAPABILITIES.contains(&bare)
            })
            .collect();
        if bad.is_empty() {
            continue;
        }
        let names: Vec<&str> = bad.iter().map(|(_, n)| *n).collect();
        let list = c.sub("securityContext/capabilities/add");
        let v = at(
            "hardening.dangerous-capabilities",
            pod,
            Some(c),
            list.clone(),
            format!(
                "{} adds dangerous capabilities {}",
                name(c),
                join_quote(&names)
            ),
        );
        out.push(risky(
            v,
            &format!(
                "remove {} from securityContext.capabilities.add",
                names.join(", ")
            ),
            "the process may need the capability to work",
            Some(patch::remove_items(
                &list,
                bad.iter().map(|(i, _)| *i).collect(),
            )),
        ));
    }
}

fn readonly_rootfs(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    if pod.is_windows() {
        return;
    }
    for c in &pod.containers {
        if c.sc_bool("readOnlyRootFilesystem") == Some(true) {
            continue;
        }
        let v = at(
            "hardening.readonly-rootfs",
            pod,
            Some(c),
            c.sub("securityContext/readOnlyRootFilesystem"),
            format!(
                "{} does not set securityContext.readOnlyRootFilesystem=true",
                name(c)
            ),
        );
        out.push(risky(
            v,
            "set securityContext.readOnlyRootFilesystem to true",
            "processes that write outside mounted volumes (e.g. /tmp, caches, pid files) will fail; mount an emptyDir where they write",
            patch::set(c.value, &c.path,
                &["securityContext", "readOnlyRootFilesystem"],
                json!(true),
            ),
        ));
    }
}

fn resources(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    for c in pod
        .containers
        .iter()
        .filter(|c| c.kind != crate::finding::ContainerKind::Ephemeral)
    {
        let res = get(c.value, "resources");
        let has = |section: &str, key: &str| {
            res.and_then(|r| get(r, section))
                .and_then(|s| get(s, key))
                .is_some()
        };
        // The API server defaults a missing request to the limit.
        let checks = [
            (
                "hardening.cpu-requests",
                "requests",
                "cpu",
                has("requests", "cpu") || has("limits", "cpu"),
            ),
            (
                "hardening.cpu-limits",
                "limits",
                "cpu",
                has("limits", "cpu"),
            ),
            (
                "hardening.memory-requests",
                "requests",
                "memory",
                has("requests", "memory") || has("limits", "memory"),
            ),
            (
                "hardening.memory-limits",
                "limits",
                "memory",
                has("limits", "memory"),
            ),
        ];
        for (id, section, key, ok) in checks {
            if ok {
                continue;
            }
            out.push(no_fix(
                at(
                    id,
                    pod,
                    Some(c),
                    c.sub(&format!("resources/{section}/{key}")),
                    format!("{} does not set resources.{section}.{key}", name(c)),
                ),
                "the right amount depends on the workload; set it by hand",
            ));
        }
    }
}

/// Splits an image reference into (name, tag, digest).
pub(crate) fn parse_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest[last_slash..].rfind(':') {
        Some(i) => {
            let cut = last_slash + i;
            (&rest[..cut], Some(&rest[cut + 1..]), digest)
        }
        None => (rest, None, digest),
    }
}

fn images(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    for c in &pod.containers {
        let Some(image) = get_str(c.value, "image").filter(|i| !i.trim().is_empty()) else {
            continue;
        };
        let (_, tag, digest) = parse_image(image.trim());
        let path = c.sub("image");
        if digest.is_none() {
            match tag {
                None | Some("") => out.push(no_fix(
                    at(
                        "hardening.image-tag",
                        pod,
                        Some(c),
                        path.clone(),
                        format!(
                            "{} uses image {} without a tag (it means :latest)",
                            name(c),
                            quote(image)
                        ),
                    ),
                    "pick the version to run and pin it by hand",
                )),
                Some(t) if t.eq_ignore_ascii_case("latest") => out.push(no_fix(
                    at(
                        "hardening.image-tag",
                        pod,
                        Some(c),
                        path.clone(),
                        format!(
                            "{} uses image {} with the :latest tag",
                            name(c),
                            quote(image)
                        ),
                    ),
                    "pick the version to run and pin it by hand",
                )),
                Some(_) => {}
            }
            out.push(no_fix(
                at(
                    "hardening.image-digest",
                    pod,
                    Some(c),
                    path,
                    format!(
                        "{} uses image {} not pinned by digest",
                        name(c),
                        quote(image)
                    ),
                ),
                "resolve the image's digest (e.g. `crane digest`) and pin it by hand",
            ));
        }
    }
}

fn token_automount(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    if pod.spec_bool("automountServiceAccountToken") == Some(false) {
        return;
    }
    let v = at(
        "hardening.sa-token-automount",
        pod,
        None,
        pod.spec_path("automountServiceAccountToken"),
        "pod does not set automountServiceAccountToken=false: a service account token is mounted into every container".into(),
    );
    out.push(risky(
        v,
        "set spec.automountServiceAccountToken to false",
        "a workload that calls the Kubernetes API loses its credentials",
        patch::set(
            pod.spec,
            &pod.location.spec,
            &["automountServiceAccountToken"],
            json!(false),
        ),
    ));
}

fn looks_like_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    const WORDS: &[&str] = &[
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIAL",
    ];
    const NOT_VALUES: &[&str] = &[
        "_FILE", "_PATH", "_DIR", "_URL", "_NAME", "_REF", "_ENABLED",
    ];
    WORDS.iter().any(|w| upper.contains(w)) && !NOT_VALUES.iter().any(|s| upper.ends_with(s))
}

fn secrets_in_env(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    for c in &pod.containers {
        let mut from_secrets = Vec::new();
        let mut literal = Vec::new();
        if let Some(env) = get(c.value, "env").and_then(Value::as_array) {
            for var in env {
                let var_name = get_str(var, "name").unwrap_or("");
                if get(var, "valueFrom")
                    .and_then(|v| get(v, "secretKeyRef"))
                    .is_some()
                {
                    from_secrets.push(var_name.to_string());
                } else if let Some(value) = get_str(var, "value") {
                    let value = value.trim();
                    if looks_like_secret_name(var_name)
                        && value.len() >= 4
                        && !value.starts_with('/')
                        && !value.starts_with("$(")
                    {
                        literal.push(var_name.to_string());
                    }
                }
            }
        }
        if let Some(env_from) = get(c.value, "envFrom").and_then(Value::as_array) {
            for source in env_from {
                if let Some(secret) = get(source, "secretRef") {
                    let secret_name = get_str(secret, "name").unwrap_or("");
                    from_secrets.push(format!("all keys of Secret {}", quote(secret_name)));
                }
            }
        }
        if !from_secrets.is_empty() {
            out.push(no_fix(
                at(
                    "hardening.secret-env",
                    pod,
                    Some(c),
                    c.sub("env"),
                    format!(
                        "{} takes secrets as environment variables: {}",
                        name(c),
                        from_secrets.join(", ")
                    ),
                ),
                "mount the Secret as a volume and change the application to read the file",
            ));
        }
        if !literal.is_empty() {
            out.push(no_fix(
                at(
                    "hardening.plaintext-secret-env",
                    pod,
                    Some(c),
                    c.sub("env"),
                    format!(
                        "{} sets secret-looking environment variables to literal values: {}",
                        name(c),
                        literal.join(", ")
                    ),
                ),
                "move the values into a Secret",
            ));
        }
    }
}

/// Host paths that expose a container runtime socket (or a directory holding one).
const RUNTIME_SOCKET_PATHS: &[&str] = &[
    "/",
    "/var",
    "/run",
    "/var/run",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/docker",
    "/run/docker",
    "/var/run/containerd",
    "/run/containerd",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/crio",
    "/run/crio",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock",
    "/run/cri-dockerd.sock",
    "/var/run/podman",
    "/run/podman",
    "/var/run/podman/podman.sock",
    "/run/podman/podman.sock",
    "/run/k3s/containerd/containerd.sock",
    "/run/k3s/containerd",
];

fn normalize_host_path(path: &str) -> String {
    if path.trim().is_empty() {
        return String::new();
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn host_paths(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    for (i, volume) in pod.volumes() {
        let Some(host_path) = get(volume, "hostPath") else {
            continue;
        };
        let volume_name = get_str(volume, "name").unwrap_or("");
        let raw_path = get_str(host_path, "path").unwrap_or("");
        let path = normalize_host_path(raw_path);
        // (container, mount index, mount, read-only)
        let mounts: Vec<(&Container<'_>, usize, &Value, bool)> = pod
            .containers
            .iter()
            .flat_map(|c| {
                get(c.value, "volumeMounts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .filter(|(_, m)| get_str(m, "name") == Some(volume_name))
                    .map(move |(j, m)| {
                        (
                            c,
                            j,
                            m,
                            get(m, "readOnly").and_then(Value::as_bool) == Some(true),
                        )
                    })
            })
            .collect();
        if RUNTIME_SOCKET_PATHS.contains(&path.as_str()) {
            let volume_path = pod.spec_path(&format!("volumes/{i}/hostPath/path"));
            let message = |who: &str| {
                format!(
                    "{who} mounts hostPath {} (volume {}), which exposes the container runtime socket",
                    quote(raw_path),
                    quote(volume_name)
                )
            };
            const REASON: &str = "remove the volume by hand; nothing short of that closes the hole";
            if mounts.is_empty() {
                out.push(no_fix(
                    at(
                        "hardening.runtime-socket",
                        pod,
                        None,
                        volume_path.clone(),
                        message("pod"),
                    ),
                    REASON,
                ));
            }
            for (c, _, _, _) in &mounts {
                out.push(no_fix(
                    at(
                        "hardening.runtime-socket",
                        pod,
                        Some(c),
                        volume_path.clone(),
                        message(&name(c)),
                    ),
                    REASON,
                ));
            }
        }
        for (c, j, mount_value, read_only) in mounts {
            if read_only {
                continue;
            }
            let mount = c.sub(&format!("volumeMounts/{j}"));
            let v = at(
                "hardening.writable-hostpath",
                pod,
                Some(c),
                format!("{mount}/readOnly"),
                format!(
                    "{} mounts hostPath {} (volume {}) read-write",
                    name(c),
                    quote(raw_path),
                    quote(volume_name)
                ),
            );
            out.push(risky(
                v,
                "mount the hostPath volume with readOnly: true",
                "the workload may need to write to the host path",
                patch::set(mount_value, &mount, &["readOnly"], json!(true)),
            ));
        }
    }
}

fn default_namespace(pod: &Pod<'_>, object: &ObjectInfo<'_>, out: &mut Vec<Violation>) {
    let message = match object.namespace {
        Some("default") => "object is in the default namespace",
        None => {
            "object sets no namespace: it lands in the current namespace of whoever applies it, often default"
        }
        Some(_) => return,
    };
    out.push(no_fix(
        at(
            "hardening.default-namespace",
            pod,
            None,
            format!("{}/metadata/namespace", object.prefix),
            message.into(),
        ),
        "choose the namespace by hand",
    ));
}

fn probes(pod: &Pod<'_>, object: &ObjectInfo<'_>, out: &mut Vec<Violation>) {
    if matches!(object.kind, "Job" | "CronJob") {
        return;
    }
    if matches!(
        get_str(pod.spec, "restartPolicy"),
        Some("Never" | "OnFailure")
    ) {
        return;
    }
    for c in pod
        .containers
        .iter()
        .filter(|c| c.kind == crate::finding::ContainerKind::Regular)
    {
        for (id, probe) in [
            ("hardening.liveness-probe", "livenessProbe"),
            ("hardening.readiness-probe", "readinessProbe"),
        ] {
            if get(c.value, probe).is_none() {
                out.push(no_fix(
                    at(
                        id,
                        pod,
                        Some(c),
                        c.sub(probe),
                        format!("{} has no {probe}", name(c)),
                    ),
                    "what to probe depends on the application; add it by hand",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_images() {
        let cases = [
            ("nginx", ("nginx", None, None)),
            ("nginx:1.25", ("nginx", Some("1.25"), None)),
            ("localhost:5000/app", ("localhost:5000/app", None, None)),
            (
                "localhost:5000/app:v2",
                ("localhost:5000/app", Some("v2"), None),
            ),
            ("app@sha256:abc", ("app", None, Some("sha256:abc"))),
            (
                "r.io/a/b:1@sha256:abc",
                ("r.io/a/b", Some("1"), Some("sha256:abc")),
            ),
        ];
        for (image, expected) in cases {
            assert_eq!(parse_image(image), expected, "{image}");
        }
    }

    #[test]
    fn normalizes_host_paths() {
        for (input, expected) in [
            ("/var/run/", "/var/run"),
            ("//var//run/docker.sock", "/var/run/docker.sock"),
            ("/var/lib/../run", "/var/run"),
            ("", ""),
            ("/", "/"),
        ] {
            assert_eq!(normalize_host_path(input), expected);
        }
    }
}
