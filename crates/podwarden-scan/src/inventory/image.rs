//! Container images: inventories a `docker save` tarball or an OCI image layout (a directory or
//! a tarball) by applying its layers in order and offering the final tree to the detectors.
//!
//! Nothing is extracted to disk as a tree. One streaming pass over the layers builds the final
//! file tree in memory (paths, sizes, modes, whiteouts and opaque directories applied) and keeps
//! the contents of only the files a detector may want, decided from name, size and mode as the
//! entry streams by: small ones in memory, large ones in one anonymous temp file. Contents that
//! turn out to be needed later (a hard link to an unwanted file, os-release behind a symlink)
//! are fetched by a second pass over just the layers that hold them. Entry names with `..` or
//! a leading `/` are refused with a warning; the total expansion and entry count are bounded.
//! Layers may be plain tar, gzip or zstd (told apart by their magic bytes).

use super::os_release::{OS_RELEASE_PATHS, parse_os_release};
use super::rootfs::{MemoryFile, RootFs};
use super::walk::{
    Collector, InventoryError, Offer, ScanOptions, check_detector_count, worker_threads,
};
use super::{DetectContext, Detector, FileContents, FileInfo, Inventory, OsRelease};
use serde::Deserialize;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// Inventories the image at `path`: a tarball (`docker save`, OCI layout; optionally gzipped)
/// or a directory holding an OCI layout (`index.json`) or an unpacked `docker save`.
pub fn inventory_image(
    path: &Path,
    detectors: &[Box<dyn Detector>],
    opts: &ScanOptions,
) -> Result<Inventory, InventoryError> {
    let image_err = |message: String| InventoryError::Image {
        path: path.display().to_string(),
        message,
    };
    check_detector_count(detectors)?;
    let source = if path.is_dir() {
        Source::Dir(RootFs::open(path)?)
    } else {
        Source::open_tar(path, opts).map_err(image_err)?
    };
    let layers = source.layer_names(opts).map_err(image_err)?;
    let expanded = Cell::new(0);
    let mut reader = ImageReader {
        source: &source,
        image: path.display().to_string(),
        offer: Offer {
            detectors,
            ctx: DetectContext::default(),
            max_file_size: opts.max_file_size,
        },
        opts,
        tree: BTreeMap::new(),
        spill: None,
        in_memory: 0,
        out: Collector::default(),
        expanded: &expanded,
        entries: 0,
    };
    for (index, layer) in layers.iter().enumerate() {
        reader.apply_layer(index, layer)?;
    }
    reader.fetch_missing(&layers)?;
    let os = reader.os_release();
    reader.offer.ctx.os = os.clone();
    reader.run_detectors()?;
    let files = reader
        .tree
        .values()
        .filter(|n| matches!(n, Node::File(_)))
        .count() as u64;
    Ok(reader.out.finish(os, files))
}

/// Where the image's files (manifests, blobs, layers) are read from.
enum Source {
    /// A tarball: the offset and size of each member, and its symlinks.
    Tar {
        file: File,
        members: HashMap<String, (u64, u64)>,
        links: HashMap<String, String>,
        _spooled: Option<File>,
    },
    /// A directory, read through root-confined access.
    Dir(RootFs),
}

