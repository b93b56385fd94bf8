//! The disk-backed spool: detections wait here, fsync'd, until the center has them, so that
//! nothing is lost while the center is unreachable or the agent restarts.
//!
//! Layout of the spool directory:
//! - `seg-<n>.log`: append-only segments of framed records, each
//!   `[payload length u32][crc32 u32][seq u64][severity u8][ts u64][payload]` (little endian;
//!   the CRC covers everything after itself). The payload is the detection as JSON.
//! - `commit`: the highest record sequence number the center acknowledged (every record up to
//!   it is done), written atomically (temporary file, fsync, rename).
//! - `loss.json`: detections dropped because the spool was full, not yet reported, and the
//!   lifetime total.
//!
//! The bound applies to pending records: when an append would pass it, the oldest records of
//! the lowest severity present are dropped first (segments holding them are rewritten without
//! them), and the loss is counted by severity so that it is reported, never silent. A torn or
//! corrupt record ends its segment: the intact prefix survives a crash.

use podwarden_api::uplink::{AlertSeverity, Detection, LossReport};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Bytes of a record's frame header.
pub const FRAME_HEADER: usize = 4 + 4 + 8 + 1 + 8;
/// Largest payload accepted (a detection is a few kilobytes).
pub const MAX_PAYLOAD: usize = 1 << 20;

/// Why the spool failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("spool: a detection of {size} bytes is larger than the spool bound {max} bytes")]
    TooLarge { size: usize, max: u64 },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + use<> {
    let path = path.to_path_buf();
    move |source| SpoolError::Io {
        action,
        path,
        source,
    }
}

/// Sizes of the spool.
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    /// Most bytes of pending records (frames included).
    pub max_bytes: u64,
    /// A segment is closed and a new one started beyond this size.
    pub segment_bytes: u64,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig {
            max_bytes: 64 << 20,
            segment_bytes: 4 << 20,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    seq: u64,
    segment: u64,
    offset: u64,
    /// Frame length (header + payload).
    len: u64,
    severity: AlertSeverity,
    ts: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct LossFile {
    pending: LossReport,
    total: u64,
}

/// What opening found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Pending records found.
    pub records: usize,
    /// Segments whose tail was torn or corrupt (cut at the last intact record).
    pub torn_segments: Vec<String>,
}

/// The spool.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    config: SpoolConfig,
    /// Segment number → file length.
    segments: BTreeMap<u64, u64>,
    active: Option<(u64, File)>,
    index: VecDeque<Meta>,
    pending_bytes: u64,
    next_seq: u64,
    committed: u64,
    loss: LossFile,
}

fn severity_code(severity: AlertSeverity) -> u8 {
    match severity {
        AlertSeverity::Info => 0,
        AlertSeverity::Low => 1,
        AlertSeverity::Medium => 2,
        AlertSeverity::High => 3,
        AlertSeverity::Critical => 4,
    }
}

fn severity_of(code: u8) -> AlertSeverity {
    match code {
        0 => AlertSeverity::Info,
        1 => AlertSeverity::Low,
        2 => AlertSeverity::Medium,
        3 => AlertSeverity::High,
        _ => AlertSeverity::Critical,
    }
}

/// Encodes one frame.
pub fn encode_frame(seq: u64, severity: AlertSeverity, ts: u64, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(FRAME_HEADER + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&seq.to_le_bytes());
    frame.push(severity_code(severity));
    frame.extend_from_slice(&ts.to_le_bytes());
    frame.extend_from_slice(payload);
    let crc = crc32fast::hash(frame.get(8..).unwrap_or_default());
    if let Some(slot) = frame.get_mut(4..8) {
        slot.copy_from_slice(&crc.to_le_bytes());
    }
    frame
}

/// A frame decoded from the front of `bytes`: `(seq, severity, ts, payload, frame length)`.
/// `None` for a torn or corrupt frame.
pub fn decode_frame(bytes: &[u8]) -> Option<(u64, AlertSeverity, u64, &[u8], usize)> {
    let len = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    if len > MAX_PAYLOAD {
        return None;
    }
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    let end = FRAME_HEADER.checked_add(len)?;
    let body = bytes.get(8..end)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let seq = u64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?);
    let severity = severity_of(*bytes.get(16)?);
    let ts = u64::from_le_bytes(bytes.get(17..25)?.try_into().ok()?);
    Some((seq, severity, ts, bytes.get(FRAME_HEADER..end)?, end))
}

