//! The 19 Pod Security Standards checks (Baseline and Restricted), version-aware, with the
//! semantics of upstream pod-security-admission's `policy/check_*.go` and its override rule.

use crate::catalogue::CheckLevel;
use crate::finding::{Fix, FixSafety, PatchOp};
use crate::manifest::{escape_pointer, get, get_str};
use crate::patch;
use crate::pod::{Container, Pod, join_quote, quote};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// What a check evaluation needs besides the pod.
pub(crate) struct Ctx {
    /// Pod Security Standards minor version.
    pub version: u32,
    pub relax_user_namespace_pods: bool,
}

/// One violation found by a check, before it becomes a [`crate::Finding`].
pub(crate) struct Violation {
    pub check: &'static str,
    /// Index into `Pod::containers`.
    pub container: Option<usize>,
    pub path: String,
    pub message: String,
    pub fix: Option<Fix>,
    pub no_fix_reason: Option<String>,
}

type CheckFn = fn(&Pod<'_>, &Ctx, &mut Vec<Violation>);

struct PssCheck {
    id: &'static str,
    level: CheckLevel,
    /// (minimum minor version, implementation), ascending; the last one not above the
    /// evaluated version applies.
    versions: &'static [(u32, CheckFn)],
    /// A Baseline check this Restricted check replaces at the Restricted level.
    overrides: Option<&'static str>,
}

static CHECKS: &[PssCheck] = &[
    PssCheck {
        id: "pss.windowsHostProcess",
        level: CheckLevel::Baseline,
        versions: &[(0, windows_host_process)],
        overrides: None,
    },
    PssCheck {
        id: "pss.hostNamespaces",
        level: CheckLevel::Baseline,
        versions: &[(0, host_namespaces)],
        overrides: None,
    },
    PssCheck {
        id: "pss.privileged",
        level: CheckLevel::Baseline,
        versions: &[(0, privileged)],
        overrides: None,
    },
    PssCheck {
        id: "pss.capabilities_baseline",
        level: CheckLevel::Baseline,
        versions: &[(0, capabilities_baseline)],
        overrides: None,
    },
    PssCheck {
        id: "pss.hostPathVolumes",
        level: CheckLevel::Baseline,
        versions: &[(0, host_path_volumes)],
        overrides: None,
    },
    PssCheck {
        id: "pss.hostPorts",
        level: CheckLevel::Baseline,
        versions: &[(0, host_ports)],
        overrides: None,
    },
    PssCheck {
        id: "pss.appArmorProfile",
        level: CheckLevel::Baseline,
        versions: &[(0, app_armor_profile)],
        overrides: None,
    },
    PssCheck {
        id: "pss.seLinuxOptions",
        level: CheckLevel::Baseline,
        versions: &[(0, se_linux_options)],
        overrides: None,
    },
    PssCheck {
        id: "pss.procMount",
        level: CheckLevel::Baseline,
        versions: &[(0, proc_mount_baseline)],
        overrides: None,
    },
    PssCheck {
        id: "pss.seccompProfile_baseline",
        level: CheckLevel::Baseline,
        versions: &[
            (0, seccomp_baseline_annotations),
            (19, seccomp_baseline_fields),
        ],
        overrides: None,
    },
    PssCheck {
        id: "pss.sysctls",
        level: CheckLevel::Baseline,
        versions: &[(0, sysctls)],
        overrides: None,
    },
    PssCheck {
        id: "pss.hostProbesAndHostLifecycle",
        level: CheckLevel::Baseline,
        versions: &[(34, host_probes_and_host_lifecycle)],
        overrides: None,
    },
    PssCheck {
        id: "pss.restrictedVolumes",
        level: CheckLevel::Restricted,
        versions: &[(0, restricted_volumes)],
        overrides: None,
    },
    PssCheck {
        id: "pss.allowPrivilegeEscalation",
        level: CheckLevel::Restricted,
        versions: &[(8, allow_privilege_escalation)],
        overrides: None,
    },
    PssCheck {
        id: "pss.runAsNonRoot",
        level: CheckLevel::Restricted,
        versions: &[(0, run_as_non_root)],
        overrides: None,
    },
    PssCheck {
        id: "pss.runAsUser",
        level: CheckLevel::Restricted,
        versions: &[(23, run_as_user)],
        overrides: None,
    },
    PssCheck {
        id: "pss.seccompProfile_restricted",
        level: CheckLevel::Restricted,
        versions: &[(19, seccomp_restricted)],
        overrides: Some("pss.seccompProfile_baseline"),
    },
    PssCheck {
        id: "pss.capabilities_restricted",
        level: CheckLevel::Restricted,
        versions: &[(22, capabilities_restricted)],
        overrides: Some("pss.capabilities_baseline"),
    },
    PssCheck {
        id: "pss.procMount_restricted",
        level: CheckLevel::Restricted,
        versions: &[(35, proc_mount_restricted)],
        overrides: None,
    },
];

/// The ids of the Pod Security Standards checks active at `level` and `version`.
pub fn active_checks(restricted: bool, version: u32) -> Vec<&'static str> {
    CHECKS
        .iter()
        .filter(|c| restricted || c.level == CheckLevel::Baseline)
        .filter(|c| c.versions.iter().any(|(since, _)| *since <= version))
        .map(|c| c.id)
        .collect()
}

