//! The check catalogue: every check's stable id, level, severity, title, rationale and
//! remediation, for reports, SARIF rules and the console.

use crate::finding::Severity;
use serde::Serialize;

/// Which set a check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckLevel {
    /// Pod Security Standards, Baseline profile.
    Baseline,
    /// Pod Security Standards, Restricted profile.
    Restricted,
    /// Podwarden's hardening checks beyond the standard.
    Hardening,
}

/// One check's description.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub level: CheckLevel,
    pub severity: Severity,
    pub title: &'static str,
    pub rationale: &'static str,
    pub remediation: &'static str,
    /// For Pod Security Standards checks: the id used by upstream pod-security-admission.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_id: Option<&'static str>,
    /// For Pod Security Standards checks: first policy version (`v1.N`) the check applies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<&'static str>,
    /// Checks of other tools that test the same thing (e.g. checkov ids), for cross-checking.
    pub related: &'static [&'static str],
}

/// Looks a check up by id.
pub fn check(id: &str) -> Option<&'static Check> {
    static BY_ID: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static Check>> =
        std::sync::OnceLock::new();
    BY_ID
        .get_or_init(|| CATALOGUE.iter().map(|c| (c.id, c)).collect())
        .get(id)
        .copied()
}

macro_rules! pss {
    ($id:literal, $up:literal, $level:ident, $sev:ident, $since:literal, $title:literal, $why:literal, $fix:literal, [$($rel:literal),*]) => {
        Check {
            id: $id,
            level: CheckLevel::$level,
            severity: Severity::$sev,
            title: $title,
            rationale: $why,
            remediation: $fix,
            upstream_id: Some($up),
            since: Some($since),
            related: &[$($rel),*],
        }
    };
}

macro_rules! hardening {
    ($id:literal, $sev:ident, $title:literal, $why:literal, $fix:literal, [$($rel:literal),*]) => {
        Check {
            id: $id,
            level: CheckLevel::Hardening,
            severity: Severity::$sev,
            title: $title,
            rationale: $why,
            remediation: $fix,
            upstream_id: None,
            since: None,
            related: &[$($rel),*],
        }
    };
}

