//! Java archives (`.jar`, `.war`, `.ear`, `.jpi`, `.hpi`): Maven coordinates from
//! `META-INF/maven/<group>/<artifact>/pom.properties`, nested archives followed to a fixed depth.
//!
//! An archive without `pom.properties` is identified from `META-INF/MANIFEST.MF` and its file
//! name (`artifact-1.2.3.jar`) only when the manifest names the group (`Implementation-Vendor-Id`,
//! which maven-archiver sets to the groupId); such a guess is reported together with a warning
//! that says so. When the group cannot be told, nothing is reported, only a warning (a wrong purl
//! is worse than none).

use super::Collector;
use crate::inventory::purl::purl;
use crate::inventory::{DetectContext, Detected, Detector, Ecosystem, FileContents, FileInfo};
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use zip::ZipArchive;

/// File name endings of the archives this detector opens (compared case-insensitively).
const ARCHIVE_EXTENSIONS: &[&str] = &[".jar", ".war", ".ear", ".jpi", ".hpi"];
/// How many archives deep nested archives are followed (`a.ear!/b.war!/c.jar` is depth 2).
const MAX_NESTING_DEPTH: usize = 3;
/// Largest `pom.properties` or `MANIFEST.MF` inflated.
const MAX_METADATA_BYTES: u64 = 1024 * 1024;
/// Largest nested archive inflated into memory.
const MAX_NESTED_ARCHIVE_BYTES: u64 = 256 * 1024 * 1024;
/// Total bytes inflated for one outer archive, nested ones included (zip-bomb bound).
const MAX_TOTAL_INFLATED_BYTES: u64 = 1024 * 1024 * 1024;
/// Entries listed per archive; beyond this the archive is not read.
const MAX_ENTRIES: usize = 500_000;

/// The Maven name (`group:artifact`) and purl of an artifact.
pub fn maven_package(group: &str, artifact: &str, version: &str) -> (String, String) {
    (
        format!("{group}:{artifact}"),
        purl("maven", Some(group), artifact, version, &[]),
    )
}

fn is_archive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ARCHIVE_EXTENSIONS.iter().any(|ext| lower.ends_with(ext))
}

/// Reads Maven coordinates from Java archives.
pub struct JavaArchiveDetector;

impl Detector for JavaArchiveDetector {
    fn name(&self) -> &'static str {
        "java-archive"
    }

    fn may_want(&self, _path: &str, file_name: &str) -> bool {
        is_archive_name(file_name)
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.size >= 22 && is_archive_name(file.file_name)
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        _ctx: &DetectContext,
    ) -> Result<Detected, String> {
        let reader = ContentsReader::new(contents);
        let mut archive =
            ZipArchive::new(reader).map_err(|e| format!("not a readable zip archive: {e}"))?;
        let mut out = Collector::new(Ecosystem::Maven, file.path);
        let mut scan = ArchiveScan {
            out: &mut out,
            inflate_budget: MAX_TOTAL_INFLATED_BYTES,
        };
        scan.archive(&mut archive, file.path, file.file_name, 0)?;
        Ok(out.finish())
    }
}

/// Buffered `Read + Seek` over [`FileContents`], so the zip reader works wherever the file
/// lives. Unlike `BufReader`, a seek keeps the buffer: the zip reader seeks once per central
/// directory entry, and discarding the buffer each time re-read a 70 MB jar 30 times over.
struct ContentsReader<'a> {
    contents: &'a dyn FileContents,
    pos: u64,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_start: u64,
}

impl<'a> ContentsReader<'a> {
    const WINDOW: usize = 64 * 1024;

    fn new(contents: &'a dyn FileContents) -> Self {
        ContentsReader {
            contents,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
        }
    }
}

