//! Image tarballs and OCI layouts: layers applied in order with whiteouts, opaque directories,
//! symlinks and hard links; hostile entry names and oversized images refused.

use super::inventory_os::TestDetector;
use podwarden_scan::inventory::detectors::default_detectors;
use podwarden_scan::inventory::{
    Detector, Inventory, InventoryError, ScanOptions, inventory_image,
};
use std::io::Write;
use std::path::Path;

/// One layer entry.
enum E<'a> {
    File(&'a str, &'a [u8]),
    Exec(&'a str, &'a [u8]),
    Dir(&'a str),
    Sym(&'a str, &'a str),
    Hard(&'a str, &'a str),
    /// A regular file whose raw name bypasses the tar crate's own checks (`../x`, `/x`).
    RawName(&'a [u8], &'a [u8]),
}

fn tar_of(entries: &[E<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        match entry {
            E::File(path, data) | E::Exec(path, data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(if matches!(entry, E::Exec(..)) {
                    0o755
                } else {
                    0o644
                });
                header.set_size(data.len() as u64);
                builder
                    .append_data(&mut header, path, *data)
                    .expect("append file");
            }
            E::Dir(path) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder
                    .append_data(&mut header, path, &[][..])
                    .expect("append dir");
            }
            E::Sym(path, target) | E::Hard(path, target) => {
                header.set_entry_type(if matches!(entry, E::Sym(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                header.set_mode(0o777);
                header.set_size(0);
                builder
                    .append_link(&mut header, path, target)
                    .expect("append link");
            }
            E::RawName(name, data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(data.len() as u64);
                header.as_old_mut().name[..name.len()].copy_from_slice(name);
                header.set_cksum();
                builder.append(&header, *data).expect("append raw");
            }
        }
    }
    builder.into_inner().expect("finish tar")
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A `docker save` tarball: `<n>/layer.tar` members and `manifest.json`.
fn docker_save(layers: &[Vec<u8>]) -> Vec<u8> {
    let names: Vec<String> = (0..layers.len())
        .map(|i| format!("{i:064x}/layer.tar"))
        .collect();
    let manifest = serde_json::json!([{
        "Config": "config.json",
        "RepoTags": ["test:latest"],
        "Layers": names,
    }]);
    let mut entries: Vec<(String, Vec<u8>)> = vec![
        ("config.json".into(), b"{}".to_vec()),
        ("manifest.json".into(), manifest.to_string().into_bytes()),
    ];
    for (name, layer) in names.iter().zip(layers) {
        entries.push((name.clone(), layer.clone()));
    }
    let files: Vec<E<'_>> = entries.iter().map(|(n, d)| E::File(n, d)).collect();
    tar_of(&files)
}

fn digest(n: usize) -> String {
    format!("sha256:{n:064x}")
}

/// The files of an OCI layout whose index points at a multi-platform index (arm64 first,
/// then an attestation, then amd64) whose amd64 manifest lists `layers`.
fn oci_files(layers: &[Vec<u8>]) -> Vec<(String, Vec<u8>)> {
    let blob = |d: &str| format!("blobs/sha256/{}", d.trim_start_matches("sha256:"));
    let mut files = vec![(
        "oci-layout".to_string(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    )];
    let layer_descriptors: Vec<serde_json::Value> = layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            files.push((blob(&digest(100 + i)), layer.clone()));
            serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": digest(100 + i),
                "size": layer.len(),
            })
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(1), "size": 2},
        "layers": layer_descriptors,
    });
    files.push((blob(&digest(1)), b"{}".to_vec()));
    files.push((blob(&digest(2)), manifest.to_string().into_bytes()));
    // The arm64 manifest names a layer that does not exist: choosing it would fail the test.
    let arm =
        serde_json::json!({"schemaVersion": 2, "layers": [{"digest": digest(999), "size": 1}]});
    files.push((blob(&digest(3)), arm.to_string().into_bytes()));
    let platforms = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(3), "size": 1,
             "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(3), "size": 1,
             "platform": {"os": "unknown", "architecture": "unknown"},
             "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(2), "size": 1,
             "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    });
    files.push((blob(&digest(4)), platforms.to_string().into_bytes()));
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest(4), "size": 1}],
    });
    files.push(("index.json".to_string(), index.to_string().into_bytes()));
    files
}

fn oci_tar(layers: &[Vec<u8>]) -> Vec<u8> {
    let files = oci_files(layers);
    let entries: Vec<E<'_>> = files.iter().map(|(n, d)| E::File(n, d)).collect();
    tar_of(&entries)
}

