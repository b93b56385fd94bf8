//! The scan thread's work, at the lowest CPU and IO priority: webshell scans of files written
//! into web roots and periodic sweeps of the roots, package inventories of each workload
//! container's root filesystem (through the scan crate's root-confined walker: `/proc/PID/root`
//! is a magic link and is never followed out), and the pod spec for baseline checks.

use crate::ids::{IdGen, now_ms};
use podwarden_api::uplink::{InventoryUpload, OsInfo, PackageRecord, PodSpecUpload};
use podwarden_scan::inventory::rootfs::RootFs;
use podwarden_scan::inventory::walk::{ScanOptions, inventory_dir};
use podwarden_scan::inventory::{FileContents, Inventory};
use rustix::fs::{FileType, Mode, OFlags, RawDir};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::Path;

/// Largest file the webshell scanner reads.
pub const MAX_WEB_FILE: u64 = podwarden_webshell::DEFAULT_MAX_FILE_SIZE;
/// Most warnings copied into an inventory upload.
const MAX_WARNINGS: usize = 100;
/// Most files one sweep of one root looks at.
const MAX_SWEEP_FILES: usize = 100_000;
/// Deepest directory a sweep enters.
const MAX_SWEEP_DEPTH: usize = 24;

/// Puts the calling thread at nice 19 and, where the kernel allows, the idle IO class.
/// Threads it starts inherit both. Returns what was applied.
pub fn lower_thread_priority() -> (bool, bool) {
    let tid = rustix::thread::gettid();
    let nice = rustix::process::setpriority_process(Some(tid), 19).is_ok();
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_IDLE: libc::c_long = 3;
    const IOPRIO_CLASS_SHIFT: libc::c_long = 13;
    // SAFETY: ioprio_set takes three integers and touches no memory of ours; who = 0 with
    // IOPRIO_WHO_PROCESS means the calling thread.
    let io = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0 as libc::c_long,
            IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT,
        )
    } == 0;
    (nice, io)
}

/// A file's content read confined under a container root: `(bytes, sha256 hex)`.
pub fn read_confined(
    root: &Path,
    container_path: &str,
    limit: u64,
) -> Result<(Vec<u8>, String), String> {
    let rootfs = RootFs::open(root).map_err(|e| e.to_string())?;
    let file = rootfs
        .open_file(container_path)
        .map_err(|e| e.to_string())?;
    let bytes = file
        .read_all(limit)
        .map_err(|e| format!("{container_path}: {e}"))?;
    let sha = hex::encode(Sha256::digest(&bytes));
    Ok((bytes, sha))
}

/// What a sweep remembers of a file, to rescan only what changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i128,
    pub ino: u64,
}

/// Regular files under `container_dir` (confined under `root`) that changed since `known`
/// (updated in place), as container paths.
pub fn sweep_changed(
    root: &Path,
    container_dir: &str,
    known: &mut HashMap<String, FileStamp>,
) -> Vec<String> {
    let mut changed = Vec::new();
    let Ok(rootfs) = RootFs::open(root) else {
        return changed;
    };
    let Ok(top) = rootfs.open_dir(container_dir) else {
        return changed;
    };
    let mut stack: Vec<(OwnedFd, String, usize)> =
        vec![(top, container_dir.trim_end_matches('/').to_string(), 0)];
    let mut dirent: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut files = 0usize;
    while let Some((dir, path, depth)) = stack.pop() {
        let mut subdirs = Vec::new();
        {
            let mut raw = RawDir::new(&dir, dirent.spare_capacity_mut());
            while let Some(Ok(entry)) = raw.next() {
                let name = entry.file_name();
                let bytes = name.to_bytes();
                if bytes == b"." || bytes == b".." {
                    continue;
                }
                let child = format!("{path}/{}", String::from_utf8_lossy(bytes));
                match entry.file_type() {
                    FileType::Directory if depth < MAX_SWEEP_DEPTH => {
                        subdirs.push((name.to_owned(), child))
                    }
                    FileType::RegularFile | FileType::Unknown => {
                        files += 1;
                        if files > MAX_SWEEP_FILES {
                            return changed;
                        }
                        let Ok(stat) =
                            rustix::fs::statat(&dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                        else {
                            continue;
                        };
                        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
                            continue;
                        }
                        let stamp = FileStamp {
                            size: u64::try_from(stat.st_size).unwrap_or(0),
                            mtime_ns: i128::from(stat.st_mtime) * 1_000_000_000
                                + i128::from(stat.st_mtime_nsec),
                            ino: stat.st_ino,
                        };
                        if known.get(&child) != Some(&stamp) {
                            known.insert(child.clone(), stamp);
                            changed.push(child);
                        }
                    }
                    _ => {}
                }
            }
        }
        for (name, child) in subdirs {
            if let Ok(sub) = rustix::fs::openat(
                &dir,
                name.as_c_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                stack.push((sub, child, depth + 1));
            }
        }
    }
    changed
}

