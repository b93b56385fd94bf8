//! Root-confined file access: symlinks resolve inside the root, never outside it.

use podwarden_scan::inventory::rootfs::{RootFs, RootFsError};
use std::os::unix::fs::symlink;
use std::path::Path;

/// What opening a path under the root should give: the file's contents, or an error kind.
#[derive(Debug, PartialEq)]
enum Outcome {
    Contents(&'static str),
    NotFound,
    Loop,
    NotADirectory,
    NotAFile,
    TooDeep,
}

fn outcome(fs: &RootFs, path: &str) -> Outcome {
    match fs.read_file(path, 1 << 20) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).expect("test files are UTF-8");
            Outcome::Contents(Box::leak(text.into_boxed_str()))
        }
        Err(RootFsError::NotFound { .. }) => Outcome::NotFound,
        Err(RootFsError::SymlinkLoop { .. }) => Outcome::Loop,
        Err(RootFsError::NotADirectory { .. }) => Outcome::NotADirectory,
        Err(RootFsError::NotAFile { .. }) => Outcome::NotAFile,
        Err(RootFsError::TooDeep { .. }) => Outcome::TooDeep,
        Err(other) => panic!("{path}: unexpected error {other}"),
    }
}

fn write(root: &Path, path: &str, contents: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().expect("has a parent")).expect("mkdir");
    std::fs::write(full, contents).expect("write");
}

#[test]
fn resolves_like_a_chroot() {
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "secret", "outside the root");
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "usr/lib/os-release", "ID=debian\n");
    write(root, "etc/passwd", "inside\n");
    std::fs::create_dir_all(root.join("deep/a/b")).expect("mkdir");
    symlink("../usr/lib/os-release", root.join("etc/os-release")).expect("symlink");
    symlink("/usr/lib/os-release", root.join("abs")).expect("symlink");
    symlink("../../../../../../etc/passwd", root.join("deep/a/b/climb")).expect("symlink");
    symlink("/../../etc/passwd", root.join("absclimb")).expect("symlink");
    let secret = outside.path().join("secret");
    symlink(&secret, root.join("to-outside")).expect("symlink");
    symlink(outside.path(), root.join("dir-outside")).expect("symlink");
    symlink("loop2", root.join("loop1")).expect("symlink");
    symlink("loop1", root.join("loop2")).expect("symlink");
    symlink("self", root.join("self")).expect("symlink");
    symlink("usr/lib", root.join("libdir")).expect("symlink");
    symlink("/", root.join("slash")).expect("symlink");
    symlink("dangling-target", root.join("dangling")).expect("symlink");
    let fifo = root.join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo failed");
    let fs = RootFs::open(root).expect("open root");

    let cases: &[(&str, Outcome)] = &[
        ("usr/lib/os-release", Outcome::Contents("ID=debian\n")),
        ("/usr/lib/os-release", Outcome::Contents("ID=debian\n")),
        ("etc/os-release", Outcome::Contents("ID=debian\n")),
        ("abs", Outcome::Contents("ID=debian\n")),
        ("libdir/os-release", Outcome::Contents("ID=debian\n")),
        (
            "slash/slash/slash/etc/os-release",
            Outcome::Contents("ID=debian\n"),
        ),
        ("../../../etc/passwd", Outcome::Contents("inside\n")),
        ("deep/a/b/climb", Outcome::Contents("inside\n")),
        ("absclimb", Outcome::Contents("inside\n")),
        (
            "deep/a/../../usr/./lib//os-release",
            Outcome::Contents("ID=debian\n"),
        ),
        // Symlinks to the real outside are re-rooted, so they name nothing.
        ("to-outside", Outcome::NotFound),
        ("dir-outside/secret", Outcome::NotFound),
        ("loop1", Outcome::Loop),
        ("self", Outcome::Loop),
        ("dangling", Outcome::NotFound),
        ("usr/lib/os-release/x", Outcome::NotADirectory),
        ("usr/lib", Outcome::NotAFile),
        ("", Outcome::NotAFile),
        ("fifo", Outcome::NotAFile),
        ("nope", Outcome::NotFound),
    ];
    for (path, expected) in cases {
        assert_eq!(&outcome(&fs, path), expected, "path {path:?}");
    }
    let long = format!("{}etc/passwd", "deep/../".repeat(3000));
    assert_eq!(outcome(&fs, &long), Outcome::TooDeep);
}

#[test]
fn open_dir_lists_inside_the_root() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "real/file", "x");
    symlink("/real", tmp.path().join("link")).expect("symlink");
    let fs = RootFs::open(tmp.path()).expect("open root");
    let fd = fs.open_dir("link").expect("open dir through symlink");
    let file = rustix::fs::openat(
        &fd,
        "file",
        rustix::fs::OFlags::RDONLY,
        rustix::fs::Mode::empty(),
    );
    assert!(file.is_ok(), "file inside the symlinked dir opens");
    assert!(matches!(
        fs.open_dir("real/file"),
        Err(RootFsError::NotADirectory { .. })
    ));
}
