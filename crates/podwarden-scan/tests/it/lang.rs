//! Language-ecosystem detectors over real lockfiles, installed metadata, Go binaries and jars
//! (fixtures and their origin: `tests/data/lang/README.md`), plus hand-written edge cases.

use podwarden_scan::inventory::lang::cargo::CargoLockDetector;
use podwarden_scan::inventory::lang::golang::{GoBinaryDetector, GoModDetector};
use podwarden_scan::inventory::lang::maven::JavaArchiveDetector;
use podwarden_scan::inventory::lang::npm::{
    NodeModulesDetector, PackageLockDetector, PnpmLockDetector, YarnLockDetector,
};
use podwarden_scan::inventory::lang::php::ComposerDetector;
use podwarden_scan::inventory::lang::python::{
    PipfileLockDetector, PoetryLockDetector, PythonMetadataDetector, RequirementsDetector,
};
use podwarden_scan::inventory::lang::ruby::{GemfileLockDetector, GemspecDetector};
use podwarden_scan::inventory::rootfs::MemoryFile;
use podwarden_scan::inventory::{DetectContext, Detected, Detector, Ecosystem, FileInfo};
use std::io::{Read, Write};
use std::path::PathBuf;

fn data_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/lang")
        .join(rel)
}

fn fixture(rel: &str) -> Vec<u8> {
    let path = data_path(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// Offers `contents` as the file at `path` (which the detector must want) and detects.
fn run(
    detector: &dyn Detector,
    path: &str,
    contents: &[u8],
    executable: bool,
) -> Result<Detected, String> {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let info = FileInfo {
        path,
        file_name,
        size: contents.len() as u64,
        executable,
    };
    assert!(
        detector.may_want(path, file_name) && detector.wants(&info),
        "{} should want {path}",
        detector.name()
    );
    detect_only(detector, path, contents, executable)
}

/// Detects without asking `wants` first (the robustness test feeds files of any size).
fn detect_only(
    detector: &dyn Detector,
    path: &str,
    contents: &[u8],
    executable: bool,
) -> Result<Detected, String> {
    let info = FileInfo {
        path,
        file_name: path.rsplit('/').next().unwrap_or(path),
        size: contents.len() as u64,
        executable,
    };
    detector.detect(&info, &MemoryFile(contents), &DetectContext::default())
}

/// (name, version, purl) of every package, sorted.
fn triples(detected: &Detected) -> Vec<(String, String, String)> {
    let mut got: Vec<_> = detected
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.purl.clone()))
        .collect();
    got.sort();
    got
}

/// Checks that `detector` reads `contents` at `path` into exactly the `expected`
/// (name, version, purl) packages of `ecosystem`, located at `path`, with `warnings` warnings.
fn check(
    detector: &dyn Detector,
    path: &str,
    contents: &[u8],
    ecosystem: Ecosystem,
    expected: &[(&str, &str, &str)],
    warnings: usize,
) -> Detected {
    let detected = run(detector, path, contents, false)
        .unwrap_or_else(|e| panic!("{} on {path} failed: {e}", detector.name()));
    let mut want: Vec<(String, String, String)> = expected
        .iter()
        .map(|(n, v, p)| (n.to_string(), v.to_string(), p.to_string()))
        .collect();
    want.sort();
    assert_eq!(triples(&detected), want, "{} on {path}", detector.name());
    for package in &detected.packages {
        assert_eq!(package.ecosystem, ecosystem, "{package:?}");
        assert_eq!(package.release, None, "{package:?}");
        assert!(package.location.starts_with(path), "{package:?}");
    }
    assert_eq!(
        detected.warnings.len(),
        warnings,
        "{} on {path}: warnings {:#?}",
        detector.name(),
        detected.warnings
    );
    detected
}