/// Inventories one container root on the calling thread (one worker: the scan runs at the
/// lowest priority and must not compete with the workload).
pub fn inventory_container(
    ids: &IdGen,
    root: &Path,
    container: &str,
    image: Option<String>,
) -> Result<InventoryUpload, String> {
    let options = ScanOptions {
        threads: 1,
        ..ScanOptions::default()
    };
    let detectors = podwarden_scan::inventory::detectors::default_detectors();
    let inventory = inventory_dir(root, &detectors, &options).map_err(|e| e.to_string())?;
    Ok(to_upload(ids, inventory, container, image))
}

/// The wire form of an inventory.
pub fn to_upload(
    ids: &IdGen,
    inventory: Inventory,
    container: &str,
    image: Option<String>,
) -> InventoryUpload {
    let packages = inventory
        .packages
        .into_iter()
        .map(|p| PackageRecord {
            ecosystem: p.ecosystem.osv_name().to_string(),
            release: p.release,
            name: p.name,
            version: p.version,
            source_version: p.source.as_ref().and_then(|s| s.version.clone()),
            source_name: p.source.map(|s| s.name),
            location: p.location,
            purl: p.purl,
        })
        .collect();
    let warnings = inventory
        .warnings
        .into_iter()
        .take(MAX_WARNINGS)
        .map(|w| format!("{}: {}", w.path, w.message))
        .collect();
    InventoryUpload {
        id: ids.next("inv"),
        scanned_at: now_ms(),
        container: container.to_string(),
        image,
        os: inventory.os.map(|os| OsInfo {
            id: os.id,
            version_id: os.version_id,
            pretty_name: os.pretty_name,
        }),
        packages,
        warnings,
    }
}

/// Reads a pod object from a JSON or YAML text (a `Pod`, or a bare `PodSpec` wrapped into one).
pub fn parse_pod(text: &str) -> Result<serde_json::Value, String> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(_) => {
            serde_saphyr::from_str(text).map_err(|e| format!("neither JSON nor YAML: {e}"))?
        }
    };
    if !value.is_object() {
        return Err("not an object".to_string());
    }
    if value.get("spec").is_some() {
        return Ok(value);
    }
    if value.get("containers").is_some() {
        return Ok(
            serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": value}),
        );
    }
    Err("no `spec` and no `containers`: not a pod".to_string())
}

/// Workload containers of a pod object: `(name, image)`, leaving out the agent's own
/// sidecar (env `PODWARDEN_CONTAINER_TYPE=sidecar`).
pub fn workload_containers(pod: &serde_json::Value) -> Vec<(String, Option<String>)> {
    let Some(containers) = pod.pointer("/spec/containers").and_then(|c| c.as_array()) else {
        return Vec::new();
    };
    containers
        .iter()
        .filter(|c| {
            !c.get("env").and_then(|e| e.as_array()).is_some_and(|env| {
                env.iter().any(|v| {
                    v.get("name").and_then(|n| n.as_str()) == Some("PODWARDEN_CONTAINER_TYPE")
                        && v.get("value").and_then(|n| n.as_str()) == Some("sidecar")
                })
            })
        })
        .filter_map(|c| {
            let name = c.get("name")?.as_str()?.to_string();
            let image = c.get("image").and_then(|i| i.as_str()).map(str::to_string);
            Some((name, image))
        })
        .collect()
}

/// A pod spec upload.
pub fn podspec_upload(ids: &IdGen, pod: serde_json::Value) -> PodSpecUpload {
    PodSpecUpload {
        id: ids.next("pod"),
        observed_at: now_ms(),
        pod,
    }
}
