//! Web roots: candidates, and the inotify watch turning writes into file changes.

use podwarden_agent::collect::container::{Containers, PodIdentity};
use podwarden_agent::collect::procfs::ProcFs;
use podwarden_agent::collect::webroot::{
    ChangeKind, FileChange, WebRoot, WebWatcher, is_within, normalize,
};
use std::path::Path;
use std::time::{Duration, Instant};

#[test]
fn candidates_and_paths() {
    let roots = WebWatcher::candidates(
        &["/srv/app/public/".to_string()],
        &[Some(0)],
        &[
            (Some(0), "httpd".to_string(), "/var/www".to_string()),
            (Some(0), "nginx".to_string(), "/".to_string()),
            (Some(0), "bash".to_string(), "/home/user/site".to_string()),
            (Some(0), "php-fpm8.2".to_string(), "/opt/site".to_string()),
        ],
    );
    let paths: Vec<&str> = roots.iter().map(|r| r.path.as_str()).collect();
    assert!(paths.contains(&"/srv/app/public"), "{paths:?}");
    assert!(
        paths.contains(&"/opt/site"),
        "a web server's working directory: {paths:?}"
    );
    assert!(
        !paths.contains(&"/"),
        "never the whole filesystem: {paths:?}"
    );
    assert!(
        !paths.contains(&"/home/user/site"),
        "not a web server: {paths:?}"
    );
    assert_eq!(
        paths.iter().filter(|p| **p == "/var/www").count(),
        1,
        "deduplicated: {paths:?}"
    );
    assert!(is_within("/var/www/html", "/var/www") && is_within("/var/www", "/var/www"));
    assert!(!is_within("/var/wwwx", "/var/www"));
    assert_eq!(normalize("srv/"), "/srv");
}

fn read_until(
    watcher: &mut WebWatcher,
    proc: &ProcFs,
    containers: &Containers,
    want: usize,
) -> Vec<FileChange> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut out = Vec::new();
    while out.len() < want && Instant::now() < deadline {
        watcher.read(proc, containers, &mut out);
        std::thread::sleep(Duration::from_millis(10));
    }
    out
}

#[test]
fn writes_below_a_watched_root_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join("www");
    std::fs::create_dir_all(root.join("html/uploads")).unwrap();
    let root_text = root.to_string_lossy().into_owned();
    let proc = ProcFs::open(Path::new("/proc")).unwrap();
    let containers = Containers::new(&proc, std::process::id(), PodIdentity::default());
    let mut watcher = WebWatcher::new(1024).unwrap();
    let added = watcher.update_roots(
        &proc,
        &containers,
        vec![WebRoot {
            container: None,
            path: root_text.clone(),
        }],
    );
    assert_eq!(added.len(), 1);
    assert!(
        watcher.stats().watches >= 3,
        "the root and its subdirectories: {:?}",
        watcher.stats()
    );
    // A root inside a watched one adds nothing.
    let inner = WebRoot {
        container: None,
        path: format!("{root_text}/html"),
    };
    assert!(
        watcher
            .update_roots(&proc, &containers, vec![inner])
            .is_empty()
    );

    std::fs::write(
        root.join("html/uploads/shell.php"),
        "<?php eval($_POST['x']);",
    )
    .unwrap();
    let changes = read_until(&mut watcher, &proc, &containers, 1);
    assert_eq!(
        changes,
        vec![FileChange {
            container: None,
            path: format!("{root_text}/html/uploads/shell.php"),
            kind: ChangeKind::Created
        }]
    );
    std::fs::write(
        root.join("html/uploads/shell.php"),
        "<?php eval($_POST['y']);",
    )
    .unwrap();
    let changes = read_until(&mut watcher, &proc, &containers, 1);
    assert_eq!(changes[0].kind, ChangeKind::Modified);
    std::fs::rename(root.join("html/uploads/shell.php"), root.join("html/x.php")).unwrap();
    let changes = read_until(&mut watcher, &proc, &containers, 1);
    assert_eq!(
        changes[0].kind,
        ChangeKind::Renamed {
            from: Some(format!("{root_text}/html/uploads/shell.php"))
        }
    );
    // A directory created and filled at once: its files are found even if written before
    // the new watch existed.
    std::fs::create_dir_all(root.join("html/new/deep")).unwrap();
    std::fs::write(
        root.join("html/new/deep/a.jsp"),
        "<% Runtime.getRuntime().exec(request.getParameter(\"c\")); %>",
    )
    .unwrap();
    let changes = read_until(&mut watcher, &proc, &containers, 1);
    assert!(
        changes
            .iter()
            .any(|c| c.path == format!("{root_text}/html/new/deep/a.jsp")),
        "{changes:?}"
    );
}
