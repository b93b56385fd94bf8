//! Go modules: `go.mod` requirements and the build info the Go toolchain embeds in ELF binaries.
//!
//! Versions are reported as OSV's Go ecosystem writes them: module versions without the leading
//! `v` (`v1.9.1` → `1.9.1`) and the toolchain as module `stdlib` with its SemVer form
//! (`go1.21rc2` → `1.21.0-rc.2`). Purls keep Go's own `v` form (`pkg:golang/x/y@v1.9.1`).

use super::{Collector, read_text_limited};
use crate::inventory::purl::purl;
use crate::inventory::{DetectContext, Detected, Detector, Ecosystem, FileContents, FileInfo};

/// `go.mod` files larger than this are not module files.
const MAX_GO_MOD_BYTES: u64 = 8 * 1024 * 1024;

/// The purl of a Go module; `version` is Go's own form (`v1.2.3`, or `1.21.5` for stdlib).
pub fn golang_purl(module: &str, version: &str) -> String {
    match module.rsplit_once('/') {
        Some((namespace, name)) => purl("golang", Some(namespace), name, version, &[]),
        None => purl("golang", None, module, version, &[]),
    }
}

/// Drops the leading `v` of a Go module version, as OSV's Go records write versions.
pub fn osv_go_version(version: &str) -> &str {
    version.strip_prefix('v').unwrap_or(version)
}

/// Converts a Go toolchain version (`go1.21.5`, `go1.22`, `go1.21rc2`, `go1.22.1 X:boringcrypto`)
/// to the SemVer form OSV's `stdlib` records use (`1.21.5`, `1.22.0`, `1.21.0-rc.2`). Development
/// builds (`devel ...`) have no release version: `None`.
pub fn go_toolchain_semver(go_version: &str) -> Option<String> {
    let tag = go_version.split_whitespace().next()?.strip_prefix("go")?;
    let tag = tag.split('-').next()?;
    let (base, pre) = match ["rc", "beta", "alpha"]
        .iter()
        .find_map(|kind| tag.find(kind).map(|at| (at, *kind)))
    {
        Some((at, kind)) => (&tag[..at], Some((kind, &tag[at + kind.len()..]))),
        None => (tag, None),
    };
    let parts: Vec<&str> = base.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut semver = parts.join(".");
    for _ in parts.len()..3 {
        semver.push_str(".0");
    }
    if let Some((kind, number)) = pre {
        if !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        semver.push('-');
        semver.push_str(kind);
        if !number.is_empty() {
            semver.push('.');
            semver.push_str(number);
        }
    }
    Some(semver)
}

/// Reports a module under its OSV name and version, with its purl.
fn add_module(out: &mut Collector<'_>, module: &str, version: &str) {
    out.package(
        module,
        osv_go_version(version),
        golang_purl(module, version),
    );
}

/// `go.mod`: `require` lines and blocks with `replace` directives applied; the module itself,
/// `exclude`, `retract` and local-path replacements are not packages.
pub struct GoModDetector;

#[derive(Debug, PartialEq)]
struct Replace {
    old: String,
    old_version: Option<String>,
    /// None for a local directory replacement.
    new: Option<(String, String)>,
}

/// Removes a `//` comment outside of quotes.
fn strip_comment(line: &str) -> &str {
    let mut in_quotes = false;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'/' if !in_quotes && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
    }
    line
}

fn tokens(args: &str) -> Vec<&str> {
    args.split_whitespace()
        .map(|t| t.trim_matches(|c| c == '"' || c == '`'))
        .collect()
}

fn parse_replace(args: &str) -> Result<Replace, String> {
    let toks = tokens(args);
    let Some(arrow) = toks.iter().position(|t| *t == "=>") else {
        return Err("replace without `=>`".to_string());
    };
    let (left, right) = (&toks[..arrow], &toks[arrow + 1..]);
    let (old, old_version) = match left {
        [old] => (old.to_string(), None),
        [old, version] => (old.to_string(), Some(version.to_string())),
        _ => return Err("replace needs `module [version] => ...`".to_string()),
    };
    let new = match right {
        [_local_path] => None,
        [new, version] => Some((new.to_string(), version.to_string())),
        _ => return Err("replace needs `=> module version` or `=> path`".to_string()),
    };
    Ok(Replace {
        old,
        old_version,
        new,
    })
}

