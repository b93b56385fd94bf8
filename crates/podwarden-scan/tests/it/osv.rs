//! OSV records, loading (directories and `all.zip` exports) and the on-disk index.

use podwarden_scan::inventory::{Ecosystem, Package};
use podwarden_scan::vuln::Database;
use podwarden_scan::vuln::index::{BuildMeta, INDEX_FILE, IndexBuilder, IndexError};
use podwarden_scan::vuln::load::{Limits, LoadError, load_all, load_path, load_zip};
use podwarden_scan::vuln::osv::{Event, RangeType, Record};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The real OSV slice in `shared/compat/osv-slice/` (read in place).
pub fn slice_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/osv-slice");
    assert!(
        dir.join("README.md").is_file(),
        "the OSV slice is missing: expected it at {}",
        dir.display()
    );
    dir
}

/// Every record of one ecosystem folder of the slice (or of all of it with `""`).
pub fn slice_records(folder: &str) -> Vec<Record> {
    let (records, invalid) = load_all(&slice_dir().join(folder), &Limits::default())
        .unwrap_or_else(|err| panic!("loading the slice: {err}"));
    assert!(
        invalid.is_empty(),
        "invalid records in the slice: {invalid:?}"
    );
    records
}

/// A record from JSON written in a test.
pub fn record(json: serde_json::Value) -> Record {
    let bytes = serde_json::to_vec(&json).expect("test JSON serialises");
    Record::from_json(&bytes).unwrap_or_else(|why| panic!("test record rejected: {why}"))
}

#[test]
fn the_slice_loads_completely() {
    let records = slice_records("");
    let db = Database::from_records(&records);
    let want: BTreeMap<String, u64> = [
        ("Go", 133),
        ("Maven", 1),
        ("PyPI", 186),
        ("crates.io", 110),
        ("npm", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(db.info().ecosystems, want);
    assert_eq!(db.info().records, 432);
    assert_eq!(db.info().withdrawn, 5);
}

#[test]
fn records_parse_the_fields_matching_needs() {
    let records = slice_records("PyPI");
    let django = records
        .iter()
        .find(|r| r.id == "PYSEC-2012-7")
        .expect("PYSEC-2012-7 in the slice");
    let affected = &django.affected[0];
    let package = affected.package.as_ref().expect("package");
    assert_eq!(
        (package.ecosystem.as_str(), package.name.as_str()),
        ("PyPI", "django")
    );
    let kinds: Vec<RangeType> = affected.ranges.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [RangeType::Git, RangeType::Ecosystem]);
    assert_eq!(
        affected.ranges[1].events,
        [
            Event::Introduced("1.3".into()),
            Event::Fixed("1.3.4".into()),
            Event::Introduced("1.4".into()),
            Event::Fixed("1.4.2".into()),
        ]
    );
    assert_eq!(affected.versions.len(), 6);
}

/// `(file name, contents, expected reason fragment)`; `None` means the record is valid.
fn check_parse(cases: &[(&str, &str, Option<&str>)]) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, body, _) in cases {
        std::fs::write(dir.path().join(name), body).expect("write case");
    }
    let (records, invalid) = load_all(dir.path(), &Limits::default()).expect("load");
    for (name, _, want) in cases {
        let bad = invalid
            .iter()
            .find(|i| i.origin.file.file_name().and_then(|f| f.to_str()) == Some(name));
        match want {
            None => assert!(bad.is_none(), "{name}: rejected: {bad:?}"),
            Some(fragment) => {
                let bad = bad.unwrap_or_else(|| panic!("{name}: accepted, wanted {fragment:?}"));
                assert!(
                    bad.reason.contains(fragment),
                    "{name}: reason {:?} lacks {fragment:?}",
                    bad.reason
                );
                assert!(bad.to_string().contains(name), "{bad} names the file");
            }
        }
    }
    let valid = cases.iter().filter(|c| c.2.is_none()).count();
    assert_eq!(records.len(), valid);
}