impl Read for ContentsReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buffered = self.buf_start..self.buf_start + self.buf.len() as u64;
        if !buffered.contains(&self.pos) {
            if out.len() >= Self::WINDOW {
                // Large reads (inflating an entry) bypass the buffer.
                let n = self.contents.read_at(self.pos, out)?;
                self.pos += n as u64;
                return Ok(n);
            }
            self.buf.resize(Self::WINDOW, 0);
            let n = self.contents.read_at(self.pos, &mut self.buf)?;
            self.buf.truncate(n);
            self.buf_start = self.pos;
            if n == 0 {
                return Ok(0);
            }
        }
        let start = (self.pos - self.buf_start) as usize;
        let available = self.buf.get(start..).unwrap_or_default();
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ContentsReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(delta) => self.contents.len().checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| io::Error::other("seek outside the file"))?;
        self.pos = target;
        Ok(target)
    }
}

/// The walk over one outer archive and everything nested in it.
struct ArchiveScan<'c, 'a> {
    out: &'c mut Collector<'a>,
    /// Bytes that may still be inflated.
    inflate_budget: u64,
}

/// One entry's name, size and kind, listed before anything is inflated.
struct EntryName {
    index: usize,
    name: String,
    size: u64,
}

impl ArchiveScan<'_, '_> {
    /// Reports the packages of `archive`, found at `location` (`outer.war!/WEB-INF/lib/x.jar`).
    fn archive<R: Read + Seek>(
        &mut self,
        archive: &mut ZipArchive<R>,
        location: &str,
        file_name: &str,
        depth: usize,
    ) -> Result<(), String> {
        if archive.len() > MAX_ENTRIES {
            return Err(format!(
                "{} entries, over the {MAX_ENTRIES}-entry limit",
                archive.len()
            ));
        }
        let mut entries = Vec::new();
        for index in 0..archive.len() {
            match archive.by_index_raw(index) {
                Ok(entry) if entry.is_file() => match entry.name() {
                    Ok(name) => entries.push(EntryName {
                        index,
                        name: name.into_owned(),
                        size: entry.size(),
                    }),
                    Err(e) => self
                        .out
                        .warn_at(location.to_string(), format!("entry #{index}: {e}")),
                },
                Ok(_) => {}
                Err(e) => self
                    .out
                    .warn_at(location.to_string(), format!("entry #{index}: {e}")),
            }
        }

        let mut found_pom = false;
        for entry in entries.iter().filter(|e| is_pom_properties(&e.name)) {
            found_pom = true;
            let member = format!("{location}!/{}", entry.name);
            match self.inflate(archive, entry, MAX_METADATA_BYTES) {
                Ok(bytes) => self.pom_properties(&bytes, member),
                Err(why) => self.out.warn_at(member, why),
            }
        }
        if !found_pom {
            self.guess_from_manifest(archive, &entries, location, file_name);
        }

        for entry in entries.iter().filter(|e| is_archive_name(&e.name)) {
            let member = format!("{location}!/{}", entry.name);
            if depth + 1 > MAX_NESTING_DEPTH {
                self.out.warn_at(
                    member,
                    format!("nested deeper than {MAX_NESTING_DEPTH} archives; not read"),
                );
                continue;
            }
            let bytes = match self.inflate(archive, entry, MAX_NESTED_ARCHIVE_BYTES) {
                Ok(bytes) => bytes,
                Err(why) => {
                    self.out.warn_at(member, why);
                    continue;
                }
            };
            let nested_name = entry
                .name
                .rsplit('/')
                .next()
                .unwrap_or(&entry.name)
                .to_string();
            match ZipArchive::new(Cursor::new(bytes)) {
                Ok(mut nested) => {
                    if let Err(why) = self.archive(&mut nested, &member, &nested_name, depth + 1) {
                        self.out.warn_at(member, why);
                    }
                }
                Err(e) => self
                    .out
                    .warn_at(member, format!("not a readable zip archive: {e}")),
            }
        }
        Ok(())
    }

    /// Inflates one entry, refusing more than `limit` bytes or the remaining budget.
    fn inflate<R: Read + Seek>(
        &mut self,
        archive: &mut ZipArchive<R>,
        entry: &EntryName,
        limit: u64,
    ) -> Result<Vec<u8>, String> {
        let cap = limit.min(self.inflate_budget);
        if entry.size > cap {
            return Err(format!(
                "entry declares {} bytes, over the {cap}-byte limit",
                entry.size
            ));
        }
        let reader = archive
            .by_index(entry.index)
            .map_err(|e| format!("cannot open entry: {e}"))?;
        let mut bytes = Vec::new();
        reader
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot inflate entry: {e}"))?;
        if bytes.len() as u64 > cap {
            return Err(format!("entry inflates past the {cap}-byte limit"));
        }
        self.inflate_budget -= bytes.len() as u64;
        Ok(bytes)
    }