impl Detector for GoModDetector {
    fn name(&self) -> &'static str {
        "go-mod"
    }

    fn may_want(&self, _path: &str, file_name: &str) -> bool {
        file_name == "go.mod"
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        self.may_want(file.path, file.file_name)
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        _ctx: &DetectContext,
    ) -> Result<Detected, String> {
        let text = read_text_limited(contents, MAX_GO_MOD_BYTES)?;
        let mut out = Collector::new(Ecosystem::Go, file.path);
        let mut requires: Vec<(String, String)> = Vec::new();
        let mut replaces: Vec<Replace> = Vec::new();
        let mut block: Option<(&str, usize)> = None;
        let mut saw_directive = false;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            let (verb, args) = match block {
                Some((verb, _)) => {
                    if line == ")" {
                        block = None;
                        continue;
                    }
                    (verb, line)
                }
                None => {
                    let (verb, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                    let args = args.trim();
                    if !verb.bytes().all(|b| b.is_ascii_lowercase()) {
                        return Err(format!(
                            "invalid go.mod at line {line_no}: unknown `{verb}`"
                        ));
                    }
                    saw_directive = true;
                    if args == "(" {
                        block = Some((verb, line_no));
                        continue;
                    }
                    (verb, args)
                }
            };
            match verb {
                "require" => match tokens(args).as_slice() {
                    [module, version] => requires.push((module.to_string(), version.to_string())),
                    _ => out.warn(format!("line {line_no}: require needs `module version`")),
                },
                "replace" => match parse_replace(args) {
                    Ok(replace) => replaces.push(replace),
                    Err(why) => out.warn(format!("line {line_no}: {why}")),
                },
                _ => {} // module, go, toolchain, exclude, retract, tool, godebug, ...
            }
        }
        if let Some((verb, opened)) = block {
            return Err(format!(
                "invalid go.mod: `{verb} (` block opened at line {opened} is never closed"
            ));
        }
        if !saw_directive {
            return Err("invalid go.mod: no directives".to_string());
        }
        for (module, version) in &requires {
            // A version-specific replacement wins over one for every version.
            let replace = replaces
                .iter()
                .find(|r| r.old == *module && r.old_version.as_deref() == Some(version.as_str()))
                .or_else(|| {
                    replaces
                        .iter()
                        .find(|r| r.old == *module && r.old_version.is_none())
                });
            match replace {
                Some(Replace { new: None, .. }) => {} // replaced by a local directory
                Some(Replace {
                    new: Some((new, new_version)),
                    ..
                }) => add_module(&mut out, new, new_version),
                None => add_module(&mut out, module, version),
            }
        }
        Ok(out.finish())
    }
}

/// Go executables: the `.go.buildinfo` data of an ELF file (Go 1.13+; the inline format of Go
/// 1.18+ and the older pointer format).
pub struct GoBinaryDetector;

/// The magic that starts Go's build info blob.
const BUILDINFO_MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// Bytes of a data segment searched for the magic when there is no `.go.buildinfo` section.
const BUILDINFO_SEARCH_BYTES: u64 = 64 * 1024;
/// Longest version or module-info string read from a binary.
const MAX_BUILDINFO_STRING: u64 = 4 * 1024 * 1024;
/// Largest section header table and section name table read.
const MAX_ELF_TABLE_BYTES: u64 = 1024 * 1024;

impl Detector for GoBinaryDetector {
    fn name(&self) -> &'static str {
        "go-binary"
    }

    fn may_want(&self, _path: &str, file_name: &str) -> bool {
        !has_non_binary_extension(file_name)
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.executable && file.size >= 64 && self.may_want(file.path, file.file_name)
    }

    fn detect(
        &self,
        file: &FileInfo<'_>,
        contents: &dyn FileContents,
        _ctx: &DetectContext,
    ) -> Result<Detected, String> {
        let mut out = Collector::new(Ecosystem::Go, file.path);
        let Some(elf) = Elf::open(contents)? else {
            return Ok(out.finish()); // not ELF
        };
        let Some(build_info) = elf.go_build_info()? else {
            return Ok(out.finish()); // not a Go binary
        };
        if let Some(semver) = go_toolchain_semver(&build_info.go_version) {
            out.package("stdlib", &semver, golang_purl("stdlib", &semver));
        }
        read_module_info(&build_info.module_info, &mut out);
        Ok(out.finish())
    }
}