fn oci_dir(dir: &Path, layers: &[Vec<u8>]) {
    for (name, data) in oci_files(layers) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, data).expect("write");
    }
}

fn scan(
    bytes: &[u8],
    detectors: &[Box<dyn Detector>],
    opts: &ScanOptions,
) -> Result<Inventory, InventoryError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("image.tar");
    std::fs::write(&path, bytes).expect("write image");
    inventory_image(&path, detectors, opts)
}

fn lines(inv: &Inventory) -> (Vec<String>, Vec<String>) {
    let packages = inv
        .packages
        .iter()
        .map(|p| format!("{} {} {} {:?}", p.name, p.version, p.location, p.release))
        .collect();
    let warnings = inv
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.path, w.message))
        .collect();
    (packages, warnings)
}

/// Three layers exercising whiteouts, opaque directories, replacement, links and bad names.
fn layered_image() -> Vec<Vec<u8>> {
    let base = tar_of(&[
        E::Dir("./"),
        E::Dir("etc/"),
        E::File("usr/lib/os-release", b"ID=alpine\nVERSION_ID=3.20.3\n"),
        E::Sym("etc/os-release", "../usr/lib/os-release"),
        E::File("a/keep.pkg", b"keep\n"),
        E::File("a/gone.pkg", b"gone\n"),
        E::Dir("d/"),
        E::File("d/inner.pkg", b"inner\n"),
        E::File("o/lower.pkg", b"lower\n"),
        E::File("data/orig.txt", b"hardlinked\n"),
        E::File("replaced.pkg", b"old\n"),
        E::Sym("escape.pkg", "../../../../../etc/passwd"),
        E::Exec("bin/tool.pkg", b"tool\n"),
    ]);
    let middle = gz(&tar_of(&[
        E::File("a/.wh.gone.pkg", b""),
        E::File(".wh.d", b""),
        E::File("replaced.pkg", b"new\n"),
        E::Hard("bin/hard.pkg", "data/orig.txt"),
        E::RawName(b"../evil.pkg", b"evil\n"),
        E::RawName(b"/abs.pkg", b"abs\n"),
        E::RawName(b"x/../../up.pkg", b"up\n"),
    ]));
    let top = gz(&tar_of(&[
        E::File("o/.wh..wh..opq", b""),
        E::File("o/upper.pkg", b"upper\n"),
        E::File("x/orig2.txt", b"second\n"),
        E::Hard("x/link.pkg", "x/orig2.txt"),
        E::File("big.pkg", &[b'z'; 300]),
    ]));
    vec![base, middle, top]
}

const LAYERED_PACKAGES: &[&str] = &[
    "hardlinked 1 bin/hard.pkg Some(\"alpine\")",
    "keep 1 a/keep.pkg Some(\"alpine\")",
    "new 1 replaced.pkg Some(\"alpine\")",
    "second 1 x/link.pkg Some(\"alpine\")",
    "tool exec bin/tool.pkg Some(\"alpine\")",
    "upper 1 o/upper.pkg Some(\"alpine\")",
];

fn layered_warnings(layer: &str) -> Vec<String> {
    vec![
        format!("{layer}!/../evil.pkg: entry name is absolute or climbs out with `..`: refused"),
        format!("{layer}!//abs.pkg: entry name is absolute or climbs out with `..`: refused"),
        format!("{layer}!/x/../../up.pkg: entry name is absolute or climbs out with `..`: refused"),
    ]
}

#[test]
fn docker_save_layers_apply_in_order() {
    let detectors: Vec<Box<dyn Detector>> = vec![Box::new(TestDetector)];
    let image = docker_save(&layered_image());
    let inv = scan(&image, &detectors, &ScanOptions::default()).expect("inventory");
    let (packages, warnings) = lines(&inv);
    assert_eq!(packages, LAYERED_PACKAGES);
    assert_eq!(warnings, layered_warnings(&format!("{:064x}/layer.tar", 1)));
    assert_eq!(inv.os.as_ref().map(|o| o.id.as_str()), Some("alpine"));
    assert_eq!(inv.files_seen, 10, "regular files of the final tree");

    // The same image gzipped as a whole.
    let inv = scan(&gz(&image), &detectors, &ScanOptions::default()).expect("gzipped image");
    assert_eq!(lines(&inv).0, LAYERED_PACKAGES);
}