fn segment_name(number: u64) -> String {
    format!("seg-{number:020}.log")
}

fn parse_segment_name(name: &str) -> Option<u64> {
    name.strip_prefix("seg-")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

/// Best effort: makes a rename, creation or removal in `dir` durable.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename, directory fsync).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SpoolError> {
    let staging = path.with_extension("tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&staging)
        .map_err(io("create", &staging))?;
    file.write_all(bytes).map_err(io("write", &staging))?;
    file.sync_all().map_err(io("sync", &staging))?;
    fs::rename(&staging, path).map_err(io("rename", path))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent);
    }
    Ok(())
}

impl Spool {
    /// Opens (creating) the spool in `dir` and recovers what a previous run left.
    pub fn open(dir: &Path, config: SpoolConfig) -> Result<(Spool, Recovery), SpoolError> {
        fs::create_dir_all(dir).map_err(io("create", dir))?;
        let committed = match fs::read_to_string(dir.join("commit")) {
            Ok(text) => text.trim().parse::<u64>().unwrap_or(0),
            Err(_) => 0,
        };
        let loss = fs::read(dir.join("loss.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<LossFile>(&bytes).ok())
            .unwrap_or_default();
        let mut numbers = Vec::new();
        for entry in fs::read_dir(dir).map_err(io("list", dir))? {
            let entry = entry.map_err(io("list", dir))?;
            if let Some(number) = entry.file_name().to_str().and_then(parse_segment_name) {
                numbers.push(number);
            }
        }
        numbers.sort_unstable();
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            config,
            segments: BTreeMap::new(),
            active: None,
            index: VecDeque::new(),
            pending_bytes: 0,
            next_seq: committed + 1,
            committed,
            loss,
        };
        let mut recovery = Recovery::default();
        for number in numbers {
            let path = dir.join(segment_name(number));
            let (metas, good_len, torn) = spool.scan_segment(number, &path)?;
            if torn {
                recovery.torn_segments.push(path.display().to_string());
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io("open", &path))?;
                file.set_len(good_len).map_err(io("truncate", &path))?;
                file.sync_all().map_err(io("sync", &path))?;
            }
            let mut pending = 0usize;
            for meta in metas {
                spool.next_seq = spool.next_seq.max(meta.seq + 1);
                if meta.seq > spool.committed {
                    spool.pending_bytes += meta.len;
                    spool.index.push_back(meta);
                    pending += 1;
                }
            }
            if pending == 0 {
                fs::remove_file(&path).map_err(io("remove", &path))?;
            } else {
                spool.segments.insert(number, good_len);
            }
        }
        spool.index.make_contiguous().sort_by_key(|m| m.seq);
        recovery.records = spool.index.len();
        sync_dir(dir);
        Ok((spool, recovery))
    }

    /// Reads a segment's frames: metadata, the length of the intact prefix, whether it was cut.
    fn scan_segment(&self, number: u64, path: &Path) -> Result<(Vec<Meta>, u64, bool), SpoolError> {
        let mut bytes = Vec::new();
        let limit = self
            .config
            .max_bytes
            .saturating_add(self.config.segment_bytes)
            .saturating_add(MAX_PAYLOAD as u64);
        File::open(path)
            .map_err(io("open", path))?
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(io("read", path))?;
        let mut metas = Vec::new();
        let mut offset = 0usize;
        while offset < bytes.len() {
            let Some((seq, severity, ts, _, len)) = bytes.get(offset..).and_then(decode_frame)
            else {
                return Ok((metas, offset as u64, true));
            };
            metas.push(Meta {
                seq,
                segment: number,
                offset: offset as u64,
                len: len as u64,
                severity,
                ts,
            });
            offset += len;
        }
        Ok((metas, offset as u64, false))
    }

    /// Pending detections.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Bytes of pending records.
    pub fn pending_bytes(&self) -> u64 {
        self.pending_bytes
    }