/// File name endings of scripts, sources, data and libraries that are never Go executables,
/// so the walker need not `stat` them for the execute bit.
const NON_BINARY_EXTENSIONS: &[&str] = &[
    "py", "pyc", "pl", "pm", "rb", "sh", "bash", "js", "mjs", "cjs", "ts", "php", "lua", "json",
    "txt", "md", "rst", "html", "htm", "css", "xml", "yaml", "yml", "toml", "ini", "conf", "cfg",
    "h", "hpp", "c", "cc", "go", "rs", "java", "class", "jar", "png", "jpg", "jpeg", "gif", "svg",
    "ico", "gz", "xz", "bz2", "zst", "zip", "tar", "mo", "po", "a", "o", "pc", "desktop", "ttf",
    "otf", "woff", "woff2", "map", "typed", "pem", "crt", "el", "elc", "gemspec", "pod",
];

fn has_non_binary_extension(file_name: &str) -> bool {
    match file_name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => NON_BINARY_EXTENSIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(ext)),
        _ => false,
    }
}

/// The toolchain version and `runtime/debug` module info text of a Go binary.
pub struct GoBuildInfo {
    pub go_version: String,
    pub module_info: String,
}

/// Reads the `mod`, `dep` and `=>` lines of Go's module info text.
fn read_module_info(text: &str, out: &mut Collector<'_>) {
    // The previous `mod`/`dep` line, reported once its `=>` replacement (if any) is known.
    let mut pending: Option<(String, String)> = None;
    for line in text.lines() {
        let mut fields = line.split('\t');
        let kind = fields.next().unwrap_or("");
        let module = fields.next().unwrap_or("");
        let version = fields.next().unwrap_or("");
        match kind {
            "mod" | "dep" => {
                flush_module(&mut pending, out);
                if module.is_empty() {
                    out.warn(format!("build info line `{line}` has no module"));
                } else {
                    pending = Some((module.to_string(), version.to_string()));
                }
            }
            "=>" => match pending.as_mut() {
                Some(replaced) => {
                    // A local directory replacement has no version: nothing to report.
                    replaced.0 = module.to_string();
                    replaced.1 = version.to_string();
                }
                None => out.warn("build info has `=>` without a module before it"),
            },
            _ => flush_module(&mut pending, out),
        }
    }
    flush_module(&mut pending, out);
}

/// Reports a module read from build info unless it has no release version (`(devel)`, or a
/// local directory replacement).
fn flush_module(pending: &mut Option<(String, String)>, out: &mut Collector<'_>) {
    if let Some((module, version)) = pending.take()
        && !version.is_empty()
        && version != "(devel)"
    {
        add_module(out, &module, &version);
    }
}

/// Just enough of an ELF file's headers to find Go's build info with a few bounded reads.
struct Elf<'a> {
    contents: &'a dyn FileContents,
    is_64: bool,
    big_endian: bool,
    sections: Vec<Section>,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
struct Section {
    name: String,
    kind: u32,
    addr: u64,
    offset: u64,
    size: u64,
}

#[derive(Debug, Clone)]
struct Segment {
    kind: u32,
    flags: u32,
    vaddr: u64,
    offset: u64,
    file_size: u64,
}

const SHT_NOBITS: u32 = 8;
const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const PF_W: u32 = 2;

fn read_exact_at(contents: &dyn FileContents, offset: u64, len: u64) -> Result<Vec<u8>, String> {
    let end = offset
        .checked_add(len)
        .filter(|&end| end <= contents.len())
        .ok_or_else(|| format!("ELF data at {offset}+{len} lies past the end of the file"))?;
    let mut buf = vec![0u8; (end - offset) as usize];
    let mut done = 0;
    while done < buf.len() {
        let n = contents
            .read_at(offset + done as u64, &mut buf[done..])
            .map_err(|e| format!("cannot read at offset {}: {e}", offset + done as u64))?;
        if n == 0 {
            return Err(format!("file ended at offset {}", offset + done as u64));
        }
        done += n;
    }
    Ok(buf)
}