/// An expected package: (name, version, purl).
type Triple = (&'static str, &'static str, &'static str);

/// The dependency tree every npm fixture locks (see the README): the same packages whatever
/// the lockfile format. `string-width-cjs` is an alias of `string-width`; `ms` is there twice.
const NPM_TREE: &[(&str, &str, &str)] = &[
    ("@types/node", "18.11.9", "pkg:npm/%40types/node@18.11.9"),
    ("ansi-regex", "5.0.1", "pkg:npm/ansi-regex@5.0.1"),
    ("debug", "4.3.4", "pkg:npm/debug@4.3.4"),
    ("emoji-regex", "8.0.0", "pkg:npm/emoji-regex@8.0.0"),
    (
        "is-fullwidth-code-point",
        "3.0.0",
        "pkg:npm/is-fullwidth-code-point@3.0.0",
    ),
    ("minimist", "1.2.5", "pkg:npm/minimist@1.2.5"),
    ("ms", "2.1.2", "pkg:npm/ms@2.1.2"),
    ("ms", "2.1.3", "pkg:npm/ms@2.1.3"),
    ("string-width", "4.2.3", "pkg:npm/string-width@4.2.3"),
    ("strip-ansi", "6.0.1", "pkg:npm/strip-ansi@6.0.1"),
];

#[test]
fn cargo_lock_all_versions() {
    let cases: &[(&str, &[Triple])] = &[
        (
            "cargo/v1/Cargo.lock",
            &[
                ("doc-comment", "0.3.1", "pkg:cargo/doc-comment@0.3.1"),
                ("winapi", "0.3.2", "pkg:cargo/winapi@0.3.2"),
                (
                    "winapi-i686-pc-windows-gnu",
                    "0.3.2",
                    "pkg:cargo/winapi-i686-pc-windows-gnu@0.3.2",
                ),
                ("winapi-util", "0.1.1", "pkg:cargo/winapi-util@0.1.1"),
                (
                    "winapi-x86_64-pc-windows-gnu",
                    "0.3.2",
                    "pkg:cargo/winapi-x86_64-pc-windows-gnu@0.3.2",
                ),
            ],
        ),
        (
            "cargo/v2/Cargo.lock",
            &[
                ("proc-macro2", "1.0.106", "pkg:cargo/proc-macro2@1.0.106"),
                ("quote", "1.0.44", "pkg:cargo/quote@1.0.44"),
                ("serde", "1.0.228", "pkg:cargo/serde@1.0.228"),
                ("serde_core", "1.0.228", "pkg:cargo/serde_core@1.0.228"),
                ("serde_derive", "1.0.228", "pkg:cargo/serde_derive@1.0.228"),
                ("serde_test", "1.0.177", "pkg:cargo/serde_test@1.0.177"),
                ("syn", "2.0.114", "pkg:cargo/syn@2.0.114"),
                ("unicode-ident", "1.0.22", "pkg:cargo/unicode-ident@1.0.22"),
            ],
        ),
        (
            "cargo/v3/Cargo.lock",
            &[
                ("doc-comment", "0.3.4", "pkg:cargo/doc-comment@0.3.4"),
                ("log", "0.4.33", "pkg:cargo/log@0.4.33"),
                ("memchr", "2.8.3", "pkg:cargo/memchr@2.8.3"),
            ],
        ),
        (
            "cargo/v4/Cargo.lock",
            &[
                ("hex-literal", "1.1.0", "pkg:cargo/hex-literal@1.1.0"),
                ("hybrid-array", "0.4.12", "pkg:cargo/hybrid-array@0.4.12"),
                ("typenum", "1.20.1", "pkg:cargo/typenum@1.20.1"),
                ("zeroize", "1.8.2", "pkg:cargo/zeroize@1.8.2"),
            ],
        ),
    ];
    for (rel, expected) in cases {
        check(
            &CargoLockDetector,
            rel,
            &fixture(rel),
            Ecosystem::CratesIo,
            expected,
            0,
        );
    }
}

#[test]
fn cargo_lock_sources_and_bad_entries() {
    // Hand-written: a path member, a git dependency, an alternate registry, a broken entry.
    let lock = r#"version = 4

[[package]]
name = "app"
version = "0.1.0"

[[package]]
name = "local-helper"
version = "0.2.0"

[[package]]
name = "tokio"
version = "1.38.0"
source = "git+https://github.com/tokio-rs/tokio?branch=master#0123456789abcdef"

[[package]]
name = "private"
version = "2.0.0"
source = "sparse+https://crates.example.com/index/"

[[package]]
name = "serde"
version = "1.0.200"
source = "sparse+https://index.crates.io/"

[[package]]
name = "broken"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
    check(
        &CargoLockDetector,
        "srv/Cargo.lock",
        lock.as_bytes(),
        Ecosystem::CratesIo,
        &[
            (
                "tokio",
                "1.38.0",
                "pkg:cargo/tokio@1.38.0?vcs_url=https:%2F%2Fgithub.com%2Ftokio-rs%2Ftokio%3Fbranch%3Dmaster%230123456789abcdef",
            ),
            (
                "private",
                "2.0.0",
                "pkg:cargo/private@2.0.0?repository_url=https:%2F%2Fcrates.example.com%2Findex%2F",
            ),
            ("serde", "1.0.200", "pkg:cargo/serde@1.0.200"),
        ],
        1,
    );
    let err = run(
        &CargoLockDetector,
        "Cargo.lock",
        b"[[package]]\nname = \"x\"\nversion = ",
        false,
    )
    .expect_err("truncated TOML is an error");
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn npm_lockfiles_of_every_format_agree() {
    let cases: &[(&dyn Detector, &str)] = &[
        (&PackageLockDetector, "npm/lock-v1/package-lock.json"),
        (&PackageLockDetector, "npm/lock-v3/package-lock.json"),
        (&YarnLockDetector, "npm/yarn-v1/yarn.lock"),
        (&YarnLockDetector, "npm/yarn-berry/yarn.lock"),
        (&PnpmLockDetector, "npm/pnpm-v5/pnpm-lock.yaml"),
        (&PnpmLockDetector, "npm/pnpm-v6/pnpm-lock.yaml"),
        (&PnpmLockDetector, "npm/pnpm-v9/pnpm-lock.yaml"),
    ];
    for (detector, rel) in cases {
        check(*detector, rel, &fixture(rel), Ecosystem::Npm, NPM_TREE, 0);
    }
}

#[test]
fn npm_installed_manifests() {
    let cases: &[(&str, (&str, &str, &str))] = &[
        (
            "npm/node_modules/node_modules/@types/node/package.json",
            ("@types/node", "18.11.9", "pkg:npm/%40types/node@18.11.9"),
        ),
        (
            "npm/node_modules/node_modules/debug/package.json",
            ("debug", "4.3.4", "pkg:npm/debug@4.3.4"),
        ),
        (
            "npm/node_modules/node_modules/debug/node_modules/ms/package.json",
            ("ms", "2.1.2", "pkg:npm/ms@2.1.2"),
        ),
        (
            "npm/node_modules/node_modules/minimist/package.json",
            ("minimist", "1.2.5", "pkg:npm/minimist@1.2.5"),
        ),
        (
            // Installed under its alias; the manifest names the real package.
            "npm/node_modules/node_modules/string-width-cjs/package.json",
            ("string-width", "4.2.3", "pkg:npm/string-width@4.2.3"),
        ),
    ];
    for (rel, expected) in cases {
        check(
            &NodeModulesDetector,
            rel,
            &fixture(rel),
            Ecosystem::Npm,
            &[*expected],
            0,
        );
    }
    // Only a package's own manifest is wanted.
    let not_wanted = [
        "app/package.json",
        "node_modules/debug/src/package.json",
        "node_modules/@types/package.json",
        "node_modules/.bin/package.json",
        "node_modules/.package-lock.json",
    ];
    for path in not_wanted {
        let name = path.rsplit('/').next().unwrap_or(path);
        assert!(!NodeModulesDetector.may_want(path, name), "{path}");
    }
}

#[test]
fn npm_lockfile_edge_cases() {
    // Hand-written: v3 workspaces (folder entries and links are the project), a missing version.
    let v3 = r#"{
  "name": "mono", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "mono", "workspaces": ["packages/*"]},
    "packages/web": {"name": "web", "version": "1.0.0"},
    "node_modules/web": {"resolved": "packages/web", "link": true},
    "node_modules/@babel/core": {"version": "7.24.0", "dev": true},
    "node_modules/left-pad": {"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz"},
    "node_modules/from-git": {"version": "git+ssh://git@github.com/a/b.git#abc"},
    "node_modules/broken": {"resolved": "https://registry.npmjs.org/broken/-/broken-1.0.0.tgz"}
  }
}"#;
    check(
        &PackageLockDetector,
        "mono/package-lock.json",
        v3.as_bytes(),
        Ecosystem::Npm,
        &[
            ("@babel/core", "7.24.0", "pkg:npm/%40babel/core@7.24.0"),
            ("left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0"),
        ],
        1,
    );
    // Hand-written yarn classic: several specifiers, an alias, workspace and file entries.
    let yarn = "# yarn lockfile v1\n\n\n\"@babel/code-frame@^7.0.0\", \"@babel/code-frame@^7.22.13\":\n  version \"7.22.13\"\n  resolved \"https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.22.13.tgz\"\n  dependencies:\n    \"@babel/highlight\" \"^7.22.13\"\n\nstring-width-cjs@npm:string-width@^4.2.0:\n  version \"4.2.3\"\n\nlocal@file:../local:\n  version \"0.0.1\"\n\nweb@workspace:packages/web:\n  version \"1.0.0\"\n\nnoversion@^1.0.0:\n  resolved \"https://x\"\n";
    check(
        &YarnLockDetector,
        "yarn.lock",
        yarn.as_bytes(),
        Ecosystem::Npm,
        &[
            (
                "@babel/code-frame",
                "7.22.13",
                "pkg:npm/%40babel/code-frame@7.22.13",
            ),
            ("string-width", "4.2.3", "pkg:npm/string-width@4.2.3"),
        ],
        1,
    );
    // Hand-written berry: a patch: entry (the patched package is listed on its own too).
    let berry = "__metadata:\n  version: 6\n  cacheKey: 8\n\n\"resolve@npm:^1.22.1\":\n  version: 1.22.8\n  resolution: \"resolve@npm:1.22.8\"\n  languageName: node\n  linkType: hard\n\n\"resolve@patch:resolve@npm%3A^1.22.1#~builtin<compat/resolve>\":\n  version: 1.22.8\n  resolution: \"resolve@patch:resolve@npm%3A1.22.8#~builtin<compat/resolve>::version=1.22.8&hash=c3c19d\"\n  languageName: node\n  linkType: hard\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"app@workspace:.\"\n";
    check(
        &YarnLockDetector,
        "yarn.lock",
        berry.as_bytes(),
        Ecosystem::Npm,
        &[("resolve", "1.22.8", "pkg:npm/resolve@1.22.8")],
        0,
    );
    // Hand-written pnpm: peer suffixes of v5 (`_`) and v6 (`(...)`), a tarball with name/version.
    let pnpm5 = "lockfileVersion: 5.4\n\npackages:\n\n  /@emotion/react/11.10.5_react@18.2.0:\n    resolution: {integrity: sha512-x}\n    dev: false\n\n  /react/18.2.0:\n    resolution: {integrity: sha512-y}\n\n  registry.example.com/tar/-/tar-6.1.0.tgz:\n    resolution: {tarball: registry.example.com/tar/-/tar-6.1.0.tgz}\n    name: tar\n    version: 6.1.0\n";
    check(
        &PnpmLockDetector,
        "pnpm-lock.yaml",
        pnpm5.as_bytes(),
        Ecosystem::Npm,
        &[
            (
                "@emotion/react",
                "11.10.5",
                "pkg:npm/%40emotion/react@11.10.5",
            ),
            ("react", "18.2.0", "pkg:npm/react@18.2.0"),
            ("tar", "6.1.0", "pkg:npm/tar@6.1.0"),
        ],
        0,
    );
    let pnpm6 = "lockfileVersion: '6.0'\n\npackages:\n\n  /@emotion/react@11.10.5(react@18.2.0)(@types/react@18.0.0):\n    resolution: {integrity: sha512-x}\n\n  /react@18.2.0:\n    resolution: {integrity: sha512-y}\n";
    check(
        &PnpmLockDetector,
        "pnpm-lock.yaml",
        pnpm6.as_bytes(),
        Ecosystem::Npm,
        &[
            (
                "@emotion/react",
                "11.10.5",
                "pkg:npm/%40emotion/react@11.10.5",
            ),
            ("react", "18.2.0", "pkg:npm/react@18.2.0"),
        ],
        0,
    );
    let err = run(
        &YarnLockDetector,
        "yarn.lock",
        b"# yarn lockfile v1\n\nleft-pad@^1.3.0:\n  version \"1.3.0\"\nthis is not yarn\n",
        false,
    )
    .expect_err("a line that is no entry header is an error");
    assert!(err.contains("line 5"), "{err}");
    let err = run(
        &PnpmLockDetector,
        "pnpm-lock.yaml",
        b"lockfileVersion: '9.0'\n\npackages:\n  a@1.0.0: [unclosed\n",
        false,
    )
    .expect_err("broken YAML is an error");
    assert!(err.contains("line 4"), "{err}");
    let err = run(
        &PackageLockDetector,
        "package-lock.json",
        b"{\n  \"packages\": {\n    \"x\": ",
        false,
    )
    .expect_err("truncated JSON is an error");
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn python_installed_metadata() {
    let cases: &[(&str, (&str, &str, &str))] = &[
        (
            "python/site-packages/charset_normalizer-3.4.7.dist-info/METADATA",
            (
                "charset-normalizer",
                "3.4.7",
                "pkg:pypi/charset-normalizer@3.4.7",
            ),
        ),
        (
            "python/site-packages/PyJWT-2.6.0.egg-info/PKG-INFO",
            ("PyJWT", "2.6.0", "pkg:pypi/pyjwt@2.6.0"),
        ),
        (
            "python/site-packages/lazr.restfulclient-0.14.5.egg-info/PKG-INFO",
            (
                "lazr.restfulclient",
                "0.14.5",
                "pkg:pypi/lazr-restfulclient@0.14.5",
            ),
        ),
        (
            "python/site-packages/wsgiref.egg-info",
            ("wsgiref", "0.1.2", "pkg:pypi/wsgiref@0.1.2"),
        ),
    ];
    for (rel, expected) in cases {
        check(
            &PythonMetadataDetector,
            rel,
            &fixture(rel),
            Ecosystem::PyPI,
            &[*expected],
            0,
        );
    }
    // The body after the headers is never read as headers.
    let body_only_name =
        b"Metadata-Version: 2.1\nName: real\nVersion: 1.0\n\nName: fake\nVersion: 9\n";
    check(
        &PythonMetadataDetector,
        "x/real-1.0.dist-info/METADATA",
        body_only_name,
        Ecosystem::PyPI,
        &[("real", "1.0", "pkg:pypi/real@1.0")],
        0,
    );
    let err = run(
        &PythonMetadataDetector,
        "x/a-1.dist-info/METADATA",
        b"Metadata-Version: 2.1\nSummary: x\n",
        false,
    )
    .expect_err("no Name/Version");
    assert!(err.contains("Name"), "{err}");
}

