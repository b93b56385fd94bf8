//! Every malicious sample is detected with the category its name starts with; every benign
//! look-alike is clean.

use podwarden_webshell::{Category, Scanner};
use std::path::{Path, PathBuf};

fn data_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(kind)
}

fn files(kind: &str) -> Vec<PathBuf> {
    let dir = data_dir(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Category a malicious sample's file name announces (`php-...`, `jsp-...`).
fn expected_category(path: &Path) -> Category {
    let name = path.file_name().unwrap().to_str().unwrap();
    let prefix = name.split(['-', '.']).next().unwrap();
    match prefix {
        "php" => Category::Php,
        "jsp" | "jspx" => Category::Jsp,
        "asp" => Category::Asp,
        "cgi" => Category::Cgi,
        other => panic!("sample {name}: unknown category prefix {other}"),
    }
}

fn check(scanner: &Scanner, path: &Path, expected: Option<Category>) -> Result<(), String> {
    let data = std::fs::read(path).unwrap();
    let got = scanner.scan_bytes(path, &data);
    match (&got, expected) {
        (None, None) => Ok(()),
        (Some(detection), Some(category)) if detection.category == category => {
            if detection
                .rules
                .iter()
                .any(|hit| hit.line.is_some() && !hit.excerpt.is_empty())
            {
                Ok(())
            } else {
                Err(format!(
                    "{}: no hit points at a line: {detection:?}",
                    path.display()
                ))
            }
        }
        _ => Err(format!(
            "{}: expected {expected:?}, got {:?}",
            path.display(),
            got.as_ref().map(|d| (
                d.category,
                d.score,
                d.rules
                    .iter()
                    .map(|h| (&h.name, h.score))
                    .collect::<Vec<_>>()
            ))
        )),
    }
}

#[test]
fn malicious_samples_are_detected_with_their_category() {
    let scanner = Scanner::new(&[]).unwrap();
    let samples = files("malicious");
    assert!(
        samples.len() >= 40,
        "only {} malicious samples",
        samples.len()
    );
    let failures: Vec<String> = samples
        .iter()
        .filter_map(|path| check(&scanner, path, Some(expected_category(path))).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn benign_look_alikes_are_clean() {
    let scanner = Scanner::new(&[]).unwrap();
    let samples = files("benign");
    assert!(samples.len() >= 10, "only {} benign samples", samples.len());
    let failures: Vec<String> = samples
        .iter()
        .filter_map(|path| check(&scanner, path, None).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
