//! Quarantine vault: move in, list, restore exactly, and every refusal.

use podwarden_agent::respond::vault::{Entry, Vault, VaultError};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

struct Setup {
    _temp: tempfile::TempDir,
    root: PathBuf,
    vault: Vault,
}

/// A web root with a vault beside it (`<tmp>/vault`) allowed to take files from `<tmp>/www`.
fn setup() -> Setup {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("www");
    fs::create_dir_all(&root).unwrap();
    let vault = Vault::open(&temp.path().join("vault"), std::slice::from_ref(&root)).unwrap();
    Setup {
        root: root.canonicalize().unwrap(),
        _temp: temp,
        vault,
    }
}

fn write(path: &Path, content: &[u8], mode: u32) {
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn quarantine_list_and_restore_exactly() {
    let s = setup();
    let shell = s.root.join("up.php");
    write(&shell, b"<?php @eval($_POST['k']); ?>\n", 0o754);
    if is_root() {
        std::os::unix::fs::chown(&shell, Some(1234), Some(4321)).unwrap();
    }
    let original = fs::metadata(&shell).unwrap();

    let entry = s.vault.quarantine(&shell, at(1_700_000_000)).unwrap();
    assert!(!shell.exists(), "the file must leave the web root");
    assert_eq!(entry.original_path, shell);
    assert_eq!(entry.mode, 0o754);
    assert_eq!((entry.uid, entry.gid), (original.uid(), original.gid()));
    assert_eq!(entry.size, 29);
    assert_eq!(entry.sha256, sha256_hex(b"<?php @eval($_POST['k']); ?>\n"));
    assert_eq!(entry.quarantined_at, 1_700_000_000);

    // Stored under its sha256, not executable; the vault itself is private.
    let object = s.vault.dir().join("objects").join(&entry.sha256);
    assert_eq!(
        fs::read(&object).unwrap(),
        b"<?php @eval($_POST['k']); ?>\n"
    );
    assert_eq!(fs::metadata(&object).unwrap().mode() & 0o777, 0o400);
    assert_eq!(fs::metadata(s.vault.dir()).unwrap().mode() & 0o777, 0o700);

    assert_eq!(s.vault.list().unwrap(), vec![entry.clone()]);
    assert_eq!(s.vault.get(&entry.id).unwrap(), entry);

    let restored = s.vault.restore(&entry.id, false).unwrap();
    assert_eq!(restored, entry);
    let back = fs::metadata(&shell).unwrap();
    assert_eq!(fs::read(&shell).unwrap(), b"<?php @eval($_POST['k']); ?>\n");
    assert_eq!(back.mode() & 0o7777, 0o754);
    assert_eq!((back.uid(), back.gid()), (original.uid(), original.gid()));
    assert_eq!(
        s.vault.list().unwrap(),
        Vec::<Entry>::new(),
        "restored entries leave the vault"
    );
    assert!(!object.exists(), "unused objects are removed");
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// What a refused quarantine reports, as a short tag.
fn refusal(err: &VaultError) -> &'static str {
    match err {
        VaultError::OutsideAllowedRoots(_) => "outside",
        VaultError::Symlink(_) => "symlink",
        VaultError::NotRegularFile(_) => "not-regular",
        VaultError::InsideVault(_) => "inside-vault",
        VaultError::Io { .. } => "io",
        _ => "other",
    }
}

#[test]
fn quarantine_refusals() {
    let s = setup();
    let outside_dir = s._temp.path().join("elsewhere");
    fs::create_dir_all(&outside_dir).unwrap();
    let outside = outside_dir.join("a.php");
    write(&outside, b"x", 0o644);
    let link = s.root.join("link.php");
    symlink(&outside, &link).unwrap();
    let dir = s.root.join("sub");
    fs::create_dir_all(&dir).unwrap();
    let escaping = s.root.join("sub/../../elsewhere/a.php");
    // A vault placed inside the allowed root must still refuse its own files.
    let inner_vault = Vault::open(&s.root.join(".vault"), std::slice::from_ref(&s.root)).unwrap();
    let victim = s.root.join("victim.php");
    write(&victim, b"<?php", 0o644);
    let stored = inner_vault.quarantine(&victim, at(1)).unwrap();
    let own_object = inner_vault.dir().join("objects").join(&stored.sha256);

    let check = |vault: &Vault, path: &Path, expected: &str| {
        let got = vault.quarantine(path, at(2)).map(|_| ()).map_err(|err| {
            assert!(
                err.to_string()
                    .contains(path.file_name().unwrap().to_str().unwrap())
                    || refusal(&err) == "io",
                "message names the file: {err}"
            );
            refusal(&err)
        });
        assert_eq!(got, Err(expected), "{}", path.display());
    };
    check(&s.vault, &outside, "outside");
    check(&s.vault, &link, "symlink");
    check(&s.vault, &dir, "not-regular");
    check(&s.vault, &escaping, "outside");
    check(&s.vault, &s.root.join("missing.php"), "io");
    check(&inner_vault, &own_object, "inside-vault");
    assert!(
        outside.exists() && link.exists(),
        "refused files stay where they are"
    );
}

#[test]
fn restore_refuses_to_overwrite_unless_told() {
    let s = setup();
    let path = s.root.join("index.php");
    write(&path, b"<?php echo 'evil';", 0o640);
    let entry = s.vault.quarantine(&path, at(10)).unwrap();
    write(&path, b"<?php echo 'clean';", 0o644);

    let err = s.vault.restore(&entry.id, false).unwrap_err();
    assert!(matches!(err, VaultError::DestinationExists { .. }), "{err}");
    assert!(err.to_string().contains("index.php"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), b"<?php echo 'clean';");
    assert_eq!(
        s.vault.list().unwrap().len(),
        1,
        "a refused restore keeps the entry"
    );

    s.vault.restore(&entry.id, true).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"<?php echo 'evil';");
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
}