#[test]
fn python_lockfiles() {
    // poetry.lock and Pipfile.lock resolved by Poetry and Pipenv for the same project (README).
    check(
        &PoetryLockDetector,
        "python/poetry/poetry.lock",
        &fixture("python/poetry/poetry.lock"),
        Ecosystem::PyPI,
        &[
            (
                "certifi",
                "2026.10.19.post1",
                "pkg:pypi/certifi@2026.10.19.post1",
            ),
            (
                "charset-normalizer",
                "3.5.3",
                "pkg:pypi/charset-normalizer@3.5.3",
            ),
            ("idna", "3.20", "pkg:pypi/idna@3.20"),
            ("jinja2", "3.1.2", "pkg:pypi/jinja2@3.1.2"),
            ("markupsafe", "3.0.4", "pkg:pypi/markupsafe@3.0.4"),
            ("pyyaml", "6.0.1", "pkg:pypi/pyyaml@6.0.1"),
            ("requests", "2.31.0", "pkg:pypi/requests@2.31.0"),
            ("urllib3", "2.8.0", "pkg:pypi/urllib3@2.8.0"),
        ],
        0,
    );
    check(
        &PipfileLockDetector,
        "python/pipenv/Pipfile.lock",
        &fixture("python/pipenv/Pipfile.lock"),
        Ecosystem::PyPI,
        &[
            (
                "certifi",
                "2026.10.19.post1",
                "pkg:pypi/certifi@2026.10.19.post1",
            ),
            (
                "charset-normalizer",
                "3.5.3",
                "pkg:pypi/charset-normalizer@3.5.3",
            ),
            ("idna", "3.20", "pkg:pypi/idna@3.20"),
            ("jinja2", "3.1.2", "pkg:pypi/jinja2@3.1.2"),
            ("markupsafe", "3.0.4", "pkg:pypi/markupsafe@3.0.4"),
            ("requests", "2.31.0", "pkg:pypi/requests@2.31.0"),
            ("urllib3", "2.8.0", "pkg:pypi/urllib3@2.8.0"),
            ("setuptools", "84.2.1", "pkg:pypi/setuptools@84.2.1"),
            ("zope.interface", "6.0", "pkg:pypi/zope-interface@6.0"),
        ],
        0,
    );
}

