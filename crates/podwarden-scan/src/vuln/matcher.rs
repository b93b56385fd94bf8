//! Matching an inventory against the index, as the OSV schema's "Evaluation" section says:
//! per applicable `affected` entry, the `versions` list and every SEMVER / ECOSYSTEM range
//! (GIT ranges are skipped, the others still evaluated), withdrawn records never, nor
//! informational entries (RustSec's unsound / unmaintained notices, which cargo-audit reports
//! as warnings, not vulnerabilities); then one finding per package and vulnerability, aliases
//! merged.
//!
//! Versions are compared through the ranks the index settled at build time (see
//! [`super::index`]): a package version is located once per ordered list with a binary
//! search, after which every event comparison is an integer comparison.

use super::index::{
    AffectedRow, Database, EV_FIXED, EV_INTRODUCED, EV_LAST_AFFECTED, EV_LIMIT, EventRow,
    FLAG_INFORMATIONAL, KeyRow, NO_SCORE, RANGE_ECOSYSTEM, RANGE_SEMVER, Span, severity_from_code,
};
use super::version::{Scheme, compare, merge_sort_by};
use super::{Finding, Severity};
use crate::inventory::{Ecosystem, Inventory, Package};
use std::borrow::Cow;
use std::cmp::Ordering;

/// The name under which a package is indexed and looked up: PyPI names normalised as PEP 503
/// says, NuGet and Packagist names lower-cased (both registries ignore case), others as is.
/// `ecosystem` is the ecosystem without release suffix.
pub fn normalize_name<'a>(ecosystem: &str, name: &'a str) -> Cow<'a, str> {
    match ecosystem {
        "PyPI" => {
            let mut out = String::with_capacity(name.len());
            pep503_into(name, &mut out);
            Cow::Owned(out)
        }
        "NuGet" | "Packagist" if name.bytes().any(|b| b.is_ascii_uppercase()) => {
            Cow::Owned(name.to_ascii_lowercase())
        }
        _ => Cow::Borrowed(name),
    }
}

/// PEP 503: lower-case, and every run of `-`, `_`, `.` becomes one `-`.
fn pep503_into(name: &str, out: &mut String) {
    out.clear();
    let mut in_separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator = false;
        }
    }
}

/// Normalises into a reusable buffer (no allocation once the buffer is warm).
fn normalize_into<'b>(ecosystem: &str, name: &'b str, buf: &'b mut String) -> &'b str {
    match ecosystem {
        "PyPI" => {
            pep503_into(name, buf);
            buf.as_str()
        }
        "NuGet" | "Packagist" if name.bytes().any(|b| b.is_ascii_uppercase()) => {
            buf.clear();
            buf.extend(name.chars().map(|c| c.to_ascii_lowercase()));
            buf.as_str()
        }
        _ => name,
    }
}

/// The version as OSV writes it for the ecosystem: Go module versions lose their `v`, the Go
/// toolchain (`stdlib`, `toolchain`) its `go`.
pub fn normalize_version<'a>(ecosystem: Ecosystem, name: &str, version: &'a str) -> &'a str {
    if ecosystem != Ecosystem::Go {
        return version;
    }
    let version = if matches!(name, "stdlib" | "toolchain") {
        version.strip_prefix("go").unwrap_or(version)
    } else {
        version
    };
    version.strip_prefix('v').unwrap_or(version)
}

/// Whether an `affected[].package.ecosystem` string (`Debian:12`, `Ubuntu:Pro:22.04:LTS`,
/// `Red Hat:enterprise_linux:9::appstream`) applies to a package of `ecosystem` from OS
/// release `release` (as [`Package::release`] writes it). Without a release on either side,
/// the entry applies.
pub fn ecosystem_applies(ecosystem: Ecosystem, release: Option<&str>, osv_ecosystem: &str) -> bool {
    let (base, suffix) = match osv_ecosystem.split_once(':') {
        Some((base, suffix)) => (base, suffix),
        None => (osv_ecosystem, ""),
    };
    if base != ecosystem.osv_name() {
        return false;
    }
    let release = release.map(str::trim).unwrap_or("");
    if suffix.is_empty() || release.is_empty() {
        return true;
    }
    match ecosystem {
        Ecosystem::Debian | Ecosystem::AlmaLinux | Ecosystem::RockyLinux => {
            major(suffix) == major(release)
        }
        Ecosystem::Alpine => alpine_branch(suffix) == alpine_branch(release),
        // `22.04`, `22.04:LTS`, `Pro:22.04:LTS`, `Pro:FIPS-updates:22.04:LTS`.
        Ecosystem::Ubuntu => suffix.split(':').any(|part| part == release),
        // `enterprise_linux:9::appstream`; other products (EUS streams, OpenShift, ...) ship
        // other builds and do not apply to a plain RHEL install.
        Ecosystem::RedHat => {
            let mut parts = suffix.split(':');
            parts.next() == Some("enterprise_linux")
                && parts.next().is_some_and(|v| major(v) == major(release))
        }
        _ => suffix == release,
    }
}