/// Evaluates the Baseline checks, and the Restricted ones too when `restricted`.
///
/// Upstream replaces an overridden Baseline check by its Restricted counterpart at the
/// Restricted level. To keep every denying check visible, the overridden check still runs,
/// but its violations are kept only when the overriding check also denies the pod: the
/// verdict is upstream's, and a pod denied by both names both.
pub(crate) fn evaluate(pod: &Pod<'_>, ctx: &Ctx, restricted: bool) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut overridden_and_admitted: Vec<&'static str> = Vec::new();
    for check in CHECKS {
        if check.level == CheckLevel::Restricted && !restricted {
            continue;
        }
        let Some((_, run)) = check
            .versions
            .iter()
            .rev()
            .find(|(since, _)| *since <= ctx.version)
        else {
            continue;
        };
        let before = out.len();
        run(pod, ctx, &mut out);
        if let Some(overridden) = check.overrides
            && out.len() == before
        {
            overridden_and_admitted.push(overridden);
        }
    }
    if !overridden_and_admitted.is_empty() {
        out.retain(|v| !overridden_and_admitted.contains(&v.check));
    }
    out
}

// ---- helpers ----

fn violation(
    check: &'static str,
    container: Option<&Container<'_>>,
    pod: &Pod<'_>,
    path: String,
    message: String,
) -> Violation {
    Violation {
        check,
        container: container.and_then(|c| {
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

impl Violation {
    fn safe_fix(mut self, description: &str, patch: Option<Vec<PatchOp>>) -> Self {
        self.fix = patch.map(|patch| Fix {
            safety: FixSafety::Safe,
            description: description.to_string(),
            risk: None,
            patch,
        });
        self
    }

    fn risky_fix(mut self, description: &str, risk: &str, patch: Option<Vec<PatchOp>>) -> Self {
        self.fix = patch.filter(|p| !p.is_empty()).map(|patch| Fix {
            safety: FixSafety::Risky,
            description: description.to_string(),
            risk: Some(risk.to_string()),
            patch,
        });
        self
    }

    fn no_fix(mut self, reason: &str) -> Self {
        self.fix = None;
        self.no_fix_reason = Some(reason.to_string());
        self
    }
}

fn container_phrase(c: &Container<'_>) -> String {
    format!("container {}", quote(c.name))
}

fn replace(path: String, value: Value) -> Option<Vec<PatchOp>> {
    Some(vec![PatchOp::Replace { path, value }])
}

fn is_zero(v: &Value) -> bool {
    v.as_f64() == Some(0.0)
}

/// Whether the container adds SYS_ADMIN (the API server rejects allowPrivilegeEscalation: false
/// together with it, and with privileged: true).
fn cannot_disable_escalation(c: &Container<'_>) -> Option<&'static str> {
    if c.sc_bool("privileged") == Some(true) {
        return Some(
            "a privileged container cannot set allowPrivilegeEscalation: false (the API server rejects it); remove privileged first",
        );
    }
    if c.capabilities("add")
        .iter()
        .any(|(_, cap)| matches!(*cap, "SYS_ADMIN" | "CAP_SYS_ADMIN"))
    {
        return Some(
            "a container that adds SYS_ADMIN cannot set allowPrivilegeEscalation: false (the API server rejects it); drop SYS_ADMIN first",
        );
    }
    None
}

const WINDOWS_NO_FIX: &str =
    "Windows pods cannot set this field (the API server rejects it for spec.os.name: windows)";

// ---- Baseline ----

fn windows_host_process(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    const REASON: &str =
        "a HostProcess pod is built to run on the host; make it a regular pod by hand";
    let host_process = |wo: Option<&Value>| {
        wo.and_then(|w| get(w, "hostProcess"))
            .and_then(Value::as_bool)
            == Some(true)
    };
    if host_process(pod.sc("windowsOptions")) {
        out.push(
            violation(
                "pss.windowsHostProcess",
                None,
                pod,
                pod.spec_path("securityContext/windowsOptions/hostProcess"),
                "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)"
                    .into(),
            )
            .no_fix(REASON),
        );
    }
    for c in &pod.containers {
        if host_process(c.sc("windowsOptions")) {
            out.push(
                violation(
                    "pss.windowsHostProcess",
                    Some(c),
                    pod,
                    c.sub("securityContext/windowsOptions/hostProcess"),
                    format!(
                        "hostProcess ({} must not set securityContext.windowsOptions.hostProcess=true)",
                        container_phrase(c)
                    ),
                )
                .no_fix(REASON),
            );
        }
    }
}

fn host_namespaces(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod.spec_bool(field) == Some(true) {
            let path = pod.spec_path(field);
            out.push(
                violation(
                    "pss.hostNamespaces",
                    None,
                    pod,
                    path.clone(),
                    format!("host namespaces ({field}=true)"),
                )
                .risky_fix(
                    &format!("set {field} to false"),
                    "the workload may rely on the host's namespace (e.g. node monitoring, CNI or host-port networking)",
                    replace(path, json!(false)),
                ),
            );
        }
    }
}

fn privileged(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    for c in &pod.containers {
        if c.sc_bool("privileged") == Some(true) {
            let path = c.sub("securityContext/privileged");
            out.push(
                violation(
                    "pss.privileged",
                    Some(c),
                    pod,
                    path.clone(),
                    format!(
                        "privileged ({} must not set securityContext.privileged=true)",
                        container_phrase(c)
                    ),
                )
                .risky_fix(
                    "set securityContext.privileged to false",
                    "the workload may need privileged mode (devices, kernel modules, network setup)",
                    replace(path, json!(false)),
                ),
            );
        }
    }
}

const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_baseline(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    for c in &pod.containers {
        let bad: Vec<(usize, &str)> = c
            .capabilities("add")
            .into_iter()
            .filter(|(_, cap)| !BASELINE_CAPABILITIES.contains(cap))
            .collect();
        if bad.is_empty() {
            continue;
        }
        let names: BTreeSet<&str> = bad.iter().map(|(_, n)| *n).collect();
        let names: Vec<&str> = names.into_iter().collect();
        let list = c.sub("securityContext/capabilities/add");
        out.push(
            violation(
                "pss.capabilities_baseline",
                Some(c),
                pod,
                list.clone(),
                format!(
                    "non-default capabilities ({} must not include {} in securityContext.capabilities.add)",
                    container_phrase(c),
                    join_quote(&names)
                ),
            )
            .risky_fix(
                &format!("remove {} from securityContext.capabilities.add", names.join(", ")),
                "the process may need the capability to work",
                Some(patch::remove_items(&list, bad.iter().map(|(i, _)| *i).collect())),
            ),
        );
    }
}

fn host_path_volumes(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    for (i, volume) in pod.volumes() {
        if get(volume, "hostPath").is_some() {
            let name = get_str(volume, "name").unwrap_or("");
            out.push(
                violation(
                    "pss.hostPathVolumes",
                    None,
                    pod,
                    pod.spec_path(&format!("volumes/{i}/hostPath")),
                    format!("hostPath volumes (volume {})", quote(name)),
                )
                .no_fix("replace the hostPath volume with another volume type by hand"),
            );
        }
    }
}

fn host_ports(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    for c in &pod.containers {
        let Some(ports) = get(c.value, "ports").and_then(Value::as_array) else {
            continue;
        };
        let bad: Vec<(usize, String)> = ports
            .iter()
            .enumerate()
            .filter_map(|(j, p)| {
                let hp = get(p, "hostPort")?;
                (!is_zero(hp) && hp.is_number()).then(|| (j, hp.to_string()))
            })
            .collect();
        if bad.is_empty() {
            continue;
        }
        let mut numbers: Vec<&str> = bad.iter().map(|(_, n)| n.as_str()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let (verb, noun) = if numbers.len() == 1 {
            ("uses", "hostPort")
        } else {
            ("uses", "hostPorts")
        };
        let first = bad.first().map(|(j, _)| *j).unwrap_or(0);
        out.push(
            violation(
                "pss.hostPorts",
                Some(c),
                pod,
                c.sub(&format!("ports/{first}/hostPort")),
                format!(
                    "hostPort ({} {verb} {noun} {})",
                    container_phrase(c),
                    numbers.join(", ")
                ),
            )
            .risky_fix(
                "remove hostPort from the container's ports",
                "clients that reach the pod through the node's port lose access; expose it through a Service",
                Some(
                    bad.iter()
                        .map(|(j, _)| PatchOp::Remove {
                            path: c.sub(&format!("ports/{j}/hostPort")),
                        })
                        .collect(),
                ),
            ),
        );
    }
}

const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn app_armor_profile(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    const RISK: &str = "the workload may depend on a custom or disabled AppArmor profile";
    let bad_type = |sc_profile: Option<&Value>| -> Option<String> {
        let profile = sc_profile?;
        let t = get_str(profile, "type").unwrap_or("");
        (!matches!(t, "RuntimeDefault" | "Localhost")).then(|| t.to_string())
    };
    if let (Some(profile), Some(t)) = (
        pod.sc("appArmorProfile"),
        bad_type(pod.sc("appArmorProfile")),
    ) {
        let base = pod.spec_path("securityContext/appArmorProfile");
        out.push(
            violation(
                "pss.appArmorProfile",
                None,
                pod,
                format!("{base}/type"),
                format!(
                    "forbidden AppArmor profile (pod must not set securityContext.appArmorProfile.type to {})",
                    quote(&t)
                ),
            )
            .risky_fix(
                "set securityContext.appArmorProfile.type to RuntimeDefault",
                RISK,
                patch::set(profile, &base, &["type"], json!("RuntimeDefault")),
            ),
        );
    }
    for c in &pod.containers {
        if let (Some(profile), Some(t)) =
            (c.sc("appArmorProfile"), bad_type(c.sc("appArmorProfile")))
        {
            let base = c.sub("securityContext/appArmorProfile");
            out.push(
                violation(
                    "pss.appArmorProfile",
                    Some(c),
                    pod,
                    format!("{base}/type"),
                    format!(
                        "forbidden AppArmor profile ({} must not set securityContext.appArmorProfile.type to {})",
                        container_phrase(c),
                        quote(&t)
                    ),
                )
                .risky_fix(
                    "set securityContext.appArmorProfile.type to RuntimeDefault",
                    RISK,
                    patch::set(profile, &base, &["type"], json!("RuntimeDefault")),
                ),
            );
        }
    }
    let mut annotations: Vec<(&str, &str)> = pod
        .annotations()
        .filter(|(k, _)| k.starts_with(APPARMOR_ANNOTATION_PREFIX))
        .filter_map(|(k, v)| v.as_str().map(|v| (k, v)))
        .filter(|(_, v)| !(v.is_empty() || *v == "runtime/default" || v.starts_with("localhost/")))
        .collect();
    annotations.sort_unstable();
    for (key, value) in annotations {
        let name = &key[APPARMOR_ANNOTATION_PREFIX.len()..];
        let container = pod.containers.iter().find(|c| c.name == name);
        let path = format!(
            "{}/annotations/{}",
            pod.location.metadata,
            escape_pointer(key)
        );
        out.push(
            violation(
                "pss.appArmorProfile",
                container,
                pod,
                path.clone(),
                format!("forbidden AppArmor profile ({key}={})", quote(value)),
            )
            .risky_fix(
                "set the AppArmor annotation to runtime/default",
                RISK,
                replace(path, json!("runtime/default")),
            ),
        );
    }
}

fn se_linux_options(pod: &Pod<'_>, ctx: &Ctx, out: &mut Vec<Violation>) {
    let allowed_types: &[&str] = if ctx.version >= 31 {
        &[
            "",
            "container_t",
            "container_init_t",
            "container_kvm_t",
            "container_engine_t",
        ]
    } else {
        &["", "container_t", "container_init_t", "container_kvm_t"]
    };
    // (problems for the message, keys to remove for the fix)
    let inspect = |opts: Option<&Value>| -> Option<(Vec<String>, Vec<&'static str>)> {
        let opts = opts?;
        let mut problems = Vec::new();
        let mut keys = Vec::new();
        let t = get_str(opts, "type").unwrap_or("");
        if !allowed_types.contains(&t) {
            problems.push(format!("type {}", quote(t)));
            keys.push("type");
        }
        for key in ["user", "role"] {
            if get_str(opts, key).is_some_and(|v| !v.is_empty()) {
                problems.push(format!("{key} may not be set"));
                keys.push(key);
            }
        }
        (!problems.is_empty()).then_some((problems, keys))
    };
    const RISK: &str =
        "the workload may depend on this SELinux label (e.g. to reach host files labelled for it)";
    let removal = |base: &str, keys: &[&str]| {
        Some(
            keys.iter()
                .map(|k| PatchOp::Remove {
                    path: format!("{base}/{k}"),
                })
                .collect::<Vec<_>>(),
        )
    };
    if let Some((problems, keys)) = inspect(pod.sc("seLinuxOptions")) {
        let base = pod.spec_path("securityContext/seLinuxOptions");
        out.push(
            violation(
                "pss.seLinuxOptions",
                None,
                pod,
                base.clone(),
                format!(
                    "seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: {})",
                    problems.join("; ")
                ),
            )
            .risky_fix(
                "remove the forbidden seLinuxOptions fields",
                RISK,
                removal(&base, &keys),
            ),
        );
    }
    for c in &pod.containers {
        if let Some((problems, keys)) = inspect(c.sc("seLinuxOptions")) {
            let base = c.sub("securityContext/seLinuxOptions");
            out.push(
                violation(
                    "pss.seLinuxOptions",
                    Some(c),
                    pod,
                    base.clone(),
                    format!(
                        "seLinuxOptions ({} set forbidden securityContext.seLinuxOptions: {})",
                        container_phrase(c),
                        problems.join("; ")
                    ),
                )
                .risky_fix(
                    "remove the forbidden seLinuxOptions fields",
                    RISK,
                    removal(&base, &keys),
                ),
            );
        }
    }
}

fn proc_mount(
    pod: &Pod<'_>,
    id: &'static str,
    allow_user_namespace: bool,
    out: &mut Vec<Violation>,
) {
    if allow_user_namespace && pod.in_user_namespace() {
        return;
    }
    for c in &pod.containers {
        let Some(value) = c.sc("procMount") else {
            continue;
        };
        let mount = value
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string());
        if mount == "Default" {
            continue;
        }
        let path = c.sub("securityContext/procMount");
        out.push(
            violation(
                id,
                Some(c),
                pod,
                path.clone(),
                format!(
                    "procMount ({} must not set securityContext.procMount to {})",
                    container_phrase(c),
                    quote(&mount)
                ),
            )
            .risky_fix(
                "set securityContext.procMount to Default",
                "a nested container runtime or build tool in the container may need an unmasked /proc",
                replace(path, json!("Default")),
            ),
        );
    }
}

fn proc_mount_baseline(pod: &Pod<'_>, ctx: &Ctx, out: &mut Vec<Violation>) {
    proc_mount(pod, "pss.procMount", ctx.version >= 35, out);
}

fn proc_mount_restricted(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    proc_mount(pod, "pss.procMount_restricted", false, out);
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn seccomp_baseline_annotations(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    let valid =
        |v: &str| v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/");
    let mut check = |key: String, container: Option<&Container<'_>>| {
        let Some(value) = pod.annotation(&key) else {
            return;
        };
        if valid(value) {
            return;
        }
        let path = format!(
            "{}/annotations/{}",
            pod.location.metadata,
            escape_pointer(&key)
        );
        out.push(
            violation(
                "pss.seccompProfile_baseline",
                container,
                pod,
                path.clone(),
                format!(
                    "seccompProfile (forbidden annotation {key}={})",
                    quote(value)
                ),
            )
            .risky_fix(
                "set the seccomp annotation to runtime/default",
                "the workload may need system calls that the runtime's default profile blocks",
                replace(path, json!("runtime/default")),
            ),
        );
    };
    check(SECCOMP_POD_ANNOTATION.to_string(), None);
    for c in &pod.containers {
        check(
            format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name),
            Some(c),
        );
    }
}

fn valid_seccomp_type(t: &str) -> bool {
    matches!(t, "RuntimeDefault" | "Localhost")
}

/// Violations for explicitly set bad seccomp profile types (shared by baseline and restricted).
fn seccomp_explicit(pod: &Pod<'_>, id: &'static str, out: &mut Vec<Violation>) {
    const RISK: &str =
        "the workload may need system calls that the runtime's default profile blocks";
    if let Some(profile) = pod.sc("seccompProfile") {
        let t = get_str(profile, "type").unwrap_or("");
        if !valid_seccomp_type(t) {
            let base = pod.spec_path("securityContext/seccompProfile");
            out.push(
                violation(
                    id,
                    None,
                    pod,
                    format!("{base}/type"),
                    format!(
                        "seccompProfile (pod must not set securityContext.seccompProfile.type to {})",
                        quote(t)
                    ),
                )
                .risky_fix(
                    "set securityContext.seccompProfile.type to RuntimeDefault",
                    RISK,
                    patch::set(profile, &base, &["type"], json!("RuntimeDefault")),
                ),
            );
        }
    }
    for c in &pod.containers {
        if let Some(profile) = c.sc("seccompProfile") {
            let t = get_str(profile, "type").unwrap_or("");
            if !valid_seccomp_type(t) {
                let base = c.sub("securityContext/seccompProfile");
                out.push(
                    violation(
                        id,
                        Some(c),
                        pod,
                        format!("{base}/type"),
                        format!(
                            "seccompProfile ({} must not set securityContext.seccompProfile.type to {})",
                            container_phrase(c),
                            quote(t)
                        ),
                    )
                    .risky_fix(
                        "set securityContext.seccompProfile.type to RuntimeDefault",
                        RISK,
                        patch::set(profile, &base, &["type"], json!("RuntimeDefault")),
                    ),
                );
            }
        }
    }
}

fn seccomp_baseline_fields(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    seccomp_explicit(pod, "pss.seccompProfile_baseline", out);
}

/// Safe sysctls of the Baseline profile, with the version that allowed each.
const SAFE_SYSCTLS: &[(u32, &str)] = &[
    (0, "kernel.shm_rmid_forced"),
    (0, "net.ipv4.ip_local_port_range"),
    (0, "net.ipv4.tcp_syncookies"),
    (0, "net.ipv4.ping_group_range"),
    (0, "net.ipv4.ip_unprivileged_port_start"),
    (27, "net.ipv4.ip_local_reserved_ports"),
    (29, "net.ipv4.tcp_keepalive_time"),
    (29, "net.ipv4.tcp_fin_timeout"),
    (29, "net.ipv4.tcp_keepalive_intvl"),
    (29, "net.ipv4.tcp_keepalive_probes"),
    (32, "net.ipv4.tcp_rmem"),
    (32, "net.ipv4.tcp_wmem"),
    (37, "net.ipv4.tcp_slow_start_after_idle"),
    (37, "net.ipv4.tcp_notsent_lowat"),
];

fn sysctls(pod: &Pod<'_>, ctx: &Ctx, out: &mut Vec<Violation>) {
    let Some(items) = pod.sc("sysctls").and_then(Value::as_array) else {
        return;
    };
    let allowed = |name: &str| {
        SAFE_SYSCTLS
            .iter()
            .any(|(since, n)| *since <= ctx.version && *n == name)
    };
    let mut bad_indices = Vec::new();
    let mut bad_names = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let name = get_str(item, "name").unwrap_or("");
        if !allowed(name) {
            bad_indices.push(i);
            bad_names.insert(name);
        }
    }
    if bad_indices.is_empty() {
        return;
    }
    let names: Vec<&str> = bad_names.into_iter().collect();
    let list = pod.spec_path("securityContext/sysctls");
    out.push(
        violation(
            "pss.sysctls",
            None,
            pod,
            list.clone(),
            format!("forbidden sysctls ({})", names.join(", ")),
        )
        .risky_fix(
            &format!("remove sysctls {}", names.join(", ")),
            "the application may rely on the kernel setting",
            Some(patch::remove_items(&list, bad_indices)),
        ),
    );
}

fn host_probes_and_host_lifecycle(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    for c in &pod.containers {
        let mut hosts: Vec<(String, String)> = Vec::new(); // (dotted field, host)
        let mut handler = |prefix: String, handler: Option<&Value>| {
            let Some(handler) = handler else { return };
            for kind in ["httpGet", "tcpSocket"] {
                if let Some(host) = get(handler, kind).and_then(|h| get_str(h, "host"))
                    && !host.is_empty()
                {
                    hosts.push((format!("{prefix}/{kind}/host"), host.to_string()));
                }
            }
        };
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            handler(probe.to_string(), get(c.value, probe));
        }
        if let Some(lifecycle) = get(c.value, "lifecycle") {
            for hook in ["postStart", "preStop"] {
                handler(format!("lifecycle/{hook}"), get(lifecycle, hook));
            }
        }
        if hosts.is_empty() {
            continue;
        }
        let fields: Vec<String> = hosts
            .iter()
            .map(|(f, h)| format!("{}={}", f.replace('/', "."), quote(h)))
            .collect();
        out.push(
            violation(
                "pss.hostProbesAndHostLifecycle",
                Some(c),
                pod,
                c.sub(&hosts[0].0),
                format!(
                    "probe or lifecycle host ({} must not set {})",
                    container_phrase(c),
                    fields.join(", ")
                ),
            )
            .risky_fix(
                "remove the host field from the probe and lifecycle handlers",
                "the handler then targets the pod's own IP instead of the configured host",
                Some(
                    hosts
                        .iter()
                        .map(|(f, _)| PatchOp::Remove { path: c.sub(f) })
                        .collect(),
                ),
            ),
        );
    }
}

// ---- Restricted ----

const ALLOWED_VOLUME_TYPES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Every other volume source of the core API.
const OTHER_VOLUME_TYPES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "image",
];