/// Reads integers of one ELF file's byte order from a buffer, failing past its end.
#[derive(Clone, Copy)]
struct Endian {
    big: bool,
}

impl Endian {
    fn uint(self, buf: &[u8], at: usize, width: usize) -> Result<u64, String> {
        let bytes = buf
            .get(at..at + width)
            .ok_or_else(|| format!("ELF structure truncated at byte {at}"))?;
        let mut value = 0u64;
        for i in 0..width {
            let b = if self.big {
                bytes[i]
            } else {
                bytes[width - 1 - i]
            };
            value = (value << 8) | u64::from(b);
        }
        Ok(value)
    }
}

impl<'a> Elf<'a> {
    /// Reads the ELF header and tables; `None` when the file is not ELF.
    fn open(contents: &'a dyn FileContents) -> Result<Option<Self>, String> {
        let mut ident = [0u8; 64];
        let n = contents
            .read_at(0, &mut ident)
            .map_err(|e| format!("cannot read: {e}"))?;
        if n < 52 || &ident[..4] != b"\x7fELF" {
            return Ok(None);
        }
        let is_64 = match ident[4] {
            1 => false,
            2 => true,
            _ => return Ok(None),
        };
        let big_endian = match ident[5] {
            1 => false,
            2 => true,
            _ => return Ok(None),
        };
        let e = Endian { big: big_endian };
        let header = &ident[..n];
        let (phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx) = if is_64 {
            (
                e.uint(header, 0x20, 8)?,
                e.uint(header, 0x28, 8)?,
                e.uint(header, 0x36, 2)?,
                e.uint(header, 0x38, 2)?,
                e.uint(header, 0x3A, 2)?,
                e.uint(header, 0x3C, 2)?,
                e.uint(header, 0x3E, 2)?,
            )
        } else {
            (
                e.uint(header, 0x1C, 4)?,
                e.uint(header, 0x20, 4)?,
                e.uint(header, 0x2A, 2)?,
                e.uint(header, 0x2C, 2)?,
                e.uint(header, 0x2E, 2)?,
                e.uint(header, 0x30, 2)?,
                e.uint(header, 0x32, 2)?,
            )
        };
        let mut elf = Elf {
            contents,
            is_64,
            big_endian,
            sections: Vec::new(),
            segments: Vec::new(),
        };
        elf.read_sections(shoff, shentsize, shnum, shstrndx)?;
        if elf.sections.is_empty() {
            // No section headers (removed by `sstrip` and the like): search the segments.
            elf.read_segments(phoff, phentsize, phnum)?;
        }
        Ok(Some(elf))
    }

    fn endian(&self) -> Endian {
        Endian {
            big: self.big_endian,
        }
    }

    fn read_sections(
        &mut self,
        shoff: u64,
        entsize: u64,
        count: u64,
        strndx: u64,
    ) -> Result<(), String> {
        let min_entsize = if self.is_64 { 64 } else { 40 };
        if shoff == 0 || count == 0 {
            return Ok(()); // no section headers (stripped hard): fall back to segments
        }
        if entsize < min_entsize || entsize * count > MAX_ELF_TABLE_BYTES {
            return Err(format!(
                "ELF section header table is implausible ({count} x {entsize} bytes)"
            ));
        }
        let table = read_exact_at(self.contents, shoff, entsize * count)?;
        let e = self.endian();
        let word = if self.is_64 { 8 } else { 4 };
        let mut raw = Vec::with_capacity(count as usize);
        for i in 0..count as usize {
            let base = i * entsize as usize;
            let name_offset = e.uint(&table, base, 4)?;
            let kind = e.uint(&table, base + 4, 4)? as u32;
            let (addr, offset, size) = if self.is_64 {
                (
                    e.uint(&table, base + 16, word)?,
                    e.uint(&table, base + 24, word)?,
                    e.uint(&table, base + 32, word)?,
                )
            } else {
                (
                    e.uint(&table, base + 12, word)?,
                    e.uint(&table, base + 16, word)?,
                    e.uint(&table, base + 20, word)?,
                )
            };
            raw.push((name_offset, kind, addr, offset, size));
        }
        let names = match raw.get(strndx as usize) {
            Some(&(_, kind, _, offset, size))
                if kind != SHT_NOBITS && size <= MAX_ELF_TABLE_BYTES =>
            {
                read_exact_at(self.contents, offset, size)?
            }
            _ => return Err("ELF section name table is missing or implausible".to_string()),
        };
        self.sections = raw
            .into_iter()
            .map(|(name_offset, kind, addr, offset, size)| {
                let name = names
                    .get(name_offset as usize..)
                    .and_then(|rest| rest.split(|&b| b == 0).next())
                    .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
                    .unwrap_or_default();
                Section {
                    name,
                    kind,
                    addr,
                    offset,
                    size,
                }
            })
            .collect();
        Ok(())
    }

