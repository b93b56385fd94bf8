//! Network activity from the socket tables: new connections, new listening sockets and new
//! `AF_PACKET` sockets, each mapped to the process that owns it through socket inodes found
//! in `/proc/PID/fd`. Sockets that exist when the agent starts are the baseline, not events.
//!
//! Reading `/proc/net/tcp` costs a walk of the kernel's whole established-socket hash table
//! (hundreds of thousands of buckets, shared by every network namespace) however few sockets
//! the pod has: several milliseconds of kernel time per table. So the tables are not read on
//! every tick: each tick reads the per-namespace `inuse` counters of `/proc/net/sockstat` and
//! `sockstat6` (constant cost) and reads the tables only when a counter moved, and at least
//! every [`SocketConfig::full_interval`] as a backstop (a close and an open between two ticks
//! leave the counters equal; the new connection is then seen by the backstop read).

use super::container::Containers;
use super::net::{
    PacketEntry, SockEntry, parse_inet_table, parse_packet_table, unix_table_has_inode,
};
use super::process::{ProcessTracker, SocketLookup, event_for};
use super::procfs::{ProcFs, RelPath, parse_u32, socket_inode};
use podwarden_api::event::{Connection, Direction, Event, EventBody, FdKind, L4Protocol};
use rustix::fs::RawDir;
use std::collections::{HashMap, HashSet};
use std::ffi::CStr;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Protocols whose `inuse` counters [`parse_sockstat_inuse`] keeps, in this order.
pub const SOCKSTAT_PROTOCOLS: [&[u8]; 8] = [
    b"TCP",
    b"UDP",
    b"UDPLITE",
    b"RAW",
    b"TCP6",
    b"UDP6",
    b"UDPLITE6",
    b"RAW6",
];

/// Adds the `inuse` counters of a `/proc/net/sockstat` or `sockstat6` text to `counts` (by
/// [`SOCKSTAT_PROTOCOLS`] position); lines it does not know are skipped.
pub fn parse_sockstat_inuse(text: &[u8], counts: &mut [u64; 8]) {
    for line in text.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, rest) = line.split_at(colon);
        let Some(slot) = SOCKSTAT_PROTOCOLS
            .iter()
            .position(|p| *p == name)
            .and_then(|i| counts.get_mut(i))
        else {
            continue;
        };
        let mut fields = rest
            .get(1..)
            .unwrap_or_default()
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        while let Some(key) = fields.next() {
            let value = fields.next();
            if key == b"inuse" {
                *slot = value.and_then(super::procfs::parse_u64).unwrap_or(0);
                break;
            }
        }
    }
}

/// The tables read, relative to `/proc` (the agent's network namespace: the pod's).
const INET_TABLES: [(&CStr, L4Protocol); 4] = [
    (c"net/tcp", L4Protocol::Tcp),
    (c"net/tcp6", L4Protocol::Tcp),
    (c"net/udp", L4Protocol::Udp),
    (c"net/udp6", L4Protocol::Udp),
];

/// Largest table read, bytes.
const MAX_TABLE: usize = 16 << 20;
/// Most processes whose descriptors one tick inspects looking for socket owners.
const OWNER_SEARCH_PROCESSES: usize = 256;
/// Most descriptors one owner search reads.
const OWNER_SEARCH_FDS: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ConnKey {
    protocol: u8,
    local: SocketAddr,
    remote: SocketAddr,
}

/// Limits of the socket tracker.
#[derive(Debug, Clone)]
pub struct SocketConfig {
    /// Most connections remembered; beyond, new ones are reported but not remembered.
    pub max_connections: usize,
    /// Most socket-inode owners remembered.
    pub max_owners: usize,
    /// The tables are read at least this often, whatever the counters say.
    pub full_interval: Duration,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            max_connections: 8192,
            max_owners: 16384,
            full_interval: Duration::from_secs(2),
        }
    }
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketStats {
    pub connections: usize,
    pub listening: usize,
    pub over_cap_total: u64,
    pub owner_searches: u64,
    /// Polls that read the tables, and ticks that found the counters unchanged.
    pub table_reads: u64,
    pub skipped: u64,
}