#[test]
fn oci_layouts_as_tarball_and_directory() {
    let detectors: Vec<Box<dyn Detector>> = vec![Box::new(TestDetector)];
    let layers = layered_image();
    let layer_name = format!("blobs/sha256/{:064x}", 101);
    let inv = scan(&oci_tar(&layers), &detectors, &ScanOptions::default()).expect("OCI tarball");
    assert_eq!(
        lines(&inv),
        (to_strings(LAYERED_PACKAGES), layered_warnings(&layer_name))
    );

    let dir = tempfile::tempdir().expect("tempdir");
    oci_dir(dir.path(), &layers);
    let inv = inventory_image(dir.path(), &detectors, &ScanOptions::default()).expect("OCI dir");
    assert_eq!(
        lines(&inv),
        (to_strings(LAYERED_PACKAGES), layered_warnings(&layer_name))
    );
}

fn to_strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn os_packages_in_an_image_with_default_detectors() {
    let status_v1 = b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\nSource: glibc\n\nPackage: curl\nStatus: install ok installed\nVersion: 7.88.1-10\nArchitecture: amd64\n";
    let status_v2 = b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u7\nArchitecture: amd64\nSource: glibc\n";
    let layers = vec![
        gz(&tar_of(&[
            E::File("usr/lib/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
            E::Sym("etc/os-release", "/usr/lib/os-release"),
            E::File("var/lib/dpkg/status", status_v1),
        ])),
        // apt-get upgrade + remove curl: the status file is rewritten in the upper layer.
        tar_of(&[E::File("var/lib/dpkg/status", status_v2)]),
    ];
    let inv = scan(
        &docker_save(&layers),
        &default_detectors(),
        &ScanOptions::default(),
    )
    .expect("inventory");
    let got: Vec<(String, String, Option<String>, String)> = inv
        .packages
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.release.clone(),
                p.purl.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [(
            "libc6".to_string(),
            "2.36-9+deb12u7".to_string(),
            Some("12".to_string()),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12&upstream=glibc"
                .to_string()
        )]
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

#[test]
fn large_wanted_files_spill_to_a_temp_file() {
    let detectors: Vec<Box<dyn Detector>> = vec![Box::new(TestDetector)];
    let layers = vec![tar_of(&[E::File("spilled.pkg", b"spilled\npadding\n")])];
    let opts = ScanOptions {
        max_in_memory_file: 4,
        ..ScanOptions::default()
    };
    let inv = scan(&docker_save(&layers), &detectors, &opts).expect("inventory");
    assert_eq!(lines(&inv).0, ["spilled 1 spilled.pkg None"]);
    // Small files spill too once the in-memory total is used up.
    let layers = vec![tar_of(&[
        E::File("m/first.pkg", b"first\n"),
        E::File("m/second.pkg", b"second\n"),
        E::File("m/third.pkg", b"third\n"),
    ])];
    let opts = ScanOptions {
        max_in_memory_total: 8,
        ..ScanOptions::default()
    };
    let inv = scan(&docker_save(&layers), &detectors, &opts).expect("inventory");
    assert_eq!(
        lines(&inv).0,
        [
            "first 1 m/first.pkg None",
            "second 1 m/second.pkg None",
            "third 1 m/third.pkg None"
        ]
    );
}

#[test]
fn limits_and_broken_images_are_reported() {
    let detectors: Vec<Box<dyn Detector>> = vec![Box::new(TestDetector)];
    let big = vec![gz(&tar_of(&[E::File("zeros.bin", &vec![0u8; 64 * 1024])]))];
    let small_budget = ScanOptions {
        max_image_bytes: 16 * 1024,
        ..ScanOptions::default()
    };
    let err = scan(&docker_save(&big), &detectors, &small_budget).expect_err("over budget");
    assert!(
        matches!(err, InventoryError::ImageLimit { ref what, limit: 16384, .. } if what.contains("uncompressed")),
        "{err}"
    );
    let few_entries = ScanOptions {
        max_image_entries: 2,
        ..ScanOptions::default()
    };
    let many = vec![tar_of(&[
        E::File("a", b"1"),
        E::File("b", b"2"),
        E::File("c", b"3"),
    ])];
    let err = scan(&docker_save(&many), &detectors, &few_entries).expect_err("too many entries");
    assert!(
        matches!(err, InventoryError::ImageLimit { limit: 2, .. }),
        "{err}"
    );

    // Whole-image errors name the problem.
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"not a tar at all, just text".to_vec(),
            "not a readable tar archive",
        ),
        (tar_of(&[E::File("readme", b"x")]), "neither manifest.json"),
        (
            tar_of(&[E::File("manifest.json", b"{not json")]),
            "manifest.json: ",
        ),
        (
            tar_of(&[E::File("manifest.json", b"[]")]),
            "manifest.json lists no image",
        ),
        (
            tar_of(&[E::File(
                "manifest.json",
                br#"[{"Layers":["../../etc/passwd"]}]"#,
            )]),
            "bad layer path",
        ),
        (
            tar_of(&[E::File(
                "index.json",
                br#"{"manifests":[{"digest":"sha256:../x"}]}"#,
            )]),
            "bad digest",
        ),
    ];
    for (bytes, want) in cases {
        let err = scan(&bytes, &detectors, &ScanOptions::default()).expect_err(want);
        assert!(
            err.to_string().contains(want),
            "{err} should contain {want:?}"
        );
    }

    // Layer-level problems are warnings; the other layers are still read.
    let good = tar_of(&[E::File("ok.pkg", b"ok\n")]);
    let truncated = gz(&tar_of(&[
        E::File("lost.pkg", b"lost\n"),
        E::File("more", &[1u8; 4096]),
    ]));
    let truncated = truncated[..truncated.len() / 2].to_vec();
    let bad_zstd = vec![0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff, 0xff];
    let mut image = docker_save(&[good, truncated, bad_zstd]);
    // A fourth layer listed in the manifest but missing from the archive.
    let manifest = serde_json::json!([{ "Layers": [
        format!("{:064x}/layer.tar", 0), format!("{:064x}/layer.tar", 1),
        format!("{:064x}/layer.tar", 2), "missing/layer.tar" ] }]);
    let mut rebuilt = Vec::new();
    {
        let mut archive = tar::Archive::new(&image[..]);
        let mut builder = tar::Builder::new(&mut rebuilt);
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let name = entry.path().expect("path").display().to_string();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).expect("read");
            if name == "manifest.json" {
                data = manifest.to_string().into_bytes();
            }
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            builder
                .append_data(&mut header, &name, &data[..])
                .expect("append");
        }
        builder.finish().expect("finish");
    }
    image = rebuilt;
    let inv = scan(&image, &detectors, &ScanOptions::default()).expect("partial inventory");
    let (packages, warnings) = lines(&inv);
    // lost.pkg was complete before the cut: it counts; the rest of that layer is lost.
    assert_eq!(packages, ["lost 1 lost.pkg None", "ok 1 ok.pkg None"]);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!(
            "{:064x}/layer.tar: layer 1: unreadable at entry",
            1
        )),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("layer 2: unreadable at entry 0: zstd: "),
        "{warnings:?}"
    );
    assert!(
        warnings[2]
            .starts_with("missing/layer.tar: layer 3: missing/layer.tar: not in the archive"),
        "{warnings:?}"
    );
}