fn restricted_volumes(pod: &Pod<'_>, _: &Ctx, out: &mut Vec<Violation>) {
    for (i, volume) in pod.volumes() {
        let Some(map) = volume.as_object() else {
            continue;
        };
        let present = |k: &&str| map.get(*k).is_some_and(|v| !v.is_null());
        if ALLOWED_VOLUME_TYPES.iter().any(present) {
            continue;
        }
        let kind = match OTHER_VOLUME_TYPES.iter().find(|k| present(k)) {
            Some(k) => *k,
            None => {
                // Unknown fields only, or no source at all: the API server defaults a
                // volume without a known source to emptyDir.
                let unknown = map.iter().any(|(k, v)| k != "name" && !v.is_null());
                if !unknown {
                    continue;
                }
                "unknown"
            }
        };
        let name = get_str(volume, "name").unwrap_or("");
        out.push(
            violation(
                "pss.restrictedVolumes",
                None,
                pod,
                pod.spec_path(&format!("volumes/{i}")),
                format!(
                    "restricted volume types (volume {} uses restricted volume type {})",
                    quote(name),
                    quote(kind)
                ),
            )
            .no_fix("replace the volume with an allowed type by hand"),
        );
    }
}

fn allow_privilege_escalation(pod: &Pod<'_>, ctx: &Ctx, out: &mut Vec<Violation>) {
    if ctx.version >= 25 && pod.is_windows() {
        return;
    }
    for c in &pod.containers {
        if c.sc_bool("allowPrivilegeEscalation") == Some(false) {
            continue;
        }
        let v = violation(
            "pss.allowPrivilegeEscalation",
            Some(c),
            pod,
            c.sub("securityContext/allowPrivilegeEscalation"),
            format!(
                "allowPrivilegeEscalation != false ({} must set securityContext.allowPrivilegeEscalation=false)",
                container_phrase(c)
            ),
        );
        let v = if pod.is_windows() {
            v.no_fix(WINDOWS_NO_FIX)
        } else if let Some(reason) = cannot_disable_escalation(c) {
            v.no_fix(reason)
        } else {
            v.safe_fix(
                "set securityContext.allowPrivilegeEscalation to false",
                patch::set(
                    c.value,
                    &c.path,
                    &["securityContext", "allowPrivilegeEscalation"],
                    json!(false),
                ),
            )
        };
        out.push(v);
    }
}