#[test]
fn python_requirements() {
    // pip-compile output: hashes on continuation lines, `# via` comments, markers, extras.
    check(
        &RequirementsDetector,
        "python/pip-compile/requirements.txt",
        &fixture("python/pip-compile/requirements.txt"),
        Ecosystem::PyPI,
        &[
            (
                "certifi",
                "2026.10.19.post1",
                "pkg:pypi/certifi@2026.10.19.post1",
            ),
            (
                "charset-normalizer",
                "3.5.3",
                "pkg:pypi/charset-normalizer@3.5.3",
            ),
            ("idna", "3.20", "pkg:pypi/idna@3.20"),
            ("jinja2", "3.1.6", "pkg:pypi/jinja2@3.1.6"),
            ("markupsafe", "3.0.4", "pkg:pypi/markupsafe@3.0.4"),
            ("pysocks", "1.7.1", "pkg:pypi/pysocks@1.7.1"),
            ("requests", "2.31.0", "pkg:pypi/requests@2.31.0"),
            ("urllib3", "2.8.0", "pkg:pypi/urllib3@2.8.0"),
            ("zope-interface", "6.0", "pkg:pypi/zope-interface@6.0"),
        ],
        0,
    );
    // The unpinned input is not a list of packages.
    check(
        &RequirementsDetector,
        "python/pip-compile/requirements.in.txt",
        &fixture("python/pip-compile/requirements.in"),
        Ecosystem::PyPI,
        &[
            ("requests", "2.31.0", "pkg:pypi/requests@2.31.0"),
            ("zope.interface", "6.0", "pkg:pypi/zope-interface@6.0"),
        ],
        0,
    );
    // Hand-written: a byte-order mark and CRLF line ends, as Windows editors save.
    check(
        &RequirementsDetector,
        "requirements.txt",
        "\u{feff}Django==4.2.7\r\nrequests==2.31.0 \\\r\n    --hash=sha256:abc\r\n".as_bytes(),
        Ecosystem::PyPI,
        &[
            ("Django", "4.2.7", "pkg:pypi/django@4.2.7"),
            ("requests", "2.31.0", "pkg:pypi/requests@2.31.0"),
        ],
        0,
    );
    // Hand-written: every kind of line pip accepts, and one it does not.
    let text = "# comment\n-r base.txt\n-c constraints.txt\n-e git+https://github.com/a/b.git#egg=b\n--index-url https://pypi.org/simple\n\nDjango==4.2.7  # pinned\nFlask_Login [extra1,extra2] == 0.6.3 ; python_version >= \"3.8\"\nrequests>=2.0\nurllib3===1.26.18\nnumpy==1.*\nuvicorn[standard]\n./local/pkg\nfoo @ https://example.com/foo-1.0.tar.gz\nsix==1.16.0 \\\n    --hash=sha256:abc\n!!! not a requirement\n";
    check(
        &RequirementsDetector,
        "app/requirements/prod.txt",
        text.as_bytes(),
        Ecosystem::PyPI,
        &[
            ("Django", "4.2.7", "pkg:pypi/django@4.2.7"),
            ("Flask_Login", "0.6.3", "pkg:pypi/flask-login@0.6.3"),
            ("urllib3", "1.26.18", "pkg:pypi/urllib3@1.26.18"),
            ("six", "1.16.0", "pkg:pypi/six@1.16.0"),
        ],
        1,
    );
}

#[test]
fn go_mod_files() {
    check(
        &GoModDetector,
        "go/cmd/go.mod",
        &fixture("go/cmd/go.mod"),
        Ecosystem::Go,
        &[
            (
                "github.com/google/pprof",
                "0.0.0-20220729232143-a41b82acbcb1",
                "pkg:golang/github.com/google/pprof@v0.0.0-20220729232143-a41b82acbcb1",
            ),
            (
                "golang.org/x/arch",
                "0.0.0-20220412001346-fc48f9fe4c15",
                "pkg:golang/golang.org/x/arch@v0.0.0-20220412001346-fc48f9fe4c15",
            ),
            (
                "golang.org/x/mod",
                "0.6.0-dev.0.20220419223038-86c51ed26bb4",
                "pkg:golang/golang.org/x/mod@v0.6.0-dev.0.20220419223038-86c51ed26bb4",
            ),
            (
                "golang.org/x/sync",
                "0.0.0-20220513210516-0976fa681c29",
                "pkg:golang/golang.org/x/sync@v0.0.0-20220513210516-0976fa681c29",
            ),
            (
                "golang.org/x/sys",
                "0.0.0-20220614162138-6c1b26c55098",
                "pkg:golang/golang.org/x/sys@v0.0.0-20220614162138-6c1b26c55098",
            ),
            (
                "golang.org/x/term",
                "0.0.0-20220411215600-e5f449aeb171",
                "pkg:golang/golang.org/x/term@v0.0.0-20220411215600-e5f449aeb171",
            ),
            (
                "golang.org/x/tools",
                "0.1.11-0.20220516163903-1e55371df567",
                "pkg:golang/golang.org/x/tools@v0.1.11-0.20220516163903-1e55371df567",
            ),
            (
                "github.com/ianlancetaylor/demangle",
                "0.0.0-20220319035150-800ac71e25c2",
                "pkg:golang/github.com/ianlancetaylor/demangle@v0.0.0-20220319035150-800ac71e25c2",
            ),
            (
                "golang.org/x/crypto",
                "0.0.0-20220516162934-403b01795ae8",
                "pkg:golang/golang.org/x/crypto@v0.0.0-20220516162934-403b01795ae8",
            ),
        ],
        0,
    );
    check(
        &GoModDetector,
        "go/x-text/go.mod",
        &fixture("go/x-text/go.mod"),
        Ecosystem::Go,
        &[
            (
                "golang.org/x/tools",
                "0.1.12",
                "pkg:golang/golang.org/x/tools@v0.1.12",
            ),
            (
                "golang.org/x/mod",
                "0.6.0-dev.0.20220419223038-86c51ed26bb4",
                "pkg:golang/golang.org/x/mod@v0.6.0-dev.0.20220419223038-86c51ed26bb4",
            ),
            (
                "golang.org/x/sys",
                "0.0.0-20220722155257-8c9f86f7a55f",
                "pkg:golang/golang.org/x/sys@v0.0.0-20220722155257-8c9f86f7a55f",
            ),
        ],
        0,
    );
    // Hand-written: replace forms, exclude and retract blocks, quoted paths, a bad line.
    let text = r#"// a comment
module example.com/app

go 1.22

toolchain go1.22.3

require (
	github.com/gin-gonic/gin v1.9.1
	"golang.org/x/net" v0.17.0 // indirect
	example.com/local v0.0.0
	github.com/old/thing v1.0.0
	github.com/pinned/one v1.2.0
	github.com/bad
)

require gopkg.in/yaml.v3 v3.0.1

replace example.com/local => ../local

replace (
	github.com/old/thing => github.com/new/thing v1.1.0
	github.com/pinned/one v1.1.0 => github.com/pinned/one v1.1.1
)

exclude (
	golang.org/x/net v0.1.0
)

retract v0.9.0
"#;
    check(
        &GoModDetector,
        "app/go.mod",
        text.as_bytes(),
        Ecosystem::Go,
        &[
            (
                "github.com/gin-gonic/gin",
                "1.9.1",
                "pkg:golang/github.com/gin-gonic/gin@v1.9.1",
            ),
            (
                "golang.org/x/net",
                "0.17.0",
                "pkg:golang/golang.org/x/net@v0.17.0",
            ),
            (
                "github.com/new/thing",
                "1.1.0",
                "pkg:golang/github.com/new/thing@v1.1.0",
            ),
            (
                "github.com/pinned/one",
                "1.2.0",
                "pkg:golang/github.com/pinned/one@v1.2.0",
            ),
            (
                "gopkg.in/yaml.v3",
                "3.0.1",
                "pkg:golang/gopkg.in/yaml.v3@v3.0.1",
            ),
        ],
        1,
    );
    let err = run(
        &GoModDetector,
        "go.mod",
        b"module x\n\nrequire (\n\ta v1.0.0\n",
        false,
    )
    .expect_err("unclosed block");
    assert!(err.contains("line 3"), "{err}");
}