/// Multi-frame zstd (with a skippable frame in front, as zstd:chunked writes) decodes like gzip.
#[test]
fn zstd_layers_are_read() {
    use ruzstd::encoding::{CompressionLevel, compress_to_vec};
    let detectors: Vec<Box<dyn Detector>> = vec![Box::new(TestDetector)];
    let layer = tar_of(&[
        E::File("z/one.pkg", b"one\n"),
        E::File("z/two.pkg", b"two\n"),
    ]);
    let (head, tail) = layer.split_at(1536);
    let mut zstd = Vec::new();
    zstd.extend_from_slice(&0x184d_2a50u32.to_le_bytes()); // skippable frame magic
    zstd.extend_from_slice(&3u32.to_le_bytes());
    zstd.extend_from_slice(b"abc");
    zstd.extend(compress_to_vec(head, CompressionLevel::Fastest));
    zstd.extend(compress_to_vec(tail, CompressionLevel::Fastest));
    let inv = scan(
        &docker_save(&[zstd.clone()]),
        &detectors,
        &ScanOptions::default(),
    )
    .expect("inventory");
    assert_eq!(
        lines(&inv),
        (
            to_strings(&["one 1 z/one.pkg None", "two 1 z/two.pkg None"]),
            vec![]
        )
    );
    // Cut inside the second frame: the first file survives, the layer is reported.
    let cut = zstd[..zstd.len() - 8].to_vec();
    let inv = scan(&docker_save(&[cut]), &detectors, &ScanOptions::default()).expect("inventory");
    let (packages, warnings) = lines(&inv);
    assert_eq!(packages, ["one 1 z/one.pkg None"]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("layer 0: unreadable at entry"),
        "{warnings:?}"
    );
}
