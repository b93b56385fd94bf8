//! Tree scans: parallel walk, size bound, binaries, symlinks, user rules, errors.

use podwarden_webshell::{Category, RuleError, RuleSource, ScanOptions, Scanner};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

fn write(root: &Path, name: &str, content: &[u8]) {
    let path = root.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

#[test]
fn tree_scan_counts_and_detects() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    write(root, "www/index.php", b"<?php echo 'hello';");
    write(root, "www/uploads/x.php", b"<?php @eval($_POST['k']);");
    write(root, "www/img/logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    write(
        root,
        "www/img/evil.jpg",
        b"\xff\xd8\xff\xe0\0\x10JFIF\0<?php system($_GET['c']); ?>",
    );
    write(root, "www/js/app.js", b"var x = eval('(' + t + ')');");
    write(root, "www/big.php", &[b'a'; 4096]);
    write(root, "www/lib.jar", b"PK\x03\x04");
    symlink(root.join("www/uploads/x.php"), root.join("www/link.php")).unwrap();

    let scanner = Scanner::new(&[]).unwrap();
    let summary = scanner.scan_tree(
        &root.join("www"),
        &ScanOptions {
            max_file_size: 1024,
            ..ScanOptions::default()
        },
    );
    let detected: Vec<(String, Category)> = summary
        .detections
        .iter()
        .map(|d| {
            (
                d.path.strip_prefix(root).unwrap().display().to_string(),
                d.category,
            )
        })
        .collect();
    assert_eq!(
        detected,
        vec![
            ("www/img/evil.jpg".to_string(), Category::Php),
            ("www/uploads/x.php".to_string(), Category::Php)
        ]
    );
    assert_eq!(summary.skipped.symlinks, 1, "{summary:?}");
    assert_eq!(summary.skipped.too_large, 1, "{summary:?}");
    assert_eq!(summary.skipped.binary, 2, "{summary:?}");
    assert_eq!(summary.skipped.not_web_code, 1, "{summary:?}");
    assert_eq!(summary.files_scanned, 3, "{summary:?}");
    assert!(summary.errors.is_empty(), "{summary:?}");

    // A single file is a tree of one.
    let one = scanner.scan_tree(&root.join("www/uploads/x.php"), &ScanOptions::default());
    assert_eq!(one.detections.len(), 1);
    // A missing root is an error, not a panic.
    let missing = scanner.scan_tree(&root.join("nope"), &ScanOptions::default());
    assert_eq!(missing.errors.len(), 1, "{missing:?}");
    assert!(
        missing.errors[0].message.contains("cannot stat"),
        "{missing:?}"
    );
}

#[test]
fn detections_carry_rule_excerpt_and_line() {
    let scanner = Scanner::new(&[]).unwrap();
    let code = b"<?php\n// tool\n$a = 1;\nsystem($_GET['cmd']);\n";
    let detection = scanner.scan_bytes(Path::new("t.php"), code).unwrap();
    let hit = detection
        .rules
        .iter()
        .find(|h| h.name == "php_command_execution_of_request_input")
        .unwrap();
    assert_eq!(hit.line, Some(4));
    assert_eq!(hit.excerpt, "system($_GET['cmd']);");
    assert!(hit.score >= 60 && !hit.description.is_empty());
    let json = serde_json::to_value(&detection).unwrap();
    assert_eq!(json["category"], "php");
    assert_eq!(json["rules"][0]["line"], 4);
}

#[test]
fn user_rules_add_detections_and_bad_files_are_located() {
    let user = RuleSource::new(
        "/etc/podwarden/acme.yar",
        "rule acme_marker {\n meta:\n  score = 90\n  category = \"jsp\"\n  description = \"our marker\"\n strings:\n  $m = \"ACME-BACKDOOR\"\n condition:\n  $m\n}\n",
    );
    let scanner = Scanner::new(&[user]).unwrap();
    let detection = scanner
        .scan_bytes(Path::new("a.jsp"), b"<% // ACME-BACKDOOR %>")
        .unwrap();
    assert_eq!(detection.category, Category::Jsp);
    assert_eq!(detection.rules[0].name, "user0.acme_marker");
    assert_eq!(detection.rules[0].line, Some(1));

    let broken = RuleSource::new(
        "/etc/podwarden/broken.yar",
        "rule ok { condition: true }\n\nrule bad {\n  condition: $nope\n}\n",
    );
    match Scanner::new(&[broken]) {
        Err(RuleError::Compile {
            origin,
            line,
            message,
        }) => {
            assert_eq!(origin, "/etc/podwarden/broken.yar");
            assert_eq!(line, 4, "{message}");
        }
        other => panic!("expected a located compile error, got {other:?}"),
    }
}

#[test]
fn threshold_decides_what_is_reported() {
    // preg_replace /e without request input weighs 45: reported at 40, not at the default.
    let code = b"<?php echo preg_replace('/(\\w+)/e', 'strtoupper(\"$1\")', $text);";
    let scanner = Scanner::new(&[]).unwrap();
    assert!(scanner.scan_bytes(Path::new("a.php"), code).is_none());
    let low = scanner.with_threshold(40);
    assert_eq!(
        low.scan_bytes(Path::new("a.php"), code).map(|d| d.score),
        Some(45)
    );
}
