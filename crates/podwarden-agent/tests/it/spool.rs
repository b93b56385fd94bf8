//! The disk-backed spool: order and acknowledgement across restarts, the bound with loss
//! accounting (low severity dropped first), and recovery from torn and corrupt records.

use podwarden_agent::spool::{FRAME_HEADER, Spool, SpoolConfig, decode_frame, encode_frame};
use podwarden_api::uplink::{AlertSeverity, AlertType, Detection, LossReport};
use std::path::Path;

fn detection(id: &str, severity: AlertSeverity, ts: u64) -> Detection {
    Detection {
        id: id.to_string(),
        ts,
        alert_type: AlertType::Process,
        severity,
        rule_id: "PW-PROC-002".to_string(),
        rule_name: "Mining pool protocol in command line".to_string(),
        description: format!("detection {id} {}", "x".repeat(200)),
        advice: None,
        event: None,
        file: None,
        container: None,
    }
}

fn open(dir: &Path, max_bytes: u64) -> Spool {
    Spool::open(
        dir,
        SpoolConfig {
            max_bytes,
            segment_bytes: 2048,
        },
    )
    .unwrap()
    .0
}

fn ids(spool: &mut Spool) -> Vec<String> {
    spool
        .peek(10_000, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, d)| d.id)
        .collect()
}

fn frame_len(d: &Detection) -> u64 {
    (FRAME_HEADER + serde_json::to_vec(d).unwrap().len()) as u64
}

#[test]
fn frames_round_trip_and_reject_damage() {
    let frame = encode_frame(7, AlertSeverity::High, 1234, b"{\"a\":1}");
    let (seq, severity, ts, payload, len) = decode_frame(&frame).unwrap();
    assert_eq!(
        (seq, severity, ts, payload, len),
        (7, AlertSeverity::High, 1234, &b"{\"a\":1}"[..], frame.len())
    );
    let check = |bytes: &[u8], what: &str| assert!(decode_frame(bytes).is_none(), "{what}");
    check(&frame[..frame.len() - 1], "torn payload");
    check(&frame[..3], "torn header");
    let mut flipped = frame.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    check(&flipped, "flipped bit");
    let mut huge = frame.clone();
    huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    check(&huge, "absurd length");
    check(&[], "empty");
}