/// The socket tables between two polls.
#[derive(Debug)]
pub struct SocketTracker {
    config: SocketConfig,
    own_pid: u32,
    text: Vec<u8>,
    unix_text: Vec<u8>,
    unix_read: bool,
    entries: Vec<SockEntry>,
    packets: Vec<PacketEntry>,
    fresh: bool,
    known: HashMap<ConnKey, u32>,
    listening: HashMap<(u8, SocketAddr), u32>,
    packet_known: HashMap<u64, u32>,
    /// Socket inode → who owns it.
    owners: HashMap<u64, Owner>,
    generation: u32,
    baseline_taken: bool,
    new_conns: Vec<SockEntry>,
    new_listens: Vec<SockEntry>,
    new_packets: Vec<PacketEntry>,
    wanted: HashSet<u64>,
    pids: Vec<u32>,
    dirent: Vec<u8>,
    link: Vec<u8>,
    stats: SocketStats,
    /// `inuse` counters at the last check.
    inuse: [u64; 8],
    /// When the tables were last read by a poll.
    last_poll: Option<Instant>,
}

fn protocol_code(protocol: L4Protocol) -> u8 {
    match protocol {
        L4Protocol::Tcp => 0,
        L4Protocol::Udp => 1,
        L4Protocol::Icmp => 2,
        L4Protocol::Raw => 3,
    }
}

/// Who owns a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Pid(u32),
    /// The agent itself: never reported.
    Agent,
    /// Searched and not found (gone already, or outside this pid namespace).
    Unknown,
}

impl SocketTracker {
    /// An empty tracker; `own_pid` is the agent (its sockets are never reported).
    pub fn new(config: SocketConfig, own_pid: u32) -> SocketTracker {
        SocketTracker {
            config,
            own_pid,
            text: Vec::with_capacity(64 * 1024),
            unix_text: Vec::new(),
            unix_read: false,
            entries: Vec::with_capacity(256),
            packets: Vec::with_capacity(8),
            fresh: false,
            known: HashMap::with_capacity(256),
            listening: HashMap::with_capacity(64),
            packet_known: HashMap::new(),
            owners: HashMap::with_capacity(256),
            generation: 0,
            baseline_taken: false,
            new_conns: Vec::with_capacity(16),
            new_listens: Vec::with_capacity(4),
            new_packets: Vec::new(),
            wanted: HashSet::with_capacity(16),
            pids: Vec::with_capacity(1024),
            dirent: Vec::with_capacity(16 * 1024),
            link: Vec::with_capacity(256),
            stats: SocketStats::default(),
            inuse: [0; 8],
            last_poll: None,
        }
    }

    /// Counters.
    pub fn stats(&self) -> SocketStats {
        SocketStats {
            connections: self.known.len(),
            listening: self.listening.len(),
            ..self.stats
        }
    }

    /// Whether the tables should be polled now: first poll, a moved `inuse` counter, or the
    /// backstop interval passed. Reads two small files into reused buffers.
    pub fn due(&mut self, proc: &ProcFs, now: Instant) -> bool {
        let mut inuse = [0u64; 8];
        for path in [c"net/sockstat", c"net/sockstat6"] {
            if proc.read(path, &mut self.text, 64 * 1024).is_ok() {
                parse_sockstat_inuse(&self.text, &mut inuse);
            }
        }
        let moved = inuse != self.inuse;
        self.inuse = inuse;
        let backstop = self
            .last_poll
            .is_none_or(|at| now.duration_since(at) >= self.config.full_interval);
        if moved || backstop || !self.baseline_taken {
            true
        } else {
            self.stats.skipped += 1;
            false
        }
    }

    /// Marks the tables stale: the next lookup or poll reads them again.
    pub fn begin_tick(&mut self) {
        self.fresh = false;
        self.unix_read = false;
    }

    fn refresh(&mut self, proc: &ProcFs) {
        if self.fresh {
            return;
        }
        self.fresh = true;
        self.entries.clear();
        for (path, protocol) in INET_TABLES {
            if proc.read(path, &mut self.text, MAX_TABLE).is_ok() {
                parse_inet_table(&self.text, protocol, &mut self.entries);
            }
        }
        self.packets.clear();
        if proc.read(c"net/packet", &mut self.text, MAX_TABLE).is_ok() {
            parse_packet_table(&self.text, &mut self.packets);
        }
    }