/// Every check, Pod Security Standards first (baseline, then restricted), then hardening.
pub static CATALOGUE: &[Check] = &[
    // ---- Pod Security Standards: Baseline ----
    pss!(
        "pss.windowsHostProcess",
        "windowsHostProcess",
        Baseline,
        Critical,
        "v1.0",
        "Windows HostProcess containers",
        "HostProcess containers run directly on the Windows node with host-level access; the Baseline standard forbids them.",
        "Remove securityContext.windowsOptions.hostProcess (or set it to false) on the pod and on every container.",
        []
    ),
    pss!(
        "pss.hostNamespaces",
        "hostNamespaces",
        Baseline,
        High,
        "v1.0",
        "Host namespaces",
        "Sharing the host's network, PID or IPC namespace lets the pod see and talk to host processes and interfaces.",
        "Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to false).",
        ["CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"]
    ),
    pss!(
        "pss.privileged",
        "privileged",
        Baseline,
        Critical,
        "v1.0",
        "Privileged containers",
        "A privileged container has every capability and all host devices; it is root on the node in all but name.",
        "Remove securityContext.privileged (or set it to false) and grant only the capabilities the process needs.",
        ["CKV_K8S_16"]
    ),
    pss!(
        "pss.capabilities_baseline",
        "capabilities_baseline",
        Baseline,
        High,
        "v1.0",
        "Capabilities beyond the default set",
        "Adding capabilities outside the container runtime's default set (e.g. SYS_ADMIN, NET_ADMIN, NET_RAW) widens what a compromised process can do to the node.",
        "Remove the capability from securityContext.capabilities.add; allowed: AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT.",
        ["CKV_K8S_25", "CKV_K8S_39"]
    ),
    pss!(
        "pss.hostPathVolumes",
        "hostPathVolumes",
        Baseline,
        High,
        "v1.0",
        "HostPath volumes",
        "A hostPath volume exposes the node's filesystem to the pod; it is a common path to node takeover.",
        "Replace the hostPath volume with an emptyDir, configMap, secret, persistentVolumeClaim or CSI volume.",
        []
    ),
    pss!(
        "pss.hostPorts",
        "hostPorts",
        Baseline,
        Medium,
        "v1.0",
        "Host ports",
        "A hostPort binds the node's network interface directly, bypassing network policy and exposing the pod on the node.",
        "Remove ports[].hostPort and expose the pod through a Service.",
        ["CKV_K8S_26"]
    ),
    pss!(
        "pss.appArmorProfile",
        "appArmorProfile",
        Baseline,
        Medium,
        "v1.0",
        "AppArmor profile",
        "Overriding or disabling the default AppArmor profile removes a layer of mandatory access control.",
        "Leave the AppArmor profile unset, or use RuntimeDefault or a Localhost profile (field securityContext.appArmorProfile or the container.apparmor.security.beta.kubernetes.io annotations).",
        []
    ),
    pss!(
        "pss.seLinuxOptions",
        "seLinuxOptions",
        Baseline,
        Medium,
        "v1.0",
        "SELinux options",
        "A custom SELinux user or role, or a type other than the container types, can escape the container's SELinux confinement.",
        "Remove seLinuxOptions.user and .role; use type container_t, container_init_t, container_kvm_t or container_engine_t (v1.31+), or leave it unset.",
        []
    ),
    pss!(
        "pss.procMount",
        "procMount",
        Baseline,
        Medium,
        "v1.0",
        "/proc mount type",
        "An unmasked /proc exposes host kernel information and knobs that the default masks hide.",
        "Remove securityContext.procMount or set it to Default (from v1.35 Unmasked is allowed for pods with hostUsers: false).",
        []
    ),
    pss!(
        "pss.seccompProfile_baseline",
        "seccompProfile_baseline",
        Baseline,
        Medium,
        "v1.0",
        "Seccomp profile not Unconfined",
        "An Unconfined seccomp profile gives the container every system call of the kernel.",
        "Do not set seccompProfile.type to Unconfined; use RuntimeDefault or Localhost.",
        ["CKV_K8S_31"]
    ),
    pss!(
        "pss.sysctls",
        "sysctls",
        Baseline,
        Medium,
        "v1.0",
        "Unsafe sysctls",
        "Sysctls outside the namespaced safe set can change the node's kernel for every pod on it.",
        "Remove the sysctl from spec.securityContext.sysctls; only the standard's safe sysctls are allowed.",
        []
    ),
    pss!(
        "pss.hostProbesAndHostLifecycle",
        "hostProbesAndHostLifecycle",
        Baseline,
        Medium,
        "v1.34",
        "Probe and lifecycle hook hosts",
        "A probe or lifecycle handler with a host field makes the kubelet send requests to an arbitrary address on the pod's behalf.",
        "Remove the host field from httpGet and tcpSocket in probes and lifecycle handlers; they then target the pod's own IP.",
        []
    ),
    // ---- Pod Security Standards: Restricted ----
    pss!(
        "pss.restrictedVolumes",
        "restrictedVolumes",
        Restricted,
        Medium,
        "v1.0",
        "Volume types",
        "The Restricted standard allows only volume types that do not reach node or network storage directly.",
        "Use only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected or secret volumes.",
        []
    ),
    pss!(
        "pss.allowPrivilegeEscalation",
        "allowPrivilegeEscalation",
        Restricted,
        Medium,
        "v1.8",
        "Privilege escalation",
        "Without allowPrivilegeEscalation: false, setuid binaries and file capabilities can raise a process's privileges.",
        "Set securityContext.allowPrivilegeEscalation: false on every container.",
        ["CKV_K8S_20"]
    ),
    pss!(
        "pss.runAsNonRoot",
        "runAsNonRoot",
        Restricted,
        Medium,
        "v1.0",
        "Running as non-root",
        "Unless runAsNonRoot is true, the kubelet lets the container start as root when the image says so.",
        "Set securityContext.runAsNonRoot: true on the pod (or on every container), and use an image whose USER is not root.",
        ["CKV_K8S_23"]
    ),
    pss!(
        "pss.runAsUser",
        "runAsUser",
        Restricted,
        High,
        "v1.23",
        "Running as non-root user",
        "runAsUser: 0 runs the container as root.",
        "Remove runAsUser: 0 or set a non-zero UID on the pod and on every container.",
        ["CKV_K8S_23"]
    ),
    pss!(
        "pss.seccompProfile_restricted",
        "seccompProfile_restricted",
        Restricted,
        Medium,
        "v1.19",
        "Seccomp profile required",
        "Without a seccomp profile a container can use every system call; the Restricted standard requires RuntimeDefault or Localhost.",
        "Set spec.securityContext.seccompProfile.type: RuntimeDefault (or Localhost) on the pod, or on every container.",
        ["CKV_K8S_31"]
    ),
    pss!(
        "pss.capabilities_restricted",
        "capabilities_restricted",
        Restricted,
        Medium,
        "v1.22",
        "Capabilities dropped",
        "Containers keep the runtime's default capabilities unless they drop ALL; the Restricted standard allows adding back only NET_BIND_SERVICE.",
        "Set securityContext.capabilities.drop: [\"ALL\"] and add at most NET_BIND_SERVICE.",
        ["CKV_K8S_37", "CKV_K8S_28"]
    ),
    pss!(
        "pss.procMount_restricted",
        "procMount_restricted",
        Restricted,
        Medium,
        "v1.35",
        "/proc mount type (restricted)",
        "The Restricted standard requires the default masked /proc even for pods in a user namespace.",
        "Remove securityContext.procMount or set it to Default.",
        []
    ),
    // ---- Hardening ----
    hardening!(
        "hardening.root-container",
        High,
        "Minimise root containers",
        "A container that runs as UID 0, or that may do so because nothing stops the image's USER from being root, turns any code execution into root inside the container and one kernel bug away from the node.",
        "Set runAsNonRoot: true (pod or container securityContext) and a non-zero runAsUser, and build the image with a non-root USER.",
        ["CKV_K8S_23"]
    ),
    hardening!(
        "hardening.capabilities",
        Medium,
        "Minimise containers with capabilities",
        "A container that does not drop ALL capabilities runs with the runtime's default set (CHOWN, DAC_OVERRIDE, SETUID, NET_RAW, ...), which most services never need.",
        "Set securityContext.capabilities.drop: [\"ALL\"] and add back only what the process needs (often nothing, or NET_BIND_SERVICE).",
        ["CKV_K8S_37", "CKV_K8S_28"]
    ),
    hardening!(
        "hardening.dangerous-capabilities",
        High,
        "Dangerous capabilities added",
        "Capabilities such as SYS_ADMIN, NET_ADMIN, NET_RAW, SYS_PTRACE or SYS_MODULE give a container powers that are routinely used to escape to the node or attack the network.",
        "Remove the capability from securityContext.capabilities.add; find a design that does not need it.",
        ["CKV_K8S_39", "CKV_K8S_25"]
    ),
    hardening!(
        "hardening.readonly-rootfs",
        Low,
        "Writable root filesystem",
        "A writable root filesystem lets an attacker drop tools and persist changes inside the container.",
        "Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the process must write.",
        ["CKV_K8S_22"]
    ),
    hardening!(
        "hardening.cpu-requests",
        Low,
        "CPU requests",
        "Without a CPU request the scheduler cannot place the pod fairly and the container is first to be starved.",
        "Set resources.requests.cpu.",
        ["CKV_K8S_10"]
    ),
    hardening!(
        "hardening.cpu-limits",
        Low,
        "CPU limits",
        "Without a CPU limit a runaway or abused container can take every core of its node.",
        "Set resources.limits.cpu (or rely on a LimitRange that sets one).",
        ["CKV_K8S_11"]
    ),
    hardening!(
        "hardening.memory-requests",
        Low,
        "Memory requests",
        "Without a memory request the pod is scheduled blindly and is among the first evicted under pressure.",
        "Set resources.requests.memory.",
        ["CKV_K8S_12"]
    ),
    hardening!(
        "hardening.memory-limits",
        Medium,
        "Memory limits",
        "Without a memory limit one container can exhaust its node's memory and take other workloads down (denial of service).",
        "Set resources.limits.memory.",
        ["CKV_K8S_13"]
    ),
    hardening!(
        "hardening.image-tag",
        Medium,
        "Image without a fixed tag",
        "An image with no tag or the :latest tag changes under the workload's feet; what runs is not what was reviewed.",
        "Reference images by an explicit version tag, or better by digest (@sha256:...).",
        ["CKV_K8S_14"]
    ),
    hardening!(
        "hardening.image-digest",
        Low,
        "Image not pinned by digest",
        "Tags are mutable; only a digest guarantees that the image that runs is the one that was scanned.",
        "Reference the image as name@sha256:<digest> (a tag may stay in front for readability).",
        ["CKV_K8S_43"]
    ),
    hardening!(
        "hardening.sa-token-automount",
        Low,
        "Service account token automounted",
        "Most workloads never call the Kubernetes API, yet by default every pod gets a token an attacker can use against it.",
        "Set spec.automountServiceAccountToken: false unless the workload talks to the API server.",
        ["CKV_K8S_38"]
    ),
    hardening!(
        "hardening.secret-env",
        Low,
        "Secrets in environment variables",
        "Secrets passed as environment variables leak into logs, crash dumps, child processes and `kubectl describe`.",
        "Mount the Secret as a file (secret volume) instead of env[].valueFrom.secretKeyRef or envFrom[].secretRef.",
        ["CKV_K8S_35"]
    ),
    hardening!(
        "hardening.plaintext-secret-env",
        High,
        "Plain-text secret in an environment variable",
        "An environment variable whose name says password, token or key carries a literal value: the secret is stored in the manifest itself.",
        "Move the value into a Secret and mount it as a file.",
        []
    ),
    hardening!(
        "hardening.runtime-socket",
        Critical,
        "Container runtime socket mounted",
        "A container that can reach the Docker, containerd or CRI-O socket can start privileged containers on the node: it owns the node.",
        "Remove the hostPath volume that exposes the runtime socket (or its directory).",
        ["CKV_K8S_27"]
    ),
    hardening!(
        "hardening.writable-hostpath",
        High,
        "Writable hostPath mount",
        "A hostPath mounted read-write lets the container change files on the node.",
        "Mount the volume with readOnly: true, or replace hostPath with another volume type.",
        []
    ),
    hardening!(
        "hardening.default-namespace",
        Low,
        "Default namespace",
        "Workloads in the default namespace share it with everything nobody placed deliberately; policies and RBAC scoped per namespace cannot isolate them.",
        "Set metadata.namespace to a dedicated namespace.",
        ["CKV_K8S_21"]
    ),
    hardening!(
        "hardening.liveness-probe",
        Low,
        "Liveness probe missing",
        "Without a liveness probe a hung container keeps receiving traffic and is never restarted.",
        "Add a livenessProbe to every regular container of a long-running workload.",
        ["CKV_K8S_8"]
    ),
    hardening!(
        "hardening.readiness-probe",
        Low,
        "Readiness probe missing",
        "Without a readiness probe traffic reaches the container before it can serve it.",
        "Add a readinessProbe to every regular container of a long-running workload.",
        ["CKV_K8S_9"]
    ),
];