#[test]
fn invalid_records_are_reported_and_skipped() {
    check_parse(&[
        (
            "ok.json",
            r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","unknown_field":{"a":1},
               "aliases":null,"affected":[{"package":{"ecosystem":"PyPI","name":"a"},
               "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1"}]}],
               "versions":null}]}"#,
            None,
        ),
        (
            "bad-json.json",
            r#"{"id": "X-2", "affected": [}"#,
            Some("invalid JSON"),
        ),
        ("no-id.json", r#"{"affected": []}"#, Some("missing `id`")),
        ("empty-id.json", r#"{"id": " "}"#, Some("`id` is empty")),
        (
            "two-keys.json",
            r#"{"id":"X-3","affected":[{"package":{"ecosystem":"npm","name":"a"},
               "ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]}"#,
            Some("affected[0].ranges[0].events[0]: an event must have exactly one key"),
        ),
        (
            "range-type.json",
            r#"{"id":"X-4","affected":[{"package":{"ecosystem":"npm","name":"a"},
               "ranges":[{"type":"SEMVER","events":[]},{"type":"CALVER","events":[]}]}]}"#,
            Some("affected[0].ranges[1]: unknown range type \"CALVER\""),
        ),
        (
            "event-kind.json",
            r#"{"id":"X-5","affected":[{"package":{"ecosystem":"npm","name":"a"},
               "ranges":[{"type":"SEMVER","events":[{"broken":"1"}]}]}]}"#,
            Some("unknown event \"broken\""),
        ),
        (
            "event-number.json",
            r#"{"id":"X-6","affected":[{"package":{"ecosystem":"PyPI","name":"a"},
               "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":1.10}]}]}]}"#,
            Some("version is not a string"),
        ),
        (
            "no-name.json",
            r#"{"id":"X-7","affected":[{"package":{"ecosystem":"PyPI"}}]}"#,
            Some("affected[0].package: missing `name`"),
        ),
        ("not-an-object.json", r#"[1, 2, 3]"#, Some("invalid JSON")),
    ]);
}

/// Writes a zip with the given `(entry name, contents)`.
fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    let file = std::fs::File::create(path).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in entries {
        zip.start_file(name.as_str(), options).expect("zip entry");
        zip.write_all(body).expect("zip write");
    }
    zip.finish().expect("zip finish");
}

/// The `(entry name, contents)` of every record file in one slice folder.
pub fn slice_entries(folder: &str) -> Vec<(String, Vec<u8>)> {
    let mut entries: Vec<(String, Vec<u8>)> = std::fs::read_dir(slice_dir().join(folder))
        .expect("read slice folder")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            (name, std::fs::read(&p).expect("read record"))
        })
        .collect();
    entries.sort();
    entries
}

#[test]
fn all_zip_exports_load_with_entry_names_in_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut entries = slice_entries("crates.io");
    entries.push(("bad.json".into(), b"{\"id\": 7}".to_vec()));
    entries.push(("README.txt".into(), b"not a record".to_vec()));
    let zip_path = dir.path().join("all.zip");
    write_zip(&zip_path, &entries);

    let (records, invalid) = load_all(&zip_path, &Limits::default()).expect("load zip");
    assert_eq!(records.len(), 110);
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0].origin.entry.as_deref(), Some("bad.json"));
    let shown = invalid[0].to_string();
    assert!(
        shown.contains("all.zip!bad.json") && shown.contains("`id` is not a string"),
        "{shown}"
    );

    // The same bytes through the in-memory reader.
    let bytes = std::fs::read(&zip_path).expect("read zip");
    let mut count = 0;
    load_zip(
        Path::new("mirror/crates.io/all.zip"),
        std::io::Cursor::new(bytes),
        &Limits::default(),
        &mut |item| count += usize::from(item.is_ok()),
    )
    .expect("load zip from memory");
    assert_eq!(count, 110);
}