/// The Go binaries of `go/gobins.zip` (README: built with Debian's Go 1.19 from a module that
/// requires golang.org/x/text v0.7.0 and replaces it by v0.6.0).
fn go_binaries() -> Vec<(String, Vec<u8>)> {
    let bytes = fixture("go/gobins.zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("gobins.zip");
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("zip entry");
        let name = entry.name().expect("entry name").to_string();
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).expect("inflate");
        out.push((name, contents));
    }
    assert_eq!(out.len(), 2, "gobins.zip holds the amd64 and 386 builds");
    out
}

#[test]
fn go_binaries_real_builds() {
    for (name, contents) in go_binaries() {
        let path = format!("usr/local/bin/{name}");
        let detected = run(&GoBinaryDetector, &path, &contents, true)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            triples(&detected),
            vec![
                (
                    "golang.org/x/text".to_string(),
                    "0.6.0".to_string(),
                    "pkg:golang/golang.org/x/text@v0.6.0".to_string()
                ),
                (
                    "stdlib".to_string(),
                    "1.19.8".to_string(),
                    "pkg:golang/stdlib@1.19.8".to_string()
                ),
            ],
            "{name}"
        );
        assert!(
            detected.warnings.is_empty(),
            "{name}: {:?}",
            detected.warnings
        );
        // Not executable: not wanted at all.
        let info = FileInfo {
            path: &path,
            file_name: &name,
            size: contents.len() as u64,
            executable: false,
        };
        assert!(!GoBinaryDetector.wants(&info));
    }
    // Section headers removed (as `sstrip` does): found through the writable load segment.
    let (name, mut stripped) = go_binaries().remove(0);
    stripped[0x28..0x30].fill(0); // e_shoff
    stripped[0x3C..0x40].fill(0); // e_shnum, e_shstrndx
    let detected = run(&GoBinaryDetector, "bin/stripped", &stripped, true).expect("stripped");
    assert_eq!(
        detected.packages.len(),
        2,
        "{name}: {:?}",
        detected.packages
    );
    // Executables that are not Go binaries: nothing, no error.
    let script = b"#!/bin/sh\necho hello, this is not an ELF file at all, just a script\n";
    let detected = run(&GoBinaryDetector, "usr/bin/hello", script, true).expect("script");
    assert!(detected.packages.is_empty() && detected.warnings.is_empty());
    let this_test =
        std::fs::read(std::env::current_exe().expect("test binary path")).expect("read self");
    let detected = run(&GoBinaryDetector, "usr/bin/rust-prog", &this_test, true).expect("Rust ELF");
    assert!(detected.packages.is_empty(), "{:?}", detected.packages);
    assert!(!GoBinaryDetector.may_want("usr/lib/python3/x.py", "x.py"));
}

/// Builds a minimal ELF64 little-endian file whose `.go.buildinfo` holds the pre-Go-1.18
/// pointer format: two pointers to Go string headers in a `.rodata` section.
fn old_format_go_elf(version: &str, module_info: &[u8]) -> Vec<u8> {
    const BUILDINFO_ADDR: u64 = 0x40_1000;
    const RODATA_ADDR: u64 = 0x40_2000;
    let buildinfo_offset = 0x100u64;
    let rodata_offset = 0x200u64;
    let mut buildinfo = Vec::new();
    buildinfo.extend_from_slice(b"\xff Go buildinf:");
    buildinfo.push(8); // pointer size
    buildinfo.push(0); // flags: little-endian, pointer format
    buildinfo.extend_from_slice(&RODATA_ADDR.to_le_bytes()); // -> version string header
    buildinfo.extend_from_slice(&(RODATA_ADDR + 16).to_le_bytes()); // -> modinfo string header
    buildinfo.resize(32, 0);
    let mut rodata = Vec::new();
    let strings_addr = RODATA_ADDR + 32;
    rodata.extend_from_slice(&strings_addr.to_le_bytes());
    rodata.extend_from_slice(&(version.len() as u64).to_le_bytes());
    rodata.extend_from_slice(&(strings_addr + version.len() as u64).to_le_bytes());
    rodata.extend_from_slice(&(module_info.len() as u64).to_le_bytes());
    rodata.extend_from_slice(version.as_bytes());
    rodata.extend_from_slice(module_info);
    let shstrtab = b"\0.go.buildinfo\0.rodata\0.shstrtab\0";
    let shstrtab_offset = rodata_offset + rodata.len() as u64;
    let shoff = (shstrtab_offset + shstrtab.len() as u64).next_multiple_of(8);

    let mut elf = vec![0u8; 64];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[4] = 2; // 64-bit
    elf[5] = 1; // little-endian
    elf[6] = 1;
    elf[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
    elf[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    elf[0x34..0x36].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    elf[0x3A..0x3C].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    elf[0x3C..0x3E].copy_from_slice(&4u16.to_le_bytes()); // e_shnum
    elf[0x3E..0x40].copy_from_slice(&3u16.to_le_bytes()); // e_shstrndx
    elf.resize(buildinfo_offset as usize, 0);
    elf.extend_from_slice(&buildinfo);
    elf.resize(rodata_offset as usize, 0);
    elf.extend_from_slice(&rodata);
    elf.extend_from_slice(shstrtab);
    elf.resize(shoff as usize, 0);
    let section = |name: u32, kind: u32, addr: u64, offset: u64, size: u64| {
        let mut header = Vec::with_capacity(64);
        header.extend_from_slice(&name.to_le_bytes());
        header.extend_from_slice(&kind.to_le_bytes());
        header.extend_from_slice(&0u64.to_le_bytes()); // flags
        header.extend_from_slice(&addr.to_le_bytes());
        header.extend_from_slice(&offset.to_le_bytes());
        header.extend_from_slice(&size.to_le_bytes());
        header.resize(64, 0);
        header
    };
    elf.extend(section(0, 0, 0, 0, 0));
    elf.extend(section(1, 1, BUILDINFO_ADDR, buildinfo_offset, 32));
    elf.extend(section(
        15,
        1,
        RODATA_ADDR,
        rodata_offset,
        rodata.len() as u64,
    ));
    elf.extend(section(23, 3, 0, shstrtab_offset, shstrtab.len() as u64));
    elf
}

#[test]
fn go_binary_pointer_format() {
    // Module info as Go writes it: wrapped in 16-byte sentinels, a local replacement.
    let sentinel_start = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
    let sentinel_end = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";
    let mut info = Vec::new();
    info.extend_from_slice(sentinel_start);
    info.extend_from_slice(
        b"path\tgithub.com/acme/tool\nmod\tgithub.com/acme/tool\tv1.4.2\th1:abc=\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:def=\ndep\texample.com/local\tv0.0.0\n=>\t../local\t\t\n",
    );
    info.extend_from_slice(sentinel_end);
    let elf = old_format_go_elf("go1.16.15", &info);
    let detected = run(&GoBinaryDetector, "bin/tool", &elf, true).expect("old format");
    assert_eq!(
        triples(&detected),
        vec![
            (
                "github.com/acme/tool".to_string(),
                "1.4.2".to_string(),
                "pkg:golang/github.com/acme/tool@v1.4.2".to_string()
            ),
            (
                "github.com/pkg/errors".to_string(),
                "0.9.1".to_string(),
                "pkg:golang/github.com/pkg/errors@v0.9.1".to_string()
            ),
            (
                "stdlib".to_string(),
                "1.16.15".to_string(),
                "pkg:golang/stdlib@1.16.15".to_string()
            ),
        ]
    );
}

/// Builds a zip archive of `(name, bytes)` entries, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        writer.start_file(*name, options).expect("start entry");
        writer.write_all(bytes).expect("write entry");
    }
    writer.finish().expect("finish zip").into_inner()
}

