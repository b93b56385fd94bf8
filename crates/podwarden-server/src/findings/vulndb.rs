//! The OSV database the center matches inventories against: opened from the configured
//! `vuln_db` directory (the index `podwarden db import|update` writes), reloaded when the
//! index file changes, shared behind `Arc` so a reload never disturbs a running match, and
//! browsable (advisories per ecosystem, searchable) for "supported vulnerabilities".

use podwarden_scan::vuln::Database;
use podwarden_scan::vuln::index::INDEX_FILE;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// Identity of an index file on disk: a changed length or mtime means a new database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

/// A loaded database and its catalogue.
#[derive(Debug)]
pub struct LoadedDb {
    pub db: Database,
    /// Ecosystem names (index = position) for [`LoadedDb::ecosystems_of`].
    ecosystem_names: Vec<String>,
    /// CSR lists: the ecosystems of record `i` are `ecosystem_ids[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    ecosystem_ids: Vec<u16>,
    stamp: Stamp,
}

impl LoadedDb {
    fn new(db: Database, stamp: Stamp) -> LoadedDb {
        let mut ecosystem_names: Vec<String> = Vec::new();
        let mut offsets = vec![0u32];
        let mut ecosystem_ids = Vec::new();
        for entry in db.catalog() {
            for name in entry.ecosystems {
                let id = match ecosystem_names.iter().position(|n| n == name) {
                    Some(id) => id,
                    None => {
                        ecosystem_names.push(name.to_string());
                        ecosystem_names.len() - 1
                    }
                };
                ecosystem_ids.push(u16::try_from(id).unwrap_or(u16::MAX));
            }
            offsets.push(u32::try_from(ecosystem_ids.len()).unwrap_or(u32::MAX));
        }
        LoadedDb {
            db,
            ecosystem_names,
            offsets,
            ecosystem_ids,
            stamp,
        }
    }

    /// The ecosystems record number `index` affects.
    fn ecosystems_of(&self, index: usize) -> Vec<&str> {
        let start = self.offsets.get(index).copied().unwrap_or(0) as usize;
        let end = self.offsets.get(index + 1).copied().unwrap_or(0) as usize;
        self.ecosystem_ids
            .get(start..end)
            .unwrap_or(&[])
            .iter()
            .filter_map(|id| self.ecosystem_names.get(usize::from(*id)))
            .map(String::as_str)
            .collect()
    }

    /// A label naming this load (build time and record count), stored with match results.
    pub fn label(&self) -> String {
        let info = self.db.info();
        format!("{} ({} records)", info.built_at, info.records)
    }

    /// Advisories matching `q` (case-insensitive substring of the id or summary) and
    /// `ecosystem` (exact), one page of them and the total.
    pub fn search(
        &self,
        q: Option<&str>,
        ecosystem: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> (Vec<AdvisoryEntry>, u64) {
        let needle = q.map(str::to_lowercase).filter(|q| !q.is_empty());
        let wanted_eco = match ecosystem {
            Some(name) => match self.ecosystem_names.iter().position(|n| n == name) {
                Some(id) => Some(u16::try_from(id).unwrap_or(u16::MAX)),
                None => return (Vec::new(), 0),
            },
            None => None,
        };
        let mut total = 0u64;
        let mut items = Vec::new();
        for (index, advisory) in self.db.advisories().enumerate() {
            if let Some(eco) = wanted_eco {
                let start = self.offsets.get(index).copied().unwrap_or(0) as usize;
                let end = self.offsets.get(index + 1).copied().unwrap_or(0) as usize;
                if !self
                    .ecosystem_ids
                    .get(start..end)
                    .unwrap_or(&[])
                    .contains(&eco)
                {
                    continue;
                }
            }
            if let Some(needle) = &needle
                && !advisory.id.to_lowercase().contains(needle.as_str())
                && !advisory.summary.to_lowercase().contains(needle.as_str())
            {
                continue;
            }
            if total as usize >= offset && items.len() < limit {
                items.push(AdvisoryEntry {
                    id: advisory.id.to_string(),
                    summary: advisory.summary.to_string(),
                    withdrawn: advisory.withdrawn,
                    ecosystems: self
                        .ecosystems_of(index)
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                });
            }
            total += 1;
        }
        (items, total)
    }
}

/// One advisory of the loaded database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AdvisoryEntry {
    pub id: String,
    pub summary: String,
    pub withdrawn: bool,
    pub ecosystems: Vec<String>,
}