    fn read_segments(&mut self, phoff: u64, entsize: u64, count: u64) -> Result<(), String> {
        let min_entsize = if self.is_64 { 56 } else { 32 };
        if phoff == 0 || count == 0 {
            return Ok(());
        }
        if entsize < min_entsize || entsize * count > MAX_ELF_TABLE_BYTES {
            return Err(format!(
                "ELF program header table is implausible ({count} x {entsize} bytes)"
            ));
        }
        let table = read_exact_at(self.contents, phoff, entsize * count)?;
        let e = self.endian();
        for i in 0..count as usize {
            let base = i * entsize as usize;
            let kind = e.uint(&table, base, 4)? as u32;
            let segment = if self.is_64 {
                Segment {
                    kind,
                    flags: e.uint(&table, base + 4, 4)? as u32,
                    offset: e.uint(&table, base + 8, 8)?,
                    vaddr: e.uint(&table, base + 16, 8)?,
                    file_size: e.uint(&table, base + 32, 8)?,
                }
            } else {
                Segment {
                    kind,
                    offset: e.uint(&table, base + 4, 4)?,
                    vaddr: e.uint(&table, base + 8, 4)?,
                    file_size: e.uint(&table, base + 16, 4)?,
                    flags: e.uint(&table, base + 24, 4)? as u32,
                }
            };
            self.segments.push(segment);
        }
        Ok(())
    }

    fn find_section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Translates a virtual address to a file offset through the sections, then the segments.
    fn file_offset(&self, addr: u64) -> Option<u64> {
        let in_section = self.sections.iter().find(|s| {
            s.kind != SHT_NOBITS && s.addr != 0 && addr >= s.addr && addr - s.addr < s.size
        });
        if let Some(s) = in_section {
            return s.offset.checked_add(addr - s.addr);
        }
        self.segments
            .iter()
            .find(|p| p.kind == PT_LOAD && addr >= p.vaddr && addr - p.vaddr < p.file_size)
            .and_then(|p| p.offset.checked_add(addr - p.vaddr))
    }

    /// Where the build info blob may start: the `.go.buildinfo` section (every Go 1.13+ binary
    /// with section headers has one), else, without section headers, the first writable,
    /// non-executable loadable segment (what Go's `debug/buildinfo` searches).
    fn build_info_region(&self) -> Option<(u64, u64)> {
        if !self.sections.is_empty() {
            return self
                .find_section(".go.buildinfo")
                .map(|s| (s.offset, s.size));
        }
        self.segments
            .iter()
            .find(|p| p.kind == PT_LOAD && p.flags & (PF_X | PF_W) == PF_W)
            .map(|p| (p.offset, p.file_size))
    }