    /// Detections dropped since the spool was created (all runs).
    pub fn dropped_total(&self) -> u64 {
        self.loss.total
    }

    /// The loss not yet reported to the center, if any.
    pub fn pending_loss(&self) -> Option<LossReport> {
        let l = &self.loss.pending;
        (l.info + l.low + l.medium + l.high + l.critical > 0).then(|| l.clone())
    }

    /// The center has the loss report `reported`: subtract it from what is pending.
    pub fn loss_reported(&mut self, reported: &LossReport) -> Result<(), SpoolError> {
        let p = &mut self.loss.pending;
        p.info = p.info.saturating_sub(reported.info);
        p.low = p.low.saturating_sub(reported.low);
        p.medium = p.medium.saturating_sub(reported.medium);
        p.high = p.high.saturating_sub(reported.high);
        p.critical = p.critical.saturating_sub(reported.critical);
        if p.info + p.low + p.medium + p.high + p.critical == 0 {
            *p = LossReport::default();
        }
        self.save_loss()
    }

    /// Appends detections, dropping older low-severity ones if the bound requires, and syncs.
    /// Returns how many records were dropped to make room.
    pub fn append(&mut self, detections: &[Detection]) -> Result<usize, SpoolError> {
        if detections.is_empty() {
            return Ok(0);
        }
        let mut frames = Vec::with_capacity(detections.len());
        for detection in detections {
            let payload = serde_json::to_vec(detection).unwrap_or_default();
            let frame_len = (FRAME_HEADER + payload.len()) as u64;
            if payload.len() > MAX_PAYLOAD || frame_len > self.config.max_bytes {
                self.count_loss(detection.severity, detection.ts);
                self.save_loss()?;
                return Err(SpoolError::TooLarge {
                    size: payload.len(),
                    max: self.config.max_bytes,
                });
            }
            frames.push((detection.severity, detection.ts, payload));
        }
        let incoming: u64 = frames
            .iter()
            .map(|(_, _, p)| (FRAME_HEADER + p.len()) as u64)
            .sum();
        let mut dropped = 0;
        if self.pending_bytes + incoming > self.config.max_bytes {
            dropped = self.make_room(incoming)?;
        }
        // Incoming records beyond what fits even after dropping everything older go too,
        // lowest severity first (the batch itself is larger than the bound).
        let mut room = self.config.max_bytes.saturating_sub(self.pending_bytes);
        let mut order: Vec<usize> = (0..frames.len()).collect();
        order.sort_by_key(|&i| frames.get(i).map(|f| std::cmp::Reverse(f.0)));
        let mut keep = vec![false; frames.len()];
        for i in order {
            let Some((severity, ts, payload)) = frames.get(i) else {
                continue;
            };
            let len = (FRAME_HEADER + payload.len()) as u64;
            if len <= room {
                room -= len;
                if let Some(k) = keep.get_mut(i) {
                    *k = true;
                }
            } else {
                self.count_loss(*severity, *ts);
                dropped += 1;
            }
        }
        for (i, (severity, ts, payload)) in frames.into_iter().enumerate() {
            if keep.get(i).copied().unwrap_or(false) {
                self.write_record(severity, ts, &payload)?;
            }
        }
        if let Some((number, file)) = &self.active {
            let path = self.dir.join(segment_name(*number));
            file.sync_data().map_err(io("sync", &path))?;
        }
        if dropped > 0 {
            self.save_loss()?;
        }
        Ok(dropped)
    }

