//! The process table kept from polling `/proc`: exec and exit events, pid reuse told apart
//! by start time, an exec in place told by a changed name, and a parent chain that outlives
//! the parent (an exited process stays while a tracked process descends from it).
//!
//! A tick lists `/proc` with `getdents` into a reused buffer and only reads the files of pids
//! it has not seen; young processes (which may still `exec`) are re-read every tick and the
//! rest in a slow round robin. In the steady state a tick allocates nothing.

use super::container::{ContainerIndex, Containers, container_path};
use super::procfs::{
    Comm, ExeLink, MAX_CMDLINE, ProcFs, RelPath, Stat, parse_cmdline, parse_exe_link,
    parse_loginuid, parse_stat, parse_status, socket_inode,
};
use super::users::UserNames;
use podwarden_api::event::{Ancestor, Connection, Event, EventBody, FdInfo, FdKind, Process};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Most ancestors put into an event.
pub const MAX_ANCESTORS: usize = 16;

/// A process, told apart from an earlier one with the same pid by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcKey {
    pub pid: u32,
    /// `starttime` of `/proc/PID/stat`, clock ticks after boot.
    pub start_ticks: u64,
}

/// Tells what a socket inode is, for standard streams (implemented by the socket tables).
pub trait SocketLookup {
    /// The kind of socket and, for TCP/UDP, its connection.
    fn describe_socket(&mut self, proc: &ProcFs, inode: u64) -> (FdKind, Option<Connection>);
}

/// Limits and cadence of the process table.
#[derive(Debug, Clone)]
pub struct TrackerConfig {
    /// Sidecar mode: attribute processes to containers and ignore the agent's own container.
    pub sidecar: bool,
    /// The agent's pid (as seen in this `/proc`); its own process is never reported.
    pub own_pid: u32,
    /// Most processes tracked with full details; beyond, new pids are only counted.
    pub max_processes: usize,
    /// Most exited processes kept for parent chains.
    pub max_exited: usize,
    /// Processes younger than this are re-read every tick (an `exec` in place changes them).
    pub young: Duration,
    /// Every process is re-read once per this period (round robin).
    pub recheck: Duration,
    /// An exited process with no tracked descendants is forgotten after this.
    pub exited_grace: Duration,
    /// Emit `process_exit` events (only worth it when a rule wants them).
    pub exit_events: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            sidecar: false,
            own_pid: std::process::id(),
            max_processes: 8192,
            max_exited: 4096,
            young: Duration::from_secs(1),
            recheck: Duration::from_secs(3),
            exited_grace: Duration::from_secs(30),
            exit_events: false,
        }
    }
}

#[derive(Debug)]
struct Record {
    process: Process,
    parent: Option<ProcKey>,
    /// Tracked records whose parent this is.
    children: u32,
    first_seen: Instant,
    exited_at: Option<Instant>,
    seen_gen: u32,
    comm: Comm,
    container: Option<ContainerIndex>,
    /// Not reported: the agent itself, its container, kernel threads, or over the cap.
    ignored: bool,
    /// A fork that has not executed anything yet (same program and arguments as its
    /// parent): no exec is reported until it runs a program of its own.
    fork_copy: bool,
}

/// Counters for the agent's status and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackerStats {
    pub live: usize,
    pub exited_kept: usize,
    pub seen_total: u64,
    pub over_cap_total: u64,
}

/// The process table.
#[derive(Debug)]
pub struct ProcessTracker {
    config: TrackerConfig,
    records: HashMap<ProcKey, Record>,
    live: HashMap<u32, ProcKey>,
    generation: u32,
    pids: Vec<u32>,
    dirent: Vec<u8>,
    text: Vec<u8>,
    link: Vec<u8>,
    fresh: Vec<Stat>,
    gone: Vec<u32>,
    round_robin: Vec<u32>,
    round_robin_pos: usize,
    last_purge: Instant,
    users: UserNames,
    stats: TrackerStats,
}

/// The pieces of the agent a tick reads: `/proc`, containers, socket tables.
pub struct Env<'a> {
    pub proc: &'a ProcFs,
    pub containers: &'a mut Containers,
    pub sockets: &'a mut dyn SocketLookup,
}