#[test]
fn java_archives_real_jars() {
    check(
        &JavaArchiveDetector,
        "java/commons-cli-1.5.0.jar",
        &fixture("java/commons-cli-1.5.0.jar"),
        Ecosystem::Maven,
        &[(
            "commons-cli:commons-cli",
            "1.5.0",
            "pkg:maven/commons-cli/commons-cli@1.5.0",
        )],
        0,
    );
    let detected = check(
        &JavaArchiveDetector,
        "java/geronimo-interceptor-3.0-spec-1.0.1.jar",
        &fixture("java/geronimo-interceptor-3.0-spec-1.0.1.jar"),
        Ecosystem::Maven,
        &[(
            "org.apache.geronimo.specs:geronimo-interceptor_3.0_spec",
            "1.0.1",
            "pkg:maven/org.apache.geronimo.specs/geronimo-interceptor_3.0_spec@1.0.1",
        )],
        0,
    );
    assert_eq!(
        detected.packages[0].location,
        "java/geronimo-interceptor-3.0-spec-1.0.1.jar!/META-INF/maven/org.apache.geronimo.specs/geronimo-interceptor_3.0_spec/pom.properties"
    );
    // No pom.properties and no group in the manifest: nothing reported, a warning says why.
    for (rel, hint) in [
        (
            "java/aopalliance-1.0.jar",
            "artifact `aopalliance` version `1.0`",
        ),
        (
            "java/guice-jndi-4.2.3.jar",
            "Bundle-SymbolicName `com.google.inject.jndi`",
        ),
    ] {
        let detected = check(
            &JavaArchiveDetector,
            rel,
            &fixture(rel),
            Ecosystem::Maven,
            &[],
            1,
        );
        assert!(
            detected.warnings[0].message.contains(hint),
            "{:?}",
            detected.warnings
        );
    }
}

#[test]
fn java_nested_war() {
    let commons_cli = fixture("java/commons-cli-1.5.0.jar");
    let geronimo = fixture("java/geronimo-interceptor-3.0-spec-1.0.1.jar");
    let vendor_id_manifest = b"Manifest-Version: 1.0\r\nImplementation-Title: Vendored\r\nImplementation-Version: 1.4\r\nImplementation-Vendor-Id: org.example\r\n\r\nName: x/\r\nImplementation-Vendor-Id: wrong.section\r\n";
    let vendored = zip_of(&[("META-INF/MANIFEST.MF", vendor_id_manifest)]);
    let fat = zip_of(&[
        (
            "META-INF/maven/com.example/fat/pom.properties",
            b"groupId=com.example\nartifactId=fat\nversion=3.1.0\n",
        ),
        (
            "BOOT-INF/lib/geronimo-interceptor-3.0-spec-1.0.1.jar",
            &geronimo,
        ),
    ]);
    // Four levels of nesting: the innermost is past the limit.
    let mut deep = zip_of(&[(
        "META-INF/maven/d/d4/pom.properties",
        b"groupId=d\nartifactId=d4\nversion=4\n",
    )]);
    for level in (1..4).rev() {
        let pom = format!("groupId=d\nartifactId=d{level}\nversion={level}\n");
        let pom_path = format!("META-INF/maven/d/d{level}/pom.properties");
        deep = zip_of(&[
            (pom_path.as_str(), pom.as_bytes()),
            (&format!("lib/d{}.jar", level + 1), &deep),
        ]);
    }
    let war = zip_of(&[
        (
            "META-INF/maven/com.example/app/pom.properties",
            b"#Generated by Maven\ngroupId=com.example\nartifactId=app\nversion=2.0.0\n",
        ),
        (
            "META-INF/maven/com.example/unresolved/pom.properties",
            b"groupId=com.example\nartifactId=unresolved\nversion=${revision}\n",
        ),
        ("WEB-INF/lib/commons-cli-1.5.0.jar", &commons_cli),
        ("WEB-INF/lib/fat-3.1.0.jar", &fat),
        ("WEB-INF/lib/vendored-1.4.jar", &vendored),
        (
            "WEB-INF/lib/broken.jar",
            b"PK\x03\x04 this is not really a zip archive",
        ),
        ("WEB-INF/lib/d1.jar", &deep),
    ]);
    let detected = run(&JavaArchiveDetector, "srv/app.war", &war, false).expect("war");
    let mut got: Vec<(String, String, String)> = detected
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.location.clone()))
        .collect();
    got.sort();
    let mut want: Vec<(String, String, String)> = [
        ("com.example:app", "2.0.0", "srv/app.war!/META-INF/maven/com.example/app/pom.properties"),
        ("commons-cli:commons-cli", "1.5.0", "srv/app.war!/WEB-INF/lib/commons-cli-1.5.0.jar!/META-INF/maven/commons-cli/commons-cli/pom.properties"),
        ("com.example:fat", "3.1.0", "srv/app.war!/WEB-INF/lib/fat-3.1.0.jar!/META-INF/maven/com.example/fat/pom.properties"),
        ("org.apache.geronimo.specs:geronimo-interceptor_3.0_spec", "1.0.1", "srv/app.war!/WEB-INF/lib/fat-3.1.0.jar!/BOOT-INF/lib/geronimo-interceptor-3.0-spec-1.0.1.jar!/META-INF/maven/org.apache.geronimo.specs/geronimo-interceptor_3.0_spec/pom.properties"),
        ("org.example:vendored", "1.4", "srv/app.war!/WEB-INF/lib/vendored-1.4.jar!/META-INF/MANIFEST.MF"),
        ("d:d1", "1", "srv/app.war!/WEB-INF/lib/d1.jar!/META-INF/maven/d/d1/pom.properties"),
        ("d:d2", "2", "srv/app.war!/WEB-INF/lib/d1.jar!/lib/d2.jar!/META-INF/maven/d/d2/pom.properties"),
        ("d:d3", "3", "srv/app.war!/WEB-INF/lib/d1.jar!/lib/d2.jar!/lib/d3.jar!/META-INF/maven/d/d3/pom.properties"),
    ]
    .iter()
    .map(|(n, v, l)| (n.to_string(), v.to_string(), l.to_string()))
    .collect();
    want.sort();
    assert_eq!(got, want);
    let warning = |path: &str, text: &str| {
        assert!(
            detected
                .warnings
                .iter()
                .any(|w| w.path == path && w.message.contains(text)),
            "no warning at {path} containing `{text}` in {:#?}",
            detected.warnings
        );
    };
    warning(
        "srv/app.war!/META-INF/maven/com.example/unresolved/pom.properties",
        "unresolved",
    );
    warning(
        "srv/app.war!/WEB-INF/lib/vendored-1.4.jar",
        "guessed from META-INF/MANIFEST.MF",
    );
    warning(
        "srv/app.war!/WEB-INF/lib/broken.jar",
        "not a readable zip archive",
    );
    warning(
        "srv/app.war!/WEB-INF/lib/d1.jar!/lib/d2.jar!/lib/d3.jar!/lib/d4.jar",
        "nested deeper",
    );
    assert_eq!(detected.warnings.len(), 4, "{:#?}", detected.warnings);
    let purl = &detected
        .packages
        .iter()
        .find(|p| p.name == "org.example:vendored")
        .expect("vendored")
        .purl;
    assert_eq!(purl, "pkg:maven/org.example/vendored@1.4");
}