impl Source {
    /// Indexes the members of a tar (gunzipping it into a temp file first if it is gzipped).
    fn open_tar(path: &Path, opts: &ScanOptions) -> Result<Source, String> {
        let mut file = File::open(path).map_err(|e| e.to_string())?;
        let mut magic = [0u8; 2];
        let got = file.read_at(&mut magic, 0).map_err(|e| e.to_string())?;
        let mut spooled = None;
        if got == 2 && magic == [0x1f, 0x8b] {
            let mut temp = tempfile::tempfile().map_err(|e| format!("temp file: {e}"))?;
            let decoder = flate2::read::MultiGzDecoder::new(BufReader::new(&file));
            let mut limited = decoder.take(opts.max_image_bytes + 1);
            let copied = std::io::copy(&mut limited, &mut temp)
                .map_err(|e| format!("decompressing the image: {e}"))?;
            if copied > opts.max_image_bytes {
                return Err(format!(
                    "decompresses to more than the {}-byte limit",
                    opts.max_image_bytes
                ));
            }
            temp.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
            spooled = Some(temp.try_clone().map_err(|e| e.to_string())?);
            file = temp;
        }
        let mut members = HashMap::new();
        let mut links = HashMap::new();
        {
            let mut archive = tar::Archive::new(BufReader::with_capacity(64 * 1024, &file));
            let entries = archive
                .entries_with_seek()
                .map_err(|e| format!("not a tar archive: {e}"))?;
            for (i, entry) in entries.enumerate() {
                let entry =
                    entry.map_err(|e| format!("not a readable tar archive (entry {i}): {e}"))?;
                let Some(name) = clean_name(&entry.path_bytes()) else {
                    continue;
                };
                match entry.header().entry_type() {
                    tar::EntryType::Regular | tar::EntryType::Continuous => {
                        members.insert(name, (entry.raw_file_position(), entry.size()));
                    }
                    tar::EntryType::Symlink | tar::EntryType::Link => {
                        if let Some(target) = entry.link_name_bytes() {
                            let target = String::from_utf8_lossy(&target).into_owned();
                            let resolved = if entry.header().entry_type() == tar::EntryType::Link {
                                clean_name(target.as_bytes())
                            } else {
                                resolve_relative(&name, &target)
                            };
                            if let Some(resolved) = resolved {
                                links.insert(name, resolved);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(Source::Tar {
            file,
            members,
            links,
            _spooled: spooled,
        })
    }

    /// Opens a member (following the archive's own links a bounded number of times).
    fn open(&self, name: &str) -> Result<Box<dyn Read + '_>, String> {
        match self {
            Source::Tar {
                file,
                members,
                links,
                ..
            } => {
                let mut name = name.to_string();
                for _ in 0..16 {
                    if let Some(&(offset, size)) = members.get(&name) {
                        return Ok(Box::new(BufReader::with_capacity(
                            256 * 1024,
                            Section {
                                file,
                                pos: offset,
                                end: offset + size,
                            },
                        )));
                    }
                    match links.get(&name) {
                        Some(target) => name = target.clone(),
                        None => return Err(format!("{name}: not in the archive")),
                    }
                }
                Err(format!("{name}: too many links"))
            }
            Source::Dir(root) => {
                let file = root.open_file(name).map_err(|e| e.to_string())?;
                Ok(Box::new(BufReader::with_capacity(
                    256 * 1024,
                    ContentsReader {
                        contents: file,
                        pos: 0,
                    },
                )))
            }
        }
    }

    fn exists(&self, name: &str) -> bool {
        match self {
            Source::Tar { members, .. } => members.contains_key(name),
            Source::Dir(root) => root.open_file(name).is_ok(),
        }
    }

    fn read_small(&self, name: &str, limit: u64) -> Result<Vec<u8>, String> {
        let mut reader = self.open(name)?.take(limit + 1);
        let mut out = Vec::new();
        reader
            .read_to_end(&mut out)
            .map_err(|e| format!("{name}: {e}"))?;
        if out.len() as u64 > limit {
            return Err(format!("{name}: over the {limit}-byte limit"));
        }
        Ok(out)
    }

    /// The layer members in order, from `manifest.json` (docker save) or `index.json` (OCI).
    fn layer_names(&self, opts: &ScanOptions) -> Result<Vec<String>, String> {
        let limit = opts.max_metadata_size;
        if self.exists("manifest.json") {
            let bytes = self.read_small("manifest.json", limit)?;
            let manifest: Vec<DockerManifest> =
                serde_json::from_slice(&bytes).map_err(|e| format!("manifest.json: {e}"))?;
            let first = manifest
                .into_iter()
                .next()
                .ok_or("manifest.json lists no image")?;
            return first
                .layers
                .iter()
                .map(|l| {
                    clean_name(l.as_bytes()).ok_or(format!("manifest.json: bad layer path {l:?}"))
                })
                .collect();
        }
        if self.exists("index.json") {
            let bytes = self.read_small("index.json", limit)?;
            return self.oci_layers(&bytes, "index.json", limit, 0);
        }
        Err("neither manifest.json (docker save) nor index.json (OCI layout) found".to_string())
    }

    /// Follows an OCI index (possibly nested) to one image manifest and returns its layers.
    fn oci_layers(
        &self,
        json: &[u8],
        what: &str,
        limit: u64,
        depth: usize,
    ) -> Result<Vec<String>, String> {
        if depth > 4 {
            return Err(format!("{what}: image indexes nested too deep"));
        }
        let doc: OciDocument = serde_json::from_slice(json).map_err(|e| format!("{what}: {e}"))?;
        if !doc.layers.is_empty() || doc.manifests.is_empty() {
            return doc
                .layers
                .iter()
                .map(|l| blob_path(&l.digest).ok_or(format!("{what}: bad digest {:?}", l.digest)))
                .collect();
        }
        let chosen = pick_manifest(&doc.manifests).ok_or(format!("{what}: no usable manifest"))?;
        let blob =
            blob_path(&chosen.digest).ok_or(format!("{what}: bad digest {:?}", chosen.digest))?;
        let bytes = self.read_small(&blob, limit)?;
        self.oci_layers(&bytes, &blob, limit, depth + 1)
    }
}

#[derive(Deserialize)]
struct DockerManifest {
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct OciDocument {
    #[serde(default)]
    manifests: Vec<OciDescriptor>,
    #[serde(default)]
    layers: Vec<OciDescriptor>,
}

#[derive(Deserialize)]
struct OciDescriptor {
    #[serde(default)]
    digest: String,
    #[serde(default)]
    platform: Option<OciPlatform>,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

#[derive(Deserialize)]
struct OciPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
}

/// Picks linux/amd64 from a multi-platform index, else the first real (non-attestation) one.
fn pick_manifest(manifests: &[OciDescriptor]) -> Option<&OciDescriptor> {
    let real = |m: &&OciDescriptor| {
        m.annotations
            .get("vnd.docker.reference.type")
            .is_none_or(|t| t != "attestation-manifest")
            && m.platform.as_ref().is_none_or(|p| p.os != "unknown")
    };
    manifests
        .iter()
        .filter(real)
        .find(|m| {
            m.platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
        })
        .or_else(|| manifests.iter().find(real))
}

/// `sha256:abc…` → `blobs/sha256/abc…`, refusing anything that is not `alg:hex`.
fn blob_path(digest: &str) -> Option<String> {
    let (alg, hex) = digest.split_once(':')?;
    let alg_ok = !alg.is_empty()
        && alg
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let hex_ok = !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    (alg_ok && hex_ok).then(|| format!("blobs/{alg}/{hex}"))
}

/// A byte range of a file, read with `pread`.
struct Section<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for Section<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = usize::try_from(self.end.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Sequential reading of any [`FileContents`].
struct ContentsReader<C> {
    contents: C,
    pos: u64,
}

impl<C: FileContents> Read for ContentsReader<C> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.contents.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A zstd stream of one or more frames (skippable frames skipped), decoded in pure Rust.
struct ZstdFrames<R> {
    source: R,
    decoder: ruzstd::decoding::FrameDecoder,
    in_frame: bool,
}

impl<R: std::io::BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            if !self.in_frame {
                if self.source.fill_buf()?.is_empty() {
                    return Ok(0);
                }
                match self.decoder.reset(&mut self.source) {
                    Ok(()) => self.in_frame = true,
                    Err(FrameDecoderError::ReadFrameHeaderError(
                        ReadFrameHeaderError::SkipFrame { length, .. },
                    )) => {
                        let skipped = std::io::copy(
                            &mut (&mut self.source).take(u64::from(length)),
                            &mut std::io::sink(),
                        )?;
                        if skipped < u64::from(length) {
                            return Err(std::io::Error::other("zstd: truncated skippable frame"));
                        }
                    }
                    Err(e) => return Err(std::io::Error::other(format!("zstd: {e}"))),
                }
                continue;
            }
            if self.decoder.can_collect() > 0 {
                return self.decoder.read(buf);
            }
            if self.decoder.is_finished() {
                self.in_frame = false;
                continue;
            }
            self.decoder
                .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                .map_err(|e| std::io::Error::other(format!("zstd: {e}")))?;
        }
    }
}

/// Counts the uncompressed bytes of all layers against the image budget.
struct Budget<'a, R> {
    inner: R,
    used: &'a Cell<u64>,
    limit: u64,
}

const OVER_BUDGET: &str = "podwarden: image expansion budget exceeded";

impl<R: Read> Read for Budget<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let used = self.used.get() + n as u64;
        self.used.set(used);
        if used > self.limit {
            return Err(std::io::Error::other(OVER_BUDGET));
        }
        Ok(n)
    }
}

/// Where a retained file's contents are.
#[derive(Clone)]
enum Stored {
    Memory(Arc<[u8]>),
    Spilled { offset: u64, len: u64 },
}

/// A regular file of the final tree.
#[derive(Clone)]
struct FileNode {
    layer: usize,
    size: u64,
    mode: u32,
    /// The layer and entry name holding the bytes (differs from the key for hard links).
    origin: (usize, Arc<str>),
    data: Option<Stored>,
}

#[derive(Clone)]
enum Node {
    File(FileNode),
    Symlink {
        layer: usize,
        target: String,
    },
    /// Directories, devices, FIFOs: kept only so whiteouts and replacements see them.
    Other {
        layer: usize,
    },
}

impl Node {
    fn layer(&self) -> usize {
        match self {
            Node::File(f) => f.layer,
            Node::Symlink { layer, .. } | Node::Other { layer } => *layer,
        }
    }
}

struct ImageReader<'a> {
    source: &'a Source,
    image: String,
    offer: Offer<'a>,
    opts: &'a ScanOptions,
    tree: BTreeMap<String, Node>,
    spill: Option<File>,
    /// Bytes of retained contents held in memory (replaced files are not subtracted).
    in_memory: u64,
    out: Collector,
    expanded: &'a Cell<u64>,
    entries: u64,
}