impl ProcessTracker {
    /// An empty table.
    pub fn new(config: TrackerConfig) -> ProcessTracker {
        ProcessTracker {
            config,
            records: HashMap::with_capacity(1024),
            live: HashMap::with_capacity(1024),
            generation: 0,
            pids: Vec::with_capacity(1024),
            dirent: Vec::with_capacity(32 * 1024),
            text: Vec::with_capacity(8192),
            link: Vec::with_capacity(4096),
            fresh: Vec::with_capacity(64),
            gone: Vec::with_capacity(64),
            round_robin: Vec::with_capacity(1024),
            round_robin_pos: 0,
            last_purge: Instant::now(),
            users: UserNames::default(),
            stats: TrackerStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> TrackerStats {
        TrackerStats {
            live: self.live.len(),
            exited_kept: self.records.len().saturating_sub(self.live.len()),
            ..self.stats
        }
    }

    /// One poll of `/proc`: new processes, exits, execs in place, tracers. Events are
    /// appended to `out` with `id` and `ts` left 0 (the caller stamps them).
    pub fn tick(&mut self, env: &mut Env<'_>, interval: Duration, out: &mut Vec<Event>) {
        let now = Instant::now();
        self.generation = self.generation.wrapping_add(1);
        if env
            .proc
            .list_pids(&mut self.dirent, &mut self.pids)
            .is_err()
        {
            return;
        }
        // Mark the known, read `stat` of the new.
        self.fresh.clear();
        for i in 0..self.pids.len() {
            let Some(&pid) = self.pids.get(i) else { break };
            match self
                .live
                .get(&pid)
                .and_then(|key| self.records.get_mut(key))
            {
                Some(record) => record.seen_gen = self.generation,
                None => {
                    if let Some(stat) = read_stat(env.proc, pid, &mut self.text) {
                        self.fresh.push(stat);
                    }
                }
            }
        }
        // Exits first, so a pid that exited and came back is seen as a new process.
        self.gone.clear();
        for (&pid, key) in &self.live {
            if self
                .records
                .get(key)
                .is_some_and(|r| r.seen_gen != self.generation)
            {
                self.gone.push(pid);
            }
        }
        for i in 0..self.gone.len() {
            if let Some(&pid) = self.gone.get(i) {
                self.exit(env, pid, now, out);
            }
        }
        // Parents before children: they started earlier.
        self.fresh.sort_unstable_by_key(|s| (s.start_ticks, s.pid));
        for i in 0..self.fresh.len() {
            if let Some(stat) = self.fresh.get(i).copied() {
                self.admit(env, stat, now, out);
            }
        }
        self.recheck(env, now, interval, out);
        if now.duration_since(self.last_purge) >= Duration::from_secs(1) {
            self.last_purge = now;
            self.purge(now);
        }
    }

    /// Reads one pid now (a netlink exec/fork notification): admits it when new, or re-reads
    /// it when its name changed (an exec in place).
    pub fn observe(&mut self, env: &mut Env<'_>, pid: u32, out: &mut Vec<Event>) {
        let now = Instant::now();
        let Some(stat) = read_stat(env.proc, pid, &mut self.text) else {
            return;
        };
        match self.live.get(&pid).copied() {
            None => self.admit(env, stat, now, out),
            Some(key) => self.compare(env, key, stat, now, out),
        }
    }

    /// Forgets a pid reported gone (netlink exit notification).
    pub fn observe_exit(&mut self, env: &mut Env<'_>, pid: u32, out: &mut Vec<Event>) {
        if self.live.contains_key(&pid) {
            self.exit(env, pid, Instant::now(), out);
        }
    }

    /// The live process with this pid, with its ancestors, when tracked and reported.
    pub fn process(&self, pid: u32) -> Option<Process> {
        let key = self.live.get(&pid)?;
        let record = self.records.get(key).filter(|r| !r.ignored)?;
        let mut process = record.process.clone();
        process.ancestors = self.ancestors(record.parent);
        Some(process)
    }

    /// The container of a live process.
    pub fn container_of(&self, pid: u32) -> Option<ContainerIndex> {
        let key = self.live.get(&pid)?;
        self.records.get(key).and_then(|r| r.container)
    }

    /// Whether the live process is one the agent ignores (itself, its container, kernel).
    pub fn is_ignored(&self, pid: u32) -> bool {
        self.live
            .get(&pid)
            .and_then(|key| self.records.get(key))
            .is_some_and(|r| r.ignored)
    }

    /// Live reported pids, newest first (for socket owner searches).
    pub fn live_pids_newest_first(&self, out: &mut Vec<u32>) {
        out.clear();
        out.extend(
            self.live
                .iter()
                .filter(|(_, key)| self.records.get(key).is_some_and(|r| !r.ignored))
                .map(|(&pid, _)| pid),
        );
        out.sort_unstable_by_key(|pid| {
            std::cmp::Reverse(self.live.get(pid).map_or(0, |k| k.start_ticks))
        });
    }

    /// Live reported processes with their name and working directory (web root discovery).
    pub fn each_live(&self, mut f: impl FnMut(u32, &Process, Option<ContainerIndex>)) {
        for key in self.live.values() {
            if let Some(record) = self.records.get(key).filter(|r| !r.ignored) {
                f(key.pid, &record.process, record.container);
            }
        }
    }

    fn ancestors(&self, mut parent: Option<ProcKey>) -> Vec<Ancestor> {
        let mut chain = Vec::new();
        while let Some(key) = parent {
            if chain.len() >= MAX_ANCESTORS {
                break;
            }
            let Some(record) = self.records.get(&key) else {
                break;
            };
            chain.push(Ancestor {
                pid: key.pid,
                name: record.process.name.clone(),
                exe: record.process.exe.clone(),
                argv: record.process.argv.clone(),
                uid: Some(record.process.uid),
            });
            parent = record.parent;
        }
        chain
    }

    fn admit(&mut self, env: &mut Env<'_>, stat: Stat, now: Instant, out: &mut Vec<Event>) {
        let key = ProcKey {
            pid: stat.pid,
            start_ticks: stat.start_ticks,
        };
        if self.records.contains_key(&key) {
            return;
        }
        self.stats.seen_total += 1;
        let parent = self
            .live
            .get(&stat.ppid)
            .copied()
            .filter(|p| p.start_ticks <= stat.start_ticks);
        let kernel_thread = stat.is_kernel_thread();
        let mut ignored = stat.pid == self.config.own_pid || kernel_thread;
        let over_cap = self.live.len() >= self.config.max_processes;
        if over_cap {
            self.stats.over_cap_total += 1;
            ignored = true;
        }
        let mut container = None;
        if self.config.sidecar && !ignored {
            container = env.containers.attribute(env.proc, stat.pid);
            if let Some(slot) = container.and_then(|c| env.containers.get(c)) {
                ignored |= slot.own;
            }
        }
        let process = if ignored {
            Process {
                pid: stat.pid,
                ppid: stat.ppid,
                name: stat.comm.to_string_lossy(),
                ..Process::default()
            }
        } else {
            match self.read_details(env, stat, container) {
                Some(process) => process,
                None => return,
            }
        };
        if let Some(parent_key) = parent
            && let Some(parent_record) = self.records.get_mut(&parent_key)
        {
            parent_record.children += 1;
        }
        if let Some(c) = container {
            env.containers.joined(c, stat.pid);
        }
        let fork_copy = !ignored
            && parent.and_then(|p| self.records.get(&p)).is_some_and(|p| {
                !p.ignored && p.process.argv == process.argv && p.process.exe == process.exe
            });
        let record = Record {
            process,
            parent,
            children: 0,
            first_seen: now,
            exited_at: None,
            seen_gen: self.generation,
            comm: stat.comm,
            container,
            ignored,
            fork_copy,
        };
        if !ignored && !fork_copy {
            let mut process = record.process.clone();
            process.ancestors = self.ancestors(parent);
            let tracer = process.tracer_pid;
            let traced = (tracer != 0).then(|| process.clone());
            out.push(event(
                EventBody::ProcessExec { process },
                container,
                env.containers,
            ));
            if let Some(process) = traced {
                let tracer_info = self.ancestor_of_pid(tracer);
                out.push(event(
                    EventBody::PtraceAttached {
                        process,
                        tracer_pid: tracer,
                        tracer: tracer_info,
                    },
                    container,
                    env.containers,
                ));
            }
        }
        self.records.insert(key, record);
        self.live.insert(stat.pid, key);
    }

    fn ancestor_of_pid(&self, pid: u32) -> Option<Ancestor> {
        let key = self.live.get(&pid)?;
        let record = self.records.get(key)?;
        Some(Ancestor {
            pid,
            name: record.process.name.clone(),
            exe: record.process.exe.clone(),
            argv: record.process.argv.clone(),
            uid: Some(record.process.uid),
        })
    }

    fn exit(&mut self, env: &mut Env<'_>, pid: u32, now: Instant, out: &mut Vec<Event>) {
        let Some(key) = self.live.remove(&pid) else {
            return;
        };
        let replacement = self.live_member_other_than(key, env);
        let Some(record) = self.records.get_mut(&key) else {
            return;
        };
        record.exited_at = Some(now);
        if let Some(c) = record.container {
            env.containers.left(c, pid, replacement);
        }
        if self.config.exit_events && !record.ignored {
            let process = record.process.clone();
            let container = record.container;
            out.push(event(
                EventBody::ProcessExit {
                    process,
                    exit_code: None,
                },
                container,
                env.containers,
            ));
        }
    }

    /// Another live member of the container of `key` (for the container's root access).
    fn live_member_other_than(&self, key: ProcKey, env: &Env<'_>) -> Option<u32> {
        let container = self.records.get(&key)?.container?;
        let slot = env.containers.get(container)?;
        if slot.root_pid != key.pid {
            return None;
        }
        self.live
            .iter()
            .find(|(_, k)| {
                self.records
                    .get(k)
                    .is_some_and(|r| r.container == Some(container))
            })
            .map(|(&pid, _)| pid)
    }

    /// Re-reads young processes every tick and the others in a round robin.
    fn recheck(
        &mut self,
        env: &mut Env<'_>,
        now: Instant,
        interval: Duration,
        out: &mut Vec<Event>,
    ) {
        // Young ones: the set is small; collect their pids into the reused `gone` buffer.
        self.gone.clear();
        for (&pid, key) in &self.live {
            if let Some(record) = self.records.get(key)
                && !record.ignored
                && now.duration_since(record.first_seen) < self.config.young
            {
                self.gone.push(pid);
            }
        }
        for i in 0..self.gone.len() {
            let Some(&pid) = self.gone.get(i) else { break };
            self.recheck_one(env, pid, now, out);
        }
        // Round robin over everything else.
        if self.round_robin_pos >= self.round_robin.len() {
            self.round_robin.clear();
            self.round_robin.extend(self.live.keys().copied());
            self.round_robin_pos = 0;
        }
        let period_ticks = (self.config.recheck.as_micros() / interval.as_micros().max(1)).max(1);
        let per_tick = (self.round_robin.len() as u128).div_ceil(period_ticks) as usize;
        for _ in 0..per_tick {
            let Some(&pid) = self.round_robin.get(self.round_robin_pos) else {
                break;
            };
            self.round_robin_pos += 1;
            self.recheck_one(env, pid, now, out);
        }
    }

    fn recheck_one(&mut self, env: &mut Env<'_>, pid: u32, now: Instant, out: &mut Vec<Event>) {
        let Some(key) = self.live.get(&pid).copied() else {
            return;
        };
        let Some(stat) = read_stat(env.proc, pid, &mut self.text) else {
            return;
        };
        self.compare(env, key, stat, now, out);
    }

    /// Compares a fresh `stat` with the record: another start time is another process (pid
    /// reuse), another name (or, for a fork not yet seen to exec, another command line) is an
    /// exec in place; also watches the tracer and, while young, the standard streams.
    fn compare(
        &mut self,
        env: &mut Env<'_>,
        key: ProcKey,
        stat: Stat,
        now: Instant,
        out: &mut Vec<Event>,
    ) {
        if stat.start_ticks != key.start_ticks {
            self.exit(env, key.pid, now, out);
            self.admit(env, stat, now, out);
            return;
        }
        let Some(record) = self.records.get(&key) else {
            return;
        };
        if record.ignored {
            return;
        }
        let container = record.container;
        let parent = record.parent;
        let old_tracer = record.process.tracer_pid;
        let fork_copy = record.fork_copy;
        let young = now.duration_since(record.first_seen) < self.config.young;
        let old_stdio = [
            record.process.stdin.as_ref().map(|f| f.target.clone()),
            record.process.stdout.as_ref().map(|f| f.target.clone()),
        ];
        let mut execed = stat.comm != record.comm;
        // An exec of a program with the same name (`sh` running `sh -c ...`, or every busybox
        // applet) only shows in the command line: compared while the process is young (or
        // still a fork that has not executed anything).
        if !execed && (fork_copy || young) {
            let old_argv = &record.process.argv;
            execed = env
                .proc
                .read(
                    RelPath::pid(key.pid, "cmdline").as_cstr(),
                    &mut self.text,
                    MAX_CMDLINE,
                )
                .is_ok_and(|_| parse_cmdline(&self.text) != *old_argv);
        }
        if execed {
            // exec in place: same process, new program.
            let Some(process) = self.read_details(env, stat, container) else {
                return;
            };
            if let Some(record) = self.records.get_mut(&key) {
                // A new name restarts the young window; a rewritten command line alone (a
                // process setting its title) does not, so title updates stop being read.
                if record.comm != stat.comm {
                    record.first_seen = now;
                }
                record.process = process.clone();
                record.comm = stat.comm;
                record.fork_copy = false;
            }
            let mut process = process;
            process.ancestors = self.ancestors(parent);
            out.push(event(
                EventBody::ProcessExec { process },
                container,
                env.containers,
            ));
            return;
        }
        let Some(status) = read_status(env.proc, key.pid, &mut self.text) else {
            return;
        };
        if status.tracer_pid != old_tracer {
            if let Some(record) = self.records.get_mut(&key) {
                record.process.tracer_pid = status.tracer_pid;
            }
            if status.tracer_pid != 0
                && !fork_copy
                && let Some(process) = self.process(key.pid)
            {
                let tracer = self.ancestor_of_pid(status.tracer_pid);
                out.push(event(
                    EventBody::PtraceAttached {
                        process,
                        tracer_pid: status.tracer_pid,
                        tracer,
                    },
                    container,
                    env.containers,
                ));
            }
        }
        if !young || fork_copy {
            return;
        }
        // A young process whose standard stream became a network socket (dup2 after start).
        for fd in 0..2u32 {
            if env
                .proc
                .readlink(RelPath::fd(key.pid, fd).as_cstr(), &mut self.link)
                .is_err()
            {
                continue;
            }
            let unchanged = old_stdio
                .get(fd as usize)
                .and_then(|t| t.as_deref())
                .is_some_and(|t| t.as_bytes() == self.link.as_slice());
            if unchanged {
                continue;
            }
            let Some(inode) = socket_inode(&self.link) else {
                continue;
            };
            let (kind, connection) = env.sockets.describe_socket(env.proc, inode);
            let target = String::from_utf8_lossy(&self.link).into_owned();
            let info = FdInfo {
                kind,
                target,
                connection: connection.clone(),
            };
            if let Some(record) = self.records.get_mut(&key) {
                match fd {
                    0 => record.process.stdin = Some(info),
                    _ => record.process.stdout = Some(info),
                }
            }
            if let (true, Some(connection)) = (kind.is_network(), connection)
                && let Some(process) = self.process(key.pid)
            {
                out.push(event(
                    EventBody::StdioSocket {
                        process,
                        fd: fd as u8,
                        connection,
                    },
                    container,
                    env.containers,
                ));
            }
        }
    }

    /// Everything the event model holds about a process, read now.
    fn read_details(
        &mut self,
        env: &mut Env<'_>,
        stat: Stat,
        container: Option<ContainerIndex>,
    ) -> Option<Process> {
        let pid = stat.pid;
        let proc = env.proc;
        let status = read_status(proc, pid, &mut self.text)?;
        let root_prefix = container
            .and_then(|c| env.containers.get(c))
            .and_then(|s| s.root_prefix.clone());
        let argv = match proc.read(
            RelPath::pid(pid, "cmdline").as_cstr(),
            &mut self.text,
            MAX_CMDLINE,
        ) {
            Ok(_) => parse_cmdline(&self.text),
            Err(_) => Vec::new(),
        };
        let exe = match proc.readlink(RelPath::pid(pid, "exe").as_cstr(), &mut self.link) {
            Ok(()) => parse_exe_link(&self.link),
            Err(_) => ExeLink::default(),
        };
        let cwd = match proc.readlink(RelPath::pid(pid, "cwd").as_cstr(), &mut self.link) {
            Ok(()) => container_path(&String::from_utf8_lossy(&self.link), root_prefix.as_deref()),
            Err(_) => String::new(),
        };
        let loginuid = proc
            .read(RelPath::pid(pid, "loginuid").as_cstr(), &mut self.text, 32)
            .ok()
            .and_then(|_| parse_loginuid(&self.text));
        let mut stdio: [Option<FdInfo>; 3] = [None, None, None];
        for (fd, slot) in stdio.iter_mut().enumerate() {
            if proc
                .readlink(RelPath::fd(pid, fd as u32).as_cstr(), &mut self.link)
                .is_ok()
            {
                *slot = Some(describe_fd(
                    &self.link,
                    proc,
                    env.sockets,
                    root_prefix.as_deref(),
                ));
            }
        }
        let [stdin, stdout, stderr] = stdio;
        let exe_path = if exe.memfd {
            exe.path.clone()
        } else {
            container_path(&exe.path, root_prefix.as_deref())
        };
        let (user, group) =
            self.users
                .names(proc, env.containers, container, status.uid, status.gid);
        Some(Process {
            pid,
            ppid: stat.ppid,
            start_ts: proc.start_time_ns(stat.start_ticks),
            name: stat.comm.to_string_lossy(),
            exe: exe_path,
            argv,
            cwd,
            uid: status.uid,
            user,
            gid: status.gid,
            group,
            loginuid,
            tty: stat.tty_nr,
            sid: stat.session,
            pgid: stat.pgrp,
            cap_effective: status.cap_effective,
            cap_permitted: status.cap_permitted,
            cap_inheritable: status.cap_inheritable,
            stdin,
            stdout,
            stderr,
            exe_from_memfd: exe.memfd,
            exe_deleted: exe.deleted,
            tracer_pid: status.tracer_pid,
            ancestors: Vec::new(),
        })
    }

    /// Forgets exited processes nobody descends from any more, oldest first, and enforces
    /// the cap on exited records.
    fn purge(&mut self, now: Instant) {
        let grace = self.config.exited_grace;
        let mut exited: Vec<(Instant, ProcKey, u32)> = self
            .records
            .iter()
            .filter_map(|(key, r)| r.exited_at.map(|at| (at, *key, r.children)))
            .collect();
        if exited.is_empty() {
            return;
        }
        exited.sort_unstable_by_key(|(at, _, _)| *at);
        let over = exited.len().saturating_sub(self.config.max_exited);
        for (n, (at, key, children)) in exited.into_iter().enumerate() {
            let expired = children == 0 && now.duration_since(at) >= grace;
            if expired || n < over {
                self.forget(key);
            }
        }
    }

    fn forget(&mut self, key: ProcKey) {
        if let Some(record) = self.records.remove(&key)
            && let Some(parent) = record.parent.and_then(|p| self.records.get_mut(&p))
        {
            parent.children = parent.children.saturating_sub(1);
        }
    }
}

fn read_stat(proc: &ProcFs, pid: u32, buf: &mut Vec<u8>) -> Option<Stat> {
    proc.read(RelPath::pid(pid, "stat").as_cstr(), buf, 2048)
        .ok()?;
    parse_stat(buf)
}

fn read_status(proc: &ProcFs, pid: u32, buf: &mut Vec<u8>) -> Option<super::procfs::Status> {
    proc.read(RelPath::pid(pid, "status").as_cstr(), buf, 8192)
        .ok()?;
    Some(parse_status(buf))
}

/// What an fd link target is.
pub fn describe_fd(
    target: &[u8],
    proc: &ProcFs,
    sockets: &mut dyn SocketLookup,
    root_prefix: Option<&str>,
) -> FdInfo {
    let text = String::from_utf8_lossy(target).into_owned();
    if let Some(inode) = socket_inode(target) {
        let (kind, connection) = sockets.describe_socket(proc, inode);
        return FdInfo {
            kind,
            target: text,
            connection,
        };
    }
    let kind = if text.starts_with("pipe:") {
        FdKind::Pipe
    } else if text.starts_with("/memfd:") {
        FdKind::Memfd
    } else if text.starts_with('/') {
        FdKind::File
    } else {
        FdKind::Other
    };
    let target = if kind == FdKind::File {
        container_path(&text, root_prefix)
    } else {
        text
    };
    FdInfo {
        kind,
        target,
        connection: None,
    }
}

fn event(body: EventBody, container: Option<ContainerIndex>, containers: &Containers) -> Event {
    Event {
        v: podwarden_api::event::EVENT_SCHEMA_VERSION,
        id: 0,
        ts: 0,
        container: container
            .and_then(|c| containers.get(c))
            .map(|s| s.info.clone()),
        body,
    }
}

/// An event for the container of a process (shared with the socket and file collectors).
pub fn event_for(
    body: EventBody,
    container: Option<ContainerIndex>,
    containers: &Containers,
) -> Event {
    event(body, container, containers)
}