    /// Reads the tables and reports what is new since the last poll: connections, listening
    /// sockets, packet sockets, each with its owner when found.
    pub fn poll(
        &mut self,
        tracker: &ProcessTracker,
        proc: &ProcFs,
        containers: &Containers,
        out: &mut Vec<Event>,
    ) {
        self.refresh(proc);
        self.last_poll = Some(Instant::now());
        self.stats.table_reads += 1;
        self.generation = self.generation.wrapping_add(1);
        let generation = self.generation;
        self.new_conns.clear();
        self.new_listens.clear();
        self.new_packets.clear();
        for entry in &self.entries {
            if entry.is_listening() {
                let key = (protocol_code(entry.protocol), entry.local);
                if self.listening.insert(key, generation).is_none() {
                    self.new_listens.push(*entry);
                }
                continue;
            }
            let key = ConnKey {
                protocol: protocol_code(entry.protocol),
                local: entry.local,
                remote: entry.remote,
            };
            match self.known.get_mut(&key) {
                Some(seen) => *seen = generation,
                None => {
                    if self.known.len() < self.config.max_connections {
                        self.known.insert(key, generation);
                    } else {
                        self.stats.over_cap_total += 1;
                    }
                    self.new_conns.push(*entry);
                }
            }
        }
        for packet in &self.packets {
            if self.packet_known.insert(packet.inode, generation).is_none() {
                self.new_packets.push(*packet);
            }
        }
        self.known.retain(|_, seen| *seen == generation);
        self.listening.retain(|_, seen| *seen == generation);
        self.packet_known.retain(|_, seen| *seen == generation);
        if !self.baseline_taken {
            // What exists at start is the baseline.
            self.baseline_taken = true;
            return;
        }
        if self.new_conns.is_empty() && self.new_listens.is_empty() && self.new_packets.is_empty() {
            self.trim_owners();
            return;
        }
        // Find owners of the new sockets (inbound connections belong to the listener's owner).
        self.wanted.clear();
        let wanted_inodes = self
            .new_conns
            .iter()
            .chain(&self.new_listens)
            .map(|e| e.inode)
            .chain(self.new_packets.iter().map(|p| p.inode));
        for inode in wanted_inodes {
            if inode != 0 && !self.owners.contains_key(&inode) {
                self.wanted.insert(inode);
            }
        }
        if !self.wanted.is_empty() {
            self.search_owners(tracker, proc);
        }
        for i in 0..self.new_listens.len() {
            let Some(entry) = self.new_listens.get(i).copied() else {
                break;
            };
            let Some((process, container)) = self.owner_process(tracker, entry.inode) else {
                continue;
            };
            let body = EventBody::Listen {
                process,
                protocol: entry.protocol,
                local: entry.local,
            };
            out.push(event_for(body, container, containers));
        }
        for i in 0..self.new_conns.len() {
            let Some(entry) = self.new_conns.get(i).copied() else {
                break;
            };
            let connection = self.connection_of(&entry);
            let owner = if entry.inode == 0 && connection.direction == Direction::Inbound {
                self.listener_inode(&entry)
                    .and_then(|inode| self.owner_process(tracker, inode))
            } else {
                self.owner_process(tracker, entry.inode)
            };
            let Some((process, container)) = owner else {
                continue;
            };
            out.push(event_for(
                EventBody::Connection {
                    process,
                    connection,
                },
                container,
                containers,
            ));
        }
        for i in 0..self.new_packets.len() {
            let Some(packet) = self.new_packets.get(i).copied() else {
                break;
            };
            let Some((process, container)) = self.owner_process(tracker, packet.inode) else {
                continue;
            };
            let body = EventBody::PacketSocket {
                process,
                socket_type: packet.type_name().to_string(),
                protocol: packet.protocol,
            };
            out.push(event_for(body, container, containers));
        }
        self.trim_owners();
    }

    /// `Some((process, container))` to report (process `None` when the owner is unknown);
    /// `None` when the socket is the agent's own or an ignored process's.
    #[allow(clippy::type_complexity)]
    fn owner_process(
        &self,
        tracker: &ProcessTracker,
        inode: u64,
    ) -> Option<(
        Option<podwarden_api::event::Process>,
        Option<super::container::ContainerIndex>,
    )> {
        match self.owners.get(&inode) {
            Some(Owner::Agent) => None,
            Some(&Owner::Pid(pid)) => {
                if tracker.is_ignored(pid) {
                    return None;
                }
                Some((tracker.process(pid), tracker.container_of(pid)))
            }
            Some(Owner::Unknown) | None => Some((None, None)),
        }
    }