/// `9.4` → `9`, `12` → `12`.
fn major(release: &str) -> &str {
    release.split('.').next().unwrap_or(release)
}

/// `v3.20`, `3.20.3`, `v3.20.1` → `3.20`; `edge` → `edge`.
fn alpine_branch(release: &str) -> &str {
    let release = release.strip_prefix('v').unwrap_or(release);
    let mut dots = release.match_indices('.').map(|(i, _)| i);
    match (dots.next(), dots.next()) {
        (Some(_), Some(second)) => release.get(..second).unwrap_or(release),
        _ => release,
    }
}

/// Whether advisories of this ecosystem name binary packages (then both the binary and the
/// source name are looked up) rather than source packages (then only the source name is).
fn advisories_name_binaries(ecosystem: Ecosystem) -> bool {
    matches!(
        ecosystem,
        Ecosystem::RedHat | Ecosystem::AlmaLinux | Ecosystem::RockyLinux
    )
}

/// `(name, version)` pairs to look a package up by.
fn lookup_targets(package: &Package) -> [Option<(&str, &str)>; 2] {
    let binary = (package.name.as_str(), package.version.as_str());
    let Some(source) = package
        .source
        .as_ref()
        .filter(|_| package.ecosystem.is_os())
    else {
        return [Some(binary), None];
    };
    let source_target = (
        source.name.as_str(),
        source
            .version
            .as_deref()
            .unwrap_or(package.version.as_str()),
    );
    if advisories_name_binaries(package.ecosystem) {
        if source_target.0 == binary.0 {
            [Some(binary), None]
        } else {
            [Some(binary), Some(source_target)]
        }
    } else {
        [Some(source_target), None]
    }
}

/// Sort position of an event version: `introduced: "0"` is below every version, the others
/// in the order of their ranks.
fn event_order(a: &EventRow, a_ver: &str, b: &EventRow, b_ver: &str) -> Ordering {
    let a_zero = a.kind == EV_INTRODUCED && a_ver == "0";
    let b_zero = b.kind == EV_INTRODUCED && b_ver == "0";
    match (a_zero, b_zero) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.rank.cmp(&b.rank),
    }
}

/// Where a version sits in one `order` list: `(first row, row count, rank)`.
type Located = (u32, u32, u32);

/// A version being evaluated, with its rank in every `order` list consulted so far (one or
/// two per key, so a short list searched in place).
struct Probe<'v, 'c> {
    version: &'v str,
    ranks: &'c mut Vec<Located>,
}

impl Probe<'_, '_> {
    fn rank(&mut self, db: &Database, scheme: Scheme, list: Span) -> u32 {
        if let Some(&(_, _, rank)) = self
            .ranks
            .iter()
            .find(|r| r.0 == list.first && r.1 == list.count)
        {
            return rank;
        }
        let rank = db.rank_of(scheme, list, self.version);
        self.ranks.push((list.first, list.count, rank));
        rank
    }
}

/// The scheme and `order` list a range of `key` is evaluated with; None for GIT ranges and
/// ECOSYSTEM ranges of ecosystems without a known order.
fn range_order(
    kind: u32,
    key: &KeyRow,
    ecosystem_scheme: Option<Scheme>,
) -> Option<(Scheme, Span)> {
    match kind {
        RANGE_SEMVER => Some((Scheme::SemVer, key.order_semver)),
        RANGE_ECOSYSTEM => ecosystem_scheme.map(|scheme| (scheme, key.order_ecosystem)),
        _ => None,
    }
}

/// A fixed version named by a matched entry.
#[derive(Clone, Copy)]
struct Fix<'a> {
    at: &'a str,
    /// The scheme and list its rank is in (None: an ecosystem without a known order).
    order: Option<(Scheme, Span)>,
    rank: u32,
}