impl<'a> ImageReader<'a> {
    fn limit_error(&self, what: &str, limit: u64) -> InventoryError {
        InventoryError::ImageLimit {
            path: self.image.clone(),
            what: what.to_string(),
            limit,
        }
    }

    /// Opens a layer as a tar stream: gzip and plain tar by their magic bytes.
    fn open_layer(&self, name: &str) -> Result<Box<dyn Read + 'a>, String> {
        let source: &'a Source = self.source;
        let mut raw = BufReader::with_capacity(256 * 1024, source.open(name)?);
        let magic = {
            use std::io::BufRead;
            let head = raw.fill_buf().map_err(|e| e.to_string())?;
            head.get(..4).map(|m| [m[0], m[1], m[2], m[3]])
        };
        let stream: Box<dyn Read + 'a> = match magic {
            Some([0x1f, 0x8b, _, _]) => Box::new(BufReader::with_capacity(
                256 * 1024,
                flate2::read::MultiGzDecoder::new(raw),
            )),
            // A zstd frame, or a skippable frame (zstd:chunked starts with one).
            Some([0x28, 0xb5, 0x2f, 0xfd] | [0x50..=0x5f, 0x2a, 0x4d, 0x18]) => {
                Box::new(BufReader::with_capacity(
                    256 * 1024,
                    ZstdFrames {
                        source: raw,
                        decoder: ruzstd::decoding::FrameDecoder::new(),
                        in_frame: false,
                    },
                ))
            }
            _ => Box::new(raw),
        };
        Ok(Box::new(Budget {
            inner: stream,
            used: self.expanded,
            limit: self.opts.max_image_bytes,
        }))
    }

    /// Streams one layer, applying each entry to the tree. `fetch` (second pass) names the
    /// entries whose contents are needed; in the first pass contents are kept when wanted.
    fn apply_layer(&mut self, index: usize, name: &str) -> Result<(), InventoryError> {
        let stream = match self.open_layer(name) {
            Ok(stream) => stream,
            Err(message) => {
                self.out.warn(name, format!("layer {index}: {message}"));
                return Ok(());
            }
        };
        let mut archive = tar::Archive::new(stream);
        let entries = match archive.entries() {
            Ok(entries) => entries,
            Err(e) => {
                self.out
                    .warn(name, format!("layer {index}: not a tar: {e}"));
                return Ok(());
            }
        };
        for (position, entry) in entries.enumerate() {
            let mut entry = match entry {
                Ok(entry) => entry,
                Err(e) => return self.layer_stream_error(index, name, position, e),
            };
            self.entries += 1;
            if self.entries > self.opts.max_image_entries {
                return Err(
                    self.limit_error("the number of layer entries", self.opts.max_image_entries)
                );
            }
            if let Err(e) = self.apply_entry(index, name, &mut entry) {
                return self.layer_stream_error(index, name, position, e);
            }
        }
        if self.expanded.get() > self.opts.max_image_bytes {
            return Err(self.limit_error(
                "the uncompressed size of all layers",
                self.opts.max_image_bytes,
            ));
        }
        Ok(())
    }

    fn layer_stream_error(
        &mut self,
        index: usize,
        name: &str,
        position: usize,
        e: std::io::Error,
    ) -> Result<(), InventoryError> {
        if self.expanded.get() > self.opts.max_image_bytes || e.to_string().contains(OVER_BUDGET) {
            return Err(self.limit_error(
                "the uncompressed size of all layers",
                self.opts.max_image_bytes,
            ));
        }
        self.out.warn(
            name,
            format!("layer {index}: unreadable at entry {position}: {e}; the rest of this layer is skipped"),
        );
        Ok(())
    }

    fn apply_entry<R: Read>(
        &mut self,
        layer: usize,
        layer_name: &str,
        entry: &mut tar::Entry<'_, R>,
    ) -> std::io::Result<()> {
        let raw_path = entry.path_bytes().into_owned();
        let Some(path) = clean_name(&raw_path) else {
            let shown = String::from_utf8_lossy(&raw_path);
            if !is_root_name(&raw_path) {
                self.out.warn(
                    &format!("{layer_name}!/{shown}"),
                    "entry name is absolute or climbs out with `..`: refused".to_string(),
                );
            }
            return Ok(());
        };
        let (parent, file_name) = match path.rsplit_once('/') {
            Some((parent, file_name)) => (parent, file_name),
            None => ("", path.as_str()),
        };
        if let Some(hidden) = file_name.strip_prefix(".wh.") {
            if hidden == ".wh..opq" {
                self.remove_below(parent, layer);
            } else if !hidden.starts_with(".wh.") {
                let target = join(parent, hidden);
                self.remove_below(&target, layer);
                if self.tree.get(&target).is_some_and(|n| n.layer() < layer) {
                    self.tree.remove(&target);
                }
            }
            return Ok(());
        }
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().unwrap_or(0o644);
        match kind {
            tar::EntryType::Directory => {
                if !matches!(self.tree.get(&path), Some(Node::Other { .. }) | None) {
                    self.tree.remove(&path);
                }
                self.tree.insert(path, Node::Other { layer });
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                self.replace(&path, layer, Node::Symlink { layer, target });
            }
            tar::EntryType::Link => {
                let target = entry.link_name_bytes().and_then(|t| clean_name(&t));
                let copied = target.as_ref().and_then(|t| match self.tree.get(t) {
                    Some(Node::File(f)) => Some(f.clone()),
                    _ => None,
                });
                match copied {
                    Some(mut file) => {
                        file.layer = layer;
                        self.replace(&path, layer, Node::File(file));
                    }
                    None => self.out.warn(
                        &format!("{layer_name}!/{path}"),
                        format!(
                            "hard link to {} which is not a regular file of the image: skipped",
                            target.as_deref().unwrap_or("an invalid name")
                        ),
                    ),
                }
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                let origin: Arc<str> = Arc::from(path.as_str());
                let info = FileInfo {
                    path: &path,
                    file_name,
                    size,
                    executable: mode & 0o111 != 0,
                };
                let wanted = (self.offer.any_may_want(&path, file_name)
                    && self.offer.wanting(&info) != 0
                    && size <= self.offer.max_file_size)
                    || (OS_RELEASE_PATHS.contains(&path.as_str()) && size <= 1 << 20);
                let data = if wanted {
                    Some(self.keep(entry, size)?)
                } else {
                    None
                };
                let node = FileNode {
                    layer,
                    size,
                    mode,
                    origin: (layer, origin),
                    data,
                };
                self.replace(&path, layer, Node::File(node));
            }
            _ => self.replace(&path, layer, Node::Other { layer }),
        }
        Ok(())
    }

    /// Puts a non-directory node at `path`, hiding what lower layers had below it.
    fn replace(&mut self, path: &str, layer: usize, node: Node) {
        self.remove_below(path, layer);
        self.tree.insert(path.to_string(), node);
    }

    /// Removes everything below directory `dir` that came from layers before `layer`.
    fn remove_below(&mut self, dir: &str, layer: usize) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .tree
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, n)| n.layer() < layer)
            .map(|(k, _)| k.clone())
            .collect();
        for key in doomed {
            self.tree.remove(&key);
        }
    }

    /// Keeps an entry's contents: in memory when small, else appended to the spill file.
    fn keep<R: Read>(&mut self, entry: &mut R, size: u64) -> std::io::Result<Stored> {
        if size <= self.opts.max_in_memory_file
            && self.in_memory + size <= self.opts.max_in_memory_total
        {
            let mut data = Vec::with_capacity(size as usize);
            entry.take(size).read_to_end(&mut data)?;
            self.in_memory += data.len() as u64;
            return Ok(Stored::Memory(Arc::from(data)));
        }
        if self.spill.is_none() {
            self.spill = Some(tempfile::tempfile()?);
        }
        let spill = self
            .spill
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no spill file"))?;
        let offset = spill.seek(SeekFrom::End(0))?;
        let len = std::io::copy(&mut entry.take(size), spill)?;
        spill.flush()?;
        Ok(Stored::Spilled { offset, len })
    }

    /// Second pass: contents needed but not kept (hard links to files that were not wanted by
    /// their own name, os-release behind a symlink) are read from their layers.
    fn fetch_missing(&mut self, layers: &[String]) -> Result<(), InventoryError> {
        let mut needed: BTreeMap<usize, HashSet<Arc<str>>> = BTreeMap::new();
        let os_release_targets: Vec<String> = OS_RELEASE_PATHS
            .iter()
            .filter_map(|p| self.resolve(p))
            .collect();
        for (path, node) in &self.tree {
            let Node::File(file) = node else { continue };
            if file.data.is_some() {
                continue;
            }
            let file_name = path.rsplit('/').next().unwrap_or(path);
            let info = FileInfo {
                path,
                file_name,
                size: file.size,
                executable: file.mode & 0o111 != 0,
            };
            let wanted = (file.size <= self.offer.max_file_size
                && self.offer.any_may_want(path, file_name)
                && self.offer.wanting(&info) != 0)
                || (os_release_targets.contains(path) && file.size <= 1 << 20);
            if wanted {
                needed
                    .entry(file.origin.0)
                    .or_default()
                    .insert(file.origin.1.clone());
            }
        }
        for (layer, names) in needed {
            let Some(layer_name) = layers.get(layer) else {
                continue;
            };
            let fetched = self.fetch_from_layer(layer, layer_name, &names)?;
            for node in self.tree.values_mut() {
                if let Node::File(file) = node
                    && file.data.is_none()
                    && file.origin.0 == layer
                    && let Some(stored) = fetched.get(&file.origin.1)
                {
                    file.data = Some(stored.clone());
                }
            }
        }
        Ok(())
    }

    fn fetch_from_layer(
        &mut self,
        index: usize,
        name: &str,
        wanted: &HashSet<Arc<str>>,
    ) -> Result<HashMap<Arc<str>, Stored>, InventoryError> {
        let mut fetched = HashMap::new();
        // The second read of a layer is not counted again against the expansion budget.
        let before = self.expanded.get();
        self.expanded.set(0);
        let result = (|| -> Result<(), String> {
            let stream = self.open_layer(name)?;
            let mut archive = tar::Archive::new(stream);
            for entry in archive.entries().map_err(|e| e.to_string())? {
                let mut entry = entry.map_err(|e| e.to_string())?;
                let Some(path) = clean_name(&entry.path_bytes()) else {
                    continue;
                };
                if let Some(key) = wanted.get(path.as_str()) {
                    let size = entry.size();
                    let stored = self.keep(&mut entry, size).map_err(|e| e.to_string())?;
                    fetched.insert(key.clone(), stored);
                    if fetched.len() == wanted.len() {
                        break;
                    }
                }
            }
            Ok(())
        })();
        self.expanded.set(before);
        if let Err(message) = result {
            self.out.warn(
                name,
                format!("layer {index}: second read failed: {message}"),
            );
        }
        Ok(fetched)
    }

    /// Resolves a path through the image's symlinks, inside the image root only.
    fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .rev()
            .map(str::to_string)
            .collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(component) = pending.pop() {
            if component == ".." {
                resolved.pop();
                continue;
            }
            resolved.push(component);
            let current = resolved.join("/");
            if let Some(Node::Symlink { target, .. }) = self.tree.get(&current) {
                hops += 1;
                if hops > super::rootfs::MAX_SYMLINK_HOPS {
                    return None;
                }
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                pending.extend(
                    target
                        .split('/')
                        .filter(|c| !c.is_empty() && *c != ".")
                        .rev()
                        .map(str::to_string),
                );
            }
        }
        Some(resolved.join("/"))
    }

    fn os_release(&mut self) -> Option<OsRelease> {
        for path in OS_RELEASE_PATHS {
            let Some(target) = self.resolve(path) else {
                self.out.warn(path, "symlink loop".to_string());
                continue;
            };
            let read = match self.tree.get(&target) {
                Some(Node::File(file)) => self.contents(file).map(|c| c.read_all(1 << 20)),
                _ => None,
            };
            let bytes = match read {
                Some(Ok(bytes)) => bytes,
                Some(Err(e)) => {
                    self.out.warn(path, e.to_string());
                    continue;
                }
                None => continue,
            };
            match parse_os_release(&String::from_utf8_lossy(&bytes)) {
                Some(os) => return Some(os),
                None => self.out.warn(path, "os-release has no ID".to_string()),
            }
        }
        None
    }

    fn contents<'s>(&'s self, file: &'s FileNode) -> Option<Box<dyn FileContents + Sync + 's>> {
        stored_contents(file, self.spill.as_ref())
    }

    /// Runs the detectors over the final tree's wanted files, in parallel.
    fn run_detectors(&mut self) -> Result<(), InventoryError> {
        let mut out = Collector::default();
        let mut wanted: Vec<(FileInfo<'_>, u128, &FileNode)> = Vec::new();
        for (path, node) in &self.tree {
            let Node::File(file) = node else { continue };
            let file_name = path.rsplit('/').next().unwrap_or(path);
            if !self.offer.any_may_want(path, file_name) {
                continue;
            }
            let info = FileInfo {
                path,
                file_name,
                size: file.size,
                executable: file.mode & 0o111 != 0,
            };
            let mask = self.offer.wanting(&info);
            if mask != 0 && !self.offer.too_large(&info, &mut out) {
                wanted.push((info, mask, file));
            }
        }
        let offer = &self.offer;
        let spill = self.spill.as_ref();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(worker_threads(self.opts.threads))
            .build()
            .map_err(|e| InventoryError::Threads(e.to_string()))?;
        let mut found = pool.install(|| {
            use rayon::prelude::*;
            wanted
                .par_iter()
                .fold(Collector::default, |mut out, (info, mask, file)| {
                    match stored_contents(file, spill) {
                        Some(contents) => offer.detect(info, *mask, contents.as_ref(), &mut out),
                        None => out.warn(
                            info.path,
                            "contents could not be read from the image".to_string(),
                        ),
                    }
                    out
                })
                .reduce(Collector::default, |mut a, mut b| {
                    a.append(&mut b);
                    a
                })
        });
        out.append(&mut found);
        self.out.append(&mut out);
        Ok(())
    }
}