    fn listener_inode(&self, entry: &SockEntry) -> Option<u64> {
        self.entries
            .iter()
            .find(|l| {
                l.is_listening()
                    && l.protocol == entry.protocol
                    && l.local.port() == entry.local.port()
                    && (l.local.ip().is_unspecified() || l.local.ip() == entry.local.ip())
            })
            .map(|l| l.inode)
    }

    fn connection_of(&self, entry: &SockEntry) -> Connection {
        let inbound = self.entries.iter().any(|l| {
            l.is_listening()
                && l.protocol == entry.protocol
                && l.local.port() == entry.local.port()
                && (l.local.ip().is_unspecified() || l.local.ip() == entry.local.ip())
        });
        Connection {
            protocol: entry.protocol,
            local: entry.local,
            remote: entry.remote,
            state: entry.tcp_state(),
            direction: if inbound {
                Direction::Inbound
            } else {
                Direction::Outbound
            },
        }
    }

    /// Looks through `/proc/PID/fd` of the agent itself, then of live processes newest
    /// first, for the wanted socket inodes; what is not found is remembered as unknown.
    fn search_owners(&mut self, tracker: &ProcessTracker, proc: &ProcFs) {
        self.stats.owner_searches += 1;
        let mut budget_fds = OWNER_SEARCH_FDS;
        self.scan_fds(proc, self.own_pid, true, &mut budget_fds);
        tracker.live_pids_newest_first(&mut self.pids);
        let mut pids = std::mem::take(&mut self.pids);
        for &pid in pids.iter().take(OWNER_SEARCH_PROCESSES) {
            if self.wanted.is_empty() || budget_fds == 0 {
                break;
            }
            self.scan_fds(proc, pid, false, &mut budget_fds);
        }
        pids.clear();
        self.pids = pids;
        for inode in self.wanted.drain() {
            // Not found: a process too short-lived to see, or one outside this pid namespace.
            self.owners.entry(inode).or_insert(Owner::Unknown);
        }
    }

    fn scan_fds(&mut self, proc: &ProcFs, pid: u32, own: bool, budget: &mut usize) {
        let Ok(dir) = proc.open_dir(RelPath::pid(pid, "fd").as_cstr()) else {
            return;
        };
        let mut raw = RawDir::new(&dir, self.dirent.spare_capacity_mut());
        while let Some(Ok(entry)) = raw.next() {
            if *budget == 0 || self.wanted.is_empty() {
                break;
            }
            let Some(fd) = parse_u32(entry.file_name().to_bytes()) else {
                continue;
            };
            *budget -= 1;
            if super::procfs::readlink_into(&dir, RelPath::number(fd).as_cstr(), &mut self.link)
                .is_err()
            {
                continue;
            }
            if let Some(inode) = socket_inode(&self.link)
                && self.wanted.remove(&inode)
            {
                self.owners
                    .insert(inode, if own { Owner::Agent } else { Owner::Pid(pid) });
            }
        }
    }

    fn trim_owners(&mut self) {
        if self.owners.len() > self.config.max_owners {
            // Keep only owners of sockets still in the tables.
            let live: HashSet<u64> = self.entries.iter().map(|e| e.inode).collect();
            self.owners.retain(|inode, _| live.contains(inode));
        }
    }

    fn unix_has(&mut self, proc: &ProcFs, inode: u64) -> bool {
        if !self.unix_read {
            self.unix_read = true;
            if proc
                .read(c"net/unix", &mut self.unix_text, MAX_TABLE)
                .is_err()
            {
                self.unix_text.clear();
            }
        }
        unix_table_has_inode(&self.unix_text, inode)
    }
}

impl SocketLookup for SocketTracker {
    fn describe_socket(&mut self, proc: &ProcFs, inode: u64) -> (FdKind, Option<Connection>) {
        self.refresh(proc);
        if let Some(entry) = self.entries.iter().find(|e| e.inode == inode).copied() {
            let kind = if entry.local.is_ipv4() {
                FdKind::Ipv4
            } else {
                FdKind::Ipv6
            };
            return (kind, Some(self.connection_of(&entry)));
        }
        if self.unix_has(proc, inode) {
            return (FdKind::Unix, None);
        }
        (FdKind::Other, None)
    }
}