    /// Finds and decodes Go's build info; `None` when the binary has none.
    fn go_build_info(&self) -> Result<Option<GoBuildInfo>, String> {
        let Some((offset, size)) = self.build_info_region() else {
            return Ok(None);
        };
        let want = size
            .min(BUILDINFO_SEARCH_BYTES)
            .min(self.contents.len().saturating_sub(offset));
        if want < 32 {
            return Ok(None);
        }
        let data = read_exact_at(self.contents, offset, want)?;
        let Some(at) = (0..data.len().saturating_sub(31))
            .step_by(16)
            .find(|&i| data.get(i..i + 14) == Some(&BUILDINFO_MAGIC[..]))
        else {
            return Ok(None);
        };
        let header = &data[at..at + 32];
        let pointer_size = header[14] as usize;
        let flags = header[15];
        let start = offset + at as u64 + 32;
        let (go_version, module_info) = if flags & 2 != 0 {
            let (version, next) = self.read_varint_string(start)?;
            let (module_info, _) = self.read_varint_string(next)?;
            (version, module_info)
        } else {
            if pointer_size != 4 && pointer_size != 8 {
                return Err(format!("Go build info has pointer size {pointer_size}"));
            }
            let e = Endian {
                big: flags & 1 != 0,
            };
            let version_addr = e.uint(header, 16, pointer_size)?;
            let module_addr = e.uint(header, 16 + pointer_size, pointer_size)?;
            (
                self.read_go_string(version_addr, pointer_size, e)?,
                self.read_go_string(module_addr, pointer_size, e)?,
            )
        };
        let go_version = String::from_utf8_lossy(&go_version).into_owned();
        if !go_version.starts_with("go") && !go_version.starts_with("devel") {
            return Err(format!(
                "Go build info has an unexpected version `{}`",
                go_version.escape_debug()
            ));
        }
        Ok(Some(GoBuildInfo {
            go_version,
            module_info: strip_module_info_sentinels(module_info),
        }))
    }

    /// Reads a uvarint-length-prefixed string (Go 1.18+); returns it and the offset after it.
    fn read_varint_string(&self, offset: u64) -> Result<(Vec<u8>, u64), String> {
        let head = read_exact_at(
            self.contents,
            offset,
            10.min(self.contents.len().saturating_sub(offset)),
        )?;
        let mut len = 0u64;
        let mut used = None;
        for (i, &b) in head.iter().enumerate() {
            len |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                used = Some(i + 1);
                break;
            }
        }
        let used =
            used.ok_or_else(|| format!("bad string length in Go build info at offset {offset}"))?;
        if len > MAX_BUILDINFO_STRING {
            return Err(format!(
                "Go build info string of {len} bytes at offset {offset} is too long"
            ));
        }
        let start = offset + used as u64;
        let bytes = read_exact_at(self.contents, start, len)?;
        Ok((bytes, start + len))
    }

    /// Reads a Go string header `{data pointer, length}` at virtual address `addr` (pre-1.18).
    fn read_go_string(&self, addr: u64, pointer_size: usize, e: Endian) -> Result<Vec<u8>, String> {
        let header_offset = self
            .file_offset(addr)
            .ok_or_else(|| format!("Go build info points at unmapped address {addr:#x}"))?;
        let header = read_exact_at(self.contents, header_offset, 2 * pointer_size as u64)?;
        let data_addr = e.uint(&header, 0, pointer_size)?;
        let len = e.uint(&header, pointer_size, pointer_size)?;
        if len == 0 {
            return Ok(Vec::new());
        }
        if len > MAX_BUILDINFO_STRING {
            return Err(format!("Go build info string of {len} bytes is too long"));
        }
        let data_offset = self
            .file_offset(data_addr)
            .ok_or_else(|| format!("Go build info points at unmapped address {data_addr:#x}"))?;
        read_exact_at(self.contents, data_offset, len)
    }
}

/// Module info is wrapped in 16-byte sentinels; Go strips them when the text ends in a newline
/// 17 bytes before the end.
fn strip_module_info_sentinels(info: Vec<u8>) -> String {
    let len = info.len();
    let text = if len >= 33 && info[len - 17] == b'\n' {
        &info[16..len - 16]
    } else {
        &info[..]
    };
    String::from_utf8_lossy(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_toolchain_versions_to_semver() {
        let cases = [
            ("go1.21.5", Some("1.21.5")),
            ("go1.22", Some("1.22.0")),
            ("go1.21rc2", Some("1.21.0-rc.2")),
            ("go1.19beta1", Some("1.19.0-beta.1")),
            ("go1.22.1 X:boringcrypto", Some("1.22.1")),
            ("go1.21.3-bigcorp", Some("1.21.3")),
            ("devel go1.23-abcdef Tue", None),
            ("go", None),
            ("1.21", None),
            ("go1..2", None),
        ];
        for (input, want) in cases {
            assert_eq!(go_toolchain_semver(input).as_deref(), want, "{input}");
        }
    }
}