fn user_namespace_relaxed(pod: &Pod<'_>, ctx: &Ctx) -> bool {
    ctx.relax_user_namespace_pods && pod.in_user_namespace()
}

/// The container's effective runAsUser is 0.
fn runs_as_uid_zero(pod: &Pod<'_>, c: &Container<'_>) -> bool {
    pod.effective(c, "runAsUser").is_some_and(is_zero)
}

fn run_as_non_root(pod: &Pod<'_>, ctx: &Ctx, out: &mut Vec<Violation>) {
    if user_namespace_relaxed(pod, ctx) {
        return;
    }
    const RISK: &str = "if the image's USER is root (or unset), the container will no longer start";
    const UID_ZERO: &str = "the container sets runAsUser: 0; choose a non-root UID first";
    let pod_setting = pod.sc("runAsNonRoot").and_then(Value::as_bool);
    // Containers that would inherit a pod-level runAsNonRoot.
    let inheriting_uid_zero = pod
        .containers
        .iter()
        .filter(|c| c.sc("runAsNonRoot").is_none())
        .any(|c| runs_as_uid_zero(pod, c));
    if pod_setting == Some(false) {
        let path = pod.spec_path("securityContext/runAsNonRoot");
        let v = violation(
            "pss.runAsNonRoot",
            None,
            pod,
            path.clone(),
            "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)".into(),
        );
        out.push(if inheriting_uid_zero {
            v.no_fix(UID_ZERO)
        } else {
            v.risky_fix(
                "set securityContext.runAsNonRoot to true",
                RISK,
                replace(path, json!(true)),
            )
        });
    }
    for c in &pod.containers {
        let path = c.sub("securityContext/runAsNonRoot");
        match c.sc("runAsNonRoot").map(Value::as_bool) {
            Some(Some(true)) => {}
            Some(_) => {
                let v = violation(
                    "pss.runAsNonRoot",
                    Some(c),
                    pod,
                    path.clone(),
                    format!(
                        "runAsNonRoot != true ({} must not set securityContext.runAsNonRoot=false)",
                        container_phrase(c)
                    ),
                );
                out.push(if runs_as_uid_zero(pod, c) {
                    v.no_fix(UID_ZERO)
                } else {
                    v.risky_fix(
                        "set securityContext.runAsNonRoot to true",
                        RISK,
                        replace(path, json!(true)),
                    )
                });
            }
            None if pod_setting == Some(true) => {}
            None => {
                let v = violation(
                    "pss.runAsNonRoot",
                    Some(c),
                    pod,
                    path,
                    format!(
                        "runAsNonRoot != true (pod or {} must set securityContext.runAsNonRoot=true)",
                        container_phrase(c)
                    ),
                );
                out.push(if pod_setting.is_none() && !inheriting_uid_zero {
                    v.risky_fix(
                        "set the pod's securityContext.runAsNonRoot to true",
                        RISK,
                        patch::set(
                            pod.spec,
                            &pod.location.spec,
                            &["securityContext", "runAsNonRoot"],
                            json!(true),
                        ),
                    )
                } else if !runs_as_uid_zero(pod, c) {
                    v.risky_fix(
                        "set securityContext.runAsNonRoot to true",
                        RISK,
                        patch::set(
                            c.value,
                            &c.path,
                            &["securityContext", "runAsNonRoot"],
                            json!(true),
                        ),
                    )
                } else {
                    v.no_fix(UID_ZERO)
                });
            }
        }
    }
}

