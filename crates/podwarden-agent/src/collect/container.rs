//! Which container a process belongs to (sidecar mode): processes are grouped by mount
//! namespace; the agent's own mount namespace is its own container and is ignored. Each
//! workload container keeps a live member whose `/proc/PID/root` reaches its filesystem.

use super::procfs::{ProcFs, RelPath, container_id_from_cgroup, namespace_inode};
use podwarden_api::event::Container;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Pod identity from the downward API / environment, copied into every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodIdentity {
    pub pod_name: Option<String>,
    pub namespace: Option<String>,
    pub pod_uid: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Workload container names and images from a pod spec, when one was given.
    pub containers: Vec<(String, Option<String>)>,
}

/// Index of a container in [`Containers`].
pub type ContainerIndex = u32;

/// A workload container.
#[derive(Debug, Clone)]
pub struct ContainerSlot {
    /// Mount namespace inode.
    pub mnt_ns: u64,
    /// The event context.
    pub info: Container,
    /// A live member process: `/proc/<root_pid>/root` is the container's filesystem.
    pub root_pid: u32,
    /// Live members.
    pub members: u32,
    /// Where the container's root directory is reachable by path from the agent (a chroot
    /// or a container on the same mount tree); `None` when only `/proc/PID/root` reaches it.
    /// Executable and working-directory links are shown relative to the container root.
    pub root_prefix: Option<String>,
    /// The agent's own container (never reported).
    pub own: bool,
}

/// The containers seen so far, keyed by mount namespace.
#[derive(Debug)]
pub struct Containers {
    own_mnt_ns: Option<u64>,
    pod: PodIdentity,
    slots: Vec<ContainerSlot>,
    by_ns: HashMap<u64, ContainerIndex>,
    link: Vec<u8>,
    text: Vec<u8>,
}

impl Containers {
    /// Reads the agent's own mount namespace from `/proc/self/ns/mnt` (through `proc`).
    pub fn new(proc: &ProcFs, own_pid: u32, pod: PodIdentity) -> Containers {
        let mut link = Vec::with_capacity(64);
        let own_mnt_ns = proc
            .readlink(RelPath::pid(own_pid, "ns/mnt").as_cstr(), &mut link)
            .ok()
            .and_then(|()| namespace_inode(&link));
        Containers {
            own_mnt_ns,
            pod,
            slots: Vec::new(),
            by_ns: HashMap::new(),
            link,
            text: Vec::with_capacity(4096),
        }
    }

    /// The pod identity.
    pub fn pod(&self) -> &PodIdentity {
        &self.pod
    }

    /// The container of `pid`, creating its slot on first sight. `None` when the mount
    /// namespace cannot be read (the process is gone, or no permission).
    pub fn attribute(&mut self, proc: &ProcFs, pid: u32) -> Option<ContainerIndex> {
        proc.readlink(RelPath::pid(pid, "ns/mnt").as_cstr(), &mut self.link)
            .ok()?;
        let ns = namespace_inode(&self.link)?;
        if let Some(&index) = self.by_ns.get(&ns) {
            return Some(index);
        }
        let own = Some(ns) == self.own_mnt_ns;
        let id = proc
            .read(
                RelPath::pid(pid, "cgroup").as_cstr(),
                &mut self.text,
                64 * 1024,
            )
            .ok()
            .and_then(|_| container_id_from_cgroup(&self.text))
            .unwrap_or_else(|| format!("mntns-{ns}"));
        let root_prefix = self.reachable_root(proc, pid);
        // Names and images come from a pod spec; with several workload containers the mount
        // namespace alone cannot tell which is which, so they stay unnamed.
        let (name, image) = match (own, self.pod.containers.as_slice()) {
            (false, [(name, image)]) => (Some(name.clone()), image.clone()),
            _ => (None, None),
        };
        let info = Container {
            id,
            name,
            image,
            pod: self.pod.pod_name.clone(),
            namespace: self.pod.namespace.clone(),
            pod_uid: self.pod.pod_uid.clone(),
            privileged: false,
            labels: self.pod.labels.clone(),
        };
        let index = ContainerIndex::try_from(self.slots.len()).ok()?;
        tracing::debug!(index, pid, mnt_ns = ns, own, id = %info.id, "new container");
        self.slots.push(ContainerSlot {
            mnt_ns: ns,
            info,
            root_pid: pid,
            members: 0,
            root_prefix,
            own,
        });
        self.by_ns.insert(ns, index);
        Some(index)
    }

    /// `readlink /proc/PID/root` when it names a directory that is the same as
    /// `/proc/PID/root` (same device and inode) and is not `/`.
    fn reachable_root(&mut self, proc: &ProcFs, pid: u32) -> Option<String> {
        proc.readlink(RelPath::pid(pid, "root").as_cstr(), &mut self.link)
            .ok()?;
        let target = String::from_utf8(self.link.clone()).ok()?;
        if target == "/" || !target.starts_with('/') {
            return None;
        }
        let through_proc = rustix::fs::statat(
            proc.dir(),
            RelPath::pid(pid, "root").as_cstr(),
            rustix::fs::AtFlags::empty(),
        )
        .ok()?;
        let by_path = rustix::fs::stat(target.as_str()).ok()?;
        (through_proc.st_dev == by_path.st_dev && through_proc.st_ino == by_path.st_ino)
            .then_some(target)
    }

    /// A slot.
    pub fn get(&self, index: ContainerIndex) -> Option<&ContainerSlot> {
        self.slots.get(index as usize)
    }

    /// A member joined.
    pub fn joined(&mut self, index: ContainerIndex, pid: u32) {
        if let Some(slot) = self.slots.get_mut(index as usize) {
            if slot.members == 0 {
                tracing::debug!(index, pid, "container root reached through a new member");
                slot.root_pid = pid;
            }
            slot.members += 1;
        }
    }

    /// A member left; `replacement` is another live member, if the caller knows one.
    pub fn left(&mut self, index: ContainerIndex, pid: u32, replacement: Option<u32>) {
        if let Some(slot) = self.slots.get_mut(index as usize) {
            slot.members = slot.members.saturating_sub(1);
            if slot.root_pid == pid
                && let Some(other) = replacement
            {
                slot.root_pid = other;
            }
        }
    }

    /// Workload containers with at least one live member.
    pub fn workloads(&self) -> impl Iterator<Item = (ContainerIndex, &ContainerSlot)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.own && s.members > 0)
            .map(|(i, s)| (i as ContainerIndex, s))
    }

    /// Where the container's root filesystem is reached from the agent:
    /// `<proc>/<root_pid>/root`.
    pub fn root_path(&self, proc: &ProcFs, index: ContainerIndex) -> Option<PathBuf> {
        let slot = self.get(index)?;
        Some(proc.path().join(slot.root_pid.to_string()).join("root"))
    }
}

/// Strips a container's reachable root prefix from a path read from a link.
pub fn container_path(path: &str, root_prefix: Option<&str>) -> String {
    match root_prefix {
        Some(prefix) => match path.strip_prefix(prefix) {
            Some("") => "/".to_string(),
            Some(rest) if rest.starts_with('/') => rest.to_string(),
            _ => path.to_string(),
        },
        None => path.to_string(),
    }
}