    fn pom_properties(&mut self, bytes: &[u8], member: String) {
        let text = String::from_utf8_lossy(bytes);
        let props = parse_properties(&text);
        let get = |key: &str| {
            props
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        match (get("groupId"), get("artifactId"), get("version")) {
            (Some(group), Some(artifact), Some(version)) => {
                if [group, artifact, version].iter().any(|v| v.contains("${")) {
                    self.out
                        .warn_at(member, "pom.properties holds unresolved `${...}` values");
                    return;
                }
                let (name, purl) = maven_package(group, artifact, version);
                self.out.package_at(&name, version, purl, member);
            }
            _ => self.out.warn_at(
                member,
                "pom.properties lacks groupId, artifactId or version",
            ),
        }
    }

    /// Identifies an archive without pom.properties from its manifest and file name, when the
    /// group can be told; otherwise says why nothing is reported.
    fn guess_from_manifest<R: Read + Seek>(
        &mut self,
        archive: &mut ZipArchive<R>,
        entries: &[EntryName],
        location: &str,
        file_name: &str,
    ) {
        let manifest = entries
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case("META-INF/MANIFEST.MF"))
            .and_then(|entry| self.inflate(archive, entry, MAX_METADATA_BYTES).ok())
            .map(|bytes| parse_manifest(&String::from_utf8_lossy(&bytes)))
            .unwrap_or_default();
        let from_name = artifact_from_file_name(file_name);
        let attribute = |key: &str| {
            manifest
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let artifact = from_name.map(|(a, _)| a);
        let version = from_name
            .map(|(_, v)| v)
            .or_else(|| attribute("Implementation-Version"))
            .or_else(|| attribute("Bundle-Version"));
        // maven-archiver wrote the groupId as `Implementation-Vendor-Id`; nothing else in a
        // manifest tells the group (`Bundle-SymbolicName` is sometimes the group, sometimes
        // group + artifact, sometimes a package name), so nothing else is trusted.
        let group = attribute("Implementation-Vendor-Id").filter(|g| is_group_id(g));
        match (group, artifact, version) {
            (Some(group), Some(artifact), Some(version)) => {
                let (name, purl) = maven_package(group, artifact, version);
                self.out.warn_at(
                    location.to_string(),
                    format!(
                        "no pom.properties: coordinates {name}:{version} guessed from \
                         META-INF/MANIFEST.MF and the file name"
                    ),
                );
                self.out.package_at(
                    &name,
                    version,
                    purl,
                    format!("{location}!/META-INF/MANIFEST.MF"),
                );
            }
            _ => self.out.warn_at(
                location.to_string(),
                match (artifact, version) {
                    (Some(a), Some(v)) => format!(
                        "no pom.properties and no Implementation-Vendor-Id in MANIFEST.MF: not \
                         reported (the file name suggests artifact `{a}` version `{v}`{})",
                        attribute("Bundle-SymbolicName")
                            .map(|b| format!(", Bundle-SymbolicName `{b}`"))
                            .unwrap_or_default()
                    ),
                    _ => "no pom.properties and no Maven coordinates in MANIFEST.MF or the file \
                          name: not reported"
                        .to_string(),
                },
            ),
        }
    }
}

/// `META-INF/maven/<group>/<artifact>/pom.properties`, exactly.
fn is_pom_properties(name: &str) -> bool {
    let mut parts = name.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("META-INF"), Some("maven"), Some(g), Some(a), Some("pom.properties"), None)
            if !g.is_empty() && !a.is_empty()
    )
}

/// Whether `s` looks like a Maven groupId (`org.apache.commons`, `commons-io`): identifiers
/// joined by dots, no spaces.
fn is_group_id(s: &str) -> bool {
    s.split('.').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    })
}