#[test]
fn composer_files() {
    check(
        &ComposerDetector,
        "php/composer.lock",
        &fixture("php/composer.lock"),
        Ecosystem::Packagist,
        &[
            (
                "monolog/monolog",
                "2.9.1",
                "pkg:composer/monolog/monolog@2.9.1",
            ),
            ("psr/log", "1.1.4", "pkg:composer/psr/log@1.1.4"),
            (
                "phpunit/phpunit",
                "9.6.13",
                "pkg:composer/phpunit/phpunit@9.6.13",
            ),
        ],
        0,
    );
    // Hand-written installed.json of Composer 1 (an array) and 2 (an object), a bad entry.
    let v1 = br#"[{"name": "symfony/yaml", "version": "v5.4.0"}, {"name": "acme/branch", "version": "dev-main"}, {"name": "x"}]"#;
    check(
        &ComposerDetector,
        "app/vendor/composer/installed.json",
        v1,
        Ecosystem::Packagist,
        &[
            ("symfony/yaml", "5.4.0", "pkg:composer/symfony/yaml@5.4.0"),
            (
                "acme/branch",
                "dev-main",
                "pkg:composer/acme/branch@dev-main",
            ),
        ],
        1,
    );
    let v2 = br#"{"packages": [{"name": "guzzlehttp/guzzle", "version": "7.8.0", "version_normalized": "7.8.0.0"}], "dev": true}"#;
    check(
        &ComposerDetector,
        "app/vendor/composer/installed.json",
        v2,
        Ecosystem::Packagist,
        &[(
            "guzzlehttp/guzzle",
            "7.8.0",
            "pkg:composer/guzzlehttp/guzzle@7.8.0",
        )],
        0,
    );
}

#[test]
fn ruby_files() {
    let gems = [
        ("rack", "2.2.22", "pkg:gem/rack@2.2.22"),
        ("rake", "13.0.6", "pkg:gem/rake@13.0.6"),
        ("webrick", "1.8.1", "pkg:gem/webrick@1.8.1"),
    ];
    check(
        &GemfileLockDetector,
        "ruby/Gemfile.lock",
        &fixture("ruby/Gemfile.lock"),
        Ecosystem::RubyGems,
        &gems,
        0,
    );
    for (rel, expected) in [
        ("ruby/specifications/rack-2.2.22.gemspec", gems[0]),
        ("ruby/specifications/rake-13.0.6.gemspec", gems[1]),
    ] {
        check(
            &GemspecDetector,
            rel,
            &fixture(rel),
            Ecosystem::RubyGems,
            &[expected],
            0,
        );
    }
    // Hand-written: platform suffixes, dependency lines, GIT and PATH sections, a bad spec.
    let lock = "GIT\n  remote: https://github.com/rails/rails.git\n  revision: abc123\n  specs:\n    activesupport (7.1.0.alpha)\n      concurrent-ruby (~> 1.0, >= 1.0.2)\n\nPATH\n  remote: .\n  specs:\n    myapp (0.1.0)\n\nGEM\n  remote: https://rubygems.org/\n  specs:\n    concurrent-ruby (1.2.2)\n    nokogiri (1.15.4-x86_64-linux)\n      racc (~> 1.4)\n    nokogiri (1.15.4-arm64-darwin)\n      racc (~> 1.4)\n    racc (1.7.1)\n    broken-line\n\nPLATFORMS\n  arm64-darwin\n  x86_64-linux\n\nDEPENDENCIES\n  nokogiri\n\nBUNDLED WITH\n   2.4.19\n";
    check(
        &GemfileLockDetector,
        "app/Gemfile.lock",
        lock.as_bytes(),
        Ecosystem::RubyGems,
        &[
            (
                "activesupport",
                "7.1.0.alpha",
                "pkg:gem/activesupport@7.1.0.alpha",
            ),
            ("concurrent-ruby", "1.2.2", "pkg:gem/concurrent-ruby@1.2.2"),
            ("nokogiri", "1.15.4", "pkg:gem/nokogiri@1.15.4"),
            ("racc", "1.7.1", "pkg:gem/racc@1.7.1"),
        ],
        1,
    );
}

/// Every fixture, as (detector, path, bytes, executable), for the robustness test.
fn all_inputs() -> Vec<(&'static dyn Detector, String, Vec<u8>, bool)> {
    let mut inputs: Vec<(&'static dyn Detector, String, Vec<u8>, bool)> = Vec::new();
    let files: &[(&'static dyn Detector, &str)] = &[
        (&CargoLockDetector, "cargo/v1/Cargo.lock"),
        (&CargoLockDetector, "cargo/v4/Cargo.lock"),
        (&PackageLockDetector, "npm/lock-v1/package-lock.json"),
        (&PackageLockDetector, "npm/lock-v3/package-lock.json"),
        (
            &NodeModulesDetector,
            "npm/node_modules/node_modules/debug/package.json",
        ),
        (&YarnLockDetector, "npm/yarn-v1/yarn.lock"),
        (&YarnLockDetector, "npm/yarn-berry/yarn.lock"),
        (&PnpmLockDetector, "npm/pnpm-v5/pnpm-lock.yaml"),
        (&PnpmLockDetector, "npm/pnpm-v9/pnpm-lock.yaml"),
        (
            &PythonMetadataDetector,
            "python/site-packages/PyJWT-2.6.0.egg-info/PKG-INFO",
        ),
        (&PoetryLockDetector, "python/poetry/poetry.lock"),
        (&PipfileLockDetector, "python/pipenv/Pipfile.lock"),
        (&RequirementsDetector, "python/pip-compile/requirements.txt"),
        (&GoModDetector, "go/cmd/go.mod"),
        (&JavaArchiveDetector, "java/commons-cli-1.5.0.jar"),
        (&ComposerDetector, "php/composer.lock"),
        (&GemfileLockDetector, "ruby/Gemfile.lock"),
        (&GemspecDetector, "ruby/specifications/rack-2.2.22.gemspec"),
    ];
    for (detector, rel) in files {
        inputs.push((*detector, rel.to_string(), fixture(rel), false));
    }
    for (name, bytes) in go_binaries() {
        inputs.push((&GoBinaryDetector, format!("bin/{name}"), bytes, true));
    }
    inputs
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn no_detector_panics_on_truncated_corrupt_or_random_input() {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut tried = 0;
    for (detector, path, bytes, executable) in all_inputs() {
        let mut variants: Vec<Vec<u8>> = vec![Vec::new(), noise.bytes(1), noise.bytes(4096)];
        // Truncations at 40 points (and right after the first bytes).
        for cut in (1..=40)
            .map(|i| bytes.len() * i / 41)
            .chain([1, 2, 3, 20, 64])
        {
            variants.push(bytes[..cut.min(bytes.len())].to_vec());
        }
        // Bytes overwritten with noise at 30 places, alone and all together.
        let mut all_corrupt = bytes.clone();
        for _ in 0..30 {
            let mut corrupt = bytes.clone();
            if corrupt.is_empty() {
                break;
            }
            let at = (noise.next() as usize) % corrupt.len();
            let len = 1 + (noise.next() as usize) % 16;
            for i in at..(at + len).min(corrupt.len()) {
                corrupt[i] = noise.next() as u8;
                all_corrupt[i] = corrupt[i];
            }
            variants.push(corrupt);
        }
        variants.push(all_corrupt);
        // The file's own head followed by noise (a plausible header, garbage after).
        let mut head = bytes[..bytes.len().min(256)].to_vec();
        head.extend(noise.bytes(2048));
        variants.push(head);
        for variant in variants {
            tried += 1;
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                detect_only(detector, &path, &variant, executable)
            }));
            assert!(
                outcome.is_ok(),
                "{} panicked on a {}-byte variant of {path}",
                detector.name(),
                variant.len()
            );
        }
    }
    assert!(tried > 1000, "only {tried} inputs tried");
}