fn run_as_user(pod: &Pod<'_>, ctx: &Ctx, out: &mut Vec<Violation>) {
    if user_namespace_relaxed(pod, ctx) {
        return;
    }
    const REASON: &str = "choose the non-root UID the image supports and set it by hand";
    if pod.sc("runAsUser").is_some_and(is_zero) {
        out.push(
            violation(
                "pss.runAsUser",
                None,
                pod,
                pod.spec_path("securityContext/runAsUser"),
                "runAsUser=0 (pod must not set runAsUser=0)".into(),
            )
            .no_fix(REASON),
        );
    }
    for c in &pod.containers {
        if c.sc("runAsUser").is_some_and(is_zero) {
            out.push(
                violation(
                    "pss.runAsUser",
                    Some(c),
                    pod,
                    c.sub("securityContext/runAsUser"),
                    format!(
                        "runAsUser=0 ({} must not set runAsUser=0)",
                        container_phrase(c)
                    ),
                )
                .no_fix(REASON),
            );
        }
    }
}

fn seccomp_restricted(pod: &Pod<'_>, ctx: &Ctx, out: &mut Vec<Violation>) {
    if ctx.version >= 25 && pod.is_windows() {
        return;
    }
    seccomp_explicit(pod, "pss.seccompProfile_restricted", out);
    let pod_profile = pod.sc("seccompProfile");
    let pod_valid =
        pod_profile.is_some_and(|p| valid_seccomp_type(get_str(p, "type").unwrap_or("")));
    if pod_valid {
        return;
    }
    for c in &pod.containers {
        if c.sc("seccompProfile").is_some() {
            continue;
        }
        let v = violation(
            "pss.seccompProfile_restricted",
            Some(c),
            pod,
            c.sub("securityContext/seccompProfile"),
            format!(
                "seccompProfile (pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
                container_phrase(c)
            ),
        );
        out.push(if pod.is_windows() {
            v.no_fix(WINDOWS_NO_FIX)
        } else if pod_profile.is_none() {
            v.safe_fix(
                "set the pod's securityContext.seccompProfile.type to RuntimeDefault",
                patch::set(
                    pod.spec,
                    &pod.location.spec,
                    &["securityContext", "seccompProfile", "type"],
                    json!("RuntimeDefault"),
                ),
            )
        } else {
            v.no_fix("fix the pod-level seccompProfile first")
        });
    }
}