/// `commons-lang3-3.12.0.jar` → (`commons-lang3`, `3.12.0`): the version starts at the first
/// `-` followed by a digit.
fn artifact_from_file_name(file_name: &str) -> Option<(&str, &str)> {
    let stem = &file_name[..file_name.rfind('.')?];
    let bytes = stem.as_bytes();
    let dash = (1..bytes.len()).find(|&i| bytes[i - 1] == b'-' && bytes[i].is_ascii_digit())?;
    let (artifact, version) = (&stem[..dash - 1], &stem[dash..]);
    (!artifact.is_empty() && !version.is_empty()).then_some((artifact, version))
}

/// Java `.properties` lines: `key=value` or `key: value`; `#`/`!` comments.
fn parse_properties(text: &str) -> Vec<(&str, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(['#', '!']))
        .filter_map(|l| {
            let at = l.find(['=', ':'])?;
            Some((l[..at].trim(), l[at + 1..].trim().to_string()))
        })
        .collect()
}

/// The main section of a JAR manifest: `Key: value` lines, continuation lines start with a space.
fn parse_manifest(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break; // per-entry sections follow
        }
        if let Some(more) = line.strip_prefix(' ') {
            if let Some(last) = out.last_mut() {
                last.1.push_str(more);
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            out.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the bytes a detector reads, to keep archive reading proportional to the file.
    struct CountingContents {
        bytes: Vec<u8>,
        read: std::cell::Cell<u64>,
    }

    impl FileContents for CountingContents {
        fn len(&self) -> u64 {
            self.bytes.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.bytes.as_slice().read_at(offset, buf)?;
            self.read.set(self.read.get() + n as u64);
            Ok(n)
        }
    }

    #[test]
    fn reads_a_many_entry_jar_about_once() {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        let ok = (|| -> zip::result::ZipResult<Vec<u8>> {
            for i in 0..20_000 {
                writer.start_file(format!("com/example/pkg/Class{i}.class"), options)?;
                writer.write_all(b"\xca\xfe\xba\xbe padding padding padding")?;
            }
            writer.start_file("META-INF/maven/com.example/big/pom.properties", options)?;
            writer.write_all(b"groupId=com.example\nartifactId=big\nversion=1.2.3\n")?;
            Ok(writer.finish()?.into_inner())
        })();
        let bytes = ok.unwrap_or_default();
        assert!(!bytes.is_empty(), "building the test jar failed");
        let size = bytes.len() as u64;
        let contents = CountingContents {
            bytes,
            read: std::cell::Cell::new(0),
        };
        let file = FileInfo {
            path: "app/big.jar",
            file_name: "big.jar",
            size,
            executable: false,
        };
        let detected = JavaArchiveDetector
            .detect(&file, &contents, &DetectContext::default())
            .unwrap_or_default();
        assert_eq!(detected.packages.len(), 1, "{:?}", detected.warnings);
        let read = contents.read.get();
        assert!(
            read <= 2 * size,
            "read {read} bytes of a {size}-byte jar: the central directory is re-read"
        );
    }

    #[test]
    fn splits_artifact_file_names() {
        let cases = [
            (
                "commons-lang3-3.12.0.jar",
                Some(("commons-lang3", "3.12.0")),
            ),
            ("log4j-core-2.14.1.jar", Some(("log4j-core", "2.14.1"))),
            ("guava-31.1-jre.jar", Some(("guava", "31.1-jre"))),
            ("app.war", None),
            ("-1.0.jar", None),
            ("noext", None),
        ];
        for (input, want) in cases {
            assert_eq!(artifact_from_file_name(input), want, "{input}");
        }
    }

    #[test]
    fn recognises_pom_properties_paths() {
        let cases = [
            ("META-INF/maven/org.a/b/pom.properties", true),
            ("META-INF/maven/org.a/pom.properties", false),
            ("META-INF/maven/org.a/b/c/pom.properties", false),
            ("x/META-INF/maven/org.a/b/pom.properties", false),
            ("META-INF/maven//b/pom.properties", false),
        ];
        for (input, want) in cases {
            assert_eq!(is_pom_properties(input), want, "{input}");
        }
    }
}