#[test]
fn walker_combines_language_inventories() {
    use podwarden_scan::inventory::detectors::default_detectors;
    use podwarden_scan::inventory::{ScanOptions, inventory_dir};
    use std::os::unix::fs::PermissionsExt;

    let root = tempfile::tempdir().expect("temp dir");
    let put = |rel: &str, bytes: &[u8]| {
        let path = root.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, bytes).expect("write");
        path
    };
    put("srv/rust/Cargo.lock", &fixture("cargo/v4/Cargo.lock"));
    put(
        "srv/web/package-lock.json",
        &fixture("npm/lock-v3/package-lock.json"),
    );
    for rel in [
        "debug/package.json",
        "debug/node_modules/ms/package.json",
        "string-width-cjs/package.json",
    ] {
        put(
            &format!("srv/web/node_modules/{rel}"),
            &fixture(&format!("npm/node_modules/node_modules/{rel}")),
        );
    }
    put(
        "usr/lib/python3/dist-packages/PyJWT-2.6.0.egg-info/PKG-INFO",
        &fixture("python/site-packages/PyJWT-2.6.0.egg-info/PKG-INFO"),
    );
    let (go_name, go_bytes) = go_binaries().remove(0);
    let go_path = put(&format!("usr/local/bin/{go_name}"), &go_bytes);
    std::fs::set_permissions(&go_path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // The same binary without the execute bit is not read.
    put("home/user/not-executable", &go_bytes);
    put(
        "opt/app/lib/commons-cli-1.5.0.jar",
        &fixture("java/commons-cli-1.5.0.jar"),
    );
    put("var/www/composer.lock", &fixture("php/composer.lock"));
    put("app/Gemfile.lock", &fixture("ruby/Gemfile.lock"));

    let inventory = inventory_dir(root.path(), &default_detectors(), &ScanOptions::default())
        .expect("inventory");
    assert!(inventory.warnings.is_empty(), "{:#?}", inventory.warnings);
    let mut got: Vec<(Ecosystem, String, String, String)> = inventory
        .packages
        .iter()
        .map(|p| {
            (
                p.ecosystem,
                p.location.clone(),
                p.name.clone(),
                p.version.clone(),
            )
        })
        .collect();
    got.sort();

    let mut want: Vec<(Ecosystem, String, String, String)> = Vec::new();
    let mut add = |ecosystem: Ecosystem, location: &str, name: &str, version: &str| {
        want.push((
            ecosystem,
            location.to_string(),
            name.to_string(),
            version.to_string(),
        ));
    };
    for (name, version) in [
        ("hex-literal", "1.1.0"),
        ("hybrid-array", "0.4.12"),
        ("typenum", "1.20.1"),
        ("zeroize", "1.8.2"),
    ] {
        add(Ecosystem::CratesIo, "srv/rust/Cargo.lock", name, version);
    }
    for (name, version, _) in NPM_TREE {
        add(Ecosystem::Npm, "srv/web/package-lock.json", name, version);
    }
    add(
        Ecosystem::Npm,
        "srv/web/node_modules/debug/package.json",
        "debug",
        "4.3.4",
    );
    add(
        Ecosystem::Npm,
        "srv/web/node_modules/debug/node_modules/ms/package.json",
        "ms",
        "2.1.2",
    );
    add(
        Ecosystem::Npm,
        "srv/web/node_modules/string-width-cjs/package.json",
        "string-width",
        "4.2.3",
    );
    add(
        Ecosystem::PyPI,
        "usr/lib/python3/dist-packages/PyJWT-2.6.0.egg-info/PKG-INFO",
        "PyJWT",
        "2.6.0",
    );
    let go_location = format!("usr/local/bin/{go_name}");
    add(Ecosystem::Go, &go_location, "stdlib", "1.19.8");
    add(Ecosystem::Go, &go_location, "golang.org/x/text", "0.6.0");
    add(
        Ecosystem::Maven,
        "opt/app/lib/commons-cli-1.5.0.jar!/META-INF/maven/commons-cli/commons-cli/pom.properties",
        "commons-cli:commons-cli",
        "1.5.0",
    );
    for (name, version) in [
        ("monolog/monolog", "2.9.1"),
        ("psr/log", "1.1.4"),
        ("phpunit/phpunit", "9.6.13"),
    ] {
        add(Ecosystem::Packagist, "var/www/composer.lock", name, version);
    }
    for (name, version) in [("rack", "2.2.22"), ("rake", "13.0.6"), ("webrick", "1.8.1")] {
        add(Ecosystem::RubyGems, "app/Gemfile.lock", name, version);
    }
    want.sort();
    assert_eq!(got, want);
}

/// File contents that count the reads made through them.
struct CountingFile<'a> {
    bytes: &'a [u8],
    reads: std::cell::Cell<usize>,
    bytes_read: std::cell::Cell<usize>,
}

impl podwarden_scan::inventory::FileContents for CountingFile<'_> {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = MemoryFile(self.bytes).read_at(offset, buf)?;
        self.reads.set(self.reads.get() + 1);
        self.bytes_read.set(self.bytes_read.get() + n);
        Ok(n)
    }
}

#[test]
fn go_binary_detector_reads_little_of_other_executables() {
    // (what, bytes, most reads, most bytes read): an ELF that is not Go costs the header, the
    // section header table and the section names; a script costs one small read.
    let rust_elf =
        std::fs::read(std::env::current_exe().expect("test binary path")).expect("read self");
    let script = b"#!/bin/sh\nexec /usr/bin/true \"$@\"\n".repeat(4);
    let cases: [(&str, &[u8], usize, usize); 2] = [
        ("a Rust ELF executable", &rust_elf, 3, 16 * 1024),
        ("a shell script", &script, 1, 64),
    ];
    for (what, bytes, max_reads, max_bytes) in cases {
        let file = CountingFile {
            bytes,
            reads: Default::default(),
            bytes_read: Default::default(),
        };
        let info = FileInfo {
            path: "usr/bin/x",
            file_name: "x",
            size: bytes.len() as u64,
            executable: true,
        };
        let detected = GoBinaryDetector
            .detect(&info, &file, &DetectContext::default())
            .expect(what);
        assert!(detected.packages.is_empty(), "{what}");
        assert!(
            file.reads.get() <= max_reads && file.bytes_read.get() <= max_bytes,
            "{what}: {} reads, {} bytes",
            file.reads.get(),
            file.bytes_read.get()
        );
    }
}