fn capabilities_restricted(pod: &Pod<'_>, ctx: &Ctx, out: &mut Vec<Violation>) {
    if ctx.version >= 25 && pod.is_windows() {
        return;
    }
    for c in &pod.containers {
        let dropped_all = c.capabilities("drop").iter().any(|(_, cap)| *cap == "ALL");
        let bad_adds: Vec<(usize, &str)> = c
            .capabilities("add")
            .into_iter()
            .filter(|(_, cap)| *cap != "NET_BIND_SERVICE")
            .collect();
        if dropped_all && bad_adds.is_empty() {
            continue;
        }
        let mut details = Vec::new();
        let mut ops = Vec::new();
        if !dropped_all {
            details.push(format!(
                "{} must set securityContext.capabilities.drop=[\"ALL\"]",
                container_phrase(c)
            ));
        }
        if !bad_adds.is_empty() {
            let names: BTreeSet<&str> = bad_adds.iter().map(|(_, n)| *n).collect();
            let names: Vec<&str> = names.into_iter().collect();
            details.push(format!(
                "{} must not include {} in securityContext.capabilities.add",
                container_phrase(c),
                join_quote(&names)
            ));
            ops.extend(patch::remove_items(
                &c.sub("securityContext/capabilities/add"),
                bad_adds.iter().map(|(i, _)| *i).collect(),
            ));
        }
        let drop_ops = if dropped_all {
            Some(Vec::new())
        } else {
            patch::append(
                c.value,
                &c.path,
                &["securityContext", "capabilities", "drop"],
                json!("ALL"),
            )
        };
        let v = violation(
            "pss.capabilities_restricted",
            Some(c),
            pod,
            c.sub("securityContext/capabilities"),
            format!("unrestricted capabilities ({})", details.join("; ")),
        );
        out.push(match drop_ops {
            _ if pod.is_windows() => v.no_fix(WINDOWS_NO_FIX),
            Some(drop_ops) => {
                ops.extend(drop_ops);
                v.risky_fix(
                    "drop ALL capabilities and add back at most NET_BIND_SERVICE",
                    "processes that need CHOWN, SETUID, SETGID, DAC_OVERRIDE or other default capabilities will fail",
                    Some(ops),
                )
            }
            None => v,
        });
    }
}