/// One matched `affected` row for the package being matched.
#[derive(Debug, Clone, Copy)]
struct Hit {
    record: u32,
    affected: u32,
}

/// Buffers reused across packages so the loop allocates only for results.
#[derive(Default)]
struct Scratch {
    name: String,
    hits: Vec<Hit>,
    /// Union-find parents, by hit index.
    parent: Vec<u32>,
    /// (interned id offset, hit index).
    keys: Vec<(u32, u32)>,
    /// (group root, hit index).
    order: Vec<(u32, u32)>,
    members: Vec<Hit>,
    /// Ranks of the version being matched.
    ranks: Vec<Located>,
    /// Ranks of the installed version (kept across one package's findings) and of a
    /// candidate fix, while writing findings.
    installed_ranks: Vec<Located>,
    fix_ranks: Vec<Located>,
}

/// The root of `i` in a union-find parent table (roots point at themselves).
fn find_root(parent: &[u32], mut i: u32) -> u32 {
    while let Some(&up) = parent.get(i as usize) {
        if up == i {
            break;
        }
        i = up;
    }
    i
}

impl Database {
    /// Every finding for the inventory's packages, sorted by package (ecosystem, name,
    /// version, location) then advisory id.
    pub fn matches(&self, inventory: &Inventory) -> Vec<Finding> {
        self.matches_packages(&inventory.packages)
    }

    /// [`Database::matches`] over a plain list of packages.
    pub fn matches_packages(&self, packages: &[Package]) -> Vec<Finding> {
        // Packages are visited in the output order, so only each package's own findings
        // need sorting (by id), never the whole list.
        let mut order: Vec<&Package> = packages.iter().collect();
        order.sort_by(|a, b| {
            (a.ecosystem, &a.name, &a.version, &a.location).cmp(&(
                b.ecosystem,
                &b.name,
                &b.version,
                &b.location,
            ))
        });
        let mut scratch = Scratch::default();
        let mut findings = Vec::new();
        for package in order {
            let start = findings.len();
            self.match_into(package, &mut scratch, &mut findings);
            if let Some(own) = findings.get_mut(start..) {
                own.sort_by(|a, b| a.id.cmp(&b.id));
            }
        }
        findings
    }