/// What the database holder knows right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VulnDbStatus {
    pub loaded: bool,
    /// The configured directory, if any.
    pub dir: Option<String>,
    pub built_at: Option<String>,
    pub records: u64,
    pub withdrawn: u64,
    /// Advisories per ecosystem.
    pub ecosystems: BTreeMap<String, u64>,
    /// Why no database is loaded (or why the last reload failed), for people.
    pub message: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    loaded: Option<Arc<LoadedDb>>,
    attempted: bool,
    error: Option<String>,
}

/// The center's vulnerability database: configured directory and current load.
#[derive(Debug)]
pub struct VulnDb {
    dir: Option<PathBuf>,
    inner: RwLock<Inner>,
}

fn stamp_of(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

impl VulnDb {
    /// A holder for the database in `dir` (nothing is read until first use).
    pub fn new(dir: Option<PathBuf>) -> VulnDb {
        VulnDb {
            dir,
            inner: RwLock::new(Inner::default()),
        }
    }

    /// A holder with an already loaded database (tests, benchmarks).
    pub fn with_database(db: Database) -> VulnDb {
        let loaded = LoadedDb::new(
            db,
            Stamp {
                len: 0,
                modified: None,
            },
        );
        VulnDb {
            dir: None,
            inner: RwLock::new(Inner {
                loaded: Some(Arc::new(loaded)),
                attempted: true,
                error: None,
            }),
        }
    }

    /// The current database, if one is loaded (no IO).
    pub fn current(&self) -> Option<Arc<LoadedDb>> {
        self.inner
            .read()
            .ok()
            .and_then(|inner| inner.loaded.clone())
    }

    /// The current database, loading it first if this is the first use.
    pub async fn get(self: &Arc<Self>) -> Option<Arc<LoadedDb>> {
        let attempted = self.inner.read().map(|i| i.attempted).unwrap_or(true);
        if !attempted {
            let holder = Arc::clone(self);
            let _ = tokio::task::spawn_blocking(move || holder.refresh()).await;
        }
        self.current()
    }

    /// Re-reads the index when it changed on disk (blocking IO: call from a blocking task).
    /// Returns true when a new database was loaded. A failed load keeps the previous one.
    pub fn refresh(&self) -> bool {
        let Some(dir) = &self.dir else {
            if let Ok(mut inner) = self.inner.write() {
                inner.attempted = true;
            }
            return false;
        };
        let path = dir.join(INDEX_FILE);
        let stamp = stamp_of(&path);
        let unchanged = self.inner.read().is_ok_and(|inner| {
            inner.attempted
                && match (&inner.loaded, stamp) {
                    (Some(loaded), Some(stamp)) => loaded.stamp == stamp,
                    (None, None) => true,
                    _ => false,
                }
        });
        if unchanged {
            return false;
        }
        let result = match stamp {
            None => Err(format!(
                "no vulnerability database in {} (run `podwarden db update --db {}`)",
                dir.display(),
                dir.display()
            )),
            Some(stamp) => Database::open(dir)
                .map(|db| LoadedDb::new(db, stamp))
                .map_err(|err| err.to_string()),
        };
        let Ok(mut inner) = self.inner.write() else {
            return false;
        };
        inner.attempted = true;
        match result {
            Ok(loaded) => {
                tracing::info!(
                    dir = %dir.display(),
                    records = loaded.db.info().records,
                    "vulnerability database loaded"
                );
                inner.loaded = Some(Arc::new(loaded));
                inner.error = None;
                true
            }
            Err(message) => {
                if inner.error.as_deref() != Some(message.as_str()) {
                    tracing::warn!(error = %message, "vulnerability database not loaded");
                }
                inner.error = Some(message);
                false
            }
        }
    }

    /// What is loaded, for the API.
    pub fn status(&self) -> VulnDbStatus {
        let inner = self.inner.read().ok();
        let loaded = inner.as_ref().and_then(|i| i.loaded.clone());
        let error = inner.as_ref().and_then(|i| i.error.clone());
        let dir = self.dir.as_ref().map(|d| d.display().to_string());
        match loaded {
            Some(loaded) => {
                let info = loaded.db.info();
                VulnDbStatus {
                    loaded: true,
                    dir,
                    built_at: Some(info.built_at.clone()).filter(|b| !b.is_empty()),
                    records: info.records,
                    withdrawn: info.withdrawn,
                    ecosystems: info.ecosystems.clone(),
                    message: error,
                }
            }
            None => VulnDbStatus {
                loaded: false,
                message: Some(error.unwrap_or_else(|| {
                    if self.dir.is_none() {
                        "no vulnerability database is configured (setting `vuln_db`): \
                         inventories are kept and matched once one is loaded"
                            .to_string()
                    } else {
                        "the vulnerability database is not loaded yet".to_string()
                    }
                })),
                dir,
                built_at: None,
                records: 0,
                withdrawn: 0,
                ecosystems: BTreeMap::new(),
            },
        }
    }
}
