//! `podwarden db import|update|info` end to end, `update` against a mirror served over
//! loopback HTTP by a thread of the test.

use crate::scan_vuln::{path_str, podwarden, run_expect, slice_dir, text};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A zip of every record file in one slice folder, plus `extra` entries.
fn slice_zip(folder: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut paths: Vec<_> = std::fs::read_dir(slice_dir().join(folder))
        .expect("slice folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        zip.start_file(name, options).expect("entry");
        zip.write_all(&std::fs::read(&path).expect("record"))
            .expect("write");
    }
    for (name, body) in extra {
        zip.start_file(*name, options).expect("entry");
        zip.write_all(body).expect("write");
    }
    zip.finish().expect("finish").into_inner()
}

#[test]
fn import_a_zip_reports_invalid_records_and_info_shows_counts() {
    let home = tempfile::tempdir().expect("tempdir");
    let zip_path = home.path().join("all.zip");
    std::fs::write(
        &zip_path,
        slice_zip(
            "crates.io",
            &[("BROKEN-1.json", b"{\"id\": \"BROKEN-1\", \"affected\": 5}")],
        ),
    )
    .expect("write zip");
    let db = home.path().join("db");
    let out = run_expect(
        home.path(),
        &["db", "import", path_str(&zip_path), "--db", path_str(&db)],
        0,
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("all.zip!BROKEN-1.json") && stderr.contains("invalid JSON"),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Imported 110 records (1 invalid skipped)"),
        "{stdout}"
    );

    let out = run_expect(home.path(), &["db", "info", "--db", path_str(&db)], 0);
    let info = text(&out.stdout);
    let line_of = |key: &str| {
        info.lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
    };
    assert_eq!(
        line_of("crates.io"),
        Some(vec!["crates.io", "110"]),
        "{info}"
    );
    assert_eq!(line_of("total"), Some(vec!["total", "110"]), "{info}");
    assert!(info.contains("Built:"), "{info}");
}

#[test]
fn import_a_directory_of_ecosystem_zips() {
    let home = tempfile::tempdir().expect("tempdir");
    let mirror = home.path().join("mirror");
    for folder in ["Go", "npm"] {
        std::fs::create_dir_all(mirror.join(folder)).expect("mkdir");
        std::fs::write(mirror.join(folder).join("all.zip"), slice_zip(folder, &[])).expect("zip");
    }
    let db = home.path().join("db");
    run_expect(
        home.path(),
        &["db", "import", path_str(&mirror), "--db", path_str(&db)],
        0,
    );
    let info = text(&run_expect(home.path(), &["db", "info", "--db", path_str(&db)], 0).stdout);
    assert!(
        info.lines().any(|l| l.split_whitespace().eq(["Go", "133"])),
        "{info}"
    );
    assert!(
        info.lines().any(|l| l.split_whitespace().eq(["npm", "2"])),
        "{info}"
    );
    assert!(
        info.lines()
            .any(|l| l.split_whitespace().eq(["total", "135"])),
        "{info}"
    );
}

#[test]
fn db_errors_say_what_is_wrong() {
    let home = tempfile::tempdir().expect("tempdir");
    let empty = home.path().join("empty");
    let out = run_expect(home.path(), &["db", "info", "--db", path_str(&empty)], 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no vulnerability database") && stderr.contains("podwarden db update"),
        "{stderr}"
    );

    let missing = home.path().join("nowhere");
    let out = run_expect(
        home.path(),
        &["db", "import", path_str(&missing), "--db", path_str(&empty)],
        2,
    );
    assert!(
        text(&out.stderr).contains("nowhere"),
        "{}",
        text(&out.stderr)
    );

    let truncated = home.path().join("all.zip");
    let zip = slice_zip("Go", &[]);
    std::fs::write(&truncated, &zip[..zip.len() / 3]).expect("write");
    let out = run_expect(
        home.path(),
        &[
            "db",
            "import",
            path_str(&truncated),
            "--db",
            path_str(&empty),
        ],
        2,
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("all.zip") && stderr.contains("zip"),
        "{stderr}"
    );
    assert!(!empty.join("osv-index.bin").exists());
}