#[test]
fn a_directory_of_ecosystem_zips_loads_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    for folder in ["crates.io", "Go"] {
        std::fs::create_dir(dir.path().join(folder)).expect("mkdir");
        write_zip(
            &dir.path().join(folder).join("all.zip"),
            &slice_entries(folder),
        );
    }
    let mut records = 0;
    let stats = load_path(dir.path(), &Limits::default(), &mut |item| {
        records += usize::from(item.is_ok())
    })
    .expect("load");
    assert_eq!((records, stats.zips), (110 + 133, 2));
}

#[test]
fn truncated_or_corrupt_zips_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole = dir.path().join("whole.zip");
    write_zip(&whole, &slice_entries("Go"));
    let bytes = std::fs::read(&whole).expect("read");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated.zip", bytes[..bytes.len() / 2].to_vec()),
        ("empty.zip", Vec::new()),
        ("text.zip", b"this is not a zip archive at all".to_vec()),
    ];
    for (name, body) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, body).expect("write");
        let err = load_all(&path, &Limits::default()).expect_err(name);
        assert!(matches!(err, LoadError::Zip { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
}

#[test]
fn zip_reads_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("all.zip");
    let mut entries = slice_entries("crates.io");
    entries.truncate(3);
    // A record padded far past the entry limit (it compresses to almost nothing).
    let mut huge = b"{\"id\": \"HUGE-1\", \"details\": \"".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 200_000));
    huge.extend_from_slice(b"\"}");
    entries.insert(1, ("huge.json".into(), huge));
    write_zip(&path, &entries);

    let limits = Limits {
        max_entry_bytes: 100_000,
        ..Limits::default()
    };
    let (records, invalid) = load_all(&path, &limits).expect("entry limit is per record");
    assert_eq!(records.len(), 3);
    assert_eq!(invalid.len(), 1);
    assert!(
        invalid[0].reason.contains("over the 100000-byte limit"),
        "{:?}",
        invalid[0]
    );

    let limits = Limits {
        max_zip_bytes: 150_000,
        ..Limits::default()
    };
    let err = load_all(&path, &limits).expect_err("total limit");
    assert!(matches!(err, LoadError::TooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("all.zip"), "{err}");
}

#[test]
fn directory_loads_skip_symlinks_and_oversized_files() {
    let outside = tempfile::tempdir().expect("tempdir");
    let outside_record = outside.path().join("OUT-1.json");
    std::fs::write(&outside_record, br#"{"id": "OUT-1"}"#).expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("IN-1.json"), br#"{"id": "IN-1"}"#).expect("write");
    std::fs::write(
        dir.path().join("BIG-1.json"),
        format!(r#"{{"id": "BIG-1", "details": "{}"}}"#, "b".repeat(5000)),
    )
    .expect("write");
    std::os::unix::fs::symlink(&outside_record, dir.path().join("link.json")).expect("symlink");
    std::os::unix::fs::symlink(outside.path(), dir.path().join("linkdir")).expect("symlink");

    let limits = Limits {
        max_file_bytes: 1000,
        ..Limits::default()
    };
    let mut ids = Vec::new();
    let mut bad = Vec::new();
    let stats = load_path(dir.path(), &limits, &mut |item| match item {
        Ok((record, _)) => ids.push(record.id),
        Err(invalid) => bad.push(invalid.to_string()),
    })
    .expect("load");
    assert_eq!(ids, ["IN-1"]);
    assert_eq!(stats.symlinks_skipped, 2);
    assert_eq!(bad.len(), 1);
    assert!(
        bad[0].contains("BIG-1.json") && bad[0].contains("limit"),
        "{bad:?}"
    );
}

#[test]
fn a_missing_or_unsupported_path_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    let err = load_all(&missing, &Limits::default()).expect_err("missing");
    assert!(err.to_string().contains("nope"), "{err}");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "x").expect("write");
    let err = load_all(&text, &Limits::default()).expect_err("txt");
    assert!(matches!(err, LoadError::Unsupported { .. }), "{err:?}");
}

