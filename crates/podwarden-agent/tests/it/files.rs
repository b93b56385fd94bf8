//! Quarantine and restore by container path: resolved inside the container root, never
//! outside it.

use podwarden_agent::respond::files::{
    ContainerRoot, FileActionError, locate, quarantine, restore, split_container_path,
};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::SystemTime;

struct Pod {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    vault: std::path::PathBuf,
}

/// A container root (`<tmp>/rootfs`) with `/var/www/html/up.php`, and a vault beside it.
fn pod() -> Pod {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rootfs")).unwrap();
    let root = dir.path().join("rootfs").canonicalize().unwrap();
    std::fs::create_dir_all(root.join("var/www/html")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("var/www/html/up.php"),
        "<?php system($_GET['c']); ?>",
    )
    .unwrap();
    std::fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    Pod {
        vault: dir.path().join("vault"),
        root,
        _dir: dir,
    }
}

fn roots(pod: &Pod) -> Vec<ContainerRoot> {
    vec![ContainerRoot {
        via: pod.root.clone(),
        path: Some(pod.root.clone()),
    }]
}

#[test]
fn container_paths_are_checked() {
    let check = |path: &str, expected: Result<(&str, &str), &str>| {
        let got = split_container_path(path).map_err(|e| e.to_string());
        let expected = expected
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .map_err(|e| e.to_string());
        match (&got, &expected) {
            (Ok(g), Ok(e)) => assert_eq!(g, e, "{path}"),
            (Err(g), Err(e)) => assert!(g.contains(e.as_str()), "{path}: {g}"),
            _ => panic!("{path}: {got:?} vs {expected:?}"),
        }
    };
    check("/var/www/x.php", Ok(("/var/www", "x.php")));
    check("/x", Ok(("/", "x")));
    check("//var/./www//x", Ok(("/var/www", "x")));
    check("var/www/x", Err("not an absolute"));
    check("/var/www/../../etc/shadow", Err("escape"));
}

#[test]
fn quarantine_and_restore_inside_the_container() {
    let pod = pod();
    let entry = quarantine(
        &pod.vault,
        &roots(&pod),
        "/var/www/html/up.php",
        SystemTime::now(),
    )
    .unwrap();
    assert!(!pod.root.join("var/www/html/up.php").exists());
    assert_eq!(entry.original_path, pod.root.join("var/www/html/up.php"));
    assert_eq!(entry.size, 28);
    let restored = restore(&pod.vault, &roots(&pod), &entry.id, false).unwrap();
    assert_eq!(restored.sha256, entry.sha256);
    assert_eq!(
        std::fs::read_to_string(pod.root.join("var/www/html/up.php")).unwrap(),
        "<?php system($_GET['c']); ?>"
    );
}

#[test]
fn nothing_outside_the_container_is_touched() {
    let pod = pod();
    let outside = pod.root.parent().unwrap().join("host-secret");
    std::fs::write(&outside, "host").unwrap();
    // A symlink in the container pointing at an absolute path means that path *inside* the
    // container, never the host's.
    symlink("/etc", pod.root.join("var/www/html/etc-link")).unwrap();
    symlink(&outside, pod.root.join("var/www/html/secret-link")).unwrap();
    let check = |path: &str, want: &str| {
        let error = quarantine(&pod.vault, &roots(&pod), path, SystemTime::now()).unwrap_err();
        assert!(error.to_string().contains(want), "{path}: {error}");
    };
    check("/var/www/html/../../../../host-secret", "escape");
    check("/var/www/html/secret-link", "symbolic link");
    check("/var/www/html", "not a regular file");
    check("/nope.php", "in none of the workload containers");
    assert!(outside.exists());
    // Through the in-container symlink: /var/www/html/etc-link/passwd is the container's
    // /etc/passwd, a regular file inside the root.
    let (_, path) = locate(&roots(&pod), "/var/www/html/etc-link/passwd").unwrap();
    assert_eq!(path, pod.root.join("etc/passwd"));
}

#[test]
fn a_root_reachable_only_through_proc_is_refused_clearly() {
    let pod = pod();
    let roots = vec![ContainerRoot {
        via: pod.root.clone(),
        path: None,
    }];
    let error = quarantine(
        &pod.vault,
        &roots,
        "/var/www/html/up.php",
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(matches!(error, FileActionError::Unreachable(_)), "{error}");
    assert!(Path::new(&pod.root.join("var/www/html/up.php")).exists());
}

#[test]
fn the_same_path_in_two_containers_is_ambiguous() {
    let one = pod();
    let two = pod();
    let roots = vec![
        ContainerRoot {
            via: one.root.clone(),
            path: Some(one.root.clone()),
        },
        ContainerRoot {
            via: two.root.clone(),
            path: Some(two.root.clone()),
        },
    ];
    let error = quarantine(
        &one.vault,
        &roots,
        "/var/www/html/up.php",
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(
        matches!(error, FileActionError::Ambiguous { count: 2, .. }),
        "{error}"
    );
}