    fn write_record(
        &mut self,
        severity: AlertSeverity,
        ts: u64,
        payload: &[u8],
    ) -> Result<(), SpoolError> {
        let needs_new = match &self.active {
            Some((number, _)) => {
                self.segments.get(number).copied().unwrap_or(0) >= self.config.segment_bytes
            }
            None => true,
        };
        if needs_new {
            self.roll()?;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame = encode_frame(seq, severity, ts, payload);
        let Some((number, file)) = &mut self.active else {
            return Ok(());
        };
        let path = self.dir.join(segment_name(*number));
        let offset = self.segments.get(number).copied().unwrap_or(0);
        file.write_all(&frame).map_err(io("write", &path))?;
        let len = frame.len() as u64;
        self.segments.insert(*number, offset + len);
        self.index.push_back(Meta {
            seq,
            segment: *number,
            offset,
            len,
            severity,
            ts,
        });
        self.pending_bytes += len;
        Ok(())
    }

    /// Closes the active segment and opens a new one.
    fn roll(&mut self) -> Result<(), SpoolError> {
        if let Some((number, file)) = self.active.take() {
            let path = self.dir.join(segment_name(number));
            file.sync_all().map_err(io("sync", &path))?;
        }
        let number = self.segments.keys().next_back().map_or(1, |n| n + 1);
        let path = self.dir.join(segment_name(number));
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(io("create", &path))?;
        sync_dir(&self.dir);
        self.segments.insert(number, 0);
        self.active = Some((number, file));
        Ok(())
    }

    fn count_loss(&mut self, severity: AlertSeverity, ts: u64) {
        let p = &mut self.loss.pending;
        match severity {
            AlertSeverity::Info => p.info += 1,
            AlertSeverity::Low => p.low += 1,
            AlertSeverity::Medium => p.medium += 1,
            AlertSeverity::High => p.high += 1,
            AlertSeverity::Critical => p.critical += 1,
        }
        p.from_ts = if p.from_ts == 0 {
            ts
        } else {
            p.from_ts.min(ts)
        };
        p.to_ts = p.to_ts.max(ts);
        self.loss.total += 1;
    }

    fn save_loss(&self) -> Result<(), SpoolError> {
        let bytes = serde_json::to_vec(&self.loss).unwrap_or_default();
        write_atomic(&self.dir.join("loss.json"), &bytes)
    }

    /// Drops the oldest records of the lowest severities until `incoming` bytes fit with a
    /// tenth of the bound to spare, then rewrites the segments that held them.
    fn make_room(&mut self, incoming: u64) -> Result<usize, SpoolError> {
        let target = self.config.max_bytes - self.config.max_bytes / 10;
        let need =
            (self.pending_bytes + incoming).saturating_sub(target.min(self.config.max_bytes));
        let mut candidates: Vec<&Meta> = self.index.iter().collect();
        candidates.sort_by_key(|m| (m.severity, m.seq));
        let mut freed = 0;
        let mut victims = HashSet::new();
        let mut lost = Vec::new();
        for meta in candidates {
            if freed >= need {
                break;
            }
            freed += meta.len;
            victims.insert(meta.seq);
            lost.push((meta.severity, meta.ts));
        }
        for (severity, ts) in &lost {
            self.count_loss(*severity, *ts);
        }
        let affected: Vec<u64> = {
            let mut set: Vec<u64> = self
                .index
                .iter()
                .filter(|m| victims.contains(&m.seq))
                .map(|m| m.segment)
                .collect();
            set.sort_unstable();
            set.dedup();
            set
        };
        // The active segment is sealed before it is rewritten.
        if self
            .active
            .as_ref()
            .is_some_and(|(n, _)| affected.contains(n))
            && let Some((number, file)) = self.active.take()
        {
            let path = self.dir.join(segment_name(number));
            file.sync_all().map_err(io("sync", &path))?;
        }
        self.index.retain(|m| !victims.contains(&m.seq));
        self.pending_bytes = self.index.iter().map(|m| m.len).sum();
        for number in affected {
            self.rewrite_segment(number)?;
        }
        self.save_loss()?;
        Ok(lost.len())
    }

    /// Rewrites a sealed segment with only the records still in the index.
    fn rewrite_segment(&mut self, number: u64) -> Result<(), SpoolError> {
        let path = self.dir.join(segment_name(number));
        let keep: Vec<Meta> = self
            .index
            .iter()
            .filter(|m| m.segment == number)
            .copied()
            .collect();
        if keep.is_empty() {
            fs::remove_file(&path).map_err(io("remove", &path))?;
            self.segments.remove(&number);
            sync_dir(&self.dir);
            return Ok(());
        }
        let source = File::open(&path).map_err(io("open", &path))?;
        let staging = self.dir.join(format!("seg-{number:020}.rewrite"));
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&staging)
            .map_err(io("create", &staging))?;
        let mut new_offsets = Vec::with_capacity(keep.len());
        let mut offset = 0u64;
        let mut frame = Vec::new();
        for meta in &keep {
            frame.resize(meta.len as usize, 0);
            source
                .read_exact_at(&mut frame, meta.offset)
                .map_err(io("read", &path))?;
            out.write_all(&frame).map_err(io("write", &staging))?;
            new_offsets.push((meta.seq, offset));
            offset += meta.len;
        }
        out.sync_all().map_err(io("sync", &staging))?;
        fs::rename(&staging, &path).map_err(io("rename", &path))?;
        sync_dir(&self.dir);
        self.segments.insert(number, offset);
        for (seq, new_offset) in new_offsets {
            if let Some(meta) = self.index.iter_mut().find(|m| m.seq == seq) {
                meta.offset = new_offset;
            }
        }
        Ok(())
    }