fn cargo(name: &str, version: &str) -> Package {
    Package {
        ecosystem: Ecosystem::CratesIo,
        release: None,
        name: name.into(),
        version: version.into(),
        source: None,
        location: "Cargo.lock".into(),
        purl: format!("pkg:cargo/{name}@{version}"),
    }
}

#[test]
fn the_index_round_trips_through_its_file() {
    let records = slice_records("");
    let mut builder = IndexBuilder::new();
    for r in &records {
        builder.add(r);
    }
    let meta = BuildMeta {
        built_at: "2026-01-02T03:04:05Z".into(),
        sources: vec!["osv-slice".into()],
    };
    let built = builder.finish(meta);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = built.write(dir.path()).expect("write index");
    assert_eq!(path, dir.path().join(INDEX_FILE));

    let opened = Database::open(dir.path()).expect("open index");
    assert_eq!(opened.info(), built.info());
    assert_eq!(opened.info().built_at, "2026-01-02T03:04:05Z");
    assert_eq!(opened.len(), 432);

    let packages = [
        cargo("smallvec", "0.6.13"),
        cargo("hyper", "0.14.9"),
        cargo("openssl", "0.10.20"),
    ];
    let from_file = opened.matches_packages(&packages);
    assert!(!from_file.is_empty());
    assert_eq!(from_file, built.matches_packages(&packages));

    // Details are not part of the loaded core but come back on demand.
    let original = records
        .iter()
        .find(|r| r.id == "RUSTSEC-2021-0003")
        .and_then(|r| r.details.clone());
    assert_eq!(
        opened.details("RUSTSEC-2021-0003").expect("details"),
        original
    );
    assert_eq!(opened.details("NOPE-1").expect("details"), None);
}

/// Damages a valid index with `damage` and checks the error `open` gives.
fn check_damaged(damage: impl Fn(&mut Vec<u8>), want: impl Fn(&IndexError) -> bool, label: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    Database::from_records(&slice_records("npm"))
        .write(dir.path())
        .expect("write");
    let path = dir.path().join(INDEX_FILE);
    let mut bytes = std::fs::read(&path).expect("read");
    damage(&mut bytes);
    std::fs::write(&path, &bytes).expect("write damaged");
    let err = Database::open(dir.path()).expect_err(label);
    assert!(want(&err), "{label}: {err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("podwarden db") && shown.contains(INDEX_FILE),
        "{label}: {shown}"
    );
}

#[test]
fn damaged_or_old_indexes_ask_for_a_reimport() {
    check_damaged(
        |b| {
            let mut core_len = [0u8; 8];
            core_len.copy_from_slice(&b[16..24]);
            let mid = 64 + u64::from_le_bytes(core_len) as usize / 2;
            b[mid] ^= 0x55;
        },
        |e| matches!(e, IndexError::Corrupt { what, .. } if what.contains("checksum")),
        "flipped byte",
    );
    check_damaged(
        |b| b.truncate(b.len() - 10),
        |e| matches!(e, IndexError::Corrupt { .. }),
        "truncated",
    );
    check_damaged(
        |b| b.truncate(20),
        |e| matches!(e, IndexError::Corrupt { .. }),
        "header only",
    );
    check_damaged(
        |b| b[8..12].copy_from_slice(&0u32.to_le_bytes()),
        |e| matches!(e, IndexError::Version { found: 0, .. }),
        "old format",
    );
    check_damaged(
        |b| *b = b"{\"not\": \"an index\"}".to_vec(),
        |e| matches!(e, IndexError::BadMagic { .. }),
        "not an index",
    );
}

#[test]
fn a_missing_index_says_how_to_get_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Database::open(dir.path()).expect_err("empty dir");
    assert!(matches!(err, IndexError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("podwarden db update"), "{err}");
}