#[test]
fn order_commit_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path(), 1 << 20);
    let batch: Vec<Detection> = (0..30)
        .map(|i| detection(&format!("d{i}"), AlertSeverity::Medium, i))
        .collect();
    assert_eq!(spool.append(&batch).unwrap(), 0);
    assert_eq!(spool.len(), 30);
    let first = spool.peek(10, usize::MAX).unwrap();
    assert_eq!(
        first.iter().map(|(_, d)| d.id.as_str()).collect::<Vec<_>>(),
        (0..10).map(|i| format!("d{i}")).collect::<Vec<_>>()
    );
    spool.commit(first.last().unwrap().0).unwrap();
    drop(spool);
    // After a restart: what was acknowledged is gone, the rest is there in order.
    let mut spool = open(dir.path(), 1 << 20);
    assert_eq!(
        ids(&mut spool),
        (10..30).map(|i| format!("d{i}")).collect::<Vec<_>>()
    );
    spool
        .append(&[detection("late", AlertSeverity::Low, 99)])
        .unwrap();
    let all = spool.peek(100, usize::MAX).unwrap();
    assert_eq!(all.last().unwrap().1.id, "late");
    let seqs: Vec<u64> = all.iter().map(|(s, _)| *s).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "sequence numbers increase: {seqs:?}"
    );
    spool.commit(all.last().unwrap().0).unwrap();
    assert!(spool.is_empty());
    assert_eq!(spool.disk_bytes(), 0, "acknowledged segments are removed");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("seg-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_bound_drops_oldest_low_severity_first_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let sample = detection("x00", AlertSeverity::Info, 0);
    let one = frame_len(&sample);
    // Room for 10 records.
    let mut spool = open(dir.path(), one * 10 + one / 2);
    let mut batch = vec![
        detection("c00", AlertSeverity::Critical, 1),
        detection("l00", AlertSeverity::Low, 2),
        detection("i00", AlertSeverity::Info, 3),
        detection("h00", AlertSeverity::High, 4),
        detection("l01", AlertSeverity::Low, 5),
        detection("i01", AlertSeverity::Info, 6),
        detection("m00", AlertSeverity::Medium, 7),
        detection("c01", AlertSeverity::Critical, 8),
        detection("i02", AlertSeverity::Info, 9),
        detection("l02", AlertSeverity::Low, 10),
    ];
    for d in &batch {
        assert_eq!(spool.append(std::slice::from_ref(d)).unwrap(), 0);
    }
    assert_eq!(spool.len(), 10);
    // Two more: the spool makes room down to 90% of the bound: three info records go.
    batch.clear();
    batch.push(detection("c02", AlertSeverity::Critical, 11));
    batch.push(detection("c03", AlertSeverity::Critical, 12));
    let dropped = spool.append(&batch).unwrap();
    assert_eq!(dropped, 3);
    assert_eq!(
        ids(&mut spool),
        vec![
            "c00", "l00", "h00", "l01", "m00", "c01", "l02", "c02", "c03"
        ],
        "info records dropped first, oldest first; the order of the rest is kept"
    );
    let loss = spool.pending_loss().unwrap();
    assert_eq!(
        loss,
        LossReport {
            info: 3,
            from_ts: 3,
            to_ts: 9,
            ..LossReport::default()
        }
    );
    assert_eq!(spool.dropped_total(), 3);
    assert!(spool.pending_bytes() <= one * 10 + one / 2);
    // Next the low ones, oldest first.
    spool
        .append(&[
            detection("c04", AlertSeverity::Critical, 13),
            detection("c05", AlertSeverity::Critical, 14),
        ])
        .unwrap();
    let kept = ids(&mut spool);
    assert!(!kept.contains(&"l00".to_string()), "{kept:?}");
    assert!(
        kept.iter().filter(|id| id.starts_with('c')).count() == 6,
        "no critical record lost: {kept:?}"
    );
    // The loss survives a restart until it is reported.
    drop(spool);
    let mut spool = open(dir.path(), one * 10 + one / 2);
    let loss = spool.pending_loss().unwrap();
    assert_eq!(loss.info, 3);
    assert!(loss.low >= 1, "{loss:?}");
    spool.loss_reported(&loss).unwrap();
    assert_eq!(spool.pending_loss(), None);
    assert_eq!(spool.dropped_total(), 3 + loss.low + loss.medium);
    assert_eq!(ids(&mut spool).len(), spool.len());
}

#[test]
fn a_detection_larger_than_the_bound_is_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path(), 64);
    assert!(
        spool
            .append(&[detection("big", AlertSeverity::High, 5)])
            .is_err()
    );
    assert_eq!(spool.pending_loss().map(|l| l.high), Some(1));
    assert!(spool.is_empty());
}

#[test]
fn a_torn_last_record_is_cut_and_the_prefix_survives() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path(), 1 << 20);
    let batch: Vec<Detection> = (0..5)
        .map(|i| detection(&format!("d{i}"), AlertSeverity::High, i))
        .collect();
    spool.append(&batch).unwrap();
    drop(spool);
    let segment = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seg-"))
        })
        .max()
        .unwrap();
    // A crash in the middle of the last write: the file ends inside a record.
    let len = std::fs::metadata(&segment).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(len - 17).unwrap();
    drop(file);
    let (mut spool, recovery) = Spool::open(
        dir.path(),
        SpoolConfig {
            max_bytes: 1 << 20,
            segment_bytes: 2048,
        },
    )
    .unwrap();
    assert_eq!(recovery.torn_segments.len(), 1);
    assert_eq!(ids(&mut spool), vec!["d0", "d1", "d2", "d3"]);
    // Appending after the repair works and survives another restart.
    spool
        .append(&[detection("d5", AlertSeverity::High, 5)])
        .unwrap();
    drop(spool);
    let mut spool = open(dir.path(), 1 << 20);
    assert_eq!(ids(&mut spool), vec!["d0", "d1", "d2", "d3", "d5"]);
}

#[test]
fn garbage_in_the_spool_directory_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let check = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let (mut spool, _) = Spool::open(dir.path(), SpoolConfig::default()).unwrap();
        let _ = spool.peek(10, 1 << 20).unwrap();
    };
    check(
        "seg-00000000000000000001.log",
        b"\xff\xff\xff\xffnot a frame at all",
    );
    check("seg-00000000000000000002.log", &[0u8; 100]);
    check("commit", b"not a number");
    check("loss.json", b"{broken");
    check("seg-notanumber.log", b"ignored");
    let (spool, _) = Spool::open(dir.path(), SpoolConfig::default()).unwrap();
    assert!(spool.is_empty());
}