    /// Up to `max_records` pending detections (at most about `max_bytes` of payload), oldest
    /// first, with their sequence numbers. Records that no longer decode are dropped and
    /// counted as lost.
    pub fn peek(
        &mut self,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Detection)>, SpoolError> {
        let mut batch = Vec::new();
        let mut bytes = 0usize;
        let mut undecodable = Vec::new();
        let mut open: Option<(u64, File)> = None;
        let mut frame = Vec::new();
        for meta in self.index.iter() {
            if batch.len() >= max_records || (bytes > 0 && bytes + meta.len as usize > max_bytes) {
                break;
            }
            if open.as_ref().is_none_or(|(n, _)| *n != meta.segment) {
                let path = self.dir.join(segment_name(meta.segment));
                open = Some((meta.segment, File::open(&path).map_err(io("open", &path))?));
            }
            let Some((_, file)) = &open else { break };
            frame.resize(meta.len as usize, 0);
            let path = self.dir.join(segment_name(meta.segment));
            file.read_exact_at(&mut frame, meta.offset)
                .map_err(io("read", &path))?;
            match decode_frame(&frame)
                .and_then(|(_, _, _, payload, _)| serde_json::from_slice::<Detection>(payload).ok())
            {
                Some(detection) => {
                    bytes += meta.len as usize;
                    batch.push((meta.seq, detection));
                }
                None => undecodable.push(*meta),
            }
        }
        if !undecodable.is_empty() {
            for meta in &undecodable {
                self.count_loss(meta.severity, meta.ts);
            }
            let bad: HashSet<u64> = undecodable.iter().map(|m| m.seq).collect();
            self.index.retain(|m| !bad.contains(&m.seq));
            self.pending_bytes = self.index.iter().map(|m| m.len).sum();
            self.save_loss()?;
        }
        Ok(batch)
    }

    /// The center acknowledged every record up to `seq`: forget them, durably.
    pub fn commit(&mut self, seq: u64) -> Result<(), SpoolError> {
        if seq <= self.committed {
            return Ok(());
        }
        self.committed = seq;
        write_atomic(&self.dir.join("commit"), format!("{seq}\n").as_bytes())?;
        while self.index.front().is_some_and(|m| m.seq <= seq) {
            if let Some(meta) = self.index.pop_front() {
                self.pending_bytes = self.pending_bytes.saturating_sub(meta.len);
            }
        }
        // Segments with nothing pending go away (the active one too: a new one starts later).
        let live: HashSet<u64> = self.index.iter().map(|m| m.segment).collect();
        let done: Vec<u64> = self
            .segments
            .keys()
            .copied()
            .filter(|n| !live.contains(n))
            .collect();
        for number in done {
            if self.active.as_ref().is_some_and(|(n, _)| *n == number) {
                self.active = None;
            }
            let path = self.dir.join(segment_name(number));
            fs::remove_file(&path).map_err(io("remove", &path))?;
            self.segments.remove(&number);
        }
        sync_dir(&self.dir);
        Ok(())
    }

    /// Syncs the active segment (the spool is synced after every append already).
    pub fn flush(&mut self) -> Result<(), SpoolError> {
        if let Some((number, file)) = &mut self.active {
            let path = self.dir.join(segment_name(*number));
            file.flush().map_err(io("flush", &path))?;
            file.sync_all().map_err(io("sync", &path))?;
        }
        Ok(())
    }

    /// Bytes of segment files on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.segments.values().sum()
    }
}