/// The retained contents of a file of the final tree.
fn stored_contents<'s>(
    file: &'s FileNode,
    spill: Option<&'s File>,
) -> Option<Box<dyn FileContents + Sync + 's>> {
    match file.data.as_ref()? {
        Stored::Memory(bytes) => Some(Box::new(MemoryFile(&bytes[..]))),
        Stored::Spilled { offset, len } => Some(Box::new(SpilledFile {
            file: spill?,
            offset: *offset,
            len: *len,
        })),
    }
}

/// A retained file inside the spill file.
struct SpilledFile<'a> {
    file: &'a File,
    offset: u64,
    len: u64,
}

impl FileContents for SpilledFile<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let room = usize::try_from(self.len - offset).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        self.file.read_at(&mut buf[..want], self.offset + offset)
    }
}

/// Normalises a tar entry name to `a/b/c`: strips `./` and trailing `/`; None for the root
/// itself, absolute names and names with `..` components.
fn clean_name(raw: &[u8]) -> Option<String> {
    if raw.first() == Some(&b'/') {
        return None;
    }
    let text = String::from_utf8_lossy(raw);
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// Whether an entry name is just the root (`./`, `.`, `/`): silently skipped.
fn is_root_name(raw: &[u8]) -> bool {
    raw.split(|&b| b == b'/').all(|p| p.is_empty() || p == b".")
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// Resolves a symlink target relative to the link's directory, within the archive.
fn resolve_relative(link: &str, target: &str) -> Option<String> {
    let base = if target.starts_with('/') {
        String::new()
    } else {
        link.rsplit_once('/')
            .map(|(d, _)| d.to_string())
            .unwrap_or_default()
    };
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_entry_names() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"./etc/os-release", Some("etc/os-release")),
            (b"usr/lib/", Some("usr/lib")),
            (b"a//b/./c", Some("a/b/c")),
            (b"../etc/passwd", None),
            (b"a/../../b", None),
            (b"/etc/passwd", None),
            (b"./", None),
        ];
        for (raw, want) in cases {
            assert_eq!(
                clean_name(raw).as_deref(),
                *want,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn maps_digests_to_blob_paths() {
        let cases = [
            ("sha256:abcdef0123", Some("blobs/sha256/abcdef0123")),
            ("sha256:../../etc", None),
            ("sha256:", None),
            ("nodigest", None),
            ("sha256/x:ab", None),
        ];
        for (digest, want) in cases {
            assert_eq!(blob_path(digest).as_deref(), want, "{digest}");
        }
    }

    #[test]
    fn resolves_archive_symlinks() {
        let cases = [
            ("a/layer.tar", "../b/layer.tar", Some("b/layer.tar")),
            ("a/layer.tar", "/b/layer.tar", Some("b/layer.tar")),
            ("a/layer.tar", "../../x", None),
        ];
        for (link, target, want) in cases {
            assert_eq!(
                resolve_relative(link, target).as_deref(),
                want,
                "{link} -> {target}"
            );
        }
    }
}