#[test]
fn restore_checks_content_and_ids() {
    let s = setup();
    let path = s.root.join("a.php");
    write(&path, b"<?php system($_GET[1]);", 0o644);
    let entry = s.vault.quarantine(&path, at(20)).unwrap();
    let object = s.vault.dir().join("objects").join(&entry.sha256);
    fs::set_permissions(&object, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(&object, b"tampered").unwrap();

    let err = s.vault.restore(&entry.id, false).unwrap_err();
    assert!(matches!(err, VaultError::HashMismatch { .. }), "{err}");
    assert!(!path.exists(), "nothing is restored from a tampered object");

    for bad in ["nope", "../../etc/passwd", ""] {
        let err = s.vault.restore(bad, false).unwrap_err();
        assert!(matches!(err, VaultError::UnknownEntry(_)), "{bad}: {err}");
    }
}

#[test]
fn same_content_twice_keeps_both_entries() {
    let s = setup();
    let first = s.root.join("one.php");
    let second = s.root.join("two.php");
    write(&first, b"same", 0o644);
    write(&second, b"same", 0o600);
    let a = s.vault.quarantine(&first, at(30)).unwrap();
    let b = s.vault.quarantine(&second, at(31)).unwrap();
    assert_eq!(a.sha256, b.sha256);
    assert_ne!(a.id, b.id);
    s.vault.restore(&a.id, false).unwrap();
    // The shared object stays for the other entry.
    s.vault.restore(&b.id, false).unwrap();
    assert_eq!(fs::read(&second).unwrap(), b"same");
    assert_eq!(fs::metadata(&second).unwrap().mode() & 0o777, 0o600);
}

#[test]
fn quarantine_across_filesystems_copies() {
    // /dev/shm is a tmpfs on Linux; when it is another filesystem than the temp dir, this
    // exercises the copy + fsync + remove path, else the rename path: same outcome either way.
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let root = base.path().canonicalize().unwrap();
    let vault_home = tempfile::tempdir().unwrap();
    let vault = Vault::open(&vault_home.path().join("v"), std::slice::from_ref(&root)).unwrap();
    let path = root.join("x.jsp");
    write(
        &path,
        b"<% Runtime.getRuntime().exec(request.getParameter(\"c\")); %>",
        0o644,
    );
    let entry = vault.quarantine(&path, at(40)).unwrap();
    assert!(!path.exists());
    vault.restore(&entry.id, false).unwrap();
    assert_eq!(
        fs::read(&path).unwrap(),
        b"<% Runtime.getRuntime().exec(request.getParameter(\"c\")); %>"
    );
}
