//! User and group names of uids and gids, read from each container's own `/etc/passwd` and
//! `/etc/group` (through its root, confined) and cached for a minute.

use super::container::{ContainerIndex, Containers};
use super::procfs::ProcFs;
use podwarden_scan::inventory::rootfs::RootFs;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Largest passwd/group file read.
const MAX_DB_BYTES: u64 = 1 << 20;
/// Names are re-read after this.
const TTL: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Db {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
    loaded: Instant,
}

/// Per-container name tables.
#[derive(Debug, Default)]
pub struct UserNames {
    tables: HashMap<Option<ContainerIndex>, Db>,
}

impl UserNames {
    /// Names of `uid` and `gid` in the container (or the host for `None`).
    pub fn names(
        &mut self,
        proc: &ProcFs,
        containers: &Containers,
        container: Option<ContainerIndex>,
        uid: u32,
        gid: u32,
    ) -> (Option<String>, Option<String>) {
        let stale = self
            .tables
            .get(&container)
            .is_none_or(|db| db.loaded.elapsed() >= TTL);
        if stale {
            let root = match container {
                Some(index) => containers.root_path(proc, index),
                None => Some(std::path::PathBuf::from("/")),
            };
            let db = root.map(|root| load(&root)).unwrap_or_else(|| Db {
                users: HashMap::new(),
                groups: HashMap::new(),
                loaded: Instant::now(),
            });
            self.tables.insert(container, db);
        }
        match self.tables.get(&container) {
            Some(db) => (db.users.get(&uid).cloned(), db.groups.get(&gid).cloned()),
            None => (None, None),
        }
    }
}

fn load(root: &std::path::Path) -> Db {
    let read = |path: &str| -> String {
        RootFs::open(root)
            .ok()
            .and_then(|fs| fs.read_file(path, MAX_DB_BYTES).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    };
    Db {
        users: parse_id_file(&read("/etc/passwd")),
        groups: parse_id_file(&read("/etc/group")),
        loaded: Instant::now(),
    }
}

/// `name:password:id:...` lines (passwd and group share the first three columns).
pub fn parse_id_file(text: &str) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let (false, Ok(id)) = (
            name.is_empty() || name.starts_with('#'),
            id.trim().parse::<u32>(),
        ) {
            names.entry(id).or_insert_with(|| name.to_string());
        }
    }
    names
}