    /// Findings for one package.
    pub fn match_package(&self, package: &Package) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.match_into(package, &mut Scratch::default(), &mut findings);
        findings.sort_by(|a, b| a.id.cmp(&b.id));
        findings
    }

    fn match_into(&self, package: &Package, scratch: &mut Scratch, out: &mut Vec<Finding>) {
        let eco_name = package.ecosystem.osv_name();
        let release = package.release.as_deref();
        scratch.hits.clear();
        let mut matched_version = package.version.as_str();
        for (target, (name, version)) in lookup_targets(package).into_iter().flatten().enumerate() {
            let version = normalize_version(package.ecosystem, name, version);
            scratch.ranks.clear();
            let mut probe = Probe {
                version,
                ranks: &mut scratch.ranks,
            };
            let key = normalize_into(eco_name, name, &mut scratch.name);
            let Some(span) = self.lookup(eco_name, key) else {
                continue;
            };
            for index in span.range() {
                let Some(row) = self.affected.get(index) else {
                    continue;
                };
                let withdrawn = self
                    .records
                    .get(row.record as usize)
                    .is_none_or(|r| r.withdrawn != 0);
                if withdrawn
                    || row.flags & FLAG_INFORMATIONAL != 0
                    || !ecosystem_applies(package.ecosystem, release, self.str(row.ecosystem))
                    || (target > 0 && scratch.hits.iter().any(|h| h.affected as usize == index))
                {
                    continue;
                }
                if self.affected_includes(row, &mut probe) {
                    matched_version = version;
                    scratch.hits.push(Hit {
                        record: row.record,
                        affected: index as u32,
                    });
                }
            }
        }
        if scratch.hits.is_empty() {
            return;
        }
        self.build_findings(package, matched_version, scratch, out);
    }

    /// The rank of `version` among the versions of one `order` list (see [`EventRow::rank`]):
    /// `2 × class + 1` when it equals a class, else `2 × (the class above it)`. Costs a
    /// binary search of `compare` calls.
    fn rank_of(&self, scheme: Scheme, list: Span, version: &str) -> u32 {
        let rows = self.order.get(list.range()).unwrap_or(&[]);
        let above = rows.partition_point(|row| {
            compare(scheme, self.str(row.version), version) == Ordering::Less
        });
        match rows.get(above) {
            Some(row) if compare(scheme, version, self.str(row.version)) == Ordering::Equal => {
                row.class.saturating_mul(2).saturating_add(1)
            }
            Some(row) => row.class.saturating_mul(2),
            None => rows
                .last()
                .map_or(0, |row| row.class.saturating_add(1).saturating_mul(2)),
        }
    }

    /// Whether the probed version is affected according to one `affected` row.
    fn affected_includes(&self, row: &AffectedRow, probe: &mut Probe<'_, '_>) -> bool {
        let versions = self.versions.get(row.versions.range()).unwrap_or(&[]);
        if versions
            .binary_search_by(|&v| self.str(v).cmp(probe.version))
            .is_ok()
        {
            return true;
        }
        let Some(key) = self.keys.get(row.key as usize) else {
            return false;
        };
        let ranges = self.ranges.get(row.ranges.range()).unwrap_or(&[]);
        let mut ecosystem_scheme: Option<Option<Scheme>> = None;
        ranges.iter().any(|range| {
            if range.kind != RANGE_SEMVER && range.kind != RANGE_ECOSYSTEM {
                // GIT ranges name commits, not versions: skipped, the others still count.
                return false;
            }
            let scheme = *ecosystem_scheme
                .get_or_insert_with(|| Scheme::for_ecosystem(self.str(key.ecosystem)));
            let Some((scheme, list)) = range_order(range.kind, key, scheme) else {
                return false;
            };
            let events = self.events.get(range.events.range()).unwrap_or(&[]);
            self.range_includes(scheme, list, events, probe)
        })
    }

    /// The schema's evaluation of one range: walking the events in version order, an
    /// `introduced` at or below `version` makes it affected, a `fixed` at or below it or a
    /// `last_affected` below it makes it not; and with `limit` events, `version` must be below
    /// one of them. Instead of sorting, the last event that applies in that order is found
    /// in one pass (ties keep the record's order, as a stable sort would).
    fn range_includes(
        &self,
        scheme: Scheme,
        list: Span,
        events: &[EventRow],
        probe: &mut Probe<'_, '_>,
    ) -> bool {
        let mut has_limit = false;
        let mut below_a_limit = false;
        let mut last: Option<(&EventRow, &str)> = None;
        // The version against the event: ranks compare as the versions do.
        let mut rank = None;
        let mut versus = |event: &EventRow| {
            let own = *rank.get_or_insert_with(|| probe.rank(self, scheme, list));
            own.cmp(&event.rank)
        };
        for event in events {
            let at = self.str(event.version);
            let applies = match event.kind {
                EV_INTRODUCED => at == "0" || versus(event) != Ordering::Less,
                EV_FIXED => versus(event) != Ordering::Less,
                EV_LAST_AFFECTED => versus(event) == Ordering::Greater,
                EV_LIMIT => {
                    has_limit = true;
                    if at == "*" || versus(event) == Ordering::Less {
                        below_a_limit = true;
                    }
                    false
                }
                _ => false,
            };
            if !applies {
                continue;
            }
            let later = match last {
                None => true,
                Some((prev, prev_at)) => event_order(event, at, prev, prev_at) != Ordering::Less,
            };
            if later {
                last = Some((event, at));
            }
        }
        if has_limit && !below_a_limit {
            return false;
        }
        last.is_some_and(|(event, _)| event.kind == EV_INTRODUCED)
    }

    /// Groups the hits into vulnerabilities (records naming a common id) and emits one
    /// finding per group.
    fn build_findings(
        &self,
        package: &Package,
        version: &str,
        scratch: &mut Scratch,
        out: &mut Vec<Finding>,
    ) {
        let hits = &scratch.hits;
        // Union-find over hits: two hits are one vulnerability when their records share an
        // id (own id, alias or upstream). Strings are interned in the index, so equal ids
        // have equal offsets and a sort brings them together.
        let parent = &mut scratch.parent;
        parent.clear();
        parent.extend(0..hits.len() as u32);
        let keys = &mut scratch.keys;
        keys.clear();
        for (i, hit) in hits.iter().enumerate() {
            let Some(row) = self.records.get(hit.record as usize) else {
                continue;
            };
            let aliases = self.lists.get(row.aliases.range()).unwrap_or(&[]);
            let upstream = self.lists.get(row.upstream.range()).unwrap_or(&[]);
            for id in std::iter::once(&row.id).chain(aliases).chain(upstream) {
                if id.len > 0 {
                    keys.push((id.off, i as u32));
                }
            }
        }
        keys.sort_unstable();
        for pair in keys.windows(2) {
            if let [(key_a, a), (key_b, b)] = *pair
                && key_a == key_b
            {
                let (ra, rb) = (find_root(parent, a), find_root(parent, b));
                if let Some(slot) = parent.get_mut(ra.max(rb) as usize) {
                    *slot = ra.min(rb);
                }
            }
        }
        let order = &mut scratch.order;
        order.clear();
        for i in 0..hits.len() as u32 {
            order.push((find_root(parent, i), i));
        }
        order.sort_unstable();
        let scheme = Scheme::for_ecosystem(package.ecosystem.osv_name());
        let mut members = std::mem::take(&mut scratch.members);
        // One installed version for all of the package's findings: its ranks are kept.
        scratch.installed_ranks.clear();
        for group in order.chunk_by(|a, b| a.0 == b.0) {
            members.clear();
            members.extend(
                group
                    .iter()
                    .filter_map(|&(_, i)| hits.get(i as usize).copied()),
            );
            let ranks = (&mut scratch.installed_ranks, &mut scratch.fix_ranks);
            out.push(self.finding(package, version, scheme, &members, ranks));
        }
        scratch.members = members;
    }

    fn record_ids(&self, record: u32) -> impl Iterator<Item = &str> {
        let row = self.records.get(record as usize);
        let aliases = row
            .and_then(|r| self.lists.get(r.aliases.range()))
            .unwrap_or(&[]);
        let upstream = row
            .and_then(|r| self.lists.get(r.upstream.range()))
            .unwrap_or(&[]);
        aliases.iter().chain(upstream).map(|&s| self.str(s))
    }

    fn record_id(&self, record: u32) -> &str {
        self.records
            .get(record as usize)
            .map_or("", |r| self.str(r.id))
    }

    fn finding(
        &self,
        package: &Package,
        version: &str,
        scheme: Option<Scheme>,
        members: &[Hit],
        (installed_ranks, fix_ranks): (&mut Vec<Located>, &mut Vec<Located>),
    ) -> Finding {
        // Primary id: the most specific database's record, then the smallest id.
        let primary = members
            .iter()
            .min_by(|a, b| {
                let (ia, ib) = (self.record_id(a.record), self.record_id(b.record));
                id_rank(ia).cmp(&id_rank(ib)).then_with(|| ia.cmp(ib))
            })
            .map_or(0, |h| h.record);
        let primary_id = self.record_id(primary).to_owned();

        let mut aliases: Vec<String> = Vec::new();
        for hit in members {
            let ids =
                std::iter::once(self.record_id(hit.record)).chain(self.record_ids(hit.record));
            for id in ids {
                if !id.is_empty() && id != primary_id && !aliases.iter().any(|a| a == id) {
                    aliases.push(id.to_owned());
                }
            }
        }
        aliases.sort_by(|a, b| (!a.starts_with("CVE-"), a).cmp(&(!b.starts_with("CVE-"), b)));

        let primary_row = self.records.get(primary as usize);
        let summary = primary_row
            .map(|r| self.str(r.summary))
            .filter(|s| !s.is_empty())
            .or_else(|| {
                members
                    .iter()
                    .filter_map(|h| self.records.get(h.record as usize))
                    .map(|r| self.str(r.summary))
                    .find(|s| !s.is_empty())
            })
            .unwrap_or("")
            .to_owned();
        let url = primary_row
            .map(|r| self.str(r.url))
            .filter(|u| !u.is_empty())
            .map(str::to_owned);

        // Severity: the strongest assessment among the group's entries.
        let rows: Vec<&AffectedRow> = members
            .iter()
            .filter_map(|h| self.affected.get(h.affected as usize))
            .collect();
        let strongest = rows.iter().max_by_key(|r| {
            (
                r.severity,
                if r.score10 == NO_SCORE {
                    0
                } else {
                    r.score10 + 1
                },
            )
        });
        let (severity, cvss_score, cvss_vector) = match strongest {
            Some(r) => (
                severity_from_code(r.severity),
                (r.score10 != NO_SCORE).then(|| f64::from(r.score10) / 10.0),
                Some(self.str(r.vector))
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned),
            ),
            None => (Severity::Unknown, None, None),
        };

        // Fixed versions of the applicable SEMVER / ECOSYSTEM ranges.
        let mut fixed: Vec<Fix<'_>> = Vec::new();
        for row in &rows {
            let Some(key) = self.keys.get(row.key as usize) else {
                continue;
            };
            let ecosystem_scheme = Scheme::for_ecosystem(self.str(key.ecosystem));
            for range in self.ranges.get(row.ranges.range()).unwrap_or(&[]) {
                if range.kind != RANGE_SEMVER && range.kind != RANGE_ECOSYSTEM {
                    continue;
                }
                let order = range_order(range.kind, key, ecosystem_scheme);
                for event in self.events.get(range.events.range()).unwrap_or(&[]) {
                    let at = self.str(event.version);
                    if event.kind == EV_FIXED && !at.is_empty() && !fixed.iter().any(|f| f.at == at)
                    {
                        fixed.push(Fix {
                            at,
                            order,
                            rank: event.rank,
                        });
                    }
                }
            }
        }
        // Ascending in the package's scheme (then by text): by rank when every fix is ranked
        // in one list of that scheme, else by comparing the texts.
        let one_list = fixed.first().and_then(|f| f.order).filter(|&(s, list)| {
            Some(s) == scheme && fixed.iter().all(|f| f.order == Some((s, list)))
        });
        match (one_list, scheme) {
            (Some(_), _) => fixed.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.at.cmp(b.at))),
            (None, Some(scheme)) => merge_sort_by(&mut fixed, |a, b| {
                compare(scheme, a.at, b.at).then_with(|| a.at.cmp(b.at))
            }),
            (None, None) => fixed.sort_by(|a, b| a.at.cmp(b.at)),
        }
        // The first fix above the installed version that no entry of the group still
        // covers; failing that, the highest fix above it.
        let mut installed = Probe {
            version,
            ranks: installed_ranks,
        };
        let mut suggestion = None;
        for fix in &fixed {
            let at_or_below = match (scheme, fix.order) {
                (Some(s), Some((fix_scheme, list))) if s == fix_scheme => {
                    installed.rank(self, s, list) >= fix.rank
                }
                (Some(s), _) => compare(s, version, fix.at) != Ordering::Less,
                (None, _) => false,
            };
            if at_or_below {
                continue;
            }
            suggestion = Some(fix.at);
            fix_ranks.clear();
            if let Some((_, list)) = fix.order {
                fix_ranks.push((list.first, list.count, fix.rank));
            }
            let mut probe = Probe {
                version: fix.at,
                ranks: fix_ranks,
            };
            if !rows.iter().any(|r| self.affected_includes(r, &mut probe)) {
                break;
            }
        }
        let remediation = match suggestion {
            Some(to) => {
                let via_source = package
                    .source
                    .as_ref()
                    .filter(|s| package.ecosystem.is_os() && s.name != package.name);
                match via_source {
                    Some(source) => format!(
                        "upgrade {} (source package {}) to >= {to}",
                        package.name, source.name
                    ),
                    None => format!("upgrade {} to >= {to}", package.name),
                }
            }
            None => "no fix available yet".to_owned(),
        };

        Finding {
            package: package.clone(),
            id: primary_id,
            aliases,
            summary,
            severity,
            cvss_score,
            cvss_vector,
            fixed_versions: fixed.into_iter().map(|f| f.at.to_owned()).collect(),
            remediation,
            url,
        }
    }
}

/// Lower ranks are preferred as a finding's primary id: distribution advisories, then the
/// language ecosystems' own databases, then GHSA, then anything else, then bare CVEs.
fn id_rank(id: &str) -> u8 {
    const DISTRO: &[&str] = &[
        "DSA-", "DLA-", "DTSA-", "DEBIAN-", "USN-", "UBUNTU-", "ALPINE-", "RHSA-", "RHBA-",
        "RHEA-", "ALSA-", "ALBA-", "ALEA-", "RLSA-", "RXSA-",
    ];
    const LANGUAGE: &[&str] = &["RUSTSEC-", "GO-", "PYSEC-", "MAL-"];
    if DISTRO.iter().any(|p| id.starts_with(p)) {
        0
    } else if LANGUAGE.iter().any(|p| id.starts_with(p)) {
        1
    } else if id.starts_with("GHSA-") {
        2
    } else if id.starts_with("CVE-") {
        4
    } else {
        3
    }
}
