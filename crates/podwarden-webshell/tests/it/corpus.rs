//! False positives on real benign web applications (Debian's WordPress, phpMyAdmin,
//! MediaWiki, DokuWiki, Tomcat examples, Mono ASP.NET examples, ...), fetched by
//! `bench/fetch-web-corpus.sh`. Runs when `PODWARDEN_WEB_CORPUS` points at the fetched tree;
//! CI sets it after running the script.

use podwarden_webshell::{ScanOptions, Scanner};
use std::path::Path;

/// Known false positives, relative to the corpus root. Keep this list tiny and explained.
const ACCEPTED: &[&str] = &[];

#[test]
fn benign_corpus_has_no_false_positives() {
    let Ok(root) = std::env::var("PODWARDEN_WEB_CORPUS") else {
        eprintln!(
            "PODWARDEN_WEB_CORPUS unset: run bench/fetch-web-corpus.sh and point it at DIR/tree"
        );
        return;
    };
    let root = Path::new(&root);
    assert!(
        root.is_dir(),
        "PODWARDEN_WEB_CORPUS={} is not a directory",
        root.display()
    );
    let summary = Scanner::new(&[])
        .unwrap()
        .scan_tree(root, &ScanOptions::default());
    assert!(
        summary.files_scanned > 1000,
        "corpus too small: {summary:?}"
    );
    let unexpected: Vec<String> = summary
        .detections
        .iter()
        .filter(|d| {
            let relative = d.path.strip_prefix(root).unwrap_or(&d.path);
            !ACCEPTED
                .iter()
                .any(|accepted| relative == Path::new(accepted))
        })
        .map(|d| {
            let first = &d.rules[0];
            format!(
                "{} score {} {} line {:?}: {}",
                d.path.display(),
                d.score,
                first.name,
                first.line,
                first.excerpt
            )
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "{} false positives:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}