/// A mirror on 127.0.0.1: `routes` maps a request path to a body; anything else is a 404.
/// Serves at most `max_requests` requests within two minutes, then stops by itself.
struct Mirror {
    url: String,
    requested: Arc<Mutex<Vec<String>>>,
}

fn serve(routes: Vec<(String, Vec<u8>)>, max_requests: usize) -> Mirror {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    listener.set_nonblocking(true).expect("nonblocking");
    let requested = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requested);
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut served = 0;
        while served < max_requests && Instant::now() < deadline {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            served += 1;
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while head.len() < 16 * 1024 && !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            if let Ok(mut log) = log.lock() {
                log.push(path.clone());
            }
            let response = match routes.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    Mirror { url, requested }
}

fn info_totals(home: &Path, db: &Path) -> String {
    text(&run_expect(home, &["db", "info", "--db", path_str(db)], 0).stdout)
}

#[test]
fn update_downloads_from_a_mirror_and_keeps_the_old_index_on_failure() {
    let home = tempfile::tempdir().expect("tempdir");
    let go = slice_zip("Go", &[]);
    let pypi = slice_zip("PyPI", &[]);
    let mirror = serve(
        vec![
            ("/crates.io/all.zip".into(), slice_zip("crates.io", &[])),
            ("/Go/all.zip".into(), go),
            // Cut short: the zip's central directory is missing.
            ("/PyPI/all.zip".into(), pypi[..pypi.len() / 2].to_vec()),
        ],
        20,
    );
    let db = home.path().join("db");

    // A good update: two ecosystems, one missing from the mirror (404), one with a space.
    let out = run_expect(
        home.path(),
        &[
            "db",
            "update",
            "--mirror",
            &mirror.url,
            "--db",
            path_str(&db),
            "--ecosystem",
            "crates.io",
            "--ecosystem",
            "Go",
            "--ecosystem",
            "npm",
            "--ecosystem",
            "Red Hat",
        ],
        0,
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("npm: not on the mirror (HTTP 404"),
        "{stderr}"
    );
    let info = info_totals(home.path(), &db);
    assert!(
        info.lines()
            .any(|l| l.split_whitespace().eq(["crates.io", "110"])),
        "{info}"
    );
    assert!(
        info.lines().any(|l| l.split_whitespace().eq(["Go", "133"])),
        "{info}"
    );
    assert!(
        info.lines()
            .any(|l| l.split_whitespace().eq(["total", "243"])),
        "{info}"
    );
    assert!(
        info.contains(&format!("{}/crates.io/all.zip", mirror.url)),
        "{info}"
    );
    let requested = mirror
        .requested
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    assert!(
        requested.iter().any(|p| p == "/Red%20Hat/all.zip"),
        "{requested:?}"
    );

    // A truncated zip fails the update and leaves the index as it was.
    let out = run_expect(
        home.path(),
        &[
            "db",
            "update",
            "--mirror",
            &mirror.url,
            "--db",
            path_str(&db),
            "--ecosystem",
            "crates.io",
            "--ecosystem",
            "PyPI",
        ],
        2,
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("/PyPI/all.zip") && stderr.contains("truncated or corrupt"),
        "{stderr}"
    );
    assert!(stderr.contains("left unchanged"), "{stderr}");
    assert_eq!(info_totals(home.path(), &db), info);
    // No download debris is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&db)
        .expect("db dir")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(leftovers, [std::ffi::OsString::from("osv-index.bin")]);

    // A mirror with none of the ecosystems is an error too.
    let out = run_expect(
        home.path(),
        &[
            "db",
            "update",
            "--mirror",
            &mirror.url,
            "--db",
            path_str(&db),
            "--ecosystem",
            "Hex",
        ],
        2,
    );
    assert!(
        text(&out.stderr).contains("none of the requested ecosystems"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn update_against_an_unreachable_mirror_fails_cleanly() {
    let home = tempfile::tempdir().expect("tempdir");
    // Bind then drop a listener: nothing listens on that loopback port now.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let db = home.path().join("db");
    let out = podwarden(
        home.path(),
        &[
            "db",
            "update",
            "--mirror",
            &url,
            "--db",
            path_str(&db),
            "--ecosystem",
            "Go",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("/Go/all.zip"),
        "{}",
        text(&out.stderr)
    );
    assert!(!db.join("osv-index.bin").exists());
}
